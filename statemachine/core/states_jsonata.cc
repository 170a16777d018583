// The parts of state handling that differ for JSONata states (QueryLanguage "JSONata"): Output and Assign
// instead of InputPath/ResultSelector/ResultPath/OutputPath, Choice Conditions, Fail Error/Cause
// expressions and JSONata-valued Task timeouts. The rest of each state's lifecycle is shared.
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "statemachine/core/runner.h"
#include "statemachine/json_text.h"

namespace stepflow::sm {
namespace json = boost::json;

JsonataStates Execution::Runner::StatesOf(Frame* f, const json::value& input, const json::value* map_index,
                                          const json::value* map_value) {
  JsonataStates states;
  states.input = &input;
  states.variables = &f->variables;
  states.now_millis = now_;
  states.context = [this, f, map_index, map_value] { return BuildContext(f, map_index, map_value); };
  return states;
}

void Execution::Runner::CompleteJsonata(Frame* f, const JsonataStates& states, json::value&& default_output,
                                        const CompiledTemplate& output,
                                        std::initializer_list<const CompiledTemplate*> assigns,
                                        const std::string* next) {
  // Every Assign and the Output read the variables from before this state: assign into a copy (made only
  // when the state assigns).
  std::optional<json::object> new_vars;
  for (const CompiledTemplate* assign : assigns) {
    if (assign != nullptr && assign->present()) {
      if (!new_vars) {
        new_vars = f->variables;
      }
      Result<bool> a = AssignJsonata(*assign, states, *rv_, Ref(f), *new_vars);
      if (!a.ok()) {
        return FailState(f, a.failure());
      }
    }
  }
  json::value out;
  if (output.present()) {
    Result<json::value> evaluated = EvaluateJsonata(output, states, *rv_, Ref(f), "Output");
    if (!evaluated.ok()) {
      return FailState(f, evaluated.failure());
    }
    out = std::move(evaluated).value();
  } else {
    out = std::move(default_output);
  }
  if (new_vars) {  // made only when an Assign is present
    CommitVariables(f, std::move(*new_vars), assigns);
  }
  std::string target = next != nullptr ? *next : std::string();
  CompleteState(f, std::move(out), next != nullptr ? &target : nullptr);
}

void Execution::Runner::RunChoiceJsonata(Frame* f) {
  const State* s = f->state;
  const json::value input = f->input();
  JsonataStates states = StatesOf(f, input);
  for (std::size_t i = 0; i < s->jsonata_choices.size(); ++i) {
    const JsonataChoiceRule& rule = s->jsonata_choices[i];
    Result<json::value> matched =
        EvaluateJsonata(rule.condition, states, *rv_, Ref(f), absl::StrCat("Choices/", i, "/Condition"));
    if (!matched.ok()) {
      return FailState(f, matched.failure());
    }
    if (!matched.value().is_bool()) {
      return FailState(f, JsonataTypeFailure(rule.condition, Ref(f), "Condition", "boolean", matched.value()));
    }
    if (matched.value().get_bool()) {
      const CompiledTemplate& output = rule.output.present() ? rule.output : s->output;
      return CompleteJsonata(f, states, json::value(input), output, {&rule.assign, &s->assign}, &rule.next);
    }
  }
  if (s->default_next.empty()) {
    return FailState(f, Failure{errors::kNoChoiceMatched, "No Matches!"});
  }
  CompleteJsonata(f, states, json::value(input), s->output, {&s->assign}, &s->default_next);
}

void Execution::Runner::RunFailJsonata(Frame* f) {
  const State* s = f->state;
  JsonataStates states = StatesOf(f, f->input());
  Failure failure;
  auto text_of = [&](const CompiledTemplate& expression, const std::optional<std::string>& literal,
                     const char* field, std::string* out) -> bool {
    if (!expression.present()) {
      *out = literal.value_or("");
      return true;
    }
    Result<json::value> v = EvaluateJsonata(expression, states, *rv_, Ref(f), field);
    if (!v.ok()) {
      FailState(f, v.failure());  // a Fail state handles nothing: records the evaluation failure, fails the frame
      return false;
    }
    *out = v.value().is_string() ? std::string(v.value().get_string()) : ToAwsJson(v.value());
    return true;
  };
  if (!text_of(s->error_jsonata, s->error, "Error", &failure.error) ||
      !text_of(s->cause_jsonata, s->cause, "Cause", &failure.cause)) {
    return;
  }
  FailFrame(f, failure);
}

Result<std::optional<double>> Execution::Runner::TaskSecondsJsonata(Frame* f, const NumberOrPath& n,
                                                                    const char* field) {
  if (!n.jsonata.present()) {
    return n.value;
  }
  constexpr double kMaxTaskSeconds = 99999999;
  Result<double> seconds = JsonataNumber(n.jsonata, StatesOf(f, f->input()), *rv_, Ref(f), field, 1, kMaxTaskSeconds);
  if (!seconds.ok()) {
    return seconds.failure();
  }
  return std::optional<double>(seconds.value());
}

}  // namespace stepflow::sm
