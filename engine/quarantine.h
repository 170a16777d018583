#pragma once
// Quarantine: an execution whose stored rows cannot be read or replayed (a corrupt record or input, a forked
// history, a semantics version this binary cannot replay) is set aside at start-up instead of keeping the
// whole store from opening. It is not driven: describe and list show it as QUARANTINED with the reason,
// its history stays readable page by page (that is its export), and an operator can end it: StopExecution
// moves it to ABORTED by writing its record, index rows and an ExecutionAborted event directly, without
// replaying anything. Nothing of it is deleted or rewritten otherwise.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/engine.h"
#include "engine/execution_record.h"
#include "storage/store.h"

namespace stepflow::engine {

struct QuarantinedExecution {
  // The stored record when it could be read; else what the execution's ARN and RUNNING index entry say.
  StoredExecution stored;
  bool record_readable = false;
  std::string reason;
};

// What can be read of execution `id` (found in the RUNNING index with start time `start`) that could not be
// recovered for `reason`. The record's `quarantined` and `quarantine_reason` are set.
QuarantinedExecution ReadQuarantined(storage::Store& store, const std::string& id, common::EpochMillis start,
                                     std::string reason);

// The writes that end `q` ABORTED at `now` with `error`/`cause`: its record, its index rows moved from
// RUNNING, an ExecutionAborted event after the last stored event, and its timer rows deleted. Storage
// errors as the store gives them.
absl::StatusOr<storage::WriteBatch> TerminationBatch(storage::Store& store, const QuarantinedExecution& q,
                                                     const std::string& error, const std::string& cause,
                                                     common::EpochMillis now, ExecutionInfoRecord* terminated);

}  // namespace stepflow::engine
