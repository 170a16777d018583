// Unit tests for the interpreter: each state type driven through Execution with explicit instants.
// Retry/Catch are in execution_retry_test.cc; history sequences, limits and stale inputs in
// execution_history_test.cc.

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/unit/statemachine/execution_test_util.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Harness;
using testing::Json;
using testing::kT0;

// --- Pass

TEST(PassTest, ResultIsWrittenAtResultPath) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"x":1},"ResultPath":"$.r","End":true}}})");
  h.Start(R"({"a":1})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(), Json(R"({"a":1,"r":{"x":1}})"));
}

TEST(PassTest, ParametersReadInputAndContext) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass",
      "Parameters":{"v.$":"$.a","name.$":"$$.Execution.Name","state.$":"$$.State.Name","lit":[1,{"k":"$.a"}]},
      "End":true}}})");
  h.Start(R"({"a":7})");
  EXPECT_EQ(h.ex().output(), Json(R"({"v":7,"name":"run-1","state":"P","lit":[1,{"k":"$.a"}]})"));
}

TEST(PassTest, OutputPathSelects) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"x":{"y":2}},"ResultPath":"$.r",
      "OutputPath":"$.r.x","End":true}}})");
  h.Start(R"({"a":1})");
  EXPECT_EQ(h.ex().output(), Json(R"({"y":2})"));
}

TEST(PassTest, InputPathNullGivesEmptyObject) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":null,"End":true}}})");
  h.Start(R"({"a":1})");
  EXPECT_EQ(h.ex().output(), Json("{}"));
}

TEST(PassTest, ResultPathNullKeepsInput) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","Result":"dropped","ResultPath":null,"End":true}}})");
  h.Start(R"({"a":1})");
  EXPECT_EQ(h.ex().output(), Json(R"({"a":1})"));
}

TEST(PassTest, OutputPathNullGivesEmptyObject) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","OutputPath":null,"End":true}}})");
  h.Start(R"({"a":1})");
  EXPECT_EQ(h.ex().output(), Json("{}"));
}

TEST(PassTest, MissingInputPathIsStatesRuntime) {
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.nope","End":true}}})");
  h.Start(R"({"a":1})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.Runtime");
  EXPECT_EQ(h.ex().cause(),
            "An error occurred while executing the state 'P' (entered at the event id #2). "
            "Invalid path '$.nope' : No results for path: $['nope']");
}

// --- Choice

constexpr char kChoice[] = R"({"StartAt":"C","States":{
  "C":{"Type":"Choice","Choices":[
      {"Variable":"$.n","NumericGreaterThan":10,"Next":"Big"},
      {"And":[{"Variable":"$.n","NumericGreaterThan":5},{"Variable":"$.s","StringEquals":"x"}],"Next":"Mid"}],
    "Default":"Small"},
  "Big":{"Type":"Pass","Result":"big","End":true},
  "Mid":{"Type":"Pass","Result":"mid","End":true},
  "Small":{"Type":"Pass","Result":"small","End":true}}})";

TEST(ChoiceTest, FirstMatchingRuleWins) {
  Harness h(kChoice);
  h.Start(R"({"n":11,"s":"x"})");
  EXPECT_EQ(h.ex().output(), Json(R"("big")"));
  EXPECT_EQ(testing::ExitedOutput(h.history, "C"), Json(R"({"n":11,"s":"x"})"));
}

TEST(ChoiceTest, CombinatorRule) {
  Harness h(kChoice);
  h.Start(R"({"n":6,"s":"x"})");
  EXPECT_EQ(h.ex().output(), Json(R"("mid")"));
}

TEST(ChoiceTest, DefaultWhenNothingMatches) {
  Harness h(kChoice);
  h.Start(R"({"n":6,"s":"y"})");
  EXPECT_EQ(h.ex().output(), Json(R"("small")"));
}

TEST(ChoiceTest, NoMatchWithoutDefaultIsNoChoiceMatched) {
  Harness h(R"({"StartAt":"C","States":{
      "C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":1,"Next":"A"}]},
      "A":{"Type":"Succeed"}}})");
  h.Start(R"({"n":2})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.NoChoiceMatched");
  EXPECT_THAT(testing::Types(h.history), ElementsAre("ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"));
}

TEST(ChoiceTest, InputPathAndOutputPath) {
  Harness h(R"({"StartAt":"C","States":{
      "C":{"Type":"Choice","InputPath":"$.in","OutputPath":"$.v",
           "Choices":[{"Variable":"$.v","IsPresent":true,"Next":"A"}]},
      "A":{"Type":"Succeed"}}})");
  h.Start(R"({"in":{"v":3}})");
  EXPECT_EQ(h.ex().output(), Json("3"));
}

// --- Wait

constexpr common::EpochMillis kJan2024 = 1'704'067'200'000;  // 2024-01-01T00:00:00Z

TEST(WaitTest, SecondsStartsATimerAndContinuesWhenItFires) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"Next":"P"},"P":{"Type":"Pass","End":true}}})");
  Decision d = h.Start(R"({"a":1})");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  EXPECT_EQ(d.timers_to_start[0].due, kT0 + 10'000);
  EXPECT_TRUE(d.tasks_to_schedule.empty());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kRunning);
  EXPECT_EQ(d.events.back().type, "WaitStateEntered");

  h.now = kT0 + 10'000;
  Decision fired = h.Fire(d.timers_to_start[0].timer_id);
  EXPECT_THAT(testing::Types(fired.events),
              ElementsAre("WaitStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"));
  EXPECT_EQ(fired.events[0].timestamp, kT0 + 10'000);
  EXPECT_EQ(h.ex().output(), Json(R"({"a":1})"));
}

TEST(WaitTest, TimestampIsTheDueTime) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","Timestamp":"2024-01-01T00:00:00Z","End":true}}})");
  h.now = kJan2024 - 3'600'000;
  Decision d = h.Start("{}");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  EXPECT_EQ(d.timers_to_start[0].due, kJan2024);
}

TEST(WaitTest, TimestampInThePastIsDueNow) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","Timestamp":"2020-01-01T00:00:00Z","End":true}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  EXPECT_EQ(d.timers_to_start[0].due, kT0);
}

TEST(WaitTest, SecondsPath) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.delay","End":true}}})");
  Decision d = h.Start(R"({"delay":5})");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  EXPECT_EQ(d.timers_to_start[0].due, kT0 + 5'000);
}

TEST(WaitTest, NegativeSecondsPathIsStatesRuntime) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.delay","End":true}}})");
  Decision d = h.Start(R"({"delay":-1})");
  EXPECT_TRUE(d.timers_to_start.empty());
  EXPECT_EQ(h.ex().error(), "States.Runtime");
  EXPECT_THAT(h.ex().cause(), HasSubstr("The SecondsPath parameter references a negative value: $.delay == -1"));
}

TEST(WaitTest, TimestampPath) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","TimestampPath":"$.at","End":true}}})");
  Decision d = h.Start(R"({"at":"2024-01-01T01:00:00+01:00"})");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  EXPECT_EQ(d.timers_to_start[0].due, kJan2024);
}

TEST(WaitTest, BadTimestampPathIsStatesRuntime) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","TimestampPath":"$.at","End":true}}})");
  h.Start(R"({"at":"tomorrow"})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().cause(),
            "An error occurred while executing the state 'W' (entered at the event id #2). The TimestampPath "
            "parameter does not reference a valid ISO-8601 extended offset date-time format string: $.at == "
            "tomorrow");
}

// --- Succeed / Fail

TEST(SucceedTest, EndsTheExecutionWithItsOutput) {
  Harness h(R"({"StartAt":"S","States":{"S":{"Type":"Succeed","InputPath":"$.a","OutputPath":"$.b"}}})");
  h.Start(R"({"a":{"b":[1,2]}})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(), Json("[1,2]"));
  EXPECT_THAT(testing::Types(h.history),
              ElementsAre("ExecutionStarted", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"));
}

TEST(FailTest, ErrorAndCause) {
  Harness h(R"({"StartAt":"F","States":{"F":{"Type":"Fail","Error":"MyError","Cause":"it broke"}}})");
  h.Start("{}");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "MyError");
  EXPECT_EQ(h.ex().cause(), "it broke");
  EXPECT_THAT(testing::Types(h.history), ElementsAre("ExecutionStarted", "FailStateEntered", "ExecutionFailed"));
  EXPECT_EQ(testing::DetailString(h.history.back(), "error"), "MyError");
  EXPECT_EQ(testing::DetailString(h.history.back(), "cause"), "it broke");
}

TEST(FailTest, ErrorPathAndCausePathWithIntrinsic) {
  Harness h(R"j({"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e",
      "CausePath":"States.Format('bad {} of {}', $.n, $.e)"}}})j");
  h.Start(R"({"e":"E1","n":3})");
  EXPECT_EQ(h.ex().error(), "E1");
  EXPECT_EQ(h.ex().cause(), "bad 3 of E1");
}

TEST(FailTest, WithoutErrorOrCause) {
  Harness h(R"({"StartAt":"F","States":{"F":{"Type":"Fail"}}})");
  h.Start("{}");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "");
  EXPECT_FALSE(h.history.back().details.contains("error"));
  EXPECT_FALSE(h.history.back().details.contains("cause"));
}

// --- Task

constexpr char kTask[] = R"({"StartAt":"T","States":{"T":{"Type":"Task",
    "Resource":"arn:aws:states:::lambda:invoke","InputPath":"$.in","TimeoutSeconds":30,
    "Parameters":{"FunctionName":"f","Payload":{"x.$":"$.x","exec.$":"$$.Execution.Id"}},
    "ResultSelector":{"v.$":"$.Payload.value"},"ResultPath":"$.res","End":true}}})";

TEST(TaskTest, SchedulesTheEffectiveInput) {
  Harness h(kTask);
  Decision d = h.Start(R"({"in":{"x":5},"keep":true})");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  const TaskCommand& t = d.tasks_to_schedule[0];
  EXPECT_EQ(t.state_name, "T");
  EXPECT_EQ(t.resource, "arn:aws:states:::lambda:invoke");
  EXPECT_EQ(t.attempt, 0);
  ASSERT_TRUE(t.timeout_seconds.has_value());
  EXPECT_EQ(*t.timeout_seconds, 30);
  EXPECT_EQ(t.input, Json(std::string(R"({"FunctionName":"f","Payload":{"x":5,"exec":")") +
                          testing::kExecutionArn + R"("}})"));
  const HistoryEvent& scheduled = d.events.back();
  EXPECT_EQ(scheduled.type, "TaskScheduled");
  EXPECT_EQ(testing::DetailString(scheduled, "resourceType"), "lambda");
  EXPECT_EQ(testing::DetailString(scheduled, "resource"), "invoke");
  EXPECT_EQ(json::parse(testing::DetailString(scheduled, "parameters")), t.input);
  EXPECT_EQ(scheduled.details.at("timeoutInSeconds"), json::value(30));
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kRunning);
}

TEST(TaskTest, ResultSelectorAndResultPathApplyToTheResult) {
  Harness h(kTask);
  Decision d = h.Start(R"({"in":{"x":5},"keep":true})");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  std::uint64_t task = d.tasks_to_schedule[0].task_id;
  h.Started(task);
  h.now = kT0 + 250;
  Decision done = h.Succeed(task, R"({"Payload":{"value":42,"noise":1},"StatusCode":200})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  // ResultPath writes into the raw state input, not the InputPath selection.
  EXPECT_EQ(h.ex().output(), Json(R"({"in":{"x":5},"keep":true,"res":{"v":42}})"));
  const HistoryEvent& succeeded = done.events.front();
  EXPECT_EQ(succeeded.type, "TaskSucceeded");
  EXPECT_EQ(json::parse(testing::DetailString(succeeded, "output")),
            Json(R"({"Payload":{"value":42,"noise":1},"StatusCode":200})"));
  EXPECT_EQ(succeeded.timestamp, kT0 + 250);
}

TEST(TaskTest, ParameterPathThatSelectsNothingIsStatesRuntime) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Parameters":{"a.$":"$.missing"},
      "Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},"C":{"Type":"Pass","End":true}}})");
  Decision d = h.Start(R"({"b":1})");
  EXPECT_TRUE(d.tasks_to_schedule.empty());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.Runtime");
  EXPECT_THAT(h.ex().cause(), HasSubstr("The JSONPath '$.missing' specified for the field 'a.$' could not be found"));
}

TEST(TaskTest, WaitForTaskTokenSeesTheToken) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
      "Parameters":{"token.$":"$$.Task.Token"},"End":true}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  const json::value& token = d.tasks_to_schedule[0].input.at("token");
  ASSERT_TRUE(token.is_string());
  EXPECT_THAT(std::string(token.get_string()), HasSubstr(testing::kExecutionArn));
}

// --- Parallel

TEST(ParallelTest, OutputIsInBranchOrderWhateverTheCompletionOrder) {
  Harness h(R"({"StartAt":"Par","States":{"Par":{"Type":"Parallel","End":true,"ResultSelector":{"r.$":"$"},
      "Branches":[
        {"StartAt":"Slow","States":{"Slow":{"Type":"Task","Resource":"r","End":true}}},
        {"StartAt":"Fast","States":{"Fast":{"Type":"Pass","Result":"fast","End":true}}}]}}})");
  Decision d = h.Start(R"({"x":1})");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  EXPECT_EQ(d.tasks_to_schedule[0].input, Json(R"({"x":1})"));
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kRunning);
  h.Succeed(d.tasks_to_schedule[0].task_id, R"("slow")");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(), Json(R"({"r":["slow","fast"]})"));
  EXPECT_THAT(testing::Types(h.history),
              ElementsAre("ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted", "TaskStateEntered",
                          "TaskScheduled", "PassStateEntered", "PassStateExited", "TaskSucceeded",
                          "TaskStateExited", "ParallelStateSucceeded", "ParallelStateExited",
                          "ExecutionSucceeded"));
}

TEST(ParallelTest, BranchFailureFailsTheStateAndCancelsSiblings) {
  Harness h(R"({"StartAt":"Par","States":{"Par":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"r","End":true}}},
        {"StartAt":"Later","States":{"Later":{"Type":"Wait","Seconds":5,"Next":"Boom"},
                                     "Boom":{"Type":"Fail","Error":"Bad","Cause":"b"}}}]}}})");
  Decision d = h.Start("{}");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  h.now = kT0 + 5'000;
  Decision fired = h.Fire(d.timers_to_start[0].timer_id);
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "Bad");
  EXPECT_THAT(fired.tasks_to_cancel, ElementsAre(d.tasks_to_schedule[0].task_id));
  EXPECT_THAT(testing::Types(fired.events), ElementsAre("WaitStateExited", "FailStateEntered",
                                                        "ParallelStateFailed", "ExecutionFailed"));
  // The cancelled task's late result is stale.
  EXPECT_TRUE(absl::IsNotFound(
      h.ex().OnTaskSucceeded(d.tasks_to_schedule[0].task_id, Json("1"), h.now, h.rv).status()));
}

// --- Map

TEST(MapTest, ItemsPathAndItemSelectorWithContext) {
  Harness h(R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "ItemSelector":{"idx.$":"$$.Map.Item.Index","val.$":"$$.Map.Item.Value","k.$":"$.k"},
      "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}})");
  h.Start(R"({"items":["a",{"b":2}],"k":"K"})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(),
            Json(R"([{"idx":0,"val":"a","k":"K"},{"idx":1,"val":{"b":2},"k":"K"}])"));
  const HistoryEvent started = testing::FindEvent(h.history, "MapStateStarted");
  EXPECT_EQ(started.details.at("length"), json::value(2));
}

TEST(MapTest, MaxConcurrencyOneSchedulesOneTaskAtATime) {
  Harness h(R"({"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,
      "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}},"End":true}}})");
  Decision d = h.Start(R"([10,20,30])");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  EXPECT_EQ(d.tasks_to_schedule[0].input, Json("10"));
  std::vector<json::value> inputs{d.tasks_to_schedule[0].input};
  std::uint64_t task = d.tasks_to_schedule[0].task_id;
  for (int i = 0; i < 2; ++i) {
    Decision next = h.Succeed(task, absl::StrCat(i));
    ASSERT_EQ(next.tasks_to_schedule.size(), 1u) << "after item " << i;
    inputs.push_back(next.tasks_to_schedule[0].input);
    task = next.tasks_to_schedule[0].task_id;
  }
  h.Succeed(task, "2");
  EXPECT_THAT(inputs, ElementsAre(Json("10"), Json("20"), Json("30")));
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(), Json("[0,1,2]"));
}

TEST(MapTest, UnboundedConcurrencySchedulesEveryItem) {
  Harness h(R"({"StartAt":"M","States":{"M":{"Type":"Map",
      "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}},"End":true}}})");
  Decision d = h.Start(R"([1,2,3])");
  ASSERT_EQ(d.tasks_to_schedule.size(), 3u);
  // Completing out of order still yields results in item order.
  h.Succeed(d.tasks_to_schedule[2].task_id, R"("c")");
  h.Succeed(d.tasks_to_schedule[0].task_id, R"("a")");
  h.Succeed(d.tasks_to_schedule[1].task_id, R"("b")");
  EXPECT_EQ(h.ex().output(), Json(R"(["a","b","c"])"));
}

TEST(MapTest, EmptyArraySucceedsWithEmptyArray) {
  Harness h(R"({"StartAt":"M","States":{"M":{"Type":"Map",
      "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}},"End":true}}})");
  Decision d = h.Start("[]");
  EXPECT_TRUE(d.tasks_to_schedule.empty());
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(), Json("[]"));
  EXPECT_THAT(testing::Types(h.history), ElementsAre("ExecutionStarted", "MapStateEntered", "MapStateStarted",
                                                     "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"));
}

TEST(MapTest, ItemsPathNotAnArrayIsStatesRuntime) {
  Harness h(R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}})");
  h.Start(R"({"items":{"a":1}})");
  EXPECT_EQ(h.ex().error(), "States.Runtime");
  EXPECT_THAT(h.ex().cause(), HasSubstr("Map state input must be an array but was: {\"a\":1}"));
}

TEST(MapTest, ToleratedFailureCountKeepsGoing) {
  Harness h(R"({"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailureCount":1,
      "ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true}}},"End":true}}})");
  Decision d = h.Start("[1,2]");
  ASSERT_EQ(d.tasks_to_schedule.size(), 2u);
  h.Fail(d.tasks_to_schedule[0].task_id, "E", "c");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kRunning);
  h.Succeed(d.tasks_to_schedule[1].task_id, "2");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(h.ex().output(), Json(R"([{"Error":"E","Cause":"c"},2])"));
}

}  // namespace
}  // namespace stepflow::sm
