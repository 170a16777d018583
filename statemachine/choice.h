#pragma once
// Choice rules of the JSONPath dialect: `Variable` + one of the 39 comparators (6 type tests, 17 value
// comparators, 16 `...Path` forms), and `And` / `Or` / `Not` nested to any depth. Only top-level rules
// carry `Next` (and optionally `Assign`).
//
// Semantics follow AWS: a type mismatch makes a comparison false, not an error; timestamps are RFC 3339;
// StringMatches supports `*` with `\*` / `\\` escapes; a `Variable` (or a `...Path` operand) that selects
// nothing is a States.Runtime failure except under IsPresent.
//
// Thread-safety: parsed rules are immutable and may be shared between threads.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "statemachine/failure.h"
#include "statemachine/runtime_values.h"

namespace stepflow::sm {

class ChoiceRule {
 public:
  // Parses one rule object (top-level or nested). `location` is the JSON pointer of `rule` in the
  // definition, used in error messages. Returns InvalidArgument naming the location and the problem
  // (no comparator, two comparators, unknown field, wrong operand type, bad path, ...).
  static absl::StatusOr<ChoiceRule> Parse(const boost::json::value& rule, const std::string& location);

  ChoiceRule(const ChoiceRule&);
  ChoiceRule(ChoiceRule&&) noexcept;
  ChoiceRule& operator=(const ChoiceRule&);
  ChoiceRule& operator=(ChoiceRule&&) noexcept;
  ~ChoiceRule();

  // Evaluates the rule (ignores Next/Assign). A Failure (States.Runtime with AWS's cause) when a path
  // that must select a value selects nothing.
  Result<bool> Evaluate(const PathResolver& resolve) const;

  // Top-level rules only: the `Next` state name (empty for nested rules) and the raw `Assign` object
  // (null when absent).
  const std::string& next() const;
  const boost::json::value& assign() const;

  struct Impl;

 private:
  explicit ChoiceRule(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace stepflow::sm
