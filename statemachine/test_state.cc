#include "statemachine/test_state.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "statemachine/compile.h"
#include "statemachine/json_parse.h"
#include "statemachine/json_text.h"
#include "statemachine/validator.h"
#include "statemachine/validator_internal.h"

namespace stepflow::sm {
namespace json = boost::json;

namespace {

// The name a definition of one state runs under when the request names none.
constexpr char kDefaultStateName[] = "TestState";
// The Resource of the Task a mocked Map or Parallel state runs as (never dispatched: the mock answers it).
constexpr char kMockResource[] = "stepflow:test-state-mock";
// Diagnostics quoted in an InvalidDefinition message; the rest are counted.
constexpr std::size_t kMaxQuotedDiagnostics = 10;

absl::Status InvalidDefinition(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("InvalidDefinition: ", detail));
}
absl::Status InvalidInput(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("InvalidExecutionInput: ", detail));
}
absl::Status Validation(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("ValidationException: ", detail));
}

absl::Status CheckSize(absl::string_view text, std::size_t max, absl::string_view what,
                       absl::Status (*error)(absl::string_view)) {
  if (text.size() > max) {
    return error(absl::StrCat(what, " is ", text.size(), " bytes; at most ", max, " are allowed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<json::value> ParsePayload(const std::string& text, const std::string& what,
                                         absl::Status (*error)(absl::string_view)) {
  if (text.empty()) {
    return json::value(json::object());
  }
  absl::StatusOr<json::value> parsed = ParseJson(text, what);
  if (!parsed.ok()) {
    return error(parsed.status().message());
  }
  return parsed;
}

// The state named `name` in `machine` ({"States": ...}) or in any Parallel branch or Map processor within it
// (ASL state names are unique across the whole machine). Null when there is none.
const json::object* FindState(const json::object& machine, const std::string& name) {
  const json::object* states = machine.contains("States") ? machine.at("States").if_object() : nullptr;
  if (states == nullptr) {
    return nullptr;
  }
  if (const json::value* found = states->if_contains(name); found != nullptr && found->is_object()) {
    return &found->get_object();
  }
  for (const auto& entry : *states) {
    const json::object* state = entry.value().if_object();
    if (state == nullptr) {
      continue;
    }
    std::vector<const json::value*> nested;
    if (const json::value* branches = state->if_contains("Branches"); branches != nullptr && branches->is_array()) {
      for (const json::value& b : branches->get_array()) {
        nested.push_back(&b);
      }
    }
    for (const char* key : {"ItemProcessor", "Iterator"}) {
      if (const json::value* processor = state->if_contains(key)) {
        nested.push_back(processor);
      }
    }
    for (const json::value* sub : nested) {
      if (sub->is_object()) {
        if (const json::object* found = FindState(sub->get_object(), name)) {
          return found;
        }
      }
    }
  }
  return nullptr;
}

// A Map or Parallel state as the Task it runs as under a mock: its data flow around the result, Retry, Catch
// and transitions; without the fields that make its iterations or branches.
json::object AsMockedTask(const json::object& state) {
  const bool parallel = state.at("Type") == "Parallel";
  static const std::set<std::string> kKept = {"Comment",  "QueryLanguage", "InputPath", "OutputPath",
                                                   "ResultPath", "ResultSelector", "Retry",  "Catch",
                                                   "Assign",   "Output",        "Next",      "End"};
  json::object task;
  for (const auto& field : state) {
    const bool parameters = field.key() == "Parameters" || field.key() == "Arguments";
    if (kKept.count(std::string(field.key())) != 0 || (parallel && parameters)) {  // Map's Parameters are per item
      task.emplace(field.key(), field.value());
    }
  }
  task["Type"] = "Task";
  task["Resource"] = kMockResource;
  return task;
}

// The states `state` may go to: Next, a Choice's rules' Next and Default, its catchers' Next.
std::vector<std::string> TargetsOf(const json::object& state) {
  std::vector<std::string> targets;
  auto add = [&](const json::value* v) {
    if (v != nullptr && v->is_string()) {
      targets.emplace_back(v->get_string());
    }
  };
  add(state.if_contains("Next"));
  add(state.if_contains("Default"));
  for (const char* list : {"Choices", "Catch"}) {
    if (const json::value* items = state.if_contains(list); items != nullptr && items->is_array()) {
      for (const json::value& item : items->get_array()) {
        if (item.is_object()) {
          add(item.get_object().if_contains("Next"));
        }
      }
    }
  }
  return targets;
}

std::string DiagnosticsText(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < diagnostics.size() && i < kMaxQuotedDiagnostics; ++i) {
    lines.push_back(FormatDiagnostic(diagnostics[i]));
  }
  std::string text = absl::StrJoin(lines, "; ");
  if (diagnostics.size() > kMaxQuotedDiagnostics) {
    absl::StrAppend(&text, "; and ", diagnostics.size() - kMaxQuotedDiagnostics, " more");
  }
  return text;
}

// The state under test and the one-state machine that runs it.
struct Cutout {
  std::string name;
  StateType type = StateType::kPass;  // as defined (a mocked Map/Parallel runs as a Task)
  std::shared_ptr<const StateMachine> machine;
};

absl::StatusOr<StateType> TypeOf(const json::object& state) {
  const json::value* type = state.if_contains("Type");
  if (type == nullptr || !type->is_string()) {
    return InvalidDefinition("the state has no \"Type\"");
  }
  for (StateType t : {StateType::kPass, StateType::kTask, StateType::kChoice, StateType::kWait, StateType::kSucceed,
                      StateType::kFail, StateType::kParallel, StateType::kMap}) {
    if (type->get_string() == StateTypeName(t)) {
      return t;
    }
  }
  return InvalidDefinition(absl::StrCat("unknown state type '", std::string(type->get_string()), "'"));
}

// `mock_whole`: a Map or Parallel state runs as the Task its mock answers (else as itself).
absl::StatusOr<Cutout> CutOut(const TestStateRequest& request, const TestStateLimits& limits, bool mock_whole) {
  RETURN_IF_ERROR(CheckSize(request.definition, limits.max_definition_bytes, "the definition", InvalidDefinition));
  if (request.state_name.size() > limits.max_state_name_bytes) {
    return Validation(absl::StrCat("stateName is ", request.state_name.size(), " bytes; at most ",
                                   limits.max_state_name_bytes, " are allowed"));
  }
  ValidateOptions options;
  options.max_definition_bytes = limits.max_definition_bytes;
  absl::StatusOr<json::value> parsed = ParseDefinitionText(request.definition, options);
  if (!parsed.ok()) {
    return InvalidDefinition(parsed.status().message());
  }
  if (!parsed->is_object()) {
    return InvalidDefinition("the definition must be a JSON object: a state or a state machine");
  }
  const json::object& root = parsed->get_object();
  Cutout cut;
  json::object state;
  json::object machine;
  if (root.contains("States")) {
    if (std::vector<Diagnostic> problems = ValidateDefinition(*parsed, options); !problems.empty()) {
      return InvalidDefinition(DiagnosticsText(problems));
    }
    cut.name = request.state_name;
    if (cut.name.empty()) {
      cut.name = std::string(root.at("StartAt").get_string());
    }
    const json::object* found = FindState(root, cut.name);
    if (found == nullptr) {
      return Validation(absl::StrCat("the definition has no state named '", cut.name, "'"));
    }
    state = *found;
    if (const json::value* language = root.if_contains("QueryLanguage")) {
      machine["QueryLanguage"] = *language;
    }
  } else if (root.contains("Type")) {
    cut.name = request.state_name.empty() ? std::string(kDefaultStateName) : request.state_name;
    state = root;
  } else {
    return InvalidDefinition(
        "the definition is neither a state (it has no \"Type\") nor a state machine (it has no \"States\")");
  }
  ASSIGN_OR_RETURN(cut.type, TypeOf(state));
  if (mock_whole && (cut.type == StateType::kMap || cut.type == StateType::kParallel)) {
    state = AsMockedTask(state);
  }
  json::object states;
  for (const std::string& target : TargetsOf(state)) {
    if (target != cut.name && !states.contains(target)) {
      states[target] = json::object{{"Type", "Succeed"}};
    }
  }
  states[cut.name] = std::move(state);
  machine["StartAt"] = cut.name;
  machine["States"] = std::move(states);
  CompileResult compiled = Compile(ToAwsJson(machine), options);
  if (!compiled.diagnostics.empty()) {
    // Locations name the cut-out machine: "/States/<name>/..." is the state's own "/...".
    std::vector<Diagnostic> problems = compiled.diagnostics;
    const std::string prefix = validator_internal::Child("/States", cut.name);
    for (Diagnostic& d : problems) {
      if (d.location.rfind(prefix, 0) == 0) {
        d.location = d.location.substr(prefix.size());
      }
    }
    return InvalidDefinition(DiagnosticsText(problems));
  }
  if (!compiled.ok()) {
    return InvalidDefinition(compiled.model_status.message());
  }
  cut.machine = std::move(compiled.model);
  return cut;
}

struct Mock {
  std::optional<json::value> result;
  std::optional<Failure> error;
};

absl::StatusOr<Mock> CheckMock(const TestStateRequest& request, StateType type, const TestStateLimits& limits) {
  const bool mockable = type == StateType::kTask || type == StateType::kMap || type == StateType::kParallel;
  const bool given = request.mock_result.has_value() || request.mock_error.has_value();
  if (request.mock_result && request.mock_error) {
    return Validation("a mock has either a result or an error, not both");
  }
  if (mockable && !given) {
    return Validation(absl::StrCat("a ", StateTypeName(type),
                                   " state needs a mock (a result, or an error and a cause): Stepflow runs no "
                                   "service or worker for TestState"));
  }
  if (!mockable && given) {
    return Validation(absl::StrCat("a mock applies to Task, Map and Parallel states only, not to a ",
                                   StateTypeName(type), " state"));
  }
  Mock mock;
  if (request.mock_result) {
    RETURN_IF_ERROR(CheckSize(*request.mock_result, limits.max_payload_bytes, "the mocked result", Validation));
    absl::StatusOr<json::value> result = ParseJson(*request.mock_result, "the mocked result");
    if (!result.ok()) {
      return Validation(result.status().message());
    }
    mock.result = std::move(*result);
  }
  if (request.mock_error) {
    RETURN_IF_ERROR(CheckSize(request.mock_error->error, limits.max_error_bytes, "the mocked error", Validation));
    RETURN_IF_ERROR(CheckSize(request.mock_error->cause, limits.max_cause_bytes, "the mocked cause", Validation));
    mock.error = request.mock_error;
  }
  return mock;
}

// The Map inspection fields of `cut` (a Map state, unmocked) on `input`: its preparation of its iterations, as
// the interpreter records it when the state starts. The run goes no further than that first decision.
absl::Status InspectMap(const Cutout& cut, const TestStateRequest& request, const json::value& input,
                        const std::optional<json::value>& execution_input, const json::object& variables,
                        common::EpochMillis now, RuntimeValues& rv, InspectionData& data) {
  ExecutionLimits limits;
  limits.max_transitions_per_decision = 2;
  Execution execution(cut.machine, request.context, limits);
  StateInspection inspection;
  execution.Inspect(&inspection);
  execution.SetInitialVariables(variables);
  if (execution_input) {
    execution.SetContextExecutionInput(*execution_input);
  }
  RETURN_IF_ERROR(execution.Start(input, now, rv).status());
  data.after_items_path = std::move(inspection.after_items_path);
  if (inspection.after_item_selector) {
    data.after_item_selector = json::value(std::move(*inspection.after_item_selector));
  }
  data.max_concurrency = inspection.max_concurrency;
  data.tolerated_failure_count = inspection.tolerated_failure_count;
  data.tolerated_failure_percentage = inspection.tolerated_failure_percentage;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InspectionLevel> ParseInspectionLevel(absl::string_view text) {
  if (text.empty() || text == "INFO") {
    return InspectionLevel::kInfo;
  }
  if (text == "DEBUG") {
    return InspectionLevel::kDebug;
  }
  if (text == "TRACE") {
    return InspectionLevel::kTrace;
  }
  return Validation(absl::StrCat("inspectionLevel must be INFO, DEBUG or TRACE, not '", text, "'"));
}

const char* TestStatusName(TestStatus status) {
  switch (status) {
    case TestStatus::kSucceeded: return "SUCCEEDED";
    case TestStatus::kFailed: return "FAILED";
    case TestStatus::kRetriable: return "RETRIABLE";
    case TestStatus::kCaughtError: return "CAUGHT_ERROR";
  }
  return "FAILED";
}

absl::StatusOr<TestStateResult> TestState(const TestStateRequest& request, common::EpochMillis now, RuntimeValues& rv,
                                          const TestStateLimits& limits) {
  ASSIGN_OR_RETURN(Cutout cut, CutOut(request, limits, /*mock_whole=*/true));
  ASSIGN_OR_RETURN(Mock mock, CheckMock(request, cut.type, limits));
  if (request.retrier_retry_count < 0 || request.retrier_retry_count > limits.max_retrier_retry_count) {
    return Validation(absl::StrCat("retrierRetryCount must be between 0 and ", limits.max_retrier_retry_count,
                                   ", not ", request.retrier_retry_count));
  }
  RETURN_IF_ERROR(CheckSize(request.input, limits.max_payload_bytes, "the input", InvalidInput));
  RETURN_IF_ERROR(CheckSize(request.variables, limits.max_payload_bytes, "the variables", InvalidInput));
  ASSIGN_OR_RETURN(json::value input, ParsePayload(request.input, "the input", InvalidInput));
  ASSIGN_OR_RETURN(json::value variables, ParsePayload(request.variables, "the variables", InvalidInput));
  if (!variables.is_object()) {
    return InvalidInput("the variables must be a JSON object of variable names and values");
  }
  std::optional<json::value> execution_input;
  if (!request.execution_input.empty()) {
    RETURN_IF_ERROR(CheckSize(request.execution_input, limits.max_payload_bytes, "the execution input", InvalidInput));
    ASSIGN_OR_RETURN(execution_input, ParsePayload(request.execution_input, "the execution input", InvalidInput));
  }

  ExecutionLimits execution_limits;
  // The state under test and, at most, the one it goes to: nothing beyond it runs.
  execution_limits.max_transitions_per_decision = 2;
  Execution execution(cut.machine, request.context, execution_limits);
  StateInspection inspection;
  execution.Inspect(&inspection);
  execution.SetInitialVariables(variables.get_object());
  if (execution_input) {
    execution.SetContextExecutionInput(*execution_input);
  }
  absl::StatusOr<Decision> decision = execution.Start(input, now, rv);
  int retries = 0;
  // Each retry takes a failure and a timer; a Task or Wait one more input.
  const int max_inputs = 2 * (request.retrier_retry_count + 2);
  for (int step = 0; decision.ok() && step < max_inputs; ++step) {
    if (inspection.exited || execution.status() != ExecutionStatus::kRunning) {
      break;
    }
    if (!decision->tasks_to_schedule.empty()) {
      const std::uint64_t task = decision->tasks_to_schedule.front().task_id;
      decision = mock.error ? execution.OnTaskFailed(task, mock.error->error, mock.error->cause, now, rv)
                            : execution.OnTaskSucceeded(task, *mock.result, now, rv);
      continue;
    }
    if (inspection.retried) {
      if (retries >= request.retrier_retry_count) {
        break;  // reported as RETRIABLE
      }
      ++retries;
      inspection.retried.reset();
    }
    if (decision->timers_to_start.empty()) {
      break;
    }
    const TimerCommand timer = decision->timers_to_start.front();  // a Wait's or a retry interval's
    now = std::max(now, timer.due);
    decision = execution.OnTimerFired(timer.timer_id, now, rv);
  }
  if (!decision.ok()) {
    return decision.status();
  }

  TestStateResult result;
  if (inspection.exited) {
    result.status = inspection.caught ? TestStatus::kCaughtError : TestStatus::kSucceeded;
    result.output = inspection.output;
    result.next_state = inspection.next_state;
    if (inspection.caught) {
      result.error = inspection.caught->error;
      result.cause = inspection.caught->cause;
    }
  } else if (execution.status() == ExecutionStatus::kFailed) {
    result.status = TestStatus::kFailed;
    result.error = execution.error();
    result.cause = execution.cause();
  } else if (inspection.retried) {
    result.status = TestStatus::kRetriable;
    result.error = inspection.retried->error;
    result.cause = inspection.retried->cause;
    result.next_state = cut.name;  // the retry runs the state again
  } else {
    return absl::InternalError(absl::StrCat("TestState: the state '", cut.name, "' neither exited nor failed"));
  }
  if (request.inspection_level != InspectionLevel::kInfo) {
    InspectionData data;
    data.input = input;
    data.after_input_path = std::move(inspection.after_input_path);
    data.after_parameters = std::move(inspection.after_parameters);
    data.after_arguments = std::move(inspection.after_arguments);
    data.result = std::move(inspection.result);
    data.after_result_selector = std::move(inspection.after_result_selector);
    data.after_result_path = std::move(inspection.after_result_path);
    data.variables = inspection.exited ? std::move(inspection.variables) : variables.get_object();
    if (result.status == TestStatus::kRetriable || result.status == TestStatus::kCaughtError) {
      InspectionErrorDetails details;
      if (result.status == TestStatus::kRetriable) {
        details.retry_index = static_cast<std::int64_t>(inspection.retry_index.value_or(0));
        details.retry_backoff_interval_seconds = std::llround(inspection.retry_delay_seconds.value_or(0));
      } else {
        details.catch_index = static_cast<std::int64_t>(inspection.catch_index.value_or(0));
      }
      data.error_details = details;
    }
    if (cut.type == StateType::kMap) {
      ASSIGN_OR_RETURN(Cutout unmocked, CutOut(request, limits, /*mock_whole=*/false));
      RETURN_IF_ERROR(InspectMap(unmocked, request, input, execution_input, variables.get_object(), now, rv, data));
    }
    result.inspection = std::move(data);
  }
  return result;
}

json::object TestStateResultToAwsJson(const TestStateResult& result) {
  json::object out;
  out["status"] = TestStatusName(result.status);
  if (result.output) {
    out["output"] = ToAwsJson(*result.output);
  }
  if (!result.error.empty()) {
    out["error"] = result.error;
  }
  if (!result.cause.empty()) {
    out["cause"] = result.cause;
  }
  if (!result.next_state.empty()) {
    out["nextState"] = result.next_state;
  }
  if (result.inspection) {
    const InspectionData& d = *result.inspection;
    json::object data;
    for (const auto& [key, value] :
         {std::pair{"input", &d.input}, std::pair{"afterInputPath", &d.after_input_path},
          std::pair{"afterParameters", &d.after_parameters}, std::pair{"afterArguments", &d.after_arguments},
          std::pair{"result", &d.result}, std::pair{"afterResultSelector", &d.after_result_selector},
          std::pair{"afterResultPath", &d.after_result_path}}) {
      if (*value) {
        data[key] = ToAwsJson(**value);
      }
    }
    if (d.variables) {
      data["variables"] = ToAwsJson(json::value(*d.variables));
    }
    if (d.error_details) {
      json::object details;
      for (const auto& [key, value] :
           {std::pair{"catchIndex", &d.error_details->catch_index}, std::pair{"retryIndex", &d.error_details->retry_index},
            std::pair{"retryBackoffIntervalSeconds", &d.error_details->retry_backoff_interval_seconds}}) {
        if (*value) {
          details[key] = **value;
        }
      }
      data["errorDetails"] = std::move(details);
    }
    for (const auto& [key, value] : {std::pair{"afterItemsPath", &d.after_items_path},
                                     std::pair{"afterItemSelector", &d.after_item_selector}}) {
      if (*value) {
        data[key] = ToAwsJson(**value);
      }
    }
    for (const auto& [key, value] : {std::pair{"maxConcurrency", &d.max_concurrency},
                                     std::pair{"toleratedFailureCount", &d.tolerated_failure_count}}) {
      if (*value) {
        data[key] = **value;
      }
    }
    if (d.tolerated_failure_percentage) {
      data["toleratedFailurePercentage"] = *d.tolerated_failure_percentage;
    }
    out["inspectionData"] = std::move(data);
  }
  return out;
}

}  // namespace stepflow::sm
