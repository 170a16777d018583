#pragma once
// The semantics version: which rules of the interpreter an execution started under. It is written in each
// execution's start record (the `start` of its first input, storage/FORMAT.md) and checked when the
// execution is replayed. Replay re-applies the logged inputs to today's interpreter, so an execution may only
// be replayed by a binary whose interpreter still decides as the one that started it did.
//
// Bump kSemanticsVersion in the same change as any change to what the interpreter decides for the same
// inputs (an event's content, a transition, a Retry/Catch rule, a runtime value drawn). If the new binary
// can no longer replay the old rules, also raise kOldestReplayableSemanticsVersion; executions started under
// an older version are then quarantined at start-up with the reason, never replayed silently wrong.
// Stores written before the field existed hold no version: they are version 1.
//
// Versions:
//   1  the interpreter up to the release that introduced the field.
//   2  what changed for the same inputs: numbers compare exactly beyond 2^53; `=~` in JSONPath filters is
//      PCRE2 (was std::regex ECMAScript); Wait/TimeoutSecondsPath/HeartbeatSecondsPath out of range, Map
//      integers beyond a Java int, JSONPath/intrinsic evaluation bounds and JSONPath nesting limits fail the
//      state (States.Runtime / States.DataLimitExceeded) where version 1 fired at once, wrapped, threw or
//      crashed; retry delays are capped; States.MathRandom stays inside its range; decisions yield after
//      bounded batches (recorded per execution in the start, so a version-1 execution keeps running
//      unbounded). Version 1 stays replayable: the differences are confined to inputs that version 1 did not
//      decide sanely, and a replay that does not reproduce the stored record (status, last event id, a whole
//      history) quarantines the execution instead of running it on.
//   3  history fidelity: a JSONata evaluation failure records an EvaluationFailed event (and a Map or
//      Parallel state whose own fields failed, its MapStateFailed / ParallelStateFailed); Task states with a
//      Lambda function ARN or an activity ARN record LambdaFunction* / Activity* events instead of Task*.
//      Versions 1 and 2 stay replayable: their executions replay without those events
//      (ExecutionLimitsFor), so their event ids are unchanged.
//   4  a state that assigned variables lists them in its StateExited event (assignedVariables). Versions 1-3
//      stay replayable: their StateExited events keep the fields they had (ExecutionLimitsFor).

#include "statemachine/core/execution.h"

namespace stepflow::engine {

// The version this binary's interpreter implements: written into every new execution's start record.
inline constexpr int kSemanticsVersion = 4;
// The oldest version this binary can still replay.
inline constexpr int kOldestReplayableSemanticsVersion = 1;
// The version of a start record that holds none (written before the field existed).
inline constexpr int kUnversionedSemantics = 1;

// The interpreter's per-execution switches for an execution started under `semantics_version`, on top of
// the limits recorded in its start: the history events added by later versions are off for older ones.
inline sm::ExecutionLimits ExecutionLimitsFor(int semantics_version, sm::ExecutionLimits recorded) {
  if (semantics_version < 3) {
    recorded.record_evaluation_failed = false;
    recorded.record_resource_events = false;
  }
  if (semantics_version < 4) {
    recorded.record_assigned_variables = false;
  }
  return recorded;
}

}  // namespace stepflow::engine
