// Behaviour of the 18 States.* intrinsic functions. Expected values come from executions recorded
// against AWS Step Functions (the conformance corpus); paths are resolved by a fake resolver so that
// these tests do not depend on the JSONPath module.

#include "statemachine/json_path.h"
#include "statemachine/intrinsics.h"

#include <map>
#include <optional>
#include <set>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace stepflow::sm {
namespace {

namespace json = boost::json;

class FakeRuntime : public RuntimeValues {
 public:
  std::string NewUuid() override {
    ++uuid_calls;
    return "123e4567-e89b-42d3-a456-426614174000";
  }
  double NextRandomUnit() override {
    ++random_calls;
    return next_unit;
  }

  int uuid_calls = 0;
  int random_calls = 0;
  double next_unit = 0.5;
};

// Resolves exactly the paths in `values` (plus "$" to the whole input when given).
PathResolver FakeResolver(std::map<std::string, json::value> values) {
  return [values = std::move(values)](const JsonPath& path) -> std::optional<json::value> {
    auto it = values.find(path.text());
    if (it == values.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

class IntrinsicsTest : public ::testing::Test {
 protected:
  // Parses and evaluates `text`; fails the test on a parse error.
  Result<json::value> Eval(std::string_view text, std::map<std::string, json::value> paths = {}) {
    absl::StatusOr<IntrinsicCall> call = IntrinsicCall::Parse(text);
    if (!call.ok()) {
      ADD_FAILURE() << "parse of " << text << " failed: " << call.status();
      return Failure{"parse", std::string(call.status().message())};
    }
    return call->Evaluate(FakeResolver(std::move(paths)), runtime_);
  }

  // Evaluates and returns the value; fails the test on a Failure.
  json::value Value(std::string_view text, std::map<std::string, json::value> paths = {}) {
    Result<json::value> result = Eval(text, std::move(paths));
    if (!result.ok()) {
      ADD_FAILURE() << text << " failed: " << result.failure().error << ": "
                    << result.failure().cause;
      return nullptr;
    }
    return result.value();
  }

  // Evaluates one-argument call `fn($.x)` with $.x bound to `arg` (a JSON text).
  json::value Apply1(std::string_view fn, std::string_view arg) {
    return Value(std::string(fn) + "($.x)", {{"$.x", json::parse(arg)}});
  }
  json::value Apply2(std::string_view fn, std::string_view fst, std::string_view snd) {
    return Value(std::string(fn) + "($.a, $.b)",
                 {{"$.a", json::parse(fst)}, {"$.b", json::parse(snd)}});
  }

  // Expects `text` to fail at run time with States.IntrinsicFailure and exactly `cause`.
  void ExpectFailure(std::string_view text, std::string_view cause,
                     std::map<std::string, json::value> paths = {}) {
    Result<json::value> result = Eval(text, std::move(paths));
    ASSERT_FALSE(result.ok()) << text << " gave " << json::serialize(result.value());
    EXPECT_EQ(result.failure().error, "States.IntrinsicFailure") << text;
    EXPECT_EQ(result.failure().cause, cause) << text;
  }

  static void ExpectParseError(std::string_view text) {
    absl::StatusOr<IntrinsicCall> call = IntrinsicCall::Parse(text);
    EXPECT_FALSE(call.ok()) << text << " parsed";
    if (!call.ok()) {
      EXPECT_EQ(call.status().code(), absl::StatusCode::kInvalidArgument) << text;
    }
  }

  FakeRuntime runtime_;
};

json::value J(std::string_view text) { return json::parse(text); }

// --- Recognition and parsing ---------------------------------------------------------------------

TEST(LooksLikeIntrinsicTest, RecognisesCallsOnly) {
  EXPECT_TRUE(LooksLikeIntrinsic("States.Format('x')"));
  EXPECT_TRUE(LooksLikeIntrinsic("  States.UUID ()"));
  EXPECT_TRUE(LooksLikeIntrinsic("States.Unknown($.x)"));  // Parse reports the unknown name.
  EXPECT_FALSE(LooksLikeIntrinsic("$.States.Format"));
  EXPECT_FALSE(LooksLikeIntrinsic("$"));
  EXPECT_FALSE(LooksLikeIntrinsic("States.Format"));
  EXPECT_FALSE(LooksLikeIntrinsic("States.(1)"));
  EXPECT_FALSE(LooksLikeIntrinsic("states.Format('x')"));
}

TEST_F(IntrinsicsTest, ParseKeepsTextAndCopiesShareIt) {
  absl::StatusOr<IntrinsicCall> call = IntrinsicCall::Parse("States.Array(1, 2)");
  ASSERT_TRUE(call.ok()) << call.status();
  IntrinsicCall copy = *call;
  EXPECT_EQ(copy.text(), "States.Array(1, 2)");
  EXPECT_EQ(copy.Evaluate(FakeResolver({}), runtime_).value(), J("[1,2]"));
}

TEST_F(IntrinsicsTest, ParseRejectsMalformedCalls) {
  ExpectParseError("States.Nope(1)");
  ExpectParseError("States.format('x')");  // Names are case-sensitive.
  ExpectParseError("States.Array(1, 2");
  ExpectParseError("States.Array(1, 2))");
  ExpectParseError("States.Array(1,)");
  ExpectParseError("States.Array(,1)");
  ExpectParseError("States.Array('unterminated)");
  ExpectParseError("States.Array('bad \\n escape')");
  ExpectParseError("States.Array(1 2)");
  ExpectParseError("States.Array(truth)");
  ExpectParseError("States.Array(--1)");
  ExpectParseError("States.Array(x.y)");
  ExpectParseError("Array(1)");
  ExpectParseError("");
}

TEST_F(IntrinsicsTest, ParseChecksArgumentCounts) {
  ExpectParseError("States.ArrayRange(1, 5)");
  ExpectParseError("States.ArrayRange(1, 5, 1, 99)");
  ExpectParseError("States.Hash()");
  ExpectParseError("States.Hash('hello')");
  ExpectParseError("States.Hash('hello', 'SHA-256', 'extra')");
  ExpectParseError("States.MathRandom(1)");
  ExpectParseError("States.MathRandom(1, 10, 5, 99)");
  ExpectParseError("States.UUID(1)");
  ExpectParseError("States.Format()");
  ExpectParseError("States.ArrayGetItem($.arr)");
  ExpectParseError("States.JsonMerge($.a, $.b)");
  EXPECT_TRUE(IntrinsicCall::Parse("States.Array()").ok());
  EXPECT_TRUE(IntrinsicCall::Parse("States.UUID()").ok());
}

TEST_F(IntrinsicsTest, NestingLimitIsTen) {
  std::string ten = "1";
  for (int i = 0; i < 10; ++i) {
    ten = "States.Array(" + ten + ")";
  }
  EXPECT_TRUE(IntrinsicCall::Parse(ten).ok());
  ExpectParseError("States.Array(" + ten + ")");
}

TEST_F(IntrinsicsTest, LiteralArguments) {
  EXPECT_EQ(Value("States.Array('a', 1, -2, 1.5, -0.25, 1e3, true, false, null)"),
            J(R"(["a",1,-2,1.5,-0.25,1000.0,true,false,null])"));
  EXPECT_EQ(Value("States.Array('it\\'s', '\\{\\}', 'back\\\\slash', '')"),
            J(R"(["it's","{}","back\\slash",""])"));
  EXPECT_EQ(Value("  States.Array( 1 ,2 )  "), J("[1,2]"));
}

TEST_F(IntrinsicsTest, PathArgumentsGoThroughTheResolver) {
  EXPECT_EQ(Value("States.Array($, $.a, $$.Execution.Name, $var, $var.f[0], $.b['x,y'])",
                  {{"$", J("{}")},
                   {"$.a", J("1")},
                   {"$$.Execution.Name", J("\"exec\"")},
                   {"$var", J("true")},
                   {"$var.f[0]", J("null")},
                   {"$.b['x,y']", J("2")}}),
            J(R"([{},1,"exec",true,null,2])"));
}

TEST_F(IntrinsicsTest, PathArgumentsAreSyntaxChecked) {
  ExpectParseError("States.ArrayLength($.a[)");
  ExpectParseError("States.ArrayLength($.a[0)");
  EXPECT_EQ(Value("States.ArrayLength($.a[?(@.x > 1)])", {{"$.a[?(@.x > 1)]", J("[{}, {}]")}}),
            J("2"));
}

TEST_F(IntrinsicsTest, MissingPathFails) {
  ExpectFailure("States.Hash($.missing, 'SHA-256')",
                "The JsonPath argument for the field '$.missing' could not be found in the input '{}'",
                {{"$", J("{}")}});
}

TEST_F(IntrinsicsTest, NestedCalls) {
  // The corpus' nested-call cases: the last piece of a '-'-separated name.
  const std::map<std::string, json::value> paths = {{"$$.StateMachine.Name", J("\"a-b-c\"")}};
  EXPECT_EQ(Value("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)", paths),
            J("\"a\""));
  EXPECT_EQ(Value("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
                  "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), "
                  "-1))",
                  paths),
            J("\"c\""));
}

TEST_F(IntrinsicsTest, FailureInNestedCallPropagates) {
  ExpectFailure("States.Array(1, States.ArrayLength('x'))", "Invalid arguments in States.ArrayLength");
}

// --- States.Format -------------------------------------------------------------------------------

TEST_F(IntrinsicsTest, FormatRendersValuesLikeAws) {
  const std::string tmpl = "States.Format('Formatting arguments fst={} and snd={}.', $.a, $.b)";
  auto format = [&](std::string_view v) {
    return Value(tmpl, {{"$.a", J(v)}, {"$.b", J(v)}}).as_string();
  };
  EXPECT_EQ(format(R"("")"), "Formatting arguments fst= and snd=.");
  EXPECT_EQ(format(R"(" ")"), "Formatting arguments fst=  and snd= .");
  EXPECT_EQ(format(R"("HelloWorld")"), "Formatting arguments fst=HelloWorld and snd=HelloWorld.");
  EXPECT_EQ(format("null"), "Formatting arguments fst=null and snd=null.");
  EXPECT_EQ(format("1"), "Formatting arguments fst=1 and snd=1.");
  EXPECT_EQ(format("1.1"), "Formatting arguments fst=1.1 and snd=1.1.");
  EXPECT_EQ(format(R"("{\"Arg1\": 1, \"Arg2\": []}")"),
            R"(Formatting arguments fst={"Arg1": 1, "Arg2": []} and snd={"Arg1": 1, "Arg2": []}.)");
  EXPECT_EQ(format(R"({"Arg1": 1, "Arg2": []})"),
            "Formatting arguments fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}.");
}

TEST_F(IntrinsicsTest, FormatRendersNestedContainersJavaStyle) {
  EXPECT_EQ(Value("States.Format('{}', $.a)",
                  {{"$.a", J(R"({"Id":"arn:x","Name":"n","L":[1,"s",true,null,{"k":2.5}]})")}}),
            J(R"("{Id=arn:x, Name=n, L=[1, s, true, null, {k=2.5}]}")"));
}

TEST_F(IntrinsicsTest, FormatTemplateFromPathAndEscapes) {
  EXPECT_EQ(Value("States.Format($.t, $.n)", {{"$.t", J("\"It's {}!\"")}, {"$.n", J("\"Pikachu\"")}}),
            J("\"It's Pikachu!\""));
  EXPECT_EQ(Value("States.Format('Name: \\'{}\\', literal \\{\\} kept', 'Ada')"),
            J("\"Name: 'Ada', literal {} kept\""));
  EXPECT_EQ(Value("States.Format('no placeholders')"), J("\"no placeholders\""));
  EXPECT_EQ(Value("States.Format('{}|{}|{}', false, -1, 3.5)"), J("\"false|-1|3.5\""));
}

TEST_F(IntrinsicsTest, FormatRejectsMismatchedPlaceholders) {
  ExpectFailure("States.Format('{} {}', 'x')", "Invalid arguments in States.Format");
  ExpectFailure("States.Format('{}', 'x', 'y')", "Invalid arguments in States.Format");
  ExpectFailure("States.Format('Hello {', 'x')", "Invalid arguments in States.Format");
  ExpectFailure("States.Format('}')", "Invalid arguments in States.Format");
  ExpectFailure("States.Format('Hello {{}}', 'x')", "Invalid arguments in States.Format");
  ExpectFailure("States.Format($.t, 'x')", "Invalid arguments in States.Format", {{"$.t", J("123")}});
}

// --- JSON manipulation ---------------------------------------------------------------------------

TEST_F(IntrinsicsTest, StringToJsonParses) {
  EXPECT_EQ(Apply1("States.StringToJson", R"("")"), J("null"));
  EXPECT_EQ(Apply1("States.StringToJson", R"(" ")"), J("null"));
  EXPECT_EQ(Apply1("States.StringToJson", R"("null")"), J("null"));
  EXPECT_EQ(Apply1("States.StringToJson", R"("-0")"), J("0"));
  EXPECT_EQ(Apply1("States.StringToJson", R"("1")"), J("1"));
  EXPECT_EQ(Apply1("States.StringToJson", R"("1.1")"), J("1.1"));
  EXPECT_EQ(Apply1("States.StringToJson", R"("true")"), J("true"));
  EXPECT_EQ(Apply1("States.StringToJson", R"("\"HelloWorld\"")"), J("\"HelloWorld\""));
  EXPECT_EQ(Apply1("States.StringToJson", R"("[1, 2, \"HelloWorld\"]")"), J(R"([1,2,"HelloWorld"])"));
  EXPECT_EQ(Apply1("States.StringToJson", R"("{\"Arg1\": 1, \"Arg2\": []}")"),
            J(R"({"Arg1":1,"Arg2":[]})"));
}

TEST_F(IntrinsicsTest, StringToJsonRejectsNonStringsAndBadJson) {
  ExpectFailure("States.StringToJson($.x)", "Invalid arguments in States.StringToJson",
                {{"$.x", J("{}")}});
  ExpectFailure("States.StringToJson('{bad')", "Invalid arguments in States.StringToJson");
  ExpectFailure("States.StringToJson('1 2')", "Invalid arguments in States.StringToJson");
}

TEST_F(IntrinsicsTest, JsonToStringIsCompactWithJavaNumbers) {
  EXPECT_EQ(Apply1("States.JsonToString", R"({"a": [1, 2.5, "x"], "b": null, "c": {"d": true}})"),
            J(R"("{\"a\":[1,2.5,\"x\"],\"b\":null,\"c\":{\"d\":true}}")"));
  EXPECT_EQ(Apply1("States.JsonToString", R"([null, "", " ", 0, 1, true, false, [0, 1, false]])"),
            J(R"("[null,\"\",\" \",0,1,true,false,[0,1,false]]")"));
  EXPECT_EQ(Apply1("States.JsonToString", R"("q\"uote\n")"), J(R"("\"q\\\"uote\\n\"")"));
  EXPECT_EQ(Apply1("States.JsonToString", "1.0"), J("\"1.0\""));
  EXPECT_EQ(Apply1("States.JsonToString", "1e20"), J("\"1.0E20\""));
  EXPECT_EQ(Apply1("States.JsonToString", "0.0001"), J("\"1.0E-4\""));
  EXPECT_EQ(Apply1("States.JsonToString", "0.001"), J("\"0.001\""));
  EXPECT_EQ(Apply1("States.JsonToString", "1234567.5"), J("\"1234567.5\""));
  EXPECT_EQ(Apply1("States.JsonToString", "12345678.5"), J("\"1.23456785E7\""));
  EXPECT_EQ(Apply1("States.JsonToString", "-2.5"), J("\"-2.5\""));
  EXPECT_EQ(Apply1("States.JsonToString", "18446744073709551615"), J("\"18446744073709551615\""));
}

TEST_F(IntrinsicsTest, JsonMergeShallowAndDeep) {
  const std::map<std::string, json::value> paths = {
      {"$.a", J(R"({"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3})")},
      {"$.b", J(R"({"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4})")}};
  EXPECT_EQ(Value("States.JsonMerge($.a, $.b, false)", paths),
            J(R"({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4})"));
  EXPECT_EQ(Value("States.JsonMerge($.a, $.b, true)", paths),
            J(R"({"a": {"a1": 1, "a2": 2, "a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4})"));
  ExpectFailure("States.JsonMerge($.a, 1, false)", "Invalid arguments in States.JsonMerge", paths);
  ExpectFailure("States.JsonMerge($.a, $.b, 'false')", "Invalid arguments in States.JsonMerge", paths);
}

// --- Arrays --------------------------------------------------------------------------------------

TEST_F(IntrinsicsTest, ArrayCollectsArguments) {
  EXPECT_EQ(Value("States.Array()"), J("[]"));
  EXPECT_EQ(Value("States.Array($.a, $.b)", {{"$.a", J(R"({"Arg1": 1})")}, {"$.b", J("null")}}),
            J(R"([{"Arg1": 1}, null])"));
}

TEST_F(IntrinsicsTest, ArrayPartitionChunks) {
  EXPECT_EQ(Apply2("States.ArrayPartition", "[]", "1"), J("[]"));
  EXPECT_EQ(Apply2("States.ArrayPartition", "[0]", "5"), J("[[0]]"));
  EXPECT_EQ(Apply2("States.ArrayPartition", "[0, 1]", "1"), J("[[0], [1]]"));
  EXPECT_EQ(Apply2("States.ArrayPartition", "[0, 1, 2]", "2"), J("[[0, 1], [2]]"));
  EXPECT_EQ(Apply2("States.ArrayPartition", "[0, 1, 2, 3]", "2"), J("[[0, 1], [2, 3]]"));
  EXPECT_EQ(Apply2("States.ArrayPartition", "[0, 1, 2, 3]", "3"), J("[[0, 1, 2], [3]]"));
  EXPECT_EQ(Apply2("States.ArrayPartition", "[0, 1, 2, 3]", "4"), J("[[0, 1, 2, 3]]"));
  EXPECT_EQ(Apply2("States.ArrayPartition", "[0, 1, 2, 3]", "5"), J("[[0, 1, 2, 3]]"));
}

TEST_F(IntrinsicsTest, ArrayPartitionRejectsBadArguments) {
  ExpectFailure("States.ArrayPartition($.a, 0)", "Invalid arguments in States.ArrayPartition",
                {{"$.a", J("[1]")}});
  ExpectFailure("States.ArrayPartition($.a, 0.49)", "Invalid arguments in States.ArrayPartition",
                {{"$.a", J("[1]")}});
  ExpectFailure("States.ArrayPartition('x', 1)", "Invalid arguments in States.ArrayPartition");
}

TEST_F(IntrinsicsTest, ArrayContainsUsesDeepEquality) {
  EXPECT_EQ(Apply2("States.ArrayContains", "[]", "null"), J("false"));
  EXPECT_EQ(Apply2("States.ArrayContains", "[]", "[]"), J("false"));
  EXPECT_EQ(Apply2("States.ArrayContains", "[]", "1"), J("false"));
  EXPECT_EQ(Apply2("States.ArrayContains", "[[1, 2, 3], 2]", "null"), J("false"));
  EXPECT_EQ(Apply2("States.ArrayContains", "[[1, 2, 3], 2]", "[1, 2, 3]"), J("true"));
  EXPECT_EQ(Apply2("States.ArrayContains", R"([{"1": 2, "2": []}])", "[]"), J("false"));
  EXPECT_EQ(Apply2("States.ArrayContains", R"([{"1": 2, "2": []}])", R"({"2": [], "1": 2})"),
            J("true"));
  EXPECT_EQ(Apply2("States.ArrayContains", "[true, false]", "true"), J("true"));
  EXPECT_EQ(Apply2("States.ArrayContains", "[true, false]", "false"), J("true"));
  ExpectFailure("States.ArrayContains('x', 1)", "Invalid arguments in States.ArrayContains");
}

TEST_F(IntrinsicsTest, ArrayRangeIsInclusive) {
  EXPECT_EQ(Value("States.ArrayRange(0, 9, 3)"), J("[0, 3, 6, 9]"));
  EXPECT_EQ(Value("States.ArrayRange(0, 10, 3)"), J("[0, 3, 6, 9]"));
  EXPECT_EQ(Value("States.ArrayRange(1, 9, 9)"), J("[1]"));
  EXPECT_EQ(Value("States.ArrayRange(1, 9, 2)"), J("[1, 3, 5, 7, 9]"));
  EXPECT_EQ(Value("States.ArrayRange(0, 3, 1)"), J("[0, 1, 2, 3]"));
  EXPECT_EQ(Value("States.ArrayRange(-2, 2, 2)"), J("[-2, 0, 2]"));
  EXPECT_EQ(Value("States.ArrayRange(5, 1, -2)"), J("[5, 3, 1]"));
  EXPECT_EQ(Value("States.ArrayRange(3, 3, -1)"), J("[3]"));
  EXPECT_EQ(Value("States.ArrayRange(5, 1, 1)"), J("[]"));
  EXPECT_EQ(Value("States.ArrayRange(1, 5, -1)"), J("[]"));
}

TEST_F(IntrinsicsTest, ArrayRangeTruncatesFractions) {
  EXPECT_EQ(Value("States.ArrayRange(1.4, 5.6, 2.2)"), J("[1, 3, 5]"));
  EXPECT_EQ(Value("States.ArrayRange(1.6, 1.4, 1)"), J("[1]"));
  EXPECT_EQ(Value("States.ArrayRange(5.4, -0.6, -2.4)"), J("[5, 3, 1]"));
}

TEST_F(IntrinsicsTest, ArrayRangeLimits) {
  EXPECT_EQ(Value("States.ArrayRange(1, 1000, 1)").as_array().size(), 1000u);
  EXPECT_EQ(Value("States.ArrayRange(1000, 1, -1)").as_array().size(), 1000u);
  ExpectFailure("States.ArrayRange(1, 1001, 1)", "Invalid arguments in States.ArrayRange");
  ExpectFailure("States.ArrayRange(1001, 1, -1)", "Invalid arguments in States.ArrayRange");
  ExpectFailure("States.ArrayRange(1, 10, 0)", "Invalid arguments in States.ArrayRange");
  ExpectFailure("States.ArrayRange(1, 10, 0.49)", "Invalid arguments in States.ArrayRange");
  ExpectFailure("States.ArrayRange('a', 5, 1)", "Invalid arguments in States.ArrayRange");
}

TEST_F(IntrinsicsTest, ArrayGetItem) {
  EXPECT_EQ(Apply2("States.ArrayGetItem", "[1, 2, 3, 4, 5, 6, 7, 8, 9]", "5"), J("6"));
  EXPECT_EQ(Apply2("States.ArrayGetItem", R"([{"a": 1}, {"b": 2}])", "1"), J(R"({"b": 2})"));
  EXPECT_EQ(Apply2("States.ArrayGetItem", "[10, 20, 30]", "1.2"), J("20"));
  EXPECT_EQ(Apply2("States.ArrayGetItem", "[]", "999"), J("null"));
  EXPECT_EQ(Value("States.ArrayGetItem(States.Array('x', 'y', 'z'), 1)"), J("\"y\""));
  const std::map<std::string, json::value> arr = {{"$.arr", J("[10, 20, 30]")}};
  ExpectFailure("States.ArrayGetItem($.arr, 3)", "Invalid arguments in States.ArrayGetItem", arr);
  ExpectFailure("States.ArrayGetItem($.arr, -1)", "Invalid arguments in States.ArrayGetItem", arr);
  ExpectFailure("States.ArrayGetItem($.arr, '1')", "Invalid arguments in States.ArrayGetItem", arr);
  ExpectFailure("States.ArrayGetItem('not-array', 0)", "Invalid arguments in States.ArrayGetItem");
}

TEST_F(IntrinsicsTest, ArrayLength) {
  EXPECT_EQ(Apply1("States.ArrayLength", "[1, 2, 3, 4, 5, 6, 7, 8, 9]"), J("9"));
  EXPECT_EQ(Apply1("States.ArrayLength", "[]"), J("0"));
  ExpectFailure("States.ArrayLength($.x)", "Invalid arguments in States.ArrayLength",
                {{"$.x", J("{}")}});
}

TEST_F(IntrinsicsTest, ArrayUniqueKeepsFirstOccurrences) {
  EXPECT_EQ(Apply1("States.ArrayUnique",
                   R"([null, null, true, true, false, false, 1, 1, 1.1, 0, 0, "HelloWorld",
                       "HelloWorld", [], [], [null], [null], {"a": 1, "b": 2}, {"a": 1, "b": 2},
                       {"a": 1, "b": 1}])"),
            J(R"([null, true, false, 1, 1.1, 0, "HelloWorld", [], [null], {"a": 1, "b": 2},
                  {"a": 1, "b": 1}])"));
  ExpectFailure("States.ArrayUnique('x')", "Invalid arguments in States.ArrayUnique");
}

// --- Encoding and hashing ------------------------------------------------------------------------

TEST_F(IntrinsicsTest, Base64RoundTrip) {
  EXPECT_EQ(Apply1("States.Base64Encode", R"("")"), J(R"("")"));
  EXPECT_EQ(Apply1("States.Base64Encode", R"("Data to encode")"), J(R"("RGF0YSB0byBlbmNvZGU=")"));
  EXPECT_EQ(Apply1("States.Base64Encode", R"("ab")"), J(R"("YWI=")"));
  EXPECT_EQ(Apply1("States.Base64Encode", R"("✓")"), J(R"("4pyT")"));
  EXPECT_EQ(Apply1("States.Base64Decode", R"("")"), J(R"("")"));
  EXPECT_EQ(Apply1("States.Base64Decode", R"("RGF0YSB0byBlbmNvZGU=")"), J(R"("Data to encode")"));
  EXPECT_EQ(Apply1("States.Base64Decode", R"("YWI")"), J(R"("ab")"));
  EXPECT_EQ(Apply1("States.Base64Decode", R"("4pyT")"), J(R"("✓")"));
}

TEST_F(IntrinsicsTest, Base64Limits) {
  const json::value ok(json::string(std::string(10000, 'a')));
  const json::value too_long(json::string(std::string(10001, 'a')));
  EXPECT_TRUE(Eval("States.Base64Encode($.x)", {{"$.x", ok}}).ok());
  ExpectFailure("States.Base64Encode($.x)", "Invalid arguments in States.Base64Encode",
                {{"$.x", too_long}});
  ExpectFailure("States.Base64Decode($.x)", "Invalid arguments in States.Base64Decode",
                {{"$.x", json::value(json::string(std::string(10004, 'A')))}});
  ExpectFailure("States.Base64Encode(1)", "Invalid arguments in States.Base64Encode");
  ExpectFailure("States.Base64Decode('not base64!')", "Invalid arguments in States.Base64Decode");
  ExpectFailure("States.Base64Decode('QQ=Q')", "Invalid arguments in States.Base64Decode");
  ExpectFailure("States.Base64Decode('/w==')", "Invalid arguments in States.Base64Decode");  // 0xFF
}

TEST_F(IntrinsicsTest, HashAlgorithms) {
  const std::map<std::string, json::value> data = {{"$.d", J(R"("input data")")}};
  EXPECT_EQ(Value("States.Hash($.d, 'MD5')", data), J(R"("812f45842bc6d66ee14572ce20db8e86")"));
  EXPECT_EQ(Value("States.Hash($.d, 'SHA-1')", data),
            J(R"("aaff4a450a104cd177d28d18d74485e8cae074b7")"));
  EXPECT_EQ(Value("States.Hash($.d, 'SHA-256')", data),
            J(R"("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3")"));
  EXPECT_EQ(Value("States.Hash($.d, 'SHA-384')", data),
            J(R"("d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562")"));
  EXPECT_EQ(Value("States.Hash($.d, 'SHA-512')", data),
            J(R"("6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4")"));
}

TEST_F(IntrinsicsTest, HashEdgeInputs) {
  EXPECT_EQ(Value("States.Hash('', 'SHA-256')"),
            J(R"("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")"));
  EXPECT_EQ(Value("States.Hash('', 'MD5')"), J(R"("d41d8cd98f00b204e9800998ecf8427e")"));
  EXPECT_EQ(Value("States.Hash($.s, 'SHA-256')", {{"$.s", J(R"("こんにちは")")}}),
            J(R"("125aeadf27b0459b8760c13a3d80912dfa8a81a68261906f60d87f4a0268646c")"));
  EXPECT_EQ(Value("States.Hash($.s, 'MD5')", {{"$.s", J(R"("abc\u0000def")")}}),
            J(R"("a5e4d5963ae44c1f4bfb37b1a3d55a3c")"));
  // Multi-block inputs (padding crosses a block boundary).
  const json::value long_input(json::string(std::string(200, 'a')));
  EXPECT_EQ(Value("States.Hash($.s, 'SHA-1')", {{"$.s", long_input}}).as_string().size(), 40u);
  EXPECT_EQ(Value("States.Hash($.s, 'SHA-512')", {{"$.s", J(R"("abc")")}}),
            J(R"("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")"));
}

TEST_F(IntrinsicsTest, HashRejectsBadArguments) {
  ExpectFailure("States.Hash('data', 'sha-256')", "Invalid arguments in States.Hash");
  ExpectFailure("States.Hash('data', 'SHA256')", "Invalid arguments in States.Hash");
  ExpectFailure("States.Hash('data', '')", "Invalid arguments in States.Hash");
  ExpectFailure("States.Hash('data', 123)", "Invalid arguments in States.Hash");
  ExpectFailure("States.Hash($.s, 'MD5')", "Invalid arguments in States.Hash",
                {{"$.s", json::value(json::string(std::string(10001, 'a')))}});
  EXPECT_TRUE(Eval("States.Hash($.s, 'MD5')",
                   {{"$.s", json::value(json::string(std::string(10000, 'a')))}})
                  .ok());
}

// --- Math ----------------------------------------------------------------------------------------

TEST_F(IntrinsicsTest, MathAddRoundsOperandsLikeJava) {
  struct Case {
    const char* a;
    const char* b;
    int64_t sum;
  };
  for (const Case& c : {Case{"-9", "3", -6}, Case{"1.49", "1.5", 3}, Case{"1.5", "1.51", 4},
                        Case{"-1.49", "-1.5", -2}, Case{"-1.5", "-1.51", -3}, Case{"1.49", "0", 1},
                        Case{"1.49", "-1.49", 0}, Case{"1.5", "0", 2}, Case{"1.51", "0", 2},
                        Case{"-1.49", "0", -1}, Case{"-1.5", "0", -1}, Case{"-1.51", "0", -2},
                        Case{"0.5", "0", 1}, Case{"2.5", "0", 3}, Case{"3.5", "0", 4},
                        Case{"-0.5", "0.5", 1}, Case{"-0.5", "0", 0}, Case{"-2.5", "0", -2},
                        Case{"-3.5", "0", -3}}) {
    const json::value sum = Apply2("States.MathAdd", c.a, c.b);
    ASSERT_TRUE(sum.is_int64()) << c.a << " + " << c.b;
    EXPECT_EQ(sum.as_int64(), c.sum) << c.a << " + " << c.b;
  }
}

TEST_F(IntrinsicsTest, MathAddRejectsNonNumbers) {
  ExpectFailure("States.MathAdd(1, 'NOT A NUMBER')", "Invalid arguments in States.MathAdd");
  ExpectFailure("States.MathAdd(null, 1)", "Invalid arguments in States.MathAdd");
}

TEST_F(IntrinsicsTest, MathRandomUnseededUsesRuntime) {
  runtime_.next_unit = 0.0;
  EXPECT_EQ(Value("States.MathRandom(1, 999)"), J("1"));
  runtime_.next_unit = 0.999999999;
  EXPECT_EQ(Value("States.MathRandom(1, 999)"), J("998"));
  runtime_.next_unit = 0.5;
  EXPECT_EQ(Value("States.MathRandom(-99999, -9999)"), J("-54999"));
  EXPECT_EQ(Value("States.MathRandom(1.6, 5.4)").as_int64(), 3);  // Truncated to [1, 5).
  EXPECT_EQ(runtime_.random_calls, 4);
}

TEST_F(IntrinsicsTest, MathRandomSeededIsDeterministicAndInRange) {
  for (int64_t seed : {-10, 0, 1, 2, 3, 42, 123456789}) {
    const std::string call = "States.MathRandom(0, 999, " + std::to_string(seed) + ")";
    const json::value first = Value(call);
    ASSERT_TRUE(first.is_int64());
    EXPECT_GE(first.as_int64(), 0);
    EXPECT_LT(first.as_int64(), 999);
    EXPECT_EQ(Value(call), first) << "seed " << seed;
  }
  std::set<int64_t> distinct;
  for (int seed = 0; seed < 20; ++seed) {
    distinct.insert(Value("States.MathRandom(0, 1000000, " + std::to_string(seed) + ")").as_int64());
  }
  EXPECT_GT(distinct.size(), 15u);
  const json::value near_max = Value("States.MathRandom(2147483640, 2147483647, 1)");
  EXPECT_GE(near_max.as_int64(), 2147483640);
  EXPECT_LT(near_max.as_int64(), 2147483647);
  EXPECT_EQ(runtime_.random_calls, 0);
}

TEST_F(IntrinsicsTest, MathRandomRejectsBadArguments) {
  ExpectFailure("States.MathRandom(1, 1)", "Invalid arguments in States.MathRandom");
  ExpectFailure("States.MathRandom(10, 5)", "Invalid arguments in States.MathRandom");
  ExpectFailure("States.MathRandom(1.4, 1.6)", "Invalid arguments in States.MathRandom");
  ExpectFailure("States.MathRandom('a', 10)", "Invalid arguments in States.MathRandom");
  ExpectFailure("States.MathRandom(1, 10, 'seed')", "Invalid arguments in States.MathRandom");
  ExpectFailure("States.MathRandom(1, 10, null)", "Invalid arguments in States.MathRandom");
}

// --- Strings and UUID ----------------------------------------------------------------------------

TEST_F(IntrinsicsTest, StringSplitOnAnyDelimiterDroppingEmptyPieces) {
  EXPECT_EQ(Apply2("States.StringSplit", R"(" ")", R"(",")"), J(R"([" "])"));
  EXPECT_EQ(Apply2("States.StringSplit", R"(" , ")", R"(",")"), J(R"([" ", " "])"));
  EXPECT_EQ(Apply2("States.StringSplit", R"(", , ,")", R"(",")"), J(R"([" ", " "])"));
  EXPECT_EQ(Apply2("States.StringSplit", R"(",,,,")", R"(",")"), J("[]"));
  EXPECT_EQ(Apply2("States.StringSplit", R"("1,2,3,4,5")", R"(",")"), J(R"(["1","2","3","4","5"])"));
  EXPECT_EQ(Apply2("States.StringSplit", R"("This.is+a,test=string")", R"(".+,=")"),
            J(R"(["This", "is", "a", "test", "string"])"));
  EXPECT_EQ(Apply2("States.StringSplit", R"("split on T and \nnew line")", R"("T\n")"),
            J(R"(["split on ", " and ", "new line"])"));
  EXPECT_EQ(Apply2("States.StringSplit", R"("a✓b✓c")", R"("✓")"), J(R"(["a","b","c"])"));
  EXPECT_EQ(Value("States.StringSplit('Hello\nWorld', '\n')"), J(R"(["Hello", "World"])"));
  ExpectFailure("States.StringSplit(1, ',')", "Invalid arguments in States.StringSplit");
}

TEST_F(IntrinsicsTest, StringSplitKeepsWhitespaceAndQuotes) {
  EXPECT_EQ(Apply2("States.StringSplit",
                   R"("Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n")",
                   R"(",")"),
            J(R"(["Value1", "Value2", "Value3\nValue4", "Value5", "Value6\n", "\ntrue", "1",
                  "'HelloWorld'\nNull", "None", "\n   \n"])"));
}

TEST_F(IntrinsicsTest, UuidComesFromRuntime) {
  EXPECT_EQ(Value("States.UUID()"), J(R"("123e4567-e89b-42d3-a456-426614174000")"));
  EXPECT_EQ(runtime_.uuid_calls, 1);
}

}  // namespace
}  // namespace stepflow::sm
