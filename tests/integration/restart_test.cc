// Durability across a restart: a Wait of 5 s survives a SIGTERM in the middle and fires exactly once; a
// page token handed out before a restart still pages after it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;

using RestartTest = ServerFixture;

TEST_F(RestartTest, WaitSurvivesARestartAndFiresOnce) {
  // 5 s, scaled under ThreadSanitizer: there the restart alone took 3 s, and the Wait was over before the test
  // looked at the restarted server.
  Create("wait5", WaitThenPass(5 * kSanitizerSlowdown));
  v1::Execution e = Start("wait5", R"({"keep":true})", "survivor");
  // Into the Wait.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    absl::StatusOr<std::vector<v1::HistoryEvent>> h = client().GetExecutionHistory(e.arn());
    ASSERT_TRUE(h.ok()) << h.status();
    if (std::any_of(h->begin(), h->end(), [](const auto& ev) { return ev.type() == "WaitStateEntered"; })) {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "never entered the Wait";
    std::this_thread::sleep_for(20ms);
  }
  auto started = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(StopServer(SIGTERM), 0);
  EXPECT_THAT(last_log_, ::testing::HasSubstr("shutting down"));

  StartServer();
  absl::StatusOr<v1::Execution> during = client().DescribeExecution(e.arn());
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->status(), v1::RUNNING);

  v1::Execution done = WaitForEnd(e.arn(), 30s * kSanitizerSlowdown);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(done.status(), v1::SUCCEEDED);
  EXPECT_EQ(done.output(), "\"done\"");
  EXPECT_GE(took, 3s * kSanitizerSlowdown);  // the rest of the Wait was still waited for

  absl::StatusOr<std::vector<v1::HistoryEvent>> h = client().GetExecutionHistory(e.arn());
  ASSERT_TRUE(h.ok()) << h.status();
  auto count = [&](const std::string& type) {
    return std::count_if(h->begin(), h->end(), [&](const auto& ev) { return ev.type() == type; });
  };
  EXPECT_EQ(count("ExecutionStarted"), 1);
  EXPECT_EQ(count("WaitStateEntered"), 1);
  EXPECT_EQ(count("WaitStateExited"), 1);
  EXPECT_EQ(count("ExecutionSucceeded"), 1);
  for (std::size_t i = 0; i < h->size(); ++i) {
    EXPECT_EQ(h->at(i).id(), static_cast<std::int64_t>(i + 1)) << "ids 1..n without gaps or duplicates";
  }

  // And after one more restart it is still finished, once.
  ASSERT_EQ(StopServer(SIGTERM), 0);
  StartServer();
  absl::StatusOr<std::vector<v1::HistoryEvent>> again = client().GetExecutionHistory(e.arn());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->size(), h->size());
}

TEST_F(RestartTest, OverdueTimerFiresAfterALongerOutage) {
  Create("wait2", WaitThenPass(2));
  v1::Execution e = Start("wait2", "{}", "late");
  ASSERT_EQ(StopServer(SIGTERM), 0);
  std::this_thread::sleep_for(2500ms);  // the timer falls due while the server is down
  StartServer();
  v1::Execution done = WaitForEnd(e.arn(), 15s);
  EXPECT_EQ(done.status(), v1::SUCCEEDED);
}

// Page tokens are sealed with a key derived from the one kept in the store (engine/api/page_tokens.h), not
// with a key of the server's process: a listing carries on across a restart.
TEST_F(RestartTest, APageTokenStillPagesAfterARestart) {
  Create("first", kPassChain);
  Create("second", kPassChain);
  absl::StatusOr<v1::ListStateMachinesResponse> page = client().ListStateMachines(1, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->state_machines_size(), 1);
  ASSERT_FALSE(page->next_page_token().empty());
  ASSERT_EQ(StopServer(SIGTERM), 0);
  StartServer();
  absl::StatusOr<v1::ListStateMachinesResponse> next = client().ListStateMachines(1, page->next_page_token());
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->state_machines_size(), 1);
  EXPECT_NE(next->state_machines(0).name(), page->state_machines(0).name());
  EXPECT_FALSE(client().ListStateMachines(1, page->next_page_token() + "x").ok()) << "still checked";
}

}  // namespace
}  // namespace stepflow::itest
