// Number and date/time formatting builtins, wired to the formatting module (number_format.h,
// datetime.h). Its failures are absl::Status whose message starts with the JSONata code and ": ".

#include "statemachine/jsonata/datetime.h"
#include "statemachine/jsonata/functions.h"
#include "statemachine/jsonata/number_format.h"

namespace stepflow::sm::jsonata::fn {
namespace {

[[noreturn]] void FailWithStatus(const absl::Status& status) {
  std::string message(status.message());
  std::size_t colon = message.find(": ");
  JsonataException e;
  if (colon != std::string::npos && colon <= 6) {
    e.error.code = message.substr(0, colon);
    e.error.message = message.substr(colon + 2);
  } else {
    e.error.code = "D3000";
    e.error.message = message;
  }
  throw e;
}

template <typename T>
T Unwrap(absl::StatusOr<T> result) {
  if (!result.ok()) {
    FailWithStatus(result.status());
  }
  return *std::move(result);
}

std::optional<std::string_view> OptionalString(const Args& a, std::size_t i) {
  if (a.size() > i && a[i].is_string()) {
    return std::string_view(a[i].str());
  }
  return std::nullopt;
}

Value FromOptional(std::optional<double> d) { return d ? Value::Number(*d) : Value(); }

}  // namespace

Value FormatNumber(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  DecimalFormat format;
  if (a.size() > 2 && a[2].is_object()) {
    format = Unwrap(DecimalFormatFromOptions(ToJson(a[2]).as_object()));
  }
  return Value::String(Unwrap(jsonata::FormatNumber(a[0].number(), a[1].str(), format)));
}

Value FormatBase(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  double radix = a.size() > 1 && a[1].is_number() ? a[1].number() : 10;
  return Value::String(Unwrap(jsonata::FormatBase(a[0].number(), radix)));
}

Value FormatInteger(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  return Value::String(Unwrap(jsonata::FormatInteger(a[0].number(), a[1].str())));
}

Value ParseInteger(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  return FromOptional(Unwrap(jsonata::ParseInteger(a[0].str(), a[1].str())));
}

Value Now(Evaluator& ev, Args& a, const Value&) {
  return Value::String(Unwrap(FormatDateTime(ev.environment().now_millis, OptionalString(a, 0), OptionalString(a, 1))));
}

Value FromMillis(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  return Value::String(Unwrap(FormatDateTime(a[0].number(), OptionalString(a, 1), OptionalString(a, 2))));
}

Value ToMillis(Evaluator& ev, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  return FromOptional(Unwrap(ParseDateTime(a[0].str(), OptionalString(a, 1), ev.environment().now_millis)));
}

}  // namespace stepflow::sm::jsonata::fn
