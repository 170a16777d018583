// `stepflow worker`'s command runner (clients/cli/command_runner.h): outputs, error mapping, cancellation,
// and the whole `stepflow worker` verb against the fake Tasks service.
#include "clients/cli/command_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <thread>
#include <unistd.h>

#include "clients/cli/cli_util.h"
#include "clients/cli/remote.h"
#include "tests/unit/clients/fake_server.h"

namespace stepflow::cli {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace json = boost::json;

v1::PollTaskResponse Task(const std::string& input) {
  v1::PollTaskResponse task;
  task.set_task_token("token-1");
  task.set_queue("q");
  task.set_input(input);
  task.mutable_context()->set_execution_arn("arn:e");
  task.mutable_context()->set_state_name("Work");
  task.mutable_context()->set_attempt(2);
  return task;
}

// Runs `sh -c SCRIPT` for a task with `input`.
client::TaskResult Sh(const std::string& script, const std::string& input = R"({"x":1})",
                      CommandOptions options = {}) {
  client::TaskContext ctx("q", Task(input));
  options.forward_stderr = false;
  return RunTaskCommand({"/bin/sh", "-c", script}, ctx, options);
}

TEST(CommandRunnerTest, StdoutJsonIsTheOutput) {
  client::TaskResult r = Sh("cat");
  ASSERT_TRUE(r.ok()) << r.error().error << ": " << r.error().cause;
  EXPECT_EQ(r.output(), json::parse(R"({"x":1})"));
}

TEST(CommandRunnerTest, EmptyStdoutIsAnEmptyObject) {
  client::TaskResult r = Sh("cat >/dev/null; printf '\\n  '");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.output(), json::object());
}

TEST(CommandRunnerTest, StdoutThatIsNotJsonFailsWithInvalidOutput) {
  client::TaskResult r = Sh("echo not json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, "Worker.InvalidOutput");
  EXPECT_THAT(r.error().cause, HasSubstr("not JSON"));
}

TEST(CommandRunnerTest, StdoutLargerThanTheLimitFailsWithInvalidOutput) {
  CommandOptions options;
  options.max_output_bytes = 1000;
  client::TaskResult r = Sh("head -c 5000 /dev/zero | tr '\\0' 1", "{}", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, "Worker.InvalidOutput");
  EXPECT_THAT(r.error().cause, HasSubstr("larger"));
}

TEST(CommandRunnerTest, NonZeroExitTakesTheErrorOfTheLastStderrLine) {
  client::TaskResult r =
      Sh(R"(echo progress >&2; echo '{"error":"Order.Invalid","cause":"no items"}' >&2; exit 3)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, "Order.Invalid");
  EXPECT_EQ(r.error().cause, "no items");
  r = Sh(R"(echo '{"error":"Order.Invalid"}' >&2; exit 1)");
  EXPECT_EQ(r.error().error, "Order.Invalid");
  EXPECT_EQ(r.error().cause, "");
}

TEST(CommandRunnerTest, NonZeroExitWithoutAnErrorLineFailsWithExitCode) {
  client::TaskResult r = Sh("echo '{\"error\":\"Not.Last\"}' >&2; echo 'disk full' >&2; exit 4");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, "Worker.ExitCode");
  EXPECT_THAT(r.error().cause, HasSubstr("status 4"));
  EXPECT_THAT(r.error().cause, HasSubstr("disk full"));
  r = Sh("exit 5");
  EXPECT_EQ(r.error().error, "Worker.ExitCode");
  EXPECT_EQ(r.error().cause, "the command exited with status 5");
}

TEST(CommandRunnerTest, KilledBySignalFailsWithSignal) {
  client::TaskResult r = Sh("kill -KILL $$");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, "Worker.Signal");
  EXPECT_THAT(r.error().cause, HasSubstr("signal 9"));
  EXPECT_THAT(r.error().cause, ::testing::Not(HasSubstr("cancelled")));
}

TEST(CommandRunnerTest, CommandThatCannotStartFailsWithSpawnFailed) {
  client::TaskContext ctx("q", Task("{}"));
  client::TaskResult r = RunTaskCommand({"/nonexistent/stepflow-test-command"}, ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, "Worker.SpawnFailed");
  EXPECT_THAT(r.error().cause, HasSubstr("/nonexistent/stepflow-test-command"));
}

TEST(CommandRunnerTest, TheTaskIsInTheEnvironment) {
  client::TaskResult r = Sh(R"(printf '{"token":"%s","queue":"%s","exec":"%s","state":"%s","attempt":%s}' )"
                            R"("$STEPFLOW_TASK_TOKEN" "$STEPFLOW_QUEUE" "$STEPFLOW_EXECUTION_ARN" )"
                            R"("$STEPFLOW_STATE_NAME" "$STEPFLOW_ATTEMPT")");
  ASSERT_TRUE(r.ok()) << r.error().cause;
  EXPECT_EQ(r.output(),
            json::parse(R"({"token":"token-1","queue":"q","exec":"arn:e","state":"Work","attempt":2})"));
}

TEST(CommandRunnerTest, ACommandThatIgnoresALargeInputDoesNotBreakTheWorker) {
  std::string input = "[" + std::string(1 << 20, ' ') + "]";
  client::TaskResult r = Sh("exit 0", input);
  ASSERT_TRUE(r.ok()) << r.error().cause;
  EXPECT_EQ(r.output(), json::object());
}

TEST(CommandRunnerTest, CancellationTerminatesTheCommand) {
  client::TaskContext ctx("q", Task("{}"));
  CommandOptions options;
  options.forward_stderr = false;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    ctx.Cancel(client::CancelReason::kCancelled);
  });
  auto start = std::chrono::steady_clock::now();
  client::TaskResult r = RunTaskCommand({"/bin/sh", "-c", "sleep 30"}, ctx, options);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, "Worker.Signal");
  EXPECT_THAT(r.error().cause, HasSubstr("signal 15"));
  EXPECT_THAT(r.error().cause, HasSubstr("cancelled"));
}

TEST(CommandRunnerTest, CancellationKillsACommandThatIgnoresSigterm) {
  client::TaskContext ctx("q", Task("{}"));
  CommandOptions options;
  options.forward_stderr = false;
  options.kill_grace = 200ms;
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);  // after the shell has set its trap
    ctx.Cancel(client::CancelReason::kShutdown);
  });
  auto start = std::chrono::steady_clock::now();
  // The shell ignores SIGTERM, and so does the sleep it starts (ignored dispositions are inherited).
  client::TaskResult r = RunTaskCommand({"/bin/sh", "-c", "trap '' TERM; sleep 30"}, ctx, options);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, "Worker.Signal");
  EXPECT_THAT(r.error().cause, HasSubstr("signal 9"));
  EXPECT_THAT(r.error().cause, HasSubstr("shutdown"));
}

// The whole verb: `stepflow worker --queue q --concurrency 2 -- sh -c ...` serves the fake's tasks, then
// drains on SIGTERM and exits 0.
TEST(WorkerCommandTest, RunsTheCommandPerTaskAndDrainsOnSigterm) {
  testing::FakeServer server;
  std::string ok = server.tasks.Add("q", R"({"n":1})");
  std::string failed = server.tasks.Add("q", R"({"n":-1})");
  std::string script = R"(read input; case "$input" in *-1*) echo '{"error":"Neg","cause":"negative"}' >&2; )"
                       R"(exit 1;; esac; echo "{\"got\":$input}")";
  int code = -1;
  std::thread worker([&] {
    code = WorkerCommand({"--server", server.address(), "--queue", "q", "--concurrency", "2", "--identity",
                          "w1", "--", "/bin/sh", "-c", script});
  });
  ASSERT_TRUE(server.tasks.WaitFor([&] { return server.tasks.reports_locked() >= 2; }));
  ::kill(::getpid(), SIGTERM);
  worker.join();
  EXPECT_EQ(code, kExitOk);
  EXPECT_EQ(json::parse(server.tasks.ReportOf(ok).output), json::parse(R"({"got":{"n":1}})"));
  EXPECT_EQ(server.tasks.ReportOf(failed).error, "Neg");
  EXPECT_EQ(server.tasks.ReportOf(failed).cause, "negative");
}

TEST(WorkerCommandTest, UsageErrors) {
  EXPECT_EQ(WorkerCommand({"--queue", "q"}), kExitUsage);  // no command
  EXPECT_EQ(WorkerCommand({"--", "true"}), kExitUsage);     // no queue
  EXPECT_EQ(WorkerCommand({"--queue", "q", "--concurrency", "0", "--", "true"}), kExitUsage);
  EXPECT_EQ(WorkerCommand({"--queue", "q", "--bogus", "--", "true"}), kExitUsage);
}

}  // namespace
}  // namespace stepflow::cli
