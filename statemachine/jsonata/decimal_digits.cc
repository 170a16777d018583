#include "statemachine/jsonata/decimal_digits.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

namespace stepflow::sm::jsonata::internal {
namespace {

// The longest exact expansion of a double has 767 significant digits; scientific text adds sign, point and
// exponent.
constexpr int kMaxExactDigits = 767;
constexpr int kScientificBuffer = kMaxExactDigits + 32;

DecimalDigits Zero() { return DecimalDigits{"0", 0}; }

// Reads "d[.ddd]e[+-]xx" as std::to_chars writes it.
DecimalDigits FromScientific(std::string_view text) {
  DecimalDigits out;
  size_t e = text.find('e');
  for (size_t i = 0; i < e; ++i) {
    if (text[i] != '.') {
      out.digits.push_back(text[i]);
    }
  }
  out.exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
  while (out.digits.size() > 1 && out.digits.back() == '0') {
    out.digits.pop_back();
  }
  if (out.digits == "0") {
    out.exponent = 0;
  }
  return out;
}

}  // namespace

DecimalDigits ShortestDigits(double d) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), std::fabs(d), std::chars_format::scientific);
  return FromScientific(std::string_view(buffer, result.ptr - buffer));
}

DecimalDigits ExactDigits(double d) {
  char buffer[kScientificBuffer];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), std::fabs(d), std::chars_format::scientific,
                              kMaxExactDigits - 1);
  return FromScientific(std::string_view(buffer, result.ptr - buffer));
}

DecimalDigits RoundToSignificant(const DecimalDigits& value, int count) {
  if (count < 1) {
    count = 1;
  }
  if (value.digits.size() <= static_cast<size_t>(count)) {
    return value;
  }
  DecimalDigits out{value.digits.substr(0, count), value.exponent};
  if (value.digits[count] >= '5') {
    int i = count - 1;
    while (i >= 0 && out.digits[i] == '9') {
      out.digits[i] = '0';
      --i;
    }
    if (i < 0) {
      out.digits.insert(out.digits.begin(), '1');
      out.digits.pop_back();
      ++out.exponent;
    } else {
      ++out.digits[i];
    }
  }
  while (out.digits.size() > 1 && out.digits.back() == '0') {
    out.digits.pop_back();
  }
  return out;
}

DecimalDigits RoundToFraction(const DecimalDigits& value, int fraction_digits) {
  if (value.digits == "0") {
    return value;
  }
  long long keep = static_cast<long long>(value.exponent) + 1 + fraction_digits;
  if (keep >= static_cast<long long>(value.digits.size())) {
    return value;
  }
  if (keep < 0) {
    return Zero();
  }
  if (keep == 0) {
    if (value.digits[0] >= '5') {
      return DecimalDigits{"1", -fraction_digits};
    }
    return Zero();
  }
  return RoundToSignificant(value, static_cast<int>(keep));
}

}  // namespace stepflow::sm::jsonata::internal
