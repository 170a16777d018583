// Exact execution counts (engine/execution_counts.h): kept with every status change, summed over the
// partitions' rows, rebuilt for a store that has none; and the list's name-prefix filter.
#include "engine/execution_counts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

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
  (*writer)->Stage({"M"}, "", "RUNNING");
  (*writer)->Finish(false);
  (*writer)->Stage({"M"}, "", "RUNNING");
  (*writer)->Stage({"M"}, "RUNNING", "SUCCEEDED");
  storage::WriteBatch batch;
  (*writer)->PutStaged(batch);
  ASSERT_TRUE((*store)->Commit(batch).ok());
  (*writer)->Finish(true);
  // Another writer's rows add up with this one's.
  auto other = ExecutionCountsWriter::Load(**store, 1);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->CommitWithChange(**store, storage::WriteBatch(), {"N"}, "", "RUNNING").ok());
  absl::StatusOr<StatusCounts> all = ReadExecutionCounts(**store, "");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, (StatusCounts{{"RUNNING", 1}, {"SUCCEEDED", 1}}));
  EXPECT_EQ(*ReadExecutionCounts(**store, "M"), (StatusCounts{{"SUCCEEDED", 1}}));
  // A reloaded writer continues from its committed rows.
  auto reloaded = ExecutionCountsWriter::Load(**store, 0);
  ASSERT_TRUE(reloaded.ok());
  (*reloaded)->Stage({"M"}, "SUCCEEDED", "RUNNING");
  storage::WriteBatch again;
  (*reloaded)->PutStaged(again);
  ASSERT_TRUE((*store)->Commit(again).ok());
  (*reloaded)->Finish(true);
  EXPECT_EQ(*ReadExecutionCounts(**store, "M"), (StatusCounts{{"RUNNING", 1}}));
}

// Counts by version and alias ARN (GET /executions:counts with a qualified ARN): exact, per status, kept with
// every status change like the state machine's; the ARN is read canonically (a version without leading zeros).
class QualifiedCountsTest : public ExecutionCountsTest {
 protected:
  void SetUp() override {
    ExecutionCountsTest::SetUp();
    absl::StatusOr<StateMachineVersionInfo> v1 = engine_->PublishStateMachineVersion("Wait", "", 0);
    ASSERT_TRUE(v1.ok()) << v1.status();
    version_ = v1->arn;
    absl::StatusOr<StateMachineAliasInfo> alias =
        engine_->CreateStateMachineAlias("live", "", {AliasRoute{version_, 100}});
    ASSERT_TRUE(alias.ok()) << alias.status();
    alias_ = alias->arn;
  }
  std::string version_;
  std::string alias_;
};

TEST_F(QualifiedCountsTest, VersionAndAliasArnsCountTheirOwnExecutions) {
  const std::string on_version = Start(version_, "on-version");
  const std::string via_alias = Start(alias_, "via-alias");
  const std::string via_alias_2 = Start(alias_, "via-alias-2");
  Start("Wait", "on-latest");
  ASSERT_TRUE(engine_->StopExecution(via_alias, "", "").ok());
  EXPECT_EQ(Counts(version_), (std::map<S, std::int64_t>{
                                  {S::kRunning, 2}, {S::kSucceeded, 0}, {S::kFailed, 0}, {S::kTimedOut, 0},
                                  {S::kAborted, 1}}));
  EXPECT_EQ(Counts(alias_)[S::kRunning], 1);
  EXPECT_EQ(Counts(alias_)[S::kAborted], 1);
  EXPECT_EQ(Counts("Wait")[S::kRunning], 3);
  EXPECT_EQ(Counts(version_.substr(0, version_.size() - 1) + "0001")[S::kRunning], 2);  // canonical form
  clock_.AdvanceBy(5000);  // the Waits end
  Finish(on_version);
  Finish(via_alias_2);
  EXPECT_EQ(Counts(version_)[S::kSucceeded], 2);
  EXPECT_EQ(Counts(version_)[S::kRunning], 0);
  EXPECT_EQ(Counts(alias_)[S::kSucceeded], 1);
  // A restart keeps them; a version nothing started on counts nothing; an unknown machine or a bad ARN is named.
  Reopen();
  EXPECT_EQ(Counts(alias_)[S::kAborted], 1);
  absl::StatusOr<StateMachineVersionInfo> v2 = engine_->PublishStateMachineVersion("Pass", "", 0);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(Counts(v2->arn)[S::kRunning], 0);
  absl::StatusOr<ExecutionCounts> ghost =
      engine_->CountExecutions("arn:aws:states:us-east-1:123456789012:stateMachine:Ghost:1");
  EXPECT_TRUE(absl::IsNotFound(ghost.status())) << ghost.status();
  absl::StatusOr<ExecutionCounts> bad = engine_->CountExecutions("arn:aws:states:us-east-1:123456789012:stateMachine:Wait:0");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
}

// A store with state machine counts but none by version or alias (written by the release before them) gets
// them on open, from the by_qualified_arn index and each execution's status.
TEST_F(QualifiedCountsTest, AStoreWithoutQualifiedCountsGetsThemOnOpen) {
  Start(version_, "on-version");
  ASSERT_TRUE(engine_->StopExecution(Start(alias_, "via-alias"), "", "").ok());
  const auto version_counts = Counts(version_);
  const auto alias_counts = Counts(alias_);
  int deleted = 0;
  WithStoreClosed([&](storage::Store& store) {
    storage::WriteBatch batch;
    ASSERT_TRUE(store
                    .Scan(storage::Column::kMeta, "qualified_execution_count", "", false,
                          [&](std::string_view key, std::string_view) {
                            batch.Delete(storage::Column::kMeta, std::string(key));
                            ++deleted;
                            return true;
                          })
                    .ok());
    ASSERT_TRUE(store.Commit(batch).ok());
  });
  EXPECT_GT(deleted, 1);  // rows and marker were there
  EXPECT_EQ(Counts(version_), version_counts);
  EXPECT_EQ(Counts(alias_), alias_counts);
  EXPECT_EQ(Counts(alias_)[S::kAborted], 1);
  EXPECT_EQ(Counts("Wait")[S::kRunning], 1);  // the state machine's counts are untouched
}

// Starts through the alias race counts of it: every count seen is at most what was started by then and never
// goes down; at the end it equals the executions listed under the alias.
TEST_F(QualifiedCountsTest, CountsStayExactWhileStartsRace) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> started{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> starters;
  for (int t = 0; t < kThreads; ++t) {
    starters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<ExecutionInfoRecord> r =
            engine_->StartExecution(alias_, "r" + std::to_string(t) + "-" + std::to_string(i), "{}");
        EXPECT_TRUE(r.ok()) << r.status();
        started.fetch_add(1);
      }
    });
  }
  std::int64_t last = 0;
  int reads = 0;
  std::thread counter([&] {
    while (!done.load()) {
      const int before = started.load();  // started and committed before the count is read
      absl::StatusOr<ExecutionCounts> c = engine_->CountExecutions(alias_);
      const int after = started.load();
      ASSERT_TRUE(c.ok()) << c.status();
      const std::int64_t running = c->by_status.at(S::kRunning);
      EXPECT_GE(running, before);
      EXPECT_LE(running, after + kThreads);  // at most the starts in flight besides
      EXPECT_GE(running, last);
      last = running;
      ++reads;
    }
  });
  for (std::thread& t : starters) {
    t.join();
  }
  done.store(true);
  counter.join();
  EXPECT_GT(reads, 0);
  EXPECT_EQ(Counts(alias_)[S::kRunning], kThreads * kPerThread);
  EXPECT_EQ(Counts(version_)[S::kRunning], kThreads * kPerThread);
  ExecutionFilter filter;
  filter.state_machine = alias_;
  std::size_t listed = 0;
  std::string token;
  do {
    absl::StatusOr<Page<ExecutionInfoRecord>> page = engine_->ListExecutions(filter, 100, token);
    ASSERT_TRUE(page.ok()) << page.status();
    listed += page->items.size();
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(listed, static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace stepflow::engine::testing
