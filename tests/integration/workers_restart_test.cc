// Workers across a server restart (SIGTERM, and SIGKILL): with tasks leased by workers, tasks queued with no
// free worker, and retry backoff timers pending, the server goes down and comes back on the same port while
// the workers (in-process SDK workers and a `stepflow worker` process) keep running. Nothing is lost: every
// task is handed out exactly once per ASL attempt, every report made after the restart is accepted, every
// execution succeeds, and the histories are 1..n with exactly the expected task events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>

#include "tests/integration/worker_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;

constexpr char kLeased[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:lease","End":true}}})";
constexpr char kFlaky[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:flaky",
          "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":4,"MaxAttempts":1}],"End":true}}})";
constexpr char kScripted[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:scripted","End":true}}})";

// Waits for the file GO in DIR, then echoes its input.
constexpr char kWaitsForGo[] = R"(
input=$(cat)
touch "$DIR/scripted-$STEPFLOW_ATTEMPT-$$"
while [ ! -e "$DIR/GO" ]; do sleep 0.1; done
printf '{"scripted":%s}\n' "$input"
)";

class WorkersRestartTest : public WorkerFixture, public ::testing::WithParamInterface<int> {};

TEST_P(WorkersRestartTest, NothingIsLostAcrossARestart) {
  const int signal = GetParam();
  constexpr int kLeasedCount = 6;  // 3 leased by the worker (its concurrency), 3 queued
  constexpr int kFlakyCount = 2;
  Create("leased", kLeased);
  Create("flaky", kFlaky);
  Create("scripted", kScripted);

  std::atomic<bool> release{false};
  std::mutex mu;
  std::map<int, int> lease_calls;                  // input i -> handler calls
  std::map<std::pair<int, int>, int> flaky_calls;  // (i, attempt) -> handler calls
  client::WorkerOptions lease_options;
  lease_options.concurrency = 3;
  lease_options.identity = "lease-worker";
  lease_options.poll_wait = std::chrono::seconds(2);
  lease_options.drain_timeout = 5s;
  lease_options.shutdown_grace = 2s;
  lease_options.max_backoff = 1000ms;
  ASSERT_NE(StartSdkWorker({{"lease",
                             [&](client::TaskContext& ctx, const json::value& input) -> client::TaskResult {
                               int i = static_cast<int>(input.at("i").as_int64());
                               {
                                 std::lock_guard<std::mutex> lock(mu);
                                 ++lease_calls[i];
                               }
                               while (!release) {
                                 if (ctx.WaitForCancellation(50ms)) {
                                   return client::TaskError{"Lease.Cancelled",
                                                            client::CancelReasonName(ctx.cancel_reason())};
                                 }
                               }
                               return json::object{{"leased", i}};
                             }}},
                           lease_options),
            nullptr);
  client::WorkerOptions flaky_options = lease_options;
  flaky_options.concurrency = 2;
  flaky_options.identity = "flaky-worker";
  ASSERT_NE(StartSdkWorker({{"flaky",
                             [&](client::TaskContext& ctx, const json::value& input) -> client::TaskResult {
                               int i = static_cast<int>(input.at("i").as_int64());
                               {
                                 std::lock_guard<std::mutex> lock(mu);
                                 ++flaky_calls[{i, ctx.attempt()}];
                               }
                               if (ctx.attempt() == 0) {
                                 return client::TaskError{"Flaky", "first try"};
                               }
                               return json::object{{"flaky", i}};
                             }}},
                           flaky_options),
            nullptr);
  StepflowProcess* scripted = StartWorkerProcess("scripted", "script-worker", Script("waits.sh", kWaitsForGo));
  ASSERT_NE(scripted, nullptr);

  std::vector<std::string> leased;
  std::vector<std::string> flaky;
  for (int i = 0; i < kLeasedCount; ++i) {
    leased.push_back(Start("leased", absl::StrCat(R"({"i":)", i, "}"), absl::StrCat("leased-", i)).arn());
  }
  for (int i = 0; i < kFlakyCount; ++i) {
    flaky.push_back(Start("flaky", absl::StrCat(R"({"i":)", i, "}"), absl::StrCat("flaky-", i)).arn());
  }
  std::string scripted_arn = Start("scripted", R"({"s":1})", "scripted-0").arn();

  // Leased: the worker's three slots are busy. Flaky: the first attempts failed, the retries wait 4 s.
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return lease_calls.size() == 3;
      },
      60s));
  for (const std::string& arn : flaky) {
    ASSERT_TRUE(WaitForEvent(arn, "TaskFailed")) << arn;
  }
  ASSERT_TRUE(WaitUntil(
      [&] {
        return std::filesystem::exists(tmp_.path()) &&
               std::any_of(std::filesystem::directory_iterator(tmp_.path()), std::filesystem::directory_iterator(),
                           [](const auto& f) { return f.path().filename().string().rfind("scripted-0-", 0) == 0; });
      },
      60s))
      << "the scripted worker never started its task";
  int queued_before = 0;
  for (const std::string& arn : leased) {
    std::vector<v1::HistoryEvent> h = History(arn);
    queued_before += CountType(h, "TaskStarted") == 0 ? 1 : 0;
  }
  EXPECT_EQ(queued_before, kLeasedCount - 3);

  Restart(signal, 1000ms);

  // Still running after the restart, and the queued tasks are still queued (nobody took them).
  int queued_after = 0;
  for (const std::string& arn : leased) {
    absl::StatusOr<v1::Execution> x = client().DescribeExecution(arn);
    ASSERT_TRUE(x.ok()) << x.status();
    EXPECT_EQ(x->status(), v1::RUNNING) << arn;
    queued_after += CountType(History(arn), "TaskStarted") == 0 ? 1 : 0;
  }
  EXPECT_EQ(queued_after, kLeasedCount - 3);

  // Let the workers finish: the leased tasks report to the new server, then the queued ones are polled.
  release = true;
  EXPECT_TRUE(WriteExecutable(tmp_.path() + "/GO", "").ok());
  for (int i = 0; i < kLeasedCount; ++i) {
    v1::Execution x = WaitForEnd(leased[i], 120s);
    ASSERT_EQ(x.status(), v1::SUCCEEDED) << leased[i] << ": " << ExecutionStatusText(x);
    EXPECT_EQ(Json(x.output()), Json(absl::StrCat(R"({"leased":)", i, "}")));
    std::vector<v1::HistoryEvent> h = History(leased[i]);
    ExpectWellFormed(h);
    EXPECT_EQ(CountType(h, "TaskScheduled"), 1);
    EXPECT_EQ(CountType(h, "TaskStarted"), 1);
    EXPECT_EQ(CountType(h, "TaskSucceeded"), 1);
    EXPECT_EQ(h.back().type(), "ExecutionSucceeded");
  }
  for (int i = 0; i < kFlakyCount; ++i) {
    v1::Execution x = WaitForEnd(flaky[i], 120s);
    ASSERT_EQ(x.status(), v1::SUCCEEDED) << flaky[i] << ": " << ExecutionStatusText(x);
    EXPECT_EQ(Json(x.output()), Json(absl::StrCat(R"({"flaky":)", i, "}")));
    std::vector<v1::HistoryEvent> h = History(flaky[i]);
    ExpectWellFormed(h);
    EXPECT_EQ(CountType(h, "TaskScheduled"), 2);
    EXPECT_EQ(CountType(h, "TaskStarted"), 2);
    EXPECT_EQ(CountType(h, "TaskFailed"), 1);
    EXPECT_EQ(CountType(h, "TaskSucceeded"), 1);
  }
  v1::Execution s = WaitForEnd(scripted_arn, 120s);
  ASSERT_EQ(s.status(), v1::SUCCEEDED) << ExecutionStatusText(s);
  EXPECT_EQ(Json(s.output()), Json(R"({"scripted":{"s":1}})"));
  EXPECT_EQ(CountType(History(scripted_arn), "TaskStarted"), 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(lease_calls.size(), static_cast<std::size_t>(kLeasedCount));
    for (const auto& [i, n] : lease_calls) {
      EXPECT_EQ(n, 1) << "leased task " << i << " was handed out " << n << " times";
    }
    EXPECT_EQ(flaky_calls.size(), static_cast<std::size_t>(2 * kFlakyCount));
    for (const auto& [key, n] : flaky_calls) {
      EXPECT_EQ(n, 1) << "flaky task " << key.first << " attempt " << key.second << " ran " << n << " times";
    }
  }
  EXPECT_TRUE(scripted->Running()) << "the worker process survived the restart";
  absl::StatusOr<std::vector<v1::DeadLetter>> dl = client().ListAllDeadLetters(v1::DeadLetterFilter());
  ASSERT_TRUE(dl.ok()) << dl.status();
  EXPECT_TRUE(dl->empty());
}

INSTANTIATE_TEST_SUITE_P(Signals, WorkersRestartTest, ::testing::Values(SIGTERM, SIGKILL),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == SIGTERM ? std::string("Sigterm") : std::string("Sigkill");
                         });

}  // namespace
}  // namespace stepflow::itest
