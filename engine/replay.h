#pragma once
// Recovery is replay: an execution is rebuilt by re-applying its input log (engine/input_log.h) to a fresh
// sm::Execution, or to the state of its latest snapshot (engine/snapshots.h) the inputs after it, with the
// recorded `now` of each input and the recorded runtime values. The result must equal what was stored
// (status, last event id, pending timer rows); anything else is DataLoss.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/execution_record.h"
#include "engine/input_log.h"
#include "engine/pending_work.h"
#include "engine/snapshots.h"
#include "statemachine/core/execution.h"
#include "statemachine/core/model.h"
#include "storage/store.h"

namespace stepflow::engine {

// An execution rebuilt from its input log, ready to be adopted by a Driver.
struct ReplayedExecution {
  std::unique_ptr<sm::Execution> execution;
  sm::ExecutionInfo info;
  ExecutionMeta meta;
  PendingWork pending;
  std::int64_t inputs = 0;  // log entries applied: the next input's sequence number
};

// The parsed state machine of (name, version). NotFound when the version is not stored.
using MachineLookup = std::function<absl::StatusOr<std::shared_ptr<const sm::StateMachine>>(const std::string& name,
                                                                                            std::int64_t version)>;

// Applies `log` in order. DataLoss when the log does not begin with its one start, an input the live run
// applied is refused, or the runtime values drawn differ from the recorded ones; a lookup error as is.
// Task tokens are minted by `tokens` as the live run minted them (not owned; nullptr: unsigned tokens, for tools
// that only read).
absl::StatusOr<ReplayedExecution> ReplayInputs(const std::vector<InputRecord>& log, const MachineLookup& machines,
                                               const sm::TaskTokenMinter* tokens = nullptr);

// The execution at `snapshot` (taken of the execution `start` began), then `tail` applied: the inputs from
// sequence number snapshot.inputs on. Errors as ReplayInputs, and DataLoss when the snapshot's state does not
// restore (sm::Execution::Restore).
absl::StatusOr<ReplayedExecution> ReplayFromSnapshot(const InputRecord& start, const DecodedSnapshot& snapshot,
                                                     const std::vector<InputRecord>& tail,
                                                     const MachineLookup& machines,
                                                     const sm::TaskTokenMinter* tokens = nullptr);

// The input log of execution `id`, in order. DataLoss when a row is unreadable or a sequence number is missing.
absl::StatusOr<std::vector<InputRecord>> ReadInputLog(storage::Store& store, const std::string& id);
// The inputs of execution `id` from sequence number `first` on (none when the log ends before): from the row that
// holds `first`, which may begin before it (a commit's inputs share one row). Errors as ReadInputLog.
absl::StatusOr<std::vector<InputRecord>> ReadInputsFrom(storage::Store& store, const std::string& id,
                                                        std::int64_t first);

// DataLoss unless the replayed execution has the stored record's status and last event id.
absl::Status VerifyReplay(const ReplayedExecution& replayed, const StoredExecution& stored);

// DataLoss unless the stored history of `id` is whole: event ids 1..`last_event_id`, each once and in order,
// and nothing after an event that ends the execution but a redrive (which reopens it) or a dead letter's
// discard. A history forked by two writers, or cut short, fails here.
absl::Status VerifyHistory(storage::Store& store, const std::string& id, std::int64_t last_event_id);

// Reads the record, input log and history of `id`, replays and verifies. NotFound when there is no record.
// With a `snapshot_key` (SnapshotOptions::key), starts from the execution's snapshot when it has one and
// applies only the inputs after it; a snapshot that cannot be used (DecodeSnapshot's refusals, a state that
// does not restore, a replay from it that does not match the record) is logged at warning level as
// `SnapshotUnusable execution=<ARN>` with the reason, and the whole log is replayed instead. Empty: the whole
// log, always (tools that audit the log).
absl::StatusOr<ReplayedExecution> LoadExecution(storage::Store& store, const std::string& id,
                                                const MachineLookup& machines,
                                                const sm::TaskTokenMinter* tokens = nullptr,
                                                std::string_view snapshot_key = {});

}  // namespace stepflow::engine
