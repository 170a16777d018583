// A state's data flow (handlers.h: GetStateDataFlow): its last entry up to an event, read from the history,
// and each JSONPath step evaluated on the server by the definition's own compiled paths and templates (the
// interpreter's dataflow.h functions: InputPath, Parameters, ResultSelector, ResultPath, OutputPath), so that
// the console shows every step without a second JSONPath implementation.
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
#include "statemachine/compile.h"
#include "statemachine/core/dataflow.h"
#include "statemachine/core/model.h"

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


// The JSON value in field `key` of `details`, which AWS's events hold as JSON text.
std::optional<json::value> JsonField(const json::object& details, const char* key) {
  const json::value* v = details.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;
  }
  json::error_code ec;
  json::value parsed = json::parse(v->get_string(), ec);
  return ec ? std::nullopt : std::optional<json::value>(std::move(parsed));
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
    json::error_code ec;
    json::value value = text.is_string() ? json::parse(text.get_string(), ec) : text;
    variables[variable] = ec ? json::value(text) : std::move(value);
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

// $$ as far as the history and the record give it: Execution (Id, Input, Name, StartTime, RedriveCount),
// State (Name, EnteredTime), StateMachine (Id, Name).
json::value Context(const engine::ExecutionInfoRecord& execution, const std::string& state, const Entry& entry) {
  json::error_code ec;
  json::value input = json::parse(execution.input, ec);
  json::object context;
  context["Execution"] = {{"Id", execution.arn},
                          {"Input", ec ? json::value(nullptr) : input},
                          {"Name", execution.name},
                          {"StartTime", common::FormatIso8601(execution.start)},
                          {"RedriveCount", execution.redrive_count}};
  context["State"] = {{"Name", state}, {"EnteredTime", common::FormatIso8601(entry.entered_time)}};
  context["StateMachine"] = {{"Id", execution.state_machine_arn}, {"Name", execution.state_machine_name}};
  return context;
}

// The JSONPath pipeline of `s` over `entry`, each step with the interpreter's own function.
void EvaluateJsonPath(const sm::State& s, const Entry& entry, const json::value& context, Steps& steps) {
  auto resolver = [&](const json::value& dollar) -> sm::PathResolver {
    return [&dollar, &context, &entry](const sm::JsonPath& path) {
      sm::PathScope scope;
      scope.input = &dollar;
      scope.context = &context;
      scope.variables = &entry.variables;
      return path.EvaluateBounded(scope);
    };
  };
  const sm::StateRef ref{s.name, entry.entered_event_id};
  const json::value& input = *entry.input;
  steps.Known("input", input, true);
  if (s.type == sm::StateType::kFail) {
    return;
  }
  sm::Result<json::value> effective = sm::ApplySelectPath(s.input_path, input, resolver(input), ref);
  if (!effective.ok()) {
    return steps.Error("InputPath", effective.failure());
  }
  steps.Known("InputPath", effective.value());
  const bool has_result = s.type == sm::StateType::kPass || s.type == sm::StateType::kTask ||
                          s.type == sm::StateType::kParallel || s.type == sm::StateType::kMap;
  if (!has_result) {  // Choice, Wait, Succeed: OutputPath over the effective input
    sm::Result<json::value> out =
        sm::ApplySelectPath(s.output_path, effective.value(), resolver(effective.value()), ref);
    return out.ok() ? steps.Known("OutputPath", out.value()) : steps.Error("OutputPath", out.failure());
  }
  std::optional<json::value> parameters;
  if (entry.parameters.has_value()) {
    parameters = *entry.parameters;
    steps.Known("Parameters", *parameters, true);
    if (!s.parameters.present() && *parameters != effective.value()) {
      steps.Note("Parameters", "the task ran on another input than the state's (a dead letter redriven with a "
                               "patched input)");
    }
  } else if (s.type == sm::StateType::kMap) {
    steps.Unknown("Parameters", "a Map's ItemSelector applies to each item, in its iterations");
  } else if (s.parameters.present()) {
    NoRuntimeValues runtime;
    sm::Result<json::value> p = sm::ApplyTemplate(s.parameters, resolver(effective.value()), runtime, ref);
    if (!p.ok()) {
      return steps.Error("Parameters", p.failure());
    }
    parameters = p.value();
    steps.Known("Parameters", *parameters);
    if (runtime.drawn()) {
      steps.Note("Parameters", "draws States.UUID or States.MathRandom; the run's values are not shown here");
    }
  } else {
    parameters = effective.value();
    steps.Known("Parameters", *parameters);
  }
  std::optional<json::value> result = entry.result;
  if (!result.has_value() && s.type == sm::StateType::kPass && parameters.has_value()) {
    result = s.has_result ? s.result : *parameters;
  }
  if (!result.has_value()) {
    return steps.Unknown("result", s.type == sm::StateType::kTask
                                       ? "the task has not succeeded in this entry"
                                       : "the history does not record a Map's or Parallel's result by itself");
  }
  steps.Known("result", *result, entry.result.has_value());
  json::value selected = *result;
  if (s.result_selector.present()) {
    NoRuntimeValues runtime;
    sm::Result<json::value> r = sm::ApplyTemplate(s.result_selector, resolver(*result), runtime, ref);
    if (!r.ok()) {
      return steps.Error("ResultSelector", r.failure());
    }
    selected = r.value();
  }
  steps.Known("ResultSelector", selected);
  sm::Result<json::value> with_result = sm::ApplyResultPath(s.result_path, input, selected, ref);
  if (!with_result.ok()) {
    return steps.Error("ResultPath", with_result.failure());
  }
  steps.Known("ResultPath", with_result.value());
  sm::Result<json::value> out =
      sm::ApplySelectPath(s.output_path, with_result.value(), resolver(with_result.value()), ref);
  return out.ok() ? steps.Known("OutputPath", out.value()) : steps.Error("OutputPath", out.failure());
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
    EvaluateJsonPath(*state, entry, Context(execution, state->name, entry), steps);
  }
  if (entry.output.has_value()) {
    steps.Known("output", *entry.output, true);
  }
  return flow;
}

}  // namespace stepflow::api
