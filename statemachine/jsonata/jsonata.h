#pragma once
// JSONata 2.0.6 (the version AWS Step Functions runs), evaluated natively.
//
//   auto expr = Compile("Account.Order.Product.Price ~> $sum()");   // once
//   EvaluationResult r = Evaluate(**expr, &input, {}, env, limits);  // many times, from any thread
//
// The module is pure: no I/O, no clock, no randomness of its own. `$now()`, `$millis()` and `$random()`
// take their values from the EvaluationEnvironment the caller passes, so that the ASL engine can record
// them and a replay evaluates to the same result.
//
// Numbers are IEEE doubles as in JavaScript: integers in the input beyond 2^53 lose precision when read
// (as JSON.parse does in jsonata-js). Strings are UTF-8; `$length`, `$substring` and friends count UTF-16
// code units as JavaScript does.
//
// Runaway guard: every evaluation runs under EvaluationLimits; breaking one ends the evaluation with
// JSONata error U1001 (deterministic: the step budget counts evaluation steps, not time, so a replay
// fails at the same place).
//
// Thread-safety: a compiled Expression is immutable; Evaluate may run on one Expression from several
// threads at once. The functions are otherwise stateless.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "absl/functional/function_ref.h"

namespace stepflow::sm::jsonata {

// A JSONata error: `code` is JSONata's (S0201, T2001, D3001, U1001, ...), `position` where in the expression
// it was found as jsonata-js reports it — an index in UTF-16 code units, JavaScript's string index (so
// "é" counts 1 and "😀" counts 2) — or -1 when none; `message` JSONata's text for it.
struct JsonataError {
  std::string code;
  std::string message;
  std::int64_t position = -1;
  std::string token;
};

struct Node;
struct DirectTerm;  // jsonata.cc: what EvaluateDirect computes
struct Builtin;  // evaluator.h: a native function with its JSONata signature

// The variables an expression may read, found when it is compiled, so that a host binds only those (and
// builds a costly one, such as ASL's `$states.context`, only when read). An over-approximation: a name
// mentioned anywhere counts (a lambda parameter of the same name too), and `$eval` text is not seen (a
// host that allows `$eval` binds everything).
struct VariableReads {
  // Every variable name (without `$`) the expression mentions.
  std::set<std::string, std::less<>> names;
  // For a name mentioned only as `$name.field...`: the fields read. Names used any other way (`$name`
  // alone, `$name[0]`, `$keys($name)`) are absent: their whole value may be read.
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> fields;

  // Whether the expression may read `$name.field` (true when it may read all of `$name`).
  bool MayRead(std::string_view name, std::string_view field) const;
  bool Mentions(std::string_view name) const { return names.find(name) != names.end(); }
};

VariableReads FindVariableReads(const Node& root);

// A compiled expression. Immutable.
class Expression {
 public:
  explicit Expression(std::shared_ptr<const Node> root, std::string text);
  const Node& root() const { return *root_; }
  const std::string& text() const { return text_; }
  const VariableReads& reads() const { return reads_; }
  // For an expression that is only `$name` or `$name.field.field...` (field names; no predicates, bindings,
  // grouping or `[]`): the name (without `$`), then the fields; empty for any other expression. When the
  // variable's value and every value on the way are objects holding the next field, and the last value is
  // not an array, that last value is the expression's result (the evaluator's own shortcut for such paths,
  // in eval_path.cc), so a host holding the variable as JSON may take it without evaluating; otherwise
  // (a missing field, an array, a variable it does not hold) it evaluates the expression.
  const std::vector<std::string>& plain_path() const { return plain_path_; }
  // What EvaluateDirect computes, null when the expression is not direct.
  const DirectTerm* direct() const { return direct_.get(); }

 private:
  std::shared_ptr<const Node> root_;
  std::string text_;
  VariableReads reads_;
  std::vector<std::string> plain_path_;
  std::shared_ptr<const DirectTerm> direct_;
};

// Deepest nesting of the expression text (brackets, operators) the parser accepts.
inline constexpr int kMaxExpressionNesting = 500;
// Largest expression text accepted.
inline constexpr std::size_t kMaxExpressionBytes = 1 << 20;

struct CompileResult {
  std::shared_ptr<const Expression> expression;  // null when `error` is set
  std::optional<JsonataError> error;
};

// Parses `text` (UTF-8; lone surrogates written WTF-8 are kept as they are). Syntax errors carry JSONata's
// S0xxx codes and positions (just after the offending token, in UTF-16 code units); nesting deeper than
// kMaxExpressionNesting or text longer than kMaxExpressionBytes is error U1001.
CompileResult Compile(std::string_view text);

struct EvaluationLimits {
  // Nested evaluations (one per expression node being evaluated, counted as jsonata-js's evaluate()
  // entries; calls that are not tail calls nest). Default: 302, the bound jsonata-js's reference test
  // harness applies (a non-tail recursion of about 100 levels); far below what the native stack holds.
  int max_depth = 302;
  // Evaluation steps (AST nodes evaluated plus items visited by builtins). Default: 50,000,000 —
  // roughly a second of work; a replay stops at the same step.
  std::int64_t max_steps = 50'000'000;
  // Largest array or sequence built (ranges, $append, paths, ...). Default: 10,000,000 items, what
  // jsonata-js's range operator allows.
  std::int64_t max_sequence_size = 10'000'000;
  // Largest string built. Default: 64 MiB.
  std::int64_t max_string_bytes = 64 << 20;
};

struct EvaluationEnvironment {
  // Milliseconds since the epoch that `$now()` and `$millis()` report (the same value throughout one
  // evaluation, as jsonata-js does).
  double now_millis = 0;
  // Returns a number in [0, 1) for `$random()` and `$shuffle`. Unset: $random fails (D3137-like error).
  std::function<double()> random;
  // `$eval` is allowed (the CLI and the suite); AWS refuses it in ASL.
  bool allow_eval = true;
  // Extra native functions the host adds (ASL's $partition, $uuid, ...): returns the function named
  // `name` (without `$`) or nullptr. Consulted before the standard library, so it may also replace a
  // standard function ($random). The returned Builtin must outlive the evaluation.
  std::function<const Builtin*(std::string_view name)> extra_functions;
};

struct EvaluationResult {
  // Set when the evaluation produced a value; unset (with no error) for JSONata's undefined.
  std::optional<boost::json::value> value;
  std::optional<JsonataError> error;
};

// Evaluates `expression` against `input` (nullptr: undefined input) with extra variables `bindings`
// (name without `$` -> value). The input and bindings are read in place (a member is converted into the
// evaluator's values when the expression first reads it); the result is a new JSON value. Functions in the result become "" as JSON.stringify
// in jsonata-js writes them; non-finite numbers are errors (D1001) as JSONata reports them. Never throws.
EvaluationResult Evaluate(const Expression& expression, const boost::json::value* input,
                          const std::map<std::string, boost::json::value>& bindings,
                          const EvaluationEnvironment& environment, const EvaluationLimits& limits = {});

}  // namespace stepflow::sm::jsonata

namespace stepflow::sm::jsonata {

// The JSON a plain path (a variable name, then field names, as Expression::plain_path) selects in a host that
// holds its variables as JSON, or nullptr (a variable it does not hold that way, a step missing).
using PlainPathResolver = absl::FunctionRef<const boost::json::value*(const std::vector<std::string>& path)>;

// The result of `expression` taken straight from JSON, without an evaluator, when the expression is direct:
// a plain path whose JSON `resolve` finds and is not an array, a number literal, or the arithmetic operators
// + - * / % and unary minus over direct operands that are numbers (`$states.input.step + 1`,
// `($a.x - 1) * $b.y`). nullopt for any other expression and whenever that does not hold (a missing field, an
// array, a string operand, a result that is not a finite number): then Evaluate decides, with its result or
// its error. When set, it is the value Evaluate gives with the same variables bound. Never throws.
std::optional<boost::json::value> EvaluateDirect(const Expression& expression, PlainPathResolver resolve);

// `value` as JSON text the way JSON.stringify writes it: numbers in JavaScript's form, lone surrogates
// (held WTF-8) escaped as \udXXX so the text is valid UTF-8.
std::string ToJsonText(const boost::json::value& value);

}  // namespace stepflow::sm::jsonata
