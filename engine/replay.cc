#include "engine/replay.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/errors.h"
#include "engine/history_rows.h"
#include "engine/records.h"

namespace stepflow::engine {

absl::StatusOr<ReplayedExecution> ReplayInputs(const std::vector<InputRecord>& log, const MachineLookup& machines,
                                               const sm::TaskTokenMinter* tokens) {
  if (log.empty() || log.front().kind != InputRecord::Kind::kStart) {
    return absl::DataLossError("ReplayMismatch: the input log does not begin with the execution's start");
  }
  const InputRecord& start = log.front();
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
  r.execution = std::make_unique<sm::Execution>(std::move(machine), start.info,
                                                ExecutionLimitsFor(start.semantics_version, start.limits));
  for (const InputRecord& input : log) {
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
  return r;
}

absl::StatusOr<std::vector<InputRecord>> ReadInputLog(storage::Store& store, const std::string& id) {
  std::vector<InputRecord> log;
  absl::Status error;
  const std::string prefix = InputPrefix(id);
  RETURN_IF_ERROR(
      store.Scan(storage::Column::kInputs, prefix, "", false, [&](std::string_view key, std::string_view value) {
        if (key.size() != prefix.size() + 8 || storage::ReadUint64BigEndian(key.substr(prefix.size())) != log.size()) {
          error = errors::ReplayMismatch(id, absl::StrCat("input ", log.size(), " is missing"));
          return false;
        }
        absl::StatusOr<InputRecord> input = DecodeInputRecord(value);
        if (!input.ok()) {
          error = input.status();
          return false;
        }
        log.push_back(*std::move(input));
        return true;
      }));
  RETURN_IF_ERROR(error);
  return log;
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
                                                const MachineLookup& machines, const sm::TaskTokenMinter* tokens) {
  ASSIGN_OR_RETURN(std::optional<std::string> value, store.Get(storage::Column::kExecutions, id));
  if (!value) {
    return errors::ExecutionDoesNotExist(id);
  }
  ASSIGN_OR_RETURN(StoredExecution stored, DecodeExecutionRecord(*value));
  ASSIGN_OR_RETURN(std::vector<InputRecord> log, ReadInputLog(store, id));
  ASSIGN_OR_RETURN(ReplayedExecution replayed, ReplayInputs(log, machines, tokens));
  RETURN_IF_ERROR(VerifyReplay(replayed, stored));
  RETURN_IF_ERROR(VerifyHistory(store, id, replayed.execution->last_event_id()));
  return replayed;
}

}  // namespace stepflow::engine
