#pragma once
// Expressions of a definition, compiled once when the definition is compiled (statemachine/compile.h)
// and evaluated by every execution against its scope: no expression text is parsed on the hot path.
//
// - CompiledExpression: the value of a `.$` key or of a `...Path` field that may hold an intrinsic call
//   (Fail ErrorPath/CausePath): a JSONPath, or an intrinsic function call.
// - CompiledTemplate: a payload template (Parameters, ItemSelector, ResultSelector, Assign, Arguments,
//   Output): its literal parts, its `.$` expressions and its JSONata `{% ... %}` strings.
//
// Compiling never fails. Text the validator would refuse (ValidateDefinition reports it at create time)
// is kept with its parse error, and evaluating it gives the runtime failure the interpreter always gave
// for it, so that a model built without validation behaves as before.
//
// Thread-safety: compiled objects are immutable after construction and shared (by shared_ptr to const)
// between every execution of a definition; they may be read from any number of threads.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "statemachine/intrinsics.h"
#include "statemachine/json_path.h"
#include "statemachine/jsonata/jsonata.h"

namespace stepflow::sm {

enum class QueryLanguage { kJsonPath, kJsonata };

class CompiledExpression {
 public:
  enum class Kind {
    kPath,              // path(): a JSONPath
    kIntrinsic,         // intrinsic(): an intrinsic function call
    kInvalidPath,       // text that does not parse as a JSONPath: selects nothing at run time
    kInvalidIntrinsic,  // a call that does not parse: error() is the failure's cause
    kNotAString,        // a `.$` value that is not a string
  };

  // Compiles `text`: an intrinsic call when LooksLikeIntrinsic(text), a JSONPath otherwise.
  static CompiledExpression FromText(std::string_view text);
  // Compiles a `.$` value, which must be a string.
  static CompiledExpression FromValue(const boost::json::value& v);

  Kind kind() const { return kind_; }
  const std::string& text() const { return text_; }
  // REQUIRES: kind() == kPath.
  const JsonPath& path() const { return *path_; }
  // REQUIRES: kind() == kIntrinsic.
  const IntrinsicCall& intrinsic() const { return *intrinsic_; }
  // kInvalidIntrinsic: the parse error's message.
  const std::string& error() const { return error_; }

 private:
  Kind kind_ = Kind::kInvalidPath;
  std::string text_;
  std::shared_ptr<const JsonPath> path_;
  std::shared_ptr<const IntrinsicCall> intrinsic_;
  std::string error_;
};

// A JSONata `{% ... %}` string of a template, compiled once (CompileJsonata in compiled_template.cc).
// `program` is the evaluator's compiled expression (statemachine/jsonata/jsonata.h); null when the text
// does not parse, and then `error` holds the JSONata syntax error (the validator reports it at create
// time; a model built without validation fails the state with it at run time).
struct CompiledJsonata {
  std::string expression;  // the text between `{%` and `%}`, untrimmed
  std::shared_ptr<const jsonata::Expression> program;
  std::optional<jsonata::JsonataError> error;
};

// Compiles a `{% ... %}` string. REQUIRES: IsJsonataTemplate(text).
CompiledJsonata CompileJsonata(std::string_view text);

// True when `text` is a JSONata template: it starts with `{%` and ends with `%}`.
bool IsJsonataTemplate(std::string_view text);

// One node of a compiled template.
struct TemplateNode {
  enum class Kind { kLiteral, kObject, kArray, kExpression, kJsonata };
  Kind kind = Kind::kLiteral;
  boost::json::value literal;  // kLiteral: a subtree holding no expression, copied as it is
  // kObject: the output key (without `.$`), its source key (for causes) and its node, in definition order.
  struct Member {
    std::string key;
    std::string source_key;
    TemplateNode* node = nullptr;
  };
  std::vector<Member> members;
  std::vector<TemplateNode*> items;  // kArray
  CompiledExpression expression;     // kExpression
  CompiledJsonata jsonata;           // kJsonata
};

class CompiledTemplate {
 public:
  // An absent template (present() is false).
  CompiledTemplate() = default;
  // Compiles `tmpl`. JSONPath: keys ending in `.$` hold expressions. JSONata: strings that are
  // `{% ... %}` templates hold expressions. `tmpl` itself is kept (source()).
  static CompiledTemplate Compile(const boost::json::value& tmpl, QueryLanguage language);

  bool present() const { return root_ != nullptr; }
  // REQUIRES: present().
  const TemplateNode& root() const { return *root_; }
  // The template as written in the definition.
  const boost::json::value& source() const;

 private:
  struct Storage;
  std::shared_ptr<const Storage> storage_;
  const TemplateNode* root_ = nullptr;
};

}  // namespace stepflow::sm
