// Versions and aliases through the C++ client (clients/cpp/client.h) on the real binary, executions listed by
// version or alias ARN (gRPC and REST, paged), and publish on CreateStateMachine / UpdateStateMachine, with
// concurrent Update+publish calls on one state machine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/rest_fixture.h"

namespace stepflow::itest {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kOne[] = R"({"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}})";
constexpr char kTwo[] = R"({"StartAt":"A","States":{"A":{"Type":"Pass","Result":2,"End":true}}})";

// A one-Pass definition whose result is `n`: a distinct revision per n.
std::string PassResult(int n) {
  return R"({"StartAt":"A","States":{"A":{"Type":"Pass","Result":)" + std::to_string(n) + R"(,"End":true}}})";
}

v1::RoutingConfiguration Route(const std::string& version_arn, int weight) {
  v1::RoutingConfiguration r;
  r.set_version_arn(version_arn);
  r.set_weight(weight);
  return r;
}

class VersionListingTest : public RestTest {
 protected:
  template <typename T>
  static T Ok(absl::StatusOr<T> result) {
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : T();
  }
  // The ARNs of every execution listed for `state_machine` (any filter form), page by page of `page_size`.
  std::vector<std::string> ListedArns(const std::string& state_machine, int page_size) {
    v1::ListExecutionsRequest request;
    request.set_state_machine(state_machine);
    request.set_page_size(page_size);
    std::vector<std::string> arns;
    do {
      v1::ListExecutionsResponse page = Ok(client().ListExecutions(request));
      EXPECT_LE(page.executions_size(), page_size);
      for (const v1::Execution& e : page.executions()) {
        arns.push_back(e.arn());
      }
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty() && !HasFailure());
    return arns;
  }
};

TEST_F(VersionListingTest, ClientVersionsAndAliasesWithTheirErrors) {
  Ok(client().CreateStateMachine("cpp", kOne));
  v1::StateMachineVersion first = Ok(client().PublishStateMachineVersion("cpp", "first"));
  EXPECT_EQ(first.version(), 1);
  EXPECT_EQ(first.revision(), 1);
  EXPECT_EQ(first.description(), "first");
  // Idempotent for the same revision; a stale revision is a conflict.
  EXPECT_EQ(Ok(client().PublishStateMachineVersion("cpp", "again")).arn(), first.arn());
  Ok(client().UpdateStateMachine("cpp", kTwo));
  EXPECT_EQ(client::ErrorName(client().PublishStateMachineVersion("cpp", "", 1).status()), "ConflictException");
  v1::StateMachineVersion second = Ok(client().PublishStateMachineVersion("cpp", "", 2));
  EXPECT_EQ(second.version(), 2);
  EXPECT_EQ(client::ErrorName(client().PublishStateMachineVersion("nope").status()), "StateMachineDoesNotExist");
  EXPECT_EQ(client::ErrorName(client().PublishStateMachineVersion("cpp", std::string(257, 'd')).status()),
            "ValidationException");

  v1::ListStateMachineVersionsResponse page = Ok(client().ListStateMachineVersions("cpp", 1, ""));
  ASSERT_EQ(page.versions_size(), 1);
  EXPECT_EQ(page.versions(0).arn(), second.arn());  // newest first
  EXPECT_FALSE(page.next_page_token().empty());
  std::vector<v1::StateMachineVersion> all = Ok(client().ListAllStateMachineVersions("cpp"));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].arn(), first.arn());
  EXPECT_EQ(Ok(client().DescribeStateMachineVersion(first.arn())).definition(), kOne);
  EXPECT_EQ(client::ErrorName(client().DescribeStateMachineVersion(first.arn() + "9").status()), "ResourceNotFound");
  EXPECT_EQ(client::ErrorName(client().DescribeStateMachineVersion("arn:nope").status()), "InvalidArn");

  v1::CreateStateMachineAliasRequest create;
  create.set_name("prod");
  create.set_description("canary");
  *create.add_routing() = Route(first.arn(), 90);
  EXPECT_EQ(client::ErrorName(client().CreateStateMachineAlias(create).status()), "ValidationException");
  *create.add_routing() = Route(second.arn(), 10);
  v1::StateMachineAlias alias = Ok(client().CreateStateMachineAlias(create));
  EXPECT_EQ(alias.arn(), "arn:aws:states:us-east-1:123456789012:stateMachine:cpp:prod");
  EXPECT_EQ(alias.routing_size(), 2);
  create.set_description("other");
  EXPECT_EQ(client::ErrorName(client().CreateStateMachineAlias(create).status()), "ConflictException");
  EXPECT_EQ(client::ErrorName(client().DeleteStateMachineVersion(first.arn())), "ConflictException");

  v1::UpdateStateMachineAliasRequest update;
  update.set_alias_arn(alias.arn());
  *update.add_routing() = Route(second.arn(), 100);
  v1::StateMachineAlias updated = Ok(client().UpdateStateMachineAlias(update));
  EXPECT_EQ(updated.description(), "canary");  // absent: unchanged
  ASSERT_EQ(updated.routing_size(), 1);
  EXPECT_EQ(Ok(client().DescribeStateMachineAlias(alias.arn())).routing(0).version_arn(), second.arn());
  EXPECT_EQ(Ok(client().ListStateMachineAliases("cpp", 0, "")).aliases_size(), 1);
  ASSERT_EQ(Ok(client().ListAllStateMachineAliases("cpp")).size(), 1u);
  EXPECT_TRUE(client().DeleteStateMachineVersion(first.arn()).ok());
  EXPECT_TRUE(client().DeleteStateMachineVersion(first.arn()).ok());  // idempotent, as AWS
  EXPECT_TRUE(client().DeleteStateMachineAlias(alias.arn()).ok());
  EXPECT_EQ(client::ErrorName(client().DeleteStateMachineAlias(alias.arn())), "ResourceNotFound");
  EXPECT_EQ(client::ErrorName(client().DescribeStateMachineAlias(alias.arn()).status()), "ResourceNotFound");
  update.set_alias_arn(alias.arn());
  EXPECT_EQ(client::ErrorName(client().UpdateStateMachineAlias(update).status()), "ResourceNotFound");
}

// AWS's ListExecutions on a version or alias ARN: the executions started on it, newest first, paged as plain
// lists are; the state machine's own list still holds them all.
TEST_F(VersionListingTest, ListsExecutionsByVersionAndAliasArnPageByPage) {
  Ok(client().CreateStateMachine("listed", kOne));
  const std::string v1_arn = Ok(client().PublishStateMachineVersion("listed")).arn();
  Ok(client().UpdateStateMachine("listed", kTwo));
  const std::string v2_arn = Ok(client().PublishStateMachineVersion("listed")).arn();
  v1::CreateStateMachineAliasRequest create;
  create.set_name("live");
  *create.add_routing() = Route(v2_arn, 100);
  const std::string alias_arn = Ok(client().CreateStateMachineAlias(create)).arn();

  std::vector<std::string> on_v1;
  std::vector<std::string> via_alias;
  std::vector<std::string> on_latest;
  for (int i = 0; i < 7; ++i) {
    on_v1.push_back(Ok(client().StartExecution(v1_arn, "{}", "v1-" + std::to_string(i))).arn());
    via_alias.push_back(Ok(client().StartExecution(alias_arn, "{}", "a-" + std::to_string(i))).arn());
    on_latest.push_back(Ok(client().StartExecution("listed", "{}", "l-" + std::to_string(i))).arn());
  }
  // Started on version 2 directly (not through the alias): listed under the version, not the alias.
  const std::string on_v2 = Ok(client().StartExecution(v2_arn, "{}", "v2-direct")).arn();

  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  std::vector<std::string> listed_v1 = ListedArns(v1_arn, 3);
  EXPECT_EQ(sorted(listed_v1), sorted(on_v1));
  EXPECT_EQ(std::set<std::string>(listed_v1.begin(), listed_v1.end()).size(), listed_v1.size());  // no repeats
  EXPECT_EQ(sorted(ListedArns(alias_arn, 2)), sorted(via_alias));
  std::vector<std::string> v2_expected = via_alias;  // the alias routed every start to version 2
  v2_expected.push_back(on_v2);
  EXPECT_EQ(sorted(ListedArns(v2_arn, 4)), sorted(v2_expected));
  EXPECT_EQ(ListedArns("listed", 100).size(), 22u);

  // Name prefix and time filters combine; a status filter does not.
  v1::ListExecutionsRequest request;
  request.set_state_machine(v1_arn);
  request.set_name_prefix("v1-3");
  v1::ListExecutionsResponse prefixed = Ok(client().ListExecutions(request));
  ASSERT_EQ(prefixed.executions_size(), 1);
  EXPECT_EQ(prefixed.executions(0).state_machine_version_arn(), v1_arn);
  request.set_name_prefix("");
  request.set_status(v1::SUCCEEDED);
  EXPECT_EQ(client::ErrorName(client().ListExecutions(request).status()), "ValidationException");
  // A page token of one filter is refused for another.
  request.clear_status();
  request.set_page_size(2);
  const std::string token = Ok(client().ListExecutions(request)).next_page_token();
  ASSERT_FALSE(token.empty());
  request.set_state_machine(v2_arn);
  request.set_page_token(token);
  EXPECT_EQ(client::ErrorName(client().ListExecutions(request).status()), "InvalidToken");
  // Unknown state machines and malformed qualifiers.
  request.clear_page_token();
  request.set_state_machine("arn:aws:states:us-east-1:123456789012:stateMachine:ghost:1");
  EXPECT_EQ(client::ErrorName(client().ListExecutions(request).status()), "StateMachineDoesNotExist");
  request.set_state_machine("arn:aws:states:us-east-1:123456789012:stateMachine:listed:bad name");
  EXPECT_EQ(client::ErrorName(client().ListExecutions(request).status()), "InvalidArn");
  // A version that no longer exists still lists what ran on it (the executions outlive it).
  ASSERT_TRUE(client().DeleteStateMachineVersion(v1_arn).ok());
  EXPECT_EQ(ListedArns(v1_arn, 50).size(), 7u);

  // REST passes the filter through (stateMachine query parameter), with paging.
  json::value rest = Body(http_->Get("/api/v1/executions?pageSize=5&stateMachine=" + Encode(alias_arn)));
  ASSERT_EQ(rest.at("executions").as_array().size(), 5u);
  for (const json::value& e : rest.at("executions").as_array()) {
    EXPECT_EQ(e.at("stateMachineAliasArn"), json::value(alias_arn));
  }
  json::value rest2 = Body(http_->Get("/api/v1/executions?pageSize=5&stateMachine=" + Encode(alias_arn) +
                                      "&nextToken=" + Encode(std::string(rest.at("nextPageToken").as_string()))));
  EXPECT_EQ(rest2.at("executions").as_array().size(), 2u);
  auto refused = http_->Get("/api/v1/executions?status=RUNNING&stateMachine=" + Encode(alias_arn));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(ErrorOf(refused), "ValidationException");
}

// The index entry is written with the start: after a restart the listing is the same.
TEST_F(VersionListingTest, ListingByVersionSurvivesARestart) {
  Ok(client().CreateStateMachine("kept", kOne));
  const std::string version = Ok(client().PublishStateMachineVersion("kept")).arn();
  const std::string arn = Ok(client().StartExecution(version, "{}", "before-restart")).arn();
  ASSERT_EQ(StopServer(), 0);
  StartServer();
  http_ = Http(server().http_address());
  std::vector<std::string> listed = ListedArns(version, 10);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], arn);
}

TEST_F(VersionListingTest, PublishOnCreateAndUpdate) {
  v1::CreateStateMachineRequest create;
  create.set_name("pub");
  create.set_definition(kOne);
  create.set_version_description("no publish");
  EXPECT_EQ(client::ErrorName(client().CreateStateMachine(create).status()), "ValidationException");
  create.set_publish(true);
  create.set_version_description(std::string(257, 'x'));
  EXPECT_EQ(client::ErrorName(client().CreateStateMachine(create).status()), "ValidationException");
  EXPECT_EQ(client::ErrorName(client().DescribeStateMachine("pub").status()), "StateMachineDoesNotExist");
  create.set_version_description("initial");
  v1::StateMachine created = Ok(client().CreateStateMachine(create));
  EXPECT_EQ(created.state_machine_version_arn(), created.arn() + ":1");
  v1::StateMachineVersion v = Ok(client().DescribeStateMachineVersion(created.state_machine_version_arn()));
  EXPECT_EQ(v.description(), "initial");
  EXPECT_EQ(v.revision(), 1);
  // Idempotent create with publish: the same version.
  EXPECT_EQ(Ok(client().CreateStateMachine(create)).state_machine_version_arn(), created.state_machine_version_arn());
  // Without publish, no version ARN.
  EXPECT_TRUE(Ok(client().UpdateStateMachine("pub", kTwo)).state_machine_version_arn().empty());

  v1::UpdateStateMachineRequest update;
  update.set_state_machine(created.arn());
  update.set_definition(PassResult(3));
  update.set_publish(true);
  update.set_version_description("third");
  v1::StateMachine updated = Ok(client().UpdateStateMachine(update));
  EXPECT_EQ(updated.version(), 3);
  EXPECT_EQ(updated.state_machine_version_arn(), created.arn() + ":2");
  EXPECT_EQ(Ok(client().DescribeStateMachineVersion(updated.state_machine_version_arn())).revision(), 3);
  // The same definition again with publish: no new revision, the same version.
  EXPECT_EQ(Ok(client().UpdateStateMachine(update)).state_machine_version_arn(), updated.state_machine_version_arn());
  update.set_state_machine("ghost");
  EXPECT_EQ(client::ErrorName(client().UpdateStateMachine(update).status()), "StateMachineDoesNotExist");

  // REST: publish and versionDescription in the body, stateMachineVersionArn in the answer.
  auto posted = http_->Post("/api/v1/state-machines",
                            std::string(R"({"name":"pub-rest","publish":true,"versionDescription":"r1","definition":)") +
                                kOne + "}",
                            kJson);
  ASSERT_TRUE(posted && posted->status == 200) << (posted ? posted->body : "");
  const std::string rest_version = std::string(Body(posted).at("stateMachineVersionArn").as_string());
  EXPECT_THAT(rest_version, HasSubstr(":pub-rest:1"));
  auto put = http_->Put("/api/v1/state-machines/pub-rest",
                        std::string(R"({"publish":true,"definition":)") + kTwo + "}", kJson);
  ASSERT_TRUE(put && put->status == 200) << (put ? put->body : "");
  EXPECT_THAT(std::string(Body(put).at("stateMachineVersionArn").as_string()), HasSubstr(":pub-rest:2"));
  auto bad = http_->Put("/api/v1/state-machines/pub-rest",
                        std::string(R"({"versionDescription":"x","definition":)") + kOne + "}", kJson);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(ErrorOf(bad), "ValidationException");
}

// Concurrent Update+publish calls on one state machine, each with its own definition: every call gets a version
// of its own revision (none publishes another's), the version numbers are distinct, and nothing is lost.
TEST_F(VersionListingTest, ConcurrentUpdatePublishCallsEachPublishTheirOwnRevision) {
  Ok(client().CreateStateMachine("raced", kOne));
  constexpr int kThreads = 6;
  constexpr int kPerThread = 8;
  std::mutex mu;
  std::vector<v1::StateMachine> results;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        v1::UpdateStateMachineRequest update;
        update.set_state_machine("raced");
        update.set_definition(PassResult(1000 + t * kPerThread + i));
        update.set_publish(true);
        update.set_version_description("t" + std::to_string(t));
        absl::StatusOr<v1::StateMachine> r = client().UpdateStateMachine(update);
        std::lock_guard<std::mutex> lock(mu);
        if (r.ok()) {
          results.push_back(*r);
        } else {
          failures.push_back(r.status().ToString());
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_THAT(failures, ::testing::IsEmpty());
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> versions;
  std::set<std::int64_t> revisions;
  for (const v1::StateMachine& r : results) {
    versions.insert(r.state_machine_version_arn());
    revisions.insert(r.version());
    v1::StateMachineVersion v = Ok(client().DescribeStateMachineVersion(r.state_machine_version_arn()));
    EXPECT_EQ(v.revision(), r.version()) << r.state_machine_version_arn();
    EXPECT_EQ(v.definition(), r.definition());
  }
  EXPECT_EQ(versions.size(), results.size());
  EXPECT_EQ(revisions.size(), results.size());
  EXPECT_EQ(Ok(client().ListAllStateMachineVersions("raced")).size(), results.size());
}

}  // namespace
}  // namespace stepflow::itest
