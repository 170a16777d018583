// Workers come back at once after a restart (issue 9, section 6): an SDK worker and a `stepflow worker`
// process keep running while the server is stopped and started again on the same port, twice (SIGTERM,
// then SIGKILL). After each start, a task is queued right away for each of them; each must be handed to its
// worker within kReconnectBound of the server's "listening" line. Before the fix, gRPC's channel backoff and
// the worker's own poll backoff kept workers away for 5-9 s while other clients connected at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>

#include "tests/integration/worker_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// "A worker must poll again within 1 s of the server listening"; the extra half second covers starting the
// execution and handing the task over on a loaded test machine, and is scaled under ThreadSanitizer, whose
// server does both several times slower (CI, at a load of 2-8: 1.5 s was passed there). The reconnect itself
// (gRPC's capped backoff, the worker's poll backoff) is not slowed by TSan, so the test still tells the
// 5-9 s of before the fix from a prompt reconnect.
constexpr std::chrono::milliseconds kReconnectBound{1000 + 500 * kSanitizerSlowdown};

constexpr char kSdkQueue[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:reconnect-sdk","End":true}}})";
constexpr char kCliQueue[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:reconnect-cli","End":true}}})";

// Records that it ran (the file RAN-<i> in DIR, i from the input), then echoes its input.
constexpr char kRecordsRun[] = R"(
input=$(cat)
i=$(printf '%s' "$input" | sed 's/[^0-9]//g')
touch "$DIR/RAN-$i"
printf '%s\n' "$input"
)";

class WorkersReconnectTest : public WorkerFixture {};

TEST_F(WorkersReconnectTest, WorkersPollAgainWithinOneSecondOfEachRestart) {
  Create("sdk", kSdkQueue);
  Create("cli", kCliQueue);
  std::mutex mu;
  std::vector<SteadyClock::time_point> sdk_runs;
  client::WorkerOptions options;  // the defaults a real worker uses (20 s long polls, default backoff)
  options.identity = "reconnect-sdk";
  ASSERT_NE(StartSdkWorker({{"reconnect-sdk",
                             [&](client::TaskContext&, const json::value& input) -> client::TaskResult {
                               std::lock_guard<std::mutex> lock(mu);
                               sdk_runs.push_back(SteadyClock::now());
                               return input;
                             }}},
                           options),
            nullptr);
  ASSERT_NE(StartWorkerProcess("reconnect-cli", "reconnect-cli", Script("records.sh", kRecordsRun)), nullptr);

  // Both workers serve the first server lifetime.
  ASSERT_EQ(WaitForEnd(Start("sdk", R"({"i":0})").arn(), 30s).status(), v1::SUCCEEDED);
  ASSERT_EQ(WaitForEnd(Start("cli", R"({"i":0})").arn(), 30s).status(), v1::SUCCEEDED);

  const int signals[] = {SIGTERM, SIGKILL};
  for (int round = 1; round <= 2; ++round) {
    std::size_t sdk_before = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      sdk_before = sdk_runs.size();
    }
    // An outage long enough for the workers' poll backoff and gRPC's reconnect backoff to reach their caps
    // (before the fix: 2 s and 1 s, so a worker came back anywhere from 0 to about 3 s after the server).
    Restart(signals[round - 1], 6000ms);
    const SteadyClock::time_point listening = SteadyClock::now();  // StartServer returned: it is listening
    std::string input = absl::StrCat(R"({"i":)", round, "}");
    std::string sdk_arn = Start("sdk", input).arn();
    std::string cli_arn = Start("cli", input).arn();

    ASSERT_TRUE(WaitUntil(
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          return sdk_runs.size() > sdk_before;
        },
        30s))
        << "round " << round << ": the SDK worker never took its task";
    SteadyClock::time_point sdk_ran;
    {
      std::lock_guard<std::mutex> lock(mu);
      sdk_ran = sdk_runs[sdk_before];
    }
    EXPECT_LT(sdk_ran - listening, kReconnectBound)
        << "round " << round << ": the SDK worker took its task "
        << std::chrono::duration_cast<std::chrono::milliseconds>(sdk_ran - listening).count()
        << " ms after the server listened";

    std::string ran_file = absl::StrCat(tmp_.path(), "/RAN-", round);
    ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(ran_file); }, 30s))
        << "round " << round << ": the stepflow worker never took its task";
    SteadyClock::time_point cli_ran = SteadyClock::now();
    EXPECT_LT(cli_ran - listening, kReconnectBound)
        << "round " << round << ": the stepflow worker took its task "
        << std::chrono::duration_cast<std::chrono::milliseconds>(cli_ran - listening).count()
        << " ms after the server listened";

    EXPECT_EQ(WaitForEnd(sdk_arn, 30s).status(), v1::SUCCEEDED);
    EXPECT_EQ(WaitForEnd(cli_arn, 30s).status(), v1::SUCCEEDED);
  }
}

}  // namespace
}  // namespace stepflow::itest
