// Durable engine: starting (idempotency, validation), describing, stopping, listing with filters and pages,
// history pages, and the waits.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/records.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

class ExecutionsTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    ASSERT_TRUE(engine_->CreateStateMachine("Pass", kPassChain, false).ok());
    ASSERT_TRUE(engine_->CreateStateMachine("Wait", kWait5, false).ok());
    ASSERT_TRUE(engine_->CreateStateMachine("Task", kTaskForever, false).ok());
  }
};

TEST_F(ExecutionsTest, StartRunsToTheEndAndDescribes) {
  absl::StatusOr<ExecutionInfoRecord> started = engine_->StartExecution("Pass", "e1", R"({"x":1})");
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->arn, "arn:aws:states:us-east-1:123456789012:execution:Pass:e1");
  EXPECT_EQ(started->state_machine_version, 1);
  EXPECT_EQ(started->start, kT0);
  ExecutionInfoRecord done = Finish(started->arn);
  EXPECT_EQ(done.status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(done.output, R"({"x":1,"a":{"n":1}})");
  EXPECT_EQ(done.input, R"({"x":1})");
  EXPECT_EQ(done.stop, kT0);
  EXPECT_EQ(engine_->DescribeExecution(started->arn)->status, sm::ExecutionStatus::kSucceeded);
}

TEST_F(ExecutionsTest, StartIsIdempotentByName) {
  absl::StatusOr<ExecutionInfoRecord> first = engine_->StartExecution("Wait", "same", R"({"a":1,"b":2})");
  ASSERT_TRUE(first.ok()) << first.status();
  // The same document (even spelled differently) returns the existing execution.
  absl::StatusOr<ExecutionInfoRecord> again = engine_->StartExecution("Wait", "same", R"({ "a": 1, "b": 2 })");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->arn, first->arn);
  EXPECT_EQ(again->start, first->start);
  absl::StatusOr<ExecutionInfoRecord> other = engine_->StartExecution("Wait", "same", R"({"a":2})");
  EXPECT_TRUE(absl::IsAlreadyExists(other.status())) << other.status();
  EXPECT_THAT(std::string(other.status().message()), StartsWith("ExecutionAlreadyExists: "));
  // Also once it is finished and evicted from memory, and after a restart.
  clock_.AdvanceBy(5000);
  Finish(first->arn);
  EXPECT_EQ(engine_->StartExecution("Wait", "same", R"({"a":1,"b":2})")->status, sm::ExecutionStatus::kSucceeded);
  Reopen();
  EXPECT_TRUE(engine_->StartExecution("Wait", "same", R"({"a":1,"b":2})").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(engine_->StartExecution("Wait", "same", "{}").status()));
}

TEST_F(ExecutionsTest, StartErrors) {
  const auto message = [](const absl::Status& s) { return std::string(s.message()); };
  absl::Status bad_name = engine_->StartExecution("Pass", "no spaces", "{}").status();
  EXPECT_TRUE(absl::IsInvalidArgument(bad_name));
  EXPECT_THAT(message(bad_name), StartsWith("InvalidName: "));
  absl::Status bad_json = engine_->StartExecution("Pass", "j", "{oops").status();
  EXPECT_TRUE(absl::IsInvalidArgument(bad_json));
  EXPECT_THAT(message(bad_json), StartsWith("InvalidExecutionInput: "));
  const std::string big = "\"" + std::string(256 * 1024, 'x') + "\"";
  absl::Status too_big = engine_->StartExecution("Pass", "big", big).status();
  EXPECT_TRUE(absl::IsInvalidArgument(too_big));
  EXPECT_THAT(message(too_big), StartsWith("InvalidExecutionInput: "));
  absl::Status no_machine = engine_->StartExecution("Ghost", "g", "{}").status();
  EXPECT_TRUE(absl::IsNotFound(no_machine));
  EXPECT_THAT(message(no_machine), StartsWith("StateMachineDoesNotExist: "));
  const std::string ghost = "arn:aws:states:us-east-1:123456789012:execution:Pass:ghost";
  for (const absl::Status& s :
       {engine_->DescribeExecution(ghost).status(), engine_->StopExecution(ghost, "", "").status(),
        engine_->GetExecutionHistory(ghost, 10, "", false).status(),
        engine_->WaitForCompletion(ghost, Soon()).status()}) {
    EXPECT_TRUE(absl::IsNotFound(s)) << s;
    EXPECT_THAT(message(s), StartsWith("ExecutionDoesNotExist: "));
  }
  EXPECT_THAT(message(engine_->DescribeExecution("not-an-arn").status()), StartsWith("InvalidArn: "));
}

TEST_F(ExecutionsTest, EmptyNameAndInputGetDefaults) {
  absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("Pass", "", "");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name.size(), 36u);  // a UUID
  EXPECT_EQ(e->input, "{}");
}

TEST_F(ExecutionsTest, ExpressExecutionsGetAUniqueArn) {
  ASSERT_TRUE(engine_->CreateStateMachine("Fast", kPassChain, true).ok());
  absl::StatusOr<ExecutionInfoRecord> a = engine_->StartExecution("Fast", "x", "{}");
  absl::StatusOr<ExecutionInfoRecord> b = engine_->StartExecution("Fast", "x", "{}");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_THAT(a->arn, StartsWith("arn:aws:states:us-east-1:123456789012:express:Fast:x:"));
  EXPECT_NE(a->arn, b->arn);
  EXPECT_EQ(Finish(a->arn).status, sm::ExecutionStatus::kSucceeded);
}

TEST_F(ExecutionsTest, StopAbortsOnceAndDeletesTaskAndTimerRows) {
  absl::StatusOr<ExecutionInfoRecord> t = engine_->StartExecution("Task", "t", "{}");
  absl::StatusOr<ExecutionInfoRecord> w = engine_->StartExecution("Wait", "w", "{}");
  ASSERT_TRUE(t.ok() && w.ok());
  absl::StatusOr<ExecutionInfoRecord> stopped = engine_->StopExecution(t->arn, "Halt", "by test");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status, sm::ExecutionStatus::kAborted);
  EXPECT_EQ(stopped->error, "Halt");
  ASSERT_TRUE(engine_->StopExecution(w->arn, "", "").ok());
  absl::Status again = engine_->StopExecution(t->arn, "", "").status();
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  EXPECT_THAT(std::string(again.message()), StartsWith("ExecutionNotRunning: "));
  engine_.reset();
  EXPECT_EQ(CountRows(storage::Column::kTasks), 0);
  EXPECT_EQ(CountRows(storage::Column::kTimers), 0);
}

// Tasks have no rows: a restart finds a pending task by replaying its execution, offers it to workers again and
// keeps its execution's timeout.
TEST_F(ExecutionsTest, APendingTaskOutlivesARestartWithoutARowOfItsOwn) {
  ASSERT_TRUE(engine_
                  ->CreateStateMachine("Slow", R"({"TimeoutSeconds":30,"StartAt":"T","States":{
      "T":{"Type":"Task","Resource":"q","End":true}}})",
                                       false)
                  .ok());
  std::map<std::string, std::string> input_of;  // execution ARN -> its input
  for (const char* name : {"a", "b"}) {
    const std::string input = absl::StrCat(R"({"n":")", name, R"("})");
    absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("Slow", name, input);
    ASSERT_TRUE(e.ok()) << e.status();
    input_of[e->arn] = input;
  }
  engine_.reset();
  EXPECT_EQ(CountRows(storage::Column::kTasks), 0);
  Open();
  // Recovery offers both again, in no particular order: complete the one polled, let the other time out.
  absl::StatusOr<std::optional<PolledTask>> task = engine_->PollTask("q", "w", clock_.NowMillis());
  ASSERT_TRUE(task.ok() && task->has_value()) << task.status();
  const std::string polled = (*task)->execution_arn;
  ASSERT_EQ(input_of.count(polled), 1u);
  EXPECT_EQ((*task)->input, input_of[polled]);
  ASSERT_TRUE(engine_->CompleteTask((*task)->token, R"({"ok":true})").ok());
  EXPECT_EQ(Finish(polled).status, sm::ExecutionStatus::kSucceeded);
  clock_.AdvanceBy(30'000);
  input_of.erase(polled);
  EXPECT_EQ(Finish(input_of.begin()->first).status, sm::ExecutionStatus::kTimedOut);
  engine_.reset();
  EXPECT_EQ(CountRows(storage::Column::kTasks), 0);
}

// Releases before wrote a `tasks` row per pending task. Opening such a store deletes them, however many (the
// deletes go in commits of 1,024), after reading them for the unsigned tokens they leave valid.
TEST_F(ExecutionsTest, TaskRowsOfAnOlderReleaseAreDeletedWhenTheStoreOpens) {
  engine_.reset();
  {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(store.ok()) << store.status();
    storage::WriteBatch batch;
    for (int i = 0; i < 2'500; ++i) {
      batch.Put(storage::Column::kTasks, TaskKey("q", "arn:aws:states:us-east-1:123456789012:execution:Old:e", i),
                "");
    }
    ASSERT_TRUE((*store)->Commit(batch).ok());
  }
  EXPECT_EQ(CountRows(storage::Column::kTasks), 2'500);
  Open();
  engine_.reset();
  EXPECT_EQ(CountRows(storage::Column::kTasks), 0);
}

TEST_F(ExecutionsTest, ListFiltersAndPagesNewestFirst) {
  std::vector<std::string> pass_arns;
  for (int i = 0; i < 5; ++i) {
    pass_arns.push_back(engine_->StartExecution("Pass", "p" + std::to_string(i), "{}")->arn);
    clock_.AdvanceBy(10);
  }
  const std::string w = engine_->StartExecution("Wait", "w", "{}")->arn;  // at kT0 + 50, RUNNING
  for (const std::string& arn : pass_arns) {
    Finish(arn);
  }
  const auto list = [&](ExecutionFilter filter, int page_size) {
    std::vector<std::string> names;
    std::string token;
    int pages = 0;
    do {
      absl::StatusOr<Page<ExecutionInfoRecord>> page = engine_->ListExecutions(filter, page_size, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) {
        break;
      }
      for (const ExecutionInfoRecord& r : page->items) {
        names.push_back(r.name);
        EXPECT_TRUE(r.input.empty());
      }
      token = page->next_page_token;
    } while (!token.empty() && ++pages < 20);
    return names;
  };
  EXPECT_THAT(list({}, 2), ElementsAre("w", "p4", "p3", "p2", "p1", "p0"));
  EXPECT_THAT(list({"Pass", std::nullopt, std::nullopt, std::nullopt, false, ""}, 3), ElementsAre("p4", "p3", "p2", "p1", "p0"));
  EXPECT_THAT(list({"", sm::ExecutionStatus::kRunning, std::nullopt, std::nullopt, false, ""}, 10), ElementsAre("w"));
  EXPECT_THAT(list({"Pass", sm::ExecutionStatus::kSucceeded, std::nullopt, std::nullopt, false, ""}, 2),
              ElementsAre("p4", "p3", "p2", "p1", "p0"));
  EXPECT_THAT(list({"Wait", sm::ExecutionStatus::kSucceeded, std::nullopt, std::nullopt, false, ""}, 2), IsEmpty());
  EXPECT_THAT(list({"", std::nullopt, kT0 + 10, kT0 + 40, false, ""}, 2), ElementsAre("p3", "p2", "p1"));
  EXPECT_TRUE(
      absl::IsNotFound(engine_->ListExecutions({"Ghost", std::nullopt, std::nullopt, std::nullopt, false, ""}, 10, "").status()));
  // The wait ends: the RUNNING index entry moves to SUCCEEDED in the same commit.
  clock_.AdvanceBy(5000);
  Finish(w);
  EXPECT_THAT(list({"", sm::ExecutionStatus::kRunning, std::nullopt, std::nullopt, false, ""}, 10), IsEmpty());
  EXPECT_THAT(list({"Wait", sm::ExecutionStatus::kSucceeded, std::nullopt, std::nullopt, false, ""}, 10), ElementsAre("w"));
}

TEST_F(ExecutionsTest, HistoryPagesForwardAndBackward) {
  const std::string arn = engine_->StartExecution("Pass", "h", "{}")->arn;
  Finish(arn);
  const auto ids = [&](bool reverse) {
    std::vector<std::int64_t> out;
    std::string token;
    do {
      absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(arn, 3, token, reverse);
      EXPECT_TRUE(page.ok()) << page.status();
      for (const HistoryEventRecord& e : page->items) {
        out.push_back(e.id);
      }
      token = page->next_page_token;
    } while (!token.empty() && out.size() < 100);
    return out;
  };
  EXPECT_THAT(ids(false), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_THAT(ids(true), ElementsAre(8, 7, 6, 5, 4, 3, 2, 1));
  absl::StatusOr<Page<HistoryEventRecord>> first = engine_->GetExecutionHistory(arn, 1, "", false);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->items[0].type, "ExecutionStarted");
  EXPECT_EQ(first->items[0].details_key, "executionStartedEventDetails");
  EXPECT_EQ(first->items[0].timestamp, kT0);
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->GetExecutionHistory(arn, 3, "%%%", false).status()));
}

TEST_F(ExecutionsTest, WaitsWakeOnCommitsAndTimeOut) {
  const std::string arn = engine_->StartExecution("Wait", "w", "{}")->arn;
  absl::StatusOr<std::vector<HistoryEventRecord>> first = engine_->WaitForHistory(arn, 0, Soon());
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->empty());
  const std::int64_t seen = first->back().id;
  // Nothing new before the deadline: an empty answer; completion times out.
  const common::EpochMillis now = common::SystemClock().NowMillis();
  EXPECT_THAT(*engine_->WaitForHistory(arn, seen, now + 50), IsEmpty());
  EXPECT_TRUE(absl::IsDeadlineExceeded(engine_->WaitForCompletion(arn, now + 50).status()));
  std::thread advance([&] { clock_.AdvanceBy(5000); });
  absl::StatusOr<std::vector<HistoryEventRecord>> next = engine_->WaitForHistory(arn, seen, Soon());
  advance.join();
  ASSERT_TRUE(next.ok());
  ASSERT_FALSE(next->empty());
  EXPECT_EQ(next->front().id, seen + 1);
  EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kSucceeded);
}

// StartExecutionAndWait watches for the end from before it submits the start (so it reads the record only once,
// at the end): an end right after the start's commit, from a worker that took the task at once, is never
// missed; a start that ends in its commit, or an execution still running at the deadline, answers at once.
TEST_F(ExecutionsTest, StartAndWaitSeesEveryEndEvenOneRightAfterTheStart) {
  ASSERT_TRUE(engine_
                  ->CreateStateMachine("Quick", R"({"StartAt":"T","States":{
                      "T":{"Type":"Task","Resource":"quick","End":true}}})",
                                       false)
                  .ok());
  absl::StatusOr<ExecutionInfoRecord> pass = engine_->StartExecutionAndWait("Pass", "p", R"({"x":1})", Soon());
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ(pass->status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(pass->output, R"({"x":1,"a":{"n":1}})");

  const common::EpochMillis now = common::SystemClock().NowMillis();
  absl::StatusOr<ExecutionInfoRecord> running = engine_->StartExecutionAndWait("Quick", "late", "{}", now + 50);
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(running->status, sm::ExecutionStatus::kRunning);
  EXPECT_EQ(running->arn, "arn:aws:states:us-east-1:123456789012:execution:Quick:late");

  std::atomic<bool> stop{false};
  std::atomic<int> completed{0};
  std::thread worker([&] {
    while (!stop.load()) {
      absl::StatusOr<std::optional<PolledTask>> task =
          engine_->PollTask("quick", "w", common::SystemClock().NowMillis() + 20);
      if (task.ok() && task->has_value() && engine_->CompleteTask((*task)->token, R"({"done":1})").ok()) {
        ++completed;
      }
    }
  });
  for (int i = 0; i < 40; ++i) {
    absl::StatusOr<ExecutionInfoRecord> done =
        engine_->StartExecutionAndWait("Quick", "r" + std::to_string(i), "{}", Soon());
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(done->status, sm::ExecutionStatus::kSucceeded) << i;
    EXPECT_EQ(done->output, R"({"done":1})") << i;
  }
  stop = true;
  worker.join();
  EXPECT_GE(completed.load(), 40);
}

// EngineOptions::timer_slack_ms: a timer fires up to the slack late, never early, and the timers due within
// the slack of the first fire in one commit.
TEST_F(ExecutionsTest, TimersDueWithinTheSlackFireTogetherLateNotEarly) {
  timer_slack_ms_ = 100;
  partitions_ = 1;  // one writer thread: both executions' timers on one heap
  Reopen();
  const std::string first = engine_->StartExecution("Wait", "first", "{}")->arn;  // due at 5000
  clock_.AdvanceBy(40);
  const std::string second = engine_->StartExecution("Wait", "second", "{}")->arn;  // due at 5040
  // The events before the Wait fires (the same for both).
  const std::int64_t seen =
      static_cast<std::int64_t>(engine_->GetExecutionHistory(first, 100, "", false)->items.size());
  clock_.AdvanceBy(4960);  // the first is due; its partition wakes at 5100
  const common::EpochMillis now = common::SystemClock().NowMillis();
  EXPECT_THAT(*engine_->WaitForHistory(first, seen, now + 200), IsEmpty()) << "fired before the slack ran out";
  clock_.AdvanceBy(60);  // 5060: the second is due too, still within the first's slack
  EXPECT_THAT(*engine_->WaitForHistory(second, seen, now + 250), IsEmpty());
  const std::uint64_t commits = engine_->Metrics().commits;
  clock_.AdvanceBy(40);  // 5100
  EXPECT_EQ(Finish(first).stop, kT0 + 5100);
  EXPECT_EQ(Finish(second).stop, kT0 + 5100);
  EXPECT_EQ(engine_->Metrics().commits, commits + 1) << "both fired in one commit";
}

TEST_F(ExecutionsTest, ConcurrentStartsFromEightThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string name = "c" + std::to_string(t) + "-" + std::to_string(i % 20);  // some repeat
        absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("Pass", name, "{}");
        if (!e.ok() || Finish(e->arn).status != sm::ExecutionStatus::kSucceeded) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<Page<ExecutionInfoRecord>> all =
      engine_->ListExecutions({"Pass", sm::ExecutionStatus::kSucceeded, std::nullopt, std::nullopt, false, ""}, 1000, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), static_cast<std::size_t>(kThreads * 20));
}

TEST_F(ExecutionsTest, ShutdownIsIdempotentAndRefusesCalls) {
  engine_->Shutdown();
  engine_->Shutdown();
  EXPECT_TRUE(absl::IsUnavailable(engine_->StartExecution("Pass", "late", "{}").status()));
  EXPECT_TRUE(absl::IsUnavailable(engine_->DescribeStateMachine("Pass").status()));
}

}  // namespace
}  // namespace stepflow::engine::testing
