// JSONata states (QueryLanguage "JSONata"): Arguments, Output, Assign, $states, Choice Conditions, Map
// Items/ItemSelector, numeric fields, errors and the replay determinism of $random/$uuid.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/statemachine/execution_test_util.h"

namespace stepflow::sm {
namespace {

using ::testing::HasSubstr;
using testing::Harness;
using testing::Json;

TEST(JsonataStateTest, PassOutputReadsStatesInputAndNestedTemplates) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
      "Output":{"sum":"{% $states.input.a + 1 %}","list":["{% $states.input.a %}","lit"],"keep":"{not}"},
      "End":true}}})");
  h.Start(R"({"a":2})");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(), Json(R"({"sum":3,"list":[2,"lit"],"keep":"{not}"})"));
}

// Plain paths ($states.input.a.b, $variable.x) are taken from the JSON directly when they select one value
// that is not an array; otherwise the evaluator decides. Both give JSONata's results.
TEST(JsonataStateTest, PlainPathsGiveTheEvaluatorsResults) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"A","States":{
      "A":{"Type":"Pass","Assign":{"v":{"x":{"y":2.0},"list":[{"y":1},{"y":3}]}},"Next":"B"},
      "B":{"Type":"Pass","Output":{"obj":"{% $states.input.o %}","deep":"{% $states.input.o.p %}",
           "one":"{% $states.input.one %}","arr":"{% $states.input.arr %}","mapped":"{% $states.input.arr.q %}",
           "var":"{% $v.x %}","num":"{% $v.x.y %}","over":"{% $v.list.y %}","whole":"{% $v %}",
           "from_array":"{% $states.input.wrapped.p %}"},"End":true}}})");
  h.Start(R"({"o":{"p":1.0,"s":"t"},"one":[7],"arr":[{"q":1},{"q":[2,3]}],"wrapped":[{"p":5}]})");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded) << h.ex().cause();
  EXPECT_EQ(h.ex().output(),
            Json(R"({"obj":{"p":1,"s":"t"},"deep":1,"one":[7],"arr":[{"q":1},{"q":[2,3]}],"mapped":[1,2,3],
                     "var":{"y":2},"num":2,"over":[1,3],"whole":{"x":{"y":2},"list":[{"y":1},{"y":3}]},
                     "from_array":5})"));
  Harness missing(R"({"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
      "Output":{"a":{"b":["{% $states.input.o.nothing %}"]}},"End":true}}})");
  missing.Start(R"({"o":{"p":1}})");
  EXPECT_EQ(missing.ex().error(), "States.QueryEvaluationError");
  EXPECT_THAT(missing.ex().cause(), HasSubstr("The JSONata expression '$states.input.o.nothing' specified for the "
                                              "field 'Output/a/b/0' returned nothing (undefined)."));
}

TEST(JsonataStateTest, PassWithoutOutputKeepsInput) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})");
  h.Start(R"({"a":2})");
  EXPECT_EQ(h.ex().output(), Json(R"({"a":2})"));
}

TEST(JsonataStateTest, AssignAndOutputSeeVariablesFromBeforeTheState) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"A","States":{
      "A":{"Type":"Pass","Assign":{"x":1},"Next":"B"},
      "B":{"Type":"Pass","Assign":{"x":"{% $x + 10 %}","y":"{% $x %}"},"Output":{"x":"{% $x %}"},"Next":"C"},
      "C":{"Type":"Pass","Output":{"x":"{% $x %}","y":"{% $y %}"},"End":true}}})");
  h.Start("{}");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(testing::ExitedOutput(h.history, "B"), Json(R"({"x":1})"));
  EXPECT_EQ(h.ex().output(), Json(R"({"x":11,"y":1})"));
}

TEST(JsonataStateTest, PerStateJsonataInJsonPathMachine) {
  Harness h(R"({"StartAt":"A","States":{
      "A":{"Type":"Pass","Parameters":{"v.$":"$.a"},"Next":"B"},
      "B":{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $states.input.v * 2 %}","End":true}}})");
  h.Start(R"({"a":4})");
  EXPECT_EQ(h.ex().output(), Json("8"));
}

TEST(JsonataStateTest, TaskArgumentsResultAndContext) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::x",
      "Arguments":{"n":"{% $states.input.n %}","state":"{% $states.context.State.Name %}"},
      "TimeoutSeconds":"{% $states.input.t %}",
      "Output":{"r":"{% $states.result.v %}","in":"{% $states.input.n %}"},"End":true}}})");
  Decision d = h.Start(R"({"n":5,"t":30})");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  EXPECT_EQ(d.tasks_to_schedule[0].input, Json(R"({"n":5,"state":"T"})"));
  EXPECT_EQ(d.tasks_to_schedule[0].timeout_seconds, 30);
  h.Succeed(d.tasks_to_schedule[0].task_id, R"({"v":"ok"})");
  EXPECT_EQ(h.ex().output(), Json(R"({"r":"ok","in":5})"));
}

TEST(JsonataStateTest, TimeoutSecondsOutOfRangeIsQueryEvaluationError) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::x",
      "TimeoutSeconds":"{% $states.input.t %}","End":true}}})");
  h.Start(R"({"t":0})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.QueryEvaluationError");
}

TEST(JsonataStateTest, CatchOutputAndAssignReadErrorOutput) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"T","States":{
      "T":{"Type":"Task","Resource":"arn:aws:states:::x","Assign":{"never":1},"End":true,
           "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Done",
                     "Assign":{"err":"{% $states.errorOutput.Error %}"},
                     "Output":{"cause":"{% $states.errorOutput.Cause %}"}}]},
      "Done":{"Type":"Pass","Output":{"err":"{% $err %}","cause":"{% $states.input.cause %}",
                                      "never":"{% $exists($never) %}"},"End":true}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  h.Fail(d.tasks_to_schedule[0].task_id, "Boom", "bad");
  EXPECT_EQ(h.ex().output(), Json(R"({"err":"Boom","cause":"bad","never":false})"));
  // The caught state's exit records what its catcher assigned (not the state's own Assign), as JSON text.
  for (const HistoryEvent& e : h.history) {
    if (e.type == "TaskStateExited") {
      EXPECT_EQ(e.details.at("assignedVariables"), Json(R"({"err":"\"Boom\""})"));
    }
    if (e.type == "PassStateExited") {
      EXPECT_FALSE(e.details.contains("assignedVariables"));
    }
  }
}

TEST(JsonataStateTest, ChoiceConditionPicksRuleWithItsOutputAndAssign) {
  const char* def = R"({"QueryLanguage":"JSONata","StartAt":"C","States":{
      "C":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.n > 1 %}","Next":"Big",
           "Assign":{"seen":"big"},"Output":{"n":"{% $states.input.n %}"}}],"Default":"Small"},
      "Big":{"Type":"Pass","Output":{"seen":"{% $seen %}","in":"{% $states.input %}"},"End":true},
      "Small":{"Type":"Succeed"}}})";
  Harness big(def);
  big.Start(R"({"n":5,"x":1})");
  EXPECT_EQ(big.ex().output(), Json(R"({"seen":"big","in":{"n":5}})"));
  Harness small(def);
  small.Start(R"({"n":0})");
  EXPECT_EQ(small.ex().output(), Json(R"({"n":0})"));
}

TEST(JsonataStateTest, ChoiceConditionNotBooleanFails) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"C","States":{
      "C":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.n %}","Next":"S"}]},"S":{"Type":"Succeed"}}})");
  h.Start(R"({"n":5})");
  EXPECT_EQ(h.ex().error(), "States.QueryEvaluationError");
}

TEST(JsonataStateTest, MapItemSelectorUndefinedNamesItsField) {
  // $k is not defined: ItemSelector fails with QueryEvaluationError naming the field.
  Harness failing(R"({"QueryLanguage":"JSONata","StartAt":"M","States":{
      "M":{"Type":"Map","Items":[1],"ItemSelector":{"k":"{% $k %}"},
           "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}}})");
  failing.Start("{}");
  EXPECT_EQ(failing.ex().error(), "States.QueryEvaluationError");
  EXPECT_THAT(failing.ex().cause(), HasSubstr("The JSONata expression '$k' specified for the field 'ItemSelector/k' "
                                              "returned nothing (undefined)."));
}

TEST(JsonataStateTest, MapItemsOfWrongTypeFail) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"M","States":{
      "M":{"Type":"Map","Items":"{% 1 %}",
           "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}}})");
  h.Start("{}");
  EXPECT_EQ(h.ex().error(), "States.QueryEvaluationError");
  EXPECT_THAT(h.ex().cause(), HasSubstr("The JSONata expression '1' specified for the field 'Items' returned an "
                                        "unexpected result type. Expected 'array', but was 'number' for value: 1"));
}

TEST(JsonataStateTest, MapRunsItemsWithVariablesVisibleInside) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"A","States":{
      "A":{"Type":"Pass","Assign":{"k":100},"Next":"M"},
      "M":{"Type":"Map","Items":"{% $states.input.xs %}","MaxConcurrency":"{% 2 %}",
           "ItemSelector":{"v":"{% $states.context.Map.Item.Value %}","i":"{% $states.context.Map.Item.Index %}"},
           "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","Output":"{% $states.input.v + $states.input.i + $k %}","End":true}}},
           "End":true}}})");
  h.Start(R"({"xs":[10,20]})");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded) << h.ex().cause();
  EXPECT_EQ(h.ex().output(), Json("[110,121]"));
}

TEST(JsonataStateTest, ParallelArgumentsFeedBranchesAndResultFeedsOutput) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"Par","States":{
      "Par":{"Type":"Parallel","Arguments":{"n":"{% $states.input.n * 2 %}"},
             "Output":"{% $sum($states.result) %}","End":true,
             "Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $states.input.n + 1 %}","End":true}}},
                         {"StartAt":"B","States":{"B":{"Type":"Pass","Output":"{% $states.input.n %}","End":true}}}]}}})");
  h.Start(R"({"n":3})");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded) << h.ex().cause();
  EXPECT_EQ(h.ex().output(), Json("13"));
}

TEST(JsonataStateTest, ToleratedFailurePercentageAbove100Fails) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"M","States":{
      "M":{"Type":"Map","Items":[1],"ToleratedFailurePercentage":"{% 101 %}",
           "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"End":true}}})");
  h.Start("{}");
  EXPECT_EQ(h.ex().error(), "States.QueryEvaluationError");
  EXPECT_THAT(h.ex().cause(), HasSubstr("'ToleratedFailurePercentage'"));
}

TEST(JsonataStateTest, UndefinedOutputIsQueryEvaluationErrorWithAwsCause) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
      "Output":{"result":"{% $doesNotExist %}"},"End":true}}})");
  h.Start("{}");
  EXPECT_EQ(h.ex().error(), "States.QueryEvaluationError");
  EXPECT_EQ(h.ex().cause(), "An error occurred while executing the state 'P' (entered at the event id #2). The "
                            "JSONata expression '$doesNotExist' specified for the field 'Output/result' returned "
                            "nothing (undefined).");
}

TEST(JsonataStateTest, EvalIsRefused) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
      "Output":"{% $eval('1+1') %}","End":true}}})");
  h.Start("{}");
  EXPECT_EQ(h.ex().error(), "States.QueryEvaluationError");
}

TEST(JsonataStateTest, WaitSecondsFromJsonata) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Wait",
      "Seconds":"{% $states.input.s %}","Output":{"done":true},"End":true}}})");
  Decision d = h.Start(R"({"s":5})");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  EXPECT_EQ(d.timers_to_start[0].due, testing::kT0 + 5000);
  h.now += 5000;
  h.Fire(d.timers_to_start[0].timer_id);
  EXPECT_EQ(h.ex().output(), Json(R"({"done":true})"));
}

TEST(JsonataStateTest, WaitSecondsNegativeFails) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Wait",
      "Seconds":"{% -1 %}","End":true}}})");
  h.Start("{}");
  EXPECT_EQ(h.ex().error(), "States.QueryEvaluationError");
}

TEST(JsonataStateTest, AwsFunctions) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
      "Output":{"p":"{% $partition([1,2,3],2) %}","r":"{% $range(0,6,3) %}","h":"{% $hash('a','MD5') %}",
                "j":"{% $parse('{\"a\":[1]}') %}","u":"{% $uuid() %}","x":"{% $random() %}",
                "s":"{% $random(7) = $random(7) %}"},"End":true}}})");
  h.rv.random_unit = 0.25;
  h.Start("{}");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded) << h.ex().cause();
  EXPECT_EQ(h.ex().output(), Json(R"({"p":[[1,2],[3]],"r":[0,3,6],"h":"0cc175b9c0f1b6a831c399e269772661",
      "j":{"a":[1]},"u":"11111111-2222-4333-8444-555555555555","x":0.25,"s":true})"));
  EXPECT_EQ(h.rv.uuid_calls, 1);
  EXPECT_EQ(h.rv.random_calls, 1);
}

TEST(JsonataStateTest, SeededRandomIsJavaUtilRandomsFirstDouble) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
      "Output":"{% $random(42) %}","End":true}}})");
  h.Start("{}");
  EXPECT_EQ(h.ex().output(), Json("0.7275636800328681"));  // new java.util.Random(42).nextDouble()
  EXPECT_EQ(h.rv.random_calls, 0);  // seeded: nothing drawn (or recorded)
}

TEST(JsonataStateTest, RandomAndUuidReplayFromRecordedValues) {
  const char* def = R"({"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
      "Output":{"u":"{% $uuid() %}","x":"{% $random() %}"},"End":true}}})";
  Harness first(def);
  first.rv.random_unit = 0.75;
  first.Start("{}");
  Harness replay(def);
  replay.rv.random_unit = 0.75;  // the same recorded values
  replay.Start("{}");
  EXPECT_EQ(first.ex().output(), replay.ex().output());
  EXPECT_EQ(first.ex().output(), Json(R"({"u":"11111111-2222-4333-8444-555555555555","x":0.75})"));
}

TEST(JsonataStateTest, FailErrorAndCauseFromJsonata) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"F","States":{"F":{"Type":"Fail",
      "Error":"{% $states.input.e %}","Cause":"{% 'because ' & $states.input.c %}"}}})");
  h.Start(R"({"e":"E1","c":"x"})");
  EXPECT_EQ(h.ex().error(), "E1");
  EXPECT_EQ(h.ex().cause(), "because x");
}

TEST(JsonataValidationTest, SyntaxErrorIsReportedWithItsLocation) {
  std::vector<Diagnostic> d = ValidateDefinitionText(
      R"({"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":{"a":"{% 1 + %}"},"End":true}}})");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].location, "/States/P/Output/a");
  EXPECT_THAT(d[0].message, HasSubstr("at position"));
}

}  // namespace
}  // namespace stepflow::sm
