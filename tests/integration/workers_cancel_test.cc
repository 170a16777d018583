// Workers: the other ways a task stops being wanted, seen from a real worker against the real server.
//   - Stop while the task is still queued: no worker ever gets it.
//   - The task's TimeoutSeconds passes while the handler runs: the SDK cancels it, the execution times out
//     the task (States.Timeout), and the late result is refused.
//   - A sibling Parallel branch fails, or the execution's own TimeoutSeconds passes: the running task's
//     handler is cancelled through its heartbeats.
//   - `stepflow worker` drains on SIGTERM: the running command finishes and its result counts.
//   - A dead letter redriven through the CLI with a patched input: the worker gets the new input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "tests/integration/worker_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

using WorkersCancelTest = WorkerFixture;

client::WorkerOptions QuickOptions() {
  client::WorkerOptions options;
  options.poll_wait = std::chrono::seconds(2);
  options.drain_timeout = 5s;
  options.shutdown_grace = 2s;
  return options;
}

// Records how the handler ended: -1 running or never ran, 0 returned without cancellation, else
// 1 + CancelReason.
struct Outcome {
  std::atomic<int> started{0};
  std::atomic<int> reason{-1};
};

client::TaskHandler WaitsForCancellation(Outcome& outcome) {
  return [&outcome](client::TaskContext& ctx, const json::value&) -> client::TaskResult {
    ++outcome.started;
    bool cancelled = ctx.WaitForCancellation(120s);
    outcome.reason = cancelled ? 1 + static_cast<int>(ctx.cancel_reason()) : 0;
    return client::TaskError{"Handler.Cancelled", client::CancelReasonName(ctx.cancel_reason())};
  };
}

int Reason(client::CancelReason r) { return 1 + static_cast<int>(r); }

TEST_F(WorkersCancelTest, StoppedWhileQueuedIsNeverHandedOut) {
  Create("queued", R"({"StartAt":"W","States":{"W":{"Type":"Task","Resource":"activity:queued","End":true}}})");
  v1::Execution e = Start("queued", "{}", "stopped-in-queue");
  ASSERT_TRUE(WaitForEvent(e.arn(), "TaskScheduled"));
  ASSERT_TRUE(client().StopExecution(e.arn()).ok());
  absl::StatusOr<v1::PollTaskResponse> t = client().PollTask("queued", "late-worker", 3s);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->task_token(), "") << "a withdrawn task was handed out: " << t->DebugString();
  std::vector<v1::HistoryEvent> h = History(e.arn());
  ExpectWellFormed(h);
  EXPECT_EQ(CountType(h, "TaskStarted"), 0);
  EXPECT_EQ(h.back().type(), "ExecutionAborted");
}

// When a task's TimeoutSeconds passes, the SDK cancels the handler at the deadline itself, and a handler that
// honours the cancellation returns at once; its report reaches the partition in the same millisecond as the
// task's timeout timer. The partition fires due timers before taking a report (Partition::ReportTask), so
// the task times out with States.Timeout and the late report is refused (it once was accepted first, in
// about half of the runs).
TEST_F(WorkersCancelTest, TaskTimeoutCancelsTheHandlerAndTimesTheTaskOut) {
  Create("deadline", R"({"StartAt":"W","States":{"W":{"Type":"Task","Resource":"activity:deadline",
                        "TimeoutSeconds":2,"End":true}}})");
  Outcome outcome;
  ASSERT_NE(StartSdkWorker({{"deadline", WaitsForCancellation(outcome)}}, QuickOptions()), nullptr);
  v1::Execution e = Start("deadline", "{}", "too-slow");
  v1::Execution done = WaitForEnd(e.arn(), 60s);
  ASSERT_EQ(done.status(), v1::FAILED) << ExecutionStatusText(done);
  EXPECT_EQ(done.error(), "States.Timeout") << ExecutionStatusText(done);
  ASSERT_TRUE(WaitUntil([&] { return outcome.reason.load() != -1; }, 60s));
  // The SDK's own deadline, or the server refusing the token: either way the handler was told.
  EXPECT_THAT(outcome.reason.load(), ::testing::AnyOf(Reason(client::CancelReason::kDeadline),
                                                      Reason(client::CancelReason::kTaskGone)));
  std::vector<v1::HistoryEvent> h = History(e.arn());
  ExpectWellFormed(h);
  ASSERT_EQ(CountType(h, "TaskTimedOut"), 1);
  EXPECT_EQ(DetailString(OfType(h, "TaskTimedOut")[0], "error"), "States.Timeout");
  EXPECT_EQ(CountType(h, "TaskFailed"), 0) << "the handler's late failure was refused";
}

TEST_F(WorkersCancelTest, FailedSiblingBranchCancelsTheRunningTask) {
  Create("siblings", R"({"StartAt":"Both","States":{"Both":{"Type":"Parallel","End":true,"Branches":[
      {"StartAt":"Slow","States":{"Slow":{"Type":"Task","Resource":"activity:slow","HeartbeatSeconds":3,
                                           "End":true}}},
      {"StartAt":"Gate","States":{"Gate":{"Type":"Task","Resource":"activity:gate","End":true}}}]}}})");
  Outcome slow;
  std::atomic<bool> fail_now{false};
  ASSERT_NE(StartSdkWorker({{"slow", WaitsForCancellation(slow)},
                            {"gate",
                             [&](client::TaskContext&, const json::value&) -> client::TaskResult {
                               WaitUntil([&] { return fail_now.load(); }, 60s);
                               return client::TaskError{"Gate.Closed", "the sibling fails"};
                             }}},
                           [] {
                             client::WorkerOptions o = QuickOptions();
                             o.concurrency = 2;
                             return o;
                           }()),
            nullptr);
  v1::Execution e = Start("siblings", "{}", "sibling-fails");
  ASSERT_TRUE(WaitUntil([&] { return slow.started.load() == 1; }, 60s));
  fail_now = true;
  v1::Execution done = WaitForEnd(e.arn(), 60s);
  ASSERT_EQ(done.status(), v1::FAILED) << ExecutionStatusText(done);
  EXPECT_EQ(done.error(), "Gate.Closed");
  ASSERT_TRUE(WaitUntil([&] { return slow.reason.load() != -1; }, 60s))
      << "the running branch's handler was never cancelled";
  EXPECT_EQ(slow.reason.load(), Reason(client::CancelReason::kCancelled));
}

TEST_F(WorkersCancelTest, ExecutionTimeoutCancelsTheRunningTask) {
  Create("exec-timeout", R"({"TimeoutSeconds":2,"StartAt":"W","States":{"W":{"Type":"Task",
                            "Resource":"activity:exec-timeout","HeartbeatSeconds":3,"End":true}}})");
  Outcome outcome;
  ASSERT_NE(StartSdkWorker({{"exec-timeout", WaitsForCancellation(outcome)}}, QuickOptions()), nullptr);
  v1::Execution e = Start("exec-timeout", "{}", "runs-out");
  v1::Execution done = WaitForEnd(e.arn(), 60s);
  ASSERT_EQ(done.status(), v1::TIMED_OUT) << ExecutionStatusText(done);
  ASSERT_TRUE(WaitUntil([&] { return outcome.reason.load() != -1; }, 60s))
      << "the handler was never cancelled";
  EXPECT_EQ(outcome.reason.load(), Reason(client::CancelReason::kCancelled));
}

// Sleeps until DIR/GO exists, then answers.
constexpr char kSlowEcho[] = R"(
input=$(cat)
touch "$DIR/draining-started"
while [ ! -e "$DIR/GO" ]; do sleep 0.1; done
printf '{"drained":%s}\n' "$input"
)";

TEST_F(WorkersCancelTest, WorkerDrainsOnSigtermAndItsResultCounts) {
  Create("drain", R"({"StartAt":"W","States":{"W":{"Type":"Task","Resource":"activity:drain","End":true}}})");
  StepflowProcess* w = StartWorkerProcess("drain", "drainer", Script("slow_echo.sh", kSlowEcho));
  ASSERT_NE(w, nullptr);
  v1::Execution e = Start("drain", R"({"d":1})", "drained");
  ASSERT_TRUE(WaitUntil([&] { return FileExists(tmp_.path() + "/draining-started"); }, 60s));
  w->Signal(SIGTERM);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(w->Running()) << "the worker must wait for its running command";
  ASSERT_TRUE(WriteExecutable(tmp_.path() + "/GO", "").ok());
  // (No second SIGTERM: that one would kill the worker, as a second Ctrl-C does.)
  EXPECT_EQ(w->WaitForExit(60s), std::optional<int>(0)) << w->log();
  v1::Execution done = WaitForEnd(e.arn(), 60s);
  ASSERT_EQ(done.status(), v1::SUCCEEDED) << ExecutionStatusText(done);
  EXPECT_EQ(Json(done.output()), Json(R"({"drained":{"d":1}})"));
}

constexpr char kEchoesInput[] = R"SH(
input=$(cat)
if [ "$(printf '%s' "$input" | grep -c '"good":true')" = 0 ]; then
  echo '{"error":"Input.Bad","cause":"the input is not good"}' >&2
  exit 1
fi
printf '{"got":%s}\n' "$input"
)SH";

TEST_F(WorkersCancelTest, CliRedriveWithPatchedInput) {
  Create("patch", R"({"StartAt":"W","States":{"W":{"Type":"Task","Resource":"activity:patch","End":true}}})");
  ASSERT_NE(StartWorkerProcess("patch", "patcher", Script("echoes_input.sh", kEchoesInput)), nullptr);
  v1::Execution e = Start("patch", R"({"good":false})", "needs-patch");
  v1::Execution failed = WaitForEnd(e.arn(), 60s);
  ASSERT_EQ(failed.status(), v1::FAILED) << ExecutionStatusText(failed);
  EXPECT_EQ(failed.error(), "Input.Bad");
  CliResult listed = RunCli({"--server", address(), "--output", "json", "dlq", "list", "--queue", "patch"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json::value entries = Json(listed.out);
  ASSERT_TRUE(entries.is_array()) << listed.out;
  ASSERT_EQ(entries.as_array().size(), 1u) << listed.out;
  const std::string id(entries.as_array()[0].at("id").as_string().c_str());
  CliResult redriven = RunCli({"--server", address(), "dlq", "redrive", id, "--input", R"({"good":true})"});
  ASSERT_EQ(redriven.exit_code, 0) << redriven.out << redriven.err;
  v1::Execution done = WaitForEnd(e.arn(), 60s);
  ASSERT_EQ(done.status(), v1::SUCCEEDED) << ExecutionStatusText(done);
  EXPECT_EQ(Json(done.output()), Json(R"({"got":{"good":true}})"));
  absl::StatusOr<std::vector<v1::DeadLetter>> left = client().ListAllDeadLetters(v1::DeadLetterFilter());
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_TRUE(left->empty());
  std::vector<v1::HistoryEvent> h = History(e.arn());
  std::vector<v1::HistoryEvent> redrives = OfType(h, "DeadLetterRedriven");
  ASSERT_EQ(redrives.size(), 1u);
  EXPECT_THAT(redrives[0].details(), HasSubstr(R"("inputPatched":true)"));
}

}  // namespace
}  // namespace stepflow::itest
