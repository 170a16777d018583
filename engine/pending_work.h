#pragma once
// The timer and task rows an execution has in storage, kept in step with its decisions. The driver (live)
// and replay (recovery) update it with the same function, so that a recovered execution knows, and later
// deletes, exactly the rows the live one wrote.

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
  std::map<std::uint64_t, sm::TaskCommand> tasks;       // task id -> the scheduled task (its `tasks` row)
};

// Applies what `input` and its `decision` did to `pending` and, when `batch` is not null, adds the row
// changes of execution `id`: the fired timer's and the finished task's rows are deleted, so are cancelled
// ones, and new timers and tasks are put.
void TrackDecision(std::string_view id, const InputRecord& input, const sm::Decision& decision, PendingWork& pending,
                   storage::WriteBatch* batch);

// The value of a task row (format version 2).
std::string EncodeTaskRecord(const sm::TaskCommand& task);
// A task row's value, version 1 or 2; task_id and resource are in the key and left 0 / empty. DataLoss when
// it is not one. (Recovery rebuilds tasks by replay and never reads these; tools and tests do.)
absl::StatusOr<sm::TaskCommand> DecodeTaskRecord(std::string_view value);

}  // namespace stepflow::engine
