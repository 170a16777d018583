// Bounded work on the real server: a Pass loop over a ~200 KB input commits in batches and yields its
// partition between them, so that starts of other executions in the same partition, Stop of the loop and
// SIGTERM are all served while it runs; a loop interrupted by SIGTERM goes on after the restart.

#include <gtest/gtest.h>

#include <string>

#include "tests/integration/fixture.h"

namespace stepflow::itest {
namespace {

constexpr char kEndlessLoop[] = R"({"StartAt":"A","States":{
    "A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}})";

class BoundedWorkTest : public ServerFixture {
 protected:
  // One partition: every execution shares the loop's writer thread.
  void SetUp() override { StartServer({"--partitions", "1"}); }

  static std::string BigInput() { return R"({"pad":")" + std::string(200'000, 'x') + R"("})"; }

  // The id of the execution's last committed event.
  std::int64_t LastEventId(const std::string& arn) {
    v1::GetExecutionHistoryRequest request;
    request.set_execution_arn(arn);
    request.set_reverse_order(true);
    request.set_page_size(1);
    absl::StatusOr<v1::GetExecutionHistoryResponse> page = client().GetExecutionHistoryPage(request);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() && page->events_size() == 1 ? page->events(0).id() : 0;
  }
  // Blocks until the execution has an event with id >= `event_id` (the loop went on batch after batch). Reads
  // the last event again and again rather than watching: a watch the test cancels would stay busy on the
  // server streaming the loop's 200 KB events.
  void WaitForEvent(const std::string& arn, std::int64_t event_id) {
    std::int64_t last = 0;
    for (int reads = 0; reads < 100'000 && last < event_id && !HasFailure(); ++reads) {
      last = LastEventId(arn);
    }
    ASSERT_GE(last, event_id);
  }
  // Blocks until the execution ends (streams its history to the end); returns it as described then.
  v1::Execution Finish(const std::string& arn) {
    absl::Status s = client().WatchExecutionHistory(arn, 0, [](const v1::HistoryEvent&) { return true; });
    EXPECT_TRUE(s.ok()) << s;
    absl::StatusOr<v1::Execution> e = client().DescribeExecution(arn);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.value_or(v1::Execution());
  }
};

TEST_F(BoundedWorkTest, ALoopOverABigInputLeavesStartsAndStopServedInItsPartition) {
  Create("Loop", kEndlessLoop);
  Create("Chain", kPassChain);
  const v1::Execution loop = Start("Loop", BigInput(), "loop");
  ASSERT_EQ(loop.status(), v1::RUNNING);  // answered after its first batch
  WaitForEvent(loop.arn(), 60);  // several batches of ~4 MiB committed

  for (int i = 0; i < 3; ++i) {
    const v1::Execution other = Start("Chain", "{}", "other-" + std::to_string(i));
    EXPECT_EQ(Finish(other.arn()).status(), v1::SUCCEEDED);
  }
  absl::StatusOr<v1::Execution> still = client().DescribeExecution(loop.arn());
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(still->status(), v1::RUNNING);

  absl::StatusOr<v1::Execution> stopped = client().StopExecution(loop.arn(), "Stopped", "by the test");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status(), v1::ABORTED);
  absl::StatusOr<v1::GetExecutionHistoryResponse> last = [&] {
    v1::GetExecutionHistoryRequest request;
    request.set_execution_arn(loop.arn());
    request.set_reverse_order(true);
    request.set_page_size(1);
    return client().GetExecutionHistoryPage(request);
  }();
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->events_size(), 1);
  EXPECT_EQ(last->events(0).type(), "ExecutionAborted");
}

TEST_F(BoundedWorkTest, SigtermEndsTheServerWhileALoopRunsAndTheLoopGoesOnAfterTheRestart) {
  Create("Loop", kEndlessLoop);
  const v1::Execution loop = Start("Loop", BigInput(), "loop");
  WaitForEvent(loop.arn(), 60);
  // A bound on a hang, not a timing assertion: before, SIGTERM did nothing until the loop ended.
  EXPECT_EQ(StopServer(SIGTERM), 0);

  StartServer({"--partitions", "1"});
  absl::StatusOr<v1::Execution> recovered = client().DescribeExecution(loop.arn());
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(recovered->status(), v1::RUNNING);
  WaitForEvent(loop.arn(), LastEventId(loop.arn()) + 20);  // it goes on after the restart
  absl::StatusOr<v1::Execution> stopped = client().StopExecution(loop.arn(), "Stopped", "");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status(), v1::ABORTED);
}

}  // namespace
}  // namespace stepflow::itest
