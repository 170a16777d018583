#pragma once
// Execution snapshots (storage/FORMAT.md, "Snapshots"): the interpreter's state and the execution's pending
// timers (their rows) and tasks after its first N inputs, put in the `snapshots` column in the batch of the N-th input,
// so that recovery applies only the inputs after it (engine/replay.h) and its cost no longer grows with the
// execution's age (heartbeats add inputs without adding events).
//
// A snapshot is a cache of the input log, never the truth: the log is kept whole, and a snapshot that cannot
// be used (damaged, forged, another state format, or one whose replay does not match the stored record) only
// means a full replay.
//
// Thread-safety: stateless functions.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "engine/pending_work.h"
#include "statemachine/core/execution.h"

namespace stepflow::engine {

// How often snapshots are written.
struct SnapshotOptions {
  // A snapshot is written in the batch of every `every_inputs`-th input of an execution (and replaces the
  // previous one), so recovery re-applies fewer than `every_inputs` inputs. 0 = never: recovery replays the
  // whole log. Default: 0 (the durable engine sets EngineOptions::snapshot_every_inputs). A snapshot costs one
  // serialization of the execution's state; the inputs after it cost their replay at recovery.
  std::int64_t every_inputs = 0;
  // The key of the snapshots' MAC (TaskTokens::DeriveKey(kSnapshotKeyPurpose)). Empty: snapshots are neither
  // written nor read.
  std::string key;

  bool enabled() const { return every_inputs > 0 && !key.empty(); }
};

// The purpose TaskTokens::DeriveKey derives the snapshot key for.
inline constexpr std::string_view kSnapshotKeyPurpose = "execution snapshots";

// The largest snapshot value read; larger rows are refused (DataLoss) before they are parsed.
inline constexpr std::size_t kMaxSnapshotBytes = 64 << 20;

// What a snapshot holds once decoded and authenticated.
struct DecodedSnapshot {
  std::int64_t inputs = 0;   // input records covered: the tail starts at this sequence number
  boost::json::value state;  // sm::Execution::SaveState's object
  PendingWork pending;       // the pending timers and tasks after those inputs
};

// The `snapshots` row value of execution `id` after `inputs` inputs, authenticated with `key`.
std::string EncodeSnapshot(std::string_view id, std::int64_t inputs, const sm::Execution& execution,
                           const PendingWork& pending, std::string_view key);

// DataLoss naming the problem when `value` is not a snapshot of execution `id` that an engine holding `key`
// wrote: not a version-2 value, too large, a MAC that does not match (damaged, forged, or copied from another
// execution), a message that does not parse whole, another state format, state text that is not JSON, or a
// pending task record that does not decode.
absl::StatusOr<DecodedSnapshot> DecodeSnapshot(std::string_view id, std::string_view value, std::string_view key);

}  // namespace stepflow::engine
