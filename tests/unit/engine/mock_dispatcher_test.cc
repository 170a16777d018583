// Unit tests for the AWS Step Functions Local mock-config reader and the MockDispatcher.

#include "engine/mock_dispatcher.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"

namespace stepflow::engine {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kConfig[] = R"({
  "StateMachines": {
    "Orders": {
      "TestCases": {
        "HappyPath": {"Charge": "ChargeOk", "Ship": "ShipFlaky"},
        "Empty": {}
      }
    }
  },
  "MockedResponses": {
    "ChargeOk": {"0": {"Return": {"charged": true}}},
    "ShipFlaky": {
      "0": {"Throw": {"Error": "Ship.Busy", "Cause": "try later"}},
      "1-2": {"Return": "shipped"},
      "3": {"Throw": {"Error": "Ship.Gone"}}
    }
  }
})";

MockTestCase Load(const std::string& test_case = "HappyPath") {
  absl::StatusOr<MockTestCase> tc = MockTestCase::FromConfig(json::parse(kConfig), "Orders", test_case);
  EXPECT_TRUE(tc.ok()) << tc.status();
  return tc.ok() ? *tc : MockTestCase();
}

TEST(MockTestCaseTest, ReturnByIndex) {
  MockTestCase tc = Load();
  absl::StatusOr<MockedResponse> r = tc.Response("Charge", 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->is_throw);
  EXPECT_EQ(r->value, json::parse(R"({"charged":true})"));
}

TEST(MockTestCaseTest, ThrowAndRanges) {
  MockTestCase tc = Load();
  absl::StatusOr<MockedResponse> r0 = tc.Response("Ship", 0);
  ASSERT_TRUE(r0.ok());
  EXPECT_TRUE(r0->is_throw);
  EXPECT_EQ(r0->error, "Ship.Busy");
  EXPECT_EQ(r0->cause, "try later");
  for (int i : {1, 2}) {
    absl::StatusOr<MockedResponse> r = tc.Response("Ship", i);
    ASSERT_TRUE(r.ok()) << i;
    EXPECT_FALSE(r->is_throw) << i;
    EXPECT_EQ(r->value, json::value("shipped")) << i;
  }
  absl::StatusOr<MockedResponse> r3 = tc.Response("Ship", 3);
  ASSERT_TRUE(r3.ok());
  EXPECT_TRUE(r3->is_throw);
  EXPECT_EQ(r3->error, "Ship.Gone");
  EXPECT_EQ(r3->cause, "");
}

TEST(MockTestCaseTest, InvocationBeyondTheResponsesNamesStateAndIndex) {
  MockTestCase tc = Load();
  absl::StatusOr<MockedResponse> r = tc.Response("Ship", 4);
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("'Ship'"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("invocation 4"));
  EXPECT_TRUE(absl::IsNotFound(tc.Response("Charge", 1).status()));
}

TEST(MockTestCaseTest, StateWithoutMockIsAClearError) {
  MockTestCase tc = Load("Empty");
  absl::StatusOr<MockedResponse> r = tc.Response("Charge", 0);
  EXPECT_TRUE(absl::IsNotFound(r.status()));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("Task state 'Charge' has no mocked response"));
}

// Each malformed config names where the problem is.
struct BadConfig {
  std::string name;
  std::string config;
  std::string state_machine;
  std::string test_case;
  std::vector<std::string> message_parts;
};

class MalformedConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(MalformedConfigTest, IsInvalidArgumentNamingTheLocation) {
  const BadConfig& c = GetParam();
  absl::StatusOr<MockTestCase> tc = MockTestCase::FromConfig(json::parse(c.config), c.state_machine, c.test_case);
  ASSERT_FALSE(tc.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(tc.status())) << tc.status();
  for (const std::string& part : c.message_parts) {
    EXPECT_THAT(std::string(tc.status().message()), HasSubstr(part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Configs, MalformedConfigTest,
    ::testing::Values(
        BadConfig{"NotAnObject", "[]", "SM", "T", {"mock config /", "JSON object"}},
        BadConfig{"NoMockedResponses", R"({"StateMachines":{}})", "SM", "T", {"MockedResponses"}},
        BadConfig{"UnknownStateMachine", R"({"StateMachines":{"Other":{}},"MockedResponses":{}})", "SM", "T",
                  {"/StateMachines", "'SM'"}},
        BadConfig{"UnknownTestCase", R"({"StateMachines":{"SM":{"TestCases":{"A":{}}}},"MockedResponses":{}})",
                  "SM", "B", {"/StateMachines/SM/TestCases", "'B'"}},
        BadConfig{"ResponseNameNotAString",
                  R"({"StateMachines":{"SM":{"TestCases":{"T":{"S":1}}}},"MockedResponses":{}})", "SM", "T",
                  {"/StateMachines/SM/TestCases/T/S"}},
        BadConfig{"UnknownResponse",
                  R"({"StateMachines":{"SM":{"TestCases":{"T":{"S":"R"}}}},"MockedResponses":{}})", "SM", "T",
                  {"/StateMachines/SM/TestCases/T/S", "'R'"}},
        BadConfig{"BadRangeKey",
                  R"({"StateMachines":{"SM":{"TestCases":{"T":{"S":"R"}}}},
                      "MockedResponses":{"R":{"x-y":{"Return":1}}}})",
                  "SM", "T", {"/MockedResponses/R/x-y"}},
        BadConfig{"ReversedRange",
                  R"({"StateMachines":{"SM":{"TestCases":{"T":{"S":"R"}}}},
                      "MockedResponses":{"R":{"2-1":{"Return":1}}}})",
                  "SM", "T", {"/MockedResponses/R/2-1"}},
        BadConfig{"NegativeIndex",
                  R"({"StateMachines":{"SM":{"TestCases":{"T":{"S":"R"}}}},
                      "MockedResponses":{"R":{"-1":{"Return":1}}}})",
                  "SM", "T", {"/MockedResponses/R/-1"}},
        BadConfig{"NeitherReturnNorThrow",
                  R"({"StateMachines":{"SM":{"TestCases":{"T":{"S":"R"}}}},
                      "MockedResponses":{"R":{"0":{"Retrun":1}}}})",
                  "SM", "T", {"/MockedResponses/R/0", "Return or Throw"}},
        BadConfig{"ResponseNotAnObject",
                  R"({"StateMachines":{"SM":{"TestCases":{"T":{"S":"R"}}}},
                      "MockedResponses":{"R":{"0":"oops"}}})",
                  "SM", "T", {"/MockedResponses/R/0"}}),
    [](const ::testing::TestParamInfo<BadConfig>& info) { return info.param.name; });

TEST(MockDispatcherTest, DeliversResponsesInInvocationOrderPerExecutionAndState) {
  std::vector<std::string> delivered;
  MockDispatcher dispatcher(Load(), [&](const TaskDispatch& task, const MockedResponse& r) {
    delivered.push_back(task.execution_id + "/" + task.state_name + ":" +
                        (r.is_throw ? r.error : json::serialize(r.value)));
  });
  auto dispatch = [&](const std::string& execution, const std::string& state) {
    TaskDispatch t;
    t.execution_id = execution;
    t.state_name = state;
    return dispatcher.Dispatch(t);
  };
  EXPECT_TRUE(dispatch("e1", "Ship").ok());
  EXPECT_TRUE(dispatch("e1", "Ship").ok());
  EXPECT_TRUE(dispatch("e2", "Ship").ok());  // another execution counts from 0
  EXPECT_TRUE(dispatch("e1", "Charge").ok());
  EXPECT_THAT(delivered, ElementsAre("e1/Ship:Ship.Busy", R"(e1/Ship:"shipped")", "e2/Ship:Ship.Busy",
                                     R"(e1/Charge:{"charged":true})"));
}

TEST(MockDispatcherTest, MissingMockIsAnErrorAndDeliversNothing) {
  int delivered = 0;
  MockDispatcher dispatcher(Load(), [&](const TaskDispatch&, const MockedResponse&) { ++delivered; });
  TaskDispatch t;
  t.execution_id = "e1";
  t.state_name = "Refund";
  absl::Status s = dispatcher.Dispatch(t);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("'Refund'"));
  EXPECT_EQ(delivered, 0);
}

}  // namespace
}  // namespace stepflow::engine
