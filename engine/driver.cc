#include "engine/driver.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/records.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

std::string ExecutionRecord(const sm::ExecutionInfo& info, const sm::Execution& e, common::EpochMillis now) {
  json::object o;
  o["v"] = kRecordVersion;
  o["id"] = info.execution_arn;
  o["name"] = info.name;
  o["stateMachine"] = info.state_machine_arn;
  o["status"] = sm::ExecutionStatusName(e.status());
  o["startTime"] = info.start_time;
  if (e.status() != sm::ExecutionStatus::kRunning) {
    o["stopTime"] = now;
  }
  if (e.status() == sm::ExecutionStatus::kSucceeded) {
    o["output"] = e.output();
  } else if (e.status() != sm::ExecutionStatus::kRunning) {
    o["error"] = e.error();
    o["cause"] = e.cause();
  }
  o["lastEventId"] = e.last_event_id();
  return json::serialize(o);
}

}  // namespace

Driver::Driver(storage::Store* store, common::Clock* clock, TaskDispatcher* dispatcher, sm::RuntimeValues* runtime,
               DriverOptions options)
    : store_(store), clock_(clock), dispatcher_(dispatcher), runtime_(runtime), options_(options) {}

absl::Status Driver::Start(std::shared_ptr<const sm::StateMachine> machine, sm::ExecutionInfo info,
                           const json::value& input) {
  const std::string id = info.execution_arn;
  if (executions_.count(id) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("ExecutionAlreadyExists: ", id));
  }
  Entry& entry = executions_[id];
  entry.info = info;
  entry.execution = std::make_unique<sm::Execution>(std::move(machine), std::move(info), options_.limits);
  return Apply(id, entry, entry.execution->Start(input, clock_->NowMillis(), *runtime_));
}

absl::Status Driver::Apply(const std::string& id, Entry& entry, absl::StatusOr<sm::Decision> decision) {
  if (!decision.ok()) {
    return decision.status();
  }
  const common::EpochMillis now = clock_->NowMillis();
  storage::WriteBatch batch;
  for (const sm::HistoryEvent& e : decision->events) {
    batch.Put(storage::Column::kHistory, HistoryKey(id, e.id), sm::SerializeHistoryEvent(e));
  }
  batch.Put(storage::Column::kExecutions, id, ExecutionRecord(entry.info, *entry.execution, now));
  for (const sm::TimerCommand& t : decision->timers_to_start) {
    batch.Put(storage::Column::kTimers, TimerKey(t.due, id, t.timer_id), "");
  }
  for (std::uint64_t timer_id : decision->timers_to_cancel) {
    auto it = entry.timer_due.find(timer_id);
    if (it != entry.timer_due.end()) {
      batch.Delete(storage::Column::kTimers, TimerKey(it->second, id, timer_id));
    }
  }
  for (const sm::TaskCommand& t : decision->tasks_to_schedule) {
    json::object task{{"v", kRecordVersion}, {"state", t.state_name}, {"input", t.input}, {"attempt", t.attempt}};
    batch.Put(storage::Column::kTasks, TaskKey(t.resource, id, t.task_id), json::serialize(task));
  }
  RETURN_IF_ERROR(store_->Commit(batch));

  // Only after the commit: arm timers, cancel, dispatch.
  for (std::uint64_t timer_id : decision->timers_to_cancel) {
    auto it = entry.timer_due.find(timer_id);
    if (it != entry.timer_due.end()) {
      timers_.erase({it->second, id, timer_id});
      entry.timer_due.erase(it);
    }
  }
  for (const sm::TimerCommand& t : decision->timers_to_start) {
    entry.timer_due[t.timer_id] = t.due;
    timers_.insert({t.due, id, t.timer_id});
  }
  for (std::uint64_t task_id : decision->tasks_to_cancel) {
    dispatcher_->Cancel(id, task_id);
  }
  for (sm::TaskCommand& t : decision->tasks_to_schedule) {
    TaskDispatch dispatch{id, t.task_id, t.state_name, t.resource, std::move(t.input), t.attempt};
    RETURN_IF_ERROR(dispatcher_->Dispatch(dispatch));
  }
  return absl::OkStatus();
}

absl::Status Driver::ApplyInput(const DriverInput& input) {
  auto it = executions_.find(input.execution_id);
  if (it == executions_.end()) {
    return absl::NotFoundError(absl::StrCat("ExecutionDoesNotExist: ", input.execution_id));
  }
  Entry& entry = it->second;
  sm::Execution& e = *entry.execution;
  const common::EpochMillis now = clock_->NowMillis();
  absl::StatusOr<sm::Decision> d;
  switch (input.kind) {
    case DriverInput::Kind::kTaskStarted:
      d = e.OnTaskStarted(input.task_id, now);
      break;
    case DriverInput::Kind::kTaskSucceeded:
      d = e.OnTaskSucceeded(input.task_id, input.output, now, *runtime_);
      break;
    case DriverInput::Kind::kTaskFailed:
      d = e.OnTaskFailed(input.task_id, input.error, input.cause, now, *runtime_);
      break;
  }
  if (absl::IsNotFound(d.status())) {
    return absl::OkStatus();  // a stale or duplicate result: nothing to do
  }
  return Apply(input.execution_id, entry, std::move(d));
}

absl::Status Driver::ProcessInbox() {
  while (!inbox_.empty()) {
    DriverInput input = std::move(inbox_.front());
    inbox_.pop_front();
    RETURN_IF_ERROR(ApplyInput(input));
  }
  return absl::OkStatus();
}

absl::Status Driver::FireDueTimers() {
  const common::EpochMillis now = clock_->NowMillis();
  while (!timers_.empty() && std::get<0>(*timers_.begin()) <= now) {
    auto [due, id, timer_id] = *timers_.begin();
    timers_.erase(timers_.begin());
    auto it = executions_.find(id);
    if (it == executions_.end()) {
      continue;
    }
    Entry& entry = it->second;
    entry.timer_due.erase(timer_id);
    absl::StatusOr<sm::Decision> d = entry.execution->OnTimerFired(timer_id, now, *runtime_);
    if (absl::IsNotFound(d.status())) {
      continue;
    }
    if (d.ok()) {
      // The fired timer's row goes in the same batch as the events it caused.
      d->timers_to_cancel.push_back(timer_id);
      entry.timer_due[timer_id] = due;
    }
    RETURN_IF_ERROR(Apply(id, entry, std::move(d)));
    RETURN_IF_ERROR(ProcessInbox());
  }
  return absl::OkStatus();
}

std::optional<common::EpochMillis> Driver::NextTimerDue() const {
  if (timers_.empty()) {
    return std::nullopt;
  }
  return std::get<0>(*timers_.begin());
}

absl::Status Driver::Stop(const std::string& execution_id, const std::string& error, const std::string& cause) {
  auto it = executions_.find(execution_id);
  if (it == executions_.end()) {
    return absl::NotFoundError(absl::StrCat("ExecutionDoesNotExist: ", execution_id));
  }
  return Apply(execution_id, it->second, it->second.execution->Stop(error, cause, clock_->NowMillis()));
}

const sm::Execution* Driver::Find(const std::string& execution_id) const {
  auto it = executions_.find(execution_id);
  return it == executions_.end() ? nullptr : it->second.execution.get();
}

absl::StatusOr<std::vector<json::object>> Driver::ReadHistory(const std::string& execution_id) const {
  std::vector<json::object> events;
  absl::Status parse_error;
  RETURN_IF_ERROR(store_->Scan(storage::Column::kHistory, HistoryPrefix(execution_id), "", false,
                               [&](std::string_view key, std::string_view value) {
                                 boost::system::error_code ec;
                                 json::value v = json::parse(value, ec);
                                 if (ec || !v.is_object()) {
                                   parse_error = absl::DataLossError(
                                       absl::StrCat("corrupt history event for ", execution_id));
                                   return false;
                                 }
                                 events.push_back(std::move(v.as_object()));
                                 return true;
                               }));
  RETURN_IF_ERROR(parse_error);
  return events;
}

}  // namespace stepflow::engine
