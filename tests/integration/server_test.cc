// The real server: StateMachines RPCs with their errors, the health service, settings and lifecycle.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/integration/fixture.h"

namespace stepflow::itest {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using StateMachinesTest = ServerFixture;

TEST_F(StateMachinesTest, CreateDescribeUpdateDelete) {
  v1::StateMachine created = Create("pass-chain", kPassChain, v1::EXPRESS);
  EXPECT_EQ(created.name(), "pass-chain");
  EXPECT_THAT(created.arn(), HasSubstr("pass-chain"));
  EXPECT_EQ(created.type(), v1::EXPRESS);
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(created.definition(), kPassChain);
  EXPECT_GT(created.creation_date().seconds(), 0);

  absl::StatusOr<v1::StateMachine> by_name = client().DescribeStateMachine("pass-chain");
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ(by_name->arn(), created.arn());
  absl::StatusOr<v1::StateMachine> by_arn = client().DescribeStateMachine(created.arn());
  ASSERT_TRUE(by_arn.ok()) << by_arn.status();
  EXPECT_EQ(by_arn->name(), "pass-chain");

  absl::StatusOr<v1::StateMachine> updated = client().UpdateStateMachine("pass-chain", kFails);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version(), 2);
  EXPECT_EQ(updated->definition(), kFails);

  ASSERT_TRUE(client().DeleteStateMachine("pass-chain").ok());
  absl::StatusOr<v1::StateMachine> gone = client().DescribeStateMachine("pass-chain");
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client::ErrorName(gone.status()), "StateMachineDoesNotExist");
}

TEST_F(StateMachinesTest, Errors) {
  absl::StatusOr<v1::StateMachine> unknown = client().DescribeStateMachine("nope");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client::ErrorName(unknown.status()), "StateMachineDoesNotExist");
  EXPECT_EQ(client::ErrorName(client().UpdateStateMachine("nope", kPassChain).status()),
            "StateMachineDoesNotExist");
  EXPECT_EQ(client::ErrorName(client().DeleteStateMachine("nope")), "StateMachineDoesNotExist");

  // Every problem, with its location.
  absl::StatusOr<v1::StateMachine> invalid = client().CreateStateMachine("bad", kTwoProblems);
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client::ErrorName(invalid.status()), "InvalidDefinition");
  EXPECT_THAT(std::string(invalid.status().message()), HasSubstr("/StartAt"));
  EXPECT_THAT(std::string(invalid.status().message()), HasSubstr("/States/A/Next"));
  absl::StatusOr<v1::StateMachine> not_json = client().CreateStateMachine("bad", "{not json");
  EXPECT_EQ(client::ErrorName(not_json.status()), "InvalidDefinition");

  // Create is idempotent for the same definition (as AWS's); another definition under the name conflicts.
  v1::StateMachine first = Create("dup", kPassChain);
  absl::StatusOr<v1::StateMachine> same = client().CreateStateMachine("dup", kPassChain);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->arn(), first.arn());
  EXPECT_EQ(same->version(), 1);
  absl::StatusOr<v1::StateMachine> dup = client().CreateStateMachine("dup", kFails);
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client::ErrorName(dup.status()), "StateMachineAlreadyExists");

  absl::StatusOr<v1::StateMachine> bad_name = client().CreateStateMachine("has space", kPassChain);
  EXPECT_EQ(bad_name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client::ErrorName(bad_name.status()), "InvalidName");

  absl::StatusOr<v1::StateMachine> bad_update = client().UpdateStateMachine("dup", kTwoProblems);
  EXPECT_EQ(client::ErrorName(bad_update.status()), "InvalidDefinition");
}

TEST_F(StateMachinesTest, Validate) {
  absl::StatusOr<v1::ValidateDefinitionResponse> ok = client().ValidateDefinition(kPassChain);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->valid());
  absl::StatusOr<v1::ValidateDefinitionResponse> bad = client().ValidateDefinition(kTwoProblems);
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_FALSE(bad->valid());
  std::vector<std::string> locations;
  for (const v1::Diagnostic& d : bad->diagnostics()) {
    locations.push_back(d.location());
    EXPECT_FALSE(d.code().empty());
  }
  EXPECT_THAT(locations, ::testing::IsSupersetOf({"/StartAt", "/States/A/Next"}));
  // Nothing was stored.
  absl::StatusOr<std::vector<v1::StateMachine>> all = client().ListAllStateMachines();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(StateMachinesTest, ListPages) {
  for (int i = 0; i < 5; ++i) {
    Create("m" + std::to_string(i), kPassChain);
  }
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<v1::ListStateMachinesResponse> page = client().ListStateMachines(2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->state_machines_size(), 2);
    for (const v1::StateMachine& sm : page->state_machines()) {
      names.push_back(sm.name());
      EXPECT_EQ(sm.definition(), "");
    }
    token = page->next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"}));

  absl::StatusOr<v1::ListStateMachinesResponse> too_big = client().ListStateMachines(5000, "");
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StateMachinesTest, StoredAcrossRestarts) {
  Create("kept", kPassChain);
  ASSERT_EQ(StopServer(), 0);
  StartServer();
  absl::StatusOr<v1::StateMachine> sm = client().DescribeStateMachine("kept");
  ASSERT_TRUE(sm.ok()) << sm.status();
  EXPECT_EQ(sm->definition(), kPassChain);
}

using ServerLifecycleTest = ServerFixture;

TEST_F(ServerLifecycleTest, HealthServiceServes) {
  auto channel = grpc::CreateChannel(server().address(), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(ServerLifecycleTest, SecondServerOnTheSameDataDirFails) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> second = ServerProcess::Start(data_dir());
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("exited (status 1)"));
}

TEST_F(ServerLifecycleTest, ShutdownIsPromptWithIdleClientsConnected) {
  Create("m", kPassChain);  // the client's connection is open and idle
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(server().Stop(SIGTERM), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  server_.reset();
}

TEST_F(ServerLifecycleTest, SigintIsGracefulToo) {
  EXPECT_EQ(StopServer(SIGINT), 0);
  EXPECT_THAT(last_log_, HasSubstr("shutting down"));
  StartServer();
}

TEST_F(ServerLifecycleTest, JsonLogsAndSettingsFromEnvAndFile) {
  ASSERT_EQ(StopServer(), 0);
  EXPECT_THAT(last_log_, HasSubstr("listening on"));
  EXPECT_THAT(last_log_, HasSubstr("opening store"));
  EXPECT_THAT(last_log_, HasSubstr("store open"));

  std::string config = tmp_.path() + "/config.json";
  std::ofstream(config) << R"({"log_format":"text","durability":"async","partitions":2})";
  StartServer({"--config", config}, {{"STEPFLOW_LOG_FORMAT", "json"}});  // env beats file
  Create("logged", kPassChain);
  ASSERT_EQ(StopServer(), 0);
  int lines = 0;
  bool async_warned = false;
  std::istringstream in(last_log_);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not a JSON line: " << line;
    ASSERT_TRUE(v.as_object().contains("msg")) << line;
    async_warned = async_warned || line.find("durability=async") != std::string::npos;
    ++lines;
  }
  EXPECT_GE(lines, 4);
  EXPECT_TRUE(async_warned);
  StartServer();
}

}  // namespace
}  // namespace stepflow::itest
