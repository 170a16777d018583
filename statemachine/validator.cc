// Entry points and machine-level checks: top-level fields, StartAt, States, state names, transition
// targets and reachability. State checkers live in validator_states.cc / validator_map.cc, field
// checkers in validator_paths.cc / validator_errors.cc / validator_util.cc.

#include "statemachine/validator.h"

#include <deque>
#include <optional>
#include <map>
#include <set>

#include "common/precise_json.h"
#include "statemachine/json_parse.h"
#include "statemachine/validator_internal.h"

namespace stepflow::sm {
namespace validator_internal {
namespace {

constexpr size_t kMaxStateNameLength = 80;
constexpr int64_t kMaxExecutionSeconds = 99999999;

void CheckMachineFields(const json::object& machine, const std::string& location, MachineKind kind,
                        Validation& v) {
  if (kind == MachineKind::kTopLevel) {
    CheckFields(machine, location,
                {{"StartAt", Lang::kBoth},
                 {"States", Lang::kBoth},
                 {"Comment", Lang::kBoth},
                 {"Version", Lang::kBoth},
                 {"TimeoutSeconds", Lang::kBoth},
                 {"QueryLanguage", Lang::kBoth}},
                v.root_language(), "state machines", v);
    StringField(machine, "Version", location, false, v);
    IntegerField(machine, "TimeoutSeconds", location, 1, kMaxExecutionSeconds, QueryLanguage::kJsonPath, v);
  } else if (kind == MachineKind::kBranch) {
    CheckFields(machine, location,
                {{"StartAt", Lang::kBoth}, {"States", Lang::kBoth}, {"Comment", Lang::kBoth}},
                v.root_language(), "Parallel branches", v);
  } else {
    CheckFields(machine, location,
                {{"StartAt", Lang::kBoth},
                 {"States", Lang::kBoth},
                 {"Comment", Lang::kBoth},
                 {"ProcessorConfig", Lang::kBoth}},
                v.root_language(), "Map item processors", v);
  }
  StringField(machine, "Comment", location, false, v);
}

// Validates every state; returns each state's transitions, keyed by state name.
std::map<std::string, std::vector<Transition>, std::less<>> ValidateStates(const json::object& states,
                                                                           const std::string& location,
                                                                           int depth, Validation& v) {
  std::map<std::string, std::vector<Transition>, std::less<>> transitions;
  for (const auto& [name, state] : states) {
    std::string at = Child(location, name);
    size_t length = CodePointCount(name);
    if (length == 0 || length > kMaxStateNameLength) {
      v.Schema(at, Cat("State names must be 1 to ", kMaxStateNameLength, " characters long; '",
                       std::string_view(name), "' has ", length));
    }
    std::vector<Transition>& out = transitions[std::string(name)];
    if (!state.is_object()) {
      v.Schema(at, Cat("A state must be an object, not ", TypeName(state)));
      continue;
    }
    ValidateState(state.get_object(), at, depth, v, out);
  }
  return transitions;
}

// Reports transitions to missing states and states that StartAt cannot reach.
void CheckTransitions(const std::map<std::string, std::vector<Transition>, std::less<>>& graph,
                      std::optional<std::string_view> start_at, const json::object& states,
                      const std::string& location, Validation& v) {
  for (const auto& [name, transitions] : graph) {
    for (const Transition& t : transitions) {
      if (!graph.contains(t.target)) {
        v.Report(t.location, kMissingTransitionTarget, Cat("Missing 'Next' target: ", t.target));
      }
    }
  }
  if (!start_at || !graph.contains(*start_at)) {
    return;
  }
  std::set<std::string_view> reached = {*start_at};
  std::deque<std::string_view> queue = {*start_at};
  while (!queue.empty()) {
    auto it = graph.find(queue.front());
    queue.pop_front();
    for (const Transition& t : it->second) {
      if (graph.contains(t.target) && reached.insert(t.target).second) {
        queue.push_back(t.target);
      }
    }
  }
  // In definition order, so diagnostics read top to bottom.
  for (const auto& [name, unused] : states) {
    if (!reached.contains(name)) {
      v.Report(Child(location, name), kUnreachableState,
               Cat("State '", std::string_view(name), "' is not reachable"));
    }
  }
}

std::optional<std::string_view> CheckStartAt(const json::object& machine, const std::string& location,
                                             const json::object* states, Validation& v) {
  std::optional<std::string_view> start_at = StringField(machine, "StartAt", location, true, v);
  if (start_at && states != nullptr && !states->contains(*start_at)) {
    v.Report(Child(location, "StartAt"), kMissingTransitionTarget,
             Cat("Missing 'StartAt' target: ", *start_at));
  }
  return start_at;
}

}  // namespace

void ValidateMachine(const json::value& machine, const std::string& location, MachineKind kind, int depth,
                     Validation& v) {
  if (depth > kMaxNesting) {
    v.Schema(location, Cat("State machines nested deeper than ", kMaxNesting, " levels"));
    return;
  }
  const json::object* object = machine.if_object();
  if (object == nullptr) {
    v.Schema(location, Cat("A state machine must be an object, not ", TypeName(machine)));
    return;
  }
  CheckMachineFields(*object, location, kind, v);
  const json::value* states_value = object->if_contains("States");
  const json::object* states = states_value ? states_value->if_object() : nullptr;
  std::string states_at = Child(location, "States");
  if (states_value == nullptr) {
    v.Schema(location, "The field 'States' is required but was missing");
  } else if (states == nullptr || states->empty()) {
    v.Schema(states_at, "The field 'States' must be a non-empty object");
  }
  std::optional<std::string_view> start_at = CheckStartAt(*object, location, states, v);
  if (states == nullptr) {
    return;
  }
  auto graph = ValidateStates(*states, states_at, depth, v);
  CheckTransitions(graph, start_at, *states, states_at, v);
}

namespace {

// The top-level QueryLanguage, reporting a bad value.
QueryLanguage RootLanguage(const json::object& machine, std::vector<Diagnostic>& out) {
  const json::value* value = machine.if_contains("QueryLanguage");
  if (value == nullptr) {
    return QueryLanguage::kJsonPath;
  }
  if (value->is_string() && value->get_string() == "JSONata") {
    return QueryLanguage::kJsonata;
  }
  if (!value->is_string() || value->get_string() != "JSONPath") {
    out.push_back(Diagnostic{"/QueryLanguage", kSchemaValidationFailed,
                             "'QueryLanguage' must be 'JSONPath' or 'JSONata'"});
  }
  return QueryLanguage::kJsonPath;
}

Diagnostic InvalidJson(std::string_view text, size_t offset, std::string_view problem) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return Diagnostic{
      "", kInvalidJsonDescription,
      Cat("Invalid JSON at line ", line, ", column ", column, " (offset ", offset, "): ", problem)};
}

}  // namespace
}  // namespace validator_internal

std::vector<Diagnostic> ValidateDefinition(const boost::json::value& definition,
                                           const ValidateOptions& options) {
  namespace vi = validator_internal;
  const boost::json::object* machine = definition.if_object();
  if (machine == nullptr) {
    return {Diagnostic{
        "", vi::kInvalidJsonDescription,
        vi::Cat("A state machine definition must be a JSON object, not ", vi::TypeName(definition))}};
  }
  std::vector<Diagnostic> language_problems;
  vi::QueryLanguage language = vi::RootLanguage(*machine, language_problems);
  vi::Validation v(options, language);
  for (Diagnostic& d : language_problems) {
    v.Report(std::move(d.location), d.code, std::move(d.message));
  }
  vi::ValidateMachine(definition, "", vi::MachineKind::kTopLevel, 0, v);
  vi::CheckJsonataSyntax(definition, v);
  return v.Take();
}

namespace {

// The one parse of definition text (Validate, Create, Update, `stepflow validate` and `run`): the size and
// depth limits of `options`, no duplicate keys, no number outside the double range. On failure returns
// nullopt and sets `problem` to a located diagnostic.
std::optional<boost::json::value> ParseWithLimits(std::string_view text, const ValidateOptions& options,
                                                  Diagnostic& problem) {
  namespace vi = validator_internal;
  if (text.size() > options.max_definition_bytes) {
    problem = Diagnostic{"", vi::kSchemaValidationFailed,
                         vi::Cat("The definition is ", text.size(), " bytes; at most ", options.max_definition_bytes,
                                 " are allowed")};
    return std::nullopt;
  }
  boost::json::parse_options parse_options;
  parse_options.max_depth = options.max_json_depth;
  boost::system::error_code ec;
  size_t consumed = 0;
  std::optional<boost::json::value> parsed = common::ParsePreciseJson(text, ec, parse_options, &consumed);
  if (ec) {
    problem = vi::InvalidJson(text, consumed,
                              ec == boost::json::error::too_deep
                                  ? vi::Cat("nesting deeper than ", options.max_json_depth, " levels")
                                  : ec.message());
    return std::nullopt;
  }
  boost::json::value definition = *std::move(parsed);
  if (!AllNumbersFinite(definition)) {
    const NumberToken bad = FindOutOfRangeNumber(text);
    problem = vi::InvalidJson(text, bad.where.offset,
                              vi::Cat("the number ", bad.text.substr(0, 40), " is outside the range of a double"));
    return std::nullopt;
  }
  if (std::optional<DuplicateKey> duplicate = FindDuplicateKey(text)) {
    const TextLocation at = LocateOffset(text, duplicate->offset);
    problem = Diagnostic{duplicate->pointer, vi::kInvalidJsonDescription,
                         vi::Cat("Duplicate key at line ", at.line, ", column ", at.column, " (offset ", at.offset,
                                 "): an object may name each field once")};
    return std::nullopt;
  }
  return definition;
}

}  // namespace

std::vector<Diagnostic> ValidateDefinitionText(std::string_view text, const ValidateOptions& options) {
  Diagnostic problem;
  std::optional<boost::json::value> definition = ParseWithLimits(text, options, problem);
  if (!definition.has_value()) {
    return {std::move(problem)};
  }
  return ValidateDefinition(*definition, options);
}

absl::StatusOr<boost::json::value> ParseDefinitionText(std::string_view text, const ValidateOptions& options) {
  Diagnostic problem;
  std::optional<boost::json::value> definition = ParseWithLimits(text, options, problem);
  if (!definition.has_value()) {
    return absl::InvalidArgumentError(FormatDiagnostic(problem));
  }
  return *std::move(definition);
}

std::string FormatDiagnostic(const Diagnostic& d) {
  std::string location = d.location.empty() ? "/" : d.location;
  if (d.code.empty()) {
    return validator_internal::Cat(location, ": ", d.message);
  }
  return validator_internal::Cat(location, ": ", d.code, ": ", d.message);
}

}  // namespace stepflow::sm
