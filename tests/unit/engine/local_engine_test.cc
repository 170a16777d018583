// Unit tests for LocalEngine, the embedded engine behind `stepflow run`: mocked tasks, time skipping and
// the errors that mean the engine could not run the execution at all.

#include "engine/local_engine.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "engine/history_rows.h"
#include "statemachine/compile.h"
#include "statemachine/timestamp.h"

namespace stepflow::engine {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::shared_ptr<const sm::StateMachine> Machine(std::string_view definition) {
  auto m = sm::CompileStored(definition);  // some cases are deliberately not valid ASL
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : nullptr;
}

std::unique_ptr<LocalEngine> Engine(LocalEngineOptions options = {}) {
  auto engine = LocalEngine::Create(std::move(options));
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

MockTestCase Mocks(std::string_view config) {
  auto tc = MockTestCase::FromConfig(json::parse(config), "StateMachine", "T");
  EXPECT_TRUE(tc.ok()) << tc.status();
  return tc.ok() ? *tc : MockTestCase();
}

std::vector<json::object> History(const LocalEngine& engine, const std::string& id) {
  auto events = engine.driver().ReadHistory(id);
  EXPECT_TRUE(events.ok()) << events.status();
  return events.value_or(std::vector<json::object>{});
}

std::vector<std::string> Types(const std::vector<json::object>& events) {
  std::vector<std::string> out;
  for (const json::object& e : events) {
    out.emplace_back(e.at("type").as_string());
  }
  return out;
}

common::EpochMillis Millis(const json::object& event) {
  auto t = sm::ParseTimestamp(std::string_view(event.at("timestamp").as_string()));
  EXPECT_TRUE(t.has_value()) << event.at("timestamp");
  return t ? t->EpochMillis() : 0;
}

TEST(LocalEngineTest, TaskWithoutMocksIsFailedPreconditionNamingTheState) {
  auto engine = Engine();
  absl::StatusOr<std::string> id =
      engine->Run(Machine(R"({"StartAt":"Charge","States":{"Charge":{"Type":"Task",
          "Resource":"arn:aws:states:::lambda:invoke","End":true}}})"),
                  json::object());
  EXPECT_TRUE(absl::IsFailedPrecondition(id.status())) << id.status();
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("Task state 'Charge'"));
}

TEST(LocalEngineTest, AWaitOfAYearFinishesAtOnceOnTheVirtualClock) {
  constexpr common::EpochMillis kYear = 365LL * 24 * 3600 * 1000;
  auto engine = Engine();
  const auto wall_start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> id =
      engine->Run(Machine(R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":31536000,"Next":"P"},
          "P":{"Type":"Pass","Parameters":{"entered.$":"$$.State.EnteredTime"},"End":true}}})"),
                  json::object());
  const auto wall = std::chrono::steady_clock::now() - wall_start;
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_LT(wall, std::chrono::seconds(10));
  const sm::Execution* e = engine->driver().Find(*id);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status(), sm::ExecutionStatus::kSucceeded);
  std::vector<json::object> events = History(*engine, *id);
  ASSERT_THAT(Types(events), ElementsAre("ExecutionStarted", "WaitStateEntered", "WaitStateExited",
                                         "PassStateEntered", "PassStateExited", "ExecutionSucceeded"));
  EXPECT_EQ(Millis(events[2]) - Millis(events[1]), kYear);
  EXPECT_EQ(Millis(events[5]) - Millis(events[0]), kYear);
  // The context object shows the same virtual time.
  EXPECT_EQ(e->output().at("entered"), events[3].at("timestamp"));
}

TEST(LocalEngineTest, MockedTaskWithRetryUsesVirtualTime) {
  LocalEngineOptions options;
  options.mocks = Mocks(R"({"StateMachines":{"StateMachine":{"TestCases":{"T":{"Call":"R"}}}},
      "MockedResponses":{"R":{"0-1":{"Throw":{"Error":"Busy","Cause":"later"}},"2":{"Return":{"ok":true}}}}})");
  auto engine = Engine(std::move(options));
  absl::StatusOr<std::string> id =
      engine->Run(Machine(R"({"StartAt":"Call","States":{"Call":{"Type":"Task",
          "Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":60}],
          "End":true}}})"),
                  json::object());
  ASSERT_TRUE(id.ok()) << id.status();
  const sm::Execution* e = engine->driver().Find(*id);
  EXPECT_EQ(e->status(), sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(e->output(), json::parse(R"({"ok":true})"));
  std::vector<json::object> events = History(*engine, *id);
  EXPECT_THAT(Types(events),
              ElementsAre("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed",
                          "TaskScheduled", "TaskStarted", "TaskFailed", "TaskScheduled", "TaskStarted",
                          "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"));
  EXPECT_EQ(Millis(events[5]) - Millis(events[4]), 60'000);
  EXPECT_EQ(Millis(events[8]) - Millis(events[7]), 120'000);
}

TEST(LocalEngineTest, AFailedExecutionIsNotAnEngineError) {
  LocalEngineOptions options;
  options.mocks = Mocks(R"({"StateMachines":{"StateMachine":{"TestCases":{"T":{"Call":"R"}}}},
      "MockedResponses":{"R":{"0":{"Throw":{"Error":"Boom","Cause":"mocked"}}}}})");
  auto engine = Engine(std::move(options));
  absl::StatusOr<std::string> id = engine->Run(
      Machine(R"({"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"r","End":true}}})"), json::object());
  ASSERT_TRUE(id.ok()) << id.status();
  const sm::Execution* e = engine->driver().Find(*id);
  EXPECT_EQ(e->status(), sm::ExecutionStatus::kFailed);
  EXPECT_EQ(e->error(), "Boom");
  EXPECT_EQ(e->cause(), "mocked");
}

TEST(LocalEngineTest, AForgottenExecutionIsGoneAndItsNameAndMockedCallsStartAfresh) {
  LocalEngineOptions options;
  options.mocks = Mocks(R"({"StateMachines":{"StateMachine":{"TestCases":{"T":{"Call":"R"}}}},
      "MockedResponses":{"R":{"0":{"Return":{"first":true}},"1":{"Return":{"first":false}}}}})");
  auto engine = Engine(std::move(options));
  auto machine = Machine(R"({"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"r","End":true}}})");
  absl::StatusOr<std::string> kept = engine->Run(machine, json::object(), "kept");
  ASSERT_TRUE(kept.ok()) << kept.status();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::string> id = engine->Run(machine, json::object(), "again");
    ASSERT_TRUE(id.ok()) << id.status();
    absl::StatusOr<LocalRunResult> result = engine->Forget(*id);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->execution_arn, *id);
    EXPECT_EQ(result->status, sm::ExecutionStatus::kSucceeded);
    // The mocked call counts per execution: a forgotten one's count is gone with it.
    EXPECT_EQ(*result->output, json::parse(R"({"first":true})")) << i;
    EXPECT_TRUE(absl::IsNotFound(engine->Result(*id).status()));
    EXPECT_TRUE(absl::IsNotFound(engine->Forget(*id).status()));
    EXPECT_THAT(History(*engine, *id), IsEmpty());
  }
  // A history of several rows (each holds at most kMaxEventsPerHistoryRow events): every row goes.
  auto map = Machine(R"({"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":
      {"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}})");
  absl::StatusOr<std::string> long_id = engine->Run(map, json::value(json::array(200, json::value(1))), "long");
  ASSERT_TRUE(long_id.ok()) << long_id.status();
  ASSERT_GT(History(*engine, *long_id).size(), 2 * kMaxEventsPerHistoryRow);
  ASSERT_TRUE(engine->Forget(*long_id).ok());
  EXPECT_THAT(History(*engine, *long_id), IsEmpty());
  EXPECT_EQ(engine->driver().size(), 1u);
  absl::StatusOr<LocalRunResult> result = engine->Result(*kept, /*with_history=*/true);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->history.size(), 7u);
}

TEST(LocalEngineTest, MockRunsOutIsAnEngineErrorNamingTheState) {
  LocalEngineOptions options;
  options.mocks = Mocks(R"({"StateMachines":{"StateMachine":{"TestCases":{"T":{"Call":"R"}}}},
      "MockedResponses":{"R":{"0":{"Throw":{"Error":"Busy"}}}}})");
  auto engine = Engine(std::move(options));
  absl::StatusOr<std::string> id =
      engine->Run(Machine(R"({"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"r",
          "Retry":[{"ErrorEquals":["Busy"]}],"End":true}}})"),
                  json::object());
  EXPECT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("'Call'"));
}

TEST(LocalEngineTest, ExecutionArnsAndTheSeed) {
  LocalEngineOptions options;
  options.seed = 7;
  options.state_machine_name = "Orders";
  auto a = Engine(options);
  auto b = Engine(options);
  auto machine = Machine(R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})");
  absl::StatusOr<std::string> id_a = a->Run(machine, json::object());
  absl::StatusOr<std::string> id_b = b->Run(machine, json::object());
  ASSERT_TRUE(id_a.ok() && id_b.ok());
  EXPECT_EQ(*id_a, *id_b);  // the same seed names the execution the same way
  EXPECT_THAT(*id_a, StartsWith("arn:aws:states:us-east-1:123456789012:execution:Orders:"));
  absl::StatusOr<std::string> named = a->Run(machine, json::object(), "my-run");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(*named, "arn:aws:states:us-east-1:123456789012:execution:Orders:my-run");

  options.express = true;
  auto express = Engine(options);
  absl::StatusOr<std::string> id_x = express->Run(machine, json::object(), "x");
  ASSERT_TRUE(id_x.ok());
  EXPECT_THAT(*id_x, StartsWith("arn:aws:states:us-east-1:123456789012:express:Orders:x:"));
}

}  // namespace
}  // namespace stepflow::engine

namespace stepflow::engine {
namespace {

// `stepflow run` runs a loop that yields at every batch (sm::ExecutionLimits::max_transitions_per_decision)
// to its end, with the history an unbounded run gives.
TEST(LocalEngineBoundedTest, ALoopThatYieldsRunsToItsEnd) {
  constexpr char kCountingLoop[] = R"json({"StartAt":"Check","States":{
      "Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)"},"Next":"Check"},
      "Check":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericLessThan":300,"Next":"Inc"}],"Default":"Done"},
      "Done":{"Type":"Succeed"}}})json";
  std::vector<std::string> types[2];
  for (std::size_t budget : {0, 7}) {
    LocalEngineOptions options;
    options.limits.max_transitions_per_decision = budget;
    std::unique_ptr<LocalEngine> engine = Engine(options);
    ASSERT_NE(engine, nullptr);
    absl::StatusOr<std::string> id = engine->Run(Machine(kCountingLoop), json::parse(R"({"i":0})"), "loop");
    ASSERT_TRUE(id.ok()) << id.status();
    const sm::Execution* e = engine->driver().Find(*id);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->status(), sm::ExecutionStatus::kSucceeded);
    EXPECT_EQ(e->output(), json::parse(R"({"i":300})"));
    types[budget == 0 ? 0 : 1] = Types(History(*engine, *id));
  }
  EXPECT_EQ(types[0].size(), 1 + 2 * 602 + 1u);
  EXPECT_EQ(types[0], types[1]);
}

}  // namespace
}  // namespace stepflow::engine

namespace stepflow::engine {
namespace {

// Result: what `stepflow run` prints, without reaching into the driver.
TEST(LocalEngineResultTest, SucceededHasOutputAndHistoryOnlyWhenAsked) {
  std::unique_ptr<LocalEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  absl::StatusOr<std::string> id =
      engine->Run(Machine(R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"x":1},"End":true}}})"),
                  json::object(), "ok");
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<LocalRunResult> brief = engine->Result(*id);
  ASSERT_TRUE(brief.ok()) << brief.status();
  EXPECT_EQ(brief->execution_arn, *id);
  EXPECT_EQ(brief->status, sm::ExecutionStatus::kSucceeded);
  EXPECT_EQ(*brief->output, json::parse(R"({"x":1})"));
  EXPECT_TRUE(brief->error.empty());
  EXPECT_TRUE(brief->history.empty());
  absl::StatusOr<LocalRunResult> full = engine->Result(*id, /*with_history=*/true);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_THAT(Types(full->history), ElementsAre("ExecutionStarted", "PassStateEntered", "PassStateExited",
                                                "ExecutionSucceeded"));
}

TEST(LocalEngineResultTest, FailedHasErrorAndCauseAndNullOutput) {
  std::unique_ptr<LocalEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  absl::StatusOr<std::string> id = engine->Run(
      Machine(R"({"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Oops","Cause":"because"}}})"), json::object());
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<LocalRunResult> result = engine->Result(*id);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, sm::ExecutionStatus::kFailed);
  EXPECT_TRUE(result->output->is_null());
  EXPECT_EQ(result->error, "Oops");
  EXPECT_EQ(result->cause, "because");
}

TEST(LocalEngineResultTest, UnknownExecutionIsNotFound) {
  std::unique_ptr<LocalEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  absl::StatusOr<LocalRunResult> result = engine->Result("arn:aws:states:us-east-1:123456789012:execution:X:y");
  EXPECT_TRUE(absl::IsNotFound(result.status())) << result.status();
}

// Run's shared overload: every execution keeps the caller's document as its input ($$.Execution.Input, the
// ExecutionStarted event), and states that make an output of their own do so on their own copy, so that they
// change neither the caller's document nor another execution's.
TEST(LocalEngineSharedInputTest, ExecutionsShareTheInputAndChangeOnlyTheirOwnCopy) {
  auto machine = Machine(R"({"StartAt": "Add", "States": {
      "Add": {"Type": "Pass", "Result": 7, "ResultPath": "$.added", "Next": "Nest"},
      "Nest": {"Type": "Pass", "Parameters": {"now.$": "$", "input.$": "$$.Execution.Input"}, "End": true}}})");
  auto engine = Engine();
  ASSERT_NE(engine, nullptr);
  const auto input = std::make_shared<const json::value>(json::parse(R"({"a": [1, 2.5, "x"], "b": {"c": null}})"));
  const json::value original = *input;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto id = engine->Run(machine, input);
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  EXPECT_EQ(*input, original);
  for (const std::string& id : ids) {
    auto result = engine->Result(id, /*with_history=*/true);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->status, sm::ExecutionStatus::kSucceeded) << result->error << ": " << result->cause;
    EXPECT_EQ(*result->output, json::parse(R"({"now": {"a": [1, 2.5, "x"], "b": {"c": null}, "added": 7},
                                             "input": {"a": [1, 2.5, "x"], "b": {"c": null}}})"));
    ASSERT_FALSE(result->history.empty());
    const json::object& started = result->history.front();
    EXPECT_EQ(started.at("type"), "ExecutionStarted");
    EXPECT_EQ(started.at("executionStartedEventDetails"),
              json::parse(R"({"input": "{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null}}",
                              "inputDetails": {"truncated": false},
                              "roleArn": "arn:aws:iam::123456789012:role/stepflow-local"})"));
    EXPECT_EQ(result->history.at(1).at("stateEnteredEventDetails").at("input"),
              started.at("executionStartedEventDetails").at("input"));
  }
}

// States that pass their input on (Pass states that change nothing, Choice states without InputPath and
// OutputPath) read the caller's document in place: the output of a chain of them is that document, shared, not a
// copy. A Map's iterations and a Parallel's branches get copies of their own.
TEST(LocalEngineSharedInputTest, StatesThatPassTheirInputOnReturnTheCallersDocumentItself) {
  auto engine = Engine();
  ASSERT_NE(engine, nullptr);
  const auto input = std::make_shared<const json::value>(json::parse(R"({"items": [{"n": 1}, {"n": 2}], "k": "v"})"));
  const json::value original = *input;
  auto chain = Machine(R"({"StartAt": "P1", "States": {
      "P1": {"Type": "Pass", "Next": "C"},
      "C": {"Type": "Choice", "Choices": [{"Variable": "$.k", "StringEquals": "v", "Next": "P2"}], "Default": "P3"},
      "P2": {"Type": "Pass", "Next": "P3"}, "P3": {"Type": "Pass", "End": true}}})");
  for (int i = 0; i < 2; ++i) {
    auto id = engine->Run(chain, input);
    ASSERT_TRUE(id.ok()) << id.status();
    auto kept = engine->Result(*id);
    ASSERT_TRUE(kept.ok()) << kept.status();
    EXPECT_EQ(kept->output.get(), input.get()) << i;
    auto forgotten = engine->Forget(*id);
    ASSERT_TRUE(forgotten.ok()) << forgotten.status();
    ASSERT_EQ(forgotten->status, sm::ExecutionStatus::kSucceeded) << forgotten->error << ": " << forgotten->cause;
    EXPECT_EQ(forgotten->output.get(), input.get()) << i;
  }
  auto children = Machine(R"({"StartAt": "Fan", "States": {
      "Fan": {"Type": "Parallel", "ResultPath": "$.branches", "Next": "Each", "Branches": [
          {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "ResultPath": "$.k", "End": true}}}]},
      "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.items", "End": true, "ItemProcessor": {
          "StartAt": "I", "States": {"I": {"Type": "Pass", "Result": 0, "ResultPath": "$.n", "End": true}}}}}})");
  auto id = engine->Run(children, input);
  ASSERT_TRUE(id.ok()) << id.status();
  auto result = engine->Forget(*id);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->status, sm::ExecutionStatus::kSucceeded) << result->error << ": " << result->cause;
  EXPECT_EQ(*result->output, json::parse(R"({"items": [{"n": 0}, {"n": 0}], "k": "v",
                                            "branches": [{"items": [{"n": 1}, {"n": 2}], "k": "b"}]})"));
  EXPECT_NE(result->output.get(), input.get());
  EXPECT_EQ(*input, original);
}

TEST(LocalEngineSharedInputTest, NoDocumentIsInvalidArgument) {
  auto machine = Machine(R"({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})");
  auto engine = Engine();
  ASSERT_NE(engine, nullptr);
  auto id = engine->Run(machine, std::shared_ptr<const json::value>());
  EXPECT_TRUE(absl::IsInvalidArgument(id.status())) << id.status();
  EXPECT_EQ(engine->driver().size(), 0u);
}

}  // namespace
}  // namespace stepflow::engine
