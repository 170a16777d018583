#include "statemachine/validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::vector<Diagnostic> Validate(std::string_view text, bool express = false) {
  ValidateOptions options;
  options.express = express;
  return ValidateDefinitionText(text, options);
}

std::string Dump(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += FormatDiagnostic(d) + "\n";
  }
  return out;
}

// A diagnostic at `location` with `code`.
auto At(const std::string& location, const std::string& code) {
  return AllOf(Field(&Diagnostic::location, location), Field(&Diagnostic::code, code));
}
auto Schema(const std::string& location) { return At(location, "SCHEMA_VALIDATION_FAILED"); }

// A one-state machine around `state` (a JSON object text) named "S".
std::string OneState(const std::string& state, const std::string& top_extra = "") {
  return R"({"StartAt":"S",)" + top_extra + R"("States":{"S":)" + state + "}}";
}

#define EXPECT_VALID(text)                                      \
  do {                                                          \
    auto diagnostics_ = Validate(text);                         \
    EXPECT_THAT(diagnostics_, IsEmpty()) << Dump(diagnostics_); \
  } while (0)

// --- JSON text ---

TEST(ValidatorJsonTest, NotJsonGivesOneDiagnosticWithLineAndColumn) {
  auto d = Validate("{\n  \"StartAt\": ,\n}");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].code, "INVALID_JSON_DESCRIPTION");
  EXPECT_THAT(d[0].message, HasSubstr("line 2"));
  EXPECT_THAT(d[0].message, HasSubstr("column 14"));
}

TEST(ValidatorJsonTest, EmptyAndGarbageAndTrailingData) {
  for (std::string_view text : {"", "   ", "nope", "{} x", "{\"a\":1", "\"str\"", "[1,2]", "42", "null"}) {
    auto d = Validate(text);
    ASSERT_EQ(d.size(), 1u) << text;
    EXPECT_EQ(d[0].code, "INVALID_JSON_DESCRIPTION") << text;
  }
}

TEST(ValidatorJsonTest, TrailingWhitespaceIsFine) {
  EXPECT_VALID(OneState(R"({"Type":"Succeed"})") + "\n\t  \n");
}

TEST(ValidatorJsonTest, InvalidUtf8IsRejected) {
  auto d = Validate("{\"StartAt\":\"\xff\"}");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].code, "INVALID_JSON_DESCRIPTION");
}

TEST(ValidatorJsonTest, DeeplyNestedInputDoesNotCrash) {
  std::string deep(200000, '[');
  auto d = Validate(deep);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].code, "INVALID_JSON_DESCRIPTION");
  std::string balanced = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(Validate(balanced).size(), 1u);
  std::string objects;
  for (int i = 0; i < 50000; ++i) {
    objects += "{\"a\":";
  }
  EXPECT_EQ(Validate(objects).size(), 1u);
}

TEST(ValidatorJsonTest, DeepPayloadTemplateInsideLimitIsValidated) {
  std::string nested = "{\"x.$\":\"$.a\"}";
  for (int i = 0; i < 150; ++i) {
    nested = "{\"k\":" + nested + "}";
  }
  EXPECT_VALID(OneState(R"({"Type":"Pass","Parameters":)" + nested + R"(,"End":true})"));
}

TEST(ValidatorJsonTest, HugeDefinitionIsHandled) {
  std::string states;
  constexpr int kStates = 5000;
  for (int i = 0; i < kStates; ++i) {
    states += "\"S" + std::to_string(i) + "\":{\"Type\":\"Pass\",";
    states += i + 1 < kStates ? "\"Next\":\"S" + std::to_string(i + 1) + "\"}," : "\"End\":true}";
  }
  EXPECT_VALID(R"({"StartAt":"S0","States":{)" + states + "}}");
}

TEST(ValidatorJsonTest, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  const std::string base = OneState(R"({"Type":"Pass","Parameters":{"a.$":"$.x"},"Next":"T"})");
  for (int i = 0; i < 2000; ++i) {
    std::string text = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      text[rng() % text.size()] = static_cast<char>(rng() % 128);
    }
    Validate(text);  // must not crash; any answer is fine
  }
}

TEST(ValidatorJsonTest, NonObjectValueGivesInvalidJsonDescription) {
  auto d = ValidateDefinition(json::value(json::array{1, 2}));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].code, "INVALID_JSON_DESCRIPTION");
}

TEST(ValidatorJsonTest, FormatDiagnosticUsesSlashForRoot) {
  EXPECT_EQ(FormatDiagnostic({"", "X", "m"}), "/: X: m");
  EXPECT_EQ(FormatDiagnostic({"/States/A", "X", "m"}), "/States/A: X: m");
}

// --- Top level ---

TEST(ValidatorTopLevelTest, MinimalMachineIsValid) {
  EXPECT_VALID(
      OneState(R"({"Type":"Pass","End":true})", R"("Comment":"c","Version":"1.0","TimeoutSeconds":10,)"));
}

TEST(ValidatorTopLevelTest, MissingStartAtAndStates) {
  auto d = Validate("{}");
  EXPECT_THAT(d, Contains(AllOf(Schema(""), Field(&Diagnostic::message, HasSubstr("StartAt")))));
  EXPECT_THAT(d, Contains(AllOf(Schema(""), Field(&Diagnostic::message, HasSubstr("States")))));
}

TEST(ValidatorTopLevelTest, StartAtMustNameAState) {
  auto d = Validate(R"({"StartAt":"Nope","States":{"S":{"Type":"Succeed"}}})");
  EXPECT_THAT(d, Contains(At("/StartAt", "MISSING_TRANSITION_TARGET")));
}

TEST(ValidatorTopLevelTest, UnknownTopLevelFieldAndBadTypes) {
  auto d = Validate(OneState(R"({"Type":"Succeed"})", R"("Bogus":1,"TimeoutSeconds":0,"Version":2,)"));
  EXPECT_THAT(d, Contains(Schema("/Bogus")));
  EXPECT_THAT(d, Contains(Schema("/TimeoutSeconds")));
  EXPECT_THAT(d, Contains(Schema("/Version")));
}

TEST(ValidatorTopLevelTest, StatesMustBeNonEmptyObject) {
  EXPECT_THAT(Validate(R"({"StartAt":"S","States":{}})"), Contains(Schema("/States")));
  EXPECT_THAT(Validate(R"({"StartAt":"S","States":[]})"), Contains(Schema("/States")));
}

TEST(ValidatorTopLevelTest, StateNameLength) {
  std::string long_name(81, 'a');
  auto d =
      Validate(R"({"StartAt":")" + long_name + R"(","States":{")" + long_name + R"(":{"Type":"Succeed"}}})");
  EXPECT_THAT(d, Contains(Schema("/States/" + long_name)));
  std::string ok_name(80, 'a');
  EXPECT_VALID(R"({"StartAt":")" + ok_name + R"(","States":{")" + ok_name + R"(":{"Type":"Succeed"}}})");
  EXPECT_THAT(Validate(R"({"StartAt":"","States":{"":{"Type":"Succeed"}}})"), Contains(Schema("/States/")));
}

TEST(ValidatorTopLevelTest, StateNameIsEscapedInPointer) {
  auto d = Validate(R"({"StartAt":"a/b~c","States":{"a/b~c":{"Type":"Pass"}}})");
  EXPECT_THAT(d, Contains(Schema("/States/a~1b~0c")));
}

TEST(ValidatorTopLevelTest, ReportsEveryProblem) {
  auto d = Validate(R"({"StartAt":"A","States":{
      "A":{"Type":"Pass","Next":"Missing","Bogus":1},
      "B":{"Type":"Wait"},
      "C":{"Type":"Nope"}}})");
  EXPECT_THAT(d, Contains(At("/States/A/Next", "MISSING_TRANSITION_TARGET")));
  EXPECT_THAT(d, Contains(Schema("/States/A/Bogus")));
  EXPECT_THAT(d, Contains(Schema("/States/B")));
  EXPECT_THAT(d, Contains(Schema("/States/C/Type")));
  EXPECT_THAT(d, Contains(At("/States/B", "UNREACHABLE_STATE")));
  EXPECT_THAT(d, Contains(At("/States/C", "UNREACHABLE_STATE")));
}

TEST(ValidatorTopLevelTest, StateMustBeObjectWithType) {
  auto d = Validate(R"({"StartAt":"A","States":{"A":3,"B":{"End":true}}})");
  EXPECT_THAT(d, Contains(Schema("/States/A")));
  EXPECT_THAT(d, Contains(Schema("/States/B")));
}

// --- Transitions and reachability ---

TEST(ValidatorTransitionTest, UnreachableStatesAreErrors) {
  auto d = Validate(R"({"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}})");
  ASSERT_EQ(d.size(), 1u) << Dump(d);
  EXPECT_THAT(d[0], At("/States/B", "UNREACHABLE_STATE"));
  EXPECT_THAT(d[0].message, HasSubstr("'B'"));
}

TEST(ValidatorTransitionTest, ReachableThroughChoiceDefaultAndCatch) {
  EXPECT_VALID(R"({"StartAt":"C","States":{
      "C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"T"}],"Default":"D"},
      "T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true,
           "Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"}]},
      "D":{"Type":"Succeed"},
      "F":{"Type":"Fail","Error":"E","Cause":"C"}}})");
}

TEST(ValidatorTransitionTest, NextOrEnd) {
  auto d = Validate(OneState(R"({"Type":"Pass"})"));
  EXPECT_THAT(d, Contains(Schema("/States/S")));
  d = Validate(
      R"({"StartAt":"S","States":{"S":{"Type":"Pass","Next":"T","End":true},"T":{"Type":"Succeed"}}})");
  EXPECT_THAT(d, Contains(Schema("/States/S")));
  d = Validate(OneState(R"({"Type":"Pass","End":"yes"})"));
  EXPECT_THAT(d, Contains(Schema("/States/S/End")));
  d = Validate(OneState(R"({"Type":"Pass","Next":5})"));
  EXPECT_THAT(d, Contains(Schema("/States/S/Next")));
}

TEST(ValidatorTransitionTest, TerminalStatesRejectNextAndEnd) {
  auto d = Validate(OneState(R"({"Type":"Succeed","End":true})"));
  EXPECT_THAT(d, Contains(Schema("/States/S/End")));
  d = Validate(OneState(R"({"Type":"Fail","Next":"S"})"));
  EXPECT_THAT(d, Contains(Schema("/States/S/Next")));
}

// --- Field legality ---

TEST(ValidatorFieldsTest, UnknownAndMisplacedFields) {
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","End":true,"Resource":"x"})")),
              Contains(Schema("/States/S/Resource")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Succeed","ResultPath":"$"})")),
              Contains(Schema("/States/S/ResultPath")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Fail","InputPath":"$"})")),
              Contains(Schema("/States/S/InputPath")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Task","Resource":"r","End":true,"Result":1})")),
              Contains(Schema("/States/S/Result")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Choice","Choices":[],"Retry":[]})")),
              Contains(Schema("/States/S/Retry")));
  EXPECT_THAT(
      Validate(OneState(R"({"Type":"Wait","Seconds":1,"End":true,"Assign":{"x":1},"Parameters":{}})")),
      Contains(Schema("/States/S/Parameters")));
}

TEST(ValidatorFieldsTest, JsonataOnlyFieldsNeedJsonata) {
  for (std::string field : {"Arguments", "Output"}) {
    auto d = Validate(OneState(R"({"Type":"Task","Resource":"r","End":true,")" + field + R"(":{}})"));
    EXPECT_THAT(d, Contains(Schema("/States/S/" + field))) << field;
  }
  EXPECT_THAT(
      Validate(OneState(
          R"({"Type":"Map","Items":[1],"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Succeed"}}},"End":true})")),
      Contains(Schema("/States/S/Items")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Choice","Choices":[{"Condition":"{% true %}","Next":"S"}]})")),
              Contains(Schema("/States/S/Choices/0")));
}

TEST(ValidatorFieldsTest, JsonataFieldsAcceptedInJsonataStates) {
  EXPECT_VALID(OneState(R"({"Type":"Task","Resource":"r","End":true,"Arguments":{"a":"{% 1 %}"},
      "Output":"{% $states.result %}","TimeoutSeconds":"{% 3 %}","Assign":{"v":"{% 1 %}"}})",
                        R"("QueryLanguage":"JSONata",)"));
  EXPECT_VALID(OneState(R"({"Type":"Pass","QueryLanguage":"JSONata","Output":{"x":1},"End":true})"));
}

TEST(ValidatorFieldsTest, JsonPathOnlyFieldsRejectedInJsonataStates) {
  for (std::string field : {"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath"}) {
    auto d = Validate(OneState(R"({"Type":"Task","Resource":"r","End":true,")" + field + R"(":"$"})",
                               R"("QueryLanguage":"JSONata",)"));
    EXPECT_THAT(d, Contains(Schema("/States/S/" + field))) << field;
  }
  EXPECT_THAT(
      Validate(OneState(R"({"Type":"Wait","SecondsPath":"$.s","End":true,"QueryLanguage":"JSONata"})")),
      Contains(Schema("/States/S/SecondsPath")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Fail","ErrorPath":"$.e","QueryLanguage":"JSONata"})")),
              Contains(Schema("/States/S/ErrorPath")));
}

TEST(ValidatorFieldsTest, QueryLanguage) {
  auto d = Validate(
      OneState(R"({"Type":"Pass","End":true,"QueryLanguage":"JSONPath"})", R"("QueryLanguage":"JSONata",)"));
  EXPECT_THAT(d, Contains(Schema("/States/S/QueryLanguage")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","End":true,"QueryLanguage":"XPath"})")),
              Contains(Schema("/States/S/QueryLanguage")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","End":true})", R"("QueryLanguage":"SQL",)")),
              Contains(Schema("/QueryLanguage")));
  // A JSONata state inside a JSONPath machine may hold JSONPath states.
  EXPECT_VALID(OneState(R"({"Type":"Map","QueryLanguage":"JSONata","ItemProcessor":{"ProcessorConfig":
      {"Mode":"INLINE"},"StartAt":"P","States":{"P":{"QueryLanguage":"JSONPath","Type":"Pass","End":true}}},"End":true})",
                        R"("QueryLanguage":"JSONPath",)"));
}

// --- Paths and payload templates ---

TEST(ValidatorPathsTest, ValidPaths) {
  EXPECT_VALID(
      OneState(R"j({"Type":"Pass","InputPath":"$.a","OutputPath":"$$.Execution","ResultPath":"$.r[0].x",
      "Parameters":{"a.$":"$.x","b.$":"$$.Execution.Id","c.$":"$var.y","d.$":"States.Format('{}', $.n)",
      "nested":{"e.$":"$.e","list":[{"f.$":"$.f"}]},"literal":"$.not.a.path"},"End":true})j"));
  EXPECT_VALID(
      OneState(R"({"Type":"Pass","InputPath":null,"OutputPath":null,"ResultPath":null,"End":true})"));
}

TEST(ValidatorPathsTest, BadPaths) {
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","InputPath":"a.b","End":true})")),
              Contains(Schema("/States/S/InputPath")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","OutputPath":7,"End":true})")),
              Contains(Schema("/States/S/OutputPath")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","ResultPath":"$.a[*]","End":true})")),
              Contains(Schema("/States/S/ResultPath")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","ResultPath":"$$.Execution","End":true})")),
              Contains(Schema("/States/S/ResultPath")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","InputPath":"$.a[","End":true})")),
              Contains(Schema("/States/S/InputPath")));
}

TEST(ValidatorPathsTest, BadTemplateValues) {
  auto d = Validate(OneState(R"j({"Type":"Task","Resource":"r","End":true,
      "Parameters":{"a.$":"no-dollar","b.$":5,"n":{"c.$":"States.Nope()"},"l":[{"d.$":"$.x["}]},
      "ResultSelector":{"e.$":"States.Format("}})j"));
  EXPECT_THAT(d, Contains(Schema("/States/S/Parameters/a.$")));
  EXPECT_THAT(d, Contains(Schema("/States/S/Parameters/b.$")));
  EXPECT_THAT(d, Contains(Schema("/States/S/Parameters/n/c.$")));
  EXPECT_THAT(d, Contains(Schema("/States/S/Parameters/l/0/d.$")));
  EXPECT_THAT(d, Contains(Schema("/States/S/ResultSelector/e.$")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","Parameters":"$","End":true})")),
              Contains(Schema("/States/S/Parameters")));
}

TEST(ValidatorPathsTest, PassResultIsLiteral) {
  EXPECT_VALID(OneState(R"({"Type":"Pass","Result":{"x.$":"not a path"},"End":true})"));
}

TEST(ValidatorPathsTest, Assign) {
  EXPECT_VALID(
      OneState(R"j({"Type":"Pass","Assign":{"x":1,"y.$":"$.a","_z9":{"w.$":"States.UUID()"}},"End":true})j"));
  auto d = Validate(
      OneState(R"({"Type":"Pass","Assign":{"9x":1,"a-b":2,"":3,"ok.$":"bad","states":1},"End":true})"));
  EXPECT_THAT(d, Contains(Schema("/States/S/Assign/9x")));
  EXPECT_THAT(d, Contains(Schema("/States/S/Assign/a-b")));
  EXPECT_THAT(d, Contains(Schema("/States/S/Assign/")));
  EXPECT_THAT(d, Contains(Schema("/States/S/Assign/ok.$")));
  EXPECT_THAT(d, Contains(Schema("/States/S/Assign/states")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Pass","Assign":[1],"End":true})")),
              Contains(Schema("/States/S/Assign")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Succeed","Assign":{"x":1}})")),
              Contains(Schema("/States/S/Assign")));
}

// --- Task ---

TEST(ValidatorTaskTest, Resource) {
  EXPECT_THAT(Validate(OneState(R"({"Type":"Task","End":true})")), Contains(Schema("/States/S")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Task","Resource":1,"End":true})")),
              Contains(Schema("/States/S/Resource")));
}

TEST(ValidatorTaskTest, Timeouts) {
  EXPECT_VALID(
      OneState(R"({"Type":"Task","Resource":"r","TimeoutSeconds":10,"HeartbeatSeconds":5,"End":true})"));
  EXPECT_VALID(OneState(
      R"({"Type":"Task","Resource":"r","TimeoutSecondsPath":"$.t","HeartbeatSecondsPath":"$.h","End":true})"));
  auto d = Validate(OneState(
      R"({"Type":"Task","Resource":"r","TimeoutSeconds":10,"TimeoutSecondsPath":"$.t","End":true})"));
  EXPECT_THAT(d, Contains(Schema("/States/S")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Task","Resource":"r","TimeoutSeconds":0,"End":true})")),
              Contains(Schema("/States/S/TimeoutSeconds")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Task","Resource":"r","TimeoutSeconds":1.5,"End":true})")),
              Contains(Schema("/States/S/TimeoutSeconds")));
  EXPECT_THAT(Validate(OneState(
                  R"({"Type":"Task","Resource":"r","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true})")),
              Contains(Schema("/States/S/HeartbeatSeconds")));
  EXPECT_THAT(
      Validate(OneState(R"({"Type":"Task","Resource":"r","HeartbeatSecondsPath":"$.a[*]","End":true})")),
      Contains(Schema("/States/S/HeartbeatSecondsPath")));
}

TEST(ValidatorTaskTest, Credentials) {
  EXPECT_VALID(OneState(
      R"({"Type":"Task","Resource":"r","Credentials":{"RoleArn":"arn:aws:iam::1:role/r"},"End":true})"));
  EXPECT_VALID(OneState(R"({"Type":"Task","Resource":"r","Credentials":{"RoleArn.$":"$.role"},"End":true})"));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Task","Resource":"r","Credentials":{},"End":true})")),
              Contains(Schema("/States/S/Credentials")));
  EXPECT_THAT(
      Validate(OneState(R"({"Type":"Task","Resource":"r","Credentials":{"RoleArn.$":"nope"},"End":true})")),
      Contains(Schema("/States/S/Credentials/RoleArn.$")));
}

TEST(ValidatorTaskTest, ExpressRejectsSyncAndCallbacks) {
  for (std::string resource :
       {"arn:aws:states:::states:startExecution.sync", "arn:aws:states:::glue:startJobRun.sync:2",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "arn:aws:states:us-east-1:123:activity:a"}) {
    std::string def = OneState(R"({"Type":"Task","Resource":")" + resource + R"(","End":true})");
    EXPECT_THAT(Validate(def), IsEmpty()) << resource;
    EXPECT_THAT(Validate(def, /*express=*/true), Contains(Schema("/States/S/Resource"))) << resource;
  }
  EXPECT_THAT(
      Validate(OneState(R"({"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true})"), true),
      IsEmpty());
}

// --- Retry / Catch ---

TEST(ValidatorErrorsTest, ValidRetryAndCatch) {
  EXPECT_VALID(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,
      "Retry":[{"ErrorEquals":["A","B"],"IntervalSeconds":1,"MaxAttempts":0,"BackoffRate":1,"MaxDelaySeconds":5,
                "JitterStrategy":"FULL","Comment":"c"},{"ErrorEquals":["States.ALL"],"BackoffRate":1.5}],
      "Catch":[{"ErrorEquals":["A"],"Next":"H","ResultPath":"$.err","Comment":"c"},
               {"ErrorEquals":["States.ALL"],"Next":"H","ResultPath":null,"Assign":{"e":1}}]},
      "H":{"Type":"Succeed"}}})");
}

TEST(ValidatorErrorsTest, RetrierProblems) {
  auto d = Validate(OneState(R"({"Type":"Task","Resource":"r","End":true,"Retry":[
      {"ErrorEquals":["States.ALL"]},
      {"ErrorEquals":[]},
      {"ErrorEquals":["States.ALL","X"],"MaxAttempts":-1,"BackoffRate":0.5,"IntervalSeconds":0,
       "MaxDelaySeconds":0,"JitterStrategy":"HALF","Bogus":1},
      {"MaxAttempts":"3"},
      {"ErrorEquals":[1]}]})"));
  const std::string r = "/States/S/Retry/";
  EXPECT_THAT(d, Contains(Schema(r + "0")));  // States.ALL not last
  EXPECT_THAT(d, Contains(Schema(r + "1/ErrorEquals")));
  EXPECT_THAT(d, Contains(Schema(r + "2/ErrorEquals")));
  EXPECT_THAT(d, Contains(Schema(r + "2/MaxAttempts")));
  EXPECT_THAT(d, Contains(Schema(r + "2/BackoffRate")));
  EXPECT_THAT(d, Contains(Schema(r + "2/IntervalSeconds")));
  EXPECT_THAT(d, Contains(Schema(r + "2/MaxDelaySeconds")));
  EXPECT_THAT(d, Contains(Schema(r + "2/JitterStrategy")));
  EXPECT_THAT(d, Contains(Schema(r + "2/Bogus")));
  EXPECT_THAT(d, Contains(Schema(r + "3")));
  EXPECT_THAT(d, Contains(Schema(r + "3/MaxAttempts")));
  EXPECT_THAT(d, Contains(Schema(r + "4/ErrorEquals/0")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Task","Resource":"r","End":true,"Retry":{}})")),
              Contains(Schema("/States/S/Retry")));
}

TEST(ValidatorErrorsTest, CatcherProblems) {
  auto d = Validate(OneState(R"({"Type":"Task","Resource":"r","End":true,"Catch":[
      {"ErrorEquals":["States.ALL"],"Next":"S"},
      {"ErrorEquals":["X"]},
      {"ErrorEquals":["X"],"Next":"Nowhere","ResultPath":"$.a[*]","Output":{}}]})"));
  const std::string c = "/States/S/Catch/";
  EXPECT_THAT(d, Contains(Schema(c + "0")));
  EXPECT_THAT(d, Contains(Schema(c + "1")));
  EXPECT_THAT(d, Contains(At(c + "2/Next", "MISSING_TRANSITION_TARGET")));
  EXPECT_THAT(d, Contains(Schema(c + "2/ResultPath")));
  EXPECT_THAT(d, Contains(Schema(c + "2/Output")));
}

// --- Choice ---

TEST(ValidatorChoiceTest, Valid) {
  EXPECT_VALID(R"({"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
      {"And":[{"Variable":"$.a","NumericGreaterThan":1},{"Not":{"Variable":"$.b","IsNull":true}}],"Next":"X"},
      {"Variable":"$.t","TimestampLessThanPath":"$.u","Next":"X","Assign":{"v.$":"$.a"}}],"Default":"X",
      "Assign":{"w":1}},"X":{"Type":"Succeed"}}})");
}

TEST(ValidatorChoiceTest, Problems) {
  EXPECT_THAT(Validate(OneState(R"({"Type":"Choice","Choices":[]})")), Contains(Schema("/States/S/Choices")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Choice"})")), Contains(Schema("/States/S")));
  auto d = Validate(OneState(R"({"Type":"Choice","Choices":[{"Variable":"$.a","Next":"S"},
      {"Variable":"$.a","StringEquals":"x","Next":"Gone"},{"Variable":"$.a","StringEquals":"x"}],"Default":"Lost"})"));
  EXPECT_THAT(d, Contains(Schema("/States/S/Choices/0")));
  EXPECT_THAT(d, Contains(At("/States/S/Choices/1/Next", "MISSING_TRANSITION_TARGET")));
  EXPECT_THAT(d, Contains(Schema("/States/S/Choices/2")));
  EXPECT_THAT(d, Contains(At("/States/S/Default", "MISSING_TRANSITION_TARGET")));
}

TEST(ValidatorChoiceTest, Jsonata) {
  EXPECT_VALID(R"({"QueryLanguage":"JSONata","StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
      {"Condition":"{% $states.input.x %}","Next":"X","Assign":{"a":"{% 1 %}"},"Output":{}}],"Default":"X",
      "Output":"{% 1 %}"},"X":{"Type":"Succeed"}}})");
  auto d = Validate(R"({"QueryLanguage":"JSONata","StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
      {"Next":"C"},{"Condition":"$.x","Next":"C"},{"Variable":"$.x","BooleanEquals":true,"Next":"C"}]}}})");
  EXPECT_THAT(d, Contains(Schema("/States/C/Choices/0")));
  EXPECT_THAT(d, Contains(Schema("/States/C/Choices/1/Condition")));
  EXPECT_THAT(d, Contains(Schema("/States/C/Choices/2/Variable")));
}

// --- Wait ---

TEST(ValidatorWaitTest, Valid) {
  EXPECT_VALID(OneState(R"({"Type":"Wait","Seconds":0,"End":true})"));
  EXPECT_VALID(OneState(R"({"Type":"Wait","Timestamp":"2016-03-14T01:59:00Z","End":true})"));
  EXPECT_VALID(OneState(R"({"Type":"Wait","Timestamp":"2024-02-29T23:59:59.123+05:30","End":true})"));
  EXPECT_VALID(OneState(R"({"Type":"Wait","SecondsPath":"$.s","End":true})"));
  EXPECT_VALID(OneState(R"({"Type":"Wait","TimestampPath":"$$.Execution.Input.t","End":true})"));
  EXPECT_VALID(
      OneState(R"({"Type":"Wait","Seconds":"{% 1 %}","End":true})", R"("QueryLanguage":"JSONata",)"));
}

TEST(ValidatorWaitTest, Problems) {
  EXPECT_THAT(Validate(OneState(R"({"Type":"Wait","End":true})")), Contains(Schema("/States/S")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true})")),
              Contains(Schema("/States/S")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Wait","Seconds":-1,"End":true})")),
              Contains(Schema("/States/S/Seconds")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Wait","Seconds":"10","End":true})")),
              Contains(Schema("/States/S/Seconds")));
  for (std::string ts : {"2016-03-14", "2016-13-14T01:59:00Z", "2023-02-29T00:00:00Z", "2016-03-14T01:59:00",
                         "yesterday", "2016-03-14T25:00:00Z"}) {
    EXPECT_THAT(Validate(OneState(R"({"Type":"Wait","Timestamp":")" + ts + R"(","End":true})")),
                Contains(Schema("/States/S/Timestamp")))
        << ts;
  }
  EXPECT_THAT(Validate(OneState(R"({"Type":"Wait","SecondsPath":"$..x","End":true})")),
              Contains(Schema("/States/S/SecondsPath")));
}

// --- Fail / Succeed ---

TEST(ValidatorFailTest, ErrorAndCause) {
  EXPECT_VALID(OneState(R"({"Type":"Fail","Error":"E","Cause":"C","Comment":"x"})"));
  EXPECT_VALID(OneState(R"j({"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('x {}', $.c)"})j"));
  auto d =
      Validate(OneState(R"({"Type":"Fail","Error":"E","ErrorPath":"$.e","Cause":"C","CausePath":"$.c"})"));
  EXPECT_EQ(std::count_if(d.begin(), d.end(), [](const Diagnostic& x) { return x.location == "/States/S"; }),
            2);
  EXPECT_THAT(Validate(OneState(R"({"Type":"Fail","Error":1})")), Contains(Schema("/States/S/Error")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Fail","CausePath":"cause"})")),
              Contains(Schema("/States/S/CausePath")));
}

// --- Parallel ---

TEST(ValidatorParallelTest, BranchesAreValidatedRecursively) {
  EXPECT_VALID(OneState(R"({"Type":"Parallel","End":true,"Branches":[
      {"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}},
      {"StartAt":"A","Comment":"c","States":{"A":{"Type":"Succeed"}}}],
      "ResultSelector":{"r.$":"$[0]"},"Retry":[{"ErrorEquals":["States.ALL"]}]})"));
  auto d = Validate(R"({"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"Out","Branches":[
      {"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Out"}}},
      {"States":{"B":{"Type":"Succeed"}},"Bogus":1}]},"Out":{"Type":"Succeed"}}})");
  EXPECT_THAT(d, Contains(At("/States/P/Branches/0/States/A/Next", "MISSING_TRANSITION_TARGET")));
  EXPECT_THAT(d, Contains(Schema("/States/P/Branches/1")));
  EXPECT_THAT(d, Contains(Schema("/States/P/Branches/1/Bogus")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Parallel","End":true,"Branches":[]})")),
              Contains(Schema("/States/S/Branches")));
  EXPECT_THAT(Validate(OneState(R"({"Type":"Parallel","End":true})")), Contains(Schema("/States/S")));
}

TEST(ValidatorParallelTest, DeeplyNestedMachinesStopAtLimit) {
  std::string machine = R"({"StartAt":"A","States":{"A":{"Type":"Succeed"}}})";
  for (int i = 0; i < 250; ++i) {
    machine = R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[)" + machine + "]}}}";
  }
  boost::json::parse_options options;
  options.max_depth = 10000;
  json::value value = json::parse(machine, {}, options);
  auto d = ValidateDefinition(value);
  EXPECT_THAT(d, Not(IsEmpty()));
}

// --- Map ---

std::string MapState(const std::string& extra) {
  return R"({"Type":"Map","End":true,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Succeed"}}})" +
         (extra.empty() ? "" : "," + extra) + "}";
}

TEST(ValidatorMapTest, Valid) {
  EXPECT_VALID(OneState(MapState(R"("ItemsPath":"$.items","ItemSelector":{"v.$":"$$.Map.Item.Value"},
      "MaxConcurrency":0,"ResultPath":"$.out","ToleratedFailureCount":1,"ToleratedFailurePercentage":12.5,
      "Label":"my-label_1")")));
  EXPECT_VALID(OneState(R"({"Type":"Map","End":true,"Parameters":{"a.$":"$.a"},"MaxConcurrencyPath":"$.m",
      "Iterator":{"StartAt":"P","States":{"P":{"Type":"Succeed"}}}})"));
  EXPECT_VALID(OneState(R"({"Type":"Map","End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED",
      "ExecutionType":"EXPRESS"},"StartAt":"P","States":{"P":{"Type":"Succeed"}}},
      "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket.$":"$.b","Key":"k"},
        "ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW","MaxItems":10}},
      "ItemBatcher":{"MaxItemsPerBatch":10,"BatchInput":{"x.$":"$.x"}},
      "ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"b","Prefix":"p"}},
      "ToleratedFailurePercentagePath":"$.p","ToleratedFailureCountPath":"$.c"})"));
}

TEST(ValidatorMapTest, Problems) {
  EXPECT_THAT(Validate(OneState(R"({"Type":"Map","End":true})")), Contains(Schema("/States/S")));
  EXPECT_THAT(Validate(OneState(MapState(R"("MaxConcurrency":-1)"))),
              Contains(Schema("/States/S/MaxConcurrency")));
  EXPECT_THAT(Validate(OneState(MapState(R"("MaxConcurrency":1,"MaxConcurrencyPath":"$.m")"))),
              Contains(Schema("/States/S")));
  EXPECT_THAT(Validate(OneState(MapState(R"("ItemsPath":"$.a[*]")"))),
              Contains(Schema("/States/S/ItemsPath")));
  EXPECT_THAT(Validate(OneState(MapState(R"("ToleratedFailurePercentage":101)"))),
              Contains(Schema("/States/S/ToleratedFailurePercentage")));
  EXPECT_THAT(Validate(OneState(MapState(R"("ItemSelector":{},"Parameters":{})"))),
              Contains(Schema("/States/S")));
  EXPECT_THAT(Validate(OneState(MapState(R"("ItemSelector":{"x.$":"bad"})"))),
              Contains(Schema("/States/S/ItemSelector/x.$")));
  auto d =
      Validate(OneState(R"({"Type":"Map","End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"SIDEWAYS",
      "ExecutionType":"SLOW"},"StartAt":"P","States":{"P":{"Type":"Pass"}}}})"));
  EXPECT_THAT(d, Contains(Schema("/States/S/ItemProcessor/ProcessorConfig/Mode")));
  EXPECT_THAT(d, Contains(Schema("/States/S/ItemProcessor/ProcessorConfig/ExecutionType")));
  EXPECT_THAT(d, Contains(Schema("/States/S/ItemProcessor/States/P")));
  d = Validate(OneState(R"({"Type":"Map","End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},
      "StartAt":"P","States":{"P":{"Type":"Succeed"}}},"ItemReader":{"ReaderConfig":{"InputType":"XML"}},
      "ItemBatcher":{"MaxItemsPerBatch":0},"ResultWriter":{"WriterConfig":{"OutputType":"CSV"}}})"));
  EXPECT_THAT(d, Contains(Schema("/States/S/ItemProcessor/ProcessorConfig")));
  EXPECT_THAT(d, Contains(Schema("/States/S/ItemReader")));
  EXPECT_THAT(d, Contains(Schema("/States/S/ItemReader/ReaderConfig/InputType")));
  EXPECT_THAT(d, Contains(Schema("/States/S/ItemBatcher/MaxItemsPerBatch")));
  EXPECT_THAT(d, Contains(Schema("/States/S/ResultWriter/WriterConfig/OutputType")));
}

TEST(ValidatorMapTest, Label) {
  EXPECT_VALID(OneState(MapState(R"("Label":"1234567890123456789012345678901234567890")")));
  EXPECT_VALID(OneState(MapState(R"("Label":"caf\u00e9")")));
  EXPECT_THAT(Validate(OneState(MapState(R"("Label":"")"))), Contains(Schema("/States/S/Label")));
  EXPECT_THAT(Validate(OneState(MapState(R"("Label":"12345678901234567890123456789012345678901")"))),
              Contains(Schema("/States/S/Label")));
  for (std::string bad :
       {" ", "?", "*", "<", ">", "{", "}", "[",    "]",   ":",       ";",       ",",       "\\\\",   "|",
        "^", "~", "$", "#", "%", "&", "`", "\\\"", "\\n", "\\u0000", "\\u007f", "\\u0085", "\\u009f"}) {
    EXPECT_THAT(Validate(OneState(MapState(R"("Label":"a)" + bad + R"(")"))),
                Contains(Schema("/States/S/Label")))
        << bad;
  }
}

// --- Corpora recorded against AWS ---

std::string SharedDir() {
  if (const char* dir = std::getenv("STEPFLOW_SHARED_DIR")) {
    return dir;
  }
#ifdef STEPFLOW_SHARED_DIR
  return STEPFLOW_SHARED_DIR;
#else
  return "../shared";
#endif
}

std::vector<json::object> ReadJsonLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json::object> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      out.push_back(json::parse(line).as_object());
    }
  }
  return out;
}

TEST(ValidatorCorpusTest, ValidationCasesMatchAws) {
  auto cases = ReadJsonLines(SharedDir() + "/conformance/validation.jsonl");
  if (cases.empty()) {
    GTEST_SKIP() << "no corpus at " << SharedDir();
  }
  int failures = 0;
  for (const json::object& c : cases) {
    ValidateOptions options;
    options.express = c.contains("type") && c.at("type") == "EXPRESS";
    const json::value& definition = c.at("definition");
    bool raw = c.contains("definition_is_raw_string") && c.at("definition_is_raw_string").as_bool();
    auto d = raw ? ValidateDefinitionText(std::string_view(definition.as_string()), options)
                 : ValidateDefinitionText(json::serialize(definition), options);
    bool expected_valid = c.at("expected").at("valid").as_bool();
    if (d.empty() != expected_valid) {
      ++failures;
      ADD_FAILURE() << c.at("id").as_string() << ": expected " << (expected_valid ? "valid" : "invalid")
                    << "\n"
                    << Dump(d);
    }
  }
  EXPECT_EQ(failures, 0) << "of " << cases.size();
}

// Every definition AWS accepted and executed must validate cleanly. JSONata cases are included too.
TEST(ValidatorCorpusTest, AcceptedExecutionDefinitionsAreValid) {
  auto cases = ReadJsonLines(SharedDir() + "/conformance/cases.jsonl");
  if (cases.empty()) {
    GTEST_SKIP() << "no corpus at " << SharedDir();
  }
  int failures = 0;
  for (const json::object& c : cases) {
    ValidateOptions options;
    options.express = c.contains("state_machine_type") && c.at("state_machine_type") == "EXPRESS";
    auto d = ValidateDefinition(c.at("definition"), options);
    if (!d.empty()) {
      ++failures;
      ADD_FAILURE() << c.at("id").as_string() << " (" << c.at("category").as_string() << ")\n" << Dump(d);
    }
  }
  EXPECT_EQ(failures, 0) << "of " << cases.size();
}

// Replaces every node of many accepted definitions, one at a time, with values of every JSON type: the
// validator must neither crash nor throw, and must flag at least the obviously broken variants.
void ForEachNode(json::value& node, const std::function<void(json::value&)>& visit) {
  visit(node);
  if (json::object* object = node.if_object()) {
    for (auto& [key, child] : *object) {
      ForEachNode(child, visit);
    }
  } else if (json::array* array = node.if_array()) {
    for (json::value& child : *array) {
      ForEachNode(child, visit);
    }
  }
}

TEST(ValidatorCorpusTest, MutatedDefinitionsNeverCrash) {
  auto cases = ReadJsonLines(SharedDir() + "/conformance/cases.jsonl");
  if (cases.empty()) {
    GTEST_SKIP() << "no corpus at " << SharedDir();
  }
  const json::value replacements[] = {nullptr,
                                      -1,
                                      0,
                                      1.5,
                                      "x",
                                      "$.a[",
                                      json::array{},
                                      json::object{},
                                      json::array{1, "a"},
                                      json::object{{"Type", "Pass"}}};
  constexpr size_t kStride = 7;  // a spread of definitions from every category, kept fast
  size_t validations = 0;
  for (size_t i = 0; i < cases.size(); i += kStride) {
    json::value definition = cases[i].at("definition");
    size_t nodes = 0;
    ForEachNode(definition, [&](json::value&) { ++nodes; });
    for (size_t target = 1; target < nodes; ++target) {
      for (const json::value& replacement : replacements) {
        json::value mutated = definition;
        size_t n = 0;
        ForEachNode(mutated, [&](json::value& node) {
          if (n++ == target) {
            node = replacement;
          }
        });
        EXPECT_NO_THROW(ValidateDefinition(mutated));
        ++validations;
      }
    }
  }
  EXPECT_GT(validations, 1000u);
}

}  // namespace
}  // namespace stepflow::sm
