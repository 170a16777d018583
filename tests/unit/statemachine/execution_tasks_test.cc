// Unit tests for what workers need from the interpreter: TimeoutSeconds and HeartbeatSeconds timers
// (TaskTimedOut), where a task stands for late reports, dead letters when retries are exhausted, and
// RedriveExecution (the root's failed state again; only unsuccessful Map iterations and Parallel branches).

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/statemachine/execution_test_util.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using testing::Harness;
using testing::Json;
using testing::kT0;

std::uint64_t OnlyTask(const Decision& d) {
  EXPECT_EQ(d.tasks_to_schedule.size(), 1u);
  return d.tasks_to_schedule.empty() ? 0 : d.tasks_to_schedule[0].task_id;
}

// The one timer the decision started that is due `after_ms` from now.
std::uint64_t TimerDueIn(const Harness& h, const Decision& d, common::EpochMillis after_ms) {
  for (const TimerCommand& t : d.timers_to_start) {
    if (t.due == h.now + after_ms) {
      return t.timer_id;
    }
  }
  ADD_FAILURE() << "no timer due in " << after_ms << " ms";
  return 0;
}

constexpr char kTimeoutTask[] = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q",
  "TimeoutSeconds":5,"HeartbeatSeconds":2,"End":true}}})";

TEST(TaskTimeouts, TimeoutSecondsFailsTheTaskWithStatesTimeout) {
  Harness h(kTimeoutTask);
  Decision start = h.Start("{}");
  std::uint64_t task = OnlyTask(start);
  std::uint64_t timeout = TimerDueIn(h, start, 5000);
  h.now += 5000;
  Decision fired = h.Fire(timeout);
  EXPECT_THAT(fired.tasks_to_cancel, ElementsAre(task));
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.Timeout");
  EXPECT_EQ(testing::FindEvent(h.history, "TaskTimedOut").details.at("error"), "States.Timeout");
  EXPECT_EQ(h.ex().task_standing(task), TaskStanding::kTimedOut);
  // A late result is refused and changes nothing.
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTaskSucceeded(task, Json("{}"), h.now, h.rv).status()));
}

TEST(TaskTimeouts, HeartbeatTimerStartsWithTheWorkerAndHeartbeatsPushItBack) {
  Harness h(kTimeoutTask);
  std::uint64_t task = OnlyTask(h.Start("{}"));
  EXPECT_EQ(h.ex().task_standing(task), TaskStanding::kPending);
  h.now += 1000;
  Decision started = h.Started(task);
  EXPECT_EQ(h.ex().task_standing(task), TaskStanding::kStarted);
  std::uint64_t first = TimerDueIn(h, started, 2000);
  h.now += 1500;
  absl::StatusOr<Decision> beat = h.ex().OnTaskHeartbeat(task, h.now);
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_THAT(beat->timers_to_cancel, ElementsAre(first));
  std::uint64_t second = TimerDueIn(h, *beat, 2000);
  EXPECT_TRUE(beat->events.empty()) << "heartbeats are not history";
  // The old timer, if it still fires (a crash between commit and disarm), is ignored.
  EXPECT_TRUE(absl::IsNotFound(h.ex().OnTimerFired(first, h.now, h.rv).status()));
  h.now += 2000;
  h.Fire(second);
  EXPECT_EQ(h.ex().error(), "States.HeartbeatTimeout");
  EXPECT_EQ(h.ex().task_standing(task), TaskStanding::kTimedOut);
}

TEST(TaskTimeouts, HeartbeatWithoutHeartbeatSecondsChangesNothing) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q","End":true}}})");
  std::uint64_t task = OnlyTask(h.Start("{}"));
  absl::StatusOr<Decision> beat = h.ex().OnTaskHeartbeat(task, h.now);
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->events.empty() && beat->timers_to_start.empty() && beat->timers_to_cancel.empty());
}

TEST(TaskTimeouts, ResultCancelsBothTimers) {
  Harness h(kTimeoutTask);
  Decision start = h.Start("{}");
  std::uint64_t task = OnlyTask(start);
  std::uint64_t timeout = TimerDueIn(h, start, 5000);
  Decision started = h.Started(task);
  std::uint64_t heartbeat = TimerDueIn(h, started, 2000);
  Decision done = h.Succeed(task, R"({"ok":1})");
  EXPECT_THAT(done.timers_to_cancel, ::testing::UnorderedElementsAre(timeout, heartbeat));
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().task_standing(task), TaskStanding::kAnswered);
  EXPECT_EQ(h.ex().task_standing(999), TaskStanding::kUnknown);
}

TEST(TaskTimeouts, StopCancelsThePendingTask) {
  Harness h(kTimeoutTask);
  std::uint64_t task = OnlyTask(h.Start("{}"));
  Decision stopped = h.Stop("E", "C");
  EXPECT_THAT(stopped.tasks_to_cancel, ElementsAre(task));
  EXPECT_EQ(h.ex().task_standing(task), TaskStanding::kCancelled);
}

constexpr char kRetried[] = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q",
  "Retry":[{"ErrorEquals":["Boom"],"MaxAttempts":1,"IntervalSeconds":1}],
  "Catch":[{"ErrorEquals":["Other"],"Next":"Caught"}],"End":true},
  "Caught":{"Type":"Pass","End":true}}})";

TEST(DeadLetters, ExhaustedRetriesRecordEveryAttempt) {
  Harness h(kRetried);
  std::uint64_t first = OnlyTask(h.Start(R"({"n":1})"));
  h.ex().OnTaskStarted(first, h.now, "worker-a").IgnoreError();
  h.now += 100;
  Decision retry = h.Fail(first, "Boom", "first cause");
  EXPECT_TRUE(retry.dead_letters.empty()) << "a retry follows: not a dead letter yet";
  h.now += 1000;
  std::uint64_t second = OnlyTask(h.Fire(retry.timers_to_start.at(0).timer_id));
  h.ex().OnTaskStarted(second, h.now, "worker-b").IgnoreError();
  h.now += 100;
  Decision failed = h.Fail(second, "Boom", "second cause");
  ASSERT_EQ(failed.dead_letters.size(), 1u);
  const DeadLetterCommand& dl = failed.dead_letters[0];
  EXPECT_EQ(dl.task_id, second);
  EXPECT_EQ(dl.state_name, "T");
  EXPECT_EQ(dl.resource, "q");
  EXPECT_EQ(dl.input, Json(R"({"n":1})"));
  ASSERT_EQ(dl.attempts.size(), 2u);
  EXPECT_EQ(dl.attempts[0].worker, "worker-a");
  EXPECT_EQ(dl.attempts[0].attempt, 0);
  EXPECT_EQ(dl.attempts[0].cause, "first cause");
  EXPECT_EQ(dl.attempts[0].started, kT0);
  EXPECT_EQ(dl.attempts[0].ended, kT0 + 100);
  EXPECT_EQ(dl.attempts[1].worker, "worker-b");
  EXPECT_EQ(dl.attempts[1].attempt, 1);
  EXPECT_EQ(dl.attempts[1].error, "Boom");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
}

TEST(DeadLetters, CaughtFailuresAreDeadLettersToo) {
  Harness h(kRetried);
  std::uint64_t task = OnlyTask(h.Start("{}"));
  Decision caught = h.Fail(task, "Other", "c");
  EXPECT_EQ(caught.dead_letters.size(), 1u);
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
}

TEST(DeadLetters, TimeoutsCountAsAttempts) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q","TimeoutSeconds":1,"End":true}}})");
  Decision start = h.Start("{}");
  h.now += 1000;
  Decision fired = h.Fire(start.timers_to_start.at(0).timer_id);
  ASSERT_EQ(fired.dead_letters.size(), 1u);
  EXPECT_EQ(fired.dead_letters[0].attempts.at(0).error, "States.Timeout");
  EXPECT_EQ(fired.dead_letters[0].attempts.at(0).started, 0) << "no worker took it";
}

TEST(Redrive, FailedTaskRunsAgainFromItsState) {
  Harness h(R"({"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"a":1},"Next":"T"},
    "T":{"Type":"Task","Resource":"q","Next":"B"},"B":{"Type":"Pass","End":true}}})");
  std::uint64_t task = OnlyTask(h.Start("{}"));
  h.Fail(task, "Boom", "c");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_TRUE(absl::IsFailedPrecondition(h.ex().OnTaskStarted(task, h.now).status()) ||
              absl::IsNotFound(h.ex().OnTaskStarted(task, h.now).status()));
  const std::size_t before = h.history.size();
  absl::StatusOr<Decision> redriven = h.ex().Redrive(h.now, h.rv);
  ASSERT_TRUE(redriven.ok()) << redriven.status();
  h.history.insert(h.history.end(), redriven->events.begin(), redriven->events.end());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kRunning);
  EXPECT_EQ(h.ex().redrive_count(), 1);
  std::vector<std::string> types = testing::Types({h.history.begin() + before, h.history.end()});
  EXPECT_THAT(types, ElementsAre("ExecutionRedriven", "TaskStateEntered", "TaskScheduled"));
  std::uint64_t again = OnlyTask(*redriven);
  EXPECT_EQ(redriven->tasks_to_schedule[0].input, Json(R"({"a":1})")) << "the state's own input again";
  h.Succeed(again, R"({"done":true})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_TRUE(absl::IsFailedPrecondition(h.ex().Redrive(h.now, h.rv).status())) << "SUCCEEDED is not redrivable";
}

TEST(Redrive, RunningExecutionsAreNotRedrivable) {
  Harness h(kTimeoutTask);
  h.Start("{}");
  EXPECT_TRUE(absl::IsFailedPrecondition(h.ex().Redrive(h.now, h.rv).status()));
}

TEST(Redrive, MapRerunsOnlyTheIterationsThatDidNotSucceed) {
  Harness h(R"({"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{
    "ProcessorConfig":{"Mode":"INLINE"},"StartAt":"W","States":{"W":{"Type":"Task","Resource":"q","End":true}}}}}})");
  Decision start = h.Start("[1,2,3]");
  ASSERT_EQ(start.tasks_to_schedule.size(), 3u);
  h.Succeed(start.tasks_to_schedule[0].task_id, R"("one")");
  h.Fail(start.tasks_to_schedule[1].task_id, "Boom", "c");  // aborts iteration 2 (index 2)
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  absl::StatusOr<Decision> redriven = h.ex().Redrive(h.now, h.rv);
  ASSERT_TRUE(redriven.ok()) << redriven.status();
  ASSERT_EQ(redriven->tasks_to_schedule.size(), 2u) << "iteration 0 succeeded and is not rerun";
  EXPECT_EQ(redriven->tasks_to_schedule[0].input, Json("2"));
  EXPECT_EQ(redriven->tasks_to_schedule[1].input, Json("3"));
  h.Succeed(redriven->tasks_to_schedule[0].task_id, R"("two")");
  h.Succeed(redriven->tasks_to_schedule[1].task_id, R"("three")");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(), Json(R"(["one","two","three"])"));
}

TEST(Redrive, ParallelResumesAFailedBranchAtItsFailedState) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
    {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"a","End":true}}},
    {"StartAt":"B0","States":{"B0":{"Type":"Pass","Result":"b0","Next":"B"},
                              "B":{"Type":"Task","Resource":"b","End":true}}}]}}})");
  Decision start = h.Start("{}");
  ASSERT_EQ(start.tasks_to_schedule.size(), 2u);
  h.Succeed(start.tasks_to_schedule[0].task_id, R"("a")");
  h.Fail(start.tasks_to_schedule[1].task_id, "Boom", "c");
  absl::StatusOr<Decision> redriven = h.ex().Redrive(h.now, h.rv);
  ASSERT_TRUE(redriven.ok());
  ASSERT_EQ(redriven->tasks_to_schedule.size(), 1u);
  EXPECT_EQ(redriven->tasks_to_schedule[0].resource, "b");
  EXPECT_EQ(redriven->tasks_to_schedule[0].input, Json(R"("b0")")) << "B's input; B0 is not rerun";
  h.Succeed(redriven->tasks_to_schedule[0].task_id, R"("b")");
  EXPECT_EQ(h.ex().output(), Json(R"(["a","b"])"));
}

TEST(Redrive, DeadLetterWithPatchedInputAndRedriveCount) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q",
    "Parameters":{"in.$":"$","count.$":"$$.Execution.RedriveCount"},"End":true}}})");
  std::uint64_t task = OnlyTask(h.Start(R"({"x":1})"));
  Decision failed = h.Fail(task, "Boom", "c");
  ASSERT_EQ(failed.dead_letters.size(), 1u);
  RedrivenDeadLetters dls{{task, Json(R"({"patched":true})")}};
  absl::StatusOr<Decision> redriven = h.ex().Redrive(h.now, h.rv, dls);
  ASSERT_TRUE(redriven.ok());
  EXPECT_EQ(redriven->tasks_to_schedule.at(0).input, Json(R"({"patched":true})"));
  ASSERT_GE(redriven->events.size(), 2u);
  EXPECT_EQ(redriven->events[1].type, "DeadLetterRedriven");
  // Without a patch, the Parameters see the redrive count.
  h.Fail(redriven->tasks_to_schedule.at(0).task_id, "Boom", "c");
  absl::StatusOr<Decision> again = h.ex().Redrive(h.now, h.rv);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tasks_to_schedule.at(0).input, Json(R"({"in":{"x":1},"count":2})"));
}

// AWS: $$.Execution.RedriveTime exists once the execution has been redriven: the time of the last redrive.
TEST(Redrive, ContextShowsRedriveTimeOnlyAfterARedrive) {
  for (const char* definition : {
           R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q",
               "Parameters":{"execution.$":"$$.Execution"},"End":true}}})",
           R"({"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"q",
               "Arguments":{"execution":"{% $states.context.Execution %}"},"End":true}}})"}) {
    SCOPED_TRACE(definition);
    Harness h(definition);
    Decision start = h.Start("{}");
    const json::object& first = start.tasks_to_schedule.at(0).input.at("execution").as_object();
    EXPECT_EQ(first.if_contains("RedriveTime"), nullptr);
    EXPECT_EQ(first.at("RedriveCount"), json::value(0));
    h.Fail(start.tasks_to_schedule.at(0).task_id, "Boom", "c");
    for (int round = 1; round <= 2; ++round) {
      h.now += 60000;
      absl::StatusOr<Decision> redriven = h.ex().Redrive(h.now, h.rv);
      ASSERT_TRUE(redriven.ok());
      const json::object& again = redriven->tasks_to_schedule.at(0).input.at("execution").as_object();
      EXPECT_EQ(again.at("RedriveCount"), json::value(round));
      ASSERT_NE(again.if_contains("RedriveTime"), nullptr);
      EXPECT_EQ(again.at("RedriveTime"), json::value(common::FormatIso8601(h.now)));
      h.Fail(redriven->tasks_to_schedule.at(0).task_id, "Boom", "c");
    }
  }
}

// The time of the last redrive is part of the interpreter's state: an execution restored from a snapshot
// taken after a redrive shows the same $$.Execution.RedriveTime as the one that was redriven.
TEST(Redrive, RedriveTimeSurvivesASnapshot) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q",
      "Parameters":{"execution.$":"$$.Execution"},"Retry":[{"ErrorEquals":["Again"]}],"End":true}}})");
  Decision start = h.Start("{}");
  h.Fail(start.tasks_to_schedule.at(0).task_id, "Boom", "c");
  h.now += 60000;
  const common::EpochMillis redriven_at = h.now;
  absl::StatusOr<Decision> redriven = h.ex().Redrive(h.now, h.rv);
  ASSERT_TRUE(redriven.ok());
  absl::StatusOr<std::unique_ptr<Execution>> restored =
      Execution::Restore(testing::ParseMachine(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q",
      "Parameters":{"execution.$":"$$.Execution"},"Retry":[{"ErrorEquals":["Again"]}],"End":true}}})"),
                         testing::TestInfo(), ExecutionLimits{}, h.ex().SaveState());
  ASSERT_TRUE(restored.ok()) << restored.status();
  h.now += 1000;
  // The retry's new attempt builds its Parameters again, from the restored state.
  absl::StatusOr<Decision> retried =
      (*restored)->OnTaskFailed(redriven->tasks_to_schedule.at(0).task_id, "Again", "", h.now, h.rv);
  ASSERT_TRUE(retried.ok()) << retried.status();
  ASSERT_EQ(retried->timers_to_start.size(), 1u);
  h.now = retried->timers_to_start[0].due;
  absl::StatusOr<Decision> fired = (*restored)->OnTimerFired(retried->timers_to_start[0].timer_id, h.now, h.rv);
  ASSERT_TRUE(fired.ok()) << fired.status();
  ASSERT_EQ(fired->tasks_to_schedule.size(), 1u);
  const json::object& execution = fired->tasks_to_schedule[0].input.at("execution").as_object();
  EXPECT_EQ(execution.at("RedriveTime"), json::value(common::FormatIso8601(redriven_at)));
}

TEST(Redrive, TimedOutExecutionResumesWhereItWasAndRestartsItsTimeout) {
  Harness h(R"({"TimeoutSeconds":10,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"q","End":true}}})");
  Decision start = h.Start("{}");
  h.now += 10000;
  h.Fire(start.timers_to_start.at(0).timer_id);
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kTimedOut);
  absl::StatusOr<Decision> redriven = h.ex().Redrive(h.now, h.rv);
  ASSERT_TRUE(redriven.ok());
  EXPECT_EQ(redriven->tasks_to_schedule.size(), 1u);
  TimerDueIn(h, *redriven, 10000);
}

TEST(DeadLetters, DiscardIsRecordedInAnEndedExecutionsHistory) {
  Harness h(kRetried);
  std::uint64_t task = OnlyTask(h.Start("{}"));
  h.Fail(task, "Nope", "c");
  ASSERT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  absl::StatusOr<Decision> d = h.ex().RecordDeadLetterDiscarded(task, "T", h.now);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->events.size(), 1u);
  EXPECT_EQ(d->events[0].type, "DeadLetterDiscarded");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
}

}  // namespace
}  // namespace stepflow::sm
