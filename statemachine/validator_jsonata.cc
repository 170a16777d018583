// JSONata syntax: every `{% ... %}` string of a JSONata state (at any depth of its fields, and in the
// states of its Parallel branches and Map item processors) must parse. A syntax error is reported at the
// field's JSON pointer with JSONata's code, message and position in the expression.
#include <string>

#include "statemachine/jsonata/jsonata.h"
#include "statemachine/validator_internal.h"

namespace stepflow::sm::validator_internal {
namespace {

QueryLanguage LanguageOf(const json::object& o, QueryLanguage inherited) {
  const json::value* language = o.if_contains("QueryLanguage");
  if (language != nullptr && language->is_string()) {
    if (language->get_string() == "JSONata") return QueryLanguage::kJsonata;
    if (language->get_string() == "JSONPath") return QueryLanguage::kJsonPath;
  }
  return inherited;
}

void CheckValue(const json::value& value, const std::string& location, int depth, Validation& v) {
  if (depth > kMaxNesting) {
    return;  // the structural checks report the nesting
  }
  if (value.is_string()) {
    if (!IsJsonataExpression(value)) {
      return;
    }
    std::string_view text = value.get_string();
    jsonata::CompileResult compiled = jsonata::Compile(text.substr(2, text.size() - 4));
    if (compiled.error) {
      v.Schema(location, Cat("The JSONata expression '", text.substr(2, text.size() - 4),
                             "' is not valid: ", compiled.error->code, " at position ", compiled.error->position,
                             ": ", compiled.error->message));
    }
    return;
  }
  if (value.is_array()) {
    std::size_t i = 0;
    for (const json::value& e : value.get_array()) {
      CheckValue(e, Child(location, i++), depth + 1, v);
    }
    return;
  }
  if (value.is_object()) {
    for (const auto& [key, member] : value.get_object()) {
      CheckValue(member, Child(location, key), depth + 1, v);
    }
  }
}

void CheckMachine(const json::value& machine, const std::string& location, QueryLanguage inherited, int depth,
                  Validation& v);

void CheckState(const json::object& state, const std::string& location, QueryLanguage language, int depth,
                Validation& v) {
  for (const auto& [key, member] : state) {
    std::string at = Child(location, key);
    if (key == "ItemProcessor" || key == "Iterator") {
      CheckMachine(member, at, language, depth + 1, v);
    } else if (key == "Branches" && member.is_array()) {
      std::size_t i = 0;
      for (const json::value& branch : member.get_array()) {
        CheckMachine(branch, Child(at, i++), language, depth + 1, v);
      }
    } else if (language == QueryLanguage::kJsonata) {
      CheckValue(member, at, depth + 1, v);
    }
  }
}

void CheckMachine(const json::value& machine, const std::string& location, QueryLanguage inherited, int depth,
                  Validation& v) {
  if (depth > kMaxNesting || !machine.is_object()) {
    return;
  }
  const json::object& o = machine.get_object();
  QueryLanguage language = LanguageOf(o, inherited);
  const json::value* states = o.if_contains("States");
  if (states == nullptr || !states->is_object()) {
    return;
  }
  std::string states_at = Child(location, "States");
  for (const auto& [name, state] : states->get_object()) {
    if (state.is_object()) {
      CheckState(state.get_object(), Child(states_at, name), LanguageOf(state.get_object(), language), depth + 1, v);
    }
  }
}

}  // namespace

void CheckJsonataSyntax(const json::value& definition, Validation& v) {
  CheckMachine(definition, "", QueryLanguage::kJsonPath, 0, v);
}

}  // namespace stepflow::sm::validator_internal
