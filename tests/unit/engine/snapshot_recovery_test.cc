// Recovery from snapshots on the durable engine (issue 14, part 1): an execution kept alive by heartbeats
// (inputs without events) recovers from its latest snapshot plus the inputs after it; a snapshot that cannot be
// used (damaged, forged, copied from another execution) is logged as SnapshotUnusable and the whole log is
// replayed instead; nothing is quarantined for it. And the store keeps its number of logical partitions.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>
#include <mutex>
#include <sstream>
#include <string>

#include "common/status.h"
#include "engine/crypto.h"
#include "engine/logical_partitions.h"
#include "engine/records.h"
#include "engine/snapshots.h"
#include "engine/task_tokens.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "stepflow/storage/v1/records.pb.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHeartbeatTask[] = R"({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:::activity:beat","HeartbeatSeconds":3600,"End":true}}})";

// Captures the log lines written while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() {
    sink_->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

class SnapshotRecoveryTest : public EngineTest {
 protected:
  static constexpr std::int64_t kEvery = 10;

  void SetUp() override {
    EngineTest::SetUp();
    Reopen();
    ASSERT_TRUE(engine_->CreateStateMachine("Beat", kHeartbeatTask, false).ok());
  }
  void Reopen() {
    engine_.reset();
    EngineOptions o = Options();
    o.snapshot_every_inputs = kEvery;
    auto engine = Engine::Open(o);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }

  // Starts `name`, takes its task and heartbeats it `beats` times: 2 + beats inputs. Returns the task token.
  std::string StartAndBeat(const std::string& name, int beats) {
    absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("Beat", name, R"({"n":1})");
    EXPECT_TRUE(e.ok()) << e.status();
    absl::StatusOr<std::optional<PolledTask>> task = engine_->PollTask("beat", "w", Soon());
    EXPECT_TRUE(task.ok() && task->has_value());
    if (!task.ok() || !task->has_value()) {
      return "";
    }
    for (int i = 0; i < beats; ++i) {
      absl::StatusOr<bool> cancelled = engine_->HeartbeatTask((*task)->token);
      EXPECT_TRUE(cancelled.ok() && !*cancelled);
    }
    arns_[name] = e->arn;
    return (*task)->token;
  }

  void ExpectRecoversAndFinishes(const std::string& name, const std::string& token) {
    absl::StatusOr<ExecutionInfoRecord> d = engine_->DescribeExecution(arns_[name]);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_FALSE(d->quarantined) << d->quarantine_reason;
    EXPECT_EQ(d->status, sm::ExecutionStatus::kRunning);
    // The recovered execution knows its task and its heartbeat: one more beat, then the answer.
    absl::StatusOr<bool> cancelled = engine_->HeartbeatTask(token);
    ASSERT_TRUE(cancelled.ok()) << cancelled.status();
    ASSERT_TRUE(engine_->CompleteTask(token, R"({"done":true})").ok());
    ExecutionInfoRecord done = Finish(arns_[name]);
    EXPECT_EQ(done.status, sm::ExecutionStatus::kSucceeded);
    EXPECT_EQ(done.output, R"({"done":true})");
  }

  // The snapshot of execution `name` as stored, decoded with the store's key.
  absl::StatusOr<DecodedSnapshot> StoredSnapshot(storage::Store& store, const std::string& name) {
    ASSIGN_OR_RETURN(std::optional<std::string> row, store.Get(storage::Column::kSnapshots, arns_[name]));
    if (!row) {
      return absl::NotFoundError("no snapshot row");
    }
    ASSIGN_OR_RETURN(TaskTokens tokens, TaskTokens::LoadOrCreate(store));
    return DecodeSnapshot(arns_[name], *row, tokens.DeriveKey(kSnapshotKeyPurpose));
  }

  std::map<std::string, std::string> arns_;
};

TEST_F(SnapshotRecoveryTest, RecoveryStartsFromTheLatestSnapshotAndAppliesOnlyTheTail) {
  const std::string token = StartAndBeat("old", 25);  // inputs 0..26: snapshots after 10 and 20
  WithStoreClosed([&](storage::Store& store) {
    absl::StatusOr<DecodedSnapshot> s = StoredSnapshot(store, "old");
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->inputs, 20);
    EXPECT_EQ(s->pending.tasks.size(), 1u);
    EXPECT_EQ(s->pending.timers.size(), 1u);  // the heartbeat timer
    // Inputs 1..18 are what the snapshot covers (it needs 0, the start, and 19, the last it covers): without
    // them only a recovery from the snapshot can succeed.
    storage::WriteBatch b;
    for (int i = 1; i <= 18; ++i) {
      b.Delete(storage::Column::kInputs, InputKey(arns_["old"], i));
    }
    ASSERT_TRUE(store.Commit(b).ok());
  });
  Reopen();
  ExpectRecoversAndFinishes("old", token);
}

TEST_F(SnapshotRecoveryTest, AnUnusableSnapshotIsLoggedAndTheWholeLogIsReplayed) {
  const std::string flipped = StartAndBeat("flipped", 12);
  const std::string garbage = StartAndBeat("garbage", 12);
  const std::string copied = StartAndBeat("copied", 12);
  const std::string ahead = StartAndBeat("ahead", 12);
  const std::string forged = StartAndBeat("forged", 12);
  LogCapture log;
  WithStoreClosed([&](storage::Store& store) {
    auto get = [&](const std::string& name) {
      absl::StatusOr<std::optional<std::string>> row = store.Get(storage::Column::kSnapshots, arns_[name]);
      EXPECT_TRUE(row.ok() && row->has_value());
      return row.ok() && row->has_value() ? **row : std::string();
    };
    storage::WriteBatch b;
    std::string bad = get("flipped");
    bad[bad.size() / 2] ^= 0x40;
    b.Put(storage::Column::kSnapshots, arns_["flipped"], bad);
    b.Put(storage::Column::kSnapshots, arns_["garbage"], std::string("\x02\xff\xff\xff", 4));
    b.Put(storage::Column::kSnapshots, arns_["copied"], get("flipped"));  // another execution's, unchanged
    // Forged with the store's own key (whoever can write the store can read it): a snapshot that claims more
    // inputs than the log holds, and one whose frame names a state the machine does not have.
    absl::StatusOr<TaskTokens> tokens = TaskTokens::LoadOrCreate(store);
    ASSERT_TRUE(tokens.ok());
    const std::string key = tokens->DeriveKey(kSnapshotKeyPurpose);
    auto forge = [&](const std::string& name, const std::function<void(storage::v1::ExecutionSnapshot&)>& change) {
      storage::v1::SnapshotEnvelope envelope;
      std::string value = get(name);
      ASSERT_TRUE(envelope.ParseFromArray(value.data() + 1, static_cast<int>(value.size() - 1)));
      storage::v1::ExecutionSnapshot body;
      ASSERT_TRUE(body.ParseFromString(envelope.body()));
      change(body);
      envelope.set_body(body.SerializeAsString());
      envelope.set_mac(HmacSha256(key, arns_[name] + std::string(1, '\0') + envelope.body()));
      std::string out(1, kValueFormatV2);
      envelope.AppendToString(&out);
      ASSERT_TRUE(DecodeSnapshot(arns_[name], out, key).ok());  // it passes every check a row alone allows
      b.Put(storage::Column::kSnapshots, arns_[name], out);
    };
    forge("ahead", [](storage::v1::ExecutionSnapshot& s) { s.set_inputs(500); });
    forge("forged", [](storage::v1::ExecutionSnapshot& s) {
      std::string state = s.state();
      std::size_t at = state.find(R"("state":"T")");
      ASSERT_NE(at, std::string::npos);
      state.replace(at, 11, R"("state":"U")");
      s.set_state(state);
    });
    ASSERT_TRUE(store.Commit(b).ok());
  });
  Reopen();
  const std::string text = log.text();
  for (const char* name : {"flipped", "garbage", "copied", "ahead", "forged"}) {
    EXPECT_THAT(text, HasSubstr("SnapshotUnusable execution=" + arns_[name])) << name;
  }
  EXPECT_THAT(text, Not(HasSubstr("QUARANTINED")));
  ExpectRecoversAndFinishes("flipped", flipped);
  ExpectRecoversAndFinishes("garbage", garbage);
  ExpectRecoversAndFinishes("copied", copied);
  ExpectRecoversAndFinishes("ahead", ahead);
  ExpectRecoversAndFinishes("forged", forged);
}

// Heartbeats racing from several threads on one execution: its partition applies them one at a time, and each
// snapshot is the state after the input whose batch holds it.
TEST_F(SnapshotRecoveryTest, RacingHeartbeatsLeaveASnapshotThatRecovers) {
  const std::string token = StartAndBeat("raced", 0);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        absl::StatusOr<bool> cancelled = engine_->HeartbeatTask(token);
        if (!cancelled.ok() || *cancelled) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  WithStoreClosed([&](storage::Store& store) {
    // 2 + 160 inputs: the latest snapshot covers 160, and only it can rebuild the execution without input 1.
    absl::StatusOr<DecodedSnapshot> s = StoredSnapshot(store, "raced");
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->inputs, 160);
    storage::WriteBatch b;
    b.Delete(storage::Column::kInputs, InputKey(arns_["raced"], 1));
    ASSERT_TRUE(store.Commit(b).ok());
  });
  Reopen();
  ExpectRecoversAndFinishes("raced", token);
}

TEST_F(SnapshotRecoveryTest, NoSnapshotsAreWrittenWhenTheyAreOff) {
  engine_.reset();
  EngineOptions o = Options();
  o.snapshot_every_inputs = 0;
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok()) << engine.status();
  engine_ = *std::move(engine);
  const std::string token = StartAndBeat("plain", 25);
  engine_.reset();
  EXPECT_EQ(CountRows(storage::Column::kSnapshots), 0);
  Reopen();
  ExpectRecoversAndFinishes("plain", token);
}

// --- Logical partitions

std::optional<std::uint64_t> StoredCount(const std::filesystem::path& data) {
  storage::StoreOptions o;
  o.path = data.string();
  o.sync_writes = false;
  auto store = storage::OpenRocksDbStore(o);
  EXPECT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::optional<std::string>> row =
      (*store)->Get(storage::Column::kMeta, std::string(kLogicalPartitionsRow));
  if (!row.ok() || !row->has_value() || (*row)->size() != 8) {
    return std::nullopt;
  }
  return storage::ReadUint64BigEndian(**row);
}

TEST_F(SnapshotRecoveryTest, ANewStoreKeepsTheLogicalPartitionsItWasCreatedWith) {
  // SetUp opened a new store with the default.
  engine_.reset();
  EXPECT_EQ(StoredCount(dir_ / "data"), std::optional<std::uint64_t>(kDefaultLogicalPartitions));
  // Another opener with other settings (another machine, other flags) keeps the store's count.
  EngineOptions o = Options();
  o.partitions = 5;
  o.logical_partitions = 7;
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok()) << engine.status();
  engine->reset();
  EXPECT_EQ(StoredCount(dir_ / "data"), std::optional<std::uint64_t>(kDefaultLogicalPartitions));
}

TEST_F(SnapshotRecoveryTest, AStoreWrittenBeforeTheCountKeepsOnePartitionPerThread) {
  const std::string token = StartAndBeat("before", 3);
  WithStoreClosed([&](storage::Store& store) {
    storage::WriteBatch b;  // as a release before the row left it
    b.Delete(storage::Column::kMeta, std::string(kLogicalPartitionsRow));
    ASSERT_TRUE(store.Commit(b).ok());
  });
  engine_.reset();
  absl::StatusOr<std::unique_ptr<storage::Store>> store = [&] {
    storage::StoreOptions o;
    o.path = (dir_ / "data").string();
    return storage::OpenRocksDbStore(o);
  }();
  ASSERT_TRUE(store.ok());
  // Existing data: the implied count (the writer threads), not the new-store default.
  absl::StatusOr<int> count = LoadOrRecordLogicalPartitions(**store, 64, partitions_);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, partitions_);
  // Recorded: read back as is from now on, whatever the caller says.
  count = LoadOrRecordLogicalPartitions(**store, 64, 9);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, partitions_);
  // A malformed row is not trusted and not rewritten.
  storage::WriteBatch b;
  b.Put(storage::Column::kMeta, std::string(kLogicalPartitionsRow), "x");
  ASSERT_TRUE((*store)->Commit(b).ok());
  count = LoadOrRecordLogicalPartitions(**store, 64, 2);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2);
  store->reset();
  Reopen();
  ExpectRecoversAndFinishes("before", token);
}

TEST(LogicalPartitionsTest, AnExecutionsPartitionDependsOnlyOnItsIdAndTheCount) {
  const std::string id = "arn:aws:states:us-east-1:123456789012:execution:m:e";
  EXPECT_EQ(LogicalPartitionOf(id, 64), LogicalPartitionOf(id, 64));
  std::set<int> seen;
  for (int i = 0; i < 1000; ++i) {
    int p = LogicalPartitionOf(id + std::to_string(i), 64);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 64);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 64u);  // FNV-1a spreads ids over every partition
}

}  // namespace
}  // namespace stepflow::engine::testing
