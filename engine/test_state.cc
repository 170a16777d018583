#include "engine/test_state.h"

#include <string>
#include <utility>

#include "engine/names.h"
#include "engine/random_values.h"

namespace stepflow::engine {

namespace {
// The state machine the context object names: TestState runs a state outside any state machine.
constexpr char kTestStateMachineName[] = "TestState";
}  // namespace

absl::StatusOr<sm::TestStateResult> RunTestState(sm::TestStateRequest request, common::EpochMillis now) {
  RandomRuntimeValues rv;
  sm::ExecutionInfo& context = request.context;
  if (context.execution_arn.empty()) {
    context.name = rv.NewUuid();
    context.state_machine_name = kTestStateMachineName;
    context.state_machine_arn = StateMachineArn(kTestStateMachineName);
    context.execution_arn = ExecutionArn(kTestStateMachineName, context.name);
    context.role_arn = std::string(kRoleArn);
    context.start_time = now;
  }
  return sm::TestState(request, now, rv);
}

}  // namespace stepflow::engine
