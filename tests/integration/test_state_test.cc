// TestState on the real binary: the same request over gRPC, REST, `stepflow test-state --server` and the local
// `stepflow test-state` gives the same answer; errors keep their AWS names on every way in; nothing is stored.
// And the CLI verbs of versions and aliases (sm publish|versions|describe-version|delete-version, alias ...).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "tests/integration/rest_fixture.h"

namespace stepflow::itest {
namespace {

using ::testing::HasSubstr;

// A Task that selects its parameters, takes a mocked Lambda answer apart and keeps it beside its input.
constexpr char kMachine[] = R"({"StartAt": "Prepare", "States": {
  "Prepare": {"Type": "Pass", "Result": {"n": 2}, "ResultPath": "$.in", "Next": "Call"},
  "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
           "Parameters": {"FunctionName": "f", "Payload.$": "$.in"},
           "ResultSelector": {"body.$": "$.Payload"}, "ResultPath": "$.out", "Next": "Done",
           "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 1}],
           "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}]},
  "Recover": {"Type": "Pass", "End": true},
  "Done": {"Type": "Succeed"}}})";
constexpr char kInput[] = R"({"in": {"n": 2}})";
constexpr char kMockResult[] = R"({"Payload": {"sum": 3}, "StatusCode": 200})";

class TestStateTest : public RestTest {
 protected:
  CliResult Cli(std::vector<std::string> args, bool remote) {
    if (remote) {
      args.insert(args.end(), {"--server", server().address()});
    }
    return RunCli(args);
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = tmp_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static json::value Parse(const std::string& text) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    EXPECT_FALSE(ec) << "not JSON: " << text;
    return v;
  }
};

TEST_F(TestStateTest, SameAnswerOverGrpcRestAndCli) {
  // gRPC.
  v1::TestStateRequest request;
  request.set_definition(kMachine);
  request.set_state_name("Call");
  request.set_input(kInput);
  request.set_inspection_level("DEBUG");
  request.mutable_mock()->set_result(kMockResult);
  absl::StatusOr<v1::TestStateResponse> grpc = client().TestState(request);
  ASSERT_TRUE(grpc.ok()) << grpc.status();
  EXPECT_EQ(grpc->status(), "SUCCEEDED");
  EXPECT_EQ(grpc->next_state(), "Done");
  EXPECT_EQ(Parse(grpc->output()), Parse(R"({"in": {"n": 2}, "out": {"body": {"sum": 3}}})"));
  EXPECT_EQ(Parse(grpc->inspection_data().after_parameters()), Parse(R"({"FunctionName": "f", "Payload": {"n": 2}})"));
  EXPECT_EQ(Parse(grpc->inspection_data().result()), Parse(kMockResult));
  EXPECT_EQ(Parse(grpc->inspection_data().after_result_selector()), Parse(R"({"body": {"sum": 3}})"));

  // REST: JSON payloads embedded as values.
  auto r = http_->Post("/api/v1/state-machines:test-state",
                       absl::StrCat(R"({"definition":)", kMachine, R"(,"stateName":"Call","input":)", kInput,
                                    R"(,"inspectionLevel":"DEBUG","mock":{"result":)", kMockResult, "}}"),
                       kJson);
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
  json::value rest = Body(r);
  EXPECT_EQ(rest.at("status"), "SUCCEEDED");
  EXPECT_EQ(rest.at("nextState"), "Done");
  EXPECT_EQ(rest.at("output"), Parse(grpc->output()));
  EXPECT_EQ(rest.at("inspectionData").at("afterResultPath"), Parse(grpc->inspection_data().after_result_path()));
  EXPECT_EQ(rest.at("inspectionData").at("afterInputPath"), Parse(kInput));

  // The CLI, on the server and locally.
  std::string def = WriteFile("machine.json", kMachine);
  for (bool remote : {true, false}) {
    CliResult cli = Cli({"test-state", def, "Call", "--input", kInput, "--mock-result", kMockResult,
                         "--inspection-level", "DEBUG"},
                        remote);
    ASSERT_EQ(cli.exit_code, 0) << (remote ? "remote: " : "local: ") << cli.err;
    json::value printed = Parse(cli.out);
    EXPECT_EQ(printed.at("status"), "SUCCEEDED");
    EXPECT_EQ(printed.at("nextState"), "Done");
    EXPECT_EQ(printed.at("output"), rest.at("output"));
    EXPECT_EQ(printed.at("inspectionData").at("afterParameters"), rest.at("inspectionData").at("afterParameters"));
    EXPECT_EQ(printed.at("inspectionData").at("variables"), json::object());
  }

  // Errors and retries through the CLI: RETRIABLE (exit 1), then caught once the retrier is spent (exit 0).
  CliResult retriable = Cli({"test-state", def, "Call", "--input", kInput, "--mock-error", "Flaky",
                             "--mock-cause", "try again"},
                            true);
  EXPECT_EQ(retriable.exit_code, 1) << retriable.err;
  EXPECT_EQ(Parse(retriable.out),
            Parse(R"({"status":"RETRIABLE","error":"Flaky","cause":"try again","nextState":"Call"})"));
  CliResult caught = Cli({"test-state", def, "Call", "--input", kInput, "--mock-error", "Flaky",
                          "--mock-cause", "try again", "--retrier-retry-count", "1"},
                         false);
  EXPECT_EQ(caught.exit_code, 0) << caught.err;
  json::value c = Parse(caught.out);
  EXPECT_EQ(c.at("status"), "CAUGHT_ERROR");
  EXPECT_EQ(c.at("nextState"), "Recover");
  EXPECT_EQ(c.at("output").at("error"), Parse(R"({"Error":"Flaky","Cause":"try again"})"));

  // TestState creates nothing.
  absl::StatusOr<v1::ListExecutionsResponse> executions = client().ListExecutions(v1::ListExecutionsRequest());
  ASSERT_TRUE(executions.ok()) << executions.status();
  EXPECT_EQ(executions->executions_size(), 0);
  absl::StatusOr<std::vector<v1::StateMachine>> machines = client().ListAllStateMachines();
  ASSERT_TRUE(machines.ok());
  EXPECT_TRUE(machines->empty());
}

// AWS's errorDetails and a Map's inspection fields, alike over gRPC, REST and the CLI (on the server and locally).
TEST_F(TestStateTest, ErrorDetailsAndMapFieldsOnEveryWayOut) {
  std::string def = WriteFile("machine.json", kMachine);
  for (bool remote : {true, false}) {
    CliResult retriable = Cli({"test-state", def, "Call", "--input", kInput, "--mock-error", "Flaky",
                               "--inspection-level", "DEBUG"},
                              remote);
    EXPECT_EQ(retriable.exit_code, 1) << retriable.err;
    json::value r = Parse(retriable.out);
    EXPECT_EQ(r.at("nextState"), "Call");
    EXPECT_EQ(r.at("inspectionData").at("errorDetails"), Parse(R"({"retryIndex":0,"retryBackoffIntervalSeconds":1})"));
    CliResult caught = Cli({"test-state", def, "Call", "--input", kInput, "--mock-error", "Other",
                            "--inspection-level", "DEBUG"},
                           remote);
    EXPECT_EQ(caught.exit_code, 0) << caught.err;
    EXPECT_EQ(Parse(caught.out).at("inspectionData").at("errorDetails"), Parse(R"({"catchIndex":0})"));
  }

  constexpr char kMap[] = R"({"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
      "ToleratedFailurePercentage": 50, "ItemSelector": {"v.$": "$$.Map.Item.Value"},
      "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true})";
  constexpr char kMapInput[] = R"({"items": [1, 2]})";
  v1::TestStateRequest request;
  request.set_definition(kMap);
  request.set_input(kMapInput);
  request.set_inspection_level("TRACE");
  request.mutable_mock()->set_result("[]");
  absl::StatusOr<v1::TestStateResponse> grpc = client().TestState(request);
  ASSERT_TRUE(grpc.ok()) << grpc.status();
  const v1::TestStateInspectionData& d = grpc->inspection_data();
  EXPECT_EQ(Parse(d.after_items_path()), Parse("[1, 2]"));
  EXPECT_EQ(Parse(d.after_item_selector()), Parse(R"([{"v": 1}, {"v": 2}])"));
  ASSERT_TRUE(d.has_max_concurrency());
  EXPECT_EQ(d.max_concurrency(), 2);
  EXPECT_FALSE(d.has_tolerated_failure_count());
  EXPECT_EQ(d.tolerated_failure_percentage(), 50);
  EXPECT_FALSE(d.has_error_details());

  auto r = http_->Post("/api/v1/state-machines:test-state",
                       absl::StrCat(R"({"definition":)", kMap, R"(,"input":)", kMapInput,
                                    R"(,"inspectionLevel":"TRACE","mock":{"result":[]}})"),
                       kJson);
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
  json::value rest = Body(r).at("inspectionData");
  EXPECT_EQ(rest.at("afterItemsPath"), Parse("[1, 2]"));
  EXPECT_EQ(rest.at("afterItemSelector"), Parse(R"([{"v": 1}, {"v": 2}])"));
  EXPECT_EQ(rest.at("maxConcurrency"), 2);
  EXPECT_EQ(rest.at("toleratedFailurePercentage").to_number<double>(), 50.0);

  std::string map_def = WriteFile("map.json", kMap);
  for (bool remote : {true, false}) {
    CliResult cli = Cli({"test-state", map_def, "TestState", "--input", kMapInput, "--mock-result", "[]",
                         "--inspection-level", "DEBUG"},
                        remote);
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    json::value printed = Parse(cli.out).at("inspectionData");
    EXPECT_EQ(printed.at("afterItemSelector"), rest.at("afterItemSelector")) << (remote ? "remote" : "local");
    EXPECT_EQ(printed.at("maxConcurrency"), 2);
    EXPECT_EQ(printed.at("toleratedFailurePercentage").to_number<double>(), 50.0);
  }
}

TEST_F(TestStateTest, ErrorsKeepTheirNamesOnEveryWayIn) {
  v1::TestStateRequest bad_definition;
  bad_definition.set_definition(R"({"Type": "Pass", "Bogus": true, "End": true})");
  EXPECT_EQ(client::ErrorName(client().TestState(bad_definition).status()), "InvalidDefinition");
  v1::TestStateRequest no_mock;
  no_mock.set_definition(kMachine);
  no_mock.set_state_name("Call");
  EXPECT_EQ(client::ErrorName(client().TestState(no_mock).status()), "ValidationException");
  v1::TestStateRequest bad_input;
  bad_input.set_definition(kMachine);
  bad_input.set_input("{not json");
  EXPECT_EQ(client::ErrorName(client().TestState(bad_input).status()), "InvalidExecutionInput");
  v1::TestStateRequest bad_level;
  bad_level.set_definition(kMachine);
  bad_level.set_inspection_level("LOUD");
  EXPECT_EQ(client::ErrorName(client().TestState(bad_level).status()), "ValidationException");
  v1::TestStateRequest too_big;
  too_big.set_definition(kMachine);
  too_big.set_input(absl::StrCat(R"({"x":")", std::string(300 * 1024, 'x'), R"("})"));
  EXPECT_EQ(client::ErrorName(client().TestState(too_big).status()), "InvalidExecutionInput");

  auto r = http_->Post("/api/v1/state-machines:test-state",
                       R"({"definition":{"Type":"Pass","End":true},"stateName":"S","input":{"a":1},)"
                       R"("mock":{"result":{}}})",
                       kJson);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(ErrorOf(r), "ValidationException");

  std::string def = WriteFile("machine.json", kMachine);
  for (bool remote : {true, false}) {
    CliResult missing = Cli({"test-state", def, "Nowhere"}, remote);
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_EQ(missing.out, "");
    EXPECT_THAT(missing.err,
                HasSubstr("stepflow test-state: ValidationException: the definition has no state named 'Nowhere'"));
    CliResult usage = Cli({"test-state", def}, remote);
    EXPECT_EQ(usage.exit_code, 2);
    EXPECT_THAT(usage.err, HasSubstr("expected 2 arguments"));
  }
}

// Many callers at once, each with its own input: every answer is its own.
TEST_F(TestStateTest, ConcurrentCallsGetTheirOwnAnswers) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 20;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        v1::TestStateRequest request;
        request.set_definition(kMachine);
        request.set_state_name("Call");
        request.set_input(absl::StrCat(R"({"in":{"n":)", t * 1000 + i, "}}"));
        request.mutable_mock()->set_result(absl::StrCat(R"({"Payload":)", t * 1000 + i, "}"));
        absl::StatusOr<v1::TestStateResponse> response = client().TestState(request);
        if (!response.ok() || json::parse(response->output()).at("out").at("body") != json::value(t * 1000 + i)) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(wrong.load(), 0);
}

constexpr char kOne[] = R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"End":true}}})";
constexpr char kTwo[] = R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":2,"End":true}}})";

TEST_F(TestStateTest, VersionAndAliasVerbs) {
  auto cli = [this](std::vector<std::string> args) {
    args.insert(args.end(), {"--server", server().address(), "--output", "json"});
    return RunCli(args);
  };
  ASSERT_EQ(cli({"sm", "create", "svc", WriteFile("one.json", kOne)}).exit_code, 0);
  CliResult v1 = cli({"sm", "publish", "svc", "--description", "first"});
  ASSERT_EQ(v1.exit_code, 0) << v1.err;
  const std::string v1_arn(Parse(v1.out).at("stateMachineVersionArn").as_string());
  EXPECT_EQ(Parse(v1.out).at("version"), 1);
  EXPECT_EQ(Parse(v1.out).at("description"), "first");
  ASSERT_EQ(cli({"sm", "update", "svc", WriteFile("two.json", kTwo)}).exit_code, 0);
  CliResult stale = cli({"sm", "publish", "svc", "--revision", "1"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_THAT(stale.err, HasSubstr("stepflow sm publish: ConflictException"));
  CliResult v2 = cli({"sm", "publish", "svc", "--revision", "2"});
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  const std::string v2_arn(Parse(v2.out).at("stateMachineVersionArn").as_string());

  CliResult versions = cli({"sm", "versions", "svc"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  ASSERT_EQ(Parse(versions.out).as_array().size(), 2u);
  EXPECT_EQ(Parse(versions.out).at(0).at("stateMachineVersionArn"), json::value(v2_arn));  // newest first
  CliResult described = cli({"sm", "describe-version", v1_arn});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  EXPECT_EQ(Parse(described.out).at("definition"), Parse(kOne));

  CliResult alias = cli({"alias", "create", "live", "--routing", v1_arn + "=80," + v2_arn + "=20",
                         "--description", "canary"});
  ASSERT_EQ(alias.exit_code, 0) << alias.err;
  const std::string alias_arn(Parse(alias.out).at("stateMachineAliasArn").as_string());
  EXPECT_EQ(Parse(alias.out).at("routingConfiguration").as_array().size(), 2u);
  CliResult bad_weights = cli({"alias", "create", "bad", "--routing", v1_arn + "=50," + v2_arn + "=20"});
  EXPECT_EQ(bad_weights.exit_code, 1);
  EXPECT_THAT(bad_weights.err, HasSubstr("stepflow alias create: ValidationException"));
  CliResult no_weight = cli({"alias", "create", "bad", "--routing", v1_arn + "," + v2_arn});
  EXPECT_EQ(no_weight.exit_code, 2);
  EXPECT_THAT(no_weight.err, HasSubstr("needs a weight"));

  CliResult in_use = cli({"sm", "delete-version", v1_arn});
  EXPECT_EQ(in_use.exit_code, 1);
  EXPECT_THAT(in_use.err, HasSubstr("ConflictException"));

  CliResult updated = cli({"alias", "update", alias_arn, "--routing", v2_arn});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_EQ(Parse(updated.out).at("description"), "canary");  // unchanged
  EXPECT_EQ(Parse(updated.out).at("routingConfiguration"),
            Parse(absl::StrCat(R"([{"stateMachineVersionArn":")", v2_arn, R"(","weight":100}])")));
  CliResult listed = cli({"alias", "list", "svc"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  ASSERT_EQ(Parse(listed.out).as_array().size(), 1u);
  EXPECT_EQ(Parse(listed.out).at(0).at("name"), "live");
  EXPECT_EQ(Parse(cli({"alias", "describe", alias_arn}).out).at("stateMachineAliasArn"), json::value(alias_arn));

  // A start on the alias runs version 2 now.
  CliResult run = cli({"exec", "start", alias_arn, "--sync"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Parse(run.out).at("output"), 2) << run.out;

  EXPECT_EQ(cli({"sm", "delete-version", v1_arn}).exit_code, 0);  // no alias routes to it any more
  EXPECT_EQ(cli({"alias", "delete", alias_arn}).exit_code, 0);
  CliResult gone = cli({"alias", "describe", alias_arn});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, HasSubstr("ResourceNotFound"));
  CliResult table = RunCli({"sm", "versions", "svc", "--server", server().address()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("VERSION"));
  EXPECT_THAT(table.out, HasSubstr(v2_arn));
}

}  // namespace
}  // namespace stepflow::itest
