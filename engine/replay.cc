#include "engine/replay.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/errors.h"
#include "engine/history_rows.h"
#include "engine/records.h"
#include "engine/snapshots.h"
#include "spdlog/spdlog.h"

namespace stepflow::engine {

namespace {

// A ReplayedExecution at the start of `start`'s execution (`state` null), or at the interpreter state a
// snapshot holds. DataLoss for a semantics version this binary does not replay or a state Restore refuses.
absl::StatusOr<ReplayedExecution> BeginReplay(const InputRecord& start, const MachineLookup& machines,
                                              const boost::json::value* state) {
  const std::string& id = start.info.execution_arn;
  if (start.semantics_version > kSemanticsVersion || start.semantics_version < kOldestReplayableSemanticsVersion) {
    return errors::SemanticsVersionUnsupported(id, start.semantics_version, kOldestReplayableSemanticsVersion,
                                               kSemanticsVersion);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const sm::StateMachine> machine,
                   machines(start.info.state_machine_name, start.state_machine_version));
  ReplayedExecution r;
  r.info = start.info;
  r.meta.state_machine_version = start.state_machine_version;
  r.meta.input_text = start.input_text;
  const sm::ExecutionLimits limits = ExecutionLimitsFor(start.semantics_version, start.limits);
  if (state == nullptr) {
    r.execution = std::make_unique<sm::Execution>(std::move(machine), start.info, limits);
    return r;
  }
  absl::StatusOr<std::unique_ptr<sm::Execution>> restored =
      sm::Execution::Restore(std::move(machine), start.info, limits, *state);
  if (!restored.ok()) {
    return absl::DataLossError(absl::StrCat("the snapshot of execution ", id, " does not restore: ",
                                            restored.status().message()));
  }
  r.execution = *std::move(restored);
  return r;
}

// Applies `inputs` (sequence numbers r.inputs, r.inputs + 1, ...) to `r`.
absl::Status ApplyInputs(ReplayedExecution& r, const std::vector<InputRecord>& inputs,
                         const sm::TaskTokenMinter* tokens) {
  const std::string& id = r.info.execution_arn;
  r.execution->KeepTypedEvents(true);  // the events are dropped: none is built as JSON
  for (const InputRecord& input : inputs) {
    if (r.inputs > 0 && input.kind == InputRecord::Kind::kStart) {
      return errors::ReplayMismatch(id, absl::StrCat("input ", r.inputs, " is a second start"));
    }
    ReplayingRuntimeValues rv(input.drawn, tokens);
    absl::StatusOr<sm::Decision> d = ApplyInputRecord(*r.execution, input, rv);
    if (!d.ok()) {
      return errors::ReplayMismatch(id, absl::StrCat("input ", r.inputs, " was refused: ", d.status().message()));
    }
    if (!rv.ok()) {
      return errors::ReplayMismatch(id, absl::StrCat("input ", r.inputs, " drew other runtime values"));
    }
    TrackDecision(id, input, *d, r.pending, nullptr);
    ++r.inputs;
  }
  return absl::OkStatus();
}

// An `inputs` row: the sequence number of its first input (its key's) and its value.
struct InputRow {
  std::int64_t first = 0;
  std::string value;
};

// The `inputs` row of `id` that holds input `sequence`: the row with the greatest key not above it (a commit's
// inputs share a row keyed by the first, storage/FORMAT.md), read in one seek. nullopt when there is none.
absl::StatusOr<std::optional<InputRow>> RowHolding(storage::Store& store, const std::string& id,
                                                   std::int64_t sequence) {
  std::optional<InputRow> row;
  if (sequence == 0) {  // a start always begins its row
    ASSIGN_OR_RETURN(std::optional<std::string> value, store.Get(storage::Column::kInputs, InputKey(id, 0)));
    if (value) {
      row = InputRow{0, *std::move(value)};
    }
    return row;
  }
  const std::string prefix = InputPrefix(id);
  RETURN_IF_ERROR(store.Scan(storage::Column::kInputs, prefix, InputKey(id, sequence + 1), /*reverse=*/true,
                             [&](std::string_view key, std::string_view value) {
                               if (key.size() == prefix.size() + 8) {
                                 row = InputRow{static_cast<std::int64_t>(
                                                    storage::ReadUint64BigEndian(key.substr(prefix.size()))),
                                                std::string(value)};
                               }
                               return false;
                             }));
  return row;
}

// The input record `sequence` of `id`. DataLoss when it is missing or unreadable.
absl::StatusOr<InputRecord> ReadInput(storage::Store& store, const std::string& id, std::int64_t sequence) {
  ASSIGN_OR_RETURN(std::optional<InputRow> row, RowHolding(store, id, sequence));
  if (!row) {
    return errors::ReplayMismatch(id, absl::StrCat("input ", sequence, " is missing"));
  }
  ASSIGN_OR_RETURN(std::vector<InputRecord> inputs, DecodeInputRow(row->value));
  const std::int64_t at = sequence - row->first;
  if (at >= static_cast<std::int64_t>(inputs.size())) {
    return errors::ReplayMismatch(id, absl::StrCat("input ", sequence, " is missing"));
  }
  return std::move(inputs[static_cast<std::size_t>(at)]);
}

// The execution rebuilt from its snapshot and the inputs after it, verified against `stored`; nullopt when it
// has no snapshot. DataLoss when the snapshot cannot be used; storage errors as they are.
absl::StatusOr<std::optional<ReplayedExecution>> LoadFromSnapshot(storage::Store& store, const std::string& id,
                                                                  const StoredExecution& stored,
                                                                  const MachineLookup& machines,
                                                                  const sm::TaskTokenMinter* tokens,
                                                                  std::string_view snapshot_key) {
  ASSIGN_OR_RETURN(std::optional<std::string> value, store.Get(storage::Column::kSnapshots, id));
  if (!value) {
    return std::nullopt;
  }
  ASSIGN_OR_RETURN(DecodedSnapshot snapshot, DecodeSnapshot(id, *value, snapshot_key));
  ASSIGN_OR_RETURN(InputRecord start, ReadInput(store, id, 0));
  if (start.kind != InputRecord::Kind::kStart || start.info.execution_arn != id) {
    return errors::ReplayMismatch(id, "the input log does not begin with the execution's start");
  }
  // The last input the snapshot covers must be in the log, or the tail would be numbered from a gap.
  RETURN_IF_ERROR(ReadInput(store, id, snapshot.inputs - 1).status());
  ASSIGN_OR_RETURN(std::vector<InputRecord> tail, ReadInputsFrom(store, id, snapshot.inputs));
  ASSIGN_OR_RETURN(ReplayedExecution r, BeginReplay(start, machines, &snapshot.state));
  r.pending = std::move(snapshot.pending);
  r.inputs = snapshot.inputs;
  RETURN_IF_ERROR(ApplyInputs(r, tail, tokens));
  RETURN_IF_ERROR(VerifyReplay(r, stored));
  return r;
}

}  // namespace

absl::StatusOr<std::vector<InputRecord>> ReadInputsFrom(storage::Store& store, const std::string& id,
                                                        std::int64_t first) {
  std::vector<InputRecord> log;
  std::uint64_t expected = static_cast<std::uint64_t>(first);  // the next row's key
  // Appends the inputs of the row keyed `expected` from `first` on.
  auto append_row = [&](std::string_view value) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<InputRecord> inputs, DecodeInputRow(value));
    for (InputRecord& input : inputs) {
      if (expected >= static_cast<std::uint64_t>(first)) {
        log.push_back(std::move(input));
      }
      ++expected;
    }
    return absl::OkStatus();
  };
  if (first > 0) {  // its row may begin before it: read that row first (a full read starts at row 0 anyway)
    ASSIGN_OR_RETURN(std::optional<InputRow> row, RowHolding(store, id, first));
    if (row) {
      expected = static_cast<std::uint64_t>(row->first);
      RETURN_IF_ERROR(append_row(row->value));
    }
  }
  absl::Status error;
  const std::string prefix = InputPrefix(id);
  const std::string start_after = expected > 0 ? InputKey(id, static_cast<std::int64_t>(expected) - 1) : "";
  RETURN_IF_ERROR(store.Scan(
      storage::Column::kInputs, prefix, start_after, false, [&](std::string_view key, std::string_view value) {
        if (key.size() != prefix.size() + 8 || storage::ReadUint64BigEndian(key.substr(prefix.size())) != expected) {
          error = errors::ReplayMismatch(id, absl::StrCat("input ", expected, " is missing"));
          return false;
        }
        error = append_row(value);
        return error.ok();
      }));
  RETURN_IF_ERROR(error);
  return log;
}

absl::StatusOr<ReplayedExecution> ReplayInputs(const std::vector<InputRecord>& log, const MachineLookup& machines,
                                               const sm::TaskTokenMinter* tokens) {
  if (log.empty() || log.front().kind != InputRecord::Kind::kStart) {
    return absl::DataLossError("ReplayMismatch: the input log does not begin with the execution's start");
  }
  ASSIGN_OR_RETURN(ReplayedExecution r, BeginReplay(log.front(), machines, nullptr));
  RETURN_IF_ERROR(ApplyInputs(r, log, tokens));
  return r;
}

absl::StatusOr<ReplayedExecution> ReplayFromSnapshot(const InputRecord& start, const DecodedSnapshot& snapshot,
                                                     const std::vector<InputRecord>& tail,
                                                     const MachineLookup& machines,
                                                     const sm::TaskTokenMinter* tokens) {
  if (start.kind != InputRecord::Kind::kStart) {
    return absl::DataLossError("ReplayMismatch: the input log does not begin with the execution's start");
  }
  ASSIGN_OR_RETURN(ReplayedExecution r, BeginReplay(start, machines, &snapshot.state));
  r.pending = snapshot.pending;
  r.inputs = snapshot.inputs;
  RETURN_IF_ERROR(ApplyInputs(r, tail, tokens));
  return r;
}

absl::StatusOr<std::vector<InputRecord>> ReadInputLog(storage::Store& store, const std::string& id) {
  return ReadInputsFrom(store, id, 0);
}

absl::Status VerifyReplay(const ReplayedExecution& replayed, const StoredExecution& stored) {
  const sm::Execution& e = *replayed.execution;
  if (e.status() != stored.record.status || e.last_event_id() != stored.last_event_id) {
    return errors::ReplayMismatch(
        stored.record.arn,
        absl::StrCat("replayed to ", sm::ExecutionStatusName(e.status()), " at event ", e.last_event_id(),
                     " but the stored record says ", sm::ExecutionStatusName(stored.record.status), " at event ",
                     stored.last_event_id));
  }
  if (replayed.info.execution_arn != stored.record.arn ||
      replayed.meta.state_machine_version != stored.record.state_machine_version) {
    return errors::ReplayMismatch(stored.record.arn, "the input log belongs to another execution or version");
  }
  return absl::OkStatus();
}

namespace {

bool EndsTheExecution(std::string_view type) {
  return type == "ExecutionSucceeded" || type == "ExecutionFailed" || type == "ExecutionAborted" ||
         type == "ExecutionTimedOut";
}

}  // namespace

absl::Status VerifyHistory(storage::Store& store, const std::string& id, std::int64_t last_event_id) {
  std::int64_t expected = 1;
  bool ended = false;
  absl::Status error;
  std::vector<HistoryEventRecord> row;
  RETURN_IF_ERROR(store.Scan(storage::Column::kHistory, HistoryPrefix(id), "", false,
                             [&](std::string_view, std::string_view value) {
                               row.clear();
                               error = DecodeHistoryRow(value, row);
                               if (!error.ok()) {
                                 error = errors::ReplayMismatch(id, absl::StrCat("history row after event ",
                                                                                 expected - 1, ": ", error.message()));
                                 return false;
                               }
                               for (const HistoryEventRecord& e : row) {
                                 if (e.id != expected) {
                                   error = errors::ReplayMismatch(
                                       id, absl::StrCat("history event ", e.id, " where event ", expected,
                                                        " belongs: the ids are not contiguous"));
                                   return false;
                                 }
                                 if (ended && e.type != "ExecutionRedriven" && e.type != "DeadLetterDiscarded") {
                                   error = errors::ReplayMismatch(
                                       id, absl::StrCat("history event ", e.id, " (", e.type,
                                                        ") follows the end of the execution"));
                                   return false;
                                 }
                                 ended = EndsTheExecution(e.type) || (ended && e.type == "DeadLetterDiscarded");
                                 ++expected;
                               }
                               return true;
                             }));
  RETURN_IF_ERROR(error);
  if (expected - 1 != last_event_id) {
    return errors::ReplayMismatch(id, absl::StrCat("the history ends at event ", expected - 1,
                                                   " but the execution replays to event ", last_event_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplayedExecution> LoadExecution(storage::Store& store, const std::string& id,
                                                const MachineLookup& machines, const sm::TaskTokenMinter* tokens,
                                                std::string_view snapshot_key) {
  ASSIGN_OR_RETURN(std::optional<std::string> value, store.Get(storage::Column::kExecutions, id));
  if (!value) {
    return errors::ExecutionDoesNotExist(id);
  }
  ASSIGN_OR_RETURN(StoredExecution stored, DecodeExecutionRecord(*value));
  if (!snapshot_key.empty()) {
    absl::StatusOr<std::optional<ReplayedExecution>> from_snapshot =
        LoadFromSnapshot(store, id, stored, machines, tokens, snapshot_key);
    if (from_snapshot.ok() && from_snapshot->has_value()) {
      RETURN_IF_ERROR(VerifyHistory(store, id, (*from_snapshot)->execution->last_event_id()));
      return **std::move(from_snapshot);
    }
    if (!from_snapshot.ok()) {
      if (!absl::IsDataLoss(from_snapshot.status()) && !absl::IsNotFound(from_snapshot.status())) {
        return from_snapshot.status();  // storage trouble: the caller retries, as for any read
      }
      // The log is the truth and is kept whole: a snapshot that cannot be used costs a full replay, no more.
      spdlog::warn("SnapshotUnusable execution={}: replaying its whole input log instead: {}", id,
                   std::string(from_snapshot.status().message()));
    }
  }
  ASSIGN_OR_RETURN(std::vector<InputRecord> log, ReadInputLog(store, id));
  ASSIGN_OR_RETURN(ReplayedExecution replayed, ReplayInputs(log, machines, tokens));
  RETURN_IF_ERROR(VerifyReplay(replayed, stored));
  RETURN_IF_ERROR(VerifyHistory(store, id, replayed.execution->last_event_id()));
  return replayed;
}

}  // namespace stepflow::engine
