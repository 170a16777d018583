// The CLI's remote verbs in-process against the gRPC server on the fake engine: output formats, exit statuses
// and one-line errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "clients/cli/cli_util.h"
#include "clients/cli/remote.h"
#include "app/logging.h"
#include "engine/api/server.h"
#include "tests/unit/api/fake_engine.h"

namespace stepflow::cli {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

struct Result {
  int exit_code;
  std::string out;
  std::string err;
  boost::json::value Json() const { return boost::json::parse(out); }
};

class CliRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app::SetUpLogging(app::LogFormat::kText, "error");  // the server's log lines would mix with stdout
    absl::StatusOr<int> port = server_.Start(&engine_, "127.0.0.1:0");
    ASSERT_TRUE(port.ok()) << port.status();
    address_ = "127.0.0.1:" + std::to_string(*port);
    // One file per test process: CTest runs these tests in parallel, and a shared path let one test's
    // SetUp truncate the file while another was reading it.
    definition_path_ = ::testing::TempDir() + "/cli_remote_test_def." + std::to_string(::getpid()) + "." +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json";
    std::ofstream(definition_path_) << R"({"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}})";
  }
  void TearDown() override { std::remove(definition_path_.c_str()); }

  // Runs `stepflow <command> <args> --server ADDR`, capturing stdout and stderr.
  Result Run(std::vector<std::string> args) {
    args.push_back("--server=" + address_);
    std::string command = args[0];
    args.erase(args.begin());
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int code = command == "sm" ? SmCommand(args) : ExecCommand(args);
    std::fflush(stdout);
    std::fflush(stderr);
    std::string out = ::testing::internal::GetCapturedStdout();
    std::string err = ::testing::internal::GetCapturedStderr();
    return {code, out, err};
  }

  api::testing::FakeEngine engine_;
  api::Server server_;
  std::string address_;
  std::string definition_path_;
};

TEST_F(CliRemoteTest, StateMachineVerbs) {
  Result created = Run({"sm", "create", "m", definition_path_, "--type", "EXPRESS", "--output", "json"});
  ASSERT_EQ(created.exit_code, kExitOk) << created.err;
  EXPECT_EQ(created.err, "");
  EXPECT_EQ(created.Json().at("name"), "m");
  EXPECT_EQ(created.Json().at("type"), "EXPRESS");
  EXPECT_EQ(created.Json().at("definition").at("StartAt"), "A");

  Result dup = Run({"sm", "create", "m", definition_path_, "--output", "json"});  // STANDARD this time
  EXPECT_EQ(dup.exit_code, kExitExecutionFailed);
  EXPECT_EQ(dup.out, "");
  EXPECT_THAT(dup.err, HasSubstr("stepflow sm create: StateMachineAlreadyExists"));

  Result updated = Run({"sm", "update", "m", definition_path_});
  ASSERT_EQ(updated.exit_code, kExitOk) << updated.err;
  EXPECT_THAT(updated.out, HasSubstr("version  2"));

  Result list = Run({"sm", "list", "--output", "json"});
  ASSERT_EQ(list.exit_code, kExitOk) << list.err;
  EXPECT_EQ(list.Json().as_array().size(), 1u);
  Result table = Run({"sm", "list"});
  EXPECT_THAT(table.out, HasSubstr("NAME  TYPE"));

  Result described = Run({"sm", "describe", "m"});
  ASSERT_EQ(described.exit_code, kExitOk) << described.err;
  EXPECT_THAT(described.out, HasSubstr("definition:"));

  EXPECT_EQ(Run({"sm", "delete", "m"}).exit_code, kExitOk);
  Result gone = Run({"sm", "describe", "m", "--output", "json"});
  EXPECT_EQ(gone.exit_code, kExitExecutionFailed);
  EXPECT_THAT(gone.err, HasSubstr("StateMachineDoesNotExist"));
}

TEST_F(CliRemoteTest, UsageErrors) {
  EXPECT_EQ(Run({"sm", "create", "m"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"sm", "create", "m", definition_path_, "--type", "FAST"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"sm", "create", "m", "/no/such/file.json"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"sm", "frobnicate"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"exec", "history", "arn", "--reverse", "--follow"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"exec", "start", "m", "--timeout", "5"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"exec", "start", "m", "--input", "a", "--input-json", "{}"}).exit_code, kExitUsage);
  Result bad_output = Run({"exec", "list", "--output", "yaml"});
  EXPECT_EQ(bad_output.exit_code, kExitUsage);
  EXPECT_THAT(bad_output.err, HasSubstr("--output must be table or json"));
}

TEST_F(CliRemoteTest, ExecutionVerbs) {
  ASSERT_EQ(Run({"sm", "create", "m", definition_path_}).exit_code, kExitOk);
  Result started =
      Run({"exec", "start", "m", "--name", "a", "--input-json", R"({"x":1})", "--output", "json"});
  ASSERT_EQ(started.exit_code, kExitOk) << started.err;
  std::string arn = boost::json::value_to<std::string>(started.Json().at("executionArn"));
  EXPECT_EQ(started.Json().at("input").at("x"), 1);

  Result conflict = Run({"exec", "start", "m", "--name", "a", "--input-json", R"({"x":2})"});
  EXPECT_EQ(conflict.exit_code, kExitExecutionFailed);
  EXPECT_THAT(conflict.err, HasSubstr("ExecutionAlreadyExists"));

  Result described = Run({"exec", "describe", arn});
  ASSERT_EQ(described.exit_code, kExitOk) << described.err;
  EXPECT_THAT(described.out, HasSubstr("RUNNING"));

  engine_.AppendEvent(arn, "PassStateEntered");
  Result history = Run({"exec", "history", arn, "--output", "json", "--reverse"});
  ASSERT_EQ(history.exit_code, kExitOk) << history.err;
  ASSERT_EQ(history.Json().as_array().size(), 2u);
  EXPECT_EQ(history.Json().at(0).at("type"), "PassStateEntered");
  EXPECT_EQ(history.Json().at(1).at("executionStartedEventDetails"), boost::json::object());

  Result running = Run({"exec", "list", "--status", "RUNNING", "--state-machine", "m", "--output", "json"});
  ASSERT_EQ(running.exit_code, kExitOk) << running.err;
  EXPECT_EQ(running.Json().as_array().size(), 1u);

  Result stopped = Run({"exec", "stop", arn, "--error", "E", "--cause", "C", "--output", "json"});
  ASSERT_EQ(stopped.exit_code, kExitOk) << stopped.err;
  EXPECT_EQ(stopped.Json().at("status"), "ABORTED");
  EXPECT_EQ(stopped.Json().at("error"), "E");

  Result again = Run({"exec", "stop", arn});
  EXPECT_EQ(again.exit_code, kExitExecutionFailed);
  EXPECT_THAT(again.err, HasSubstr("ExecutionNotRunning"));

  Result follow = Run({"exec", "history", arn, "--follow", "--output", "json"});
  ASSERT_EQ(follow.exit_code, kExitOk) << follow.err;
  EXPECT_EQ(std::count(follow.out.begin(), follow.out.end(), '\n'), 3);  // JSON lines

  Result sm = Run({"exec", "describe-sm", arn, "--output", "json"});
  ASSERT_EQ(sm.exit_code, kExitOk) << sm.err;
  EXPECT_EQ(sm.Json().at("name"), "m");

  Result list = Run({"exec", "list"});
  EXPECT_THAT(list.out, HasSubstr("ABORTED"));
}

TEST_F(CliRemoteTest, StartSyncExitStatusFollowsTheOutcome) {
  ASSERT_EQ(Run({"sm", "create", "m", definition_path_}).exit_code, kExitOk);
  std::string arn = std::string(api::testing::kArnPrefix) + "execution:m:s";
  std::thread finisher([&] {
    while (!engine_.DescribeExecution(arn).ok()) {
      std::this_thread::sleep_for(5ms);
    }
    engine_.Finish(arn, sm::ExecutionStatus::kFailed, "");
  });
  Result failed = Run({"exec", "start", "m", "--name", "s", "--sync", "--output", "json"});
  finisher.join();
  EXPECT_EQ(failed.exit_code, kExitExecutionFailed);
  EXPECT_EQ(failed.Json().at("status"), "FAILED");
  EXPECT_THAT(failed.err, HasSubstr("the execution ended FAILED"));

  Result timeout = Run({"exec", "start", "m", "--name", "t", "--sync", "--timeout", "1"});
  EXPECT_EQ(timeout.exit_code, kExitExecutionFailed);
  EXPECT_THAT(timeout.err, HasSubstr("stepflow exec start: Timeout"));
}

}  // namespace
}  // namespace stepflow::cli
