#include "statemachine/jsonata/js_number.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "statemachine/jsonata/decimal_digits.h"

namespace stepflow::sm::jsonata {
namespace {

using internal::DecimalDigits;

constexpr int kMinPrecision = 1;
constexpr int kMaxPrecision = 100;

std::string NonFinite(double d) {
  if (std::isnan(d)) {
    return "NaN";
  }
  return d < 0 ? "-Infinity" : "Infinity";
}

// "d.ddde+x" / "de-x" as ECMA-262 writes exponent forms.
std::string ExponentForm(const std::string& digits, int exponent) {
  std::string out(1, digits[0]);
  if (digits.size() > 1) {
    out += '.';
    out.append(digits, 1, std::string::npos);
  }
  out += exponent < 0 ? "e-" : "e+";
  out += std::to_string(exponent < 0 ? -exponent : exponent);
  return out;
}

// Plain notation of digits x 10^(exponent - digits.size() + 1), padding with zeros as needed.
std::string PlainForm(const std::string& digits, int exponent) {
  int k = static_cast<int>(digits.size());
  int n = exponent + 1;  // digits before the decimal point
  if (n >= k) {
    return digits + std::string(n - k, '0');
  }
  if (n > 0) {
    return digits.substr(0, n) + "." + digits.substr(n);
  }
  return "0." + std::string(-n, '0') + digits;
}

}  // namespace

std::string JsNumberToString(double d) {
  if (!std::isfinite(d)) {
    return NonFinite(d);
  }
  if (d == 0) {
    return "0";
  }
  // Integers of up to 2^53 print as their decimal digits (plain notation: below 1e21).
  constexpr double kMaxExactInteger = 9007199254740992.0;
  if (std::fabs(d) <= kMaxExactInteger && std::trunc(d) == d) {
    return std::to_string(static_cast<long long>(d));
  }
  DecimalDigits value = internal::ShortestDigits(d);
  std::string sign = d < 0 ? "-" : "";
  int n = value.exponent + 1;
  if (n > -6 && n <= 21) {
    return sign + PlainForm(value.digits, value.exponent);
  }
  return sign + ExponentForm(value.digits, value.exponent);
}

std::string JsonataNumberToString(double d) {
  if (!std::isfinite(d)) {
    return JsNumberToString(d);
  }
  constexpr int kJsonataStringPrecision = 15;
  // Any decimal of at most 15 significant digits reads back as a distinct double (DBL_DIG), so when the
  // shortest digits of `d` number 15 or fewer, rounding its exact value to 15 digits gives those same
  // digits and the round trip through toPrecision(15) changes nothing: skip the exact expansion.
  if (internal::ShortestDigits(d).digits.size() <= static_cast<std::size_t>(kJsonataStringPrecision)) {
    return JsNumberToString(d);
  }
  return JsNumberToString(std::strtod(JsToPrecision(d, kJsonataStringPrecision).c_str(), nullptr));
}

std::string JsToPrecision(double d, int precision) {
  if (!std::isfinite(d)) {
    return NonFinite(d);
  }
  precision = std::clamp(precision, kMinPrecision, kMaxPrecision);
  std::string sign = d < 0 ? "-" : "";
  DecimalDigits value =
      d == 0 ? DecimalDigits{"0", 0} : internal::RoundToSignificant(internal::ExactDigits(d), precision);
  value.digits.resize(precision, '0');
  if (value.exponent < -6 || value.exponent >= precision) {
    return sign + ExponentForm(value.digits, value.exponent);
  }
  return sign + PlainForm(value.digits, value.exponent);
}

}  // namespace stepflow::sm::jsonata
