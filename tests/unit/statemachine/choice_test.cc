// Unit tests for Choice rules. Expected results of evaluations follow the AWS recordings in the
// conformance corpus (category "choice"), grouped by behaviour.

#include "statemachine/json_path.h"
#include "statemachine/choice.h"
#include "statemachine/timestamp.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

// Walks `$.a.b` / `$$.a.b` / `$var.a.b` (dot-separated names only) over a small fixture.
class FakeScope {
 public:
  explicit FakeScope(json::value input, json::value context = json::object(),
                     json::object variables = {})
      : input_(std::move(input)), context_(std::move(context)), variables_(std::move(variables)) {}

  PathResolver Resolver() {
    return [this](const JsonPath& path) { return Resolve(path.text()); };
  }
  // Every path the rule asked for, in order.
  const std::vector<std::string>& requested() const { return requested_; }

 private:
  std::optional<json::value> Resolve(std::string_view path) {
    requested_.emplace_back(path);
    const json::value* node = nullptr;
    std::string_view rest;
    if (path.starts_with("$$")) {
      node = &context_;
      rest = path.substr(2);
    } else if (path == "$" || path.starts_with("$.")) {
      node = &input_;
      rest = path.substr(1);
    } else {
      const size_t dot = path.find('.');
      const std::string name(path.substr(1, dot == std::string_view::npos ? std::string_view::npos : dot - 1));
      node = variables_.if_contains(name);
      rest = dot == std::string_view::npos ? std::string_view() : path.substr(dot);
    }
    while (node != nullptr && !rest.empty()) {
      rest.remove_prefix(1);  // '.'
      const size_t dot = rest.find('.');
      const std::string key(rest.substr(0, dot));
      node = node->is_object() ? node->get_object().if_contains(key) : nullptr;
      rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot);
    }
    if (node == nullptr) {
      return std::nullopt;
    }
    return *node;
  }

  json::value input_;
  json::value context_;
  json::object variables_;
  std::vector<std::string> requested_;
};

ChoiceRule MustParse(std::string_view rule_json) {
  absl::StatusOr<ChoiceRule> rule = ChoiceRule::Parse(json::parse(rule_json), "/States/C/Choices/0");
  EXPECT_TRUE(rule.ok()) << rule.status();
  return *std::move(rule);
}

absl::Status ParseError(std::string_view rule_json) {
  return ChoiceRule::Parse(json::parse(rule_json), "/States/C/Choices/0").status();
}

// Evaluates `{"Variable": "$.Variable", <op>: <operand>, "Next": "T"}` on
// `{"Variable": <variable>, "Value": <value>}` (the corpus' BASE_TEMPLATE); for a `...Path` operator
// the operand is "$.Value". Returns the match, failing the test on a Failure.
bool EvalBase(std::string_view op, std::string_view variable, std::string_view value) {
  const bool is_path = op.ends_with("Path");
  const std::string operand = is_path ? "\"$.Value\"" : std::string(value);
  const ChoiceRule rule = MustParse(std::string(R"({"Variable": "$.Variable", ")") + std::string(op) + "\": " +
                                    operand + R"(, "Next": "T"})");
  FakeScope scope(json::parse(std::string(R"({"Variable": )") + std::string(variable) + R"(, "Value": )" +
                              std::string(value) + "}"));
  Result<bool> r = rule.Evaluate(scope.Resolver());
  EXPECT_TRUE(r.ok()) << r.failure().cause;
  return r.ok() && r.value();
}

// The values the corpus feeds to every type test and comparator.
const std::vector<std::string> kAllTypes = {
    "null", "0", "0.0", "1", "1.1", R"("")", R"(" ")", R"("HelloWorld")", R"("2012-10-09T19:00:55")",
    R"("2012-10-09T19:00:55Z")", R"("2012-10-09T19:00:55+01:00")", R"("2023-02-24")", "[]", R"([""])",
    "{}", R"({"A": 0})", "true", "false"};

// ---------------------------------------------------------------------------------------------------
// Parse: structure.

TEST(ChoiceParseTest, AcceptsComparisonWithNextCommentAndAssign) {
  const ChoiceRule rule = MustParse(
      R"({"Variable": "$.x", "StringEquals": "a", "Next": "S", "Comment": "c", "Assign": {"v.$": "$.x"}})");
  EXPECT_EQ(rule.next(), "S");
  EXPECT_EQ(rule.assign(), json::parse(R"({"v.$": "$.x"})"));
}

TEST(ChoiceParseTest, AssignIsNullWhenAbsent) {
  EXPECT_TRUE(MustParse(R"({"Variable": "$.x", "IsNull": true, "Next": "S"})").assign().is_null());
}

TEST(ChoiceParseTest, AcceptsEveryComparator) {
  const std::vector<std::pair<std::string, std::string>> ops = {
      {"IsPresent", "true"}, {"IsNull", "false"}, {"IsNumeric", "true"}, {"IsString", "true"},
      {"IsBoolean", "true"}, {"IsTimestamp", "true"}, {"StringEquals", R"("a")"},
      {"StringLessThan", R"("a")"}, {"StringGreaterThan", R"("a")"}, {"StringLessThanEquals", R"("a")"},
      {"StringGreaterThanEquals", R"("a")"}, {"StringMatches", R"("a*")"}, {"NumericEquals", "1"},
      {"NumericLessThan", "1.5"}, {"NumericGreaterThan", "-1"}, {"NumericLessThanEquals", "0"},
      {"NumericGreaterThanEquals", "0"}, {"BooleanEquals", "true"},
      {"TimestampEquals", R"("2016-03-14T01:59:00Z")"}, {"TimestampLessThan", R"("2016-03-14T01:59:00Z")"},
      {"TimestampGreaterThan", R"("2016-03-14T01:59:00Z")"},
      {"TimestampLessThanEquals", R"("2016-03-14T01:59:00Z")"},
      {"TimestampGreaterThanEquals", R"("2016-03-14T01:59:00Z")"}};
  for (const auto& [op, operand] : ops) {
    absl::StatusOr<ChoiceRule> rule = ChoiceRule::Parse(
        json::parse(absl::StrCat(R"({"Variable": "$.x", ")", op, "\": ", operand, R"(, "Next": "S"})")),
        "/c");
    EXPECT_TRUE(rule.ok()) << op << ": " << rule.status();
  }
}

TEST(ChoiceParseTest, AcceptsNestedCompositesWithoutNext) {
  const ChoiceRule rule = MustParse(R"({"And": [
      {"Not": {"Variable": "$.a", "IsNull": true, "Comment": "inner"}},
      {"Or": [{"Variable": "$.b", "NumericEquals": 1}, {"Variable": "$.b", "NumericEquals": 2}]}],
      "Next": "S"})");
  EXPECT_EQ(rule.next(), "S");
}

TEST(ChoiceParseTest, RejectsNonObjectRule) {
  absl::Status s = ParseError(R"("rule")");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("/States/C/Choices/0: a choice rule must be an object"));
}

TEST(ChoiceParseTest, RejectsMissingComparator) {
  absl::Status s = ParseError(R"({"Variable": "$.x", "Next": "S"})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "/States/C/Choices/0: no comparison operator");
  EXPECT_EQ(ParseError(R"({"Next": "S"})").message(), "/States/C/Choices/0: no comparison operator");
}

TEST(ChoiceParseTest, RejectsTwoComparators) {
  absl::Status s = ParseError(R"({"Variable": "$.x", "StringEquals": "a", "IsNull": true, "Next": "S"})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than one comparison operator"));
  EXPECT_THAT(s.message(), HasSubstr("StringEquals"));
  EXPECT_THAT(s.message(), HasSubstr("IsNull"));
  EXPECT_THAT(ParseError(R"({"And": [{"Variable": "$.x", "IsNull": true}], "Or": [], "Next": "S"})").message(),
              HasSubstr("more than one comparison operator"));
}

TEST(ChoiceParseTest, RejectsUnknownField) {
  EXPECT_EQ(ParseError(R"({"Variable": "$.x", "IsNull": true, "Foo": 1, "Next": "S"})").message(),
            "/States/C/Choices/0: unknown field 'Foo'");
  // Field names are case-sensitive.
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "stringEquals": "a", "Next": "S"})").message(),
              HasSubstr("unknown field 'stringEquals'"));
}

TEST(ChoiceParseTest, RejectsWrongOperandTypes) {
  EXPECT_EQ(ParseError(R"({"Variable": "$.x", "StringEquals": 1, "Next": "S"})").message(),
            "/States/C/Choices/0: StringEquals must be a string");
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "StringMatches": true, "Next": "S"})").message(),
              HasSubstr("StringMatches must be a string"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "NumericEquals": "1", "Next": "S"})").message(),
              HasSubstr("NumericEquals must be a number"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "BooleanEquals": "true", "Next": "S"})").message(),
              HasSubstr("BooleanEquals must be a boolean"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "IsPresent": 1, "Next": "S"})").message(),
              HasSubstr("IsPresent must be a boolean"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "TimestampEquals": 5, "Next": "S"})").message(),
              HasSubstr("TimestampEquals must be an ISO-8601 timestamp"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "TimestampEquals": "2016-03-14", "Next": "S"})").message(),
              HasSubstr("TimestampEquals must be an ISO-8601 timestamp"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "NumericEqualsPath": 1, "Next": "S"})").message(),
              HasSubstr("NumericEqualsPath must be a string path"));
}

TEST(ChoiceParseTest, RejectsBadVariable) {
  EXPECT_THAT(ParseError(R"({"StringEquals": "a", "Next": "S"})").message(),
              HasSubstr("missing required field 'Variable'"));
  EXPECT_THAT(ParseError(R"({"Variable": 1, "StringEquals": "a", "Next": "S"})").message(),
              HasSubstr("Variable must be a string path"));
  EXPECT_THAT(ParseError(R"({"Variable": "x", "StringEquals": "a", "Next": "S"})").message(),
              HasSubstr("Variable must be a path starting with '$'"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "StringEqualsPath": "y", "Next": "S"})").message(),
              HasSubstr("StringEqualsPath must be a path starting with '$'"));
}

// Depends on JsonPath::Parse (statemachine/json_path.cc) rejecting malformed paths.
TEST(ChoiceParseTest, RejectsSyntacticallyInvalidPaths) {
  absl::Status s = ParseError(R"({"Variable": "$.a[", "IsNull": true, "Next": "S"})");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("/States/C/Choices/0: Variable is not a valid path"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.a", "NumericEqualsPath": "$.b[", "Next": "S"})").message(),
              HasSubstr("NumericEqualsPath is not a valid path"));
}

TEST(ChoiceParseTest, RejectsBadComposites) {
  EXPECT_THAT(ParseError(R"({"And": [], "Next": "S"})").message(),
              HasSubstr("And must be a non-empty array"));
  EXPECT_THAT(ParseError(R"({"Or": {}, "Next": "S"})").message(), HasSubstr("Or must be a non-empty array"));
  EXPECT_THAT(ParseError(R"({"Not": [], "Next": "S"})").message(), HasSubstr("Not must be an object"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "Not": {"Variable": "$.x", "IsNull": true}, "Next": "S"})")
                  .message(),
              HasSubstr("'Variable' cannot be combined with 'Not'"));
}

TEST(ChoiceParseTest, NestedErrorsNameTheNestedLocation) {
  EXPECT_EQ(ParseError(R"({"And": [{"Variable": "$.x", "IsNull": true}, {"Variable": "$.y"}], "Next": "S"})")
                .message(),
            "/States/C/Choices/0/And/1: no comparison operator");
  EXPECT_EQ(ParseError(R"({"Not": {"Variable": "$.x", "Bar": 1}, "Next": "S"})").message(),
            "/States/C/Choices/0/Not: unknown field 'Bar'");
}

TEST(ChoiceParseTest, TopLevelNeedsNextAndNestedMustNotHaveIt) {
  EXPECT_EQ(ParseError(R"({"Variable": "$.x", "IsNull": true})").message(),
            "/States/C/Choices/0: missing required field 'Next'");
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "IsNull": true, "Next": 3})").message(),
              HasSubstr("Next must be a non-empty string"));
  EXPECT_EQ(ParseError(R"({"Not": {"Variable": "$.x", "IsNull": true, "Next": "S"}, "Next": "S"})").message(),
            "/States/C/Choices/0/Not: field 'Next' is only allowed in a top-level choice rule");
  EXPECT_THAT(ParseError(R"({"Or": [{"Variable": "$.x", "IsNull": true, "Assign": {}}], "Next": "S"})").message(),
              HasSubstr("field 'Assign' is only allowed in a top-level choice rule"));
  EXPECT_THAT(ParseError(R"({"Variable": "$.x", "IsNull": true, "Next": "S", "Assign": 1})").message(),
              HasSubstr("Assign must be an object"));
}

// ---------------------------------------------------------------------------------------------------
// Evaluate: type tests (corpus: TestIsOperators).

TEST(ChoiceTypeTestTest, EachTestMatchesOnlyItsType) {
  const std::map<std::string, std::vector<std::string>> matching = {
      {"IsNull", {"null"}},
      {"IsNumeric", {"0", "0.0", "1", "1.1"}},
      {"IsString",
       {R"("")", R"(" ")", R"("HelloWorld")", R"("2012-10-09T19:00:55")", R"("2012-10-09T19:00:55Z")",
        R"("2012-10-09T19:00:55+01:00")", R"("2023-02-24")"}},
      {"IsBoolean", {"true", "false"}},
      {"IsTimestamp", {R"("2012-10-09T19:00:55Z")", R"("2012-10-09T19:00:55+01:00")"}},
      {"IsPresent", kAllTypes},
  };
  for (const auto& [op, yes] : matching) {
    for (const std::string& v : kAllTypes) {
      const bool expected = std::find(yes.begin(), yes.end(), v) != yes.end();
      EXPECT_EQ(EvalBase(op, v, "true"), expected) << op << " true on " << v;
      EXPECT_EQ(EvalBase(op, v, "false"), !expected) << op << " false on " << v;
    }
  }
}

TEST(ChoiceTypeTestTest, IsPresentOnMissingPathIsFalseNotAFailure) {
  FakeScope scope(json::parse(R"({"a": 1})"));
  Result<bool> r = MustParse(R"({"Variable": "$.missing", "IsPresent": true, "Next": "S"})")
                       .Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
  r = MustParse(R"({"Variable": "$.missing", "IsPresent": false, "Next": "S"})").Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value());
}

TEST(ChoiceTypeTestTest, IsNullOnMissingPathFails) {
  FakeScope scope(json::parse(R"({})"));
  Result<bool> r =
      MustParse(R"({"Variable": "$.missing", "IsNull": false, "Next": "S"})").Evaluate(scope.Resolver());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().error, "States.Runtime");
}

// ---------------------------------------------------------------------------------------------------
// Evaluate: missing paths.

TEST(ChoiceMissingPathTest, MissingVariableIsStatesRuntimeWithAwsCause) {
  FakeScope scope(json::parse(R"({"a": 1})"));
  Result<bool> r =
      MustParse(R"({"Variable": "$.no.such", "NumericEquals": 1, "Next": "S"})").Evaluate(scope.Resolver());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().error, "States.Runtime");
  EXPECT_EQ(r.failure().cause,
            "Invalid path '$.no.such': The choice state's condition path references an invalid value.");
}

TEST(ChoiceMissingPathTest, MissingPathOperandNamesTheOperandPath) {
  FakeScope scope(json::parse(R"({"left": 8})"));
  Result<bool> r = MustParse(R"({"Variable": "$.left", "NumericLessThanEqualsPath": "$.right", "Next": "S"})")
                       .Evaluate(scope.Resolver());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().error, "States.Runtime");
  EXPECT_EQ(r.failure().cause, ChoiceInvalidPathCause("$.right"));
}

TEST(ChoiceMissingPathTest, VariableIsResolvedBeforeTheOperand) {
  FakeScope scope(json::parse(R"({})"));
  Result<bool> r = MustParse(R"({"Variable": "$.left", "StringEqualsPath": "$.right", "Next": "S"})")
                       .Evaluate(scope.Resolver());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().cause, ChoiceInvalidPathCause("$.left"));
}

TEST(ChoiceMissingPathTest, NullValueIsPresentNotMissing) {
  FakeScope scope(json::parse(R"({"a": null})"));
  Result<bool> r =
      MustParse(R"({"Variable": "$.a", "StringEquals": "x", "Next": "S"})").Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
}

// ---------------------------------------------------------------------------------------------------
// Evaluate: booleans (corpus: TestBooleanEquals).

TEST(ChoiceBooleanTest, OnlyBooleansOfEqualValueMatch) {
  for (const std::string op : {"BooleanEquals", "BooleanEqualsPath"}) {
    for (const std::string& v : kAllTypes) {
      EXPECT_EQ(EvalBase(op, v, "true"), v == "true") << op << " true on " << v;
      EXPECT_EQ(EvalBase(op, v, "false"), v == "false") << op << " false on " << v;
    }
  }
}

TEST(ChoiceBooleanTest, PathOperandOfWrongTypeIsFalse) {
  EXPECT_FALSE(EvalBase("BooleanEqualsPath", "true", "1"));
  EXPECT_FALSE(EvalBase("BooleanEqualsPath", "true", R"("true")"));
}

// ---------------------------------------------------------------------------------------------------
// Evaluate: strings (corpus: TestStrings).

TEST(ChoiceStringTest, EqualsIsExactAndTypeStrict) {
  for (const std::string op : {"StringEquals", "StringEqualsPath"}) {
    EXPECT_TRUE(EvalBase(op, R"("Hello")", R"("Hello")"));
    EXPECT_FALSE(EvalBase(op, R"(" ")", R"("     ")"));
    EXPECT_FALSE(EvalBase(op, R"("\t\n")", R"("\t\r\n")"));
    EXPECT_FALSE(EvalBase(op, R"("hello")", R"("Hello")"));
    for (const std::string& v : kAllTypes) {
      if (v != R"("HelloWorld")") {
        EXPECT_FALSE(EvalBase(op, v, R"("HelloWorld")")) << v;
      }
    }
  }
  // A non-string path operand never equals.
  EXPECT_FALSE(EvalBase("StringEqualsPath", R"("1")", "1"));
}

TEST(ChoiceStringTest, OrderingIsLexicographic) {
  struct Case {
    std::string op, variable, value;
    bool expected;
  };
  const std::vector<Case> cases = {
      {"StringLessThan", R"("")", R"("")", false},
      {"StringLessThan", R"("A")", R"("AB")", true},
      {"StringLessThan", R"("AB")", R"("A")", false},
      {"StringGreaterThan", R"("")", R"("")", false},
      {"StringGreaterThan", R"("A")", R"("A ")", false},
      {"StringGreaterThan", R"("A")", R"("A\t\n\r")", false},
      {"StringGreaterThan", R"("AB")", R"("ABC")", false},
      {"StringGreaterThan", R"("B")", R"("ABC")", true},
      {"StringGreaterThanEquals", R"("")", R"("")", true},
      {"StringGreaterThanEquals", R"("A")", R"("AB")", false},
      {"StringGreaterThanEquals", R"("AB")", R"("A")", true},
      {"StringLessThanEquals", R"("A")", R"("A")", true},
      {"StringLessThanEquals", R"("B")", R"("A")", false},
      {"StringLessThan", R"("Z")", R"("a")", true},  // code units, not collation
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EvalBase(c.op, c.variable, c.value), c.expected) << c.op << " " << c.variable << " " << c.value;
    EXPECT_EQ(EvalBase(c.op + "Path", c.variable, c.value), c.expected)
        << c.op << "Path " << c.variable << " " << c.value;
  }
}

TEST(ChoiceStringTest, OrderingUsesUtf16CodeUnits) {
  // U+FF61 is one UTF-16 unit 0xFF61; U+1F600 is the surrogate pair D83D DE00. UTF-8 bytes order them
  // the other way round.
  EXPECT_TRUE(EvalBase("StringLessThan", "\"\xF0\x9F\x98\x80\"", "\"\xEF\xBD\xA1\""));
  EXPECT_FALSE(EvalBase("StringGreaterThan", "\"\xF0\x9F\x98\x80\"", "\"\xEF\xBD\xA1\""));
}

TEST(ChoiceStringTest, OrderingOnNonStringsIsFalse) {
  for (const std::string& v : {std::string("1"), std::string("null"), std::string("[]"), std::string("true")}) {
    EXPECT_FALSE(EvalBase("StringLessThan", v, R"("zzz")")) << v;
    EXPECT_FALSE(EvalBase("StringGreaterThanEquals", v, R"("")")) << v;
  }
}

TEST(ChoiceStringMatchesTest, WildcardsAndEscapes) {
  struct Case {
    std::string text, pattern;
    bool expected;
  };
  const std::vector<Case> cases = {
      {"log-1.txt", "log-*.txt", true},
      {"log-.txt", "log-*.txt", true},
      {"log-1.txt.bak", "log-*.txt", false},
      {"anything", "*", true},
      {"", "*", true},
      {"", "", true},
      {"a", "", false},
      {"abc", "abc", true},
      {"abc", "ab", false},
      {"a*c", "a\\*c", true},           // \* is a literal star
      {"abc", "a\\*c", false},
      {"a\\c", "a\\\\c", true},         // \\ is a literal backslash
      {"a\\bc", "a\\\\*", true},
      {"abcbcd", "a*bcd", true},        // needs backtracking
      {"abcbce", "a*bcd", false},
      {"mississippi", "*sip*", true},
      {"x.y", "x?y", false},            // ? and . are not special
      {"x?y", "x?y", true},
      {"Hello World", "hello*", false}, // case-sensitive
      {"h\xC3\xA9llo", "h*llo", true},  // multi-byte characters under *
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EvalBase("StringMatches", json::serialize(json::value(c.text)),
                       json::serialize(json::value(c.pattern))),
              c.expected)
        << c.text << " ~ " << c.pattern;
  }
}

TEST(ChoiceStringMatchesTest, HostilePatternIsLinear) {
  const std::string text(200000, 'a');
  std::string pattern = "*";
  for (int i = 0; i < 2000; ++i) {
    pattern += "a";
  }
  pattern += "b*";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(EvalBase("StringMatches", json::serialize(json::value(text)), json::serialize(json::value(pattern))));
  EXPECT_TRUE(EvalBase("StringMatches", json::serialize(json::value(text + "b")), json::serialize(json::value(pattern))));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(ChoiceStringMatchesTest, NonStringsNeverMatch) {
  for (const std::string& v : kAllTypes) {
    if (!v.starts_with("\"")) {
      EXPECT_FALSE(EvalBase("StringMatches", v, R"("*")")) << v;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Evaluate: numbers (corpus: TestNumerics).

TEST(ChoiceNumericTest, EqualsComparesValuesAcrossIntAndFloat) {
  for (const std::string op : {"NumericEquals", "NumericEqualsPath"}) {
    EXPECT_TRUE(EvalBase(op, "0", "0"));
    EXPECT_TRUE(EvalBase(op, "0", "0.0"));
    EXPECT_TRUE(EvalBase(op, "0.0", "0"));
    EXPECT_TRUE(EvalBase(op, "-0", "0"));
    EXPECT_TRUE(EvalBase(op, "-0.0", "0"));
    EXPECT_TRUE(EvalBase(op, "1", "1.0"));
    EXPECT_TRUE(EvalBase(op, "2.22", "2.22"));
    EXPECT_TRUE(EvalBase(op, "1e2", "100"));
    EXPECT_FALSE(EvalBase(op, "0", "1"));
    EXPECT_FALSE(EvalBase(op, "1.1", "1"));
    EXPECT_FALSE(EvalBase(op, "0.0", "1.0"));
  }
}

TEST(ChoiceNumericTest, NonNumbersNeverCompare) {
  for (const std::string op : {"NumericEquals", "NumericEqualsPath", "NumericLessThan", "NumericGreaterThanEquals"}) {
    for (const std::string& v : {std::string("null"), std::string(R"("")"), std::string(R"(" ")"),
                                 std::string(R"("0")"), std::string("[]"), std::string(R"([""])"),
                                 std::string("{}"), std::string(R"({"A": 0})"), std::string("true"),
                                 std::string("false")}) {
      for (const std::string value : {"0", "0.0", "1", "1.0"}) {
        EXPECT_FALSE(EvalBase(op, v, value)) << op << " " << v << " " << value;
      }
    }
  }
  // A non-number path operand is false too.
  EXPECT_FALSE(EvalBase("NumericEqualsPath", "1", R"("1")"));
  EXPECT_FALSE(EvalBase("NumericLessThanPath", "1", R"({"value": 8})"));
}

TEST(ChoiceNumericTest, Orderings) {
  struct Case {
    std::string op, variable, value;
    bool expected;
  };
  const std::vector<Case> cases = {
      {"NumericLessThan", "0", "0", false},          {"NumericLessThan", "0.0", "0", false},
      {"NumericLessThan", "0", "1", true},           {"NumericLessThan", "1", "1", false},
      {"NumericLessThan", "1", "0", false},          {"NumericLessThanEquals", "0", "0", true},
      {"NumericLessThanEquals", "0.0", "0", true},   {"NumericLessThanEquals", "0", "1", true},
      {"NumericLessThanEquals", "1", "1", true},     {"NumericLessThanEquals", "1", "0", false},
      {"NumericGreaterThan", "0", "0", false},       {"NumericGreaterThan", "0.0", "0", false},
      {"NumericGreaterThan", "0", "1", false},       {"NumericGreaterThan", "1", "1", false},
      {"NumericGreaterThan", "1", "0", true},        {"NumericGreaterThanEquals", "0", "0", true},
      {"NumericGreaterThanEquals", "0", "1", false}, {"NumericGreaterThanEquals", "1", "0", true},
      {"NumericGreaterThan", "1.5", "1", true},      {"NumericLessThan", "-1.5", "-1", true},
      {"NumericGreaterThan", "-0.5", "-1", true},    {"NumericLessThan", "0.1", "0.2", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EvalBase(c.op, c.variable, c.value), c.expected) << c.op << " " << c.variable << " " << c.value;
    EXPECT_EQ(EvalBase(c.op + "Path", c.variable, c.value), c.expected)
        << c.op << "Path " << c.variable << " " << c.value;
  }
}

TEST(ChoiceNumericTest, LargeNumbersCompareExactly) {
  // int64 max vs uint64 just above it.
  EXPECT_TRUE(EvalBase("NumericLessThan", "9223372036854775807", "9223372036854775808"));
  EXPECT_TRUE(EvalBase("NumericGreaterThan", "18446744073709551615", "9223372036854775807"));
  EXPECT_TRUE(EvalBase("NumericEquals", "18446744073709551615", "18446744073709551615"));
  // 2^53 + 1 is not representable as a double; an exact comparison still tells them apart.
  EXPECT_FALSE(EvalBase("NumericEquals", "9007199254740993", "9007199254740992.0"));
  EXPECT_TRUE(EvalBase("NumericGreaterThan", "9007199254740993", "9007199254740992.0"));
  EXPECT_TRUE(EvalBase("NumericEquals", "9007199254740992", "9007199254740992.0"));
  // Beyond uint64: parsed as doubles.
  EXPECT_TRUE(EvalBase("NumericGreaterThan", "1e30", "18446744073709551615"));
  EXPECT_TRUE(EvalBase("NumericLessThan", "-1e30", "-9223372036854775808"));
  EXPECT_TRUE(EvalBase("NumericEquals", "-9223372036854775808", "-9.223372036854775808e18"));
  EXPECT_TRUE(EvalBase("NumericLessThan", "-1", "18446744073709551615"));
}

// ---------------------------------------------------------------------------------------------------
// Evaluate: timestamps (corpus: TestTimestamps).

constexpr char kT0[] = R"("2012-10-09T19:00:55Z")";
constexpr char kT1[] = R"("2012-10-09T19:00:56Z")";

TEST(ChoiceTimestampTest, BaseComparisons) {
  struct Case {
    std::string op;
    bool t0_t0, t0_t1, t1_t0;
  };
  const std::vector<Case> cases = {
      {"TimestampEquals", true, false, false},           {"TimestampLessThan", false, true, false},
      {"TimestampGreaterThan", false, false, true},      {"TimestampLessThanEquals", true, true, false},
      {"TimestampGreaterThanEquals", true, false, true},
  };
  for (const Case& c : cases) {
    for (const std::string& op : {c.op, c.op + "Path"}) {
      EXPECT_EQ(EvalBase(op, kT0, kT0), c.t0_t0) << op;
      EXPECT_EQ(EvalBase(op, kT0, kT1), c.t0_t1) << op;
      EXPECT_EQ(EvalBase(op, kT1, kT0), c.t1_t0) << op;
    }
  }
}

TEST(ChoiceTimestampTest, NonTimestampsNeverCompare) {
  for (const std::string v : {"null", "0", "0.0", "1", "1.1", R"("")", R"(" ")",
                              R"("2023-02-24 12:15:56.832957")", "[]", R"([""])", "{}", R"({"A": 0})",
                              "false", "true", R"("2012-10-09T19:00:55")", R"("2023-02-24")"}) {
    EXPECT_FALSE(EvalBase("TimestampEquals", v, kT0)) << v;
    EXPECT_FALSE(EvalBase("TimestampLessThanEqualsPath", v, kT0)) << v;
    EXPECT_FALSE(EvalBase("TimestampGreaterThanEquals", v, kT0)) << v;
  }
  // A path operand that is not a timestamp is false too.
  EXPECT_FALSE(EvalBase("TimestampEqualsPath", kT0, R"("not a time")"));
  EXPECT_FALSE(EvalBase("TimestampEqualsPath", kT0, "5"));
}

TEST(ChoiceTimestampTest, OffsetsAndFractionsCompareAsInstants) {
  EXPECT_TRUE(EvalBase("TimestampEquals", R"("2012-10-09T20:00:55+01:00")", kT0));
  EXPECT_TRUE(EvalBase("TimestampEquals", R"("2012-10-09T14:30:55-04:30")", kT0));
  EXPECT_TRUE(EvalBase("TimestampEquals", R"("2012-10-09T19:00:55.000Z")", kT0));
  EXPECT_TRUE(EvalBase("TimestampGreaterThan", R"("2012-10-09T19:00:55.001Z")", kT0));
  EXPECT_TRUE(EvalBase("TimestampLessThan", R"("2012-10-09T19:00:54.999999999Z")", kT0));
  EXPECT_TRUE(EvalBase("TimestampLessThan", R"("2012-10-09T19:00:55+00:01")", kT0));
  // Day boundary crossed by the offset.
  EXPECT_TRUE(EvalBase("TimestampEquals", R"("2012-10-10T01:00:55+06:00")", kT0));
}

TEST(ChoiceTimestampTest, IsTimestampFormats) {
  const std::vector<std::string> valid = {
      "2016-03-14T01:59:00Z",           "2016-03-14T01:59:00.1Z",        "2016-03-14T01:59:00.123456789Z",
      "2016-03-14T01:59:00+01:00",      "2016-03-14T01:59:00-11:30",     "2016-03-14T01:59:00.5+05:45",
      "2016-03-14t01:59:00z",           "2016-03-14T01:59Z",             "2016-02-29T00:00:00Z",
      "2000-02-29T23:59:59Z",           "2016-03-14T01:59:00+18:00",     "2016-03-14T01:59:00+01:00:30",
  };
  const std::vector<std::string> invalid = {
      "2016-03-14T01:59:00",            "2016-03-14",                    "2016-03-14 01:59:00Z",
      "2016-03-14T01:59:00.1234567891Z", "2016-03-14T24:00:00Z",         "2016-03-14T01:60:00Z",
      "2016-03-14T01:59:60Z",           "2016-13-14T01:59:00Z",          "2016-00-14T01:59:00Z",
      "2015-02-29T01:59:00Z",           "1900-02-29T01:59:00Z",          "2016-04-31T01:59:00Z",
      "16-03-14T01:59:00Z",             "2016-3-14T01:59:00Z",           "2016-03-14T1:59:00Z",
      "2016-03-14T01:59:00+0100",       "2016-03-14T01:59:00+01",        "2016-03-14T01:59:00+19:00",
      "2016-03-14T01:59:00ZZ",          " 2016-03-14T01:59:00Z",         "2016-03-14T01:59:00Z ",
      "05-12-2016T21:29:29Z",           "2016-03-14T01:59:00UTC",        "HelloWorld",
      "",                               "2016-03-14T01Z",
  };
  for (const std::string& s : valid) {
    EXPECT_TRUE(ParseTimestamp(s).has_value()) << s;
    EXPECT_TRUE(EvalBase("IsTimestamp", json::serialize(json::value(s)), "true")) << s;
  }
  for (const std::string& s : invalid) {
    EXPECT_FALSE(ParseTimestamp(s).has_value()) << s;
    EXPECT_FALSE(EvalBase("IsTimestamp", json::serialize(json::value(s)), "true")) << s;
  }
}

TEST(ChoiceTimestampTest, ParsesToEpoch) {
  std::optional<Timestamp> t = ParseTimestamp("1970-01-01T00:00:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->epoch_seconds, 0);
  t = ParseTimestamp("2016-03-14T01:59:00.25+01:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->epoch_seconds, 1457920740 - 3600);
  EXPECT_EQ(t->nanos, 250000000);
  t = ParseTimestamp("1969-12-31T23:59:59Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->epoch_seconds, -1);
}

// ---------------------------------------------------------------------------------------------------
// Evaluate: composites and roots.

TEST(ChoiceCompositeTest, AwsDocsScenario) {
  const std::string choices[] = {
      R"({"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"})",
      R"({"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"})",
      R"({"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20},
                  {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"})"};
  auto first_match = [&](std::string_view input) -> std::string {
    FakeScope scope(json::parse(input));
    for (const std::string& c : choices) {
      const ChoiceRule rule = MustParse(c);
      Result<bool> r = rule.Evaluate(scope.Resolver());
      EXPECT_TRUE(r.ok());
      if (r.ok() && r.value()) {
        return rule.next();
      }
    }
    return "Default";
  };
  EXPECT_EQ(first_match(R"({"type": "Private", "value": 22})"), "ValueInTwenties");
  EXPECT_EQ(first_match(R"({"type": "Public", "value": 22})"), "Public");
  EXPECT_EQ(first_match(R"({"type": "Private", "value": 0})"), "ValueIsZero");
  EXPECT_EQ(first_match(R"({"type": "Private", "value": 30})"), "Default");
}

TEST(ChoiceCompositeTest, SingletonAndOr) {
  FakeScope scope(json::parse(R"({"type": "Public"})"));
  Result<bool> r = MustParse(R"({"And": [{"Variable": "$.type", "StringEquals": "Public"}], "Next": "P"})")
                       .Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value());
  r = MustParse(R"({"Or": [{"Variable": "$.type", "StringEquals": "Private"}], "Next": "P"})")
          .Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
}

TEST(ChoiceCompositeTest, AndOrShortCircuitBeforeMissingPaths) {
  FakeScope scope(json::parse(R"({"a": 1})"));
  Result<bool> r = MustParse(R"({"And": [{"Variable": "$.a", "NumericEquals": 2},
                                         {"Variable": "$.missing", "NumericEquals": 1}], "Next": "S"})")
                       .Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
  r = MustParse(R"({"Or": [{"Variable": "$.a", "NumericEquals": 1},
                           {"Variable": "$.missing", "NumericEquals": 1}], "Next": "S"})")
          .Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value());
  EXPECT_THAT(scope.requested(), ::testing::Not(::testing::Contains("$.missing")));
}

TEST(ChoiceCompositeTest, FailurePropagatesThroughNesting) {
  FakeScope scope(json::parse(R"({"a": 1})"));
  Result<bool> r = MustParse(R"({"Not": {"Or": [{"Variable": "$.a", "NumericEquals": 2},
                                               {"Variable": "$.gone", "IsNull": true}]}, "Next": "S"})")
                       .Evaluate(scope.Resolver());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().cause, ChoiceInvalidPathCause("$.gone"));
}

TEST(ChoiceCompositeTest, DeepNesting) {
  FakeScope scope(json::parse(R"({"a": 5, "b": "x", "c": true})"));
  const ChoiceRule rule = MustParse(R"({"And": [
      {"Or": [{"Variable": "$.a", "NumericLessThan": 0}, {"Not": {"Not": {"Variable": "$.a", "NumericEquals": 5}}}]},
      {"Not": {"And": [{"Variable": "$.b", "StringEquals": "x"}, {"Variable": "$.c", "BooleanEquals": false}]}}],
      "Next": "S"})");
  Result<bool> r = rule.Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value());
}

TEST(ChoiceRootsTest, ContextAndVariablePaths) {
  FakeScope scope(json::parse(R"({})"), json::parse(R"({"Execution": {"Input": {"input-value": 0}}})"),
                  json::parse(R"({"flag": {"on": true}, "n": 3})").as_object());
  Result<bool> r = MustParse(R"({"Variable": "$$.Execution.Input.input-value", "NumericLessThanEquals": 0,
                                 "Next": "S"})")
                       .Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value());
  r = MustParse(R"({"Variable": "$flag.on", "BooleanEquals": true, "Next": "S"})").Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value());
  r = MustParse(R"({"Variable": "$n", "NumericEqualsPath": "$n", "Next": "S"})").Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value());
  r = MustParse(R"({"Variable": "$undefinedVar", "IsNull": true, "Next": "S"})").Evaluate(scope.Resolver());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().cause, ChoiceInvalidPathCause("$undefinedVar"));
}

TEST(ChoiceRuleTest, CopiesShareTheParsedRule) {
  const ChoiceRule a = MustParse(R"({"Variable": "$.x", "IsPresent": true, "Next": "S"})");
  ChoiceRule b = a;
  ChoiceRule c = std::move(b);
  EXPECT_EQ(c.next(), "S");
  FakeScope scope(json::parse(R"({"x": 1})"));
  Result<bool> r = c.Evaluate(scope.Resolver());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value());
}

}  // namespace
}  // namespace stepflow::sm
