// Small helpers shared by the validator's files: JSON pointers, field presence/type checks, timestamps.

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "statemachine/validator_internal.h"

namespace stepflow::sm::validator_internal {

void Validation::Report(std::string location, std::string_view code, std::string message) {
  diagnostics_.push_back(Diagnostic{std::move(location), std::string(code), std::move(message)});
}

void Validation::Schema(std::string location, std::string message) {
  Report(std::move(location), kSchemaValidationFailed, std::move(message));
}

std::string Child(const std::string& pointer, std::string_view token) {
  std::string out = pointer;
  out.push_back('/');
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Child(const std::string& pointer, size_t index) { return Cat(pointer, "/", index); }

std::string Join(const std::vector<std::string_view>& pieces, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < pieces.size(); ++i) {
    out.append(i == 0 ? std::string_view() : separator);
    out.append(pieces[i]);
  }
  return out;
}

std::string_view LanguageName(QueryLanguage language) {
  return language == QueryLanguage::kJsonata ? "JSONata" : "JSONPath";
}

bool IsJsonataExpression(const json::value& value) {
  const json::string* s = value.if_string();
  if (s == nullptr || s->size() < 4) {
    return false;
  }
  std::string_view text(*s);
  return text.substr(0, 2) == "{%" && text.substr(text.size() - 2) == "%}";
}

size_t CodePointCount(std::string_view text) {
  size_t count = 0;
  for (unsigned char c : text) {
    // Continuation bytes (10xxxxxx) belong to the preceding code point.
    if ((c & 0xC0) != 0x80) {
      ++count;
    }
  }
  return count;
}

std::optional<int64_t> AsInteger(const json::value& value) {
  if (const int64_t* i = value.if_int64()) {
    return *i;
  }
  if (const uint64_t* u = value.if_uint64()) {
    return *u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

std::string_view TypeName(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "value";
}

namespace {

const FieldRule* FindRule(std::initializer_list<FieldRule> rules, std::string_view name) {
  for (const FieldRule& rule : rules) {
    if (rule.name == name) {
      return &rule;
    }
  }
  return nullptr;
}

}  // namespace

void CheckFields(const json::object& object, const std::string& location,
                 std::initializer_list<FieldRule> rules, QueryLanguage language, std::string_view what,
                 Validation& v) {
  for (const auto& [key, unused] : object) {
    const FieldRule* rule = FindRule(rules, key);
    if (rule == nullptr) {
      v.Schema(Child(location, key),
               Cat("The field '", std::string_view(key), "' is not supported by ", what));
      continue;
    }
    bool wrong_language = (rule->lang == Lang::kJsonPathOnly && language == QueryLanguage::kJsonata) ||
                          (rule->lang == Lang::kJsonataOnly && language == QueryLanguage::kJsonPath);
    if (wrong_language) {
      v.Schema(Child(location, key), Cat("The field '", std::string_view(key), "' is not supported in ",
                                         LanguageName(language), " states (", what, ")"));
    }
  }
}

std::optional<std::string_view> StringField(const json::object& object, std::string_view field,
                                            const std::string& location, bool required, Validation& v) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr) {
    if (required) {
      v.Schema(location, Cat("The field '", field, "' is required but was missing"));
    }
    return std::nullopt;
  }
  if (!value->is_string()) {
    v.Schema(Child(location, field), Cat("The field '", field, "' must be a string, not ", TypeName(*value)));
    return std::nullopt;
  }
  return std::string_view(value->get_string());
}

std::optional<int64_t> IntegerField(const json::object& object, std::string_view field,
                                    const std::string& location, int64_t min, int64_t max,
                                    QueryLanguage language, Validation& v) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (language == QueryLanguage::kJsonata && IsJsonataExpression(*value)) {
    return std::nullopt;
  }
  std::optional<int64_t> number = AsInteger(*value);
  if (!number) {
    v.Schema(Child(location, field),
             Cat("The field '", field, "' must be an integer, not ", TypeName(*value)));
    return std::nullopt;
  }
  if (*number < min || *number > max) {
    v.Schema(Child(location, field),
             Cat("The value of field '", field, "' must be between ", min, " and ", max, ", not ", *number));
    return std::nullopt;
  }
  return number;
}

void ExclusiveFields(const json::object& object, std::initializer_list<std::string_view> fields,
                     const std::string& location, bool required, Validation& v) {
  std::vector<std::string_view> present;
  for (std::string_view field : fields) {
    if (object.contains(field)) {
      present.push_back(field);
    }
  }
  if (present.size() > 1) {
    v.Schema(location, Cat("Only one of the fields [", Join(present, ", "), "] may be set"));
  } else if (present.empty() && required) {
    v.Schema(location, Cat("Exactly one of the fields [", Join(std::vector<std::string_view>(fields), ", "),
                           "] is required but none was set"));
  }
}

}  // namespace stepflow::sm::validator_internal
