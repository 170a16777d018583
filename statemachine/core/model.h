#pragma once
// The typed model of a state machine definition (JSONPath dialect), built from a definition that
// ValidateDefinition accepted; statemachine/compile.h builds it (Compile) together with the validator's
// diagnostics. Every expression in it is compiled (JsonPath, ChoiceRule, CompiledTemplate,
// CompiledExpression). Immutable after parsing; shared between threads and executions.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "statemachine/choice.h"
#include "statemachine/compiled_template.h"
#include "statemachine/core/task_resource.h"
#include "statemachine/json_path.h"

namespace stepflow::sm {

enum class StateType { kPass, kTask, kChoice, kWait, kSucceed, kFail, kParallel, kMap };
inline constexpr std::size_t kStateTypeCount = 8;  // the values of StateType, 0 .. kMap

// AWS's name of a state type ("Pass", "Task", ...), used in history event type names.
const char* StateTypeName(StateType t);

// InputPath / OutputPath / ResultPath: absent (default `$`), explicit null, or a path.
struct OptionalPath {
  enum class Kind { kDefault, kNull, kPath };
  Kind kind = Kind::kDefault;
  std::optional<JsonPath> path;
};

struct Retrier {
  std::vector<std::string> error_equals;
  double interval_seconds = 1;       // Default: 1
  int max_attempts = 3;              // Default: 3; 0 = never retry
  double backoff_rate = 2.0;         // Default: 2.0
  std::optional<double> max_delay_seconds;
  bool jitter_full = false;          // JitterStrategy FULL; Default: NONE
};

struct Catcher {
  std::vector<std::string> error_equals;
  std::string next;
  OptionalPath result_path;
  CompiledTemplate assign;  // absent when the catcher has no Assign
  CompiledTemplate output;  // JSONata: the catcher's Output; absent when not given
};

// A Choice rule of a JSONata state: `Condition` (a `{% %}` string or a literal boolean), with its own
// Assign and Output.
struct JsonataChoiceRule {
  CompiledTemplate condition;
  std::string next;
  CompiledTemplate assign;
  CompiledTemplate output;
};

struct StateMachine;

// A number field that may also be given as a `...Path` (e.g. TimeoutSeconds / TimeoutSecondsPath).
// JSONata states give it as a `{% %}` string instead (`jsonata`).
struct NumberOrPath {
  std::optional<double> value;
  std::optional<JsonPath> path;
  CompiledTemplate jsonata;
  bool present() const { return value.has_value() || path.has_value() || jsonata.present(); }
};

struct State {
  std::string name;
  // Derived when the machine is built: a Pass state that changes nothing (no InputPath, Parameters, Result,
  // ResultSelector, ResultPath, OutputPath, Output or Assign), or a JSONPath Choice state without InputPath and
  // OutputPath. Its output is its input, the same document and the same text.
  bool passes_input_through = false;
  StateType type = StateType::kPass;
  std::string next;  // empty when End or terminal
  // The state `next` names in the same machine, resolved when the machine is built (ParseStateMachine); null
  // when `next` is empty or names no state. Points into the StateMachine that holds this state.
  const State* next_state = nullptr;
  bool end = false;
  // The state's own QueryLanguage, else its machine's (JSONPath unless the top level says JSONata).
  QueryLanguage language = QueryLanguage::kJsonPath;

  OptionalPath input_path;
  OptionalPath output_path;
  OptionalPath result_path;
  CompiledTemplate parameters;       // Parameters / ItemSelector (Map) / JSONata Arguments; absent when not given
  CompiledTemplate output;           // JSONata: Output; absent when not given
  CompiledTemplate result_selector;  // absent when not given
  bool has_result = false;
  boost::json::value result;         // Pass.Result
  CompiledTemplate assign;           // absent when not given

  // Task
  std::string resource;
  TaskResource task_resource;  // derived from `resource` when the machine is built (ParseStateMachine)
  NumberOrPath timeout_seconds;
  NumberOrPath heartbeat_seconds;
  CompiledTemplate credentials;  // {"RoleArn" | "RoleArn.$": ...}; absent when not given

  // Task, Parallel, Map
  std::vector<Retrier> retry;
  std::vector<Catcher> catchers;

  // Choice
  std::vector<ChoiceRule> choices;
  std::string default_next;
  std::vector<JsonataChoiceRule> jsonata_choices;  // JSONata Choice states

  // Wait
  std::optional<double> seconds;
  std::optional<std::string> timestamp;
  std::optional<JsonPath> seconds_path;
  std::optional<JsonPath> timestamp_path;
  CompiledTemplate seconds_jsonata;    // JSONata Seconds given as `{% %}`
  CompiledTemplate timestamp_jsonata;  // JSONata Timestamp given as `{% %}`

  // Fail
  std::optional<std::string> error;
  std::optional<CompiledExpression> error_path;  // a path or an intrinsic call
  std::optional<std::string> cause;
  std::optional<CompiledExpression> cause_path;
  CompiledTemplate error_jsonata;  // JSONata Error / Cause given as `{% %}`
  CompiledTemplate cause_jsonata;

  // Parallel
  std::vector<std::shared_ptr<const StateMachine>> branches;

  // Map
  std::shared_ptr<const StateMachine> item_processor;
  std::optional<JsonPath> items_path;
  CompiledTemplate items;  // JSONata: Items (an array, or a `{% %}` string giving one)
  NumberOrPath max_concurrency;
  NumberOrPath tolerated_failure_count;
  NumberOrPath tolerated_failure_percentage;
  std::string label;
};

struct StateMachine {
  std::string start_at;
  std::map<std::string, State> states;
  std::optional<std::int64_t> timeout_seconds;
  std::string comment;

  const State* Find(const std::string& name) const {
    auto it = states.find(name);
    return it == states.end() ? nullptr : &it->second;
  }
};

// Builds the model. InvalidArgument (naming the JSON pointer and problem) for definitions the model
// cannot represent. Callers outside the module use Compile / CompileStored (statemachine/compile.h),
// which validate first and report the full list of problems.
absl::StatusOr<std::shared_ptr<const StateMachine>> ParseStateMachine(const boost::json::value& definition);

}  // namespace stepflow::sm
