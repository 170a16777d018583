// Unit tests for history events AWS records that an older Stepflow did not: LambdaFunction* and Activity*
// events for Lambda function and activity ARNs (with AWS's detail fields), the Task state's Credentials as
// taskCredentials, and EvaluationFailed for JSONata evaluation failures. Each also checks that an execution
// started under an older semantics version (ExecutionLimits switches off) records what it did before.

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/statemachine/execution_test_util.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FindEvent;
using testing::Harness;
using testing::Json;
using testing::Types;

constexpr char kLambdaArn[] = "arn:aws:lambda:us-east-1:123456789012:function:resize";
constexpr char kActivityArn[] = "arn:aws:states:us-east-1:123456789012:activity:review";

std::string TaskMachine(const std::string& resource, const std::string& extra = "") {
  return R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":")" + resource + R"(",)" + extra +
         R"("End":true}}})";
}

ExecutionLimits OldHistory() {
  ExecutionLimits limits;
  limits.record_evaluation_failed = false;
  limits.record_resource_events = false;
  return limits;
}

TEST(AwsEventsTest, LambdaFunctionArnRecordsLambdaFunctionEvents) {
  Harness h(TaskMachine(kLambdaArn, R"("TimeoutSeconds":30,)"));
  Decision d = h.Start(R"({"x":1})");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  h.Started(d.tasks_to_schedule[0].task_id);
  h.Succeed(d.tasks_to_schedule[0].task_id, R"({"ok":true})");
  EXPECT_THAT(Types(h.history),
              ElementsAre("ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
                          "LambdaFunctionSucceeded", "TaskStateExited", "ExecutionSucceeded"));
  const HistoryEvent& scheduled = h.history[2];
  EXPECT_EQ(scheduled.details_key, "lambdaFunctionScheduledEventDetails");
  EXPECT_EQ(scheduled.details, Json(std::string(R"({"resource":")") + kLambdaArn +
                                    R"(","input":"{\"x\":1}","inputDetails":{"truncated":false},
                                       "timeoutInSeconds":30})"));
  EXPECT_EQ(h.history[3].details_key, "") << "AWS's LambdaFunctionStarted has no details";
  EXPECT_EQ(h.history[4].details_key, "lambdaFunctionSucceededEventDetails");
  EXPECT_EQ(h.history[4].details, Json(R"({"output":"{\"ok\":true}","outputDetails":{"truncated":false}})"));
}

TEST(AwsEventsTest, LambdaFunctionFailedAndTimedOut) {
  Harness h(TaskMachine(kLambdaArn, R"("TimeoutSeconds":5,"Retry":[{"ErrorEquals":["Boom"]}],)"));
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  d = h.Fail(d.tasks_to_schedule[0].task_id, "Boom", "it broke");
  EXPECT_EQ(FindEvent(h.history, "LambdaFunctionFailed").details, Json(R"({"error":"Boom","cause":"it broke"})"));
  EXPECT_EQ(FindEvent(h.history, "LambdaFunctionFailed").details_key, "lambdaFunctionFailedEventDetails");
  ASSERT_EQ(d.timers_to_start.size(), 1u);  // the retry
  h.now = d.timers_to_start[0].due;
  d = h.Fire(d.timers_to_start[0].timer_id);
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  ASSERT_FALSE(d.timers_to_start.empty());  // the task's timeout
  h.now = d.timers_to_start[0].due;
  h.Fire(d.timers_to_start[0].timer_id);
  const HistoryEvent timed_out = FindEvent(h.history, "LambdaFunctionTimedOut");
  EXPECT_EQ(timed_out.details_key, "lambdaFunctionTimedOutEventDetails");
  EXPECT_EQ(timed_out.details, Json(R"({"error":"States.Timeout"})"));
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
}

TEST(AwsEventsTest, ActivityArnRecordsActivityEventsWithTheWorkerName) {
  Harness h(TaskMachine(kActivityArn, R"("TimeoutSeconds":60,"HeartbeatSeconds":10,)"));
  Decision d = h.Start(R"({"doc":"a"})");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  const std::uint64_t task = d.tasks_to_schedule[0].task_id;
  absl::StatusOr<Decision> started = h.ex().OnTaskStarted(task, h.now, "reviewer-1");
  ASSERT_TRUE(started.ok()) << started.status();
  ASSERT_EQ(started->events.size(), 1u);
  EXPECT_EQ(started->events[0].type, "ActivityStarted");
  EXPECT_EQ(started->events[0].details_key, "activityStartedEventDetails");
  EXPECT_EQ(started->events[0].details, Json(R"({"workerName":"reviewer-1"})"));
  h.Succeed(task, R"("approved")");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "TaskStateEntered", "ActivityScheduled",
                                            "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"));
  EXPECT_EQ(h.history[2].details, Json(std::string(R"({"resource":")") + kActivityArn +
                                       R"(","input":"{\"doc\":\"a\"}","inputDetails":{"truncated":false},
                                          "timeoutInSeconds":60,"heartbeatInSeconds":10})"));
  EXPECT_EQ(h.history[3].details_key, "activitySucceededEventDetails");
}

TEST(AwsEventsTest, ActivityFailedAndStartedWithoutAWorkerName) {
  Harness h(TaskMachine(kActivityArn));
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  h.Started(d.tasks_to_schedule[0].task_id);
  h.Fail(d.tasks_to_schedule[0].task_id, "Rejected", "no");
  EXPECT_EQ(FindEvent(h.history, "ActivityStarted").details, json::object());
  EXPECT_EQ(FindEvent(h.history, "ActivityFailed").details, Json(R"({"error":"Rejected","cause":"no"})"));
}

TEST(AwsEventsTest, ServiceIntegrationsAndShorthandsKeepTaskEvents) {
  for (const char* resource : {"arn:aws:states:::lambda:invoke", "activity:review", "my-queue",
                               "arn:aws:lambda:us-east-1:123456789012:layer:x", "arn:aws:states:::activity:x"}) {
    Harness h(TaskMachine(resource));
    Decision d = h.Start("{}");
    ASSERT_EQ(d.tasks_to_schedule.size(), 1u) << resource;
    EXPECT_EQ(h.history.back().type, "TaskScheduled") << resource;
  }
}

TEST(AwsEventsTest, AnExecutionFromBeforeKeepsTaskEvents) {
  Harness h(TaskMachine(kLambdaArn), OldHistory());
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  h.Started(d.tasks_to_schedule[0].task_id);
  h.Succeed(d.tasks_to_schedule[0].task_id, "{}");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                                            "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"));
}

TEST(AwsEventsTest, CredentialsAreEvaluatedBeforeDispatchAndRecorded) {
  Harness h(TaskMachine("arn:aws:states:::lambda:invoke",
                        R"("InputPath":"$.in","Credentials":{"RoleArn.$":"$.role"},)"));
  Decision d = h.Start(R"({"in":{"role":"arn:aws:iam::1:role/r"}})");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  EXPECT_EQ(FindEvent(h.history, "TaskScheduled").details.at("taskCredentials"),
            Json(R"({"roleArn":"arn:aws:iam::1:role/r"})"));

  Harness lambda(TaskMachine(kLambdaArn, R"("QueryLanguage":"JSONata",
                                           "Credentials":{"RoleArn":"{% $states.input.role %}"},)"));
  d = lambda.Start(R"({"role":"arn:aws:iam::1:role/j"})");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  EXPECT_EQ(FindEvent(lambda.history, "LambdaFunctionScheduled").details.at("taskCredentials"),
            Json(R"({"roleArn":"arn:aws:iam::1:role/j"})"));

  // A credentials path that selects nothing fails the state before anything is dispatched.
  Harness missing(TaskMachine(kLambdaArn, R"("Credentials":{"RoleArn.$":"$.nope"},)"));
  d = missing.Start("{}");
  EXPECT_TRUE(d.tasks_to_schedule.empty());
  EXPECT_EQ(missing.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(missing.ex().error(), "States.Runtime");
}

TEST(AwsEventsTest, EvaluationFailedPrecedesTheFailure) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"S","States":{
      "S":{"Type":"Pass","Output":{"result":"{% $doesNotExist %}"},"End":true}}})");
  h.Start("{}");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "PassStateEntered", "EvaluationFailed",
                                            "ExecutionFailed"));
  const HistoryEvent& e = h.history[2];
  EXPECT_EQ(e.details_key, "evaluationFailedEventDetails");
  EXPECT_EQ(e.details.at("error"), "States.QueryEvaluationError");
  EXPECT_EQ(e.details.at("location"), "Output/result");
  EXPECT_EQ(e.details.at("state"), "S");
  EXPECT_EQ(e.details.at("cause"),
            "An error occurred while executing the state 'S' (entered at the event id #2). The JSONata expression "
            "'$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).");
  EXPECT_EQ(h.history[3].details.at("cause"), e.details.at("cause"));
}

TEST(AwsEventsTest, AThrowingExpressionNamesItsCodeAsAwsDoes) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"S","States":{
      "S":{"Type":"Pass","Output":"{% $notAFunction() %}","End":true}}})");
  h.Start("{}");
  EXPECT_THAT(h.ex().cause(), HasSubstr("specified for the field 'Output' threw an error during evaluation. T1006: "));
  EXPECT_EQ(FindEvent(h.history, "EvaluationFailed").details.at("location"), "Output");
}

TEST(AwsEventsTest, MapItemsThatAreNotAnArrayRecordEvaluationFailedThenMapStateFailed) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% 1 %}",
      "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}})");
  h.Start("{}");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "MapStateEntered", "EvaluationFailed",
                                            "MapStateFailed", "ExecutionFailed"));
  EXPECT_EQ(h.history[2].details.at("location"), "Items");
}

TEST(AwsEventsTest, AnIterationsEvaluationFailureIsRecordedOnceWhereItArose) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":[1],
      "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $nope %}","End":true}}},
      "Catch":[{"ErrorEquals":["States.QueryEvaluationError"],"Next":"Caught"}],"End":true},
      "Caught":{"Type":"Pass","End":true}}})");
  h.Start("{}");
  EXPECT_THAT(Types(h.history),
              ElementsAre("ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapIterationStarted",
                          "PassStateEntered", "EvaluationFailed", "MapIterationFailed", "MapStateFailed",
                          "MapStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"));
  EXPECT_EQ(h.history[5].details.at("state"), "P");
}

TEST(AwsEventsTest, ACatchersOwnOutputFailingIsRecorded) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"q",
      "Catch":[{"ErrorEquals":["States.ALL"],"Output":"{% $missing %}","Next":"N"}],"End":true},
      "N":{"Type":"Pass","End":true}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  h.Fail(d.tasks_to_schedule[0].task_id, "Boom");
  EXPECT_EQ(FindEvent(h.history, "EvaluationFailed").details.at("location"), "Output");
  EXPECT_EQ(h.ex().error(), "States.QueryEvaluationError");
}

TEST(AwsEventsTest, AnExecutionFromBeforeRecordsNoEvaluationFailed) {
  Harness h(R"({"QueryLanguage":"JSONata","StartAt":"S","States":{
      "S":{"Type":"Pass","Output":"{% $doesNotExist %}","End":true}}})",
            OldHistory());
  h.Start("{}");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "PassStateEntered", "ExecutionFailed"));
}

TEST(AwsEventsTest, JsonPathFailuresRecordNoEvaluationFailed) {
  Harness h(R"({"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"a.$":"$.missing"},"End":true}}})");
  h.Start("{}");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "PassStateEntered", "ExecutionFailed"));
}

}  // namespace
}  // namespace stepflow::sm
