// $formatInteger, $parseInteger and $formatBase.

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "statemachine/jsonata/format_util.h"
#include "statemachine/jsonata/integer_picture.h"
#include "statemachine/jsonata/js_number.h"
#include "statemachine/jsonata/number_format.h"

namespace stepflow::sm::jsonata {
namespace {

constexpr int kMinRadix = 2;
constexpr int kMaxRadix = 36;
// Doubles at or above 2^53 have no fractional bits and not every integer: JavaScript prints their lowest
// base-radix digits as '0' until the rest is below this.
constexpr double kTwoTo53 = 9007199254740992.0;

// JavaScript's Number.prototype.toString(radix) for an integer-valued finite `value`.
std::string IntegerToRadix(double value, int radix) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string reversed;
  double integer = std::fabs(value);
  while (integer / radix >= kTwoTo53) {
    integer /= radix;
    reversed.push_back('0');
  }
  do {
    double remainder = std::fmod(integer, radix);
    reversed.push_back(kDigits[static_cast<int>(remainder)]);
    integer = (integer - remainder) / radix;
  } while (integer > 0);
  if (value < 0) {
    reversed.push_back('-');
  }
  return std::string(reversed.rbegin(), reversed.rend());
}

// jsonata's $round(x): the nearest integer, halves to even; -0 becomes 0.
double RoundHalfEven(double x) {
  double result = std::floor(x);
  if (x - result >= 0.5) {
    result += 1;
  }
  if (std::fabs(result - x) == 0.5 && std::fabs(std::fmod(result, 2)) == 1) {
    result -= 1;
  }
  return result == 0 ? 0 : result;
}

}  // namespace

absl::StatusOr<std::string> FormatBase(double value, double radix) {
  value = RoundHalfEven(value);
  double rounded_radix = RoundHalfEven(radix);
  if (!(rounded_radix >= kMinRadix && rounded_radix <= kMaxRadix)) {
    return internal::JsonataError(
        "D3100", absl::StrCat("The radix of the formatBase function must be between 2 and 36.  It was given ",
                              JsNumberToString(rounded_radix)));
  }
  if (!std::isfinite(value) || rounded_radix == 10) {
    return JsNumberToString(value);
  }
  return IntegerToRadix(value, static_cast<int>(rounded_radix));
}

absl::StatusOr<std::string> FormatInteger(double value, std::string_view picture) {
  if (!std::isfinite(value)) {
    return internal::JsonataError("D3001", "Attempting to invoke string function on Infinity or NaN");
  }
  absl::StatusOr<internal::IntegerPicture> format = internal::AnalyseIntegerPicture(picture);
  if (!format.ok()) {
    return format.status();
  }
  return internal::FormatIntegerWith(std::floor(value), *format);
}

absl::StatusOr<std::optional<double>> ParseInteger(std::string_view text, std::string_view picture) {
  absl::StatusOr<internal::IntegerPicture> format = internal::AnalyseIntegerPicture(picture);
  if (!format.ok()) {
    return format.status();
  }
  return internal::ParseIntegerWith(text, *format);
}

}  // namespace stepflow::sm::jsonata
