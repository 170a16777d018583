// Unit tests for Retry and Catch: backoff timers per attempt, retrier selection and counters, jitter,
// $$.State.RetryCount, catcher selection, and the errors that neither Retry nor Catch may handle.

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/unit/statemachine/execution_test_util.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using testing::Harness;
using testing::Json;
using testing::kT0;

// A Task state "T" with the given Retry/Catch fields, and the Pass states its catchers may go to (only
// those a catcher names, so that every state is reachable). Each handler outputs its own name.
std::string TaskWith(const std::string& retry_and_catch, const std::string& extra = "") {
  std::string handlers;
  for (const char* name : {"X", "E1", "TF", "All"}) {
    if (retry_and_catch.find(absl::StrCat(R"("Next":")", name, R"(")")) != std::string::npos) {
      absl::StrAppend(&handlers, R"(,")", name, R"(":{"Type":"Pass","Result":")", name, R"(","End":true})");
    }
  }
  return absl::StrCat(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r",)", extra, retry_and_catch,
                      R"(,"End":true})", handlers, "}}");
}

// Fails the pending task at `h.now` and returns the Decision; expects exactly one retry timer or none.
struct Attempt {
  std::uint64_t task = 0;
  json::value input;
  int attempt = 0;
};

Attempt OnlyTask(const Decision& d) {
  EXPECT_EQ(d.tasks_to_schedule.size(), 1u);
  if (d.tasks_to_schedule.empty()) {
    return Attempt{};
  }
  const TaskCommand& t = d.tasks_to_schedule[0];
  return Attempt{t.task_id, t.input, t.attempt};
}

// Fails the current attempt, checks that a retry timer is due `delay_ms` later, fires it and returns the
// next attempt.
Attempt FailAndRetry(Harness& h, const Attempt& a, const std::string& error, common::EpochMillis delay_ms) {
  Decision failed = h.Fail(a.task, error, "cause");
  EXPECT_TRUE(failed.tasks_to_schedule.empty());
  EXPECT_EQ(failed.timers_to_start.size(), 1u);
  if (failed.timers_to_start.size() != 1u) {
    return Attempt{};
  }
  EXPECT_EQ(failed.timers_to_start[0].due - h.now, delay_ms) << "attempt " << a.attempt << " failed with " << error;
  h.now = failed.timers_to_start[0].due;
  return OnlyTask(h.Fire(failed.timers_to_start[0].timer_id));
}

TEST(RetryTest, BackoffDoublesAndIsCappedByMaxDelaySeconds) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["E"],"IntervalSeconds":1,"BackoffRate":2,"MaxAttempts":5,
                                  "MaxDelaySeconds":3}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  EXPECT_EQ(a.attempt, 0);
  const common::EpochMillis expected_delays[] = {1'000, 2'000, 3'000, 3'000, 3'000};
  for (common::EpochMillis delay : expected_delays) {
    int previous = a.attempt;
    a = FailAndRetry(h, a, "E", delay);
    EXPECT_EQ(a.attempt, previous + 1);
  }
  Decision last = h.Fail(a.task, "E", "cause");
  EXPECT_TRUE(last.timers_to_start.empty());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "E");
  EXPECT_EQ(h.now, kT0 + 12'000);  // 1 + 2 + 3 + 3 + 3 seconds
}

TEST(RetryTest, DefaultsAreOneSecondTimesTwoThreeAttempts) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["States.ALL"]}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  a = FailAndRetry(h, a, "E", 1'000);
  a = FailAndRetry(h, a, "E", 2'000);
  a = FailAndRetry(h, a, "E", 4'000);
  h.Fail(a.task, "E");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
}

TEST(RetryTest, FractionalIntervalAndBackoff) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["E"],"IntervalSeconds":2,"BackoffRate":1.5,"MaxAttempts":3}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  a = FailAndRetry(h, a, "E", 2'000);
  a = FailAndRetry(h, a, "E", 3'000);
  a = FailAndRetry(h, a, "E", 4'500);
}

TEST(RetryTest, MaxAttemptsZeroNeverRetries) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["E"],"MaxAttempts":0}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  Decision d = h.Fail(a.task, "E", "c");
  EXPECT_TRUE(d.timers_to_start.empty());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
}

TEST(RetryTest, FirstMatchingRetrierDecidesEvenWhenExhausted) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["E"],"MaxAttempts":1},
                                 {"ErrorEquals":["States.ALL"],"MaxAttempts":5}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  a = FailAndRetry(h, a, "E", 1'000);
  Decision d = h.Fail(a.task, "E", "c");
  EXPECT_TRUE(d.timers_to_start.empty());  // the States.ALL retrier is not consulted
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
}

TEST(RetryTest, EachRetrierHasItsOwnCounter) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["A"],"MaxAttempts":1,"IntervalSeconds":1},
                                 {"ErrorEquals":["B"],"MaxAttempts":2,"IntervalSeconds":10}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  a = FailAndRetry(h, a, "A", 1'000);
  a = FailAndRetry(h, a, "B", 10'000);  // B's first retry: no backoff from A's attempt
  a = FailAndRetry(h, a, "B", 20'000);
  EXPECT_EQ(a.attempt, 3);
  Decision d = h.Fail(a.task, "A", "c");  // A is exhausted
  EXPECT_TRUE(d.timers_to_start.empty());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "A");
}

TEST(RetryTest, FullJitterScalesTheDelayByTheRuntimeRandom) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["E"],"IntervalSeconds":4,"JitterStrategy":"FULL"}])"));
  h.rv.random_unit = 0.25;
  Attempt a = OnlyTask(h.Start("{}"));
  a = FailAndRetry(h, a, "E", 1'000);
  EXPECT_EQ(h.rv.random_calls, 1);
  h.rv.random_unit = 0.5;
  a = FailAndRetry(h, a, "E", 4'000);  // 4 * 2 * 0.5
  EXPECT_EQ(h.rv.random_calls, 2);
}

TEST(RetryTest, NoJitterDrawsNoRandom) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["E"],"IntervalSeconds":4}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  FailAndRetry(h, a, "E", 4'000);
  EXPECT_EQ(h.rv.random_calls, 0);
}

TEST(RetryTest, RetryCountIsVisibleInParameters) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["E"],"MaxAttempts":2}])",
                     R"("Parameters":{"rc.$":"$$.State.RetryCount","v.$":"$.v"},)"));
  Attempt a = OnlyTask(h.Start(R"({"v":1})"));
  EXPECT_EQ(a.input, Json(R"({"rc":0,"v":1})"));
  a = FailAndRetry(h, a, "E", 1'000);
  EXPECT_EQ(a.input, Json(R"({"rc":1,"v":1})"));
  a = FailAndRetry(h, a, "E", 2'000);
  EXPECT_EQ(a.input, Json(R"({"rc":2,"v":1})"));
  h.Succeed(a.task, R"("ok")");
  EXPECT_EQ(h.ex().output(), Json(R"("ok")"));
}

TEST(RetryTest, RetryDoesNotReenterTheState) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["E"],"MaxAttempts":1}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  a = FailAndRetry(h, a, "E", 1'000);
  h.Succeed(a.task, "1");
  EXPECT_THAT(testing::Types(h.history),
              ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskFailed", "TaskScheduled",
                          "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"));
  // The second TaskScheduled follows the TaskFailed and carries the retry's time.
  EXPECT_EQ(h.history[4].previous_event_id, 4);
  EXPECT_EQ(h.history[4].timestamp, kT0 + 1'000);
}

// --- Catch

constexpr char kCatchers[] = R"("Catch":[{"ErrorEquals":["X"],"Next":"X"},{"ErrorEquals":["E","F"],"Next":"E1"},
                                         {"ErrorEquals":["States.ALL"],"Next":"All"}])";

TEST(CatchTest, FirstMatchingCatcherInOrder) {
  for (const auto& [error, target] : std::vector<std::pair<std::string, std::string>>{
           {"F", "E1"}, {"X", "X"}, {"Other", "All"}, {"States.Timeout", "All"}}) {
    Harness h(TaskWith(kCatchers));
    Attempt a = OnlyTask(h.Start("{}"));
    h.Fail(a.task, error, "c");
    EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded) << error;
    EXPECT_EQ(h.ex().output(), json::value(target)) << error;
  }
}

TEST(CatchTest, TaskFailedMatchesEverythingButTimeout) {
  const std::string catchers =
      R"("Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"TF"},{"ErrorEquals":["States.ALL"],"Next":"All"}])";
  for (const auto& [error, target] : std::vector<std::pair<std::string, std::string>>{
           {"Custom", "TF"}, {"States.HeartbeatTimeout", "TF"}, {"States.Timeout", "All"}}) {
    Harness h(TaskWith(catchers));
    Attempt a = OnlyTask(h.Start("{}"));
    h.Fail(a.task, error, "c");
    EXPECT_EQ(h.ex().output(), json::value(target)) << error;
  }
}

TEST(CatchTest, UnmatchedErrorFailsTheExecution) {
  Harness h(TaskWith(R"("Catch":[{"ErrorEquals":["X"],"Next":"X"}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  h.Fail(a.task, "Y", "why");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "Y");
  EXPECT_EQ(h.ex().cause(), "why");
}

TEST(CatchTest, ResultPathPutsTheErrorIntoTheStateInput) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","InputPath":"$.sub",
      "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"H"}],"End":true},
      "H":{"Type":"Pass","End":true}}})");
  Attempt a = OnlyTask(h.Start(R"({"sub":{"a":1},"b":2})"));
  h.Fail(a.task, "E", "boom");
  EXPECT_EQ(h.ex().output(), Json(R"({"sub":{"a":1},"b":2,"err":{"Error":"E","Cause":"boom"}})"));
}

TEST(CatchTest, DefaultResultPathReplacesTheInput) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r",
      "Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},"H":{"Type":"Pass","End":true}}})");
  Attempt a = OnlyTask(h.Start(R"({"a":1})"));
  h.Fail(a.task, "E", "boom");
  EXPECT_EQ(h.ex().output(), Json(R"({"Error":"E","Cause":"boom"})"));
}

TEST(CatchTest, CaughtStateIsExitedWithTheCatcherOutput) {
  // AWS records <Type>StateExited for a state whose error a Catch handled, with the catcher's output.
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r",
      "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"H"}],"End":true},
      "H":{"Type":"Pass","End":true}}})");
  Attempt a = OnlyTask(h.Start(R"({"a":1})"));
  h.Fail(a.task, "E", "boom");
  EXPECT_THAT(testing::Types(h.history),
              ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskFailed", "TaskStateExited",
                          "PassStateEntered", "PassStateExited", "ExecutionSucceeded"));
  EXPECT_EQ(testing::ExitedOutput(h.history, "T"), Json(R"({"a":1,"err":{"Error":"E","Cause":"boom"}})"));
  EXPECT_EQ(h.history[4].previous_event_id, 4);
  EXPECT_EQ(h.history[5].previous_event_id, 5);
}

TEST(CatchTest, CatchAfterRetriesAreExhausted) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["E"],"MaxAttempts":2}],"Catch":[{"ErrorEquals":["E"],"Next":"E1"}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  a = FailAndRetry(h, a, "E", 1'000);
  a = FailAndRetry(h, a, "E", 2'000);
  Decision d = h.Fail(a.task, "E", "c");
  EXPECT_TRUE(d.timers_to_start.empty());
  EXPECT_EQ(h.ex().output(), Json(R"("E1")"));
  int failed = 0;
  for (const HistoryEvent& e : h.history) {
    failed += e.type == "TaskFailed" ? 1 : 0;
  }
  EXPECT_EQ(failed, 3);
}

TEST(CatchTest, ErrorNotRetriedIsCaughtAtOnce) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["Other"]}],"Catch":[{"ErrorEquals":["E"],"Next":"E1"}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  Decision d = h.Fail(a.task, "E", "c");
  EXPECT_TRUE(d.timers_to_start.empty());
  EXPECT_EQ(h.ex().output(), Json(R"("E1")"));
}

TEST(CatchTest, ParallelFailureIsCaughtOnTheParallelState) {
  Harness h(R"({"StartAt":"Par","States":{"Par":{"Type":"Parallel","Next":"Done",
      "Catch":[{"ErrorEquals":["Bad"],"ResultPath":"$.caught","Next":"Done"}],
      "Branches":[{"StartAt":"B","States":{"B":{"Type":"Fail","Error":"Bad","Cause":"b"}}}]},
      "Done":{"Type":"Pass","End":true}}})");
  h.Start(R"({"x":1})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(), Json(R"({"x":1,"caught":{"Error":"Bad","Cause":"b"}})"));
  EXPECT_THAT(testing::Types(h.history),
              ElementsAre("ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted", "FailStateEntered",
                          "ParallelStateFailed", "ParallelStateExited", "PassStateEntered", "PassStateExited",
                          "ExecutionSucceeded"));
}

// --- Errors that Retry and Catch never handle

TEST(UncatchableTest, StatesRuntimeIsNeitherRetriedNorCaught) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"All"}])",
                     R"("Parameters":{"a.$":"$.missing"},)"));
  Decision d = h.Start("{}");
  EXPECT_TRUE(d.tasks_to_schedule.empty());
  EXPECT_TRUE(d.timers_to_start.empty());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.Runtime");
}

TEST(UncatchableTest, RuntimeReportedByAWorkerIsNotCaughtEither) {
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"All"}])"));
  Attempt a = OnlyTask(h.Start("{}"));
  Decision d = h.Fail(a.task, "States.Runtime", "broken");
  EXPECT_TRUE(d.timers_to_start.empty());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
}

TEST(UncatchableTest, DataLimitExceededIsNeitherRetriedNorCaught) {
  ExecutionLimits limits;
  limits.max_payload_bytes = 64;
  Harness h(TaskWith(R"("Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"All"}])"),
            limits);
  Attempt a = OnlyTask(h.Start("{}"));
  Decision d = h.Succeed(a.task, absl::StrCat(R"({"big":")", std::string(100, 'x'), R"("})"));
  EXPECT_TRUE(d.timers_to_start.empty());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.DataLimitExceeded");
  EXPECT_EQ(h.ex().cause(),
            "The state/task 'T' returned a result with a size exceeding the maximum number of bytes service limit.");
}

}  // namespace
}  // namespace stepflow::sm
