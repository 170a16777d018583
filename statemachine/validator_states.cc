// One checker per state type (Map lives in validator_map.cc), and the checks every state shares.

#include "absl/status/statusor.h"
#include "statemachine/choice.h"
#include "statemachine/timestamp.h"
#include "statemachine/validator_internal.h"

namespace stepflow::sm::validator_internal {
namespace {

constexpr int64_t kMaxSeconds = 99999999;
constexpr std::string_view kActivityArnPrefix = "arn:aws:states:";
constexpr std::string_view kActivityMarker = ":activity:";

// Next/End on the states that transition: exactly one of `Next` (a string) and `End: true`.
void CheckNextOrEnd(const json::object& state, const std::string& location, Validation& v,
                    std::vector<Transition>& transitions) {
  const json::value* end = state.if_contains("End");
  bool ends = false;
  if (end != nullptr) {
    if (!end->is_bool()) {
      v.Schema(Child(location, "End"), Cat("The field 'End' must be a boolean, not ", TypeName(*end)));
    }
    ends = end->is_bool() && end->get_bool();
  }
  std::optional<std::string_view> next = StringField(state, "Next", location, false, v);
  if (next) {
    transitions.push_back(Transition{std::string(*next), Child(location, "Next")});
  }
  bool has_next = state.contains("Next");
  if (has_next && ends) {
    v.Schema(location, "Only one of 'Next' or 'End' may be set");
  } else if (!has_next && !ends) {
    v.Schema(location, "Exactly one of 'Next' or 'End: true' is required");
  }
}

// InputPath/OutputPath/ResultPath, Parameters/ResultSelector templates, Assign, Retry/Catch: checked
// wherever present (field legality per state type is CheckFields' job).
void CheckCommonFields(const json::object& state, const std::string& location, QueryLanguage language,
                       Validation& v, std::vector<Transition>& transitions) {
  if (language == QueryLanguage::kJsonPath) {
    PathField(state, "InputPath", location, PathKind::kAny, /*nullable=*/true, v);
    PathField(state, "OutputPath", location, PathKind::kAny, /*nullable=*/true, v);
    PathField(state, "ResultPath", location, PathKind::kResultPath, /*nullable=*/true, v);
    TemplateField(state, "Parameters", location, language, v);
    TemplateField(state, "ResultSelector", location, language, v);
  }
  if (const json::value* assign = state.if_contains("Assign")) {
    CheckAssign(*assign, Child(location, "Assign"), language, v);
  }
  if (const json::value* retry = state.if_contains("Retry")) {
    CheckRetry(*retry, Child(location, "Retry"), language, v);
  }
  if (const json::value* catchers = state.if_contains("Catch")) {
    CheckCatch(*catchers, Child(location, "Catch"), language, v, transitions);
  }
}

void ValidatePass(const json::object& state, const std::string& location, QueryLanguage language,
                  Validation& v, std::vector<Transition>& transitions) {
  CheckFields(state, location,
              {{"Type", Lang::kBoth},
               {"Comment", Lang::kBoth},
               {"QueryLanguage", Lang::kBoth},
               {"Next", Lang::kBoth},
               {"End", Lang::kBoth},
               {"InputPath", Lang::kJsonPathOnly},
               {"OutputPath", Lang::kJsonPathOnly},
               {"Parameters", Lang::kJsonPathOnly},
               {"ResultPath", Lang::kJsonPathOnly},
               {"Result", Lang::kJsonPathOnly},
               {"Output", Lang::kJsonataOnly},
               {"Assign", Lang::kBoth}},
              language, "Pass states", v);
  CheckNextOrEnd(state, location, v, transitions);
}

// Express machines run for at most 5 minutes: no job-run (.sync), callback or activity tasks.
void CheckExpressResource(std::string_view resource, const std::string& location, Validation& v) {
  if (resource.ends_with(".sync") || resource.ends_with(".sync:2")) {
    v.Schema(location, "Express state machine does not support '.sync' service integration");
  } else if (resource.ends_with(".waitForTaskToken")) {
    v.Schema(location, "Express state machine does not support '.waitForTaskToken' service integration");
  } else if (resource.starts_with(kActivityArnPrefix) &&
             resource.find(kActivityMarker) != std::string_view::npos) {
    v.Schema(location, "Express state machine does not support Activity ARN");
  }
}

void CheckCredentials(const json::object& state, const std::string& location, QueryLanguage language,
                      Validation& v) {
  const json::value* value = state.if_contains("Credentials");
  if (value == nullptr) {
    return;
  }
  std::string at = Child(location, "Credentials");
  const json::object* credentials = value->if_object();
  if (credentials == nullptr) {
    v.Schema(at, Cat("The field 'Credentials' must be an object, not ", TypeName(*value)));
    return;
  }
  CheckFields(*credentials, at, {{"RoleArn", Lang::kBoth}, {"RoleArn.$", Lang::kJsonPathOnly}}, language,
              "Credentials", v);
  if (!credentials->contains("RoleArn") && !credentials->contains("RoleArn.$")) {
    v.Schema(at, "The field 'RoleArn' is required but was missing");
    return;
  }
  ExclusiveFields(*credentials, {"RoleArn", "RoleArn.$"}, at, false, v);
  StringField(*credentials, "RoleArn", at, false, v);
  if (language == QueryLanguage::kJsonPath && credentials->contains("RoleArn.$")) {
    CheckPayloadTemplate(*value, at, v);
  }
}

void CheckTaskTimeouts(const json::object& state, const std::string& location, QueryLanguage language,
                       Validation& v) {
  ExclusiveFields(state, {"TimeoutSeconds", "TimeoutSecondsPath"}, location, false, v);
  ExclusiveFields(state, {"HeartbeatSeconds", "HeartbeatSecondsPath"}, location, false, v);
  std::optional<int64_t> timeout =
      IntegerField(state, "TimeoutSeconds", location, 1, kMaxSeconds, language, v);
  std::optional<int64_t> heartbeat =
      IntegerField(state, "HeartbeatSeconds", location, 1, kMaxSeconds, language, v);
  PathField(state, "TimeoutSecondsPath", location, PathKind::kReference, false, v);
  PathField(state, "HeartbeatSecondsPath", location, PathKind::kReference, false, v);
  if (timeout && heartbeat && *heartbeat >= *timeout) {
    v.Schema(
        Child(location, "HeartbeatSeconds"),
        Cat("'HeartbeatSeconds' (", *heartbeat, ") must be smaller than 'TimeoutSeconds' (", *timeout, ")"));
  }
}

void ValidateTask(const json::object& state, const std::string& location, QueryLanguage language,
                  Validation& v, std::vector<Transition>& transitions) {
  CheckFields(state, location,
              {{"Type", Lang::kBoth},
               {"Comment", Lang::kBoth},
               {"QueryLanguage", Lang::kBoth},
               {"Next", Lang::kBoth},
               {"End", Lang::kBoth},
               {"Resource", Lang::kBoth},
               {"InputPath", Lang::kJsonPathOnly},
               {"OutputPath", Lang::kJsonPathOnly},
               {"Parameters", Lang::kJsonPathOnly},
               {"ResultSelector", Lang::kJsonPathOnly},
               {"ResultPath", Lang::kJsonPathOnly},
               {"Arguments", Lang::kJsonataOnly},
               {"Output", Lang::kJsonataOnly},
               {"Assign", Lang::kBoth},
               {"Retry", Lang::kBoth},
               {"Catch", Lang::kBoth},
               {"TimeoutSeconds", Lang::kBoth},
               {"TimeoutSecondsPath", Lang::kJsonPathOnly},
               {"HeartbeatSeconds", Lang::kBoth},
               {"HeartbeatSecondsPath", Lang::kJsonPathOnly},
               {"Credentials", Lang::kBoth}},
              language, "Task states", v);
  CheckNextOrEnd(state, location, v, transitions);
  std::optional<std::string_view> resource = StringField(state, "Resource", location, true, v);
  if (resource && resource->empty()) {
    v.Schema(Child(location, "Resource"), "The field 'Resource' must not be empty");
  }
  if (resource && v.options().express) {
    CheckExpressResource(*resource, Child(location, "Resource"), v);
  }
  CheckTaskTimeouts(state, location, language, v);
  CheckCredentials(state, location, language, v);
}

// A JSONata choice rule: Condition (expression or boolean) + Next (+ Assign, Output, Comment).
void CheckJsonataRule(const json::object& rule, const std::string& location, Validation& v) {
  CheckFields(rule, location,
              {{"Condition", Lang::kBoth},
               {"Next", Lang::kBoth},
               {"Assign", Lang::kBoth},
               {"Output", Lang::kBoth},
               {"Comment", Lang::kBoth}},
              QueryLanguage::kJsonata, "JSONata choice rules", v);
  const json::value* condition = rule.if_contains("Condition");
  if (condition == nullptr) {
    v.Schema(location, "The field 'Condition' is required but was missing");
  } else if (!condition->is_bool() && !IsJsonataExpression(*condition)) {
    v.Schema(Child(location, "Condition"),
             "The field 'Condition' must be a JSONata expression '{% ... %}' or a boolean");
  }
}

void CheckChoiceRule(const json::value& value, const std::string& location, QueryLanguage language,
                     Validation& v, std::vector<Transition>& transitions) {
  const json::object* rule = value.if_object();
  if (rule == nullptr) {
    v.Schema(location, Cat("A choice rule must be an object, not ", TypeName(value)));
    return;
  }
  if (language == QueryLanguage::kJsonata) {
    CheckJsonataRule(*rule, location, v);
  } else {
    absl::StatusOr<ChoiceRule> parsed = ChoiceRule::Parse(value, location);
    if (!parsed.ok()) {
      v.Schema(location, std::string(parsed.status().message()));
    }
  }
  if (std::optional<std::string_view> next = StringField(*rule, "Next", location, true, v)) {
    transitions.push_back(Transition{std::string(*next), Child(location, "Next")});
  }
  if (const json::value* assign = rule->if_contains("Assign")) {
    CheckAssign(*assign, Child(location, "Assign"), language, v);
  }
}

void ValidateChoice(const json::object& state, const std::string& location, QueryLanguage language,
                    Validation& v, std::vector<Transition>& transitions) {
  CheckFields(state, location,
              {{"Type", Lang::kBoth},
               {"Comment", Lang::kBoth},
               {"QueryLanguage", Lang::kBoth},
               {"Choices", Lang::kBoth},
               {"Default", Lang::kBoth},
               {"InputPath", Lang::kJsonPathOnly},
               {"OutputPath", Lang::kJsonPathOnly},
               {"Output", Lang::kJsonataOnly},
               {"Assign", Lang::kBoth}},
              language, "Choice states", v);
  const json::value* choices = state.if_contains("Choices");
  std::string at = Child(location, "Choices");
  if (choices == nullptr) {
    v.Schema(location, "The field 'Choices' is required but was missing");
  } else if (!choices->is_array() || choices->get_array().empty()) {
    v.Schema(at, "The field 'Choices' must be a non-empty array of choice rules");
  } else {
    const json::array& rules = choices->get_array();
    for (size_t i = 0; i < rules.size(); ++i) {
      CheckChoiceRule(rules[i], Child(at, i), language, v, transitions);
    }
  }
  if (std::optional<std::string_view> next = StringField(state, "Default", location, false, v)) {
    transitions.push_back(Transition{std::string(*next), Child(location, "Default")});
  }
}

void ValidateWait(const json::object& state, const std::string& location, QueryLanguage language,
                  Validation& v, std::vector<Transition>& transitions) {
  CheckFields(state, location,
              {{"Type", Lang::kBoth},
               {"Comment", Lang::kBoth},
               {"QueryLanguage", Lang::kBoth},
               {"Next", Lang::kBoth},
               {"End", Lang::kBoth},
               {"Seconds", Lang::kBoth},
               {"Timestamp", Lang::kBoth},
               {"SecondsPath", Lang::kJsonPathOnly},
               {"TimestampPath", Lang::kJsonPathOnly},
               {"InputPath", Lang::kJsonPathOnly},
               {"OutputPath", Lang::kJsonPathOnly},
               {"Output", Lang::kJsonataOnly},
               {"Assign", Lang::kBoth}},
              language, "Wait states", v);
  CheckNextOrEnd(state, location, v, transitions);
  ExclusiveFields(state, {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"}, location, true, v);
  IntegerField(state, "Seconds", location, 0, kMaxSeconds, language, v);
  PathField(state, "SecondsPath", location, PathKind::kReference, false, v);
  PathField(state, "TimestampPath", location, PathKind::kReference, false, v);
  const json::value* timestamp = state.if_contains("Timestamp");
  if (timestamp == nullptr || (language == QueryLanguage::kJsonata && IsJsonataExpression(*timestamp))) {
    return;
  }
  if (!timestamp->is_string() || !ParseTimestamp(timestamp->get_string()).has_value()) {
    v.Schema(Child(location, "Timestamp"),
             "The field 'Timestamp' must be an RFC 3339 timestamp, e.g. '2016-03-14T01:59:00Z'");
  }
}

void ValidateSucceed(const json::object& state, const std::string& location, QueryLanguage language,
                     Validation& v) {
  CheckFields(state, location,
              {{"Type", Lang::kBoth},
               {"Comment", Lang::kBoth},
               {"QueryLanguage", Lang::kBoth},
               {"InputPath", Lang::kJsonPathOnly},
               {"OutputPath", Lang::kJsonPathOnly},
               {"Output", Lang::kJsonataOnly}},
              language, "Succeed states", v);
}

void ValidateFail(const json::object& state, const std::string& location, QueryLanguage language,
                  Validation& v) {
  CheckFields(state, location,
              {{"Type", Lang::kBoth},
               {"Comment", Lang::kBoth},
               {"QueryLanguage", Lang::kBoth},
               {"Error", Lang::kBoth},
               {"Cause", Lang::kBoth},
               {"ErrorPath", Lang::kJsonPathOnly},
               {"CausePath", Lang::kJsonPathOnly}},
              language, "Fail states", v);
  ExclusiveFields(state, {"Error", "ErrorPath"}, location, false, v);
  ExclusiveFields(state, {"Cause", "CausePath"}, location, false, v);
  StringField(state, "Error", location, false, v);
  StringField(state, "Cause", location, false, v);
  PathField(state, "ErrorPath", location, PathKind::kPathOrIntrinsic, false, v);
  PathField(state, "CausePath", location, PathKind::kPathOrIntrinsic, false, v);
}

void ValidateParallel(const json::object& state, const std::string& location, QueryLanguage language,
                      int depth, Validation& v, std::vector<Transition>& transitions) {
  CheckFields(state, location,
              {{"Type", Lang::kBoth},
               {"Comment", Lang::kBoth},
               {"QueryLanguage", Lang::kBoth},
               {"Next", Lang::kBoth},
               {"End", Lang::kBoth},
               {"Branches", Lang::kBoth},
               {"InputPath", Lang::kJsonPathOnly},
               {"OutputPath", Lang::kJsonPathOnly},
               {"Parameters", Lang::kJsonPathOnly},
               {"ResultSelector", Lang::kJsonPathOnly},
               {"ResultPath", Lang::kJsonPathOnly},
               {"Arguments", Lang::kJsonataOnly},
               {"Output", Lang::kJsonataOnly},
               {"Assign", Lang::kBoth},
               {"Retry", Lang::kBoth},
               {"Catch", Lang::kBoth}},
              language, "Parallel states", v);
  CheckNextOrEnd(state, location, v, transitions);
  const json::value* branches = state.if_contains("Branches");
  std::string at = Child(location, "Branches");
  if (branches == nullptr) {
    v.Schema(location, "The field 'Branches' is required but was missing");
    return;
  }
  if (!branches->is_array() || branches->get_array().empty()) {
    v.Schema(at, "The field 'Branches' must be a non-empty array of state machines");
    return;
  }
  const json::array& list = branches->get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    ValidateMachine(list[i], Child(at, i), MachineKind::kBranch, depth + 1, v);
  }
}

constexpr std::string_view kStateTypes[] = {"Pass",    "Task", "Choice",   "Wait",
                                            "Succeed", "Fail", "Parallel", "Map"};

// Returns the state's Type when it is one of the 8, reporting otherwise.
std::optional<std::string_view> StateType(const json::object& state, const std::string& location,
                                          Validation& v) {
  std::optional<std::string_view> type = StringField(state, "Type", location, true, v);
  if (!type) {
    return std::nullopt;
  }
  for (std::string_view known : kStateTypes) {
    if (*type == known) {
      return type;
    }
  }
  v.Schema(Child(location, "Type"),
           Cat("Unknown state type '", *type,
               "': must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map"));
  return std::nullopt;
}

}  // namespace

QueryLanguage StateLanguage(const json::object& state, const std::string& location, Validation& v) {
  std::optional<std::string_view> name = StringField(state, "QueryLanguage", location, false, v);
  if (!name) {
    return v.root_language();
  }
  if (*name == "JSONata") {
    return QueryLanguage::kJsonata;
  }
  if (*name != "JSONPath") {
    v.Schema(Child(location, "QueryLanguage"),
             Cat("'QueryLanguage' must be 'JSONPath' or 'JSONata', not '", *name, "'"));
    return v.root_language();
  }
  if (v.root_language() == QueryLanguage::kJsonata) {
    v.Schema(Child(location, "QueryLanguage"),
             "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine");
    return QueryLanguage::kJsonata;
  }
  return QueryLanguage::kJsonPath;
}

void ValidateState(const json::object& state, const std::string& location, int depth, Validation& v,
                   std::vector<Transition>& transitions) {
  std::optional<std::string_view> type = StateType(state, location, v);
  if (!type) {
    return;
  }
  QueryLanguage language = StateLanguage(state, location, v);
  CheckCommonFields(state, location, language, v, transitions);
  if (*type == "Pass") {
    ValidatePass(state, location, language, v, transitions);
  } else if (*type == "Task") {
    ValidateTask(state, location, language, v, transitions);
  } else if (*type == "Choice") {
    ValidateChoice(state, location, language, v, transitions);
  } else if (*type == "Wait") {
    ValidateWait(state, location, language, v, transitions);
  } else if (*type == "Succeed") {
    ValidateSucceed(state, location, language, v);
  } else if (*type == "Fail") {
    ValidateFail(state, location, language, v);
  } else if (*type == "Parallel") {
    ValidateParallel(state, location, language, depth, v, transitions);
  } else {
    ValidateMapState(state, location, language, depth, v);
    CheckNextOrEnd(state, location, v, transitions);
  }
}

}  // namespace stepflow::sm::validator_internal
