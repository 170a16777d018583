// Issue 12's API on the real binary, over gRPC (the C++ client), REST and the CLI: executions described by
// state machine and name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "tests/integration/rest_fixture.h"

namespace stepflow::itest {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ApiCompletionTest : public RestTest {
 protected:
  // `stepflow ARGS --server ADDR --output json`.
  CliResult Cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--server", server().address(), "--output", "json"});
    return RunCli(args);
  }
};

TEST_F(ApiCompletionTest, DescribeExecutionByStateMachineAndName) {
  v1::StateMachine sm = Create("orders", kPassChain);
  absl::StatusOr<v1::Execution> done = client().StartSyncExecution("orders", R"({"x":1})", "order-7", 30s);
  ASSERT_TRUE(done.ok()) << done.status();

  // gRPC: by name or by ARN of the state machine.
  absl::StatusOr<v1::Execution> by_name = client().DescribeExecutionByName("orders", "order-7");
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ(by_name->arn(), done->arn());
  EXPECT_EQ(by_name->status(), v1::SUCCEEDED);
  absl::StatusOr<v1::Execution> by_arn = client().DescribeExecutionByName(sm.arn(), "order-7");
  ASSERT_TRUE(by_arn.ok()) << by_arn.status();
  EXPECT_EQ(by_arn->arn(), done->arn());

  EXPECT_EQ(client::ErrorName(client().DescribeExecutionByName("orders", "order-8").status()),
            "ExecutionDoesNotExist");
  EXPECT_EQ(client::ErrorName(client().DescribeExecutionByName("no-such-machine", "order-7").status()),
            "ExecutionDoesNotExist");
  EXPECT_EQ(client::ErrorName(client().DescribeExecutionByName("orders", "").status()), "ValidationException");
  EXPECT_EQ(client::ErrorName(client().DescribeExecutionByName("orders", "bad name").status()), "InvalidName");
  EXPECT_EQ(client::ErrorName(client().DescribeExecutionByName("arn:aws:states:bad", "x").status()), "InvalidArn");

  // REST: GET /state-machines/{arn or name}/executions/{name}; both ways at once is refused.
  json::value rest = Body(http_->Get("/api/v1/state-machines/orders/executions/order-7"));
  EXPECT_EQ(rest.at("arn"), json::value(done->arn()));
  rest = Body(http_->Get("/api/v1/state-machines/" + Encode(sm.arn()) + "/executions/order-7"));
  EXPECT_EQ(rest.at("arn"), json::value(done->arn()));
  auto missing = http_->Get("/api/v1/state-machines/orders/executions/order-8");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(ErrorOf(missing), "ExecutionDoesNotExist");
  auto both = http_->Get("/api/v1/state-machines/orders/executions/order-7?executionArn=" + Encode(done->arn()));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->status, 400);
  EXPECT_EQ(ErrorOf(both), "ValidationException");

  // CLI: exec describe --state-machine SM NAME.
  CliResult cli = Cli({"exec", "describe", "--state-machine", "orders", "order-7"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(json::parse(cli.out).at("executionArn"), json::value(done->arn()));
  CliResult cli_missing = Cli({"exec", "describe", "--state-machine", "orders", "order-8"});
  EXPECT_EQ(cli_missing.exit_code, 1);
  EXPECT_THAT(cli_missing.err, HasSubstr("ExecutionDoesNotExist"));
}

}  // namespace
}  // namespace stepflow::itest
