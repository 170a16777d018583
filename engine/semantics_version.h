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

namespace stepflow::engine {

// The version this binary's interpreter implements: written into every new execution's start record.
inline constexpr int kSemanticsVersion = 1;
// The oldest version this binary can still replay.
inline constexpr int kOldestReplayableSemanticsVersion = 1;
// The version of a start record that holds none (written before the field existed).
inline constexpr int kUnversionedSemantics = 1;

}  // namespace stepflow::engine
