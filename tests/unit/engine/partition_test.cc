// A partition over a store that fails commits on demand (style.md habit 15): a failed commit answers
// Unavailable and changes nothing, the executions it touched are dropped from memory and reloaded from the
// store by replay, and their timers still fire exactly once.

#include "engine/partition.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/definitions.h"
#include "engine/execution_record.h"
#include "engine/history_rows.h"
#include "engine/names.h"
#include "engine/records.h"
#include "tests/unit/engine/forwarding_store.h"

namespace stepflow::engine {
namespace {

constexpr common::EpochMillis kT0 = 1'700'000'000'000;
constexpr char kWait5[] = R"({"StartAt":"W","States":{
    "W":{"Type":"Wait","Seconds":5,"Next":"Done"},"Done":{"Type":"Pass","End":true}}})";
constexpr char kOneActivity[] = R"({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:work","End":true}}})";

// Fails the next `fail_next` commits with Unavailable, writing nothing.
class FaultyStore final : public testing::ForwardingStore {
 public:
  explicit FaultyStore(std::unique_ptr<storage::Store> base)
      : ForwardingStore(base.get()), base_(std::move(base)) {}
  absl::Status Commit(const storage::WriteBatch& batch) override {
    if (fail_next.load() > 0) {
      --fail_next;
      return absl::UnavailableError("injected commit failure");
    }
    return ForwardingStore::Commit(batch);
  }
  std::atomic<int> fail_next{0};

 private:
  std::unique_ptr<storage::Store> base_;  // what ForwardingStore forwards to
};

class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions o;
    o.in_memory = true;
    o.sync_writes = false;
    auto base = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(base.ok());
    store_ = std::make_unique<FaultyStore>(*std::move(base));
    definitions_ = std::make_unique<DefinitionStore>(store_.get(), &clock_, 1 << 20);
    ASSERT_TRUE(definitions_->Create("W", kWait5, false).ok());
    ASSERT_TRUE(definitions_->Create("T", kOneActivity, false).ok());
    PartitionOptions options;
    options.max_timer_wait_ms = 1;
    options.reload_delay_ms = 1000;
    partition_ = std::make_unique<Partition>(0, store_.get(), &clock_, definitions_.get(), &matcher_, options);
    partition_->Run();
  }
  void TearDown() override { partition_->Stop(); }

  absl::StatusOr<ExecutionInfoRecord> Start(const std::string& name, const std::string& machine = "W") {
    auto latest = definitions_->Latest(machine);
    EXPECT_TRUE(latest.ok());
    StartRequest request;
    request.machine = latest->second;
    request.info.execution_arn = ExecutionArn(machine, name);
    request.info.name = name;
    request.info.state_machine_arn = latest->first.arn;
    request.info.state_machine_name = machine;
    request.info.start_time = clock_.NowMillis();
    request.meta = ExecutionMeta{latest->first.version, "{}"};
    request.input = boost::json::object();
    auto promise = std::make_shared<std::promise<absl::StatusOr<ExecutionInfoRecord>>>();
    auto answer = promise->get_future();
    Partition* p = partition_.get();
    EXPECT_TRUE(p->Post([p, request = std::move(request), promise]() mutable {
      p->StartExecution(std::move(request),
                        [promise](absl::StatusOr<ExecutionInfoRecord> r) { promise->set_value(std::move(r)); });
    }));
    return answer.get();
  }

  // Runs `fn` on the partition thread and returns the status of the commit of its group.
  absl::Status InGroup(std::function<void()> fn) {
    auto promise = std::make_shared<std::promise<absl::Status>>();
    auto answer = promise->get_future();
    Partition* p = partition_.get();
    EXPECT_TRUE(p->Post([p, fn, promise] {
      fn();
      p->AfterCommit([promise](const absl::Status& commit) { promise->set_value(commit); });
    }));
    return answer.get();
  }

  absl::StatusOr<StoredExecution> Record(const std::string& arn) {
    auto value = store_->Get(storage::Column::kExecutions, arn);
    if (!value.ok() || !value->has_value()) {
      return absl::NotFoundError(arn);
    }
    return DecodeExecutionRecord(**value);
  }

  // Blocks until the execution's record is no longer RUNNING (woken by commits; no sleeping).
  StoredExecution AwaitEnd(const std::string& arn) {
    CommitWatchers::Watch watch(partition_->watchers(), arn);
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(20);
    while (true) {
      absl::StatusOr<StoredExecution> r = Record(arn);
      if (r.ok() && r->record.status != sm::ExecutionStatus::kRunning) {
        return *r;
      }
      if (!watch.WaitForCommit(deadline) && std::chrono::system_clock::now() >= deadline) {
        ADD_FAILURE() << arn << " did not end";
        return r.value_or(StoredExecution{});
      }
    }
  }

  common::VirtualClock clock_{kT0};
  std::unique_ptr<FaultyStore> store_;
  std::unique_ptr<DefinitionStore> definitions_;
  TaskMatcher matcher_;
  std::unique_ptr<Partition> partition_;
};

// The partition's thread carries its name (top -H, perf and gdb show it), and its work runs on that thread.
TEST_F(PartitionTest, ItsWorkRunsOnAThreadNamedAfterIt) {
  std::promise<std::string> name;
  ASSERT_TRUE(partition_->Post([&name] {
    char buffer[16] = {};
    pthread_getname_np(pthread_self(), buffer, sizeof(buffer));
    name.set_value(buffer);
  }));
  EXPECT_EQ(name.get_future().get(), "sf-partition-0");
}

TEST_F(PartitionTest, AFailedStartIsUnavailableAndLeavesNothing) {
  store_->fail_next = 1;
  absl::StatusOr<ExecutionInfoRecord> failed = Start("e1");
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  EXPECT_TRUE(absl::IsNotFound(Record(ExecutionArn("W", "e1")).status()));
  absl::StatusOr<ExecutionInfoRecord> retried = Start("e1");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->status, sm::ExecutionStatus::kRunning);
}

TEST_F(PartitionTest, AFailedTimerCommitIsReloadedAndTheTimerFiresOnce) {
  const std::string arn = ExecutionArn("W", "e1");
  ASSERT_TRUE(Start("e1").ok());
  // The timer comes due inside a group whose commit fails.
  store_->fail_next = 1;
  absl::Status commit = InGroup([&] { clock_.AdvanceBy(5000); });
  EXPECT_TRUE(absl::IsUnavailable(commit)) << commit;
  absl::StatusOr<StoredExecution> after_failure = Record(arn);
  ASSERT_TRUE(after_failure.ok());
  EXPECT_EQ(after_failure->record.status, sm::ExecutionStatus::kRunning);
  // After the reload delay the execution is replayed from the store and its overdue timer fires.
  clock_.AdvanceBy(1000);
  StoredExecution done = AwaitEnd(arn);
  EXPECT_EQ(done.record.status, sm::ExecutionStatus::kSucceeded);
  int exited = 0;
  std::int64_t expected_id = 1;
  ASSERT_TRUE(store_
                  ->Scan(storage::Column::kHistory, HistoryPrefix(arn), "", false,
                         [&](std::string_view, std::string_view value) {
                           std::vector<HistoryEventRecord> events;
                           EXPECT_TRUE(DecodeHistoryRow(value, events).ok());
                           for (const HistoryEventRecord& event : events) {
                             EXPECT_EQ(event.id, expected_id++);
                             exited += event.type == "WaitStateExited" ? 1 : 0;
                           }
                           return true;
                         })
                  .ok());
  EXPECT_EQ(exited, 1);
  EXPECT_EQ(done.last_event_id, expected_id - 1);
}

TEST_F(PartitionTest, APollReservedForATaskWhoseCommitFailsWaitsOnAndGetsTheNextOne) {
  std::vector<QueuedTask> got;
  Poller poller;
  poller.worker = "w9";
  std::thread waiting([&] { got = matcher_.Take("work", common::SystemClock().NowMillis() + 20'000, &poller); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (matcher_.PollsWaiting("work") < 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::yield();
  }
  store_->fail_next = 1;
  absl::StatusOr<ExecutionInfoRecord> failed = Start("t1", "T");
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  EXPECT_EQ(matcher_.PollsWaiting("work"), 1u) << "released, the poll waits on";
  EXPECT_EQ(matcher_.Depth("work"), 0u) << "a task whose commit failed is not offered";
  absl::StatusOr<ExecutionInfoRecord> started = Start("t1", "T");
  ASSERT_TRUE(started.ok()) << started.status();
  waiting.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].started);
  EXPECT_EQ(got[0].execution_id, ExecutionArn("T", "t1"));
  EXPECT_EQ(matcher_.delivered(), 1u);
  // Its ActivityStarted, naming the poll's worker, is in the store with the start.
  std::vector<std::string> types;
  std::string started_details;
  ASSERT_TRUE(store_
                  ->Scan(storage::Column::kHistory, HistoryPrefix(ExecutionArn("T", "t1")), "", false,
                         [&](std::string_view, std::string_view value) {
                           std::vector<HistoryEventRecord> events;
                           EXPECT_TRUE(DecodeHistoryRow(value, events).ok());
                           for (const HistoryEventRecord& event : events) {
                             types.push_back(event.type);
                             if (event.type == "ActivityStarted") {
                               started_details = event.details;
                             }
                           }
                           return true;
                         })
                  .ok());
  EXPECT_EQ(types, (std::vector<std::string>{"ExecutionStarted", "TaskStateEntered", "ActivityScheduled",
                                               "ActivityStarted"}));
  EXPECT_NE(started_details.find("w9"), std::string::npos) << started_details;
}

}  // namespace
}  // namespace stepflow::engine
