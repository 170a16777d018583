// The CLI's remote verbs through the real binary against the real server, with --output json.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "tests/integration/fixture.h"

namespace stepflow::itest {
namespace {

using ::testing::HasSubstr;

class CliTest : public ServerFixture {
 protected:
  // `stepflow ARGS --server ADDR --output json`.
  CliResult Cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--server", server().address(), "--output", "json"});
    return RunCli(args);
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = tmp_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static boost::json::value Json(const CliResult& r) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.out, ec);
    EXPECT_FALSE(ec) << "stdout is not one JSON value: " << r.out;
    return v;
  }
};

TEST_F(CliTest, StateMachineAndExecutionVerbs) {
  std::string def = WriteFile("chain.json", kPassChain);
  CliResult created = Cli({"sm", "create", "chain", def});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(Json(created).at("name"), "chain");
  EXPECT_EQ(Json(created).at("version"), 1);

  CliResult dup = Cli({"sm", "create", "chain", WriteFile("other.json", kFails)});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_EQ(dup.out, "");
  EXPECT_THAT(dup.err, HasSubstr("stepflow sm create: StateMachineAlreadyExists"));

  CliResult listed = Cli({"sm", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  ASSERT_EQ(Json(listed).as_array().size(), 1u);

  std::string input = WriteFile("input.json", R"({"x":7})");
  CliResult run = Cli({"exec", "start", "chain", "--name", "cli-run", "--input", input, "--sync"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  boost::json::value e = Json(run);
  EXPECT_EQ(e.at("status"), "SUCCEEDED");
  EXPECT_EQ(e.at("output").at("x"), 7);
  EXPECT_EQ(e.at("output").at("three"), 3);
  std::string arn = boost::json::value_to<std::string>(e.at("executionArn"));

  CliResult described = Cli({"exec", "describe", arn});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  EXPECT_EQ(Json(described).at("name"), "cli-run");

  CliResult history = Cli({"exec", "history", arn});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_EQ(Json(history).as_array().front().at("type"), "ExecutionStarted");
  EXPECT_EQ(Json(history).as_array().back().at("type"), "ExecutionSucceeded");

  CliResult follow = Cli({"exec", "history", arn, "--follow"});  // ended: prints every event and exits
  ASSERT_EQ(follow.exit_code, 0) << follow.err;
  EXPECT_EQ(std::count(follow.out.begin(), follow.out.end(), '\n'),
            static_cast<long>(Json(history).as_array().size()));

  CliResult list = Cli({"exec", "list", "--state-machine", "chain", "--status", "SUCCEEDED"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  ASSERT_EQ(Json(list).as_array().size(), 1u);

  CliResult stop = Cli({"exec", "stop", arn});
  EXPECT_EQ(stop.exit_code, 1);
  EXPECT_THAT(stop.err, HasSubstr("ExecutionNotRunning"));

  CliResult sm = Cli({"exec", "describe-sm", arn});
  ASSERT_EQ(sm.exit_code, 0) << sm.err;
  EXPECT_EQ(Json(sm).at("definition").at("StartAt"), "One");

  CliResult deleted = Cli({"sm", "delete", "chain"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  CliResult unknown = Cli({"sm", "describe", "chain"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("StateMachineDoesNotExist"));
}

TEST_F(CliTest, FailuresAreOneLineAndNonZero) {
  std::string bad = WriteFile("bad.json", kTwoProblems);
  CliResult invalid = Cli({"sm", "create", "bad", bad});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(invalid.out, "");
  EXPECT_THAT(invalid.err, HasSubstr("InvalidDefinition"));

  std::string def = WriteFile("fails.json", kFails);
  ASSERT_EQ(Cli({"sm", "create", "fails", def}).exit_code, 0);
  CliResult failed = Cli({"exec", "start", "fails", "--sync"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(Json(failed).at("status"), "FAILED");
  EXPECT_EQ(Json(failed).at("error"), "Custom.Error");

  CliResult usage = Cli({"exec", "start"});
  EXPECT_EQ(usage.exit_code, 2);

  CliResult down = RunCli({"sm", "list", "--server", "127.0.0.1:1", "--output", "json"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_EQ(down.out, "");
  EXPECT_THAT(down.err, HasSubstr("cannot connect to 127.0.0.1:1 within 3000 ms"));
  // How long a verb waits for its connection: --connect-timeout, else STEPFLOW_CONNECT_TIMEOUT, else 3 s.
  CliResult quick = RunCli({"sm", "list", "--server", "127.0.0.1:1", "--connect-timeout", "0.25"});
  EXPECT_EQ(quick.exit_code, 1);
  EXPECT_THAT(quick.err, HasSubstr("cannot connect to 127.0.0.1:1 within 250 ms"));
  for (const char* bad : {"0", "-1", "nan", "inf", "1e9", "soon"}) {
    CliResult refused = RunCli({"sm", "list", "--server", "127.0.0.1:1", "--connect-timeout", bad});
    EXPECT_EQ(refused.exit_code, 2) << bad;
    EXPECT_THAT(refused.err, HasSubstr("--connect-timeout must be a number of seconds above 0 and at most 3600"))
        << bad;
  }
}

TEST_F(CliTest, ConnectTimeoutFromEnvironment) {
  std::string out = tmp_.path() + "/connect_timeout.out";
  auto printed = [&out] {
    std::ifstream in(out);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  std::string quick = absl::StrCat("STEPFLOW_CONNECT_TIMEOUT=0.5 '", StepflowBinary(),
                                   "' --server 127.0.0.1:1 sm list > '", out, "' 2>&1");
  EXPECT_EQ(WEXITSTATUS(std::system(quick.c_str())), 1);
  EXPECT_THAT(printed(), HasSubstr("within 500 ms"));
  std::string bad = absl::StrCat("STEPFLOW_CONNECT_TIMEOUT=never '", StepflowBinary(),
                                 "' --server 127.0.0.1:1 sm list > '", out, "' 2>&1");
  EXPECT_EQ(WEXITSTATUS(std::system(bad.c_str())), 2);
  EXPECT_THAT(printed(), HasSubstr("STEPFLOW_CONNECT_TIMEOUT must be a number of seconds"));
}

TEST_F(CliTest, TableOutputAndServerFromEnvironment) {
  std::string def = WriteFile("chain.json", kPassChain);
  CliResult created = RunCli({"--server", server().address(), "sm", "create", "chain", def});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("version  1"));
  CliResult listed = RunCli({"sm", "list", "--server=" + server().address()});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("NAME"));
  EXPECT_THAT(listed.out, HasSubstr("chain"));
}

}  // namespace
}  // namespace stepflow::itest
