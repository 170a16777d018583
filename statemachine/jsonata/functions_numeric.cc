// Numeric and aggregation functions, $random (from the environment), $millis.

#include <cmath>
#include <cstdlib>

#include "statemachine/jsonata/functions.h"
#include "statemachine/jsonata/js_number.h"

namespace stepflow::sm::jsonata::fn {
namespace {

bool MatchesDecimal(const std::string& s) {
  // ^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$ by hand (no std::regex)
  std::size_t i = 0;
  auto digits = [&]() {
    std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
    }
    return i > start;
  };
  if (i < s.size() && s[i] == '-') { ++i; }
  if (!digits()) { return false; }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) { return false; }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) { ++i; }
    if (!digits()) { return false; }
  }
  return i == s.size();
}

bool ParsePrefixed(const std::string& s, double* out) {
  if (s.size() < 3 || s[0] != '0') {
    return false;
  }
  int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : (s[1] == 'b' || s[1] == 'B') ? 2 : 0;
  if (base == 0) {
    return false;
  }
  double v = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    int d = std::isdigit(static_cast<unsigned char>(s[i])) ? s[i] - '0'
            : (s[i] >= 'a' && s[i] <= 'f') ? s[i] - 'a' + 10
            : (s[i] >= 'A' && s[i] <= 'F') ? s[i] - 'A' + 10 : 99;
    if (d >= base) {
      return false;
    }
    v = v * base + d;
  }
  *out = v;
  return true;
}

}  // namespace

Value Number(Evaluator&, Args& a, const Value&) {
  const Value& v = a[0];
  if (v.undefined()) {
    return Value();
  }
  if (v.is_number()) {
    return v;
  }
  if (v.is_bool()) {
    return Value::Number(v.boolean() ? 1 : 0);
  }
  if (v.is_string()) {
    if (MatchesDecimal(v.str())) {
      double d = std::strtod(v.str().c_str(), nullptr);
      if (std::isfinite(d)) {
        return Value::Number(d);
      }
    }
    double d = 0;
    if (ParsePrefixed(v.str(), &d)) {
      return Value::Number(d);
    }
  }
  Fail("D3030", -1);
}

Value Abs(Evaluator&, Args& a, const Value&) {
  return a[0].undefined() ? Value() : Value::Number(std::fabs(a[0].number()));
}
Value Floor(Evaluator&, Args& a, const Value&) {
  return a[0].undefined() ? Value() : Value::Number(std::floor(a[0].number()));
}
Value Ceil(Evaluator&, Args& a, const Value&) {
  return a[0].undefined() ? Value() : Value::Number(std::ceil(a[0].number()));
}

namespace {

// Shifts the decimal point of `d` by `places` through its JavaScript text, as jsonata-js does.
double ShiftDecimal(double d, double places) {
  std::string text = JsNumberToString(d);
  std::size_t e = text.find('e');
  double exponent = places;
  std::string mantissa = text;
  if (e != std::string::npos) {
    mantissa = text.substr(0, e);
    exponent += std::strtod(text.c_str() + e + 1, nullptr);
  }
  std::string shifted = mantissa + "e" + JsNumberToString(exponent);
  return std::strtod(shifted.c_str(), nullptr);
}

}  // namespace

Value Round(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  double arg = a[0].number();
  double precision = a.size() > 1 && a[1].is_number() ? a[1].number() : 0;
  if (precision != 0) {
    arg = ShiftDecimal(arg, precision);
  }
  double result = std::floor(arg + 0.5);
  double diff = result - arg;
  if (std::fabs(diff) == 0.5 && std::fabs(std::fmod(result, 2)) == 1) {
    result -= 1;
  }
  if (precision != 0) {
    result = ShiftDecimal(result, -precision);
  }
  if (result == 0) {
    result = 0;  // no -0
  }
  return Value::Number(result);
}

Value Sqrt(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  if (a[0].number() < 0) {
    Fail("D3060", -1);
  }
  return Value::Number(std::sqrt(a[0].number()));
}

Value Power(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  double r = std::pow(a[0].number(), a[1].number());
  if (!std::isfinite(r)) {
    Fail("D3061", -1);
  }
  return Value::Number(r);
}

Value Random(Evaluator& ev, Args&, const Value&) {
  if (!ev.environment().random) {
    Fail("D3137", -1, "$random() has no random source in this environment");
  }
  return Value::Number(ev.environment().random());
}

Value Millis(Evaluator& ev, Args&, const Value&) { return Value::Number(ev.environment().now_millis); }

Value Sum(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value();
  }
  double total = 0;
  for (const Value& v : a[0].array().items) {
    total += v.number();
  }
  return Value::Number(total);
}

Value Count(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined()) {
    return Value::Number(0);
  }
  return Value::Number(static_cast<double>(a[0].array().items.size()));
}

Value Max(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined() || a[0].array().items.empty()) {
    return Value();
  }
  double m = -INFINITY;
  for (const Value& v : a[0].array().items) {
    m = std::max(m, v.number());
  }
  return Value::Number(m);
}

Value Min(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined() || a[0].array().items.empty()) {
    return Value();
  }
  double m = INFINITY;
  for (const Value& v : a[0].array().items) {
    m = std::min(m, v.number());
  }
  return Value::Number(m);
}

Value Average(Evaluator&, Args& a, const Value&) {
  if (a[0].undefined() || a[0].array().items.empty()) {
    return Value();
  }
  double total = 0;
  for (const Value& v : a[0].array().items) {
    total += v.number();
  }
  return Value::Number(total / static_cast<double>(a[0].array().items.size()));
}

}  // namespace stepflow::sm::jsonata::fn
