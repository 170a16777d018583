#pragma once
// Choice rules of the JSONPath dialect: `Variable` + one of the 39 comparators (6 type tests, 17 value
// comparators, 16 `...Path` forms), and `And` / `Or` / `Not` nested to any depth. Only top-level rules
// carry `Next` (and optionally `Assign`).
//
// Semantics follow AWS: a type mismatch makes a comparison false, not an error; timestamps are RFC 3339;
// StringMatches supports `*` with `\*` / `\\` escapes; a `Variable` (or a `...Path` operand) that selects
// nothing is a States.Runtime failure except under IsPresent.
//
// Details of the AWS semantics implemented here:
// - Numbers compare by exact mathematical value: 1 == 1.0, and large integers are not rounded through
//   doubles.
// - String orderings compare UTF-16 code units, as AWS (Java) does.
// - A timestamp is what AWS's parser (ISO-8601 extended offset date-time) accepts:
//   `YYYY-MM-DDTHH:MM[:SS[.fraction]]` followed by `Z` or `+HH:MM[:SS]` / `-HH:MM[:SS]`; `T` and `Z` are
//   case-insensitive, the fraction has at most 9 digits, and fields are range-checked (no 24:00, no
//   Feb 30). Timestamps compare as instants, so offsets are honoured.
// - `And` / `Or` evaluate their operands in order and stop at the first operand that decides the result,
//   so a later operand's missing path does not fail the rule.
//
// Paths (Variable, `...Path` operands) and Assign templates are compiled when a rule is parsed, so that
// Evaluate parses nothing.
//
// Thread-safety: parsed rules are immutable and may be shared between threads.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "statemachine/failure.h"
#include "statemachine/runtime_values.h"

namespace stepflow::sm {

class CompiledTemplate;  // compiled_template.h

class ChoiceRule {
 public:
  // Parses one top-level rule object (an element of a Choice state's `Choices`). `location` is the JSON
  // pointer of `rule` in the definition, used in error messages. Returns InvalidArgument naming the
  // location and the problem (no comparator, two comparators, unknown field, wrong operand type, bad
  // path, missing `Next`, `Next` in a nested rule, ...), e.g. "/States/C/Choices/0: no comparison
  // operator".
  static absl::StatusOr<ChoiceRule> Parse(const boost::json::value& rule, const std::string& location);

  ChoiceRule(const ChoiceRule&);
  ChoiceRule(ChoiceRule&&) noexcept;
  ChoiceRule& operator=(const ChoiceRule&);
  ChoiceRule& operator=(ChoiceRule&&) noexcept;
  ~ChoiceRule();

  // Evaluates the rule (ignores Next/Assign). A Failure (States.Runtime with AWS's cause) when a path
  // that must select a value selects nothing. The cause is AWS's text without the state prefix, e.g.
  // "Invalid path '$.x': The choice state's condition path references an invalid value."; the caller,
  // which knows the state name and event id, prepends "An error occurred while executing the state
  // '<name>' (entered at the event id #<id>). " as it does for every States.Runtime cause.
  Result<bool> Evaluate(const PathResolver& resolve) const;

  // Top-level rules only: the `Next` state name (empty for nested rules) and the raw `Assign` object
  // (null when absent).
  const std::string& next() const;
  const boost::json::value& assign() const;
  // The `Assign` object compiled (compiled_template.h); absent (present() false) when there is none.
  const CompiledTemplate& compiled_assign() const;

  struct Impl;

 private:
  explicit ChoiceRule(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};


// The cause AWS reports when a Choice `Variable` or `...Path` operand selects nothing.
std::string ChoiceInvalidPathCause(std::string_view path);

}  // namespace stepflow::sm
