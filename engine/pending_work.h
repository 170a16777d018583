#pragma once
// The timers and tasks an execution has pending, kept in step with its decisions. The driver (live) and replay
// (recovery) update it with the same function, so that a recovered execution knows, and later deletes, exactly
// the `timers` rows the live one wrote, and hands the same tasks to the matcher again. Tasks have no rows: the
// input log is their record (a task is pending from the decision that scheduled it to the input that ended it).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/input_log.h"
#include "statemachine/core/execution.h"
#include "storage/store.h"

namespace stepflow::engine {

struct PendingWork {
  std::map<std::uint64_t, common::EpochMillis> timers;  // timer id -> due (its `timers` row)
  std::map<std::uint64_t, sm::TaskCommand> tasks;       // task id -> the scheduled task (no row; in snapshots)
};

// Applies what `input` and its `decision` did to `pending` and, when `batch` is not null, adds the `timers` row
// changes of execution `id`: the fired timer's row is deleted, so are cancelled ones', and new timers are put.
// Finished and cancelled tasks leave `pending`, new ones enter it.
void TrackDecision(std::string_view id, const InputRecord& input, const sm::Decision& decision, PendingWork& pending,
                   storage::WriteBatch* batch);

// A pending task as a snapshot keeps it (format version 2; older releases also wrote it as a `tasks` row).
std::string EncodeTaskRecord(const sm::TaskCommand& task);
// A task record, version 1 or 2; task_id and resource are kept beside it and left 0 / empty. DataLoss when it
// is not one.
absl::StatusOr<sm::TaskCommand> DecodeTaskRecord(std::string_view value);

// Deletes the `tasks` rows that releases before the column was retired wrote (one per pending task; nothing
// read them: recovery rebuilds pending tasks by replay), in commits of at most 1,024 deletes. Called when the
// durable engine opens a store, after TaskTokens::LoadOrCreate has read them for the legacy tokens. Idempotent:
// a crash in between leaves rows that the next open deletes.
absl::Status DeleteRetiredTaskRows(storage::Store& store);

}  // namespace stepflow::engine
