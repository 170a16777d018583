// Issue 12's API on the real binary, over gRPC (the C++ client), REST and the CLI: executions described by
// state machine and name; versions and aliases (publish, list, describe, delete, routing by weight, starts on a
// version or an alias recorded on the execution and in its ExecutionStarted event, racing threads).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "tests/integration/rest_fixture.h"

namespace stepflow::itest {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ApiCompletionTest : public RestTest {
 protected:
  // POSTs/PUTs `body` to `path` and returns the answer's JSON (failing the test unless it is 200).
  json::value Send(const std::string& method, const std::string& path, const std::string& body) {
    auto r = method == "PUT" ? http_->Put(path, body, kJson) : http_->Post(path, body, kJson);
    EXPECT_TRUE(r && r->status == 200) << method << " " << path << ": " << (r ? r->body : "no answer");
    return Body(r);
  }
  static std::string Str(const json::value& v, const char* field) {
    return std::string(v.at(field).as_string());
  }

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

constexpr char kOne[] = R"({"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}})";
constexpr char kTwo[] = R"({"StartAt":"A","States":{"A":{"Type":"Pass","Result":2,"End":true}}})";

TEST_F(ApiCompletionTest, VersionsPublishListDescribeDeleteAndStart) {
  CreateSm("svc", kOne);
  json::value v1 = Send("POST", "/api/v1/state-machines/svc/versions", R"({"description":"first"})");
  const std::string v1_arn = Str(v1, "arn");
  EXPECT_EQ(v1_arn, Str(CreateSm("svc", kOne), "arn") + ":1");
  EXPECT_EQ(v1.at("version"), json::value("1"));
  EXPECT_EQ(v1.at("revision"), json::value("1"));
  // Idempotent: the same revision again is the same version (its description unchanged).
  EXPECT_EQ(Str(Send("POST", "/api/v1/state-machines/svc/versions", R"({"description":"again"})"), "arn"), v1_arn);
  // An update with the same definition is no new revision (as AWS); another definition is.
  auto same = http_->Put("/api/v1/state-machines/svc", std::string(R"({"definition":)") + kOne + "}", kJson);
  ASSERT_TRUE(same && same->status == 200);
  EXPECT_EQ(Body(same).at("version"), json::value("1"));
  auto other = http_->Put("/api/v1/state-machines/svc", std::string(R"({"definition":)") + kTwo + "}", kJson);
  ASSERT_TRUE(other && other->status == 200);
  // A publish that names an old revision is a conflict.
  auto stale = http_->Post("/api/v1/state-machines/svc/versions", R"({"revision":"1"})", kJson);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 409);
  EXPECT_EQ(ErrorOf(stale), "ConflictException");
  const std::string v2_arn = Str(Send("POST", "/api/v1/state-machines/svc/versions", R"({"revision":"2"})"), "arn");
  EXPECT_EQ(v2_arn, Str(CreateSm("svc", kTwo), "arn") + ":2");

  json::value listed = Body(http_->Get("/api/v1/state-machines/svc/versions?pageSize=1"));
  ASSERT_EQ(listed.at("versions").as_array().size(), 1u);
  EXPECT_EQ(Str(listed.at("versions").at(0), "arn"), v2_arn);  // newest first
  json::value rest = Body(http_->Get("/api/v1/state-machines/svc/versions?pageSize=1&nextToken=" +
                                     Encode(Str(listed, "nextPageToken"))));
  EXPECT_EQ(Str(rest.at("versions").at(0), "arn"), v1_arn);
  json::value described = Body(http_->Get("/api/v1/versions/" + Encode(v1_arn)));
  EXPECT_EQ(described.at("definition"), json::parse(kOne));
  EXPECT_EQ(Str(described, "description"), "first");

  // Starting on version 1 runs version 1's definition although the state machine is at revision 2.
  auto sync = http_->Post("/api/v1/executions:start-sync",
                          R"({"stateMachine":")" + v1_arn + R"(","name":"on-v1"})", kJson);
  json::value e = Body(sync);
  EXPECT_EQ(e.at("output"), json::value(1));
  EXPECT_EQ(Str(e, "stateMachineVersionArn"), v1_arn);
  EXPECT_EQ(Str(e, "stateMachineAliasArn"), "");
  json::value history = Body(http_->Get("/api/v1/executions/" + Encode(Str(e, "arn")) + "/history"));
  EXPECT_EQ(Str(history.at("events").at(0).at("details"), "stateMachineVersionArn"), v1_arn);

  auto gone = http_->Get("/api/v1/versions/" + Encode(Str(CreateSm("svc", kTwo), "arn") + ":9"));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  EXPECT_EQ(ErrorOf(gone), "ResourceNotFound");
  auto deleted = http_->Delete("/api/v1/versions/" + Encode(v1_arn));
  ASSERT_TRUE(deleted && deleted->status == 200);
  auto again = http_->Delete("/api/v1/versions/" + Encode(v1_arn));  // idempotent, as AWS
  ASSERT_TRUE(again && again->status == 200);
  auto start_gone = http_->Post("/api/v1/executions", R"({"stateMachine":")" + v1_arn + R"("})", kJson);
  ASSERT_TRUE(start_gone);
  EXPECT_EQ(ErrorOf(start_gone), "StateMachineDoesNotExist");
}

TEST_F(ApiCompletionTest, AliasesRouteByWeightAndGuardTheirVersions) {
  CreateSm("api", kOne);
  const std::string v1 = Str(Send("POST", "/api/v1/state-machines/api/versions", "{}"), "arn");
  Send("PUT", "/api/v1/state-machines/api", std::string(R"({"definition":)") + kTwo + "}");
  const std::string v2 = Str(Send("POST", "/api/v1/state-machines/api/versions", "{}"), "arn");

  auto bad = http_->Post("/api/v1/aliases", R"({"name":"prod","routing":[{"versionArn":")" + v1 +
                                                R"(","weight":60}]})", kJson);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(ErrorOf(bad), "ValidationException");
  json::value alias = Send("POST", "/api/v1/aliases",
                           R"({"name":"prod","description":"canary","routing":[{"versionArn":")" + v1 +
                               R"(","weight":50},{"versionArn":")" + v2 + R"(","weight":50}]})");
  const std::string alias_arn = Str(alias, "arn");
  EXPECT_EQ(alias_arn, v1.substr(0, v1.rfind(':')) + ":prod");
  auto conflict = http_->Delete("/api/v1/versions/" + Encode(v1));
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->status, 409);
  EXPECT_EQ(ErrorOf(conflict), "ConflictException");

  // 60 starts at 50/50 reach both versions (the chance that they do not is 2^-59); each records its route.
  std::map<std::string, int> outputs_by_version;
  for (int i = 0; i < 60; ++i) {
    json::value e = Body(http_->Post("/api/v1/executions:start-sync",
                                     R"({"stateMachine":")" + alias_arn + R"(","name":"r)" + std::to_string(i) + R"("})",
                                     kJson));
    EXPECT_EQ(Str(e, "stateMachineAliasArn"), alias_arn);
    const std::string version = Str(e, "stateMachineVersionArn");
    EXPECT_EQ(e.at("output"), json::value(version == v1 ? 1 : 2));
    ++outputs_by_version[version];
  }
  EXPECT_EQ(outputs_by_version.size(), 2u);
  // Counts by alias and by version: exact from the engine's rows; with a name prefix, from the list's walk.
  auto counts = [&](const std::string& arn, const std::string& more) {
    json::value c = Body(http_->Get("/api/v1/executions:counts?stateMachine=" + Encode(arn) + more));
    EXPECT_TRUE(c.is_object() && c.as_object().contains("counts")) << json::serialize(c);
    return c;
  };
  auto succeeded = [](const json::value& c) { return c.at("counts").at("SUCCEEDED").to_number<int>(); };
  EXPECT_EQ(succeeded(counts(alias_arn, "")), 60);
  EXPECT_TRUE(counts(alias_arn, "").at("exact").as_bool());
  EXPECT_EQ(succeeded(counts(v1, "")), outputs_by_version[v1]);
  EXPECT_EQ(succeeded(counts(v1, "&status=SUCCEEDED")) + succeeded(counts(v2, "&status=SUCCEEDED")), 60);
  json::value prefixed = counts(alias_arn, "&namePrefix=r1");
  EXPECT_FALSE(prefixed.at("exact").as_bool());
  EXPECT_EQ(succeeded(prefixed), 11);  // r1, r10..r19
  EXPECT_EQ(prefixed.at("counts").at("RUNNING").to_number<int>(), 0);
  auto bad_arn = http_->Get("/api/v1/executions:counts?stateMachine=" + Encode(alias_arn.substr(0, alias_arn.rfind(':')) + ":0"));
  ASSERT_TRUE(bad_arn);
  EXPECT_EQ(bad_arn->status, 400);
  EXPECT_EQ(ErrorOf(bad_arn), "InvalidArn");
  json::value described = Body(http_->Get("/api/v1/state-machines/api/executions/r0"));
  EXPECT_EQ(Str(described, "stateMachineAliasArn"), alias_arn);

  // All on version 2 now: every start goes there, and version 1 may go.
  Send("PUT", "/api/v1/aliases/" + Encode(alias_arn), R"({"routing":[{"versionArn":")" + v2 + R"(","weight":100}]})");
  json::value e = Body(http_->Post("/api/v1/executions:start-sync", R"({"stateMachine":")" + alias_arn + R"("})", kJson));
  EXPECT_EQ(Str(e, "stateMachineVersionArn"), v2);
  json::value listed = Body(http_->Get("/api/v1/state-machines/api/aliases"));
  ASSERT_EQ(listed.at("aliases").as_array().size(), 1u);
  EXPECT_EQ(Str(listed.at("aliases").at(0), "description"), "canary");
  EXPECT_EQ(listed.at("aliases").at(0).at("routing").as_array().size(), 1u);
  auto freed = http_->Delete("/api/v1/versions/" + Encode(v1));
  ASSERT_TRUE(freed && freed->status == 200) << (freed ? freed->body : "");
  auto removed = http_->Delete("/api/v1/aliases/" + Encode(alias_arn));
  ASSERT_TRUE(removed && removed->status == 200);
  auto missing = http_->Get("/api/v1/aliases/" + Encode(alias_arn));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(ErrorOf(missing), "ResourceNotFound");
}

// Alias updates race starts through the alias, and a version's delete races the alias that would guard it:
// every start runs one of the alias's versions, and a version is never deleted while an alias routes to it.
TEST_F(ApiCompletionTest, AliasUpdatesRaceStartsAndDeletesRacePublishes) {
  CreateSm("race", kOne);
  const std::string v1 = Str(Send("POST", "/api/v1/state-machines/race/versions", "{}"), "arn");
  Send("PUT", "/api/v1/state-machines/race", std::string(R"({"definition":)") + kTwo + "}");
  const std::string v2 = Str(Send("POST", "/api/v1/state-machines/race/versions", "{}"), "arn");
  const std::string alias_arn =
      Str(Send("POST", "/api/v1/aliases", R"({"name":"live","routing":[{"versionArn":")" + v1 + R"(","weight":100}]})"),
          "arn");
  std::atomic<bool> done{false};
  std::thread updater([&] {
    auto http = Http(server().http_address());
    for (int i = 0; i < 40; ++i) {
      const std::string& to = i % 2 == 0 ? v2 : v1;
      http->Put("/api/v1/aliases/" + Encode(alias_arn), R"({"routing":[{"versionArn":")" + to + R"(","weight":100}]})",
                kJson);
    }
    done = true;
  });
  int started = 0;
  while (!done || started < 5) {
    json::value e = Body(http_->Post("/api/v1/executions", R"({"stateMachine":")" + alias_arn + R"("})", kJson));
    const std::string version = Str(e, "stateMachineVersionArn");
    EXPECT_TRUE(version == v1 || version == v2) << version;
    ++started;
  }
  updater.join();
  // Deleting version 1 while the alias may route to it: either refused (ConflictException) or, once the alias
  // moved to version 2, done; never a version deleted under an alias.
  Send("PUT", "/api/v1/aliases/" + Encode(alias_arn), R"({"routing":[{"versionArn":")" + v1 + R"(","weight":100}]})");
  std::thread mover([&] {
    auto http = Http(server().http_address());
    http->Put("/api/v1/aliases/" + Encode(alias_arn), R"({"routing":[{"versionArn":")" + v2 + R"(","weight":100}]})",
              kJson);
  });
  auto deleted = http_->Delete("/api/v1/versions/" + Encode(v1));
  mover.join();
  ASSERT_TRUE(deleted);
  if (deleted->status == 200) {
    json::value alias = Body(http_->Get("/api/v1/aliases/" + Encode(alias_arn)));
    EXPECT_EQ(Str(alias.at("routing").at(0), "versionArn"), v2);
  } else {
    EXPECT_EQ(ErrorOf(deleted), "ConflictException");
  }
  json::value e = Body(http_->Post("/api/v1/executions:start-sync", R"({"stateMachine":")" + alias_arn + R"("})", kJson));
  EXPECT_EQ(Str(e, "stateMachineVersionArn"), v2);
}

}  // namespace
}  // namespace stepflow::itest
