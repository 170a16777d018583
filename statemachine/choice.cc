#include "statemachine/choice.h"

#include <string.h>  // memmem (GNU)

#include <array>
#include <compare>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "statemachine/compiled_template.h"
#include "statemachine/json_path.h"
#include "statemachine/json_value.h"
#include "statemachine/timestamp.h"

namespace stepflow::sm {
namespace {

// ---------------------------------------------------------------------------------------------------
// Operator table.

// What a comparator compares.
enum class Family {
  kTypeTest,       // IsPresent, IsNull, ...: operand is a boolean
  kString,         // String{Equals,LessThan,...}: operand is a string
  kStringMatches,  // StringMatches: operand is a wildcard pattern
  kNumeric,        // Numeric...: operand is a number
  kBoolean,        // BooleanEquals: operand is a boolean
  kTimestamp,      // Timestamp...: operand is a timestamp string
};

enum class Relation { kNone, kEq, kLt, kGt, kLe, kGe };

enum class TypeTest { kNone, kPresent, kNull, kNumeric, kString, kBoolean, kTimestamp };

struct OperatorSpec {
  std::string_view name;
  Family family;
  Relation relation;
  TypeTest test;
  bool is_path;  // operand is a path resolved like Variable
};

constexpr std::array<OperatorSpec, 39> kOperators = {{
    {"IsPresent", Family::kTypeTest, Relation::kNone, TypeTest::kPresent, false},
    {"IsNull", Family::kTypeTest, Relation::kNone, TypeTest::kNull, false},
    {"IsNumeric", Family::kTypeTest, Relation::kNone, TypeTest::kNumeric, false},
    {"IsString", Family::kTypeTest, Relation::kNone, TypeTest::kString, false},
    {"IsBoolean", Family::kTypeTest, Relation::kNone, TypeTest::kBoolean, false},
    {"IsTimestamp", Family::kTypeTest, Relation::kNone, TypeTest::kTimestamp, false},
    {"StringEquals", Family::kString, Relation::kEq, TypeTest::kNone, false},
    {"StringLessThan", Family::kString, Relation::kLt, TypeTest::kNone, false},
    {"StringGreaterThan", Family::kString, Relation::kGt, TypeTest::kNone, false},
    {"StringLessThanEquals", Family::kString, Relation::kLe, TypeTest::kNone, false},
    {"StringGreaterThanEquals", Family::kString, Relation::kGe, TypeTest::kNone, false},
    {"StringMatches", Family::kStringMatches, Relation::kNone, TypeTest::kNone, false},
    {"NumericEquals", Family::kNumeric, Relation::kEq, TypeTest::kNone, false},
    {"NumericLessThan", Family::kNumeric, Relation::kLt, TypeTest::kNone, false},
    {"NumericGreaterThan", Family::kNumeric, Relation::kGt, TypeTest::kNone, false},
    {"NumericLessThanEquals", Family::kNumeric, Relation::kLe, TypeTest::kNone, false},
    {"NumericGreaterThanEquals", Family::kNumeric, Relation::kGe, TypeTest::kNone, false},
    {"BooleanEquals", Family::kBoolean, Relation::kEq, TypeTest::kNone, false},
    {"TimestampEquals", Family::kTimestamp, Relation::kEq, TypeTest::kNone, false},
    {"TimestampLessThan", Family::kTimestamp, Relation::kLt, TypeTest::kNone, false},
    {"TimestampGreaterThan", Family::kTimestamp, Relation::kGt, TypeTest::kNone, false},
    {"TimestampLessThanEquals", Family::kTimestamp, Relation::kLe, TypeTest::kNone, false},
    {"TimestampGreaterThanEquals", Family::kTimestamp, Relation::kGe, TypeTest::kNone, false},
    {"StringEqualsPath", Family::kString, Relation::kEq, TypeTest::kNone, true},
    {"StringLessThanPath", Family::kString, Relation::kLt, TypeTest::kNone, true},
    {"StringGreaterThanPath", Family::kString, Relation::kGt, TypeTest::kNone, true},
    {"StringLessThanEqualsPath", Family::kString, Relation::kLe, TypeTest::kNone, true},
    {"StringGreaterThanEqualsPath", Family::kString, Relation::kGe, TypeTest::kNone, true},
    {"NumericEqualsPath", Family::kNumeric, Relation::kEq, TypeTest::kNone, true},
    {"NumericLessThanPath", Family::kNumeric, Relation::kLt, TypeTest::kNone, true},
    {"NumericGreaterThanPath", Family::kNumeric, Relation::kGt, TypeTest::kNone, true},
    {"NumericLessThanEqualsPath", Family::kNumeric, Relation::kLe, TypeTest::kNone, true},
    {"NumericGreaterThanEqualsPath", Family::kNumeric, Relation::kGe, TypeTest::kNone, true},
    {"BooleanEqualsPath", Family::kBoolean, Relation::kEq, TypeTest::kNone, true},
    {"TimestampEqualsPath", Family::kTimestamp, Relation::kEq, TypeTest::kNone, true},
    {"TimestampLessThanPath", Family::kTimestamp, Relation::kLt, TypeTest::kNone, true},
    {"TimestampGreaterThanPath", Family::kTimestamp, Relation::kGt, TypeTest::kNone, true},
    {"TimestampLessThanEqualsPath", Family::kTimestamp, Relation::kLe, TypeTest::kNone, true},
    {"TimestampGreaterThanEqualsPath", Family::kTimestamp, Relation::kGe, TypeTest::kNone, true},
}};

// Returns the comparator named `name`, or nullptr.
const OperatorSpec* FindOperator(std::string_view name) {
  for (const OperatorSpec& spec : kOperators) {
    if (spec.name == name) {
      return &spec;
    }
  }
  return nullptr;
}

// Applies `relation` to a three-way comparison result (<0, 0, >0).
bool Holds(Relation relation, int cmp) {
  switch (relation) {
    case Relation::kEq:
      return cmp == 0;
    case Relation::kLt:
      return cmp < 0;
    case Relation::kGt:
      return cmp > 0;
    case Relation::kLe:
      return cmp <= 0;
    case Relation::kGe:
      return cmp >= 0;
    case Relation::kNone:
      break;
  }
  return false;
}

// Splits a StringMatches pattern at its `*` wildcards into literal segments (one more than there are
// stars): a backslash makes the next character literal (`\*`, `\\`); a trailing lone backslash is literal.
std::vector<std::string> PatternSegments(std::string_view pattern) {
  std::vector<std::string> segments(1);
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      segments.back().push_back(pattern[++i]);
    } else if (pattern[i] == '*') {
      segments.emplace_back();
    } else {
      segments.back().push_back(pattern[i]);
    }
  }
  return segments;
}

// Wildcard match in O(n + m): the first segment must be a prefix, the last a suffix, and the ones between
// occur in order, each taken leftmost (which is optimal for `*`-only patterns). Backtracking over each
// star was O(n * m) on hostile text.
bool MatchesPattern(std::string_view text, std::string_view pattern) {
  const std::vector<std::string> segments = PatternSegments(pattern);
  if (segments.size() == 1) {
    return text == segments.front();
  }
  const std::string& first = segments.front();
  const std::string& last = segments.back();
  if (text.size() < first.size() + last.size() || text.substr(0, first.size()) != first ||
      text.substr(text.size() - last.size()) != last) {
    return false;
  }
  std::string_view middle = text.substr(first.size(), text.size() - first.size() - last.size());
  for (size_t k = 1; k + 1 < segments.size(); ++k) {
    const std::string& segment = segments[k];
    if (segment.empty()) {
      continue;
    }
    const void* found = memmem(middle.data(), middle.size(), segment.data(), segment.size());
    if (found == nullptr) {
      return false;
    }
    const size_t at = static_cast<const char*>(found) - middle.data();
    middle.remove_prefix(at + segment.size());
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Parsing helpers.

// Concatenates string-like parts. (This absl build's string_view is not std::string_view, so StrCat does
// not take std::string_view.)
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

absl::Status RuleError(const std::string& location, std::string_view what) {
  return absl::InvalidArgumentError(Cat(location, ": ", what));
}

// Checks that `text` is a path Choice can read (`$...`, `$$...`, `$var...`).
absl::StatusOr<JsonPath> CompilePath(const std::string& location, std::string_view field, std::string_view text) {
  if (text.empty() || text.front() != '$') {
    return RuleError(location, Cat(field, " must be a path starting with '$', got '", text, "'"));
  }
  absl::StatusOr<JsonPath> parsed = JsonPath::Parse(text);
  if (!parsed.ok()) {
    return RuleError(location, Cat(field, " is not a valid path: ", std::string(parsed.status().message())));
  }
  return parsed;
}

// Checks a comparator's operand type for its family.
absl::Status CheckOperand(const std::string& location, const OperatorSpec& op,
                          const boost::json::value& operand) {
  if (op.is_path) {
    if (!operand.is_string()) {
      return RuleError(location, Cat(op.name, " must be a string path"));
    }
    return CompilePath(location, op.name, operand.get_string()).status();
  }
  switch (op.family) {
    case Family::kTypeTest:
    case Family::kBoolean:
      if (!operand.is_bool()) {
        return RuleError(location, Cat(op.name, " must be a boolean"));
      }
      break;
    case Family::kString:
    case Family::kStringMatches:
      if (!operand.is_string()) {
        return RuleError(location, Cat(op.name, " must be a string"));
      }
      break;
    case Family::kNumeric:
      if (!operand.is_number()) {
        return RuleError(location, Cat(op.name, " must be a number"));
      }
      break;
    case Family::kTimestamp:
      if (!operand.is_string() || !ParseTimestamp(operand.get_string()).has_value()) {
        return RuleError(location, Cat(op.name, " must be an ISO-8601 timestamp string such as "
                                                         "'2016-03-14T01:59:00Z'"));
      }
      break;
  }
  return absl::OkStatus();
}

bool IsCommonField(std::string_view key) { return key == "Comment"; }
bool IsTopLevelField(std::string_view key) { return key == "Next" || key == "Assign"; }
bool IsCompositeField(std::string_view key) { return key == "And" || key == "Or" || key == "Not"; }

// True when `v` (a value that exists) has the type `test` asks about.
bool PassesTypeTest(TypeTest test, const boost::json::value& v) {
  switch (test) {
    case TypeTest::kNull:
      return v.is_null();
    case TypeTest::kNumeric:
      return v.is_number();
    case TypeTest::kString:
      return v.is_string();
    case TypeTest::kBoolean:
      return v.is_bool();
    case TypeTest::kTimestamp:
      return v.is_string() && ParseTimestamp(v.get_string()).has_value();
    case TypeTest::kPresent:
    case TypeTest::kNone:
      break;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Public helpers.


std::string ChoiceInvalidPathCause(std::string_view path) {
  return Cat("Invalid path '", path,
                      "': The choice state's condition path references an invalid value.");
}

// ---------------------------------------------------------------------------------------------------
// ChoiceRule.

struct ChoiceRule::Impl {
  enum class Kind { kAnd, kOr, kNot, kComparison };

  Kind kind = Kind::kComparison;
  std::vector<ChoiceRule> children;  // And/Or: the operands; Not: exactly one

  // kComparison only.
  std::string variable;
  std::optional<JsonPath> variable_path;  // compiled `variable`
  std::optional<JsonPath> operand_path;   // `...Path` comparators: the compiled operand
  const OperatorSpec* op = nullptr;
  boost::json::value operand;  // the literal, or the path string for `...Path`
  std::optional<Timestamp> literal_timestamp;

  // Top-level only.
  std::string next;
  boost::json::value assign;  // null when absent
  CompiledTemplate compiled_assign;  // absent when `assign` is null

  static absl::StatusOr<ChoiceRule> ParseRule(const boost::json::value& rule, const std::string& location,
                                              bool top_level);
  absl::Status ParseComposite(const boost::json::object& obj, const std::string& location,
                              std::string_view key);
  absl::Status ParseComparison(const boost::json::object& obj, const std::string& location,
                               const std::vector<std::string_view>& comparators);
  absl::Status ParseTopLevelFields(const boost::json::object& obj, const std::string& location);

  Result<bool> EvaluateComposite(const PathResolver& resolve) const;
  Result<bool> EvaluateComparison(const PathResolver& resolve) const;
  bool Compare(const boost::json::value& variable_value, const boost::json::value& operand_value) const;
};

absl::StatusOr<ChoiceRule> ChoiceRule::Impl::ParseRule(const boost::json::value& rule,
                                                       const std::string& location, bool top_level) {
  if (!rule.is_object()) {
    return RuleError(location, "a choice rule must be an object");
  }
  const boost::json::object& obj = rule.get_object();
  std::vector<std::string_view> composites;
  std::vector<std::string_view> comparators;
  for (const auto& [key, value] : obj) {
    if (IsCompositeField(key)) {
      composites.push_back(key);
    } else if (FindOperator(key) != nullptr) {
      comparators.push_back(key);
    } else if (key == "Variable" || IsCommonField(key) || (top_level && IsTopLevelField(key))) {
      continue;
    } else if (IsTopLevelField(key)) {
      return RuleError(location, Cat("field '", std::string_view(key),
                                              "' is only allowed in a top-level choice rule"));
    } else {
      return RuleError(location, Cat("unknown field '", std::string_view(key), "'"));
    }
  }
  if (const boost::json::value* comment = obj.if_contains("Comment"); comment && !comment->is_string()) {
    return RuleError(location, "Comment must be a string");
  }

  auto impl = std::make_shared<Impl>();
  if (composites.size() + comparators.size() > 1) {
    std::vector<std::string_view> all = composites;
    all.insert(all.end(), comparators.begin(), comparators.end());
    std::string names;
    for (std::string_view name : all) {
      names += names.empty() ? "" : ", ";
      names += name;
    }
    return RuleError(location, Cat("more than one comparison operator (", names, ")"));
  }
  if (composites.empty() && comparators.empty()) {
    return RuleError(location, "no comparison operator");
  }
  if (!composites.empty()) {
    if (obj.contains("Variable")) {
      return RuleError(location, Cat("'Variable' cannot be combined with '", composites[0], "'"));
    }
    if (absl::Status s = impl->ParseComposite(obj, location, composites[0]); !s.ok()) {
      return s;
    }
  } else if (absl::Status s = impl->ParseComparison(obj, location, comparators); !s.ok()) {
    return s;
  }
  if (top_level) {
    if (absl::Status s = impl->ParseTopLevelFields(obj, location); !s.ok()) {
      return s;
    }
  }
  return ChoiceRule(std::move(impl));
}

absl::Status ChoiceRule::Impl::ParseComposite(const boost::json::object& obj, const std::string& location,
                                              std::string_view key) {
  const boost::json::value& operand = obj.at(key);
  const std::string child_base = Cat(location, "/", key);
  if (key == "Not") {
    kind = Kind::kNot;
    if (!operand.is_object()) {
      return RuleError(location, "Not must be an object (a choice rule)");
    }
    absl::StatusOr<ChoiceRule> child = ParseRule(operand, child_base, /*top_level=*/false);
    if (!child.ok()) {
      return child.status();
    }
    children.push_back(*std::move(child));
    return absl::OkStatus();
  }
  kind = key == "And" ? Kind::kAnd : Kind::kOr;
  if (!operand.is_array() || operand.get_array().empty()) {
    return RuleError(location, Cat(key, " must be a non-empty array of choice rules"));
  }
  const boost::json::array& items = operand.get_array();
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StatusOr<ChoiceRule> child =
        ParseRule(items[i], Cat(child_base, "/", std::to_string(i)), /*top_level=*/false);
    if (!child.ok()) {
      return child.status();
    }
    children.push_back(*std::move(child));
  }
  return absl::OkStatus();
}

absl::Status ChoiceRule::Impl::ParseComparison(const boost::json::object& obj, const std::string& location,
                                               const std::vector<std::string_view>& comparators) {
  kind = Kind::kComparison;
  op = FindOperator(comparators[0]);
  const boost::json::value* var = obj.if_contains("Variable");
  if (var == nullptr) {
    return RuleError(location, Cat("missing required field 'Variable' for ", op->name));
  }
  if (!var->is_string()) {
    return RuleError(location, "Variable must be a string path");
  }
  variable = std::string(var->get_string());
  absl::StatusOr<JsonPath> compiled_variable = CompilePath(location, "Variable", variable);
  if (!compiled_variable.ok()) {
    return compiled_variable.status();
  }
  variable_path = *std::move(compiled_variable);
  operand = obj.at(op->name);
  if (absl::Status s = CheckOperand(location, *op, operand); !s.ok()) {
    return s;
  }
  if (op->is_path) {
    absl::StatusOr<JsonPath> compiled_operand = CompilePath(location, op->name, operand.get_string());
    if (!compiled_operand.ok()) {
      return compiled_operand.status();
    }
    operand_path = *std::move(compiled_operand);
  }
  if (op->family == Family::kTimestamp && !op->is_path) {
    literal_timestamp = ParseTimestamp(operand.get_string());
  }
  return absl::OkStatus();
}

absl::Status ChoiceRule::Impl::ParseTopLevelFields(const boost::json::object& obj,
                                                   const std::string& location) {
  const boost::json::value* next_value = obj.if_contains("Next");
  if (next_value == nullptr) {
    return RuleError(location, "missing required field 'Next'");
  }
  if (!next_value->is_string() || next_value->get_string().empty()) {
    return RuleError(location, "Next must be a non-empty string");
  }
  next = std::string(next_value->get_string());
  if (const boost::json::value* assign_value = obj.if_contains("Assign"); assign_value != nullptr) {
    if (!assign_value->is_object()) {
      return RuleError(location, "Assign must be an object");
    }
    assign = *assign_value;
    compiled_assign = CompiledTemplate::Compile(assign, QueryLanguage::kJsonPath);
  }
  return absl::OkStatus();
}

Result<bool> ChoiceRule::Impl::EvaluateComposite(const PathResolver& resolve) const {
  if (kind == Kind::kNot) {
    Result<bool> inner = children.front().Evaluate(resolve);
    if (!inner.ok()) {
      return inner;
    }
    return !inner.value();
  }
  // And stops at the first false operand, Or at the first true one.
  const bool decisive = kind == Kind::kOr;
  for (const ChoiceRule& child : children) {
    Result<bool> r = child.Evaluate(resolve);
    if (!r.ok() || r.value() == decisive) {
      return r;
    }
  }
  return !decisive;
}

Result<bool> ChoiceRule::Impl::EvaluateComparison(const PathResolver& resolve) const {
  const PathValue resolved = resolve(*variable_path);
  if (!resolved.ok()) {
    return resolved.failure();
  }
  const std::optional<boost::json::value>& value = resolved.value();
  if (op->test == TypeTest::kPresent) {
    return value.has_value() == operand.get_bool();
  }
  if (!value.has_value()) {
    return Failure{errors::kRuntime, ChoiceInvalidPathCause(variable)};
  }
  if (!op->is_path) {
    return Compare(*value, operand);
  }
  const PathValue operand_resolved = resolve(*operand_path);
  if (!operand_resolved.ok()) {
    return operand_resolved.failure();
  }
  const std::optional<boost::json::value>& operand_value = operand_resolved.value();
  if (!operand_value.has_value()) {
    return Failure{errors::kRuntime, ChoiceInvalidPathCause(operand_path->text())};
  }
  return Compare(*value, *operand_value);
}

// Compares the Variable's value with the operand's value; any type mismatch is false.
bool ChoiceRule::Impl::Compare(const boost::json::value& v, const boost::json::value& o) const {
  switch (op->family) {
    case Family::kTypeTest:
      return PassesTypeTest(op->test, v) == o.get_bool();
    case Family::kString:
      return v.is_string() && o.is_string() &&
             Holds(op->relation, CompareStrings(v.get_string(), o.get_string()));
    case Family::kStringMatches:
      return v.is_string() && o.is_string() && MatchesPattern(v.get_string(), o.get_string());
    case Family::kNumeric:
      return v.is_number() && o.is_number() && Holds(op->relation, CompareNumbers(v, o));
    case Family::kBoolean:
      return v.is_bool() && o.is_bool() && v.get_bool() == o.get_bool();
    case Family::kTimestamp: {
      if (!v.is_string()) {
        return false;
      }
      const std::optional<Timestamp> a = ParseTimestamp(v.get_string());
      const std::optional<Timestamp> b =
          literal_timestamp.has_value() || !o.is_string() ? literal_timestamp
                                                          : ParseTimestamp(o.get_string());
      if (!a.has_value() || !b.has_value()) {
        return false;
      }
      const std::strong_ordering order = *a <=> *b;
      return Holds(op->relation, order < 0 ? -1 : (order > 0 ? 1 : 0));
    }
  }
  return false;
}

absl::StatusOr<ChoiceRule> ChoiceRule::Parse(const boost::json::value& rule, const std::string& location) {
  return Impl::ParseRule(rule, location, /*top_level=*/true);
}

ChoiceRule::ChoiceRule(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
ChoiceRule::ChoiceRule(const ChoiceRule&) = default;
ChoiceRule::ChoiceRule(ChoiceRule&&) noexcept = default;
ChoiceRule& ChoiceRule::operator=(const ChoiceRule&) = default;
ChoiceRule& ChoiceRule::operator=(ChoiceRule&&) noexcept = default;
ChoiceRule::~ChoiceRule() = default;

Result<bool> ChoiceRule::Evaluate(const PathResolver& resolve) const {
  if (impl_->kind == Impl::Kind::kComparison) {
    return impl_->EvaluateComparison(resolve);
  }
  return impl_->EvaluateComposite(resolve);
}

const std::string& ChoiceRule::next() const { return impl_->next; }
const boost::json::value& ChoiceRule::assign() const { return impl_->assign; }
const CompiledTemplate& ChoiceRule::compiled_assign() const { return impl_->compiled_assign; }

}  // namespace stepflow::sm
