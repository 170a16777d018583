// Durable engine, workers' side: polling (durable queues, long-poll, queue names), results and their
// refusals, heartbeats and cancellation, task timeouts on the engine's clock, dead letters (list, get,
// filters, redrive with a patched input, bulk redrive, discard) and RedriveExecution, across restarts.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/tasks.h"
#include "statemachine/runtime_values.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

constexpr char kRetryingTask[] = R"({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:work","HeartbeatSeconds":5,
         "Retry":[{"ErrorEquals":["Boom"],"MaxAttempts":1,"IntervalSeconds":1}],"Next":"Done"},
    "Done":{"Type":"Pass","End":true}}})";
constexpr char kLambda[] = R"({"StartAt":"L","States":{"L":{"Type":"Task",
    "Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":
    "arn:aws:lambda:us-east-1:123456789012:function:resize:live","Payload.$":"$"},"End":true}}})";

// Two tasks without HeartbeatSeconds (their TaskStarted is committed with their result); T2 has a timeout.
constexpr char kTwoLazyTasks[] = R"({"StartAt":"T1","States":{
    "T1":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:lazy","Next":"T2"},
    "T2":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:lazy","TimeoutSeconds":10,
          "End":true}}})";

std::string Message(const absl::Status& s) { return std::string(s.message()); }

class TasksTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    ASSERT_TRUE(engine_->CreateStateMachine("Work", kRetryingTask, false).ok());
    ASSERT_TRUE(engine_->CreateStateMachine("Forever", kTaskForever, false).ok());
  }

  // Polls `queue` for up to 10 s of real time; fails the test when nothing comes.
  PolledTask Poll(const std::string& queue = "work", const std::string& worker = "w1") {
    absl::StatusOr<std::optional<PolledTask>> t =
        engine_->PollTask(queue, worker, common::SystemClock().NowMillis() + 10'000);
    EXPECT_TRUE(t.ok()) << t.status();
    EXPECT_TRUE(t.ok() && t->has_value()) << "no task in " << queue;
    return t.ok() && t->has_value() ? **t : PolledTask{};
  }
  bool NothingIn(const std::string& queue) {
    absl::StatusOr<std::optional<PolledTask>> t =
        engine_->PollTask(queue, "w", common::SystemClock().NowMillis() + 50);
    return t.ok() && !t->has_value();
  }
  // Advances the engine's clock and waits until the engine saw it (a timer fired and committed).
  void Advance(common::EpochMillis ms) {
    clock_.AdvanceBy(ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  std::vector<HistoryEventRecord> History(const std::string& arn) {
    absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(arn, 1000, "", false);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.value_or(Page<HistoryEventRecord>{}).items;
  }
  std::vector<std::string> HistoryTypes(const std::string& arn) {
    std::vector<std::string> types;
    for (const HistoryEventRecord& e : History(arn)) {
      types.push_back(e.type);
    }
    return types;
  }
  // "type@ms since `t0`" of the Activity* events, in order.
  std::vector<std::string> ActivityEvents(const std::string& arn, common::EpochMillis t0) {
    std::vector<std::string> events;
    for (const HistoryEventRecord& e : History(arn)) {
      if (e.type.rfind("Activity", 0) == 0) {
        events.push_back(absl::StrCat(e.type, "@", e.timestamp - t0));
      }
    }
    return events;
  }
};

TEST_F(TasksTest, PollCompleteAndTheTaskContext) {
  std::string arn = engine_->StartExecution("Work", "e1", R"({"x":1})")->arn;
  PolledTask t = Poll();
  EXPECT_THAT(t.token, StartsWith(arn + "#"));
  EXPECT_EQ(t.queue, "work");
  EXPECT_EQ(t.input, R"({"x":1})");
  EXPECT_EQ(t.execution_arn, arn);
  EXPECT_EQ(t.state_name, "T");
  EXPECT_EQ(t.attempt, 0);
  EXPECT_EQ(t.heartbeat_seconds, 5);
  EXPECT_EQ(t.deadline, 0);
  ASSERT_TRUE(engine_->CompleteTask(t.token, R"({"y":2})").ok());
  ExecutionInfoRecord done = Finish(arn);
  EXPECT_EQ(done.status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(done.output, R"({"y":2})");
  // An activity ARN records Activity* events, as AWS records them.
  EXPECT_THAT(HistoryTypes(arn), ElementsAre("ExecutionStarted", "TaskStateEntered", "ActivityScheduled",
                                             "ActivityStarted", "ActivitySucceeded", "TaskStateExited", "PassStateEntered",
                                             "PassStateExited", "ExecutionSucceeded"));
  // A repeated completion (a worker retrying its call) is OK and changes nothing.
  absl::Status repeated = engine_->CompleteTask(t.token, R"({"y":3})");
  EXPECT_TRUE(repeated.ok()) << repeated;
  EXPECT_EQ(engine_->DescribeExecution(arn)->output, R"({"y":2})");
  EXPECT_EQ(HistoryTypes(arn).size(), 9u);
}

TEST_F(TasksTest, ReportsOnUnknownAndMalformedTokens) {
  std::string arn = engine_->StartExecution("Work", "e1", "{}")->arn;
  PolledTask t = Poll();
  absl::Status malformed = engine_->CompleteTask("nonsense", "{}");
  EXPECT_TRUE(absl::IsInvalidArgument(malformed));
  EXPECT_THAT(Message(malformed), StartsWith("InvalidToken: "));
  // Knowing the execution's ARN and the task's number is not enough: the token is signed by the server.
  const std::string task_id = t.token.substr(t.token.rfind('#') + 1, t.token.rfind('.') - t.token.rfind('#') - 1);
  for (const std::string& forged : {sm::UnsignedTaskToken(arn, std::stoull(task_id)), arn + "#0" + task_id,
                                    arn + "#0" + t.token.substr(t.token.rfind('#') + 1),
                                    sm::UnsignedTaskToken(arn, 9999)}) {
    absl::Status refused = engine_->CompleteTask(forged, "{}");
    EXPECT_TRUE(absl::IsInvalidArgument(refused)) << forged << ": " << refused;
    EXPECT_THAT(Message(refused), StartsWith("InvalidToken: "));
  }
  absl::Status unknown_execution =
      engine_->FailTask(sm::UnsignedTaskToken("arn:aws:states:us-east-1:123456789012:execution:Work:ghost", 3), "E", "C");
  EXPECT_THAT(Message(unknown_execution), StartsWith("InvalidToken: "));
  absl::Status bad_output = engine_->CompleteTask(t.token, "{not json");
  EXPECT_TRUE(absl::IsInvalidArgument(bad_output));
  EXPECT_THAT(Message(bad_output), StartsWith("InvalidOutput: "));
  EXPECT_EQ(engine_->DescribeExecution(arn)->status, sm::ExecutionStatus::kRunning);
}

TEST_F(TasksTest, QueueNamesFollowTheResource) {
  ASSERT_TRUE(engine_->CreateStateMachine("Lambda", kLambda, false).ok());
  std::string arn = engine_->StartExecution("Lambda", "l1", R"({"img":"a.png"})")->arn;
  PolledTask t = Poll("resize");
  EXPECT_EQ(t.execution_arn, arn);
  EXPECT_THAT(t.input, ::testing::HasSubstr(R"("Payload":{"img":"a.png"})"));
}

TEST_F(TasksTest, QueuedTasksSurviveARestartAndStartedOnesKeepTheirLease) {
  std::string queued = engine_->StartExecution("Work", "queued", R"({"q":1})")->arn;
  std::string leased = engine_->StartExecution("Work", "leased", R"({"l":1})")->arn;
  // Take one of the two; the other stays queued.
  PolledTask first = Poll();
  Reopen();
  PolledTask second = Poll();
  EXPECT_NE(first.execution_arn, second.execution_arn);
  EXPECT_TRUE(NothingIn("work")) << "a started task is not handed out again";
  // The first worker's token still works after the restart.
  ASSERT_TRUE(engine_->CompleteTask(first.token, "{}").ok());
  ASSERT_TRUE(engine_->CompleteTask(second.token, "{}").ok());
  EXPECT_EQ(Finish(queued).status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(Finish(leased).status, sm::ExecutionStatus::kSucceeded);
}

TEST_F(TasksTest, HeartbeatTimeoutFailsTheTaskAndRefusesItsLateResult) {
  std::string arn = engine_->StartExecution("Work", "hb", "{}")->arn;
  PolledTask lost = Poll("work", "dies");
  Advance(3000);
  absl::StatusOr<bool> beat = engine_->HeartbeatTask(lost.token);
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_FALSE(*beat);
  Advance(3000);  // 3 s since the heartbeat: still alive
  EXPECT_TRUE(NothingIn("work"));
  Advance(2100);  // 5.1 s: States.HeartbeatTimeout, which Retry ["Boom"] does not match
  EXPECT_EQ(Finish(arn).error, "States.HeartbeatTimeout");
  absl::Status late = engine_->CompleteTask(lost.token, "{}");
  EXPECT_TRUE(absl::IsFailedPrecondition(late)) << late;
  EXPECT_THAT(Message(late), StartsWith("TaskTimedOut: "));
  absl::StatusOr<Page<DeadLetterRecord>> dlq = engine_->ListDeadLetters({}, 10, "");
  ASSERT_TRUE(dlq.ok());
  ASSERT_EQ(dlq->items.size(), 1u);
  EXPECT_EQ(dlq->items[0].error(), "States.HeartbeatTimeout");
  EXPECT_EQ(dlq->items[0].attempts.at(0).worker, "dies");
}

TEST_F(TasksTest, StopCancelsAndTheNextHeartbeatSaysSo) {
  std::string arn = engine_->StartExecution("Work", "stop", "{}")->arn;
  PolledTask t = Poll();
  ASSERT_TRUE(engine_->StopExecution(arn, "Operator", "enough").ok());
  absl::StatusOr<bool> beat = engine_->HeartbeatTask(t.token);
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_TRUE(*beat);
  EXPECT_THAT(Message(engine_->CompleteTask(t.token, "{}")), StartsWith("TaskTimedOut: "));
  EXPECT_EQ(engine_->DescribeExecution(arn)->status, sm::ExecutionStatus::kAborted);
}

// The engine with EngineOptions::lazy_task_start.
class LazyTasksTest : public TasksTest {
 protected:
  void SetUp() override {
    lazy_task_start_ = true;
    TasksTest::SetUp();
  }
};

TEST_F(TasksTest, ByDefaultTaskStartedIsCommittedBeforeThePollAnswers) {
  ASSERT_TRUE(engine_->CreateStateMachine("Lazy", kTwoLazyTasks, false).ok());
  const common::EpochMillis t0 = clock_.NowMillis();
  std::string arn = engine_->StartExecution("Lazy", "eager", "{}")->arn;
  PolledTask t = Poll("lazy", "w1");
  EXPECT_THAT(ActivityEvents(arn, t0), ElementsAre("ActivityScheduled@0", "ActivityStarted@0"));
  ASSERT_TRUE(engine_->CompleteTask(t.token, "{}").ok());
}

TEST_F(LazyTasksTest, WithoutHeartbeatSecondsTaskStartedIsCommittedWithTheResultAtThePollsTime) {
  ASSERT_TRUE(engine_->CreateStateMachine("Lazy", kTwoLazyTasks, false).ok());
  const common::EpochMillis t0 = clock_.NowMillis();
  std::string arn = engine_->StartExecution("Lazy", "lazy", "{}")->arn;
  PolledTask t1 = Poll("lazy", "w1");
  EXPECT_EQ(t1.heartbeat_seconds, 0);
  // Taken, but not committed on its own: the history read back does not show it yet.
  EXPECT_THAT(ActivityEvents(arn, t0), ElementsAre("ActivityScheduled@0"));
  // A heartbeat (which a state without HeartbeatSeconds ignores) does not record it either.
  ASSERT_TRUE(engine_->HeartbeatTask(t1.token).ok());
  EXPECT_THAT(ActivityEvents(arn, t0), ElementsAre("ActivityScheduled@0"));
  EXPECT_TRUE(NothingIn("lazy")) << "a taken task is not handed out again";
  Advance(1500);
  ASSERT_TRUE(engine_->CompleteTask(t1.token, R"({"a":1})").ok());
  // Recorded with the result, stamped when the worker took the task.
  PolledTask t2 = Poll("lazy", "w2");
  EXPECT_THAT(ActivityEvents(arn, t0), ElementsAre("ActivityScheduled@0", "ActivityStarted@0",
                                                   "ActivitySucceeded@1500", "ActivityScheduled@1500"));
  const std::vector<HistoryEventRecord> history = History(arn);
  EXPECT_THAT(history.at(3).details, ::testing::HasSubstr(R"("workerName":"w1")"));
  // The running execution is replayed from its input log after a restart, to the same history; T2's lease
  // (taken before the restart) is committed at the shutdown, so T2 is not handed out again.
  Reopen();
  EXPECT_TRUE(NothingIn("lazy"));
  EXPECT_THAT(ActivityEvents(arn, t0), ElementsAre("ActivityScheduled@0", "ActivityStarted@0",
                                                   "ActivitySucceeded@1500", "ActivityScheduled@1500",
                                                   "ActivityStarted@1500"));
  Advance(500);
  ASSERT_TRUE(engine_->CompleteTask(t2.token, "{}").ok());
  EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kSucceeded);
  EXPECT_THAT(ActivityEvents(arn, t0),
              ElementsAre("ActivityScheduled@0", "ActivityStarted@0", "ActivitySucceeded@1500",
                          "ActivityScheduled@1500", "ActivityStarted@1500", "ActivitySucceeded@2000"));
}

TEST_F(LazyTasksTest, ALazilyStartedTaskTimesOutFromItsScheduleWithItsStartRecorded) {
  ASSERT_TRUE(engine_->CreateStateMachine("Lazy", kTwoLazyTasks, false).ok());
  const common::EpochMillis t0 = clock_.NowMillis();
  std::string arn = engine_->StartExecution("Lazy", "timeout", "{}")->arn;
  ASSERT_TRUE(engine_->CompleteTask(Poll("lazy").token, "{}").ok());
  Advance(4000);  // T2 is scheduled at 0 and taken at 4000; TimeoutSeconds 10 counts from the schedule
  PolledTask lost = Poll("lazy", "dies");
  Advance(5900);
  EXPECT_EQ(engine_->DescribeExecution(arn)->status, sm::ExecutionStatus::kRunning);
  Advance(200);
  EXPECT_EQ(Finish(arn).error, "States.Timeout");
  EXPECT_THAT(ActivityEvents(arn, t0),
              ElementsAre("ActivityScheduled@0", "ActivityStarted@0", "ActivitySucceeded@0", "ActivityScheduled@0",
                          "ActivityStarted@4000", "ActivityTimedOut@10100"));
  EXPECT_THAT(Message(engine_->CompleteTask(lost.token, "{}")), StartsWith("TaskTimedOut: "));
}

TEST_F(LazyTasksTest, StoppingRecordsTheStartOfALazilyStartedTaskFirst) {
  ASSERT_TRUE(engine_->CreateStateMachine("Lazy", kTwoLazyTasks, false).ok());
  const common::EpochMillis t0 = clock_.NowMillis();
  std::string arn = engine_->StartExecution("Lazy", "stopped", "{}")->arn;
  PolledTask t = Poll("lazy", "w1");
  Advance(700);
  ASSERT_TRUE(engine_->StopExecution(arn, "Operator", "enough").ok());
  EXPECT_THAT(ActivityEvents(arn, t0), ElementsAre("ActivityScheduled@0", "ActivityStarted@0"));
  EXPECT_EQ(HistoryTypes(arn).back(), "ExecutionAborted");
  absl::StatusOr<bool> beat = engine_->HeartbeatTask(t.token);
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_TRUE(*beat);
}

TEST_F(LazyTasksTest, RacingPollersTakeALazilyStartedTaskOnce) {
  ASSERT_TRUE(engine_->CreateStateMachine("Lazy", kTwoLazyTasks, false).ok());
  constexpr int kExecutions = 20;
  std::vector<std::string> arns;
  for (int i = 0; i < kExecutions; ++i) {
    arns.push_back(engine_->StartExecution("Lazy", absl::StrCat("race", i), "{}")->arn);
  }
  std::atomic<int> taken{0};
  std::vector<std::thread> pollers;
  for (int w = 0; w < 4; ++w) {
    pollers.emplace_back([&, w] {
      while (true) {
        absl::StatusOr<std::optional<PolledTask>> t =
            engine_->PollTask("lazy", absl::StrCat("w", w), common::SystemClock().NowMillis() + 200);
        if (!t.ok() || !t->has_value()) {
          return;
        }
        ++taken;
        EXPECT_TRUE(engine_->CompleteTask((*t)->token, "{}").ok());
      }
    });
  }
  for (std::thread& t : pollers) {
    t.join();
  }
  EXPECT_EQ(taken.load(), 2 * kExecutions);  // T1 and T2 of each, each once
  for (const std::string& arn : arns) {
    EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kSucceeded);
    EXPECT_EQ(ActivityEvents(arn, 0).size(), 6u);
  }
}

TEST_F(TasksTest, DeadLetterRedriveWithPatchedInputResumesTheExecution) {
  std::string arn = engine_->StartExecution("Work", "dl", R"({"bad":true})")->arn;
  PolledTask a1 = Poll("work", "w1");
  ASSERT_TRUE(engine_->FailTask(a1.token, "Boom", "first").ok());
  Advance(1000);  // the retry's backoff
  PolledTask a2 = Poll("work", "w2");
  EXPECT_EQ(a2.attempt, 1);
  ASSERT_TRUE(engine_->FailTask(a2.token, "Boom", "second").ok());
  EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kFailed);

  // A dead letter's id is its last attempt's "<ARN>#<task id>", without the token's signature.
  const std::string dl_id = a2.token.substr(0, a2.token.rfind('.'));
  absl::StatusOr<DeadLetterRecord> dl = engine_->GetDeadLetter(dl_id);
  ASSERT_TRUE(dl.ok()) << dl.status();
  EXPECT_EQ(dl->queue, "work");
  EXPECT_EQ(dl->execution_id, arn);
  EXPECT_EQ(dl->input, boost::json::parse(R"({"bad":true})"));
  ASSERT_EQ(dl->attempts.size(), 2u);
  EXPECT_EQ(dl->attempts[0].worker, "w1");
  EXPECT_EQ(dl->attempts[1].cause, "second");
  DeadLetterFilter other_queue;
  other_queue.queue = "elsewhere";
  EXPECT_TRUE(engine_->ListDeadLetters(other_queue, 10, "")->items.empty());
  DeadLetterFilter by_error;
  by_error.error = "Boom";
  by_error.state_machine = "Work";
  EXPECT_EQ(engine_->ListDeadLetters(by_error, 10, "")->items.size(), 1u);

  absl::StatusOr<std::vector<DeadLetterOutcome>> redriven =
      engine_->RedriveDeadLetters(dl_id, {}, std::string(R"({"bad":false})"));
  ASSERT_TRUE(redriven.ok()) << redriven.status();
  ASSERT_EQ(redriven->size(), 1u);
  EXPECT_TRUE((*redriven)[0].status.ok()) << (*redriven)[0].status;
  PolledTask fixed = Poll();
  EXPECT_EQ(fixed.input, R"({"bad":false})");
  ASSERT_TRUE(engine_->CompleteTask(fixed.token, R"({"ok":1})").ok());
  ExecutionInfoRecord done = Finish(arn);
  EXPECT_EQ(done.status, sm::ExecutionStatus::kSucceeded);
  EXPECT_TRUE(absl::IsNotFound(engine_->GetDeadLetter(dl_id).status())) << "the entry left the list";
  std::vector<std::string> types = HistoryTypes(arn);
  EXPECT_NE(std::find(types.begin(), types.end(), "ExecutionRedriven"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "DeadLetterRedriven"), types.end());
  // Survives a restart: the replayed execution (with its redrive) matches what was stored.
  Reopen();
  EXPECT_EQ(engine_->DescribeExecution(arn)->status, sm::ExecutionStatus::kSucceeded);
}

TEST_F(TasksTest, BulkRedriveByFilterAndDiscard) {
  constexpr int kCount = 20;
  std::vector<std::string> arns;
  for (int i = 0; i < kCount; ++i) {
    arns.push_back(engine_->StartExecution("Forever", absl::StrCat("f", i), absl::StrCat(R"({"i":)", i, "}"))->arn);
  }
  for (int i = 0; i < kCount; ++i) {
    PolledTask t = Poll();
    ASSERT_TRUE(engine_->FailTask(t.token, i % 2 == 0 ? "Even" : "Odd", "c").ok());
  }
  for (const std::string& arn : arns) {
    EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kFailed);
  }
  absl::StatusOr<Page<DeadLetterRecord>> page = engine_->ListDeadLetters({}, 7, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 7u);
  EXPECT_FALSE(page->next_page_token.empty());
  DeadLetterFilter odd;
  odd.error = "Odd";
  absl::StatusOr<std::vector<DeadLetterOutcome>> discarded = engine_->DiscardDeadLetters("", odd);
  ASSERT_TRUE(discarded.ok());
  EXPECT_EQ(discarded->size(), kCount / 2u);
  DeadLetterFilter even;
  even.error = "Even";
  absl::StatusOr<std::vector<DeadLetterOutcome>> redriven = engine_->RedriveDeadLetters("", even, std::nullopt);
  ASSERT_TRUE(redriven.ok());
  ASSERT_EQ(redriven->size(), kCount / 2u);
  for (int i = 0; i < kCount / 2; ++i) {
    PolledTask t = Poll();
    ASSERT_TRUE(engine_->CompleteTask(t.token, "{}").ok());
  }
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(Finish(arns[i]).status, i % 2 == 0 ? sm::ExecutionStatus::kSucceeded : sm::ExecutionStatus::kFailed);
  }
  EXPECT_TRUE(engine_->ListDeadLetters({}, 100, "")->items.empty());
  std::vector<std::string> discarded_history = HistoryTypes(arns[1]);
  EXPECT_EQ(discarded_history.back(), "DeadLetterDiscarded");
  Reopen();  // replay of ended executions with discards and redrives matches their records
  EXPECT_EQ(engine_->DescribeExecution(arns[0])->status, sm::ExecutionStatus::kSucceeded);
}

TEST_F(TasksTest, RedriveExecutionAndItsRefusals) {
  std::string arn = engine_->StartExecution("Forever", "r", "{}")->arn;
  absl::Status running = engine_->RedriveExecution(arn).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(running));
  EXPECT_THAT(Message(running), StartsWith("ExecutionNotRedrivable: "));
  ASSERT_TRUE(engine_->StopExecution(arn, "", "").ok());
  absl::StatusOr<ExecutionInfoRecord> redriven = engine_->RedriveExecution(arn);
  ASSERT_TRUE(redriven.ok()) << redriven.status();
  EXPECT_EQ(redriven->status, sm::ExecutionStatus::kRunning);
  EXPECT_EQ(redriven->redrive_count, 1);
  ExecutionFilter running_filter;
  running_filter.status = sm::ExecutionStatus::kRunning;
  EXPECT_EQ(engine_->ListExecutions(running_filter, 10, "")->items.size(), 1u) << "the index follows the status";
  PolledTask t = Poll();
  ASSERT_TRUE(engine_->CompleteTask(t.token, R"("done")").ok());
  EXPECT_EQ(Finish(arn).output, R"("done")");
  EXPECT_THAT(Message(engine_->RedriveExecution("arn:aws:states:us-east-1:123456789012:execution:Forever:none")
                          .status()),
              StartsWith("ExecutionDoesNotExist: "));
}

}  // namespace
}  // namespace stepflow::engine::testing
