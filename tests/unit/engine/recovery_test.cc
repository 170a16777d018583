// Durable engine: restarts. Timers survive and fire once (late rather than never), execution timeouts
// survive, replaying each execution's input log equals its stored record for a mix of workflows, and an
// execution that does not replay to its record is quarantined instead of keeping the store from opening.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/records.h"
#include "engine/replay.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

using ::testing::Each;
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
