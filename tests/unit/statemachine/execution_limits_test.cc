// Executions under hostile numbers and expressions: out-of-range integers from the input fail the state
// with States.Runtime (never a timer that fires at once or an exception), and JSONPath/template bounds
// fail it with States.Runtime or States.DataLimitExceeded (never std::bad_alloc).

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/statemachine/execution_test_util.h"

namespace stepflow::sm {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using testing::Harness;
using testing::kT0;

constexpr char kWaitSecondsPath[] =
    R"({"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.delay","End":true}}})";

TEST(ExecutionLimitsTest, HugeWaitSecondsPathFailsInsteadOfFiringAtOnce) {
  for (const char* input : {R"({"delay":9223372036854775})", R"({"delay":18446744073709551615})",
                            R"({"delay":100000000})"}) {
    Harness h(kWaitSecondsPath);
    Decision d = h.Start(input);
    EXPECT_TRUE(d.timers_to_start.empty()) << input;
    EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed) << input;
    EXPECT_EQ(h.ex().error(), "States.Runtime") << input;
    EXPECT_THAT(h.ex().cause(), HasSubstr("The SecondsPath parameter references a value larger than 99999999"));
  }
}

TEST(ExecutionLimitsTest, LargestWaitSecondsPathIsAccepted) {
  Harness h(kWaitSecondsPath);
  Decision d = h.Start(R"({"delay":99999999})");
  ASSERT_EQ(d.timers_to_start.size(), 1u);
  EXPECT_EQ(d.timers_to_start[0].due, kT0 + 99999999LL * 1000);
}

TEST(ExecutionLimitsTest, OutOfRangeTaskTimeoutSecondsPathFails) {
  for (const char* input : {R"({"t":1e12})", R"({"t":0})", R"({"t":-5})"}) {
    Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","TimeoutSecondsPath":"$.t",
                  "HeartbeatSecondsPath":"$.t","End":true}}})");
    Decision d = h.Start(input);
    EXPECT_TRUE(d.tasks_to_schedule.empty()) << input;
    EXPECT_EQ(h.ex().error(), "States.Runtime") << input;
    EXPECT_THAT(h.ex().cause(), HasSubstr("The TimeoutSecondsPath field refers to value")) << input;
  }
  Harness ok(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","TimeoutSecondsPath":"$.t","End":true}}})");
  Decision d = ok.Start(R"({"t":30})");
  ASSERT_EQ(d.tasks_to_schedule.size(), 1u);
  EXPECT_EQ(d.tasks_to_schedule[0].timeout_seconds, 30);
}

TEST(ExecutionLimitsTest, OutOfRangeMapIntegersAreNotValidIntegers) {
  for (const char* value : {"18446744073709551615", "9223372036854775807", "2147483648", "\"99999999999\""}) {
    Harness h(R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrencyPath":"$.c",
                  "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}})");
    h.Start(std::string(R"({"items":[1],"c":)") + value + "}");
    EXPECT_EQ(h.ex().error(), "States.Runtime") << value;
    EXPECT_THAT(h.ex().cause(), HasSubstr("which is not a valid integer: $.c")) << value;
  }
}

TEST(ExecutionLimitsTest, RetryBackoffOverflowIsCappedNotImmediate) {
  Harness h(R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["E"],
               "IntervalSeconds":1,"BackoffRate":2,"MaxAttempts":1100}],"End":true}}})");
  Decision d = h.Start("{}");
  for (int attempt = 0; attempt < 1100; ++attempt) {
    ASSERT_EQ(d.tasks_to_schedule.size(), 1u) << attempt;
    Decision failed = h.Fail(d.tasks_to_schedule[0].task_id, "E");
    ASSERT_EQ(failed.timers_to_start.size(), 1u) << attempt;
    const common::EpochMillis delay = failed.timers_to_start[0].due - h.now;
    ASSERT_GT(delay, 0) << attempt;
    ASSERT_LE(delay, 31622400LL * 1000) << attempt;
    h.now = failed.timers_to_start[0].due;
    d = h.Fire(failed.timers_to_start[0].timer_id);
  }
}

TEST(ExecutionLimitsTest, ExplodingInputPathFailsTheExecutionNotTheProcess) {
  std::string input = "1";
  for (int i = 0; i < 30; ++i) {
    input = R"({"a":)" + input + "}";
  }
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$..*..*..*..*..*..*..*..*..*..*",
               "End":true}}})");
  h.Start(input);
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_THAT(h.ex().error(), ::testing::AnyOf("States.Runtime", "States.DataLimitExceeded"));
  EXPECT_THAT(h.ex().cause(), HasSubstr("The JSONPath '$..*..*..*..*..*..*..*..*..*..*'"));
}

TEST(ExecutionLimitsTest, TemplateCopyingThePayloadManyTimesIsDataLimitExceeded) {
  std::string fields;
  for (int i = 0; i < 200; ++i) {
    fields += (i == 0 ? "" : ",") + std::string(R"("f)") + std::to_string(i) + R"(.$":"$")";
  }
  ExecutionLimits limits;
  limits.max_payload_bytes = 1 << 20;
  Harness h(R"({"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{)" + fields + R"(},"End":true}}})",
            limits);
  h.Start(R"({"s":")" + std::string(100'000, 'x') + R"("})");
  EXPECT_EQ(h.ex().status(), ExecutionStatus::kFailed);
  EXPECT_EQ(h.ex().error(), "States.DataLimitExceeded");
  EXPECT_THAT(h.ex().cause(), HasSubstr("The payload template produced more than"));
}

}  // namespace
}  // namespace stepflow::sm
