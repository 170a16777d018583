// Retry and Catch blocks.

#include "statemachine/failure.h"
#include "statemachine/validator_internal.h"

namespace stepflow::sm::validator_internal {
namespace {

constexpr int64_t kMaxRetrySeconds = 99999999;
constexpr int64_t kMaxAttempts = 99999999;
constexpr int64_t kMaxDelaySeconds = 31622400;
constexpr double kMinBackoffRate = 1.0;

// Checks ErrorEquals; returns true when it lists States.ALL.
bool CheckErrorEquals(const json::object& object, const std::string& location, Validation& v) {
  const json::value* value = object.if_contains("ErrorEquals");
  if (value == nullptr) {
    v.Schema(location, "The field 'ErrorEquals' is required but was missing");
    return false;
  }
  std::string field_location = Child(location, "ErrorEquals");
  const json::array* names = value->if_array();
  if (names == nullptr || names->empty()) {
    v.Schema(field_location, "The field 'ErrorEquals' must be a non-empty array of error names");
    return false;
  }
  bool has_all = false;
  for (size_t i = 0; i < names->size(); ++i) {
    const json::value& name = (*names)[i];
    if (!name.is_string()) {
      v.Schema(Child(field_location, i), Cat("Error names must be strings, not ", TypeName(name)));
      continue;
    }
    has_all = has_all || name.get_string() == errors::kAll;
  }
  if (has_all && names->size() > 1) {
    v.Schema(field_location, "'States.ALL' must appear alone in 'ErrorEquals'");
  }
  return has_all;
}

void CheckBackoffRate(const json::object& retrier, const std::string& location, Validation& v) {
  const json::value* value = retrier.if_contains("BackoffRate");
  if (value == nullptr) {
    return;
  }
  if (!value->is_number()) {
    v.Schema(Child(location, "BackoffRate"),
             Cat("The field 'BackoffRate' must be a number, not ", TypeName(*value)));
    return;
  }
  double rate = value->to_number<double>();
  if (rate < kMinBackoffRate) {
    v.Schema(Child(location, "BackoffRate"),
             Cat("The value of field 'BackoffRate' must be at least 1.0, not ", rate));
  }
}

void CheckJitterStrategy(const json::object& retrier, const std::string& location, Validation& v) {
  std::optional<std::string_view> jitter =
      StringField(retrier, "JitterStrategy", location, /*required=*/false, v);
  if (jitter && *jitter != "FULL" && *jitter != "NONE") {
    v.Schema(Child(location, "JitterStrategy"),
             Cat("The field 'JitterStrategy' must be FULL or NONE, not '", *jitter, "'"));
  }
}

// Checks one retrier; returns true when it catches States.ALL.
bool CheckRetrier(const json::value& value, const std::string& location, QueryLanguage language,
                  Validation& v) {
  const json::object* retrier = value.if_object();
  if (retrier == nullptr) {
    v.Schema(location, Cat("A retrier must be an object, not ", TypeName(value)));
    return false;
  }
  CheckFields(*retrier, location,
              {{"ErrorEquals", Lang::kBoth},
               {"IntervalSeconds", Lang::kBoth},
               {"MaxAttempts", Lang::kBoth},
               {"BackoffRate", Lang::kBoth},
               {"MaxDelaySeconds", Lang::kBoth},
               {"JitterStrategy", Lang::kBoth},
               {"Comment", Lang::kBoth}},
              language, "Retrier", v);
  bool has_all = CheckErrorEquals(*retrier, location, v);
  IntegerField(*retrier, "IntervalSeconds", location, 1, kMaxRetrySeconds, QueryLanguage::kJsonPath, v);
  IntegerField(*retrier, "MaxAttempts", location, 0, kMaxAttempts, QueryLanguage::kJsonPath, v);
  IntegerField(*retrier, "MaxDelaySeconds", location, 1, kMaxDelaySeconds, QueryLanguage::kJsonPath, v);
  CheckBackoffRate(*retrier, location, v);
  CheckJitterStrategy(*retrier, location, v);
  return has_all;
}

bool CheckCatcher(const json::value& value, const std::string& location, QueryLanguage language,
                  Validation& v, std::vector<Transition>& transitions) {
  const json::object* catcher = value.if_object();
  if (catcher == nullptr) {
    v.Schema(location, Cat("A catcher must be an object, not ", TypeName(value)));
    return false;
  }
  CheckFields(*catcher, location,
              {{"ErrorEquals", Lang::kBoth},
               {"Next", Lang::kBoth},
               {"ResultPath", Lang::kJsonPathOnly},
               {"Output", Lang::kJsonataOnly},
               {"Assign", Lang::kBoth},
               {"Comment", Lang::kBoth}},
              language, "Catcher", v);
  bool has_all = CheckErrorEquals(*catcher, location, v);
  if (std::optional<std::string_view> next = StringField(*catcher, "Next", location, true, v)) {
    transitions.push_back(Transition{std::string(*next), Child(location, "Next")});
  }
  if (language == QueryLanguage::kJsonPath) {
    PathField(*catcher, "ResultPath", location, PathKind::kResultPath, /*nullable=*/true, v);
  }
  if (const json::value* assign = catcher->if_contains("Assign")) {
    CheckAssign(*assign, Child(location, "Assign"), language, v);
  }
  return has_all;
}

// Shared shape of Retry and Catch: a non-empty array whose States.ALL entry, if any, is last.
template <typename CheckOne>
void CheckErrorHandlers(const json::value& value, const std::string& location, std::string_view field,
                        Validation& v, CheckOne check_one) {
  const json::array* handlers = value.if_array();
  if (handlers == nullptr) {
    v.Schema(location, Cat("The field '", field, "' must be an array, not ", TypeName(value)));
    return;
  }
  for (size_t i = 0; i < handlers->size(); ++i) {
    bool has_all = check_one((*handlers)[i], Child(location, i));
    if (has_all && i + 1 != handlers->size()) {
      v.Schema(Child(location, i), Cat("'States.ALL' must appear only in the last entry of '", field, "'"));
    }
  }
}

}  // namespace

void CheckRetry(const json::value& value, const std::string& location, QueryLanguage language,
                Validation& v) {
  CheckErrorHandlers(value, location, "Retry", v, [&](const json::value& retrier, const std::string& at) {
    return CheckRetrier(retrier, at, language, v);
  });
}

void CheckCatch(const json::value& value, const std::string& location, QueryLanguage language, Validation& v,
                std::vector<Transition>& transitions) {
  CheckErrorHandlers(value, location, "Catch", v, [&](const json::value& catcher, const std::string& at) {
    return CheckCatcher(catcher, at, language, v, transitions);
  });
}

}  // namespace stepflow::sm::validator_internal
