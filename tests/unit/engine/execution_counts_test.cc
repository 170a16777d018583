// Exact execution counts (engine/execution_counts.h): kept with every status change, summed over the
// partitions' rows, rebuilt for a store that has none; and the list's name-prefix filter.
#include "engine/execution_counts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr char kFails[] = R"({"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom"}}})";

class ExecutionCountsTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    ASSERT_TRUE(engine_->CreateStateMachine("Pass", kPassChain, false).ok());
    ASSERT_TRUE(engine_->CreateStateMachine("Wait", kWait5, false).ok());
    ASSERT_TRUE(engine_->CreateStateMachine("Fails", kFails, false).ok());
  }
  std::string Start(const std::string& machine, const std::string& name) {
    absl::StatusOr<ExecutionInfoRecord> r = engine_->StartExecution(machine, name, "{}");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->arn : "";
  }
  std::map<sm::ExecutionStatus, std::int64_t> Counts(const std::string& machine = "") {
    absl::StatusOr<ExecutionCounts> c = engine_->CountExecutions(machine);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->by_status : std::map<sm::ExecutionStatus, std::int64_t>{};
  }
  // Starts 3 Pass (SUCCEEDED), 2 Wait (RUNNING; one stopped: ABORTED), 1 Fails (FAILED).
  void Seed() {
    for (const char* name : {"p1", "p2", "p3"}) {
      Finish(Start("Pass", name));
    }
    Start("Wait", "w1");
    const std::string stopped = Start("Wait", "w2");
    ASSERT_TRUE(engine_->StopExecution(stopped, "", "").ok());
    Finish(Start("Fails", "f1"));
  }
};

using S = sm::ExecutionStatus;

TEST_F(ExecutionCountsTest, EveryStatusChangeIsCounted) {
  Seed();
  EXPECT_EQ(Counts(), (std::map<S, std::int64_t>{
                          {S::kRunning, 1}, {S::kSucceeded, 3}, {S::kFailed, 1}, {S::kTimedOut, 0}, {S::kAborted, 1}}));
  EXPECT_EQ(Counts("Pass")[S::kSucceeded], 3);
  EXPECT_EQ(Counts("Pass")[S::kRunning], 0);
  EXPECT_EQ(Counts("arn:aws:states:us-east-1:123456789012:stateMachine:Wait")[S::kAborted], 1);
  EXPECT_TRUE(absl::IsNotFound(engine_->CountExecutions("Ghost").status()));
  // A restart with another number of partitions: the rows of the old ones still count.
  partitions_ = 1;
  Reopen();
  EXPECT_EQ(Counts()[S::kSucceeded], 3);
  Finish(Start("Pass", "p4"));
  Start("Wait", "w3");
  EXPECT_EQ(Counts()[S::kSucceeded], 4);
  EXPECT_EQ(Counts()[S::kRunning], 2);
  ExecutionFilter running;
  running.state_machine = "Wait";
  running.status = S::kRunning;
  absl::StatusOr<Page<ExecutionInfoRecord>> waits = engine_->ListExecutions(running, 10, "");
  ASSERT_TRUE(waits.ok()) << waits.status();
  ASSERT_EQ(waits->items.size(), 2u);
  clock_.AdvanceBy(5000);  // both Waits end
  for (const ExecutionInfoRecord& w : waits->items) {
    Finish(w.arn);
  }
  EXPECT_EQ(Counts()[S::kRunning], 0);
  EXPECT_EQ(Counts()[S::kSucceeded], 6);
  EXPECT_EQ(Counts("Wait")[S::kSucceeded], 2);
}

TEST_F(ExecutionCountsTest, AStoreWithoutCountsGetsThemOnOpen) {
  Seed();
  // As a store written before the counts: no marker, no rows.
  WithStoreClosed([](storage::Store& store) {
    storage::WriteBatch batch;
    ASSERT_TRUE(store
                    .Scan(storage::Column::kMeta, "execution_count", "", false,
                          [&](std::string_view key, std::string_view) {
                            batch.Delete(storage::Column::kMeta, std::string(key));
                            return true;
                          })
                    .ok());
    ASSERT_TRUE(store.Commit(batch).ok());
  });
  EXPECT_EQ(Counts(), (std::map<S, std::int64_t>{
                          {S::kRunning, 1}, {S::kSucceeded, 3}, {S::kFailed, 1}, {S::kTimedOut, 0}, {S::kAborted, 1}}));
  EXPECT_EQ(Counts("Wait")[S::kRunning], 1);
}

TEST_F(ExecutionCountsTest, ListFiltersByNamePrefix) {
  Finish(Start("Pass", "order-1"));
  Finish(Start("Pass", "order-2"));
  Finish(Start("Pass", "refund-1"));
  Start("Wait", "order-3");
  auto names = [&](const std::string& machine, const std::string& prefix) {
    ExecutionFilter filter;
    filter.state_machine = machine;
    filter.name_prefix = prefix;
    absl::StatusOr<Page<ExecutionInfoRecord>> page = engine_->ListExecutions(filter, 100, "");
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> out;
    for (const ExecutionInfoRecord& r : page.ok() ? page->items : std::vector<ExecutionInfoRecord>{}) {
      out.push_back(r.name);
    }
    return out;
  };
  EXPECT_THAT(names("", "order-"), UnorderedElementsAre("order-1", "order-2", "order-3"));
  EXPECT_THAT(names("Pass", "order-"), UnorderedElementsAre("order-1", "order-2"));
  EXPECT_THAT(names("", "refund"), ElementsAre("refund-1"));
  EXPECT_THAT(names("", "nothing"), ElementsAre());
  EXPECT_EQ(names("", "").size(), 4u);
}

// A writer's staged changes count only once committed; a failed commit drops them.
TEST(ExecutionCountsWriterTest, FailedCommitsAreDropped) {
  storage::StoreOptions o;
  o.in_memory = true;
  o.path = "/counts";
  auto store = storage::OpenRocksDbStore(o);
  ASSERT_TRUE(store.ok()) << store.status();
  auto writer = ExecutionCountsWriter::Load(**store, 0);
  ASSERT_TRUE(writer.ok()) << writer.status();
  (*writer)->Stage("M", "", "RUNNING");
  (*writer)->Finish(false);
  (*writer)->Stage("M", "", "RUNNING");
  (*writer)->Stage("M", "RUNNING", "SUCCEEDED");
  storage::WriteBatch batch;
  (*writer)->PutStaged(batch);
  ASSERT_TRUE((*store)->Commit(batch).ok());
  (*writer)->Finish(true);
  // Another writer's rows add up with this one's.
  auto other = ExecutionCountsWriter::Load(**store, 1);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->CommitWithChange(**store, storage::WriteBatch(), "N", "", "RUNNING").ok());
  absl::StatusOr<StatusCounts> all = ReadExecutionCounts(**store, "");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, (StatusCounts{{"RUNNING", 1}, {"SUCCEEDED", 1}}));
  EXPECT_EQ(*ReadExecutionCounts(**store, "M"), (StatusCounts{{"SUCCEEDED", 1}}));
  // A reloaded writer continues from its committed rows.
  auto reloaded = ExecutionCountsWriter::Load(**store, 0);
  ASSERT_TRUE(reloaded.ok());
  (*reloaded)->Stage("M", "SUCCEEDED", "RUNNING");
  storage::WriteBatch again;
  (*reloaded)->PutStaged(again);
  ASSERT_TRUE((*store)->Commit(again).ok());
  (*reloaded)->Finish(true);
  EXPECT_EQ(*ReadExecutionCounts(**store, "M"), (StatusCounts{{"RUNNING", 1}}));
}

}  // namespace
}  // namespace stepflow::engine::testing
