#include "engine/pending_work.h"

#include <boost/json.hpp>

#include "engine/records.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

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

void DeleteTask(std::string_view id, std::uint64_t task_id, PendingWork& pending, storage::WriteBatch* batch) {
  auto it = pending.tasks.find(task_id);
  if (it == pending.tasks.end()) {
    return;
  }
  if (batch != nullptr) {
    batch->Delete(storage::Column::kTasks, TaskKey(it->second.resource, id, task_id));
  }
  pending.tasks.erase(it);
}

}  // namespace

std::string EncodeTaskRecord(const sm::TaskCommand& task) {
  json::object o{{"v", kRecordVersion}, {"state", task.state_name}, {"input", task.input}, {"attempt", task.attempt}, {"scheduled", task.scheduled}};
  if (task.timeout_seconds) {
    o["timeoutSeconds"] = *task.timeout_seconds;
  }
  if (task.heartbeat_seconds) {
    o["heartbeatSeconds"] = *task.heartbeat_seconds;
  }
  return json::serialize(o);
}

void TrackDecision(std::string_view id, const InputRecord& input, const sm::Decision& decision, PendingWork& pending,
                   storage::WriteBatch* batch) {
  switch (input.kind) {
    case InputRecord::Kind::kTimerFired:
      DeleteTimer(id, input.id, pending, batch);
      break;
    case InputRecord::Kind::kTaskSucceeded:
    case InputRecord::Kind::kTaskFailed:
      DeleteTask(id, input.id, pending, batch);
      break;
    default:
      break;
  }
  for (std::uint64_t timer_id : decision.timers_to_cancel) {
    DeleteTimer(id, timer_id, pending, batch);
  }
  for (std::uint64_t task_id : decision.tasks_to_cancel) {
    DeleteTask(id, task_id, pending, batch);
  }
  for (const sm::TimerCommand& t : decision.timers_to_start) {
    pending.timers[t.timer_id] = t.due;
    if (batch != nullptr) {
      batch->Put(storage::Column::kTimers, TimerKey(t.due, id, t.timer_id), "");
    }
  }
  for (const sm::TaskCommand& t : decision.tasks_to_schedule) {
    if (batch != nullptr) {
      batch->Put(storage::Column::kTasks, TaskKey(t.resource, id, t.task_id), EncodeTaskRecord(t));
    }
    pending.tasks[t.task_id] = t;
  }
}

}  // namespace stepflow::engine
