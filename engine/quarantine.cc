#include "engine/quarantine.h"

#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/history_rows.h"
#include "engine/records.h"
#include "statemachine/core/history.h"

namespace stepflow::engine {
namespace {

// "arn:aws:states:<region>:<account>:execution:<state machine>:<name>": the last two components.
void NamesFromArn(const std::string& arn, ExecutionInfoRecord& r) {
  const std::size_t last = arn.rfind(':');
  if (last == std::string::npos) {
    return;
  }
  r.name = arn.substr(last + 1);
  const std::size_t before = last == 0 ? std::string::npos : arn.rfind(':', last - 1);
  if (before != std::string::npos) {
    r.state_machine_name = arn.substr(before + 1, last - before - 1);
  }
}

// The id of the last stored event: the key of the last history row ends in it (storage/FORMAT.md).
absl::StatusOr<std::int64_t> LastStoredEventId(storage::Store& store, const std::string& id) {
  const std::string prefix = HistoryPrefix(id);
  std::int64_t last = 0;
  RETURN_IF_ERROR(store.Scan(storage::Column::kHistory, prefix, "", true, [&](std::string_view key, std::string_view) {
    last = std::max<std::int64_t>(HistoryKeyEventId(prefix, key), 0);
    return false;
  }));
  return last;
}

}  // namespace

QuarantinedExecution ReadQuarantined(storage::Store& store, const std::string& id, common::EpochMillis start,
                                     std::string reason) {
  QuarantinedExecution q;
  q.reason = std::move(reason);
  absl::StatusOr<std::optional<std::string>> value = store.Get(storage::Column::kExecutions, id);
  if (value.ok() && value->has_value()) {
    absl::StatusOr<StoredExecution> stored = DecodeExecutionRecord(**value);
    if (stored.ok()) {
      q.stored = *std::move(stored);
      q.record_readable = true;
    }
  }
  ExecutionInfoRecord& r = q.stored.record;
  if (!q.record_readable) {
    r.arn = id;
    NamesFromArn(id, r);
    r.start = start;
    r.status = sm::ExecutionStatus::kRunning;
  }
  r.quarantined = true;
  r.quarantine_reason = q.reason;
  return q;
}

absl::StatusOr<storage::WriteBatch> TerminationBatch(storage::Store& store, const QuarantinedExecution& q,
                                                     const std::string& error, const std::string& cause,
                                                     common::EpochMillis now, ExecutionInfoRecord* terminated) {
  const std::string& id = q.stored.record.arn;
  storage::WriteBatch batch;
  ASSIGN_OR_RETURN(std::int64_t last_event, LastStoredEventId(store, id));
  sm::HistoryEvent aborted;
  aborted.id = last_event + 1;
  aborted.previous_event_id = last_event;
  aborted.timestamp = now;
  aborted.type = "ExecutionAborted";
  aborted.details_key = "executionAbortedEventDetails";
  if (!error.empty()) {
    aborted.details["error"] = error;
  }
  if (!cause.empty()) {
    aborted.details["cause"] = cause;
  }
  PutHistoryRows(id, {aborted}, batch);

  StoredExecution ended = q.stored;
  ExecutionInfoRecord& r = ended.record;
  r.status = sm::ExecutionStatus::kAborted;
  r.stop = now;
  r.output.clear();
  r.error = error;
  r.cause = cause;
  r.quarantined = false;
  r.quarantine_reason.clear();
  ended.last_event_id = aborted.id;
  batch.Put(storage::Column::kExecutions, id, EncodeStoredExecution(ended));

  const std::string running = sm::ExecutionStatusName(sm::ExecutionStatus::kRunning);
  const std::string aborted_status = sm::ExecutionStatusName(sm::ExecutionStatus::kAborted);
  for (const std::string& machine : {std::string(), r.state_machine_name}) {
    batch.Delete(storage::Column::kIndexes, IndexKey(machine, running, r.start, id));
    batch.Put(storage::Column::kIndexes, IndexKey(machine, aborted_status, r.start, id), "");
  }
  // Timer rows: U64(due) Str(execution id) U64(timer id).
  RETURN_IF_ERROR(store.Scan(storage::Column::kTimers, "", "", false, [&](std::string_view key, std::string_view) {
    if (key.size() >= 17 && key.substr(8, key.size() - 17) == id) {
      batch.Delete(storage::Column::kTimers, std::string(key));
    }
    return true;
  }));
  *terminated = std::move(r);
  return batch;
}

}  // namespace stepflow::engine
