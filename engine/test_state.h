#pragma once
// TestState as Stepflow serves it (the API's TestState and `stepflow test-state`): sm::TestState
// (statemachine/test_state.h) with the values an engine supplies, so that the server and the CLI answer the
// same request alike. Nothing is stored and no execution is created.
//
// Thread-safety: stateless; any number of calls may run at once.

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "statemachine/test_state.h"

namespace stepflow::engine {

// Runs `request` at `now` with fresh random values (States.UUID, $random()) and, unless the request
// set one, the context object of a made-up execution: state machine "TestState", execution
// arn:...:execution:TestState:<uuid>, started at `now`. The errors are sm::TestState's.
absl::StatusOr<sm::TestStateResult> RunTestState(sm::TestStateRequest request, common::EpochMillis now);

}  // namespace stepflow::engine
