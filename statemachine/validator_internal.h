#pragma once
// Private to the validator (validator*.cc): the shared run state and the field/state checkers the
// validator's files call on each other. Not part of the statemachine module's API.
//
// Every checker appends what it finds to a `Validation` and never stops at the first problem, so one
// run reports every problem of a definition. Checkers never throw and never assume a field has the
// right JSON type: a wrong type is itself a diagnostic.

#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "statemachine/validator.h"

namespace stepflow::sm::validator_internal {

namespace json = boost::json;

// AWS's diagnostic codes.
inline constexpr char kSchemaValidationFailed[] = "SCHEMA_VALIDATION_FAILED";
inline constexpr char kMissingTransitionTarget[] = "MISSING_TRANSITION_TARGET";
inline constexpr char kUnreachableState[] = "UNREACHABLE_STATE";
inline constexpr char kInvalidJsonDescription[] = "INVALID_JSON_DESCRIPTION";

// Nesting deeper than this (in payload templates, choice rules or nested machines) is reported rather
// than followed, so hostile inputs cannot exhaust the stack.
inline constexpr int kMaxNesting = 200;

enum class QueryLanguage { kJsonPath, kJsonata };

// One validation run: the options, the machine-wide query language and the diagnostics found so far.
// Not thread-safe; one per ValidateDefinition call.
class Validation {
 public:
  Validation(const ValidateOptions& options, QueryLanguage root_language)
      : options_(options), root_language_(root_language) {}

  void Report(std::string location, std::string_view code, std::string message);
  // Shorthand for a SCHEMA_VALIDATION_FAILED diagnostic.
  void Schema(std::string location, std::string message);

  const ValidateOptions& options() const { return options_; }
  // The top-level QueryLanguage (JSONPath when absent); the default of every state at any depth.
  QueryLanguage root_language() const { return root_language_; }
  std::vector<Diagnostic> Take() { return std::move(diagnostics_); }

 private:
  const ValidateOptions& options_;
  QueryLanguage root_language_;
  std::vector<Diagnostic> diagnostics_;
};

// A transition out of a state (Next, Default, a choice rule's or catcher's Next): the target name and
// the JSON pointer of the field naming it.
struct Transition {
  std::string target;
  std::string location;
};

// Message building. absl::StrCat is not used here because this absl's string_view is not
// std::string_view.
inline void AppendPiece(std::string& out, std::string_view s) { out.append(s); }
inline void AppendPiece(std::string& out, const char* s) { out.append(s); }
inline void AppendPiece(std::string& out, const std::string& s) { out.append(s); }
inline void AppendPiece(std::string& out, boost::core::string_view s) { out.append(s.data(), s.size()); }
template <typename T>
requires std::is_arithmetic_v<T>
void AppendPiece(std::string& out, T number) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), number);
  out.append(buffer, result.ptr);
}
template <typename... Pieces>
std::string Cat(const Pieces&... pieces) {
  std::string out;
  (AppendPiece(out, pieces), ...);
  return out;
}

// Where a field rule applies.
enum class Lang { kBoth, kJsonPathOnly, kJsonataOnly };

struct FieldRule {
  std::string_view name;
  Lang lang;
};

// --- validator_util.cc: small helpers ---

// `pointer` + "/" + `token`, with `~` and `/` escaped per RFC 6901.
std::string Child(const std::string& pointer, std::string_view token);
std::string Child(const std::string& pointer, size_t index);
std::string_view LanguageName(QueryLanguage language);
std::string Join(const std::vector<std::string_view>& pieces, std::string_view separator);
// A JSONata expression string: starts with "{%" and ends with "%}".
bool IsJsonataExpression(const json::value& value);

// --- validator_jsonata.cc: every `{% %}` string of a JSONata state parses (syntax errors with position).
void CheckJsonataSyntax(const json::value& definition, Validation& v);
// Number of Unicode code points in UTF-8 `text` (invalid bytes count as one each).
size_t CodePointCount(std::string_view text);
// The integer value of `value` when it is a JSON integer (not a float); std::nullopt otherwise.
std::optional<int64_t> AsInteger(const json::value& value);
// A short description of the JSON type of `value` for messages ("string", "number", ...).
std::string_view TypeName(const json::value& value);

// Reports every field of `object` not in `rules`, and every rule field present in a state of the other
// query language. `what` names the object in messages (e.g. "Pass state", "Retrier").
void CheckFields(const json::object& object, const std::string& location,
                 std::initializer_list<FieldRule> rules, QueryLanguage language, std::string_view what,
                 Validation& v);

// Returns the string at `object[field]`, reporting a diagnostic when it is present but not a string, or
// missing while `required`.
std::optional<std::string_view> StringField(const json::object& object, std::string_view field,
                                            const std::string& location, bool required, Validation& v);

// Checks an integer field: present ⇒ an integer in [min, max]; in JSONata states a `{% %}` expression
// is accepted too. Returns the literal value when there is one.
std::optional<int64_t> IntegerField(const json::object& object, std::string_view field,
                                    const std::string& location, int64_t min, int64_t max,
                                    QueryLanguage language, Validation& v);

// Reports when more than one of `fields` is present in `object`; when `required`, also when none is.
void ExclusiveFields(const json::object& object, std::initializer_list<std::string_view> fields,
                     const std::string& location, bool required, Validation& v);

// --- validator_paths.cc: paths, payload templates, variables ---

enum class PathKind {
  kAny,              // any JSONPath ($, $$ or $var root; wildcards and filters allowed)
  kReference,        // a reference path (selects at most one node)
  kResultPath,       // a reference path rooted at `$` (it is written to)
  kPathOrIntrinsic,  // a reference path or an intrinsic function call (Fail ErrorPath/CausePath)
};

// Checks `object[field]` as a path of `kind` when present. `nullable` admits JSON null.
void PathField(const json::object& object, std::string_view field, const std::string& location, PathKind kind,
               bool nullable, Validation& v);

// Checks a payload template (Parameters, ResultSelector, ItemSelector, ...): every key ending in `.$`
// must map to a string that is a valid path or intrinsic call; nested objects/arrays are followed.
void CheckPayloadTemplate(const json::value& value, const std::string& location, Validation& v);

// Checks an Assign object: variable names valid; in JSONPath states values are payload templates.
void CheckAssign(const json::value& value, const std::string& location, QueryLanguage language,
                 Validation& v);

// Checks `value` as a payload template field that is an object (Parameters / ResultSelector /
// ItemSelector in JSONPath states). In JSONata states any JSON value is accepted.
void TemplateField(const json::object& object, std::string_view field, const std::string& location,
                   QueryLanguage language, Validation& v);

// --- validator_errors.cc: Retry and Catch ---

void CheckRetry(const json::value& value, const std::string& location, QueryLanguage language, Validation& v);
void CheckCatch(const json::value& value, const std::string& location, QueryLanguage language, Validation& v,
                std::vector<Transition>& transitions);

// --- validator_states.cc / validator_map.cc: states ---

// The effective language of `state` (its QueryLanguage, else the machine's); reports a bad value or a
// JSONata→JSONPath downgrade.
QueryLanguage StateLanguage(const json::object& state, const std::string& location, Validation& v);

// Validates one state and appends its transitions. `depth` is the nesting depth of the machine it
// belongs to.
void ValidateState(const json::object& state, const std::string& location, int depth, Validation& v,
                   std::vector<Transition>& transitions);

void ValidateMapState(const json::object& state, const std::string& location, QueryLanguage language,
                      int depth, Validation& v);

// --- validator.cc: machines ---

enum class MachineKind { kTopLevel, kBranch, kItemProcessor };

// Validates a (nested) state machine: fields, StartAt, States, every state, transitions, reachability.
void ValidateMachine(const json::value& machine, const std::string& location, MachineKind kind, int depth,
                     Validation& v);

}  // namespace stepflow::sm::validator_internal
