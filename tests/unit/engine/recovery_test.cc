// Durable engine: restarts. Timers survive and fire once (late rather than never), execution timeouts
// survive, replaying each execution's input log equals its stored record for a mix of workflows, and an
// execution that does not replay to its record is quarantined instead of keeping the store from opening.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"

#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/records.h"
#include "engine/replay.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class RecoveryTest : public EngineTest {
 protected:
  std::vector<HistoryEventRecord> History(const std::string& arn) {
    absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(arn, 1000, "", false);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->items : std::vector<HistoryEventRecord>{};
  }
  int Count(const std::vector<HistoryEventRecord>& events, const std::string& type) {
    int n = 0;
    for (const HistoryEventRecord& e : events) {
      n += e.type == type ? 1 : 0;
    }
    return n;
  }
  // Blocks until `arn` has entered the state `name` (bounded by Soon(): a hang fails, it does not hang).
  void AwaitStateEntered(const std::string& arn, const std::string& name) {
    const common::EpochMillis deadline = Soon();
    std::int64_t seen = 0;
    while (true) {
      absl::StatusOr<std::vector<HistoryEventRecord>> more = engine_->WaitForHistory(arn, seen, deadline);
      ASSERT_TRUE(more.ok()) << more.status();
      ASSERT_FALSE(more->empty()) << arn << " ended or timed out before entering " << name;
      for (const HistoryEventRecord& e : *more) {
        const boost::json::value details = boost::json::parse(e.details);
        const boost::json::value* entered = details.as_object().if_contains("name");
        if (e.type.ends_with("StateEntered") && entered != nullptr && entered->as_string() == name) {
          return;
        }
        seen = e.id;
      }
    }
  }
  // Ids 1..n without gaps or duplicates.
  void ExpectDenseIds(const std::vector<HistoryEventRecord>& events) {
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].id, static_cast<std::int64_t>(i + 1));
    }
  }
};

TEST_F(RecoveryTest, WaitOfFiveSecondsSurvivesARestartAndFiresOnce) {
  ASSERT_TRUE(engine_->CreateStateMachine("W", kWait5, false).ok());
  const std::string arn = engine_->StartExecution("W", "w", "{}")->arn;
  clock_.AdvanceBy(2000);
  Reopen();
  EXPECT_EQ(engine_->DescribeExecution(arn)->status, sm::ExecutionStatus::kRunning);
  EXPECT_EQ(Count(History(arn), "WaitStateExited"), 0);
  clock_.AdvanceBy(3000);
  ExecutionInfoRecord done = Finish(arn);
  EXPECT_EQ(done.status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(done.stop, kT0 + 5000);
  const std::vector<HistoryEventRecord> events = History(arn);
  EXPECT_EQ(Count(events, "WaitStateExited"), 1);
  ExpectDenseIds(events);
  // Another restart and more time change nothing.
  Reopen();
  clock_.AdvanceBy(60'000);
  EXPECT_EQ(History(arn).size(), events.size());
  engine_.reset();
  EXPECT_EQ(CountRows(storage::Column::kTimers), 0);
}

// The server's mode: Open returns while the partitions replay chunk by chunk. Calls made at once (a stop of
// an execution its chunk may not have reached, a new start) are served, the chunk that reaches the stopped
// execution later leaves it as the call left it, and every other execution still fires its timer once.
TEST_F(RecoveryTest, CallsDuringRecoveryAreServedAndEveryExecutionRecoversOnce) {
  ASSERT_TRUE(engine_->CreateStateMachine("W", kWait5, false).ok());
  std::vector<std::string> arns;
  for (int i = 0; i < 400; ++i) {  // several chunks of 64 per partition
    arns.push_back(engine_->StartExecution("W", "w" + std::to_string(i), "{}")->arn);
  }
  engine_.reset();
  EngineOptions options = Options();
  options.serve_during_recovery = true;
  auto reopened = Engine::Open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  engine_ = *std::move(reopened);
  absl::StatusOr<ExecutionInfoRecord> stopped = engine_->StopExecution(arns.back(), "Stopped", "during recovery");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status, sm::ExecutionStatus::kAborted);
  const std::string fresh = engine_->StartExecution("W", "fresh", "{}")->arn;
  clock_.AdvanceBy(5000);
  arns.pop_back();
  arns.push_back(fresh);
  for (const std::string& arn : arns) {
    EXPECT_EQ(Finish(arn).status, sm::ExecutionStatus::kSucceeded) << arn;
    EXPECT_EQ(Count(History(arn), "WaitStateExited"), 1) << arn;
  }
  engine_.reset();
  EXPECT_EQ(CountRows(storage::Column::kTimers), 0);
}

// Executions waiting in a Task whose task was polled before the restart, some of them corrupt, for the tests of
// calls that race recovery.
class RecoveryRaceTest : public RecoveryTest {
 protected:
  static constexpr int kExecutions = 600;  // ~3 chunks of 64 per partition: recovery takes a while
  static std::string Name(int i) {
    char name[16];
    std::snprintf(name, sizeof(name), "e%04d", i);
    return name;
  }
  // One in 25 cannot be replayed (its start record garbled): 24, spread over every group of `i % 4`.
  static bool Corrupt(int i) { return i % 25 == 24; }

  // Starts the executions, polls every task (the tokens stay valid across the restart), garbles the corrupt
  // ones, and reopens the engine serving during recovery.
  void SetUpExecutions() {
    ASSERT_TRUE(engine_->CreateStateMachine("Forever", kTaskForever, false).ok());
    for (int i = 0; i < kExecutions; ++i) {
      absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("Forever", Name(i), R"({"n":1})");
      ASSERT_TRUE(e.ok()) << e.status();
      arns_.push_back(e->arn);
    }
    for (int i = 0; i < kExecutions; ++i) {
      absl::StatusOr<std::optional<PolledTask>> task = engine_->PollTask("work", "w", Soon());
      ASSERT_TRUE(task.ok() && task->has_value()) << task.status();
      tokens_[(*task)->execution_arn] = (*task)->token;
    }
    serve_during_recovery_ = true;
    WithStoreClosed([&](storage::Store& store) {
      for (int i = 0; i < kExecutions; ++i) {
        if (Corrupt(i)) {
          storage::WriteBatch b;
          b.Put(storage::Column::kInputs, InputKey(arns_[i], 0), std::string("\x02garbage\xff\xff", 10));
          ASSERT_TRUE(store.Commit(b).ok());
        }
      }
    });
  }

  static void ExpectQuarantined(const absl::Status& s, const std::string& what) {
    EXPECT_THAT(std::string(s.message()), StartsWith("ExecutionQuarantined: ")) << what << ": " << s;
  }

  std::vector<std::string> arns_;
  std::map<std::string, std::string> tokens_;  // execution ARN -> its task's token
};

// The server's mode under load: while recovery replays 600 executions, threads name executions it has not
// reached yet (they walk from the last one recovery reaches): describe, history, repeated starts, redrive,
// stop, task results and heartbeats, listings. Every answer is the one the end of recovery would give: a
// corrupt execution answers as quarantined (never with its replay error, nor as a running execution), a
// healthy one as stored; and each execution is recovered once.
TEST_F(RecoveryRaceTest, CallsRacingRecoveryAreAnsweredAsAfterIt) {
  SetUpExecutions();
  std::vector<std::thread> threads;
  // Each group of `i % 4` gets calls of its own kind, so that the expected answers do not depend on the race
  // between the threads, only on whether the execution is corrupt.
  auto walk = [&](int group, const std::function<void(int, const std::string&)>& call) {
    threads.emplace_back([&, group, call] {
      for (int i = kExecutions - 1; i >= 0; --i) {
        if (i % 4 == group) {
          call(i, arns_[i]);
        }
      }
    });
  };
  walk(0, [&](int i, const std::string& arn) {
    absl::StatusOr<ExecutionInfoRecord> d = engine_->DescribeExecution(arn);
    ASSERT_TRUE(d.ok()) << arn << ": " << d.status();
    EXPECT_EQ(d->quarantined, Corrupt(i)) << arn;
    EXPECT_EQ(d->status, sm::ExecutionStatus::kRunning) << arn;
    absl::StatusOr<Page<HistoryEventRecord>> h = engine_->GetExecutionHistory(arn, 100, "", false);
    EXPECT_TRUE(h.ok() && !h->items.empty()) << arn << ": " << h.status();
    absl::StatusOr<ExecutionInfoRecord> same = engine_->StartExecution("Forever", Name(i), R"({"n":1})");
    absl::StatusOr<ExecutionInfoRecord> other = engine_->StartExecution("Forever", Name(i), R"({"n":2})");
    absl::Status redrive = engine_->RedriveExecution(arn).status();
    if (Corrupt(i)) {
      ExpectQuarantined(same.status(), arn);
      ExpectQuarantined(other.status(), arn);
      ExpectQuarantined(redrive, arn);
      return;
    }
    ASSERT_TRUE(same.ok()) << arn << ": " << same.status();
    EXPECT_EQ(same->arn, arn);
    EXPECT_EQ(same->status, sm::ExecutionStatus::kRunning);
    EXPECT_THAT(std::string(other.status().message()), StartsWith("ExecutionAlreadyExists")) << arn;
    EXPECT_THAT(std::string(redrive.message()), StartsWith("ExecutionNotRedrivable")) << arn;
  });
  walk(1, [&](int /*i*/, const std::string& arn) {
    absl::StatusOr<ExecutionInfoRecord> stopped = engine_->StopExecution(arn, "Stopped", "racing recovery");
    ASSERT_TRUE(stopped.ok()) << arn << ": " << stopped.status();
    EXPECT_EQ(stopped->status, sm::ExecutionStatus::kAborted) << arn;
    EXPECT_FALSE(stopped->quarantined) << arn;
    EXPECT_THAT(std::string(engine_->StopExecution(arn, "Stopped", "again").status().message()),
                StartsWith("ExecutionNotRunning"))
        << arn;
  });
  walk(2, [&](int i, const std::string& arn) {
    absl::Status completed = engine_->CompleteTask(tokens_.at(arn), R"({"done":true})");
    if (Corrupt(i)) {
      ExpectQuarantined(completed, arn);
    } else {
      EXPECT_TRUE(completed.ok()) << arn << ": " << completed;
    }
  });
  walk(3, [&](int i, const std::string& arn) {
    absl::StatusOr<bool> cancelled = engine_->HeartbeatTask(tokens_.at(arn));
    if (Corrupt(i)) {
      ExpectQuarantined(cancelled.status(), arn);
    } else {
      ASSERT_TRUE(cancelled.ok()) << arn << ": " << cancelled.status();
      EXPECT_FALSE(*cancelled) << arn;
    }
  });
  threads.emplace_back([&] {
    // RUNNING listings never show a corrupt execution as running, whatever recovery has reached. (One the stop
    // thread ends between the listing's index scan and its record read is listed with its new status, ABORTED,
    // as any execution that ends meanwhile is.)
    for (int round = 0; round < 5; ++round) {
      ExecutionFilter running;
      running.status = sm::ExecutionStatus::kRunning;
      absl::StatusOr<Page<ExecutionInfoRecord>> page = engine_->ListExecutions(running, 1000, "");
      ASSERT_TRUE(page.ok()) << page.status();
      for (const ExecutionInfoRecord& r : page->items) {
        const int i = std::stoi(r.name.substr(1));
        if (Corrupt(i)) {
          EXPECT_EQ(r.status, sm::ExecutionStatus::kAborted) << r.arn << " listed as running";
        }
        EXPECT_FALSE(r.quarantined) << r.arn;
      }
    }
  });
  for (std::thread& t : threads) {
    t.join();
  }

  int corrupt_left = 0;  // quarantined and not stopped
  for (int i = 0; i < kExecutions; ++i) {
    corrupt_left += Corrupt(i) && i % 4 != 1 ? 1 : 0;
  }
  for (int i = 0; i < kExecutions; ++i) {
    if (i % 4 == 2 && !Corrupt(i)) {
      EXPECT_EQ(Finish(arns_[i]).status, sm::ExecutionStatus::kSucceeded) << arns_[i];
    }
  }
  absl::StatusOr<ExecutionCounts> counts = engine_->CountExecutions("Forever");  // after recovery's end
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->quarantined, corrupt_left);
  EXPECT_EQ(counts->by_status[sm::ExecutionStatus::kAborted], kExecutions / 4);
  EXPECT_EQ(counts->by_status[sm::ExecutionStatus::kSucceeded], kExecutions / 4 - 6);
  EXPECT_EQ(counts->by_status[sm::ExecutionStatus::kRunning], kExecutions / 2 - 12);
  EXPECT_EQ(engine_->Metrics().executions_quarantined, static_cast<std::uint64_t>(corrupt_left));
  ExecutionFilter quarantined;
  quarantined.quarantined = true;
  EXPECT_EQ(engine_->ListExecutions(quarantined, 1000, "")->items.size(), static_cast<std::size_t>(corrupt_left));
  // Once each: one task scheduled and started per execution, one end for the stopped ones; no task is handed
  // out again (each was started before the restart).
  for (int i = 0; i < kExecutions; ++i) {
    const std::vector<HistoryEventRecord> events = History(arns_[i]);
    EXPECT_EQ(Count(events, "TaskScheduled"), 1) << arns_[i];
    EXPECT_EQ(Count(events, "TaskStarted"), 1) << arns_[i];
    EXPECT_EQ(Count(events, "ExecutionAborted"), i % 4 == 1 ? 1 : 0) << arns_[i];
    EXPECT_EQ(Count(events, "ExecutionSucceeded"), i % 4 == 2 && !Corrupt(i) ? 1 : 0) << arns_[i];
    ExpectDenseIds(events);
  }
  absl::StatusOr<std::optional<PolledTask>> none =
      engine_->PollTask("work", "w", common::SystemClock().NowMillis() + 50);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // A restart without serving during recovery finds the same.
  serve_during_recovery_ = false;
  Reopen();
  counts = engine_->CountExecutions("Forever");
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->quarantined, corrupt_left);
  EXPECT_EQ(counts->by_status[sm::ExecutionStatus::kRunning], kExecutions / 2 - 12);
}

// A shutdown while recovery runs and calls wait for executions it has not reached: each call is answered
// (as after recovery, or ShuttingDown), none hangs, and the next open recovers every execution.
TEST_F(RecoveryRaceTest, AShutdownDuringRecoveryAnswersTheWaitingCalls) {
  SetUpExecutions();
  std::atomic<int> answered{0};
  std::thread reader([&] {
    for (int i = kExecutions - 1; i >= 0; --i) {
      absl::StatusOr<ExecutionInfoRecord> d = engine_->DescribeExecution(arns_[i]);
      if (d.ok()) {
        EXPECT_EQ(d->quarantined, Corrupt(i)) << arns_[i];
      } else {
        EXPECT_THAT(std::string(d.status().message()), HasSubstr("shutting down")) << arns_[i];
      }
      ++answered;
    }
  });
  engine_->Shutdown();
  reader.join();
  EXPECT_EQ(answered.load(), kExecutions);
  serve_during_recovery_ = false;
  Reopen();
  absl::StatusOr<ExecutionCounts> counts = engine_->CountExecutions("Forever");
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->quarantined, 24);
  EXPECT_EQ(counts->by_status[sm::ExecutionStatus::kRunning], kExecutions - 24);
}

TEST_F(RecoveryTest, OverdueTimersFireAtOnceAfterARestart) {
  ASSERT_TRUE(engine_->CreateStateMachine("W", kWait5, false).ok());
  const std::string arn = engine_->StartExecution("W", "late", "{}")->arn;
  engine_.reset();
  clock_.AdvanceBy(60'000);  // the server was down when the timer came due
  Open();
  ExecutionInfoRecord done = Finish(arn);
  EXPECT_EQ(done.status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(done.stop, kT0 + 60'000);  // late rather than never
}

TEST_F(RecoveryTest, ExecutionTimeoutSurvivesARestart) {
  ASSERT_TRUE(engine_
                  ->CreateStateMachine("T", R"({"TimeoutSeconds":10,"StartAt":"W","States":{
      "W":{"Type":"Wait","Seconds":3600,"End":true}}})",
                                       false)
                  .ok());
  const std::string arn = engine_->StartExecution("T", "t", "{}")->arn;
  clock_.AdvanceBy(4000);
  Reopen();
  clock_.AdvanceBy(6000);
  ExecutionInfoRecord done = Finish(arn);
  EXPECT_EQ(done.status, sm::ExecutionStatus::kTimedOut);
  EXPECT_EQ(done.error, "States.Timeout");
  EXPECT_EQ(done.stop, kT0 + 10'000);
  engine_.reset();
  EXPECT_EQ(CountRows(storage::Column::kTimers), 0);
}

// A mix of workflows, some finished and some waiting when the engine closes.
const std::map<std::string, std::string>& Mix() {
  static const auto* mix = new std::map<std::string, std::string>{
      {"pass", kPassChain},
      {"choice_loop", R"json({"StartAt":"Init","States":{
          "Init":{"Type":"Pass","Result":0,"ResultPath":"$.i","Next":"Loop"},
          "Loop":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericGreaterThanEquals":5,"Next":"Done"}],
                  "Default":"Inc"},
          "Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)","id.$":"States.UUID()"},"Next":"Loop"},
          "Done":{"Type":"Succeed"}}})json"},
      {"map", R"json({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","End":true,
          "ItemProcessor":{"StartAt":"P","States":{
            "P":{"Type":"Pass","Parameters":{"v.$":"$","r.$":"States.MathRandom(1, 1000)"},"End":true}}}}}})json"},
      {"parallel", R"({"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
          {"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":2,"End":true}}},
          {"StartAt":"B","States":{"B":{"Type":"Pass","Result":"b","End":true}}}]}}})"},
      {"wait", R"json({"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","Next":"U"},
          "U":{"Type":"Pass","Parameters":{"u.$":"States.UUID()"},"Next":"W2"},
          "W2":{"Type":"Wait","Seconds":30,"End":true}}})json"},
      {"stop", kTaskForever},
      // JSONata: $uuid(), $random() and $now() are recorded, so the replay gives the same output.
      {"jsonata", R"json({"QueryLanguage":"JSONata","StartAt":"J","States":{
          "J":{"Type":"Pass","Assign":{"u":"{% $uuid() %}"},
               "Output":{"r":"{% $random() %}","now":"{% $now() %}","items":"{% $states.input.items %}"},
               "Next":"M"},
          "M":{"Type":"Map","Items":"{% $states.input.items %}","Next":"W",
               "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Output":{"v":"{% $states.input %}",
                                                                                     "r":"{% $random() %}"},"End":true}}}},
          "W":{"Type":"Wait","Seconds":"{% 20 %}","Next":"D"},
          "D":{"Type":"Pass","Output":{"u":"{% $u %}","x":"{% $uuid() %}"},"End":true}}})json"},
  };
  return *mix;
}

TEST_F(RecoveryTest, ReplayEqualsTheStoredStateForAMix) {
  std::vector<std::string> arns;
  for (const auto& [name, definition] : Mix()) {
    ASSERT_TRUE(engine_->CreateStateMachine(name, definition, false).ok()) << name;
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<ExecutionInfoRecord> e =
          engine_->StartExecution(name, "run" + std::to_string(i), R"({"s":10,"items":[1,2,3]})");
      ASSERT_TRUE(e.ok()) << e.status();
      arns.push_back(e->arn);
    }
  }
  const std::string stopped = "arn:aws:states:us-east-1:123456789012:execution:stop:run0";
  ASSERT_TRUE(engine_->StopExecution(stopped, "Stopped", "by test").ok());
  clock_.AdvanceBy(15'000);  // parallel done; "wait" past its first Wait, inside W2
  ExecutionInfoRecord parallel = Finish("arn:aws:states:us-east-1:123456789012:execution:parallel:run0");
  EXPECT_EQ(parallel.status, sm::ExecutionStatus::kSucceeded);
  // A "wait" execution's first timer fires when its partition next wakes, which may come after the close. Then
  // the recovered engine fires it at +75 s and arms W2 for +105 s, past the clock's last advance: a hang.
  for (int i = 0; i < 3; ++i) {
    AwaitStateEntered("arn:aws:states:us-east-1:123456789012:execution:wait:run" + std::to_string(i), "W2");
  }
  engine_.reset();

  // Replay every execution, finished or not, straight from the store.
  {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    auto store = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(store.ok());
    DefinitionStore definitions(store->get(), &clock_, 1 << 20);
    MachineLookup machines = [&](const std::string& name, std::int64_t version) {
      return definitions.Machine(name, version);
    };
    for (const std::string& arn : arns) {
      absl::StatusOr<std::optional<std::string>> value = (*store)->Get(storage::Column::kExecutions, arn);
      ASSERT_TRUE(value.ok() && value->has_value()) << arn;
      absl::StatusOr<StoredExecution> stored = DecodeExecutionRecord(**value);
      ASSERT_TRUE(stored.ok());
      absl::StatusOr<ReplayedExecution> replayed = LoadExecution(**store, arn, machines);
      ASSERT_TRUE(replayed.ok()) << arn << ": " << replayed.status();
      EXPECT_EQ(replayed->execution->status(), stored->record.status) << arn;
      EXPECT_EQ(replayed->execution->last_event_id(), stored->last_event_id) << arn;
      ExecutionInfoRecord again =
          MakeExecutionInfoRecord(replayed->info, replayed->meta, *replayed->execution, stored->record.stop);
      EXPECT_EQ(again.output, stored->record.output) << arn;
      EXPECT_EQ(again.error, stored->record.error) << arn;
    }
  }

  // And the recovered engine finishes what was running, each history dense.
  Open();
  clock_.AdvanceBy(60'000);
  for (const std::string& arn : arns) {
    if (arn.find(":stop:") != std::string::npos && arn != stopped) {
      ASSERT_TRUE(engine_->StopExecution(arn, "", "").ok());
    }
    ExecutionInfoRecord done = Finish(arn);
    EXPECT_NE(done.status, sm::ExecutionStatus::kRunning) << arn;
    EXPECT_NE(done.status, sm::ExecutionStatus::kFailed) << arn << " " << done.error << " " << done.cause;
    ExpectDenseIds(History(arn));
  }
}

TEST_F(RecoveryTest, AnExecutionThatDoesNotReplayToItsRecordIsQuarantinedNotTheStore) {
  ASSERT_TRUE(engine_->CreateStateMachine("W", kWait5, false).ok());
  const std::string arn = engine_->StartExecution("W", "w", "{}")->arn;
  engine_.reset();
  {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    auto store = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(store.ok());
    storage::WriteBatch lose_input;
    lose_input.Delete(storage::Column::kInputs, InputKey(arn, 0));
    ASSERT_TRUE((*store)->Commit(lose_input).ok());
  }
  Open();
  absl::StatusOr<ExecutionInfoRecord> described = engine_->DescribeExecution(arn);
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_TRUE(described->quarantined);
  EXPECT_THAT(described->quarantine_reason, StartsWith("ReplayMismatch: "));
}

TEST_F(RecoveryTest, AnOrphanTimerRowDoesNotKeepTheStoreFromOpening) {
  engine_.reset();
  {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    auto store = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(store.ok());
    storage::WriteBatch orphan;
    orphan.Put(storage::Column::kTimers, TimerKey(kT0, "arn:aws:states:us-east-1:123456789012:execution:X:y", 7), "");
    ASSERT_TRUE((*store)->Commit(orphan).ok());
  }
  auto reopened = Engine::Open(Options());
  EXPECT_TRUE(reopened.ok()) << reopened.status();
}

}  // namespace
}  // namespace stepflow::engine::testing
