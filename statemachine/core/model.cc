#include "statemachine/core/model.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace stepflow::sm {
namespace json = boost::json;

const char* StateTypeName(StateType t) {
  switch (t) {
    case StateType::kPass: return "Pass";
    case StateType::kTask: return "Task";
    case StateType::kChoice: return "Choice";
    case StateType::kWait: return "Wait";
    case StateType::kSucceed: return "Succeed";
    case StateType::kFail: return "Fail";
    case StateType::kParallel: return "Parallel";
    case StateType::kMap: return "Map";
  }
  return "Unknown";
}

namespace {

absl::Status Invalid(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(where.empty() ? "/" : where, ": ", what));
}

absl::StatusOr<JsonPath> ParsePathField(const json::value& v, const std::string& where) {
  if (!v.is_string()) {
    return Invalid(where, "must be a string");
  }
  auto path = JsonPath::Parse(std::string_view(v.get_string()));
  if (!path.ok()) {
    return Invalid(where, std::string(path.status().message()));
  }
  return std::move(path).value();
}

absl::StatusOr<OptionalPath> ParseOptionalPath(const json::object& o, const char* field, const std::string& where) {
  OptionalPath result;
  const json::value* v = o.if_contains(field);
  if (v == nullptr) {
    return result;
  }
  if (v->is_null()) {
    result.kind = OptionalPath::Kind::kNull;
    return result;
  }
  ASSIGN_OR_RETURN(JsonPath p, ParsePathField(*v, absl::StrCat(where, "/", field)));
  result.kind = OptionalPath::Kind::kPath;
  result.path = std::move(p);
  return result;
}

std::optional<double> NumberOf(const json::value* v) {
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return static_cast<double>(v->get_int64());
  }
  if (v->is_uint64()) {
    return static_cast<double>(v->get_uint64());
  }
  if (v->is_double()) {
    return v->get_double();
  }
  return std::nullopt;
}

std::string StringOf(const json::object& o, const char* field) {
  const json::value* v = o.if_contains(field);
  if (v != nullptr && v->is_string()) {
    return std::string(v->get_string());
  }
  return "";
}

// A field holding a `{% %}` string (JSONata states), compiled; absent otherwise.
CompiledTemplate JsonataString(const json::value* v) {
  if (v != nullptr && v->is_string() && IsJsonataTemplate(v->get_string())) {
    return CompiledTemplate::Compile(*v, QueryLanguage::kJsonata);
  }
  return CompiledTemplate();
}

absl::StatusOr<NumberOrPath> ParseNumberOrPath(const json::object& o, const char* field, const std::string& where) {
  NumberOrPath result;
  result.value = NumberOf(o.if_contains(field));
  result.jsonata = JsonataString(o.if_contains(field));
  std::string path_field = absl::StrCat(field, "Path");
  if (const json::value* p = o.if_contains(path_field)) {
    ASSIGN_OR_RETURN(JsonPath path, ParsePathField(*p, absl::StrCat(where, "/", path_field)));
    result.path = std::move(path);
  }
  return result;
}

std::vector<std::string> StringList(const json::value* v) {
  std::vector<std::string> out;
  if (v != nullptr && v->is_array()) {
    for (const json::value& e : v->get_array()) {
      if (e.is_string()) {
        out.emplace_back(e.get_string());
      }
    }
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const StateMachine>> ParseMachine(const json::value& def, const std::string& where,
                                                                 QueryLanguage inherited);
absl::Status ParseJsonataChoices(const json::array& choices, const std::string& where, State& s);

absl::Status ParseRetryCatch(const json::object& o, const std::string& where, State& s) {
  const QueryLanguage language = s.language;
  if (const json::value* r = o.if_contains("Retry"); r != nullptr && r->is_array()) {
    for (const json::value& e : r->get_array()) {
      if (!e.is_object()) {
        return Invalid(where + "/Retry", "each retrier must be an object");
      }
      const json::object& ro = e.get_object();
      Retrier retrier;
      retrier.error_equals = StringList(ro.if_contains("ErrorEquals"));
      if (auto n = NumberOf(ro.if_contains("IntervalSeconds"))) retrier.interval_seconds = *n;
      if (auto n = NumberOf(ro.if_contains("MaxAttempts"))) retrier.max_attempts = static_cast<int>(*n);
      if (auto n = NumberOf(ro.if_contains("BackoffRate"))) retrier.backoff_rate = *n;
      retrier.max_delay_seconds = NumberOf(ro.if_contains("MaxDelaySeconds"));
      retrier.jitter_full = StringOf(ro, "JitterStrategy") == "FULL";
      s.retry.push_back(std::move(retrier));
    }
  }
  if (const json::value* c = o.if_contains("Catch"); c != nullptr && c->is_array()) {
    int i = 0;
    for (const json::value& e : c->get_array()) {
      if (!e.is_object()) {
        return Invalid(where + "/Catch", "each catcher must be an object");
      }
      const json::object& co = e.get_object();
      Catcher catcher;
      catcher.error_equals = StringList(co.if_contains("ErrorEquals"));
      catcher.next = StringOf(co, "Next");
      ASSIGN_OR_RETURN(catcher.result_path, ParseOptionalPath(co, "ResultPath", absl::StrCat(where, "/Catch/", i)));
      if (const json::value* a = co.if_contains("Assign")) {
        catcher.assign = CompiledTemplate::Compile(*a, language);
      }
      if (const json::value* out = co.if_contains("Output"); out != nullptr && language == QueryLanguage::kJsonata) {
        catcher.output = CompiledTemplate::Compile(*out, language);
      }
      s.catchers.push_back(std::move(catcher));
      ++i;
    }
  }
  return absl::OkStatus();
}

absl::Status ParseMapFields(const json::object& o, const std::string& where, State& s) {
  const json::value* proc = o.if_contains("ItemProcessor");
  const char* proc_field = "ItemProcessor";
  if (proc == nullptr) {
    proc = o.if_contains("Iterator");
    proc_field = "Iterator";
  }
  if (proc == nullptr) {
    return Invalid(where, "Map state needs ItemProcessor (or Iterator)");
  }
  ASSIGN_OR_RETURN(s.item_processor, ParseMachine(*proc, absl::StrCat(where, "/", proc_field), s.language));
  if (const json::value* items = o.if_contains("Items"); items != nullptr && s.language == QueryLanguage::kJsonata) {
    s.items = CompiledTemplate::Compile(*items, QueryLanguage::kJsonata);
  }
  if (const json::value* p = o.if_contains("ItemsPath")) {
    ASSIGN_OR_RETURN(JsonPath path, ParsePathField(*p, where + "/ItemsPath"));
    s.items_path = std::move(path);
  }
  if (const json::value* sel = o.if_contains("ItemSelector")) {
    s.parameters = CompiledTemplate::Compile(*sel, s.language);
  }
  ASSIGN_OR_RETURN(s.max_concurrency, ParseNumberOrPath(o, "MaxConcurrency", where));
  ASSIGN_OR_RETURN(s.tolerated_failure_count, ParseNumberOrPath(o, "ToleratedFailureCount", where));
  ASSIGN_OR_RETURN(s.tolerated_failure_percentage, ParseNumberOrPath(o, "ToleratedFailurePercentage", where));
  s.label = StringOf(o, "Label");
  return absl::OkStatus();
}

absl::Status ParseTypeSpecific(const json::object& o, const std::string& where, State& s) {
  switch (s.type) {
    case StateType::kTask: {
      s.resource = StringOf(o, "Resource");
      s.task_resource = DescribeTaskResource(s.resource);
      ASSIGN_OR_RETURN(s.timeout_seconds, ParseNumberOrPath(o, "TimeoutSeconds", where));
      ASSIGN_OR_RETURN(s.heartbeat_seconds, ParseNumberOrPath(o, "HeartbeatSeconds", where));
      if (const json::value* c = o.if_contains("Credentials")) {
        s.credentials = CompiledTemplate::Compile(*c, s.language);
      }
      return ParseRetryCatch(o, where, s);
    }
    case StateType::kChoice: {
      const json::value* choices = o.if_contains("Choices");
      if (choices == nullptr || !choices->is_array()) {
        return Invalid(where + "/Choices", "must be a non-empty array");
      }
      s.default_next = StringOf(o, "Default");
      if (s.language == QueryLanguage::kJsonata) {
        return ParseJsonataChoices(choices->get_array(), where, s);
      }
      int i = 0;
      for (const json::value& rule : choices->get_array()) {
        ASSIGN_OR_RETURN(ChoiceRule r, ChoiceRule::Parse(rule, absl::StrCat(where, "/Choices/", i)));
        s.choices.push_back(std::move(r));
        ++i;
      }
      s.default_next = StringOf(o, "Default");
      return absl::OkStatus();
    }
    case StateType::kWait: {
      s.seconds = NumberOf(o.if_contains("Seconds"));
      s.seconds_jsonata = JsonataString(o.if_contains("Seconds"));
      s.timestamp_jsonata = JsonataString(o.if_contains("Timestamp"));
      if (const json::value* t = o.if_contains("Timestamp"); t != nullptr && t->is_string()) {
        s.timestamp = std::string(t->get_string());
      }
      if (const json::value* p = o.if_contains("SecondsPath")) {
        ASSIGN_OR_RETURN(JsonPath path, ParsePathField(*p, where + "/SecondsPath"));
        s.seconds_path = std::move(path);
      }
      if (const json::value* p = o.if_contains("TimestampPath")) {
        ASSIGN_OR_RETURN(JsonPath path, ParsePathField(*p, where + "/TimestampPath"));
        s.timestamp_path = std::move(path);
      }
      return absl::OkStatus();
    }
    case StateType::kFail: {
      s.error_jsonata = JsonataString(o.if_contains("Error"));
      s.cause_jsonata = JsonataString(o.if_contains("Cause"));
      if (const json::value* v = o.if_contains("Error"); v != nullptr && v->is_string()) s.error = std::string(v->get_string());
      if (const json::value* v = o.if_contains("ErrorPath"); v != nullptr && v->is_string()) s.error_path = CompiledExpression::FromText(v->get_string());
      if (const json::value* v = o.if_contains("Cause"); v != nullptr && v->is_string()) s.cause = std::string(v->get_string());
      if (const json::value* v = o.if_contains("CausePath"); v != nullptr && v->is_string()) s.cause_path = CompiledExpression::FromText(v->get_string());
      return absl::OkStatus();
    }
    case StateType::kParallel: {
      const json::value* branches = o.if_contains("Branches");
      if (branches == nullptr || !branches->is_array()) {
        return Invalid(where + "/Branches", "must be a non-empty array");
      }
      int i = 0;
      for (const json::value& b : branches->get_array()) {
        ASSIGN_OR_RETURN(auto branch, ParseMachine(b, absl::StrCat(where, "/Branches/", i), s.language));
        s.branches.push_back(std::move(branch));
        ++i;
      }
      return ParseRetryCatch(o, where, s);
    }
    case StateType::kMap: {
      RETURN_IF_ERROR(ParseMapFields(o, where, s));
      return ParseRetryCatch(o, where, s);
    }
    default:
      return absl::OkStatus();
  }
}

absl::Status ParseJsonataChoices(const json::array& choices, const std::string& where, State& s) {
  int i = 0;
  for (const json::value& rule : choices) {
    if (!rule.is_object()) {
      return Invalid(absl::StrCat(where, "/Choices/", i), "each choice rule must be an object");
    }
    const json::object& ro = rule.get_object();
    JsonataChoiceRule r;
    if (const json::value* c = ro.if_contains("Condition")) {
      r.condition = CompiledTemplate::Compile(*c, QueryLanguage::kJsonata);
    } else {
      return Invalid(absl::StrCat(where, "/Choices/", i), "a JSONata choice rule needs Condition");
    }
    r.next = StringOf(ro, "Next");
    if (const json::value* a = ro.if_contains("Assign")) r.assign = CompiledTemplate::Compile(*a, QueryLanguage::kJsonata);
    if (const json::value* out = ro.if_contains("Output")) r.output = CompiledTemplate::Compile(*out, QueryLanguage::kJsonata);
    s.jsonata_choices.push_back(std::move(r));
    ++i;
  }
  return absl::OkStatus();
}

absl::StatusOr<StateType> ParseType(const json::object& o, const std::string& where) {
  std::string t = StringOf(o, "Type");
  static const std::pair<const char*, StateType> kTypes[] = {
      {"Pass", StateType::kPass},       {"Task", StateType::kTask},         {"Choice", StateType::kChoice},
      {"Wait", StateType::kWait},       {"Succeed", StateType::kSucceed},   {"Fail", StateType::kFail},
      {"Parallel", StateType::kParallel}, {"Map", StateType::kMap}};
  for (const auto& [name, type] : kTypes) {
    if (t == name) {
      return type;
    }
  }
  return Invalid(where + "/Type", absl::StrCat("unknown state type '", t, "'"));
}

// Arguments and Output of a JSONata state (JSONata states have no Parameters, ResultSelector or paths).
void ParseJsonataDataFlow(const json::object& o, State& s) {
  if (const json::value* p = o.if_contains("Arguments")) {
    s.parameters = CompiledTemplate::Compile(*p, QueryLanguage::kJsonata);
  }
  if (const json::value* p = o.if_contains("Output")) {
    s.output = CompiledTemplate::Compile(*p, QueryLanguage::kJsonata);
  }
}

QueryLanguage LanguageOf(const json::object& o, QueryLanguage inherited) {
  std::string language = StringOf(o, "QueryLanguage");
  if (language == "JSONata") {
    return QueryLanguage::kJsonata;
  }
  if (language == "JSONPath") {
    return QueryLanguage::kJsonPath;
  }
  return inherited;
}

// State::passes_input_through.
bool PassesInputThrough(const State& s) {
  const bool default_paths =
      s.input_path.kind == OptionalPath::Kind::kDefault && s.output_path.kind == OptionalPath::Kind::kDefault;
  if (s.type == StateType::kChoice) {
    return default_paths && s.language == QueryLanguage::kJsonPath;  // Assign changes variables, not the output
  }
  return s.type == StateType::kPass && !s.has_result && !s.parameters.present() && !s.result_selector.present() &&
         !s.assign.present() && !s.output.present() && default_paths &&
         s.result_path.kind == OptionalPath::Kind::kDefault;
}

absl::StatusOr<State> ParseState(const std::string& name, const json::value& v, const std::string& where,
                                 QueryLanguage inherited) {
  if (!v.is_object()) {
    return Invalid(where, "a state must be an object");
  }
  const json::object& o = v.get_object();
  State s;
  s.name = name;
  s.language = LanguageOf(o, inherited);
  if (s.language == QueryLanguage::kJsonata) {
    ParseJsonataDataFlow(o, s);
  }
  ASSIGN_OR_RETURN(s.type, ParseType(o, where));
  s.next = StringOf(o, "Next");
  if (const json::value* e = o.if_contains("End"); e != nullptr && e->is_bool()) s.end = e->get_bool();
  ASSIGN_OR_RETURN(s.input_path, ParseOptionalPath(o, "InputPath", where));
  ASSIGN_OR_RETURN(s.output_path, ParseOptionalPath(o, "OutputPath", where));
  ASSIGN_OR_RETURN(s.result_path, ParseOptionalPath(o, "ResultPath", where));
  if (const json::value* p = o.if_contains("Parameters"); p != nullptr && s.language == QueryLanguage::kJsonPath) {
    s.parameters = CompiledTemplate::Compile(*p, QueryLanguage::kJsonPath);
  }
  if (const json::value* p = o.if_contains("ResultSelector")) {
    s.result_selector = CompiledTemplate::Compile(*p, QueryLanguage::kJsonPath);
  }
  if (const json::value* p = o.if_contains("Result")) {
    s.has_result = true;
    s.result = *p;
  }
  if (const json::value* p = o.if_contains("Assign")) {
    s.assign = CompiledTemplate::Compile(*p, s.language);
  }
  RETURN_IF_ERROR(ParseTypeSpecific(o, where, s));
  s.passes_input_through = PassesInputThrough(s);
  return s;
}

absl::StatusOr<std::shared_ptr<const StateMachine>> ParseMachine(const json::value& def, const std::string& where,
                                                                 QueryLanguage inherited) {
  if (!def.is_object()) {
    return Invalid(where, "a state machine must be a JSON object");
  }
  const json::object& o = def.get_object();
  const QueryLanguage language = LanguageOf(o, inherited);
  auto machine = std::make_shared<StateMachine>();
  machine->start_at = StringOf(o, "StartAt");
  machine->comment = StringOf(o, "Comment");
  if (auto t = NumberOf(o.if_contains("TimeoutSeconds"))) machine->timeout_seconds = static_cast<std::int64_t>(*t);
  const json::value* states = o.if_contains("States");
  if (states == nullptr || !states->is_object()) {
    return Invalid(where + "/States", "must be an object");
  }
  for (const auto& [name, v] : states->get_object()) {
    std::string state_where = absl::StrCat(where, "/States/", std::string(name));
    ASSIGN_OR_RETURN(State s, ParseState(std::string(name), v, state_where, language));
    machine->states.emplace(std::string(name), std::move(s));
  }
  if (machine->Find(machine->start_at) == nullptr) {
    return Invalid(where + "/StartAt", absl::StrCat("StartAt '", machine->start_at, "' is not a state"));
  }
  for (auto& [name, s] : machine->states) {
    s.next_state = s.next.empty() ? nullptr : machine->Find(s.next);  // map nodes do not move
  }
  return std::shared_ptr<const StateMachine>(std::move(machine));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const StateMachine>> ParseStateMachine(const json::value& definition) {
  return ParseMachine(definition, "", QueryLanguage::kJsonPath);
}

}  // namespace stepflow::sm
