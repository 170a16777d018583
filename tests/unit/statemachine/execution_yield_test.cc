// Bounded decisions: an input that runs many transitions without waiting yields at its limits
// (ExecutionLimits::max_transitions_per_decision, max_decision_history_bytes), and Continue goes on from there.
// Yielding changes how the work is cut into decisions, never the history it produces.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/statemachine/execution_test_util.h"

namespace stepflow::sm::testing {
namespace {

// Counts $.i up to 300 through a Pass and a Choice: 602 states entered, no waiting.
constexpr char kCountingLoop[] = R"json({"StartAt":"Check","States":{
    "Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)","pad.$":"$.pad"},"Next":"Check"},
    "Check":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericLessThan":300,"Next":"Inc"}],"Default":"Done"},
    "Done":{"Type":"Succeed"}}})json";
constexpr char kInput[] = R"({"i":0,"pad":"p"})";

ExecutionLimits Budget(std::size_t transitions, std::size_t bytes) {
  ExecutionLimits limits;
  limits.max_transitions_per_decision = transitions;
  limits.max_decision_history_bytes = bytes;
  return limits;
}

// Runs the harness's execution to its end with Continue; returns the events of each decision.
std::vector<std::vector<HistoryEvent>> RunToEnd(Harness& h, std::string_view input) {
  std::vector<std::vector<HistoryEvent>> decisions;
  decisions.push_back(h.Start(input).events);
  while (h.ex().yielded()) {
    absl::StatusOr<Decision> d = h.ex().Continue(h.now, h.rv);
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) {
      break;
    }
    h.history.insert(h.history.end(), d->events.begin(), d->events.end());
    decisions.push_back(std::move(d->events));
  }
  return decisions;
}

void ExpectSameHistory(const std::vector<HistoryEvent>& a, const std::vector<HistoryEvent>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].previous_event_id, b[i].previous_event_id);
    EXPECT_EQ(a[i].type, b[i].type);
    EXPECT_EQ(a[i].details, b[i].details) << "event " << a[i].id;
  }
}

TEST(ExecutionYieldTest, ALongLoopYieldsEveryNTransitionsAndContinueEndsItWithTheSameHistory) {
  Harness unbounded(kCountingLoop, Budget(0, 0));
  std::vector<std::vector<HistoryEvent>> one = RunToEnd(unbounded, kInput);
  ASSERT_EQ(one.size(), 1u);
  ASSERT_EQ(unbounded.ex().status(), ExecutionStatus::kSucceeded);

  Harness bounded(kCountingLoop, Budget(10, 0));
  std::vector<std::vector<HistoryEvent>> decisions = RunToEnd(bounded, kInput);
  EXPECT_EQ(bounded.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_EQ(decisions.size(), 61u);  // 602 states entered, 10 per decision
  for (const std::vector<HistoryEvent>& d : decisions) {
    int entered = 0;
    for (const HistoryEvent& e : d) {
      entered += e.type.ends_with("StateEntered") ? 1 : 0;
    }
    EXPECT_LE(entered, 10);
  }
  ExpectSameHistory(unbounded.history, bounded.history);
  EXPECT_EQ(bounded.ex().output(), unbounded.ex().output());
}

TEST(ExecutionYieldTest, ADecisionYieldsOnceItsEventsReachTheByteLimit) {
  const std::string pad(10'000, 'x');
  const std::string input = R"({"i":0,"pad":")" + pad + R"("})";
  Harness h(kCountingLoop, Budget(0, 100'000));
  std::vector<std::vector<HistoryEvent>> decisions = RunToEnd(h, input);
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kSucceeded);
  EXPECT_GT(decisions.size(), 10u);
  for (const std::vector<HistoryEvent>& d : decisions) {
    std::size_t bytes = 0;
    for (const HistoryEvent& e : d) {
      bytes += DetailString(e, "input").size() + DetailString(e, "output").size();
    }
    // The limit is checked before each state is entered: one state's events (input + output) past it at most.
    EXPECT_LE(bytes, 100'000u + 2 * (pad.size() + 100));
  }
}

TEST(ExecutionYieldTest, StopBetweenTwoBatchesEndsTheExecutionAndNothingContinues) {
  Harness h(kCountingLoop, Budget(10, 0));
  h.Start(kInput);
  ASSERT_TRUE(h.ex().yielded());
  h.Stop("Stopped", "by the test");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kAborted);
  EXPECT_FALSE(h.ex().yielded());
  EXPECT_EQ(h.history.back().type, "ExecutionAborted");
  absl::StatusOr<Decision> more = h.ex().Continue(h.now, h.rv);
  EXPECT_TRUE(absl::IsFailedPrecondition(more.status())) << more.status();
}

TEST(ExecutionYieldTest, ContinueIsRefusedWhenTheExecutionDidNotYield) {
  Harness h(R"({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"End":true}}})");
  h.Start("{}");
  EXPECT_FALSE(h.ex().yielded());
  absl::StatusOr<Decision> more = h.ex().Continue(h.now, h.rv);
  EXPECT_TRUE(absl::IsFailedPrecondition(more.status())) << more.status();
  Harness fresh(kCountingLoop);
  EXPECT_TRUE(absl::IsFailedPrecondition(fresh.ex().Continue(fresh.now, fresh.rv).status()));
}

TEST(ExecutionYieldTest, TheHistoryLimitStillEndsAnEndlessLoopThatYields) {
  constexpr char kEndless[] = R"({"StartAt":"A","States":{
      "A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}})";
  ExecutionLimits limits = Budget(100, 0);
  limits.max_history_events = 1000;
  Harness h(kEndless, limits);
  std::vector<std::vector<HistoryEvent>> decisions = RunToEnd(h, "{}");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.Runtime");
  EXPECT_EQ(decisions.size(), 5u);  // 500 states entered, 2 events each
}

}  // namespace
}  // namespace stepflow::sm::testing
