#pragma once
// Internal to the JSONata formatting functions: the exact decimal expansion of a double and rounding of
// such expansions, so that every formatter rounds the same way (half away from zero on the exact value).

#include <string>

namespace stepflow::sm::jsonata::internal {

// A non-negative decimal number digits[0].digits[1..] x 10^exponent. `digits` has no leading zero unless the
// value is zero ("0", exponent 0).
struct DecimalDigits {
  std::string digits;
  int exponent = 0;
};

// The shortest digits that round-trip to |d| (d finite).
DecimalDigits ShortestDigits(double d);

// The exact binary value of |d| in decimal (d finite); at most 767 significant digits.
DecimalDigits ExactDigits(double d);

// Keeps `count` (>= 1) significant digits, rounding half up; may carry into a new leading digit.
DecimalDigits RoundToSignificant(const DecimalDigits& value, int count);

// Keeps the digits down to 10^-fraction_digits (fraction_digits may be negative), rounding half up. The
// result may be zero ("0").
DecimalDigits RoundToFraction(const DecimalDigits& value, int fraction_digits);

}  // namespace stepflow::sm::jsonata::internal
