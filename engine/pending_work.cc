#include "engine/pending_work.h"

#include <boost/json.hpp>
#include <cmath>

#include "common/status.h"
#include "engine/proto_value.h"
#include "engine/records.h"
#include "engine/records_v1.h"
#include "stepflow/storage/v1/records.pb.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

// A task's TimeoutSeconds or HeartbeatSeconds as the engine writes it: finite and not negative.
bool IsStoredDuration(double seconds) { return std::isfinite(seconds) && seconds >= 0; }

void DeleteTimer(std::string_view id, std::uint64_t timer_id, PendingWork& pending, storage::WriteBatch* batch) {
  auto it = pending.timers.find(timer_id);
  if (it == pending.timers.end()) {
    return;
  }
  if (batch != nullptr) {
    batch->Delete(storage::Column::kTimers, TimerKey(it->second, id, timer_id));
  }
  pending.timers.erase(it);
}

}  // namespace

std::string EncodeTaskRecord(const sm::TaskCommand& task) {
  storage::v1::TaskRecord r;
  r.set_state(task.state_name);
  r.set_input(json::serialize(task.input));
  r.set_attempt(task.attempt);
  r.set_scheduled(task.scheduled);
  if (task.timeout_seconds) {
    r.set_timeout_seconds(*task.timeout_seconds);
  }
  if (task.heartbeat_seconds) {
    r.set_heartbeat_seconds(*task.heartbeat_seconds);
  }
  return EncodeProtoValue(r);
}

absl::StatusOr<sm::TaskCommand> DecodeTaskRecord(std::string_view value) {
  switch (ValueFormatOf(value)) {
    case ValueFormat::kJsonV1:
      return DecodeTaskRecordV1(value);
    case ValueFormat::kProtobufV2:
      break;
    case ValueFormat::kUnknown:
      return absl::DataLossError("task record of unknown format");
  }
  // As for dead letters: a message that does not parse whole is refused, not read half-filled.
  storage::v1::TaskRecord r;
  std::optional<json::value> input;
  if (!DecodeProtoValue(value, r) || !(input = ParseStoredJson(r.input()))) {
    return absl::DataLossError("malformed task record (version 2)");
  }
  sm::TaskCommand t;
  t.input = *std::move(input);
  if ((r.has_timeout_seconds() && !IsStoredDuration(r.timeout_seconds())) ||
      (r.has_heartbeat_seconds() && !IsStoredDuration(r.heartbeat_seconds()))) {
    return absl::DataLossError("malformed task record (version 2): a timeout that is not a finite, non-negative "
                               "number of seconds");
  }
  t.state_name = std::move(*r.mutable_state());
  t.attempt = r.attempt();
  t.scheduled = r.scheduled();
  if (r.has_timeout_seconds()) {
    t.timeout_seconds = r.timeout_seconds();
  }
  if (r.has_heartbeat_seconds()) {
    t.heartbeat_seconds = r.heartbeat_seconds();
  }
  return t;
}

void TrackDecision(std::string_view id, const InputRecord& input, const sm::Decision& decision, PendingWork& pending,
                   storage::WriteBatch* batch) {
  switch (input.kind) {
    case InputRecord::Kind::kTimerFired:
      DeleteTimer(id, input.id, pending, batch);
      break;
    case InputRecord::Kind::kTaskSucceeded:
    case InputRecord::Kind::kTaskFailed:
      pending.tasks.erase(input.id);
      break;
    default:
      break;
  }
  for (std::uint64_t timer_id : decision.timers_to_cancel) {
    DeleteTimer(id, timer_id, pending, batch);
  }
  for (std::uint64_t task_id : decision.tasks_to_cancel) {
    pending.tasks.erase(task_id);
  }
  for (const sm::TimerCommand& t : decision.timers_to_start) {
    pending.timers[t.timer_id] = t.due;
    if (batch != nullptr) {
      batch->Put(storage::Column::kTimers, TimerKey(t.due, id, t.timer_id), "");
    }
  }
  for (const sm::TaskCommand& t : decision.tasks_to_schedule) {
    pending.tasks[t.task_id] = t;
  }
}

absl::Status DeleteRetiredTaskRows(storage::Store& store) {
  constexpr std::size_t kRowsPerCommit = 1024;
  std::string after;  // the last key deleted: each scan starts past the tombstones of the commits before
  while (true) {
    storage::WriteBatch batch;
    std::size_t rows = 0;
    RETURN_IF_ERROR(store.Scan(storage::Column::kTasks, "", after, false, [&](std::string_view key, std::string_view) {
      after.assign(key);
      batch.Delete(storage::Column::kTasks, after);
      return ++rows < kRowsPerCommit;
    }));
    if (rows == 0) {
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(store.Commit(batch));
    if (rows < kRowsPerCommit) {
      return absl::OkStatus();
    }
  }
}

}  // namespace stepflow::engine
