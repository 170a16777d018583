// A state's data flow (handlers.h: GetStateDataFlow): its last entry up to an event, read from the history,
// and each JSONPath step (InputPath, Parameters, ResultSelector, ResultPath, OutputPath) as the interpreter
// takes it: sm::TestState runs the state of the definition the execution runs on the entry's input, variables
// and $$, with the task's recorded result as its mock, and its inspection data (the interpreter's
// StateInspection) gives the steps. So the console's view and TestState have one implementation.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status.h"
#include "engine/api/handlers.h"
#include "engine/api/history_walk.h"
#include "engine/names.h"
#include "statemachine/compile.h"
#include "statemachine/core/model.h"
#include "statemachine/json_parse.h"
#include "statemachine/json_text.h"
#include "statemachine/test_state.h"

namespace stepflow::api {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxStateNameChars = 80;  // AWS's limit for a state name

// What the history says about the state's last entry.
struct Entry {
  std::int64_t entered_event_id = 0;
  common::EpochMillis entered_time = 0;
  std::optional<json::value> input;
  std::optional<json::value> parameters;  // TaskScheduled's parameters (the task's effective input)
  std::optional<json::value> result;      // the task's output (…Succeeded)
  std::optional<json::value> output;      // StateExited
  std::int64_t exited_event_id = 0;
  // The ids of the entry's events: each event names the one before it in its own frame (previousEventId), so
  // the task events of other Map iterations or Parallel branches running meanwhile are told apart.
  std::unordered_set<std::int64_t> chain;
  // The top-level variables when the state was entered (what its paths read as $name).
  json::object variables;
};


// The JSON value in field `key` of `details`, which AWS's events hold as JSON text (parsed with the bounds of
// any outside JSON: statemachine/json_parse.h). Absent when it is not JSON text.
std::optional<json::value> JsonField(const json::object& details, const char* key) {
  const json::value* v = details.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;
  }
  absl::StatusOr<json::value> parsed = sm::ParseJson(std::string_view(v->get_string()), "");
  return parsed.ok() ? std::optional<json::value>(*std::move(parsed)) : std::nullopt;
}

// The top-level workflow variables, folded from the assignedVariables of each top-level state's StateExited
// event (name -> JSON text), as the interpreter records them. Variables of a Map iteration or a Parallel branch
// are theirs alone and are not folded.
void FoldVariables(const engine::HistoryEventRecord& event, const json::object& details,
                   const sm::StateMachine& root, json::object& variables) {
  const json::value* name = details.if_contains("name");
  const json::value* assigned = details.if_contains("assignedVariables");
  if (name == nullptr || !name->is_string() || assigned == nullptr || !assigned->is_object() ||
      root.Find(std::string(name->get_string())) == nullptr || !TypeEndsWith(event.type, "StateExited")) {
    return;
  }
  for (const auto& [variable, text] : assigned->get_object()) {
    absl::StatusOr<json::value> value =
        text.is_string() ? sm::ParseJson(std::string_view(text.get_string()), "") : absl::StatusOr<json::value>(text);
    variables[variable] = value.ok() ? *std::move(value) : json::value(text);
  }
}

// Folds one event into the entry of state `name`: an entry of it starts a new one; the task events and the
// exit that follow from it (its chain of previousEventIds) belong to it.
void Fold(const engine::HistoryEventRecord& event, const std::string& name, const sm::StateMachine& root,
          json::object& variables, Entry& entry, bool& inside) {
  const bool entering = TypeEndsWith(event.type, "StateEntered");
  const bool exiting = TypeEndsWith(event.type, "StateExited");
  const bool in_entry = inside && entry.chain.contains(event.previous_event_id);
  if (!entering && !exiting && !in_entry) {
    return;
  }
  std::optional<json::object> details = DetailsOf(event);
  if (!details.has_value()) {
    return;
  }
  const json::object& d = *details;
  FoldVariables(event, d, root, variables);
  if (!entering && !in_entry) {
    return;
  }
  const json::value* event_name = d.if_contains("name");
  const bool named = event_name != nullptr && event_name->is_string() && event_name->get_string() == name;
  if (entering) {
    if (named) {
      entry = Entry{};
      entry.entered_event_id = event.id;
      entry.entered_time = event.timestamp;
      entry.input = JsonField(d, "input");
      entry.chain.insert(event.id);
      entry.variables = variables;
      inside = true;
    }
    return;
  }
  entry.chain.insert(event.id);
  if (named && exiting) {
    entry.output = JsonField(d, "output");
    entry.exited_event_id = event.id;
    inside = false;
  } else if (event.type == "TaskScheduled" || event.type == "ActivityScheduled" ||
             event.type == "LambdaFunctionScheduled") {
    entry.parameters = JsonField(d, event.type == "TaskScheduled" ? "parameters" : "input");
  } else if (event.type == "TaskSucceeded" || event.type == "ActivitySucceeded" ||
             event.type == "LambdaFunctionSucceeded") {
    entry.result = JsonField(d, "output");
  }
}

// Runtime values are not recorded where this evaluation can see them: a template that draws one (States.UUID,
// States.MathRandom) is marked as not reproducible instead of showing a value the run never had.
class NoRuntimeValues : public sm::RuntimeValues {
 public:
  std::string NewUuid() override {
    drawn_ = true;
    return "00000000-0000-4000-8000-000000000000";
  }
  double NextRandomUnit() override {
    drawn_ = true;
    return 0;
  }
  bool drawn() const { return drawn_; }

 private:
  bool drawn_ = false;
};

const sm::State* FindState(const sm::StateMachine& machine, const std::string& name, int depth = 0) {
  constexpr int kMaxNesting = 64;
  if (depth > kMaxNesting) {
    return nullptr;
  }
  if (const sm::State* s = machine.Find(name)) {
    return s;
  }
  for (const auto& [_, s] : machine.states) {
    for (const auto& branch : s.branches) {
      if (const sm::State* found = FindState(*branch, name, depth + 1)) {
        return found;
      }
    }
    if (s.item_processor != nullptr) {
      if (const sm::State* found = FindState(*s.item_processor, name, depth + 1)) {
        return found;
      }
    }
  }
  return nullptr;
}

google::protobuf::Value ToValue(const json::value& v) {
  google::protobuf::Value out;
  if (!google::protobuf::util::JsonStringToMessage(json::serialize(v), &out).ok()) {
    out.set_null_value(google::protobuf::NULL_VALUE);
  }
  return out;
}

// The steps, appended to `steps` in order. A step is {"step", "value"} when known, {"step", "unknown": why}
// when the history does not hold what it needs, {"step", "error"} when the evaluation fails (as the run would
// have failed there); "recorded": true marks a value read from the history rather than evaluated.
class Steps {
 public:
  explicit Steps(google::protobuf::ListValue& list) : list_(list) {}

  void Known(const char* step, const json::value& value, bool recorded = false) {
    auto& f = Add(step);
    f["value"] = ToValue(value);
    if (recorded) {
      f["recorded"].set_bool_value(true);
    }
  }
  void Unknown(const char* step, const std::string& why) { Add(step)["unknown"].set_string_value(why); }
  void Error(const char* step, const sm::Failure& failure) {
    Add(step)["error"].set_string_value(absl::StrCat(failure.error, ": ", failure.cause));
  }
  void Note(const char* step, const std::string& note) {
    auto& fields = *list_.mutable_values(list_.values_size() - 1)->mutable_struct_value()->mutable_fields();
    fields["note"].set_string_value(absl::StrCat(step, ": ", note));
  }

 private:
  google::protobuf::Map<std::string, google::protobuf::Value>& Add(const char* step) {
    auto& fields = *list_.add_values()->mutable_struct_value()->mutable_fields();
    fields["step"].set_string_value(step);
    return fields;
  }
  google::protobuf::ListValue& list_;
};

// The mocked failure that stands for a result the history does not hold (a task still running, a Map's or a
// Parallel's result): the steps before the result are what is wanted of such a run.
constexpr char kNoRecordedResult[] = "Stepflow.DataFlow.NoRecordedResult";
// TestState's payload bound, raised for the variables folded over a whole run (the state's own input, output
// and result stay within the interpreter's 256 KiB limit as they did in the run).
constexpr std::size_t kMaxDataFlowPayloadBytes = 8 << 20;

// The state's run as sm::TestState gives it: the entry's input, the variables it saw, $$ of the execution
// (Execution Id/Input/Name/StartTime/RoleArn, StateMachine, State.Name/EnteredTime) and, for a Task, the
// result the history recorded as its mock.
absl::StatusOr<sm::TestStateResult> RunEntry(const sm::State& s, const std::string& definition,
                                             const engine::ExecutionInfoRecord& execution, const Entry& entry,
                                             NoRuntimeValues& runtime) {
  sm::TestStateRequest request;
  request.definition = definition;
  request.state_name = s.name;
  request.input = sm::ToAwsJson(*entry.input);
  request.variables = sm::ToAwsJson(json::value(entry.variables));
  request.execution_input = execution.input;
  request.inspection_level = sm::InspectionLevel::kDebug;
  request.context.execution_arn = execution.arn;
  request.context.name = execution.name;
  request.context.state_machine_arn = execution.state_machine_arn;
  request.context.state_machine_name = execution.state_machine_name;
  request.context.role_arn = std::string(engine::kRoleArn);
  request.context.start_time = execution.start;
  if (s.type == sm::StateType::kTask || s.type == sm::StateType::kMap || s.type == sm::StateType::kParallel) {
    if (entry.result.has_value()) {
      request.mock_result = sm::ToAwsJson(*entry.result);
    } else {
      request.mock_error = sm::Failure{kNoRecordedResult, ""};
    }
  }
  sm::TestStateLimits limits;
  limits.max_payload_bytes = kMaxDataFlowPayloadBytes;
  return sm::TestState(request, entry.entered_time, runtime, limits);
}

// The JSONPath pipeline of `s` over `entry`: each step the run reached, as its inspection data has it; the
// first step it did not reach carries the run's error (it failed there, as the run would have).
void EvaluateJsonPath(const sm::State& s, const std::string& definition, const engine::ExecutionInfoRecord& execution,
                      const Entry& entry, Steps& steps) {
  steps.Known("input", *entry.input, true);
  if (s.type == sm::StateType::kFail) {
    return;
  }
  NoRuntimeValues runtime;
  absl::StatusOr<sm::TestStateResult> run = RunEntry(s, definition, execution, entry, runtime);
  if (!run.ok() || !run->inspection.has_value()) {
    return steps.Unknown("InputPath", run.ok() ? "the state was not run" : std::string(run.status().message()));
  }
  const sm::InspectionData& d = *run->inspection;
  const sm::Failure failure{run->error, run->cause};
  // The step `name` at `value`; false (after the step's error) when the run did not get there.
  auto step = [&](const char* name, const std::optional<json::value>& value) {
    if (value.has_value()) {
      steps.Known(name, *value);
      return true;
    }
    steps.Error(name, failure);
    return false;
  };
  if (!step("InputPath", d.after_input_path)) {
    return;
  }
  const bool succeeded = run->status == sm::TestStatus::kSucceeded;
  const bool has_result = s.type == sm::StateType::kPass || s.type == sm::StateType::kTask ||
                          s.type == sm::StateType::kParallel || s.type == sm::StateType::kMap;
  if (!has_result) {  // Choice, Wait, Succeed: OutputPath over the effective input
    step("OutputPath", succeeded ? run->output : std::nullopt);
    return;
  }
  if (entry.parameters.has_value()) {
    steps.Known("Parameters", *entry.parameters, true);
    if (!s.parameters.present() && *entry.parameters != *d.after_input_path) {
      steps.Note("Parameters", "the task ran on another input than the state's (a dead letter redriven with a "
                               "patched input)");
    }
  } else if (s.type == sm::StateType::kMap) {
    steps.Unknown("Parameters", "a Map's ItemSelector applies to each item, in its iterations");
  } else {
    if (!step("Parameters", d.after_parameters)) {
      return;
    }
    if (runtime.drawn()) {
      steps.Note("Parameters", "draws States.UUID or States.MathRandom; the run's values are not shown here");
    }
  }
  if (!entry.result.has_value() && s.type != sm::StateType::kPass) {
    return steps.Unknown("result", s.type == sm::StateType::kTask
                                       ? "the task has not succeeded in this entry"
                                       : "the history does not record a Map's or Parallel's result by itself");
  }
  if (!d.result.has_value()) {
    return steps.Error("result", failure);
  }
  steps.Known("result", *d.result, entry.result.has_value());
  if (!step("ResultSelector", d.after_result_selector) || !step("ResultPath", d.after_result_path)) {
    return;
  }
  step("OutputPath", succeeded ? run->output : std::nullopt);
}

}  // namespace

absl::StatusOr<google::protobuf::Struct> GetStateDataFlow(ServiceEnv& env, const v1::GetStateDataFlowRequest& request) {
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  RETURN_IF_ERROR(RequireField(request.state(), "state"));
  RETURN_IF_ERROR(CheckTextLimit(request.state(), "state", kMaxStateNameChars));
  if (request.at_event_id() < 0) {
    return absl::InvalidArgumentError("ValidationException: at_event_id must not be negative");
  }
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord execution, env.engine->DescribeExecution(request.execution_arn()));
  ASSIGN_OR_RETURN(engine::StateMachineInfo machine,
                   env.engine->DescribeStateMachineForExecution(request.execution_arn()));
  // The one compile step: the definition the execution runs, as the interpreter compiles it.
  ASSIGN_OR_RETURN(std::shared_ptr<const sm::StateMachine> compiled, sm::CompileStored(machine.definition));
  const sm::State* state = FindState(*compiled, request.state());
  if (state == nullptr) {
    return absl::NotFoundError(absl::StrCat("StateDoesNotExist: the state machine of ", execution.arn,
                                            " has no state '", request.state(), "'"));
  }

  Entry entry;
  json::object variables;
  bool inside = false;
  ASSIGN_OR_RETURN(HistoryWalk walk,
                   WalkHistory(env, execution.arn, kMaxSummaryEvents, [&](const engine::HistoryEventRecord& event) {
                     if (request.at_event_id() > 0 && event.id > request.at_event_id()) {
                       return false;
                     }
                     Fold(event, request.state(), *compiled, variables, entry, inside);
                     return true;
                   }));

  google::protobuf::Struct flow;
  auto& fields = *flow.mutable_fields();
  fields["executionArn"].set_string_value(execution.arn);
  fields["state"].set_string_value(state->name);
  fields["type"].set_string_value(sm::StateTypeName(state->type));
  fields["queryLanguage"].set_string_value(state->language == sm::QueryLanguage::kJsonata ? "JSONata" : "JSONPath");
  fields["enteredEventId"].set_number_value(static_cast<double>(entry.entered_event_id));
  fields["exitedEventId"].set_number_value(static_cast<double>(entry.exited_event_id));
  fields["truncated"].set_bool_value(walk.truncated);
  Steps steps(*fields["steps"].mutable_list_value());
  if (!entry.input.has_value()) {
    return flow;  // not entered (yet): no steps
  }
  if (state->language == sm::QueryLanguage::kJsonata) {
    // JSONata states have no paths: what the history records is what there is.
    steps.Known("input", *entry.input, true);
    if (entry.parameters.has_value()) {
      steps.Known("Arguments", *entry.parameters, true);
    }
    if (entry.result.has_value()) {
      steps.Known("result", *entry.result, true);
    }
  } else {
    EvaluateJsonPath(*state, machine.definition, execution, entry, steps);
  }
  if (entry.output.has_value()) {
    steps.Known("output", *entry.output, true);
  }
  return flow;
}

}  // namespace stepflow::api
