#pragma once
// Mocked task results in the AWS Step Functions Local mock-config format:
//   {"StateMachines": {"SM": {"TestCases": {"CASE": {"StateName": "ResponseName"}}}},
//    "MockedResponses": {"ResponseName": {"0": {"Return": ...}, "1-2": {"Throw": {"Error": .., "Cause": ..}}}}}
// The n-th invocation (from 0) of a Task state, counting retries and Map iterations, gets the response
// whose key is n or a range "a-b" containing n.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "engine/dispatcher.h"

namespace stepflow::engine {

struct MockedResponse {
  bool is_throw = false;
  boost::json::value value;  // Return value
  std::string error;         // Throw
  std::string cause;
};

// One test case of a mock config: per state, its responses by invocation index.
class MockTestCase {
 public:
  // Parses `config` (the whole mock-config document) and selects `state_machine`/`test_case`.
  // InvalidArgument naming the JSON location when the config is malformed or names something absent.
  static absl::StatusOr<MockTestCase> FromConfig(const boost::json::value& config, const std::string& state_machine,
                                                 const std::string& test_case);

  // The response for the `invocation`-th call of `state`. NotFound (naming the state and index) when the
  // test case has no response for it.
  absl::StatusOr<MockedResponse> Response(const std::string& state, int invocation) const;

 private:
  struct Range {
    int first;
    int last;
    MockedResponse response;
  };
  std::map<std::string, std::vector<Range>> by_state_;
};

// Answers every task from a MockTestCase. Results are delivered through `deliver`, synchronously inside
// Dispatch (the driver queues them as inputs). Not thread-safe.
class MockDispatcher final : public TaskDispatcher {
 public:
  using Deliver = std::function<void(const TaskDispatch& task, const MockedResponse& response)>;
  MockDispatcher(MockTestCase mocks, Deliver deliver) : mocks_(std::move(mocks)), deliver_(std::move(deliver)) {}

  absl::Status Dispatch(const TaskDispatch& task) override;
  void Cancel(const std::string& execution_id, std::uint64_t task_id) override {}
  // Forgets the invocations counted for `execution_id` (an execution the engine forgot).
  void Forget(const std::string& execution_id);

 private:
  MockTestCase mocks_;
  Deliver deliver_;
  std::map<std::pair<std::string, std::string>, int> invocations_;  // per (execution, state)
};

}  // namespace stepflow::engine
