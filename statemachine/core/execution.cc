#include "statemachine/core/execution.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "statemachine/core/dataflow.h"
#include "statemachine/core/execution_internal.h"
#include "statemachine/json_text.h"
#include "statemachine/core/runner.h"

namespace stepflow::sm {
namespace json = boost::json;

const char* ExecutionStatusName(ExecutionStatus s) {
  switch (s) {
    case ExecutionStatus::kRunning: return "RUNNING";
    case ExecutionStatus::kSucceeded: return "SUCCEEDED";
    case ExecutionStatus::kFailed: return "FAILED";
    case ExecutionStatus::kTimedOut: return "TIMED_OUT";
    case ExecutionStatus::kAborted: return "ABORTED";
  }
  return "UNKNOWN";
}

Execution::Execution(std::shared_ptr<const StateMachine> machine, ExecutionInfo info, ExecutionLimits limits)
    : machine_(std::move(machine)), info_(std::move(info)), limits_(limits) {}

Execution::~Execution() = default;

const std::shared_ptr<const json::value>& Execution::NullDocument() {
  static const auto* const null = new std::shared_ptr<const json::value>(std::make_shared<const json::value>());
  return *null;
}

void Execution::AppendOutputText(std::string& out) const {
  if (output_text_ != nullptr) {
    out += *output_text_;
  } else {
    AppendAwsJson(out, *output_);
  }
}

absl::StatusOr<Decision> Execution::Start(const json::value& input, common::EpochMillis now, RuntimeValues& rv) {
  return Start(std::make_shared<const json::value>(input), now, rv);
}

absl::StatusOr<Decision> Execution::Start(json::value&& input, common::EpochMillis now, RuntimeValues& rv) {
  return Start(std::make_shared<const json::value>(std::move(input)), now, rv);
}

absl::StatusOr<Decision> Execution::Start(std::shared_ptr<const json::value> input, common::EpochMillis now,
                                          RuntimeValues& rv) {
  if (started_) {
    return absl::FailedPreconditionError("execution already started");
  }
  if (input == nullptr) {
    return absl::InvalidArgumentError("execution input: no document");
  }
  started_ = true;
  input_ = std::move(input);
  Decision d;
  Runner runner(*this, d, now, &rv);
  runner.StartExecution();
  return d;
}

absl::StatusOr<Decision> Execution::OnTaskStarted(std::uint64_t task_id, common::EpochMillis now,
                                                  const std::string& worker) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || status_ != ExecutionStatus::kRunning) {
    return absl::NotFoundError(absl::StrCat("task ", task_id, " is not pending"));
  }
  Decision d;
  Runner runner(*this, d, now, nullptr);
  runner.TaskStarted(it->second, task_id, worker);
  return d;
}

absl::StatusOr<Decision> Execution::OnTaskHeartbeat(std::uint64_t task_id, common::EpochMillis now) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || status_ != ExecutionStatus::kRunning) {
    return absl::NotFoundError(absl::StrCat("task ", task_id, " is not pending"));
  }
  Decision d;
  Runner runner(*this, d, now, nullptr);
  runner.TaskHeartbeat(it->second, task_id);
  return d;
}

TaskStanding Execution::task_standing(std::uint64_t task_id) const {
  if (auto pending = tasks_.find(task_id); pending != tasks_.end()) {
    auto frame = frames_.find(pending->second);
    return frame != frames_.end() && frame->second->task_started ? TaskStanding::kStarted : TaskStanding::kPending;
  }
  auto it = closed_tasks_.find(task_id);
  return it == closed_tasks_.end() ? TaskStanding::kUnknown : it->second;
}

absl::StatusOr<Decision> Execution::OnTaskSucceeded(std::uint64_t task_id, const json::value& output,
                                                    common::EpochMillis now, RuntimeValues& rv) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || status_ != ExecutionStatus::kRunning) {
    return absl::NotFoundError(absl::StrCat("task ", task_id, " is not pending"));
  }
  std::uint64_t frame = it->second;
  tasks_.erase(it);
  Decision d;
  Runner runner(*this, d, now, &rv);
  runner.TaskSucceeded(frame, output);
  return d;
}

absl::StatusOr<Decision> Execution::OnTaskFailed(std::uint64_t task_id, const std::string& error,
                                                 const std::string& cause, common::EpochMillis now,
                                                 RuntimeValues& rv) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || status_ != ExecutionStatus::kRunning) {
    return absl::NotFoundError(absl::StrCat("task ", task_id, " is not pending"));
  }
  std::uint64_t frame = it->second;
  tasks_.erase(it);
  Decision d;
  Runner runner(*this, d, now, &rv);
  runner.TaskFailed(frame, Failure{error, cause});
  return d;
}

absl::StatusOr<Decision> Execution::OnTimerFired(std::uint64_t timer_id, common::EpochMillis now, RuntimeValues& rv) {
  auto it = timers_.find(timer_id);
  if (it == timers_.end() || status_ != ExecutionStatus::kRunning) {
    return absl::NotFoundError(absl::StrCat("timer ", timer_id, " is not pending"));
  }
  TimerInfo info = *it->second;
  timers_.erase(it);
  timer_storage_.erase(timer_id);
  Decision d;
  Runner runner(*this, d, now, &rv);
  runner.TimerFired(info);
  return d;
}

absl::StatusOr<Decision> Execution::Continue(common::EpochMillis now, RuntimeValues& rv) {
  if (!started_ || !yielded()) {
    return absl::FailedPreconditionError("the execution has nothing to continue");
  }
  Decision d;
  Runner runner(*this, d, now, &rv);
  runner.Continue();
  return d;
}

absl::StatusOr<Decision> Execution::Stop(const std::string& error, const std::string& cause, common::EpochMillis now) {
  if (status_ != ExecutionStatus::kRunning || !started_) {
    return absl::FailedPreconditionError(
        absl::StrCat("execution is not running (status ", ExecutionStatusName(status_), ")"));
  }
  Decision d;
  Runner runner(*this, d, now, nullptr);
  runner.EndExecution(ExecutionStatus::kAborted, Failure{error, cause});
  return d;
}

absl::StatusOr<Decision> Execution::Redrive(common::EpochMillis now, RuntimeValues& rv,
                                            const RedrivenDeadLetters& dead_letters) {
  if (!started_ || status_ == ExecutionStatus::kRunning || status_ == ExecutionStatus::kSucceeded) {
    return absl::FailedPreconditionError(absl::StrCat("the execution is ", ExecutionStatusName(status_),
                                                      "; only FAILED, TIMED_OUT and ABORTED executions can be redriven"));
  }
  if (info_.express) {
    return absl::FailedPreconditionError("EXPRESS executions cannot be redriven");
  }
  Decision d;
  Runner runner(*this, d, now, &rv);
  runner.Redrive(dead_letters);
  return d;
}

absl::StatusOr<Decision> Execution::RecordDeadLetterDiscarded(std::uint64_t task_id, const std::string& state_name,
                                                              common::EpochMillis now) {
  if (!started_) {
    return absl::FailedPreconditionError("the execution has not started");
  }
  Decision d;
  Runner runner(*this, d, now, nullptr);
  runner.DeadLetterDiscarded(task_id, state_name);
  return d;
}

}  // namespace stepflow::sm
