// Unit tests for the history an Execution records (event types, ids, previousEventId, details), for
// Stop and the execution timeout, for stale inputs, the payload and history limits, and variables.

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/unit/statemachine/execution_test_util.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using testing::DetailString;
using testing::Harness;
using testing::Json;
using testing::kT0;
using testing::Links;
using testing::Types;

// --- Event sequences

TEST(HistoryTest, PassChain) {
  Harness h(R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},
      "B":{"Type":"Pass","Result":{"b":true},"ResultPath":"$.b","Next":"C"},"C":{"Type":"Pass","End":true}}})");
  h.Start(R"({"in":1})");
  EXPECT_THAT(Types(h.history),
              ElementsAre("ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered",
                          "PassStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"));
  // As AWS records it, the first state's entry has no predecessor (previousEventId 0).
  EXPECT_THAT(Links(h.history),
              ElementsAre(Pair(1, 0), Pair(2, 0), Pair(3, 2), Pair(4, 3), Pair(5, 4), Pair(6, 5), Pair(7, 6),
                          Pair(8, 7)));
  const HistoryEvent& started = h.history[0];
  EXPECT_EQ(started.details_key, "executionStartedEventDetails");
  EXPECT_EQ(DetailString(started, "input"), R"({"in":1})");
  EXPECT_EQ(DetailString(started, "roleArn"), "arn:aws:iam::123456789012:role/test");
  EXPECT_EQ(started.details.at("inputDetails"), Json(R"({"truncated":false})"));
  const HistoryEvent& entered_b = h.history[3];
  EXPECT_EQ(entered_b.details_key, "stateEnteredEventDetails");
  EXPECT_EQ(DetailString(entered_b, "name"), "B");
  EXPECT_EQ(DetailString(entered_b, "input"), R"({"in":1})");
  const HistoryEvent& exited_b = h.history[4];
  EXPECT_EQ(exited_b.details_key, "stateExitedEventDetails");
  EXPECT_EQ(DetailString(exited_b, "output"), R"({"in":1,"b":{"b":true}})");
  EXPECT_EQ(exited_b.details.at("outputDetails"), Json(R"({"truncated":false})"));
  EXPECT_EQ(DetailString(h.history.back(), "output"), R"({"in":1,"b":{"b":true}})");
  for (const HistoryEvent& e : h.history) {
    EXPECT_EQ(e.timestamp, kT0) << e.type;
  }
  EXPECT_EQ(h.ex().last_event_id(), 8);
}

TEST(HistoryTest, Task) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
      "Parameters":{"FunctionName":"f"},"End":true}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  std::uint64_t task = d.tasks_to_schedule[0].task_id;
  h.now = kT0 + 10;
  h.Started(task);
  h.now = kT0 + 20;
  h.Succeed(task, R"({"ok":1})");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                                            "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"));
  EXPECT_THAT(Links(h.history),
              ElementsAre(Pair(1, 0), Pair(2, 0), Pair(3, 2), Pair(4, 3), Pair(5, 4), Pair(6, 5), Pair(7, 6)));
  EXPECT_EQ(h.history[3].timestamp, kT0 + 10);
  EXPECT_EQ(h.history[4].timestamp, kT0 + 20);
  EXPECT_EQ(h.history[3].details, Json(R"({"resourceType":"lambda","resource":"invoke"})"));
  EXPECT_EQ(h.history[2].details,
            Json(R"({"resourceType":"lambda","resource":"invoke","region":"us-east-1",
                     "parameters":"{\"FunctionName\":\"f\"}"})"));
  EXPECT_EQ(h.history[4].details, Json(R"({"resourceType":"lambda","resource":"invoke","output":"{\"ok\":1}",
                                           "outputDetails":{"truncated":false}})"));
  EXPECT_EQ(h.ex().output(), Json(R"({"ok":1})"));
}

TEST(HistoryTest, MapWithMaxConcurrencyOne) {
  Harness h(R"({"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,
      "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}})");
  h.Start(R"(["a","b"])");
  EXPECT_THAT(Types(h.history),
              ElementsAre("ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapIterationStarted",
                          "PassStateEntered", "PassStateExited", "MapIterationSucceeded", "MapIterationStarted",
                          "PassStateEntered", "PassStateExited", "MapIterationSucceeded", "MapStateSucceeded",
                          "MapStateExited", "ExecutionSucceeded"));
  for (std::size_t i = 0; i < h.history.size(); ++i) {
    EXPECT_EQ(h.history[i].id, static_cast<std::int64_t>(i + 1));
  }
  // The links AWS records the same way: each iteration hangs off its MapIterationStarted.
  EXPECT_EQ(h.history[1].previous_event_id, 0);
  EXPECT_EQ(h.history[2].previous_event_id, 2);
  EXPECT_EQ(h.history[3].previous_event_id, 3);
  EXPECT_EQ(h.history[4].previous_event_id, 4);
  EXPECT_EQ(h.history[5].previous_event_id, 5);
  EXPECT_EQ(h.history[8].previous_event_id, 8);
  EXPECT_EQ(h.history[13].previous_event_id, 13);
  EXPECT_EQ(h.history[2].details, Json(R"({"length":2})"));
  EXPECT_EQ(h.history[2].details_key, "mapStateStartedEventDetails");
  EXPECT_EQ(h.history[3].details, Json(R"({"name":"M","index":0})"));
  EXPECT_EQ(h.history[3].details_key, "mapIterationStartedEventDetails");
  EXPECT_EQ(h.history[10].details, Json(R"({"name":"M","index":1})"));
  EXPECT_EQ(h.history[10].details_key, "mapIterationSucceededEventDetails");
  EXPECT_EQ(h.history[11].details_key, "");
  EXPECT_EQ(DetailString(h.history[12], "output"), R"(["a","b"])");
}

TEST(HistoryTest, FailState) {
  Harness h(R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"F"},
      "F":{"Type":"Fail","Error":"Oops","Cause":"went wrong"}}})");
  h.Start("{}");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "PassStateEntered", "PassStateExited",
                                            "FailStateEntered", "ExecutionFailed"));
  EXPECT_THAT(Links(h.history), ElementsAre(Pair(1, 0), Pair(2, 0), Pair(3, 2), Pair(4, 3), Pair(5, 4)));
  EXPECT_EQ(h.history.back().details_key, "executionFailedEventDetails");
  EXPECT_EQ(h.history.back().details, Json(R"({"error":"Oops","cause":"went wrong"})"));
}

TEST(HistoryTest, UncaughtTaskFailure) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  h.Fail(d.tasks_to_schedule[0].task_id, "Worker.Error", "bad input");
  EXPECT_THAT(Types(h.history),
              ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskFailed", "ExecutionFailed"));
  EXPECT_EQ(h.history.back().previous_event_id, 4);
  EXPECT_EQ(h.history[3].details,
            Json(R"({"resourceType":"task","resource":"r","error":"Worker.Error","cause":"bad input"})"));
  EXPECT_EQ(h.history.back().details, Json(R"({"error":"Worker.Error","cause":"bad input"})"));
}

// --- Stop and the execution timeout

constexpr char kTaskWithTimeout[] = R"({"TimeoutSeconds":60,"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"r","Next":"W"},"W":{"Type":"Wait","Seconds":5,"End":true}}})";

TEST(StopTest, AbortsAndCancelsTheTaskAndTimers) {
  Harness h(kTaskWithTimeout);
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  ASSERT_EQ(d.timers_to_start.size(), 1u);  // the execution timeout
  EXPECT_EQ(d.timers_to_start[0].due, kT0 + 60'000);
  h.now = kT0 + 1'000;
  Decision stop = h.Stop("User.Stop", "no longer needed");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kAborted);
  EXPECT_THAT(Types(stop.events), ElementsAre("ExecutionAborted"));
  EXPECT_EQ(stop.events[0].details_key, "executionAbortedEventDetails");
  EXPECT_EQ(stop.events[0].details, Json(R"({"error":"User.Stop","cause":"no longer needed"})"));
  EXPECT_EQ(stop.events[0].timestamp, kT0 + 1'000);
  EXPECT_THAT(stop.tasks_to_cancel, ElementsAre(d.tasks_to_schedule[0].task_id));
  EXPECT_THAT(stop.timers_to_cancel, ElementsAre(d.timers_to_start[0].timer_id));
  EXPECT_TRUE(absl::IsFailedPrecondition(h.ex().Stop("again", "", h.now).status()));
  EXPECT_TRUE(absl::IsNotFound(
      h.ex().OnTaskSucceeded(d.tasks_to_schedule[0].task_id, Json("{}"), h.now, h.rv).status()));
}

TEST(StopTest, CancelsAPendingWait) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  Decision stop = h.Stop("", "");
  EXPECT_THAT(stop.timers_to_cancel, ElementsAre(d.timers_to_start[0].timer_id));
  EXPECT_EQ(stop.events[0].details, json::object());
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTimerFired(d.timers_to_start[0].timer_id, h.now, h.rv).status()));
}

TEST(StopTest, NotStartedIsFailedPrecondition) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})");
  EXPECT_TRUE(absl::IsFailedPrecondition(h.ex().Stop("", "", kT0).status()));
}

TEST(TimeoutTest, ExecutionTimeoutEndsTimedOut) {
  Harness h(kTaskWithTimeout);
  Decision d = h.Start("{}");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  h.now = kT0 + 60'000;
  Decision fired = h.Fire(d.timers_to_start[0].timer_id);
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kTimedOut);
  EXPECT_EQ(h.ex().error(), "States.Timeout");
  EXPECT_THAT(Types(fired.events), ElementsAre("ExecutionTimedOut"));
  EXPECT_EQ(fired.events[0].details_key, "executionTimedOutEventDetails");
  EXPECT_EQ(DetailString(fired.events[0], "error"), "States.Timeout");
  EXPECT_THAT(fired.tasks_to_cancel, ElementsAre(d.tasks_to_schedule[0].task_id));
  EXPECT_TRUE(absl::IsNotFound(
      h.ex().OnTaskSucceeded(d.tasks_to_schedule[0].task_id, Json("{}"), h.now, h.rv).status()));
}

TEST(TimeoutTest, FinishingInTimeCancelsTheTimeoutTimer) {
  Harness h(R"({"TimeoutSeconds":60,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"End":true}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.timers_to_start.size(), 2u);
  std::uint64_t timeout = d.timers_to_start[0].timer_id;
  std::uint64_t wait = d.timers_to_start[1].timer_id;
  EXPECT_EQ(d.timers_to_start[1].due, kT0 + 5'000);
  h.now = kT0 + 5'000;
  Decision fired = h.Fire(wait);
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_THAT(fired.timers_to_cancel, ElementsAre(timeout));
}

// --- Stale inputs: refused with NotFound, nothing recorded

TEST(StaleInputTest, UnknownTaskAndTimerAreNotFound) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}})");
  h.Start("{}");
  std::int64_t last = h.ex().last_event_id();
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTaskSucceeded(999, Json("1"), kT0, h.rv).status()));
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTaskFailed(999, "E", "", kT0, h.rv).status()));
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTaskStarted(999, kT0).status()));
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTimerFired(999, kT0, h.rv).status()));
  EXPECT_EQ(h.ex().last_event_id(), last);
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kRunning);
}

TEST(StaleInputTest, TimerFiredTwice) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"W2"},
      "W2":{"Type":"Wait","Seconds":1,"End":true}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  h.now = kT0 + 1'000;
  h.Fire(d.timers_to_start[0].timer_id);
  std::int64_t last = h.ex().last_event_id();
  absl::StatusOr<Decision> again = h.ex().OnTimerFired(d.timers_to_start[0].timer_id, h.now, h.rv);
  EXPECT_TRUE(absl::IsNotFound(again.status()));
  EXPECT_EQ(h.ex().last_event_id(), last);
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kRunning);
}

TEST(StaleInputTest, DuplicateCompletion) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Next":"T2"},
      "T2":{"Type":"Task","Resource":"r","End":true}}})");
  Decision d = h.Start("{}");
  std::uint64_t task = d.tasks_to_schedule[0].task_id;
  h.Succeed(task, "1");
  std::int64_t last = h.ex().last_event_id();
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTaskSucceeded(task, Json("2"), kT0, h.rv).status()));
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTaskFailed(task, "E", "", kT0, h.rv).status()));
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTaskStarted(task, kT0).status()));
  EXPECT_EQ(h.ex().last_event_id(), last);
}

TEST(StaleInputTest, DuplicateTaskStartedRecordsOneEvent) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}})");
  Decision d = h.Start("{}");
  std::uint64_t task = d.tasks_to_schedule[0].task_id;
  h.Started(task);
  std::int64_t last = h.ex().last_event_id();
  absl::StatusOr<Decision> again = h.ex().OnTaskStarted(task, kT0);
  EXPECT_TRUE(!again.ok() || again->events.empty()) << "a second TaskStarted was recorded";
  EXPECT_EQ(h.ex().last_event_id(), last);
}

TEST(StaleInputTest, StartTwiceIsFailedPrecondition) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})");
  h.Start("{}");
  EXPECT_TRUE(absl::IsFailedPrecondition(h.ex().Start(Json("{}"), kT0, h.rv).status()));
}

// --- Limits

TEST(LimitTest, StateOutputOverThePayloadLimit) {
  ExecutionLimits limits;
  limits.max_payload_bytes = 50;
  Harness h(absl::StrCat(R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":")", std::string(60, 'a'),
                         R"(","End":true}}})"),
            limits);
  h.Start("{}");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.DataLimitExceeded");
  EXPECT_EQ(h.ex().cause(),
            "The state/task 'P' returned a result with a size exceeding the maximum number of bytes service limit.");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "PassStateEntered", "ExecutionFailed"));
}

TEST(LimitTest, OutputAtThePayloadLimitIsFine) {
  ExecutionLimits limits;
  limits.max_payload_bytes = 12;
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":"0123456789","End":true}}})", limits);
  h.Start("{}");  // "\"0123456789\"" is 12 bytes
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
}

TEST(LimitTest, ExecutionInputOverThePayloadLimit) {
  ExecutionLimits limits;
  limits.max_payload_bytes = 10;
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})", limits);
  h.Start(R"({"a":"0123456789"})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.DataLimitExceeded");
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "ExecutionFailed"));
}

TEST(LimitTest, HistoryLimitFailsWithStatesRuntime) {
  ExecutionLimits limits;
  limits.max_history_events = 6;
  Harness h(R"({"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"C"},
      "C":{"Type":"Pass","End":true}}})",
            limits);
  h.Start("{}");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.Runtime");
  EXPECT_EQ(h.ex().cause(), "The execution reached the maximum number of history events (6).");
  ASSERT_EQ(h.history.size(), 6u);
  EXPECT_EQ(h.history.back().type, "ExecutionFailed");
  EXPECT_EQ(h.history.back().id, 6);
}

TEST(LimitTest, HistoryLimitReachedOnTaskScheduledSchedulesNothing) {
  ExecutionLimits limits;
  limits.max_history_events = 4;
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}})", limits);
  Decision d = h.Start("{}");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_THAT(Types(h.history), ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "ExecutionFailed"));
  EXPECT_THAT(d.tasks_to_schedule, IsEmpty());
  EXPECT_THAT(d.tasks_to_cancel, IsEmpty());
}

// --- Commands of one Decision never contradict each other

TEST(DecisionTest, WorkStartedAndCancelledInOneInputIsNeverIssued) {
  Harness h(R"({"StartAt":"Par","States":{"Par":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"r","End":true}}},
        {"StartAt":"Nap","States":{"Nap":{"Type":"Wait","Seconds":5,"End":true}}},
        {"StartAt":"Boom","States":{"Boom":{"Type":"Fail","Error":"Bad"}}}]}}})");
  Decision d = h.Start("{}");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_THAT(d.tasks_to_schedule, IsEmpty());
  EXPECT_THAT(d.tasks_to_cancel, IsEmpty());
  EXPECT_THAT(d.timers_to_start, IsEmpty());
  EXPECT_THAT(d.timers_to_cancel, IsEmpty());
}

// --- Variables

TEST(AssignTest, VariablesAreVisibleLaterAndReadPreAssignmentValues) {
  Harness h(R"j({"StartAt":"A","States":{
      "A":{"Type":"Pass","Assign":{"x":1,"y":2},"Next":"B"},
      "B":{"Type":"Pass","Assign":{"x.$":"$y","y.$":"$x","sum.$":"States.MathAdd($x, $y)"},"Next":"C"},
      "C":{"Type":"Pass","Parameters":{"x.$":"$x","y.$":"$y","sum.$":"$sum"},"End":true}}})j");
  h.Start("{}");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded) << h.ex().cause();
  EXPECT_EQ(h.ex().output(), Json(R"({"x":2,"y":1,"sum":3})"));
}

// The details of every <Type>StateExited event, in order.
std::vector<boost::json::object> StateExitedDetails(const std::vector<HistoryEvent>& history) {
  std::vector<boost::json::object> exits;
  for (const HistoryEvent& e : history) {
    if (e.type.ends_with("StateExited")) {
      exits.push_back(e.details);
    }
  }
  return exits;
}

// As AWS records them: each StateExited of a state that assigned lists the variables its Assign gave values to, each
// as JSON text, so that the variables as of any event can be folded from the history (the console's time
// travel); a state that assigns nothing has no such field.
TEST(AssignTest, StateExitedRecordsTheAssignedVariables) {
  Harness h(R"j({"StartAt":"A","States":{
      "A":{"Type":"Pass","Assign":{"x":1,"list":[1,"two"]},"Next":"B"},
      "B":{"Type":"Pass","Next":"C"},
      "C":{"Type":"Choice","Choices":[{"Variable":"$x","NumericEquals":1,"Assign":{"x":2},"Next":"D"}],
           "Default":"D"},
      "D":{"Type":"Pass","End":true}}})j");
  h.Start("{}");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded) << h.ex().cause();
  const std::vector<boost::json::object> exits = StateExitedDetails(h.history);
  ASSERT_EQ(exits.size(), 4u);
  EXPECT_EQ(exits[0].at("assignedVariables"), Json(R"({"x":"1","list":"[1,\"two\"]"})"));
  EXPECT_EQ(exits[0].at("assignedVariablesDetails"), Json(R"({"truncated":false})"));
  EXPECT_FALSE(exits[1].contains("assignedVariables"));
  EXPECT_EQ(exits[2].at("assignedVariables"), Json(R"({"x":"2"})"));
  EXPECT_FALSE(exits[3].contains("assignedVariables"));
}

// AWS lists every name an Assign gives a value to, also one given the value it already had.
TEST(AssignTest, AVariableAssignedItsOwnValueIsListed) {
  Harness h(R"({"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"Next":"B"},
      "B":{"Type":"Pass","Assign":{"x":1,"y.$":"$x"},"End":true}}})");
  h.Start("{}");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded) << h.ex().cause();
  const std::vector<boost::json::object> exits = StateExitedDetails(h.history);
  ASSERT_EQ(exits.size(), 2u);
  EXPECT_EQ(exits[1].at("assignedVariables"), Json(R"({"x":"1","y":"1"})"));
}

// An execution started under semantics version 3 or older (engine/semantics_version.h) keeps the StateExited
// events it had: no assignedVariables.
TEST(AssignTest, OlderExecutionsRecordNoAssignedVariables) {
  ExecutionLimits older;
  older.record_assigned_variables = false;
  Harness h(R"({"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"Next":"B"},
      "B":{"Type":"Pass","Assign":{"y":2},"End":true}}})", older);
  h.Start("{}");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded) << h.ex().cause();
  for (const HistoryEvent& e : h.history) {
    EXPECT_FALSE(e.details.contains("assignedVariables")) << e.type;
  }
}

TEST(AssignTest, AssignReadsTheStateResult) {
  Harness h(R"({"StartAt":"T","States":{
      "T":{"Type":"Task","Resource":"r","Assign":{"got.$":"$.v"},"ResultPath":null,"Next":"P"},
      "P":{"Type":"Pass","Parameters":{"got.$":"$got"},"End":true}}})");
  Decision d = h.Start(R"({"v":"input"})");
  h.Succeed(d.tasks_to_schedule[0].task_id, R"({"v":"result"})");
  EXPECT_EQ(h.ex().output(), Json(R"({"got":"result"})"));
}

TEST(AssignTest, MapIterationsSeeOuterVariables) {
  Harness h(R"({"StartAt":"A","States":{
      "A":{"Type":"Pass","Assign":{"k":10},"Next":"M"},
      "M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{
          "P":{"Type":"Pass","Parameters":{"k.$":"$k","v.$":"$"},"End":true}}},"End":true}}})");
  h.Start("[1,2]");
  EXPECT_EQ(h.ex().output(), Json(R"([{"k":10,"v":1},{"k":10,"v":2}])"));
}

}  // namespace
}  // namespace stepflow::sm
