// Durable engine: state machines by version (create, update, describe, list, delete) and their errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "engine/definitions.h"
#include "engine/errors.h"
#include "storage/memory_store.h"
#include "tests/unit/engine/engine_test_util.h"

namespace stepflow::engine::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class StateMachinesTest : public EngineTest {};

TEST_F(StateMachinesTest, CreateDescribeAndVersions) {
  absl::StatusOr<StateMachineInfo> created = engine_->CreateStateMachine("Orders", kPassChain, false);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->arn, "arn:aws:states:us-east-1:123456789012:stateMachine:Orders");
  EXPECT_EQ(created->version, 1);
  EXPECT_EQ(created->created, kT0);
  EXPECT_EQ(created->definition, kPassChain);

  clock_.AdvanceBy(1000);
  absl::StatusOr<StateMachineInfo> updated = engine_->UpdateStateMachine(created->arn, kWait5);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->created, kT0);
  EXPECT_EQ(updated->updated, kT0 + 1000);

  // The same definition again is not a new version.
  EXPECT_EQ(engine_->UpdateStateMachine("Orders", kWait5)->version, 2);
  absl::StatusOr<StateMachineInfo> described = engine_->DescribeStateMachine("Orders");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->version, 2);
  EXPECT_EQ(described->definition, kWait5);

  // Versions survive a restart.
  Reopen();
  EXPECT_EQ(engine_->DescribeStateMachine(created->arn)->definition, kWait5);
}

TEST_F(StateMachinesTest, CreateIsIdempotentForTheSameDefinition) {
  ASSERT_TRUE(engine_->CreateStateMachine("A", kPassChain, false).ok());
  absl::StatusOr<StateMachineInfo> again = engine_->CreateStateMachine("A", kPassChain, false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->version, 1);
  absl::StatusOr<StateMachineInfo> other = engine_->CreateStateMachine("A", kWait5, false);
  EXPECT_TRUE(absl::IsAlreadyExists(other.status())) << other.status();
  EXPECT_THAT(std::string(other.status().message()), StartsWith("StateMachineAlreadyExists: "));
  EXPECT_TRUE(absl::IsAlreadyExists(engine_->CreateStateMachine("A", kPassChain, true).status()));
}

TEST_F(StateMachinesTest, InvalidDefinitionsNameEveryProblem) {
  absl::StatusOr<StateMachineInfo> r = engine_->CreateStateMachine(
      "Bad", R"({"StartAt":"Nope","States":{"A":{"Type":"Pass","Next":"Missing"}}})", false);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  const std::string message(r.status().message());
  EXPECT_THAT(message, StartsWith("InvalidDefinition: "));
  EXPECT_THAT(message, HasSubstr("/StartAt"));
  EXPECT_THAT(message, HasSubstr("/States/A/Next"));
  EXPECT_THAT(std::string(engine_->CreateStateMachine("Bad", "{not json", false).status().message()),
              StartsWith("InvalidDefinition: "));
  EXPECT_TRUE(absl::IsNotFound(engine_->DescribeStateMachine("Bad").status()));
}

TEST_F(StateMachinesTest, DefinitionSizeLimit) {
  engine_.reset();
  EngineOptions o = Options();
  o.max_definition_bytes = 64;
  auto small = Engine::Open(o);
  ASSERT_TRUE(small.ok());
  absl::StatusOr<StateMachineInfo> r = (*small)->CreateStateMachine("Big", kPassChain, false);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_THAT(std::string(r.status().message()), StartsWith("InvalidDefinition: the definition is "));
}

TEST_F(StateMachinesTest, NamesFollowAwsRules) {
  for (const std::string& bad :
       std::vector<std::string>{"", "has space", "a/b", "a:b", "x{", "q?", "tab\t", std::string(81, 'n'),
                                std::string("nul\0", 4), "dollar$", "back\\slash"}) {
    absl::StatusOr<StateMachineInfo> r = engine_->CreateStateMachine(bad, kPassChain, false);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << "'" << bad << "': " << r.status();
    EXPECT_THAT(std::string(r.status().message()), StartsWith("InvalidName: ")) << bad;
  }
  EXPECT_TRUE(engine_->CreateStateMachine(std::string(80, 'n'), kPassChain, false).ok());
  EXPECT_TRUE(engine_->CreateStateMachine("Ünïcode-name_1.2", kPassChain, false).ok());
}

TEST_F(StateMachinesTest, UnknownStateMachines) {
  for (const std::string ref : {"Nope", "arn:aws:states:us-east-1:123456789012:stateMachine:Nope"}) {
    absl::StatusOr<StateMachineInfo> r = engine_->DescribeStateMachine(ref);
    EXPECT_TRUE(absl::IsNotFound(r.status()));
    EXPECT_THAT(std::string(r.status().message()), StartsWith("StateMachineDoesNotExist: "));
    EXPECT_TRUE(absl::IsNotFound(engine_->UpdateStateMachine(ref, kPassChain).status()));
    EXPECT_TRUE(absl::IsNotFound(engine_->DeleteStateMachine(ref)));
    EXPECT_TRUE(absl::IsNotFound(engine_->StartExecution(ref, "x", "{}").status()));
  }
  absl::StatusOr<StateMachineInfo> bad_arn = engine_->DescribeStateMachine("arn:aws:states:us-east-1:1:nope");
  EXPECT_TRUE(absl::IsInvalidArgument(bad_arn.status()));
  EXPECT_THAT(std::string(bad_arn.status().message()), StartsWith("InvalidArn: "));
}

TEST_F(StateMachinesTest, ListPagesInNameOrderAndSkipsDeleted) {
  for (const char* name : {"e", "b", "d", "a", "c"}) {
    ASSERT_TRUE(engine_->CreateStateMachine(name, kPassChain, false).ok());
  }
  ASSERT_TRUE(engine_->UpdateStateMachine("b", kWait5).ok());  // versions must not show up as entries
  ASSERT_TRUE(engine_->DeleteStateMachine("c").ok());
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<Page<StateMachineInfo>> page = engine_->ListStateMachines(2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const StateMachineInfo& sm : page->items) {
      names.push_back(sm.name);
      EXPECT_TRUE(sm.definition.empty());
    }
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "d", "e"}));
  EXPECT_EQ(pages, 2);
  EXPECT_THAT(std::string(engine_->ListStateMachines(2, "garbage!").status().message()), StartsWith("InvalidToken"));
}

TEST_F(StateMachinesTest, DeleteKeepsTheVersionsExecutionsRun) {
  ASSERT_TRUE(engine_->CreateStateMachine("W", kWait5, false).ok());
  absl::StatusOr<ExecutionInfoRecord> e = engine_->StartExecution("W", "run1", "{}");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(engine_->DeleteStateMachine("W").ok());
  EXPECT_TRUE(absl::IsNotFound(engine_->DescribeStateMachine("W").status()));
  EXPECT_TRUE(absl::IsNotFound(engine_->StartExecution("W", "run2", "{}").status()));
  // Re-created: a new version number, and the old execution still runs version 1.
  absl::StatusOr<StateMachineInfo> again = engine_->CreateStateMachine("W", kPassChain, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, 2);
  absl::StatusOr<StateMachineInfo> runs = engine_->DescribeStateMachineForExecution(e->arn);
  ASSERT_TRUE(runs.ok()) << runs.status();
  EXPECT_EQ(runs->version, 1);
  EXPECT_EQ(runs->definition, kWait5);
  Reopen();  // recovery finds version 1 of the deleted machine
  clock_.AdvanceBy(5000);
  ExecutionInfoRecord done = Finish(e->arn);
  EXPECT_EQ(done.status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(done.output, R"("waited")");
}

// Validate and Create share the validator's parse: Create used to refuse 33 levels of nesting (Boost's
// default depth) that Validate accepted, and both kept the last of two duplicate keys.
TEST_F(StateMachinesTest, CreateAndValidateAgreeOnNestingAndDuplicateKeys) {
  const std::string deep = R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":)" + std::string(40, '[') +
                           std::string(40, ']') + R"(,"End":true}}})";
  EXPECT_TRUE(ValidateStateMachineDefinition(deep, false).empty());
  EXPECT_TRUE(engine_->CreateStateMachine("Deep", deep, false).ok());
  const std::string duplicate = R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"End":false}}})";
  std::vector<sm::Diagnostic> problems = ValidateStateMachineDefinition(duplicate, false);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].location, "/States/P/End");
  absl::StatusOr<StateMachineInfo> r = engine_->CreateStateMachine("Dup", duplicate, false);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("/States/P/End: INVALID_JSON_DESCRIPTION: Duplicate key"));
}

TEST_F(StateMachinesTest, InputOutsideTheDoubleRangeIsRefusedAtTheDoor) {
  ASSERT_TRUE(engine_->CreateStateMachine("Pass", kPassChain, false).ok());
  absl::StatusOr<ExecutionInfoRecord> r = engine_->StartExecution("Pass", "big", R"({"x":1e400})");
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("InvalidExecutionInput: the input is not valid JSON: number 1e400 at line 1, column 6"));
}

TEST(ValidateStateMachineDefinitionTest, ReportsWithoutStoring) {
  EXPECT_TRUE(ValidateStateMachineDefinition(kPassChain, false).empty());
  EXPECT_FALSE(ValidateStateMachineDefinition(R"({"StartAt":"X","States":{}})", false).empty());
}

// Versions and aliases are stored with the state machine: they survive a restart, do not show up as state
// machines in List, and go when the state machine is deleted (a later create starts without them, and does not
// reuse their numbers).
TEST_F(StateMachinesTest, VersionsAndAliasesSurviveRestartsAndGoWithTheirStateMachine) {
  ASSERT_TRUE(engine_->CreateStateMachine("Orders", kPassChain, false).ok());
  absl::StatusOr<StateMachineVersionInfo> v1 = engine_->PublishStateMachineVersion("Orders", "first", 0);
  ASSERT_TRUE(v1.ok()) << v1.status();
  absl::StatusOr<StateMachineAliasInfo> alias =
      engine_->CreateStateMachineAlias("prod", "", {AliasRoute{v1->arn, 100}});
  ASSERT_TRUE(alias.ok()) << alias.status();
  Reopen();
  absl::StatusOr<Page<StateMachineInfo>> listed = engine_->ListStateMachines(0, "");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->items.size(), 1u);
  EXPECT_EQ(listed->items[0].name, "Orders");
  EXPECT_EQ(engine_->DescribeStateMachineVersion(v1->arn)->description, "first");
  EXPECT_EQ(engine_->DescribeStateMachineAlias(alias->arn)->routes[0].version_arn, v1->arn);
  absl::StatusOr<ExecutionInfoRecord> started = engine_->StartExecution(alias->arn, "via-alias", "{}");
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->version_arn, v1->arn);
  EXPECT_EQ(started->alias_arn, alias->arn);

  ASSERT_TRUE(engine_->DeleteStateMachine("Orders").ok());
  ASSERT_TRUE(engine_->CreateStateMachine("Orders", kPassChain, false).ok());
  EXPECT_TRUE(absl::IsNotFound(engine_->DescribeStateMachineAlias(alias->arn).status()));
  EXPECT_TRUE(absl::IsNotFound(engine_->DescribeStateMachineVersion(v1->arn).status()));
  absl::StatusOr<StateMachineVersionInfo> next = engine_->PublishStateMachineVersion("Orders", "", 0);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->version, 2);  // numbers are never reused
  // The execution started through the alias still describes its version and alias.
  EXPECT_EQ(engine_->DescribeExecution(started->arn)->alias_arn, alias->arn);
}

// ListExecutions on a version or alias ARN reads the by_qualified_arn index the start wrote. A store from before
// the index (simulated by deleting its entries with the engine closed) opens and lists those executions under
// their state machine only, as storage/FORMAT.md says.
TEST_F(StateMachinesTest, ExecutionsListedByVersionAndAliasUnlessStartedBeforeTheIndex) {
  ASSERT_TRUE(engine_->CreateStateMachine("Orders", kPassChain, false).ok());
  absl::StatusOr<StateMachineVersionInfo> v1 = engine_->PublishStateMachineVersion("Orders", "", 0);
  ASSERT_TRUE(v1.ok()) << v1.status();
  absl::StatusOr<StateMachineAliasInfo> alias = engine_->CreateStateMachineAlias("prod", "", {AliasRoute{v1->arn, 100}});
  ASSERT_TRUE(alias.ok()) << alias.status();
  ASSERT_TRUE(engine_->StartExecution(v1->arn, "on-version", "{}").ok());
  ASSERT_TRUE(engine_->StartExecution(alias->arn, "via-alias", "{}").ok());
  ASSERT_TRUE(engine_->StartExecution("Orders", "on-latest", "{}").ok());
  auto names = [&](const std::string& filter) {
    ExecutionFilter f;
    f.state_machine = filter;
    std::vector<std::string> out;
    absl::StatusOr<Page<ExecutionInfoRecord>> page = engine_->ListExecutions(f, 0, "");
    EXPECT_TRUE(page.ok()) << page.status();
    for (const ExecutionInfoRecord& r : page.ok() ? page->items : std::vector<ExecutionInfoRecord>{}) {
      out.push_back(r.name);
    }
    return out;
  };
  EXPECT_EQ(names(v1->arn), (std::vector<std::string>{"via-alias", "on-version"}));  // newest first
  EXPECT_EQ(names(alias->arn), (std::vector<std::string>{"via-alias"}));
  EXPECT_EQ(names("Orders").size(), 3u);
  ExecutionFilter with_status;
  with_status.state_machine = v1->arn;
  with_status.status = sm::ExecutionStatus::kSucceeded;
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->ListExecutions(with_status, 0, "").status()));

  WithStoreClosed([](storage::Store& store) {
    storage::WriteBatch batch;
    ASSERT_TRUE(store
                    .Scan(storage::Column::kIndexes, "by_qualified_arn", "", false,
                          [&](std::string_view key, std::string_view) {
                            batch.Delete(storage::Column::kIndexes, std::string(key));
                            return true;
                          })
                    .ok());
    ASSERT_TRUE(store.Commit(batch).ok());
  });
  EXPECT_TRUE(names(v1->arn).empty());
  EXPECT_TRUE(names(alias->arn).empty());
  EXPECT_EQ(names("Orders").size(), 3u);
  ASSERT_TRUE(engine_->StartExecution(alias->arn, "after-upgrade", "{}").ok());
  EXPECT_EQ(names(alias->arn), (std::vector<std::string>{"after-upgrade"}));
}

// Create/Update with publish: the revision and its version in one commit; idempotent like Publish.
TEST_F(StateMachinesTest, CreateAndUpdateCanPublishTheirRevision) {
  absl::StatusOr<StateMachineInfo> created = engine_->CreateStateMachineAndPublish("Orders", kPassChain, false, "v1");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->published_version_arn, created->arn + ":1");
  absl::StatusOr<StateMachineInfo> updated = engine_->UpdateStateMachineAndPublish("Orders", kWait5, "v2");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->published_version_arn, created->arn + ":2");
  Reopen();
  absl::StatusOr<StateMachineVersionInfo> v2 = engine_->DescribeStateMachineVersion(updated->published_version_arn);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->revision, 2);
  EXPECT_EQ(v2->description, "v2");
  EXPECT_EQ(engine_->UpdateStateMachineAndPublish("Orders", kWait5, "again")->published_version_arn,
            updated->published_version_arn);
  EXPECT_TRUE(engine_->UpdateStateMachine("Orders", kPassChain)->published_version_arn.empty());
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->UpdateStateMachineAndPublish("Orders", kTaskForever, std::string(300, 'x')).status()));
  EXPECT_EQ(engine_->DescribeStateMachine("Orders")->version, 3);  // the refused call wrote nothing
}

// Two nodes of a cluster share the store: one changes a state machine, the other starts executions. A node
// that caches heads starts the revision it saw first; one that stopped caching them (every cluster node)
// starts the latest.
TEST(DefinitionHeadsTest, ANodeThatStoppedCachingHeadsStartsTheLatestRevision) {
  std::unique_ptr<storage::Store> store = storage::NewMemoryStore();
  common::SystemClock clock;
  DefinitionStore writer(store.get(), &clock, 1 << 20);
  DefinitionStore caching(store.get(), &clock, 1 << 20);
  DefinitionStore reading(store.get(), &clock, 1 << 20);
  reading.StopCachingHeads();
  const std::string one = R"({"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}})";
  const std::string two = R"({"StartAt":"A","States":{"A":{"Type":"Pass","Result":2,"End":true}}})";
  ASSERT_TRUE(writer.Create("m", one, false).ok());
  ASSERT_EQ(caching.Latest("m")->first.version, 1);
  ASSERT_EQ(reading.Latest("m")->first.version, 1);
  ASSERT_TRUE(writer.Update("m", two).ok());
  EXPECT_EQ(caching.Latest("m")->first.version, 1);  // the staleness StopCachingHeads removes
  EXPECT_EQ(reading.Latest("m")->first.version, 2);
  EXPECT_EQ(reading.Describe("m")->definition, two);
  absl::StatusOr<StartTarget> target = reading.ResolveStart("m", 0.5);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->info.version, 2);
  ASSERT_TRUE(writer.Delete("m").ok());
  EXPECT_TRUE(absl::IsNotFound(reading.Latest("m").status()));
}

}  // namespace
}  // namespace stepflow::engine::testing
