// The real server on the PostgreSQL store (`stepflow server --store postgres:URL`), on a private PostgreSQL
// started for the test (storage/postgres/testing/private_postgres.h: Debian's postgresql, run as `nobody`
// when the test runs as root). A workflow with a worker task and a timer runs; the server is killed with
// SIGKILL while tasks are leased to the worker and timers are pending, and restarted on the same database:
// nothing acknowledged is lost, every execution finishes once with its output, and no RocksDB directory
// was ever made.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "storage/postgres/testing/private_postgres.h"
#include "tests/integration/worker_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;

// A Pass, a worker task, a 1 s Wait, a Pass.
constexpr char kWorkflow[] = R"({"StartAt":"Prepare","States":{
  "Prepare":{"Type":"Pass","Result":"ready","ResultPath":"$.prepared","Next":"Work"},
  "Work":{"Type":"Task","Resource":"activity:pg-work","ResultPath":"$.work","Next":"Pause"},
  "Pause":{"Type":"Wait","Seconds":1,"Next":"Done"},
  "Done":{"Type":"Pass","End":true}}})";

class PostgresServerTest : public WorkerFixture {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<storage::testing::PrivatePostgres>> pg =
        storage::testing::PrivatePostgres::Start();
    if (absl::IsNotFound(pg.status())) {
      GTEST_SKIP() << "PostgreSQL is not installed, the server on PostgreSQL is not tested: " << pg.status();
    }
    ASSERT_TRUE(pg.ok()) << pg.status();
    postgres_ = std::move(*pg);
    absl::StatusOr<std::string> db = postgres_->CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.status();
    conninfo_ = *db;
    absl::StatusOr<int> port = PickFreePort();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    pids_file_ = tmp_.path() + "/PIDS";
    StartServer(ServerArgs());
  }

  void TearDown() override {
    if (postgres_ == nullptr) {
      return;  // skipped: no server was started
    }
    WorkerFixture::TearDown();
    if (HasFailure()) {
      std::fprintf(stderr, "---- postgres log ----\n%s---- end of postgres log ----\n", postgres_->log().c_str());
    }
  }

  // Stops the server with `signal` and starts it again on the same port and database.
  void RestartServer(int signal) {
    EXPECT_EQ(StopServer(signal), signal == SIGTERM ? 0 : 128 + signal);
    StartServer(ServerArgs());
  }

  std::vector<std::string> ServerArgs() const {
    std::vector<std::string> args = FixedPort();
    args.push_back("--store");
    args.push_back("postgres:" + conninfo_);
    return args;
  }

  std::unique_ptr<storage::testing::PrivatePostgres> postgres_;
  std::string conninfo_;
};

TEST_F(PostgresServerTest, AWorkflowWithAWorkerSurvivesKillNine) {
  constexpr int kExecutions = 8;
  Create("pg-flow", kWorkflow);

  // The worker holds every task until `release`: at the kill, tasks are leased, queued, and (for the first
  // executions, released early) Wait timers are pending.
  std::atomic<int> released_upto{2};
  std::mutex mu;
  std::map<int, int> calls;  // input i -> handler calls
  client::WorkerOptions options;
  options.concurrency = 4;
  options.identity = "pg-worker";
  options.poll_wait = 2s;
  options.max_backoff = 500ms;
  ASSERT_NE(StartSdkWorker({{"pg-work",
                             [&](client::TaskContext& ctx, const json::value& input) -> client::TaskResult {
                               const int i = static_cast<int>(input.at("i").as_int64());
                               {
                                 std::lock_guard<std::mutex> lock(mu);
                                 ++calls[i];
                               }
                               while (i >= released_upto.load()) {
                                 if (ctx.WaitForCancellation(50ms)) {
                                   return client::TaskError{"Work.Cancelled", "cancelled"};
                                 }
                               }
                               return json::object{{"doubled", i * 2}};
                             }}},
                           options),
            nullptr);

  std::vector<std::string> arns;
  for (int i = 0; i < kExecutions; ++i) {
    arns.push_back(Start("pg-flow", absl::StrCat(R"({"i":)", i, "}"), absl::StrCat("run-", i)).arn());
  }
  // Executions 0 and 1 reach their Wait (their task completed); the others' tasks are leased or queued.
  ASSERT_TRUE(WaitForEvent(arns[0], "WaitStateEntered"));
  ASSERT_TRUE(WaitForEvent(arns[1], "WaitStateEntered"));
  // The kill comes once the worker's four slots are all busy (the handlers of 2..5 called), so that no poll is
  // under way: a task handed out by a poll whose answer the kill cut off stays started with no worker, and
  // without HeartbeatSeconds or TimeoutSeconds nothing ever ends it (as on AWS).
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return calls.size() == 2 + static_cast<std::size_t>(options.concurrency);
      },
      30s))
      << ExecutionStatusText(WaitForEnd(arns[2], 0s));

  RestartServer(SIGKILL);
  EXPECT_FALSE(std::filesystem::exists(data_dir())) << "the server made a RocksDB directory";

  // Every acknowledged execution is there after the restart. (The first call may meet the gRPC connection
  // the killed server broke, shared with the worker's channel: it is retried until the channel reconnects.)
  absl::StatusOr<v1::Execution> during = absl::UnavailableError("not called");
  EXPECT_TRUE(WaitUntil(
      [&] {
        during = client().DescribeExecution(arns.back());
        return !absl::IsUnavailable(during.status());
      },
      10s));
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->status(), v1::RUNNING);

  released_upto = kExecutions;
  for (int i = 0; i < kExecutions; ++i) {
    v1::Execution done = WaitForEnd(arns[i], 60s);
    ASSERT_EQ(done.status(), v1::SUCCEEDED) << ExecutionStatusText(done);
    json::value output = Json(done.output());
    EXPECT_EQ(output.at("i").as_int64(), i);
    EXPECT_EQ(output.at("prepared").as_string(), "ready");
    EXPECT_EQ(output.at("work").at("doubled").as_int64(), 2 * i) << done.output();
    std::vector<v1::HistoryEvent> h = History(arns[i]);
    ExpectWellFormed(h);
    EXPECT_EQ(CountType(h, "ExecutionSucceeded"), 1);
    EXPECT_EQ(CountType(h, "WaitStateExited"), 1);
  }
  // A task completed before the kill was not handed out again.
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(calls[0], 1);
    EXPECT_EQ(calls[1], 1);
  }

  // And once more, after a clean restart: still finished, once.
  RestartServer(SIGTERM);
  for (const std::string& arn : arns) {
    absl::StatusOr<v1::Execution> e = client().DescribeExecution(arn);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->status(), v1::SUCCEEDED);
    EXPECT_EQ(CountType(History(arn), "ExecutionSucceeded"), 1);
  }
}

// PostgreSQL restarts while executions are being started and their 1 s timers are pending: calls made
// during the outage may fail, but every acknowledged start finishes, once, with its output.
TEST_F(PostgresServerTest, ADatabaseRestartUnderLoadLosesNothingAcknowledged) {
  Create("pg-wait", WaitThenPass(1));
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<int> refused{0};
  std::atomic<bool> stop{false};
  std::thread starter([&] {
    for (int i = 0; !stop.load(); ++i) {
      absl::StatusOr<v1::Execution> e = client().StartExecution("pg-wait", "{}", absl::StrCat("load-", i));
      if (e.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        acknowledged.push_back(e->arn());
      } else {
        ++refused;
      }
    }
  });
  auto acknowledged_count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acknowledged.size();
  };
  ASSERT_TRUE(WaitUntil([&] { return acknowledged_count() >= 30; }, 30s));
  ASSERT_TRUE(postgres_->Restart().ok()) << postgres_->log();
  const std::size_t at_restart = acknowledged_count();
  // The server serves again: new starts are acknowledged after the restart.
  const bool resumed = WaitUntil([&] { return acknowledged_count() >= at_restart + 30; }, 30s);
  stop = true;
  starter.join();
  ASSERT_TRUE(resumed) << "no start was acknowledged after the database restart; refused " << refused.load();

  for (const std::string& arn : acknowledged) {
    v1::Execution done = WaitForEnd(arn, 60s);
    ASSERT_EQ(done.status(), v1::SUCCEEDED) << arn << " " << ExecutionStatusText(done);
    EXPECT_EQ(done.output(), "\"done\"");
    std::vector<v1::HistoryEvent> h = History(arn);
    ExpectWellFormed(h);
    EXPECT_EQ(CountType(h, "WaitStateExited"), 1) << arn;
    EXPECT_EQ(CountType(h, "ExecutionSucceeded"), 1) << arn;
  }
  std::fprintf(stderr, "acknowledged %zu starts (%zu before the restart), %d refused during it\n",
               acknowledged.size(), at_restart, refused.load());
}

TEST_F(PostgresServerTest, AnUnreachableDatabaseIsACleanStartFailure) {
  ASSERT_EQ(StopServer(SIGTERM), 0);
  // Nothing listens on port 1; the password must not reach the output.
  CliResult r = RunCli({"server", "--store", "postgres:postgresql://stepflow:sesame@127.0.0.1:1/nothere",
                        "--grpc-address", "127.0.0.1:0", "--advertise", "127.0.0.1:7233", "--http-address",
                        "127.0.0.1:0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, ::testing::HasSubstr("127.0.0.1:1/nothere"));
  EXPECT_THAT(r.out + r.err, ::testing::Not(::testing::HasSubstr("sesame")));
  StartServer(ServerArgs());  // for TearDown's SIGTERM
}

// Nodes over one PostgreSQL forward calls to each other: a port picked at listen time cannot be advertised.
TEST_F(PostgresServerTest, APostgresNodeNeedsAnAddressToAdvertise) {
  CliResult r = RunCli({"server", "--store", "postgres:" + conninfo_, "--grpc-address", "127.0.0.1:0",
                        "--http-address", "127.0.0.1:0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, ::testing::HasSubstr("--advertise"));
}

}  // namespace
}  // namespace stepflow::itest
