// Bounded work on the durable engine (real RocksDB): an execution that runs transitions without waiting
// commits them in batches (sm::ExecutionLimits::max_transitions_per_decision) and goes on in later turns of
// its partition, so that other executions of the same partition start and end meanwhile, Stop is served
// between two batches, and a restart between two batches replays exactly what was committed.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/records.h"
#include "engine/replay.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

constexpr char kEndlessLoop[] = R"({"StartAt":"A","States":{
    "A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}})";
// Counts $.i up to 2,000: 4,002 states entered without waiting.
constexpr char kCountingLoop[] = R"json({"StartAt":"Check","States":{
    "Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)"},"Next":"Check"},
    "Check":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericLessThan":2000,"Next":"Inc"}],"Default":"Done"},
    "Done":{"Type":"Succeed"}}})json";

class BoundedTest : public EngineTest {
 protected:
  BoundedTest() {
    partitions_ = 1;  // every execution in the same partition as the loop
    limits_.max_transitions_per_decision = 5;
    limits_.max_history_events = 1'000'000;
  }
  std::vector<HistoryEventRecord> History(const std::string& arn) {
    std::vector<HistoryEventRecord> all;
    std::string token;
    do {
      absl::StatusOr<Page<HistoryEventRecord>> page = engine_->GetExecutionHistory(arn, 1000, token, false);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) {
        break;
      }
      all.insert(all.end(), page->items.begin(), page->items.end());
      token = page->next_page_token;
    } while (!token.empty());
    return all;
  }
  // Blocks until the execution has committed more than `events` events (it went on after yielding).
  void WaitPast(const std::string& arn, std::int64_t events) {
    absl::StatusOr<std::vector<HistoryEventRecord>> more = engine_->WaitForHistory(arn, events, Soon());
    ASSERT_TRUE(more.ok()) << more.status();
    ASSERT_FALSE(more->empty()) << "no event after " << events;
  }
  // Blocks until the engine has committed more than `events` history events in all. For an execution that
  // never ends: reading the tail of its history races its writer (a scan to the end of its rows skips every row
  // appended after the scan began, and under ThreadSanitizer the loop appends them faster than they are
  // skipped), so this counts instead.
  void WaitPastCommitted(std::uint64_t events) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (engine_->Metrics().history_events <= events) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no more than " << events << " events committed";
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  // With the engine closed: the log of `arn` holds one CONTINUE per 5 states entered after the first 5 (the
  // counting loop's 4,002), and replaying it from the store gives the stored record.
  void ExpectReplayEqualsStored(const std::string& arn, std::int64_t last_event_id) {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    o.sync_writes = false;
    absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(store.ok()) << store.status();
    DefinitionStore definitions(store->get(), &clock_, 1 << 20);
    MachineLookup machines = [&](const std::string& name, std::int64_t version) {
      return definitions.Machine(name, version);
    };
    absl::StatusOr<std::vector<InputRecord>> log = ReadInputLog(**store, arn);
    ASSERT_TRUE(log.ok()) << log.status();
    int continues = 0;
    for (const InputRecord& in : *log) {
      continues += in.kind == InputRecord::Kind::kContinue ? 1 : 0;
    }
    EXPECT_EQ(continues, 4002 / 5);
    absl::StatusOr<ReplayedExecution> replayed = LoadExecution(**store, arn, machines);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(replayed->execution->status(), sm::ExecutionStatus::kSucceeded);
    EXPECT_EQ(replayed->execution->last_event_id(), last_event_id);
  }
  static void ExpectDenseIds(const std::vector<HistoryEventRecord>& events) {
    for (std::size_t i = 0; i < events.size(); ++i) {
      ASSERT_EQ(events[i].id, static_cast<std::int64_t>(i + 1));
    }
  }
};

TEST_F(BoundedTest, OtherExecutionsOfThePartitionStartAndEndWhileALoopRunsAndStopEndsTheLoop) {
  ASSERT_TRUE(engine_->CreateStateMachine("Loop", kEndlessLoop, false).ok());
  ASSERT_TRUE(engine_->CreateStateMachine("Chain", kPassChain, false).ok());
  absl::StatusOr<ExecutionInfoRecord> loop = engine_->StartExecution("Loop", "loop", R"({"big":"payload"})");
  ASSERT_TRUE(loop.ok()) << loop.status();
  // Answered after its first batch, not at the end of the loop (which here ends only at 1,000,000 events).
  EXPECT_EQ(loop->status, sm::ExecutionStatus::kRunning);
  WaitPastCommitted(100);  // it yielded and went on, batch after batch (the only execution so far)

  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<ExecutionInfoRecord> other = engine_->StartExecution("Chain", "other-" + std::to_string(i), "{}");
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_EQ(Finish(other->arn).status, sm::ExecutionStatus::kSucceeded);
  }
  EXPECT_EQ(engine_->DescribeExecution(loop->arn)->status, sm::ExecutionStatus::kRunning);

  absl::StatusOr<ExecutionInfoRecord> stopped = engine_->StopExecution(loop->arn, "Stopped", "by the test");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status, sm::ExecutionStatus::kAborted);
  const std::vector<HistoryEventRecord> events = History(loop->arn);
  ExpectDenseIds(events);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type, "ExecutionAborted");
  EXPECT_LT(events.size(), 1'000'000u);
  // Nothing goes on after the stop, before or after a restart.
  Reopen();
  EXPECT_EQ(History(loop->arn).size(), events.size());
  EXPECT_EQ(engine_->DescribeExecution(loop->arn)->status, sm::ExecutionStatus::kAborted);
}

TEST_F(BoundedTest, ARestartBetweenTwoBatchesReplaysWhatWasCommittedAndTheLoopGoesOnToItsEnd) {
  ASSERT_TRUE(engine_->CreateStateMachine("Count", kCountingLoop, false).ok());
  absl::StatusOr<ExecutionInfoRecord> count = engine_->StartExecution("Count", "count", R"({"i":0})");
  ASSERT_TRUE(count.ok()) << count.status();
  WaitPast(count->arn, 200);
  Reopen();  // recovery replays the log, CONTINUE inputs included, and verifies it against the record
  ExecutionInfoRecord done = Finish(count->arn);
  EXPECT_EQ(done.status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(done.output, R"({"i":2000})");
  const std::vector<HistoryEventRecord> events = History(count->arn);
  ExpectDenseIds(events);
  EXPECT_EQ(events.size(), 1 + 2 * 4002 + 1u);

  // Replaying the whole log from the store gives the stored record: replay equals live.
  engine_.reset();
  ExpectReplayEqualsStored(count->arn, static_cast<std::int64_t>(events.size()));
}

TEST_F(BoundedTest, ExecutionsStartedUnderNewLimitsKeepTheLimitsTheyStartedWith) {
  ASSERT_TRUE(engine_->CreateStateMachine("Count", kCountingLoop, false).ok());
  absl::StatusOr<ExecutionInfoRecord> count = engine_->StartExecution("Count", "count", R"({"i":0})");
  ASSERT_TRUE(count.ok()) << count.status();
  WaitPast(count->arn, 100);
  // The server restarts with other limits: the running execution replays (and goes on) under its own.
  engine_.reset();
  limits_.max_transitions_per_decision = 1000;
  Open();
  EXPECT_EQ(Finish(count->arn).status, sm::ExecutionStatus::kSucceeded);
  const std::vector<HistoryEventRecord> events = History(count->arn);
  ExpectDenseIds(events);
  engine_.reset();
  ExpectReplayEqualsStored(count->arn, static_cast<std::int64_t>(events.size()));  // still 5 per decision
}

}  // namespace
}  // namespace stepflow::engine::testing
