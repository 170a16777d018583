// Path fields, payload templates (`.$` keys) and Assign blocks.

#include "absl/status/statusor.h"
#include "statemachine/intrinsics.h"
#include "statemachine/json_path.h"
#include "statemachine/validator_internal.h"

namespace stepflow::sm::validator_internal {
namespace {

constexpr size_t kMaxVariableNameLength = 80;
constexpr std::string_view kDynamicSuffix = ".$";

// Checks `text` as a path of `kind`; returns the problem, or "" when it is fine.
std::string PathProblem(std::string_view text, PathKind kind) {
  if (kind == PathKind::kPathOrIntrinsic && LooksLikeIntrinsic(text)) {
    absl::StatusOr<IntrinsicCall> call = IntrinsicCall::Parse(text);
    return call.ok() ? "" : std::string(call.status().message());
  }
  absl::StatusOr<JsonPath> path = JsonPath::Parse(text);
  if (!path.ok()) {
    return std::string(path.status().message());
  }
  if (kind == PathKind::kAny) {
    return "";
  }
  if (!path->IsReferencePath()) {
    return Cat("'", text,
               "' is not a reference path (wildcards, slices, unions, filters and "
               "deep scans are not allowed here)");
  }
  if (kind == PathKind::kResultPath && path->root() != JsonPath::Root::kInput) {
    return Cat("'", text, "' must be rooted at '$': only the state's result can be written");
  }
  return "";
}

// A payload-template `.$` value: a path ($, $$, $var) or an intrinsic call.
void CheckDynamicValue(std::string_view key, const json::value& value, const std::string& location,
                       Validation& v) {
  if (!value.is_string()) {
    v.Schema(location, Cat("The value for the field '", key,
                           "' must be a STRING that contains a JSONPath or an intrinsic "
                           "function call, not ",
                           TypeName(value)));
    return;
  }
  std::string_view text = value.get_string();
  std::string problem;
  if (LooksLikeIntrinsic(text)) {
    absl::StatusOr<IntrinsicCall> call = IntrinsicCall::Parse(text);
    if (!call.ok()) {
      problem = std::string(call.status().message());
    }
  } else {
    problem = PathProblem(text, PathKind::kAny);
  }
  if (!problem.empty()) {
    v.Schema(location, Cat("The value for the field '", key,
                           "' must be a valid JSONPath or a valid intrinsic function call: ", problem));
  }
}

void CheckTemplateAt(const json::value& value, const std::string& location, int depth, Validation& v) {
  if (depth > kMaxNesting) {
    v.Schema(location, Cat("Payload template nested deeper than ", kMaxNesting, " levels"));
    return;
  }
  if (const json::array* array = value.if_array()) {
    for (size_t i = 0; i < array->size(); ++i) {
      CheckTemplateAt((*array)[i], Child(location, i), depth + 1, v);
    }
    return;
  }
  const json::object* object = value.if_object();
  if (object == nullptr) {
    return;
  }
  for (const auto& [key, field] : *object) {
    std::string field_location = Child(location, key);
    if (std::string_view(key).ends_with(kDynamicSuffix)) {
      CheckDynamicValue(key, field, field_location, v);
    } else {
      CheckTemplateAt(field, field_location, depth + 1, v);
    }
  }
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Variable names: a letter or `_` (or any non-ASCII character) first, then letters, digits and `_`;
// 1..80 characters; `states` is reserved for JSONata's `$states`.
std::string VariableNameProblem(std::string_view name) {
  if (name.empty()) {
    return "Variable names must not be empty";
  }
  if (CodePointCount(name) > kMaxVariableNameLength) {
    return Cat("Variable name '", name, "' exceeds ", kMaxVariableNameLength, " characters");
  }
  if (name == "states") {
    return "Variable name 'states' is reserved";
  }
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    bool ok = c >= 0x80 || IsAsciiLetter(name[i]) || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return Cat("Variable name '", name, "' contains invalid character '", name.substr(i, 1), "'");
    }
  }
  return "";
}

}  // namespace

void PathField(const json::object& object, std::string_view field, const std::string& location, PathKind kind,
               bool nullable, Validation& v) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || (nullable && value->is_null())) {
    return;
  }
  std::string field_location = Child(location, field);
  if (!value->is_string()) {
    v.Schema(field_location, Cat("The field '", field, "' must be a string path", nullable ? " or null" : "",
                                 ", not ", TypeName(*value)));
    return;
  }
  std::string problem = PathProblem(value->get_string(), kind);
  if (!problem.empty()) {
    v.Schema(field_location,
             Cat("The value for the field '", field, "' must be a valid JSONPath: ", problem));
  }
}

void CheckPayloadTemplate(const json::value& value, const std::string& location, Validation& v) {
  CheckTemplateAt(value, location, 0, v);
}

void TemplateField(const json::object& object, std::string_view field, const std::string& location,
                   QueryLanguage language, Validation& v) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || language == QueryLanguage::kJsonata) {
    return;
  }
  std::string field_location = Child(location, field);
  if (!value->is_object()) {
    v.Schema(field_location, Cat("The field '", field, "' must be an object, not ", TypeName(*value)));
    return;
  }
  CheckPayloadTemplate(*value, field_location, v);
}

void CheckAssign(const json::value& value, const std::string& location, QueryLanguage language,
                 Validation& v) {
  const json::object* object = value.if_object();
  if (object == nullptr) {
    if (language == QueryLanguage::kJsonata && IsJsonataExpression(value)) {
      return;
    }
    v.Schema(location, Cat("The field 'Assign' must be an object, not ", TypeName(value)));
    return;
  }
  for (const auto& [key, field] : *object) {
    std::string_view name = key;
    std::string field_location = Child(location, key);
    bool dynamic = language == QueryLanguage::kJsonPath && name.ends_with(kDynamicSuffix);
    if (dynamic) {
      name.remove_suffix(kDynamicSuffix.size());
    }
    std::string problem = VariableNameProblem(name);
    if (!problem.empty()) {
      v.Schema(field_location, problem);
    }
    if (language == QueryLanguage::kJsonata) {
      continue;
    }
    if (dynamic) {
      CheckDynamicValue(key, field, field_location, v);
    } else {
      CheckTemplateAt(field, field_location, 1, v);
    }
  }
}

}  // namespace stepflow::sm::validator_internal
