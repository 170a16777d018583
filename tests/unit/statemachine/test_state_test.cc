// TestState (statemachine/test_state.h): one state, run on the interpreter, with AWS's statuses and
// inspection data.
#include "statemachine/test_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "execution_test_util.h"
#include "statemachine/json_text.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using testing::FakeRuntime;
using testing::Json;
using testing::kT0;

TestStateRequest Request(std::string definition, std::string input = "{}") {
  TestStateRequest r;
  r.definition = std::move(definition);
  r.input = std::move(input);
  r.context = testing::TestInfo();
  return r;
}

TestStateResult RunState(const TestStateRequest& r) {
  FakeRuntime rv;
  absl::StatusOr<TestStateResult> result = TestState(r, kT0, rv);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : TestStateResult{};
}

// The error of a refused request: its message, which starts with the AWS error name.
std::string Refusal(const TestStateRequest& r) {
  FakeRuntime rv;
  absl::StatusOr<TestStateResult> result = TestState(r, kT0, rv);
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(result.ok() || absl::IsInvalidArgument(result.status())) << result.status();
  return result.ok() ? "" : std::string(result.status().message());
}

TEST(TestStateTest, PassDataFlowAtDebug) {
  TestStateRequest r = Request(R"({"Type": "Pass", "InputPath": "$.in", "Parameters": {"v.$": "$.x"},
                                   "ResultPath": "$.res",
                                   "OutputPath": "$.res", "Next": "After"})",
                               R"({"in": {"x": 7}, "other": true})");
  r.inspection_level = InspectionLevel::kDebug;
  TestStateResult result = RunState(r);
  EXPECT_EQ(result.status, TestStatus::kSucceeded);
  EXPECT_EQ(result.next_state, "After");
  ASSERT_TRUE(result.output);
  EXPECT_EQ(*result.output, Json(R"({"v": 7})"));
  ASSERT_TRUE(result.inspection);
  const InspectionData& d = *result.inspection;
  EXPECT_EQ(*d.input, Json(R"({"in": {"x": 7}, "other": true})"));
  EXPECT_EQ(*d.after_input_path, Json(R"({"x": 7})"));
  EXPECT_EQ(*d.after_parameters, Json(R"({"v": 7})"));
  EXPECT_EQ(*d.result, Json(R"({"v": 7})"));
  EXPECT_EQ(*d.after_result_path, Json(R"({"in": {"x": 7}, "other": true, "res": {"v": 7}})"));
  EXPECT_FALSE(d.after_arguments);
}

TEST(TestStateTest, PassThroughReportsEveryStep) {
  TestStateRequest r = Request(R"({"Type": "Pass", "End": true})", R"({"a": 1})");
  r.inspection_level = InspectionLevel::kDebug;
  TestStateResult result = RunState(r);
  ASSERT_TRUE(result.inspection);
  const InspectionData& d = *result.inspection;
  for (const std::optional<json::value>* step : {&d.after_input_path, &d.after_parameters, &d.result,
                                                  &d.after_result_selector, &d.after_result_path}) {
    ASSERT_TRUE(step->has_value());
    EXPECT_EQ(**step, Json(R"({"a": 1})"));
  }
  EXPECT_EQ(*result.output, Json(R"({"a": 1})"));
}

TEST(TestStateTest, InfoLevelHasNoInspectionData) {
  TestStateResult result = RunState(Request(R"({"Type": "Pass", "End": true})", R"({"a": 1})"));
  EXPECT_EQ(result.status, TestStatus::kSucceeded);
  EXPECT_EQ(result.next_state, "");
  EXPECT_EQ(*result.output, Json(R"({"a": 1})"));
  EXPECT_FALSE(result.inspection);
  json::object aws = TestStateResultToAwsJson(result);
  EXPECT_EQ(aws.at("status"), "SUCCEEDED");
  EXPECT_EQ(aws.at("output"), R"({"a":1})");
  EXPECT_FALSE(aws.contains("nextState"));
  EXPECT_FALSE(aws.contains("inspectionData"));
}

TEST(TestStateTest, TaskWithMockedResult) {
  TestStateRequest r = Request(R"({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                   "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                                   "ResultSelector": {"body.$": "$.Payload"}, "ResultPath": "$.out",
                                   "Next": "Done"})",
                               R"({"n": 1})");
  r.mock_result = R"({"Payload": {"ok": true}, "StatusCode": 200})";
  r.inspection_level = InspectionLevel::kTrace;
  TestStateResult result = RunState(r);
  EXPECT_EQ(result.status, TestStatus::kSucceeded);
  EXPECT_EQ(result.next_state, "Done");
  EXPECT_EQ(*result.output, Json(R"({"n": 1, "out": {"body": {"ok": true}}})"));
  const InspectionData& d = *result.inspection;
  EXPECT_EQ(*d.after_parameters, Json(R"({"FunctionName": "f", "Payload": {"n": 1}})"));
  EXPECT_EQ(*d.result, Json(R"({"Payload": {"ok": true}, "StatusCode": 200})"));
  EXPECT_EQ(*d.after_result_selector, Json(R"({"body": {"ok": true}})"));
  json::object aws = TestStateResultToAwsJson(result);
  EXPECT_EQ(aws.at("inspectionData").at("afterResultSelector"), R"({"body":{"ok":true}})");
}

constexpr char kRetryThenCatch[] = R"({"Type": "Task", "Resource": "work", "Next": "Done",
    "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handle"}]})";

TEST(TestStateTest, MatchingRetrierIsRetriable) {
  TestStateRequest r = Request(kRetryThenCatch, R"({"a": 1})");
  r.mock_error = Failure{"Boom", "it broke"};
  TestStateResult result = RunState(r);
  EXPECT_EQ(result.status, TestStatus::kRetriable);
  EXPECT_EQ(result.error, "Boom");
  EXPECT_EQ(result.cause, "it broke");
  EXPECT_FALSE(result.output);
  EXPECT_EQ(result.next_state, "TestState");  // the retry runs the state again
  EXPECT_FALSE(result.inspection);
  r.retrier_retry_count = 1;  // one retry left
  EXPECT_EQ(RunState(r).status, TestStatus::kRetriable);
}

// errorDetails: which retrier or catcher handled the failure, and the retry's interval after backoff.
TEST(TestStateTest, ErrorDetailsNameTheHandler) {
  TestStateRequest r = Request(R"({"Type": "Task", "Resource": "work", "Next": "Done",
      "Retry": [{"ErrorEquals": ["Other"]},
                {"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "BackoffRate": 2, "MaxAttempts": 3}],
      "Catch": [{"ErrorEquals": ["Other"], "Next": "A"}, {"ErrorEquals": ["States.ALL"], "Next": "B"}]})");
  r.mock_error = Failure{"Boom", ""};
  r.inspection_level = InspectionLevel::kDebug;
  TestStateResult first = RunState(r);
  ASSERT_EQ(first.status, TestStatus::kRetriable);
  ASSERT_TRUE(first.inspection && first.inspection->error_details);
  EXPECT_EQ(first.inspection->error_details->retry_index, 1);
  EXPECT_EQ(first.inspection->error_details->retry_backoff_interval_seconds, 3);
  EXPECT_FALSE(first.inspection->error_details->catch_index);
  r.retrier_retry_count = 2;  // the third retry waits 3 * 2^2
  TestStateResult third = RunState(r);
  EXPECT_EQ(third.inspection->error_details->retry_backoff_interval_seconds, 12);
  json::object aws = TestStateResultToAwsJson(third);
  EXPECT_EQ(aws.at("nextState"), "TestState");
  EXPECT_EQ(aws.at("inspectionData").at("errorDetails"), Json(R"({"retryIndex": 1, "retryBackoffIntervalSeconds": 12})"));
  r.retrier_retry_count = 3;  // exhausted: the second catcher
  TestStateResult caught = RunState(r);
  ASSERT_EQ(caught.status, TestStatus::kCaughtError);
  EXPECT_EQ(caught.next_state, "B");
  EXPECT_EQ(caught.inspection->error_details->catch_index, 1);
  EXPECT_FALSE(caught.inspection->error_details->retry_index);
  EXPECT_EQ(TestStateResultToAwsJson(caught).at("inspectionData").at("errorDetails"), Json(R"({"catchIndex": 1})"));
  // Neither on success nor on an unhandled failure.
  r.mock_error.reset();
  r.mock_result = "{}";
  EXPECT_FALSE(RunState(r).inspection->error_details);
  TestStateRequest fails = Request(R"({"Type": "Task", "Resource": "work", "End": true})");
  fails.mock_error = Failure{"Boom", ""};
  fails.inspection_level = InspectionLevel::kDebug;
  TestStateResult failed = RunState(fails);
  EXPECT_EQ(failed.status, TestStatus::kFailed);
  EXPECT_EQ(failed.next_state, "");
  EXPECT_FALSE(failed.inspection->error_details);
}

// $$.Execution.Input: the state's input, unless the request gives the run's (the data flow of a state of a run).
TEST(TestStateTest, ContextShowsTheExecutionInputGiven) {
  TestStateRequest r = Request(R"({"Type": "Pass", "Parameters": {"run.$": "$$.Execution.Input", "mine.$": "$"},
                                   "End": true})",
                               R"({"step": 2})");
  EXPECT_EQ(*RunState(r).output, Json(R"({"run": {"step": 2}, "mine": {"step": 2}})"));
  r.execution_input = R"({"order": 7})";
  EXPECT_EQ(*RunState(r).output, Json(R"({"run": {"order": 7}, "mine": {"step": 2}})"));
  r.execution_input = "{bad";
  EXPECT_THAT(Refusal(r), ::testing::StartsWith("InvalidExecutionInput: the execution input"));
}

// A Map's inspection fields: ItemsPath, every item after ItemSelector, the numeric fields as evaluated.
TEST(TestStateTest, MapInspectionShowsItsIterationsInputs) {
  TestStateRequest r = Request(R"({"Type": "Map", "ItemsPath": "$.items", "MaxConcurrencyPath": "$.max",
      "ToleratedFailureCount": 2, "ToleratedFailurePercentage": 12.5,
      "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "tag.$": "$.tag"},
      "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Pass", "End": true}}}, "End": true})",
                               R"({"items": ["a", "b", "c"], "max": 1, "tag": "t"})");
  r.mock_result = "[]";
  r.inspection_level = InspectionLevel::kDebug;
  TestStateResult result = RunState(r);
  ASSERT_EQ(result.status, TestStatus::kSucceeded);
  EXPECT_EQ(*result.output, Json("[]"));  // the mock's, not the iterations'
  const InspectionData& d = *result.inspection;
  EXPECT_EQ(*d.after_items_path, Json(R"(["a", "b", "c"])"));
  // All three, although MaxConcurrency 1 starts one at a time.
  EXPECT_EQ(*d.after_item_selector, Json(R"([{"value": "a", "index": 0, "tag": "t"}, {"value": "b", "index": 1, "tag": "t"},
                                             {"value": "c", "index": 2, "tag": "t"}])"));
  EXPECT_EQ(d.max_concurrency, 1);
  EXPECT_EQ(d.tolerated_failure_count, 2);
  EXPECT_EQ(d.tolerated_failure_percentage, 12.5);
  json::object data = TestStateResultToAwsJson(result).at("inspectionData").as_object();
  EXPECT_EQ(data.at("afterItemsPath"), R"(["a","b","c"])");
  EXPECT_EQ(data.at("maxConcurrency"), 1);
  EXPECT_EQ(data.at("toleratedFailurePercentage"), 12.5);
  // Without the optional fields they are absent; at INFO nothing is inspected.
  TestStateRequest plain = Request(R"({"Type": "Map", "End": true,
      "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Pass", "End": true}}}})", "[1, 2]");
  plain.mock_result = "[]";
  plain.inspection_level = InspectionLevel::kDebug;
  TestStateResult p = RunState(plain);
  EXPECT_EQ(*p.inspection->after_item_selector, Json("[1, 2]"));
  EXPECT_FALSE(p.inspection->max_concurrency);
  EXPECT_FALSE(p.inspection->tolerated_failure_count);
  EXPECT_FALSE(p.inspection->tolerated_failure_percentage);
  EXPECT_FALSE(TestStateResultToAwsJson(p).at("inspectionData").as_object().contains("maxConcurrency"));
  plain.inspection_level = InspectionLevel::kInfo;
  EXPECT_FALSE(RunState(plain).inspection);
  // JSONata: Items and ItemSelector evaluated; no afterItemsPath (a JSONPath step).
  TestStateRequest jsonata = Request(R"({"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% $states.input.xs %}",
      "ItemSelector": "{% $states.context.Map.Item.Value * 10 %}", "MaxConcurrency": "{% 2 %}", "End": true,
      "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Pass", "End": true}}}})", R"({"xs": [1, 2]})");
  jsonata.mock_result = "[]";
  jsonata.inspection_level = InspectionLevel::kTrace;
  TestStateResult j = RunState(jsonata);
  ASSERT_EQ(j.status, TestStatus::kSucceeded);
  EXPECT_FALSE(j.inspection->after_items_path);
  EXPECT_EQ(*j.inspection->after_item_selector, Json("[10, 20]"));
  EXPECT_EQ(j.inspection->max_concurrency, 2);
}

TEST(TestStateTest, ExhaustedRetrierFallsToCatch) {
  TestStateRequest r = Request(kRetryThenCatch, R"({"a": 1})");
  r.mock_error = Failure{"Boom", "it broke"};
  r.retrier_retry_count = 2;  // MaxAttempts reached: the catcher decides
  TestStateResult result = RunState(r);
  EXPECT_EQ(result.status, TestStatus::kCaughtError);
  EXPECT_EQ(result.next_state, "Handle");
  EXPECT_EQ(result.error, "Boom");
  EXPECT_EQ(*result.output, Json(R"({"a": 1, "err": {"Error": "Boom", "Cause": "it broke"}})"));
  // An error no retrier matches is caught at once.
  r.retrier_retry_count = 0;
  r.mock_error = Failure{"Other", ""};
  EXPECT_EQ(RunState(r).status, TestStatus::kCaughtError);
}

TEST(TestStateTest, UnhandledTaskErrorFails) {
  TestStateRequest r = Request(R"({"Type": "Task", "Resource": "work", "End": true})");
  r.mock_error = Failure{"Worker.Failed", "no luck"};
  TestStateResult result = RunState(r);
  EXPECT_EQ(result.status, TestStatus::kFailed);
  EXPECT_EQ(result.error, "Worker.Failed");
  EXPECT_EQ(result.cause, "no luck");
  EXPECT_FALSE(result.output);
}

TEST(TestStateTest, ChoiceGoesToTheMatchingRule) {
  constexpr char kChoice[] = R"({"Type": "Choice", "Choices": [
      {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}], "Default": "Small"})";
  TestStateResult big = RunState(Request(kChoice, R"({"n": 11})"));
  EXPECT_EQ(big.status, TestStatus::kSucceeded);
  EXPECT_EQ(big.next_state, "Big");
  EXPECT_EQ(*big.output, Json(R"({"n": 11})"));
  EXPECT_EQ(RunState(Request(kChoice, R"({"n": 1})")).next_state, "Small");
  TestStateResult none = RunState(Request(R"({"Type": "Choice", "Choices": [
      {"Variable": "$.n", "IsPresent": true, "Next": "Yes"}]})"));
  EXPECT_EQ(none.status, TestStatus::kFailed);
  EXPECT_EQ(none.error, "States.NoChoiceMatched");
}

TEST(TestStateTest, FailSucceedAndWait) {
  TestStateResult fail = RunState(Request(R"({"Type": "Fail", "ErrorPath": "$.e", "Cause": "because"})",
                                     R"({"e": "My.Error"})"));
  EXPECT_EQ(fail.status, TestStatus::kFailed);
  EXPECT_EQ(fail.error, "My.Error");
  EXPECT_EQ(fail.cause, "because");
  TestStateResult succeed = RunState(Request(R"({"Type": "Succeed", "OutputPath": "$.x"})", R"({"x": [1]})"));
  EXPECT_EQ(succeed.status, TestStatus::kSucceeded);
  EXPECT_EQ(*succeed.output, Json("[1]"));
  // A year-long Wait does not wait.
  TestStateResult wait = RunState(Request(R"({"Type": "Wait", "Seconds": 31536000, "Next": "Later"})", R"({"w": 1})"));
  EXPECT_EQ(wait.status, TestStatus::kSucceeded);
  EXPECT_EQ(wait.next_state, "Later");
  EXPECT_EQ(*wait.output, Json(R"({"w": 1})"));
}

TEST(TestStateTest, JsonataWithVariables) {
  TestStateRequest r = Request(R"({"Type": "Task", "QueryLanguage": "JSONata", "Resource": "work",
      "Arguments": {"sum": "{% $states.input.a + $base %}"},
      "Assign": {"base": "{% $base * 10 %}", "got": "{% $states.result.r %}"},
      "Output": {"r": "{% $states.result.r %}", "base": "{% $base %}"}, "End": true})",
                               R"({"a": 2})");
  r.variables = R"({"base": 3})";
  r.mock_result = R"({"r": "ok"})";
  r.inspection_level = InspectionLevel::kDebug;
  TestStateResult result = RunState(r);
  ASSERT_EQ(result.status, TestStatus::kSucceeded) << result.error << ": " << result.cause;
  // Output reads the variables from before the state's Assign.
  EXPECT_EQ(*result.output, Json(R"({"r": "ok", "base": 3})"));
  const InspectionData& d = *result.inspection;
  EXPECT_EQ(*d.after_arguments, Json(R"({"sum": 5})"));
  EXPECT_FALSE(d.after_input_path);
  EXPECT_EQ(*d.variables, Json(R"({"base": 30, "got": "ok"})").get_object());
}

TEST(TestStateTest, JsonataEvaluationErrorFails) {
  TestStateResult result = RunState(Request(R"({"Type": "Pass", "QueryLanguage": "JSONata",
      "Output": "{% $undefinedThing.x %}", "End": true})"));
  EXPECT_EQ(result.status, TestStatus::kFailed);
  EXPECT_EQ(result.error, "States.QueryEvaluationError");
}

TEST(TestStateTest, MapAndParallelRunOnTheirMock) {
  TestStateRequest map = Request(R"({"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.doubled",
      "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Pass", "End": true}}}, "Next": "N"})",
                                 R"({"items": [1, 2]})");
  map.mock_result = "[2, 4]";
  TestStateResult m = RunState(map);
  EXPECT_EQ(m.status, TestStatus::kSucceeded);
  EXPECT_EQ(m.next_state, "N");
  EXPECT_EQ(*m.output, Json(R"({"items": [1, 2], "doubled": [2, 4]})"));
  TestStateRequest parallel = Request(R"({"Type": "Parallel", "Parameters": {"x.$": "$.x"}, "End": true,
      "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}],
      "Catch": [{"ErrorEquals": ["States.BranchFailed"], "Next": "Recover"}]})",
                                      R"({"x": 5})");
  parallel.mock_error = Failure{"States.BranchFailed", "a branch failed"};
  parallel.inspection_level = InspectionLevel::kDebug;
  TestStateResult p = RunState(parallel);
  EXPECT_EQ(p.status, TestStatus::kCaughtError);
  EXPECT_EQ(p.next_state, "Recover");
  EXPECT_EQ(*p.inspection->after_parameters, Json(R"({"x": 5})"));
}

TEST(TestStateTest, StateOfAWholeMachineByName) {
  constexpr char kMachine[] = R"({"StartAt": "First", "QueryLanguage": "JSONata", "States": {
      "First": {"Type": "Pass", "Output": {"first": true}, "Next": "Fan"},
      "Fan": {"Type": "Parallel", "End": true, "Branches": [
          {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Output": "{% $states.input.v * 2 %}",
                                                    "Next": "Last"},
                                          "Last": {"Type": "Succeed"}}}]}}})";
  TestStateRequest r = Request(kMachine, R"({"v": 4})");
  TestStateResult start = RunState(r);  // the StartAt state by default
  EXPECT_EQ(*start.output, Json(R"({"first": true})"));
  EXPECT_EQ(start.next_state, "Fan");
  r.state_name = "Inner";  // inside a branch; the machine's QueryLanguage applies
  TestStateResult inner = RunState(r);
  EXPECT_EQ(*inner.output, Json("8"));
  EXPECT_EQ(inner.next_state, "Last");
  r.state_name = "Nowhere";
  EXPECT_EQ(Refusal(r), "ValidationException: the definition has no state named 'Nowhere'");
}

TEST(TestStateTest, CausesNameTheState) {
  TestStateRequest r = Request(R"({"Type": "Pass", "InputPath": "$.missing", "End": true})");
  r.state_name = "Named";
  TestStateResult result = RunState(r);
  EXPECT_EQ(result.status, TestStatus::kFailed);
  EXPECT_EQ(result.error, "States.Runtime");
  EXPECT_NE(result.cause.find("'Named' (entered at the event id #2)"), std::string::npos) << result.cause;
}

TEST(TestStateTest, RefusedRequestsNameTheProblem) {
  EXPECT_EQ(Refusal(Request("not json")).rfind("InvalidDefinition: ", 0), 0u);
  EXPECT_EQ(Refusal(Request(R"({"Comment": "neither"})")).rfind("InvalidDefinition: the definition is neither", 0),
            0u);
  std::string invalid = Refusal(Request(R"({"Type": "Pass", "Next": "X", "Bogus": 1})"));
  EXPECT_EQ(invalid.rfind("InvalidDefinition: ", 0), 0u) << invalid;
  EXPECT_NE(invalid.find("Bogus"), std::string::npos) << invalid;
  EXPECT_EQ(invalid.find("/States/"), std::string::npos) << invalid;  // the state's own locations
  EXPECT_EQ(Refusal(Request(R"({"StartAt": "A", "States": {}})")).rfind("InvalidDefinition: ", 0), 0u);
  EXPECT_EQ(Refusal(Request(R"({"Type": "Pass", "End": true})", "{bad")).rfind("InvalidExecutionInput: ", 0), 0u);

  TestStateRequest vars = Request(R"({"Type": "Pass", "End": true})");
  vars.variables = "[1]";
  EXPECT_EQ(Refusal(vars).rfind("InvalidExecutionInput: the variables must be a JSON object", 0), 0u);

  TestStateRequest task = Request(R"({"Type": "Task", "Resource": "work", "End": true})");
  EXPECT_EQ(Refusal(task).rfind("ValidationException: a Task state needs a mock", 0), 0u);
  task.mock_result = "{}";
  task.mock_error = Failure{"E", "C"};
  EXPECT_EQ(Refusal(task), "ValidationException: a mock has either a result or an error, not both");
  task.mock_error.reset();
  task.mock_result = "{oops";
  EXPECT_EQ(Refusal(task).rfind("ValidationException: the mocked result", 0), 0u);
  task.mock_result = "{}";
  task.retrier_retry_count = 1001;
  EXPECT_EQ(Refusal(task).rfind("ValidationException: retrierRetryCount must be between 0 and 1000", 0), 0u);

  TestStateRequest pass = Request(R"({"Type": "Pass", "End": true})");
  pass.mock_result = "{}";
  EXPECT_EQ(Refusal(pass), "ValidationException: a mock applies to Task, Map and Parallel states only, not to a "
                           "Pass state");
  pass.mock_result.reset();
  pass.state_name = std::string(81, 'n');
  EXPECT_EQ(Refusal(pass).rfind("ValidationException: stateName is 81 bytes", 0), 0u);

  TestStateLimits small;
  small.max_payload_bytes = 10;
  FakeRuntime rv;
  absl::StatusOr<TestStateResult> big =
      TestState(Request(R"({"Type": "Pass", "End": true})", R"({"long": "0123456789"})"), kT0, rv, small);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(), "InvalidExecutionInput: the input is 22 bytes; at most 10 are allowed");
}

TEST(TestStateTest, InspectionLevels) {
  EXPECT_EQ(*ParseInspectionLevel(""), InspectionLevel::kInfo);
  EXPECT_EQ(*ParseInspectionLevel("DEBUG"), InspectionLevel::kDebug);
  EXPECT_EQ(*ParseInspectionLevel("TRACE"), InspectionLevel::kTrace);
  EXPECT_EQ(ParseInspectionLevel("debug").status().message(),
            "ValidationException: inspectionLevel must be INFO, DEBUG or TRACE, not 'debug'");
}

// Calls share nothing: many at once on the same definition each get their own answer.
TEST(TestStateTest, ConcurrentCallsAreIndependent) {
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<std::string> outputs(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([i, &outputs] {
      for (int round = 0; round < 50; ++round) {
        TestStateRequest r = Request(R"({"Type": "Pass", "Parameters": {"i.$": "$.i"}, "End": true})",
                                     "{\"i\": " + std::to_string(i) + "}");
        FakeRuntime rv;
        absl::StatusOr<TestStateResult> result = TestState(r, kT0, rv);
        outputs[i] = result.ok() && result->output ? ToAwsJson(*result->output) : "error";
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(outputs[i], "{\"i\":" + std::to_string(i) + "}");
  }
}

}  // namespace
}  // namespace stepflow::sm
