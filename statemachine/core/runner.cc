#include "statemachine/core/runner.h"
#include "statemachine/json_text.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "statemachine/json_path.h"

namespace stepflow::sm {
namespace json = boost::json;

namespace {

// What an event costs besides its details' strings, for ExecutionLimits::max_decision_history_bytes.
constexpr std::size_t kEventOverheadBytes = 64;

bool Uncatchable(const std::string& error) {
  return error == errors::kRuntime || error == errors::kDataLimitExceeded;
}

bool ErrorMatches(const std::vector<std::string>& names, const std::string& error) {
  for (const std::string& name : names) {
    if (name == error) {
      return true;
    }
    if (name == errors::kAll) {
      return true;
    }
    if (name == errors::kTaskFailed && error != errors::kTimeout) {
      return true;
    }
  }
  return false;
}

// "<Type>StateEntered" / "<Type>StateExited", built once per state type instead of per event.
const std::string& StateEventType(StateType type, bool entered) {
  static const auto* names = [] {
    auto* table = new std::array<std::array<std::string, 2>, kStateTypeCount>();
    for (std::size_t t = 0; t < kStateTypeCount; ++t) {
      const char* name = StateTypeName(static_cast<StateType>(t));
      (*table)[t] = {absl::StrCat(name, "StateExited"), absl::StrCat(name, "StateEntered")};
    }
    return table;
  }();
  return (*names)[static_cast<std::size_t>(type)][entered ? 1 : 0];
}

}  // namespace

std::int64_t Execution::Runner::Emit(Frame* f, std::string type, std::string details_key, json::object details) {
  HistoryEvent& e = d_.events.emplace_back();
  e.type = std::move(type);
  e.details_key = std::move(details_key);
  e.details = std::move(details);
  return Stamp(f, e);
}

std::int64_t Execution::Runner::EmitTyped(Frame* f, TypedEventDetails typed) {
  HistoryEvent& e = d_.events.emplace_back();
  e.typed = std::move(typed);
  if (!ex_.keep_typed_events_) {
    MaterializeEvent(e);
  }
  return Stamp(f, e);
}

void Execution::Runner::ReserveEvents(std::size_t more) {
  constexpr std::size_t kMaxReserved = 4096;  // a guess: never more than this ahead of the events there are
  d_.events.reserve(d_.events.size() + std::min(more, kMaxReserved));
}

std::int64_t Execution::Runner::Stamp(Frame* f, HistoryEvent& e) {
  const std::int64_t id = ex_.next_event_id_++;
  e.id = id;
  e.previous_event_id = f != nullptr ? f->last_event_id : id - 1;
  e.timestamp = now_;
  // Inputs and outputs are what make events large.
  history_bytes_ += kEventOverheadBytes + e.type_name().size() + EventDetailsStringBytes(e);
  if (f != nullptr) {
    f->last_event_id = id;
  }
  // `e` is not used past this point: the end of the execution appends to the same vector.
  if (running() && ex_.next_event_id_ >= ex_.limits_.max_history_events) {
    EndExecution(ExecutionStatus::kFailed,
                 Failure{errors::kRuntime, absl::StrCat("The execution reached the maximum number of history events (",
                                                        ex_.limits_.max_history_events, ").")});
  }
  return id;
}

Execution::Frame* Execution::Runner::NewFrame(std::uint64_t parent, std::size_t child_index,
                                              const StateMachine* machine, json::value input,
                                              json::object variables) {
  auto frame = std::make_unique<Frame>();
  frame->id = ex_.next_id_++;
  frame->parent = parent;
  frame->child_index = child_index;
  frame->machine = machine;
  frame->state = machine->Find(machine->start_at);
  frame->owned_input = std::move(input);
  frame->variables = std::move(variables);
  Frame* raw = frame.get();
  if (parent != 0) {
    raw->last_event_id = FindFrame(parent)->last_event_id;
  } else {
    raw->last_event_id = 0;  // AWS records the first state's entry with previousEventId 0
  }
  ex_.frames_.emplace(raw->id, std::move(frame));
  return raw;
}

Execution::Frame* Execution::Runner::FindFrame(std::uint64_t id) {
  auto it = ex_.frames_.find(id);
  return it == ex_.frames_.end() ? nullptr : it->second.get();
}

std::uint64_t Execution::Runner::StartTimer(Frame* f, TimerInfo::Kind kind, common::EpochMillis due) {
  auto timer = std::make_unique<TimerInfo>();
  timer->id = ex_.next_id_++;
  timer->kind = kind;
  timer->frame = f != nullptr ? f->id : 0;
  std::uint64_t id = timer->id;
  ex_.timers_[id] = timer.get();
  ex_.timer_storage_.emplace(id, std::move(timer));
  d_.timers_to_start.push_back(TimerCommand{id, due});
  return id;
}

void Execution::Runner::CancelTask(std::uint64_t task_id) {
  auto it = std::find_if(d_.tasks_to_schedule.begin(), d_.tasks_to_schedule.end(),
                         [task_id](const TaskCommand& t) { return t.task_id == task_id; });
  if (it != d_.tasks_to_schedule.end()) {
    d_.tasks_to_schedule.erase(it);
    return;
  }
  d_.tasks_to_cancel.push_back(task_id);
}

void Execution::Runner::CancelTimer(std::uint64_t timer_id) {
  auto it = std::find_if(d_.timers_to_start.begin(), d_.timers_to_start.end(),
                         [timer_id](const TimerCommand& t) { return t.timer_id == timer_id; });
  if (it != d_.timers_to_start.end()) {
    d_.timers_to_start.erase(it);
    return;
  }
  d_.timers_to_cancel.push_back(timer_id);
}

void Execution::Runner::DropTimer(std::uint64_t* timer_id) {
  if (*timer_id == 0) {
    return;
  }
  ex_.timers_.erase(*timer_id);
  ex_.timer_storage_.erase(*timer_id);
  CancelTimer(*timer_id);
  *timer_id = 0;
}

void Execution::Runner::CloseTask(Frame* f, TaskStanding how) {
  if (f->pending_task == 0) {
    return;
  }
  ex_.closed_tasks_[f->pending_task] = how;
  f->pending_task = 0;
  DropTimer(&f->task_timeout_timer);
  DropTimer(&f->heartbeat_timer);
}

void Execution::Runner::CancelFrameTree(Frame* f) {
  for (std::uint64_t child_id : f->child_frames) {
    if (Frame* child = FindFrame(child_id)) {
      CancelFrameTree(child);
    }
  }
  f->child_frames.clear();
  if (f->pending_task != 0) {
    std::uint64_t task_id = f->pending_task;
    ex_.tasks_.erase(task_id);
    CloseTask(f, TaskStanding::kCancelled);
    CancelTask(task_id);
  }
  DropTimer(&f->pending_timer);
  f->phase = Frame::Phase::kDone;
  if (f->parent != 0) {
    ex_.frames_.erase(f->id);  // `f` is dangling from here on
  }
}

void Execution::Runner::StartExecution() {
  // Each state entered adds two events: room for ExecutionStarted, a pass through every state and the end, so
  // that a chain's events are not moved again and again as the vector grows.
  ReserveEvents(2 * ex_.machine_->states.size() + 2);
  SharedText input_text;
  EmitTyped(nullptr, ExecutionStartedDetails(ToCompactJson(*ex_.input_), ex_.info_.role_arn, ex_.info_.alias_arn,
                                             ex_.info_.version_arn, &input_text));
  const std::size_t input_bytes = input_text->size();
  if (input_bytes > ex_.limits_.max_payload_bytes) {
    EndExecution(ExecutionStatus::kFailed,
                 Failure{errors::kDataLimitExceeded,
                         "The execution input exceeds the maximum number of bytes service limit."});
    return;
  }
  if (ex_.machine_->timeout_seconds) {
    StartTimer(nullptr, TimerInfo::Kind::kExecutionTimeout, now_ + *ex_.machine_->timeout_seconds * 1000);
  }
  // The first state reads the execution's input where it is: no copy until a state makes an output of its own.
  Frame* root = NewFrame(0, 0, ex_.machine_.get(), json::value(), ex_.initial_variables_);
  root->shared_input = ex_.input_;
  root->raw_input_text = std::move(input_text);  // the first StateEntered's input: serialized once
  ready_.push_back(root->id);
  Drain();
}

void Execution::Runner::Drain() {
  while (!ready_.empty() && running()) {
    if (OverBudget()) {
      return;  // yielded: the engine continues in a later turn
    }
    Frame* f = FindFrame(ready_.front());
    ready_.pop_front();
    if (f == nullptr || f->phase != Frame::Phase::kEnter) {
      continue;
    }
    ++transitions_;
    EnterState(f);
  }
  if (!running()) {
    ready_.clear();
  }
}

bool Execution::Runner::OverBudget() const {
  const ExecutionLimits& l = ex_.limits_;
  return (l.max_transitions_per_decision != 0 && transitions_ >= l.max_transitions_per_decision) ||
         (l.max_decision_history_bytes != 0 && history_bytes_ >= l.max_decision_history_bytes);
}

void Execution::Runner::EnterState(Frame* f) {
  f->phase = Frame::Phase::kRunning;
  f->retry_attempts.assign(f->state->retry.size(), 0);
  f->retry_count = 0;
  f->task_attempts.clear();
  f->children_started = false;
  f->resume_points.clear();
  f->entered_time = now_;
  if (f->raw_input_text == nullptr) {
    f->raw_input_text = std::make_shared<const std::string>(ToCompactJson(f->input()));
  }
  TypedEventDetails entered{TypedEventDetails::Shape::kStateEntered, StateEventType(f->state->type, true),
                            "stateEnteredEventDetails", f->state->name, f->raw_input_text, 0};
  if (!f->state->passes_input_through) {
    f->raw_input_text.reset();  // only a state whose output is its input uses it again (ExitState)
  }
  f->entered_event_id = EmitTyped(f, std::move(entered));
  if (!running()) {
    return;
  }
  ExecuteState(f);
}

void Execution::Runner::ExecuteState(Frame* f) {
  f->phase = Frame::Phase::kRunning;
  switch (f->state->type) {
    case StateType::kPass: return RunPass(f);
    case StateType::kChoice:
      return f->state->language == QueryLanguage::kJsonata ? RunChoiceJsonata(f) : RunChoice(f);
    case StateType::kWait: return RunWait(f);
    case StateType::kSucceed: return RunSucceed(f);
    case StateType::kFail: return f->state->language == QueryLanguage::kJsonata ? RunFailJsonata(f) : RunFail(f);
    case StateType::kTask: return RunTask(f);
    case StateType::kParallel: return RunParallel(f);
    case StateType::kMap: return RunMap(f);
  }
}

bool Execution::Runner::CheckSizeBytes(Frame* f, std::size_t compact_bytes) {
  if (compact_bytes <= ex_.limits_.max_payload_bytes) {
    return true;
  }
  FailState(f, Failure{errors::kDataLimitExceeded,
                       absl::StrCat("The state/task '", f->state->name,
                                    "' returned a result with a size exceeding the maximum number of bytes "
                                    "service limit.")});
  return false;
}

Result<json::value> Execution::Runner::SelectInput(Frame* f) {
  Result<json::value> input = ApplySelectPath(f->state->input_path, f->input(), MakeResolver(f, f->input()), Ref(f));
  if (StateInspection* inspection = Inspecting(f); inspection != nullptr && input.ok()) {
    inspection->after_input_path = input.value();
  }
  return input;
}

Result<json::value> Execution::Runner::ParameterizedInput(Frame* f) {
  StateInspection* inspection = Inspecting(f);
  if (f->state->language == QueryLanguage::kJsonata) {  // Arguments, against $states.input
    Result<json::value> arguments =
        f->state->parameters.present()
            ? EvaluateJsonata(f->state->parameters, StatesOf(f, f->input()), *rv_, Ref(f), "Arguments")
            : Result<json::value>(f->input());
    if (inspection != nullptr && arguments.ok()) {
      inspection->after_arguments = arguments.value();
    }
    return arguments;
  }
  Result<json::value> input = SelectInput(f);
  if (!input.ok() || !f->state->parameters.present()) {
    if (inspection != nullptr && input.ok()) {
      inspection->after_parameters = input.value();
    }
    return input;
  }
  Result<json::value> parameters = ApplyTemplate(f->state->parameters, MakeResolver(f, input.value()), *rv_, Ref(f));
  if (inspection != nullptr && parameters.ok()) {
    inspection->after_parameters = parameters.value();
  }
  return parameters;
}

void Execution::Runner::CompleteState(Frame* f, json::value output, const std::string* next_name) {
  // Once, for the size check and the events.
  SharedText output_text = std::make_shared<const std::string>(ToCompactJson(output));
  ExitState(f, &output, std::move(output_text), next_name);
}

void Execution::Runner::ExitState(Frame* f, json::value* output, SharedText output_text,
                                  const std::string* next_name) {
  if (!CheckSizeBytes(f, output_text->size())) {
    return;
  }
  const State* s = f->state;
  if (StateInspection* inspection = Inspecting(f)) {
    inspection->exited = true;
    inspection->output = output != nullptr ? *output : f->input();
    const bool ends = next_name == nullptr && (s->end || s->type == StateType::kSucceed);
    inspection->next_state = ends ? std::string() : next_name != nullptr ? *next_name : s->next;
    inspection->variables = f->variables;
  }
  if (s->type != StateType::kFail) {
    const bool assigned = !f->assigned.empty() && ex_.limits_.record_assigned_variables;
    if (assigned) {
      json::object details(5);
      details.emplace("name", s->name);
      details.emplace("output", *output_text);
      details.emplace("outputDetails", json::object{{"truncated", false}});
      // As AWS records them: each variable's value as JSON text.
      json::object values(f->assigned.size());
      for (const auto& [name, value] : f->assigned) {
        values.emplace(name, ToCompactJson(value));
      }
      details.emplace("assignedVariables", std::move(values));
      details.emplace("assignedVariablesDetails", json::object{{"truncated", false}});
      Emit(f, StateEventType(s->type, false), "stateExitedEventDetails", std::move(details));
    } else {
      EmitTyped(f, TypedEventDetails{TypedEventDetails::Shape::kStateExited, StateEventType(s->type, false),
                                     "stateExitedEventDetails", s->name, output_text, 0});
    }
    f->assigned.clear();
    if (!running()) {
      return;
    }
  }
  if (next_name == nullptr && (s->end || s->type == StateType::kSucceed)) {
    FinishFrame(f, output, output_text);
    return;
  }
  const std::string& target = next_name != nullptr ? *next_name : s->next;
  const State* next = next_name != nullptr ? f->machine->Find(target) : s->next_state;
  if (next == nullptr) {
    FailFrame(f, Failure{errors::kRuntime, absl::StrCat(RuntimeCausePrefix(Ref(f)), "Missing 'Next' target: ",
                                                        target)});
    return;
  }
  f->state = next;
  if (output != nullptr) {
    f->SetInput(std::move(*output));
  }
  f->raw_input_text = std::move(output_text);  // the next StateEntered's input, already written
  f->phase = Frame::Phase::kEnter;
  ready_.push_back(f->id);
}

void Execution::Runner::CommitVariables(Frame* f, json::object new_vars,
                                        std::initializer_list<const CompiledTemplate*> assigns) {
  f->assigned.clear();
  auto note = [&](std::string_view name) {
    if (const json::value* value = new_vars.if_contains(name)) {
      f->assigned[name] = *value;
    }
  };
  for (const CompiledTemplate* assign : assigns) {
    if (assign == nullptr || !assign->present()) {
      continue;
    }
    // The names an Assign object gives values to: its keys (without `.$`), whether or not they hold
    // expressions, as AWS lists them, also when a value equals the one the variable had.
    const TemplateNode& root = assign->root();
    if (root.kind == TemplateNode::Kind::kObject) {
      for (const TemplateNode::Member& member : root.members) {
        note(member.key);
      }
    } else if (root.kind == TemplateNode::Kind::kLiteral && root.literal.is_object()) {
      for (const auto& member : root.literal.get_object()) {
        note(member.key());
      }
    }
  }
  f->variables = std::move(new_vars);
}

void Execution::Runner::FinishWithResult(Frame* f, json::value result) {
  const State* s = f->state;
  StateInspection* inspection = Inspecting(f);
  if (inspection != nullptr) {
    inspection->result = result;
  }
  if (s->language == QueryLanguage::kJsonata) {
    // Output defaults to the result ($states.result; a Pass state's is its input). The expressions read
    // the frame's input and `result` in place; CompleteJsonata moves `result` only after they ran.
    JsonataStates states = StatesOf(f, f->input());
    if (s->type != StateType::kPass) {
      states.result = &result;
    }
    return CompleteJsonata(f, states, std::move(result), s->output, {&s->assign});
  }
  json::value selected = std::move(result);
  if (s->result_selector.present()) {
    Result<json::value> r = ApplyTemplate(s->result_selector, MakeResolver(f, selected), *rv_, Ref(f));
    if (!r.ok()) {
      return FailState(f, r.failure());
    }
    selected = std::move(r).value();
  }
  if (inspection != nullptr) {
    inspection->after_result_selector = selected;
  }
  // Copied only when the state assigns: the variables change only if the state completes.
  std::optional<json::object> new_vars;
  if (s->assign.present()) {
    new_vars = f->variables;
    Result<bool> a = ApplyAssign(s->assign, MakeResolver(f, selected), *rv_, Ref(f), *new_vars);
    if (!a.ok()) {
      return FailState(f, a.failure());
    }
  }
  Result<json::value> with_result = ApplyResultPath(s->result_path, f->input(), std::move(selected), Ref(f));
  if (!with_result.ok()) {
    return FailState(f, with_result.failure());
  }
  if (inspection != nullptr) {
    inspection->after_result_path = with_result.value();
  }
  json::value output;
  if (s->output_path.kind == OptionalPath::Kind::kDefault) {
    output = std::move(with_result).value();  // OutputPath "$" selects the whole value: no copy
  } else {
    Result<json::value> out =
        ApplySelectPath(s->output_path, with_result.value(), MakeResolver(f, with_result.value()), Ref(f));
    if (!out.ok()) {
      return FailState(f, out.failure());
    }
    output = std::move(out).value();
  }
  if (new_vars) {
    CommitVariables(f, std::move(*new_vars), {&s->assign});
  }
  CompleteState(f, std::move(output));
}

void Execution::Runner::RecordEvaluationFailure(Frame* f, const Failure& failure) {
  if (failure.error != errors::kQueryEvaluationError || !ex_.limits_.record_evaluation_failed) {
    return;
  }
  json::object details;
  details["error"] = failure.error;
  details["cause"] = failure.cause;
  if (!failure.location.empty()) {
    details["location"] = failure.location;
  }
  details["state"] = f->state->name;
  Emit(f, "EvaluationFailed", "evaluationFailedEventDetails", std::move(details));
  const StateType type = f->state->type;
  if (running() && (type == StateType::kMap || type == StateType::kParallel) && !f->children_started) {
    // As AWS records a Map state whose Items fail: EvaluationFailed, then MapStateFailed.
    Emit(f, type == StateType::kMap ? "MapStateFailed" : "ParallelStateFailed", "", json::object());
  }
}

void Execution::Runner::FailState(Frame* f, const Failure& failure, FailureOrigin origin) {
  const State* s = f->state;
  if (origin == FailureOrigin::kState) {
    RecordEvaluationFailure(f, failure);
    if (!running()) {
      return;  // the event reached the history limit
    }
  }
  // Called once it is known that no retry follows.
  const auto dead_letter = [&] {
    if (origin != FailureOrigin::kTaskAttempt || f->task_attempts.empty()) {
      return;
    }
    DeadLetterCommand dl;
    dl.task_id = f->task_attempts.back().task_id;
    dl.state_name = s->name;
    dl.resource = s->resource;
    dl.input = std::move(f->task_input);
    dl.attempts = f->task_attempts;
    d_.dead_letters.push_back(std::move(dl));
  };
  bool can_handle = s->type == StateType::kTask || s->type == StateType::kParallel || s->type == StateType::kMap;
  if (!can_handle || Uncatchable(failure.error)) {
    dead_letter();
    return FailFrame(f, failure);
  }
  for (std::size_t i = 0; i < s->retry.size(); ++i) {
    const Retrier& r = s->retry[i];
    if (!ErrorMatches(r.error_equals, failure.error)) {
      continue;
    }
    if (f->retry_attempts[i] >= r.max_attempts) {
      break;  // the first matching retrier decides; when exhausted, Catch decides
    }
    double delay = r.interval_seconds * std::pow(r.backoff_rate, f->retry_attempts[i]);
    if (r.max_delay_seconds && delay > *r.max_delay_seconds) {
      delay = *r.max_delay_seconds;
    }
    // BackoffRate^attempts overflows to infinity after ~1000 attempts; converted to milliseconds that was
    // undefined (the retry fired at once). Cap it at the largest MaxDelaySeconds the validator accepts.
    constexpr double kMaxRetryDelaySeconds = 31622400;
    if (!(delay <= kMaxRetryDelaySeconds)) {
      delay = kMaxRetryDelaySeconds;
    }
    if (r.jitter_full && rv_ != nullptr) {
      delay *= rv_->NextRandomUnit();
    }
    if (StateInspection* inspection = Inspecting(f)) {
      inspection->retried = failure;
      inspection->retry_index = i;
      inspection->retry_delay_seconds = delay;
    }
    ++f->retry_attempts[i];
    ++f->retry_count;
    f->phase = Frame::Phase::kWaitRetry;
    f->pending_timer = StartTimer(f, TimerInfo::Kind::kRetry, now_ + static_cast<common::EpochMillis>(delay * 1000));
    return;
  }
  dead_letter();
  for (std::size_t catch_index = 0; catch_index < s->catchers.size(); ++catch_index) {
    const Catcher& c = s->catchers[catch_index];
    if (!ErrorMatches(c.error_equals, failure.error)) {
      continue;
    }
    if (StateInspection* inspection = Inspecting(f)) {
      inspection->caught = failure;
      inspection->catch_index = catch_index;
    }
    json::object error_output;
    error_output["Error"] = failure.error;
    error_output["Cause"] = failure.cause;
    json::value error_value(std::move(error_output));
    if (s->language == QueryLanguage::kJsonata) {
      // $states.errorOutput; the catcher's Output defaults to it. The state's own Assign is not applied.
      const json::value raw_input = f->input();
      JsonataStates states = StatesOf(f, raw_input);
      states.error_output = &error_value;
      json::object new_vars = f->variables;
      if (Result<bool> a = AssignJsonata(c.assign, states, *rv_, Ref(f), new_vars); !a.ok()) {
        RecordEvaluationFailure(f, a.failure());
        return FailFrame(f, a.failure());
      }
      json::value out = error_value;
      if (c.output.present()) {
        Result<json::value> evaluated = EvaluateJsonata(c.output, states, *rv_, Ref(f), "Output");
        if (!evaluated.ok()) {
          RecordEvaluationFailure(f, evaluated.failure());
          return FailFrame(f, evaluated.failure());
        }
        out = std::move(evaluated).value();
      }
      CommitVariables(f, std::move(new_vars), {&c.assign});
      std::string target = c.next;
      CompleteState(f, std::move(out), &target);
      return;
    }
    json::object new_vars = f->variables;
    if (c.assign.present()) {
      Result<bool> a = ApplyAssign(c.assign, MakeResolver(f, error_value), *rv_, Ref(f), new_vars);
      if (!a.ok()) {
        return FailFrame(f, a.failure());
      }
    }
    Result<json::value> out = ApplyResultPath(c.result_path, f->input(), std::move(error_value), Ref(f));
    if (!out.ok()) {
      return FailFrame(f, out.failure());
    }
    CommitVariables(f, std::move(new_vars), {&c.assign});
    // As AWS records it, a caught state is exited (<Type>StateExited with the catcher's output) before
    // the catcher's Next is entered.
    std::string target = c.next;
    CompleteState(f, std::move(out).value(), &target);
    return;
  }
  FailFrame(f, failure);
}

void Execution::Runner::FinishFrame(Frame* f, json::value* output, const SharedText& output_text) {
  f->phase = Frame::Phase::kDone;
  if (f->parent == 0) {
    // A state whose output is its input leaves the document shared: a chain of them copies nothing.
    ex_.output_ = output != nullptr ? std::make_shared<const json::value>(std::move(*output)) : f->SharedInput();
    ex_.output_text_ = output_text;
    EmitTyped(f, TypedEventDetails{TypedEventDetails::Shape::kExecutionSucceeded, "ExecutionSucceeded",
                                   "executionSucceededEventDetails", {}, output_text, 0});
    ex_.status_ = ExecutionStatus::kSucceeded;
    CancelFrameTree(f);
    for (auto& [id, timer] : ex_.timer_storage_) {
      CancelTimer(id);
    }
    ex_.timers_.clear();
    ex_.timer_storage_.clear();
    return;
  }
  Frame* parent = FindFrame(f->parent);
  ChildSucceeded(parent, f, output != nullptr ? std::move(*output) : f->TakeInput());
}

void Execution::Runner::FailFrame(Frame* f, const Failure& failure) {
  f->phase = Frame::Phase::kDone;
  if (f->parent == 0) {
    EndExecution(ExecutionStatus::kFailed, failure);
    return;
  }
  Frame* parent = FindFrame(f->parent);
  ChildFailed(parent, f, failure);
}

void Execution::Runner::EndExecution(ExecutionStatus status, const Failure& failure) {
  if (!running()) {
    return;
  }
  ex_.status_ = status;
  ex_.error_ = failure.error;
  ex_.cause_ = failure.cause;
  for (auto& [id, frame] : ex_.frames_) {
    if (frame->pending_task != 0) {
      ex_.closed_tasks_[frame->pending_task] = TaskStanding::kCancelled;
      CancelTask(frame->pending_task);
      frame->pending_task = 0;
      frame->task_timeout_timer = 0;  // every timer is withdrawn below
      frame->heartbeat_timer = 0;
    }
  }
  for (auto& [id, timer] : ex_.timer_storage_) {
    CancelTimer(id);
  }
  ex_.tasks_.clear();
  ex_.timers_.clear();
  ex_.timer_storage_.clear();
  for (auto& [id, frame] : ex_.frames_) {
    frame->phase = Frame::Phase::kDone;  // kept alive: callers up the stack may still hold pointers
  }
  ready_.clear();
  json::object details;
  if (!failure.error.empty()) {
    details["error"] = failure.error;
  }
  if (!failure.cause.empty()) {
    details["cause"] = failure.cause;
  }
  const char* type = status == ExecutionStatus::kTimedOut ? "ExecutionTimedOut"
                     : status == ExecutionStatus::kAborted ? "ExecutionAborted"
                                                           : "ExecutionFailed";
  const char* key = status == ExecutionStatus::kTimedOut ? "executionTimedOutEventDetails"
                    : status == ExecutionStatus::kAborted ? "executionAbortedEventDetails"
                                                          : "executionFailedEventDetails";
  Emit(nullptr, type, key, std::move(details));
}

void Execution::Runner::TimerFired(const TimerInfo& timer) {
  if (timer.kind == TimerInfo::Kind::kExecutionTimeout) {
    EndExecution(ExecutionStatus::kTimedOut, Failure{errors::kTimeout, "The execution timed out."});
    return;
  }
  Frame* f = FindFrame(timer.frame);
  if (f == nullptr) {
    return;
  }
  if (timer.kind == TimerInfo::Kind::kTaskTimeout || timer.kind == TimerInfo::Kind::kHeartbeatTimeout) {
    TaskTimedOut(f, timer);
    Drain();
    return;
  }
  f->pending_timer = 0;
  if (timer.kind == TimerInfo::Kind::kWait) {
    WaitTimerFired(f);
  } else {
    ExecuteState(f);  // a retry runs the state again without a new StateEntered event
  }
  Drain();
}

Execution::Frame::ResumePoint Execution::Runner::ResumePointOf(const Frame* child) const {
  Frame::ResumePoint rp;
  rp.state = child->state;
  rp.raw_input = child->input();
  rp.variables = child->variables;
  rp.last_task_id = child->task_attempts.empty() ? 0 : child->task_attempts.back().task_id;
  return rp;
}

void Execution::Runner::Redrive(const RedrivenDeadLetters& dead_letters) {
  ex_.status_ = ExecutionStatus::kRunning;
  ex_.error_.clear();
  ex_.cause_.clear();
  ex_.output_ = NullDocument();
  ex_.output_text_.reset();
  ++ex_.redrive_count_;
  ex_.redrive_time_ = now_;
  Emit(nullptr, "ExecutionRedriven", "executionRedrivenEventDetails",
       json::object{{"redriveCount", ex_.redrive_count_}});
  for (const auto& [task_id, input] : dead_letters) {
    Emit(nullptr, "DeadLetterRedriven", "deadLetterRedrivenEventDetails",
         json::object{{"taskId", task_id}, {"inputPatched", input.has_value()}});
  }
  if (!running()) {
    return;
  }
  if (ex_.machine_->timeout_seconds) {
    StartTimer(nullptr, TimerInfo::Kind::kExecutionTimeout, now_ + *ex_.machine_->timeout_seconds * 1000);
  }
  for (auto& [id, frame] : ex_.frames_) {
    if (frame->parent == 0) {
      ResumeFrame(frame.get(), dead_letters);
      break;
    }
  }
  Drain();
}

void Execution::Runner::ResumeFrame(Frame* f, const RedrivenDeadLetters& dead_letters) {
  const auto patch = [&](Frame* target, std::uint64_t last_task_id) {
    auto it = dead_letters.find(last_task_id);
    if (last_task_id != 0 && it != dead_letters.end() && it->second) {
      target->task_input_override = *it->second;
    }
  };
  const State* s = f->state;
  f->pending_timer = 0;  // every timer was withdrawn when the execution ended
  f->pending_task = 0;
  const bool has_children = (s->type == StateType::kParallel || s->type == StateType::kMap) && f->children_started;
  if (!has_children) {
    patch(f, f->task_attempts.empty() ? 0 : f->task_attempts.back().task_id);
    f->phase = Frame::Phase::kEnter;
    ready_.push_back(f->id);
    return;
  }
  f->phase = Frame::Phase::kWaitChildren;
  f->failed_children = 0;
  // Children that were running when the execution ended (timed out, stopped) stayed in place.
  for (std::uint64_t id : std::vector<std::uint64_t>(f->child_frames.begin(), f->child_frames.end())) {
    if (Frame* child = FindFrame(id)) {
      ResumeFrame(child, dead_letters);
    }
  }
  // Children that failed or were aborted start again where they stopped.
  std::map<std::size_t, Frame::ResumePoint> points = std::move(f->resume_points);
  f->resume_points.clear();
  for (auto& [index, rp] : points) {
    const StateMachine* machine = s->type == StateType::kMap ? s->item_processor.get() : s->branches[index].get();
    if (s->type == StateType::kMap) {
      Emit(f, "MapIterationStarted", "mapIterationStartedEventDetails",
           json::object{{"name", s->name}, {"index", static_cast<std::int64_t>(index)}});
    }
    Frame* child = NewFrame(f->id, index, machine, std::move(rp.raw_input), std::move(rp.variables));
    child->state = rp.state;
    patch(child, rp.last_task_id);
    f->child_frames.insert(f->child_frames.end(), child->id);
    ready_.push_back(child->id);
  }
  if (s->type == StateType::kMap) {
    StartMapIterations(f);  // iterations MaxConcurrency had not started yet
  }
}

void Execution::Runner::DeadLetterDiscarded(std::uint64_t task_id, const std::string& state_name) {
  Emit(nullptr, "DeadLetterDiscarded", "deadLetterDiscardedEventDetails",
       json::object{{"taskId", task_id}, {"name", state_name}});
}

PathResolver Execution::Runner::MakeResolver(Frame* f, const json::value& dollar, const json::value* map_index,
                                             const json::value* map_value) {
  auto context = std::make_shared<std::optional<json::value>>();
  return [this, f, &dollar, map_index, map_value, context](const JsonPath& compiled) -> PathValue {
    const JsonPath* path = &compiled;
    PathScope scope;
    scope.input = &dollar;
    scope.variables = &f->variables;
    if (path->root() == JsonPath::Root::kContext) {
      if (!context->has_value()) {
        *context = BuildContext(f, map_index, map_value);
      }
      scope.context = &**context;
    }
    return path->EvaluateBounded(scope);  // the default EvaluationLimits: see eval_limits.h
  };
}

json::value Execution::Runner::BuildContext(Frame* f, const json::value* map_index,
                                            const json::value* map_value) const {
  const ExecutionInfo& info = ex_.info_;
  json::object execution;
  execution["Id"] = info.execution_arn;
  execution["Input"] = ex_.context_execution_input_ ? *ex_.context_execution_input_
                       : ex_.input_ != nullptr     ? *ex_.input_
                                                   : json::value();
  execution["Name"] = info.name;
  execution["RoleArn"] = info.role_arn;
  execution["StartTime"] = common::FormatIso8601(info.start_time);
  if (!info.express) {
    execution["RedriveCount"] = ex_.redrive_count_;
    if (ex_.redrive_count_ > 0) {  // AWS: present only once the execution has been redriven
      execution["RedriveTime"] = common::FormatIso8601(ex_.redrive_time_);
    }
  }
  json::object state;
  state["EnteredTime"] = common::FormatIso8601(f->entered_time);
  state["Name"] = f->state->name;
  StateType t = f->state->type;
  if (t == StateType::kTask || t == StateType::kParallel || t == StateType::kMap) {
    state["RetryCount"] = f->retry_count;
  }
  json::object machine;
  machine["Id"] = info.state_machine_arn;
  machine["Name"] = info.state_machine_name;
  json::object ctx;
  ctx["Execution"] = std::move(execution);
  ctx["State"] = std::move(state);
  ctx["StateMachine"] = std::move(machine);
  if (!f->task_token.empty()) {
    ctx["Task"] = json::object{{"Token", f->task_token}};
  }
  if (map_index != nullptr && map_value != nullptr) {
    ctx["Map"] = json::object{{"Item", json::object{{"Index", *map_index}, {"Value", *map_value}}}};
  }
  return ctx;
}

}  // namespace stepflow::sm
