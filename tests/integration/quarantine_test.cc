// The real server on a store holding a corrupt execution (issue 9, section 1): it opens, serves the rest, and
// shows the corrupt execution as QUARANTINED (describe, list by that status) until an operator stops it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/store.h"
#include "tests/integration/fixture.h"

namespace stepflow::itest {
namespace {

using QuarantineTest = ServerFixture;

constexpr char kTaskForever[] = R"({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"arn:aws:states:::activity:work","End":true}}})";

TEST_F(QuarantineTest, ACorruptExecutionIsQuarantinedAndTheServerServesTheRest) {
  Create("forever", kTaskForever);
  v1::Execution bad = Start("forever", "{}", "bad");
  v1::Execution good = Start("forever", "{}", "good");
  ASSERT_EQ(StopServer(SIGTERM), 0);
  {
    storage::StoreOptions o;
    o.path = data_dir();
    auto store = storage::OpenRocksDbStore(o);
    ASSERT_TRUE(store.ok()) << store.status();
    std::string start_key;  // inputs: Str(execution id) U64(0), the execution's start record
    storage::AppendString(start_key, bad.arn());
    storage::AppendUint64BigEndian(start_key, 0);
    storage::WriteBatch garble;
    garble.Put(storage::Column::kInputs, start_key, std::string("\x02\xff\xff\xff", 4));
    ASSERT_TRUE((*store)->Commit(garble).ok());
  }
  StartServer();
  // The server listens while it replays: a describe at once has the execution replayed (and quarantined)
  // first, whether or not recovery had reached it.
  absl::StatusOr<v1::Execution> described = client().DescribeExecution(bad.arn());
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_EQ(described->status(), v1::QUARANTINED);
  EXPECT_EQ(described->error(), "ExecutionQuarantined");
  EXPECT_FALSE(described->cause().empty());
  EXPECT_TRUE(server().WaitForLog("QUARANTINED execution=" + bad.arn())) << server().log();
  EXPECT_TRUE(server().WaitForLog("recovered 1 running executions, 0 pending timers, 1 quarantined"))
      << server().log();
  // A start naming it (idempotency) is refused as quarantined, never answered as a running execution.
  absl::StatusOr<v1::Execution> again = client().StartExecution("forever", "{}", "bad");
  EXPECT_THAT(again.status().message(), ::testing::HasSubstr("ExecutionQuarantined"));
  v1::ListExecutionsRequest quarantined;
  quarantined.set_status(v1::QUARANTINED);
  absl::StatusOr<std::vector<v1::Execution>> listed = client().ListAllExecutions(quarantined);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().arn(), bad.arn());
  absl::StatusOr<std::vector<v1::HistoryEvent>> history = client().GetExecutionHistory(bad.arn());
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_FALSE(history->empty());

  absl::StatusOr<v1::Execution> running = client().DescribeExecution(good.arn());
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_EQ(running->status(), v1::RUNNING);

  absl::StatusOr<v1::Execution> stopped = client().StopExecution(bad.arn(), "Operator", "corrupt");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status(), v1::ABORTED);
  ASSERT_EQ(StopServer(SIGTERM), 0);
  StartServer();
  absl::StatusOr<v1::Execution> after = client().DescribeExecution(bad.arn());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->status(), v1::ABORTED);
}

}  // namespace
}  // namespace stepflow::itest
