// Task states: the effective input goes to a worker (or a mock); its result or error comes back as an
// input to the interpreter.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "statemachine/core/runner.h"

namespace stepflow::sm {
namespace json = boost::json;

namespace {

// The largest TimeoutSeconds/HeartbeatSeconds (the validator's limit for literals), also applied to the
// values their *Path fields select.
constexpr long long kMaxTaskSeconds = 99999999;

common::EpochMillis SecondsToMillis(double seconds) { return static_cast<common::EpochMillis>(seconds * 1000); }

// resourceType and resource, in an object with room for `members` in all.
json::object ResourceDetails(const State* s, std::size_t members) {
  json::object details;
  details.reserve(members);
  details.emplace("resourceType", s->task_resource.type);
  details.emplace("resource", s->task_resource.name);
  return details;
}

// The names of the history events of a Task state's work, by its Resource's family (TaskResource::Family).
struct TaskEventNames {
  using Family = TaskResource::Family;
  Family family;
  const char* scheduled;
  const char* started;
  const char* succeeded;
  const char* failed;
  const char* timed_out;
  // The details keys, in the same order ("" for LambdaFunctionStarted, which has none).
  const char* scheduled_key;
  const char* started_key;
  const char* succeeded_key;
  const char* failed_key;
  const char* timed_out_key;
};

constexpr TaskEventNames kTaskEvents{TaskEventNames::Family::kTask,
                                     "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskFailed", "TaskTimedOut",
                                     "taskScheduledEventDetails", "taskStartedEventDetails",
                                     "taskSucceededEventDetails", "taskFailedEventDetails",
                                     "taskTimedOutEventDetails"};
constexpr TaskEventNames kLambdaEvents{TaskEventNames::Family::kLambda,
                                       "LambdaFunctionScheduled", "LambdaFunctionStarted",
                                       "LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionTimedOut",
                                       "lambdaFunctionScheduledEventDetails", "",
                                       "lambdaFunctionSucceededEventDetails", "lambdaFunctionFailedEventDetails",
                                       "lambdaFunctionTimedOutEventDetails"};
constexpr TaskEventNames kActivityEvents{TaskEventNames::Family::kActivity,
                                         "ActivityScheduled", "ActivityStarted", "ActivitySucceeded",
                                         "ActivityFailed", "ActivityTimedOut",
                                         "activityScheduledEventDetails", "activityStartedEventDetails",
                                         "activitySucceededEventDetails", "activityFailedEventDetails",
                                         "activityTimedOutEventDetails"};

const TaskEventNames& EventsOf(const State* s, const ExecutionLimits& limits) {
  if (!limits.record_resource_events) {
    return kTaskEvents;
  }
  switch (s->task_resource.family) {
    case TaskResource::Family::kTask:
      break;
    case TaskResource::Family::kLambda:
      return kLambdaEvents;
    case TaskResource::Family::kActivity:
      return kActivityEvents;
  }
  return kTaskEvents;
}

// A Task* event written from the state's TaskResource (and `text`) instead of built as a JSON object.
TypedEventDetails TaskTyped(const State* s, TypedEventDetails::Shape shape, const char* type, const char* key,
                            SharedText text) {
  const TaskResource& r = s->task_resource;
  return TypedEventDetails{shape, type, key, r.details_prefix, std::move(text),
                           static_cast<std::int64_t>(r.type.size() + r.name.size())};
}

// A TaskScheduled's timeoutInSeconds or heartbeatInSeconds as the typed event keeps it: 0 for none, the whole
// seconds when they fit; nullopt when the event must be built as an object (it writes the value as it is).
std::optional<std::int32_t> TypedSeconds(const std::optional<double>& seconds) {
  if (!seconds) {
    return 0;
  }
  if (!(*seconds >= 1 && *seconds < 2147483648.0)) {  // [1, 2^31): the whole seconds fit an int32
    return std::nullopt;
  }
  return static_cast<std::int32_t>(*seconds);
}

// The details every event of a Task* family carries (resourceType, resource); none for the others.
// (`members`: the room to make for the details the event will have in all.)
json::object BaseDetails(const State* s, const TaskEventNames& names, std::size_t members = 4) {
  return names.family == TaskEventNames::Family::kTask ? ResourceDetails(s, members) : json::object();
}

}  // namespace

void Execution::Runner::RunTask(Frame* f) {
  const State* s = f->state;
  std::uint64_t task_id = ex_.next_id_++;
  if (absl::EndsWith(s->resource, ".waitForTaskToken")) {
    f->task_token = rv_ != nullptr ? rv_->TaskToken(ex_.info_.execution_arn, task_id)
                                   : UnsignedTaskToken(ex_.info_.execution_arn, task_id);
  }
  json::value input;
  if (f->task_input_override) {
    input = std::move(*f->task_input_override);  // a redriven dead letter's patched input
    f->task_input_override.reset();
  } else {
    Result<json::value> parameterized = ParameterizedInput(f);
    if (!parameterized.ok()) {
      f->task_token.clear();
      return FailState(f, parameterized.failure());
    }
    input = std::move(parameterized).value();
  }
  PathResolver resolve = MakeResolver(f, f->input());
  std::optional<Failure> path_failure;
  auto resolve_number = [&](const NumberOrPath& n, const char* field) -> std::optional<double> {
    if (n.value) {
      return n.value;
    }
    if (n.path && !path_failure) {  // the first failure decides
      PathValue v = resolve(*n.path);
      if (!v.ok()) {
        path_failure = v.failure();
      } else if (v.value() && v.value()->is_number()) {
        const double seconds = v.value()->to_number<double>();
        if (seconds >= 1 && seconds <= kMaxTaskSeconds) {
          return seconds;
        }
        // Out of range, the timer's deadline overflowed (or was in the past) and the task timed out at once.
        path_failure = Failure{errors::kRuntime,
                               absl::StrCat(RuntimeCausePrefix(Ref(f)), "The ", field, "Path field refers to value ",
                                            ToCompactJson(*v.value()), " which is not between 1 and ",
                                            kMaxTaskSeconds, ": ", n.path->text())};
      }
    }
    return std::nullopt;
  };
  TaskCommand cmd;
  cmd.task_id = task_id;
  cmd.state_name = s->name;
  cmd.resource = s->resource;
  cmd.attempt = f->retry_count;
  cmd.timeout_seconds = resolve_number(s->timeout_seconds, "TimeoutSeconds");
  cmd.heartbeat_seconds = resolve_number(s->heartbeat_seconds, "HeartbeatSeconds");
  if (s->language == QueryLanguage::kJsonata) {
    for (auto [n, field, out] : {std::tuple{&s->timeout_seconds, "TimeoutSeconds", &cmd.timeout_seconds},
                                 std::tuple{&s->heartbeat_seconds, "HeartbeatSeconds", &cmd.heartbeat_seconds}}) {
      Result<std::optional<double>> seconds = TaskSecondsJsonata(f, *n, field);
      if (!seconds.ok() && !path_failure) {
        path_failure = seconds.failure();
      } else if (seconds.ok()) {
        *out = seconds.value();
      }
    }
  }
  if (path_failure) {
    f->task_token.clear();
    return FailState(f, *path_failure);
  }
  std::optional<json::object> credentials;
  if (s->credentials.present()) {
    Result<json::object> evaluated = TaskCredentials(f);
    if (!evaluated.ok()) {
      f->task_token.clear();
      return FailState(f, evaluated.failure());
    }
    credentials = std::move(evaluated).value();
  }
  const TaskEventNames& names = EventsOf(s, ex_.limits_);
  // The usual TaskScheduled (the task family, no credentials, whole seconds) is written from the state's
  // TaskResource and the input's text (TypedEventDetails::Shape::kTaskScheduled); the others are built as objects.
  const std::optional<std::int32_t> typed_timeout = TypedSeconds(cmd.timeout_seconds);
  const std::optional<std::int32_t> typed_heartbeat = TypedSeconds(cmd.heartbeat_seconds);
  std::optional<TypedEventDetails> typed;
  json::object details;
  if (names.family == TaskEventNames::Family::kTask && !credentials && typed_timeout && typed_heartbeat) {
    typed = TaskTyped(s, TypedEventDetails::Shape::kTaskScheduled, names.scheduled, names.scheduled_key,
                      std::make_shared<const std::string>(ToCompactJson(input)));
    typed->timeout_seconds = *typed_timeout;
    typed->heartbeat_seconds = *typed_heartbeat;
  } else if (names.family == TaskEventNames::Family::kTask) {
    details = BaseDetails(s, names, /*members=*/7);
    details["region"] = std::string(kTaskEventRegion);
    details["parameters"] = ToCompactJson(input);
  } else {
    details["resource"] = s->resource;
    details["input"] = ToCompactJson(input);
    details["inputDetails"] = json::object{{"truncated", false}};
  }
  if (cmd.timeout_seconds && !typed) {
    details["timeoutInSeconds"] = static_cast<std::int64_t>(*cmd.timeout_seconds);
  }
  // AWS's LambdaFunctionScheduled has no heartbeat (a Lambda function cannot send one).
  if (cmd.heartbeat_seconds && !typed && names.family != TaskEventNames::Family::kLambda) {
    details["heartbeatInSeconds"] = static_cast<std::int64_t>(*cmd.heartbeat_seconds);
  }
  if (credentials) {
    details["taskCredentials"] = std::move(*credentials);
  }
  cmd.scheduled = now_;
  f->task_input = input;  // kept for a dead letter
  cmd.input = std::move(input);
  f->task_token.clear();
  f->pending_task = task_id;
  f->task_started = false;
  f->task_heartbeat = cmd.heartbeat_seconds;
  f->phase = Frame::Phase::kWaitTask;
  ex_.tasks_[task_id] = f->id;
  TaskAttempt attempt;
  attempt.task_id = task_id;
  attempt.attempt = f->retry_count;
  attempt.scheduled = now_;
  f->task_attempts.push_back(std::move(attempt));
  if (cmd.timeout_seconds) {
    f->task_timeout_timer = StartTimer(f, TimerInfo::Kind::kTaskTimeout, now_ + SecondsToMillis(*cmd.timeout_seconds));
    ex_.timers_[f->task_timeout_timer]->task = task_id;
  }
  d_.tasks_to_schedule.push_back(std::move(cmd));
  // Last: when this event reaches the history limit, ending the execution withdraws the task again.
  if (typed) {
    EmitTyped(f, *std::move(typed));
  } else {
    Emit(f, names.scheduled, names.scheduled_key, std::move(details));
  }
}

Result<json::object> Execution::Runner::TaskCredentials(Frame* f) {
  const State* s = f->state;
  Result<json::value> evaluated = json::value();
  if (s->language == QueryLanguage::kJsonata) {
    evaluated = EvaluateJsonata(s->credentials, StatesOf(f, f->input()), *rv_, Ref(f), "Credentials");
  } else {
    Result<json::value> input = SelectInput(f);
    if (!input.ok()) {
      return input.failure();
    }
    evaluated = ApplyTemplate(s->credentials, MakeResolver(f, input.value()), *rv_, Ref(f));
  }
  if (!evaluated.ok()) {
    return evaluated.failure();
  }
  json::object out;
  if (const json::object* o = evaluated.value().if_object()) {
    if (const json::value* role = o->if_contains("RoleArn")) {
      out["roleArn"] = role->is_string() ? *role : json::value(ToCompactJson(*role));
    }
  }
  return out;
}

void Execution::Runner::TaskStarted(std::uint64_t frame_id, std::uint64_t task_id, const std::string& worker) {
  Frame* f = FindFrame(frame_id);
  if (f == nullptr || f->pending_task != task_id || f->task_started) {
    return;
  }
  f->task_started = true;
  if (!f->task_attempts.empty()) {
    f->task_attempts.back().started = now_;
    f->task_attempts.back().worker = worker;
  }
  if (f->task_heartbeat && f->heartbeat_timer == 0) {
    TaskHeartbeat(frame_id, task_id);
  }
  const TaskEventNames& names = EventsOf(f->state, ex_.limits_);
  if (names.family == TaskEventNames::Family::kTask) {
    EmitTyped(f, TaskTyped(f->state, TypedEventDetails::Shape::kTaskStarted, names.started, names.started_key, nullptr));
    return;
  }
  json::object details = BaseDetails(f->state, names);
  if (names.family == TaskEventNames::Family::kActivity && !worker.empty()) {
    details["workerName"] = worker;
  }
  Emit(f, names.started, names.started_key, std::move(details));
}

void Execution::Runner::TaskHeartbeat(std::uint64_t frame_id, std::uint64_t task_id) {
  Frame* f = FindFrame(frame_id);
  if (f == nullptr || f->pending_task != task_id || !f->task_heartbeat) {
    return;
  }
  DropTimer(&f->heartbeat_timer);
  f->heartbeat_timer = StartTimer(f, TimerInfo::Kind::kHeartbeatTimeout, now_ + SecondsToMillis(*f->task_heartbeat));
  ex_.timers_[f->heartbeat_timer]->task = task_id;
}

void Execution::Runner::TaskTimedOut(Frame* f, const TimerInfo& timer) {
  if (f->pending_task != timer.task) {
    return;
  }
  const bool heartbeat = timer.kind == TimerInfo::Kind::kHeartbeatTimeout;
  // The fired timer is already gone from the execution; CloseTask withdraws the other one.
  (heartbeat ? f->heartbeat_timer : f->task_timeout_timer) = 0;
  const std::uint64_t task_id = f->pending_task;
  ex_.tasks_.erase(task_id);
  CloseTask(f, TaskStanding::kTimedOut);
  CancelTask(task_id);  // the worker's lease ends: a late result is refused
  Failure failure{heartbeat ? errors::kHeartbeatTimeout : errors::kTimeout, ""};
  if (!f->task_attempts.empty()) {
    f->task_attempts.back().ended = now_;
    f->task_attempts.back().error = failure.error;
  }
  const TaskEventNames& names = EventsOf(f->state, ex_.limits_);
  json::object details = BaseDetails(f->state, names);
  details["error"] = failure.error;
  Emit(f, names.timed_out, names.timed_out_key, std::move(details));
  if (!running()) {
    return;
  }
  FailState(f, failure, FailureOrigin::kTaskAttempt);
}

void Execution::Runner::TaskSucceeded(std::uint64_t frame_id, const json::value& output) {
  Frame* f = FindFrame(frame_id);
  if (f == nullptr) {
    return;
  }
  CloseTask(f, TaskStanding::kAnswered);
  f->task_input = json::value();
  const TaskEventNames& names = EventsOf(f->state, ex_.limits_);
  // Serialized once: for the event and for the size check.
  SharedText output_text = std::make_shared<const std::string>(ToCompactJson(output));
  const std::size_t output_bytes = output_text->size();
  if (names.family == TaskEventNames::Family::kTask) {
    EmitTyped(f, TaskTyped(f->state, TypedEventDetails::Shape::kTaskSucceeded, names.succeeded, names.succeeded_key,
                           std::move(output_text)));
  } else {
    json::object details = BaseDetails(f->state, names);
    details["output"] = *output_text;
    details["outputDetails"] = json::object{{"truncated", false}};
    Emit(f, names.succeeded, names.succeeded_key, std::move(details));
  }
  if (!running()) {
    return;
  }
  if (CheckSizeBytes(f, output_bytes)) {
    FinishWithResult(f, output);
  }
  Drain();
}

void Execution::Runner::TaskFailed(std::uint64_t frame_id, const Failure& failure) {
  Frame* f = FindFrame(frame_id);
  if (f == nullptr) {
    return;
  }
  CloseTask(f, TaskStanding::kAnswered);
  if (!f->task_attempts.empty()) {
    f->task_attempts.back().ended = now_;
    f->task_attempts.back().error = failure.error;
    f->task_attempts.back().cause = failure.cause;
  }
  const TaskEventNames& names = EventsOf(f->state, ex_.limits_);
  json::object details = BaseDetails(f->state, names);
  if (!failure.error.empty()) {
    details["error"] = failure.error;
  }
  if (!failure.cause.empty()) {
    details["cause"] = failure.cause;
  }
  Emit(f, names.failed, names.failed_key, std::move(details));
  if (!running()) {
    return;
  }
  FailState(f, failure, FailureOrigin::kTaskAttempt);
  Drain();
}

}  // namespace stepflow::sm
