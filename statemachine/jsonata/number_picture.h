#pragma once
// Internal: $formatNumber's picture analysis (F&O 4.7.3 / 4.7.4 as jsonata-js 2.0.6 implements them),
// on code points.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "statemachine/jsonata/number_format.h"

namespace stepflow::sm::jsonata::internal {

// The decimal format's properties as code point strings, and its digit family.
struct DecimalSymbols {
  std::u32string decimal_separator, grouping_separator, exponent_separator, minus_sign, percent, per_mille,
      zero_digit, digit, pattern_separator, infinity, nan;
  char32_t zero = '0';

  bool IsFamilyDigit(char32_t c) const { return c >= zero && c <= zero + 9; }
  // Active characters: the digit family and the single-character separators, digit sign and pattern
  // separator (jsonata-js compares each picture character with the whole property string).
  bool IsActive(char32_t c) const;
  bool IsExponentSeparator(char32_t c) const;
};

DecimalSymbols MakeSymbols(const DecimalFormat& format);

// One analysed sub-picture.
struct SubPicture {
  std::u32string picture;  // the whole sub-picture
  std::u32string prefix, suffix;
  std::vector<int> integer_grouping_positions;
  int regular_grouping = 0;
  int minimum_integer_size = 0;
  int scaling_factor = 0;
  std::vector<int> fractional_grouping_positions;
  int minimum_fraction_size = 0;
  int maximum_fraction_size = 0;
  int minimum_exponent_size = 0;
};

// Splits, validates (D3080..D3093) and analyses `picture`; returns the positive and the negative
// sub-picture (the latter derived from the former when the picture has one sub-picture).
absl::StatusOr<std::vector<SubPicture>> AnalyseNumberPicture(const std::u32string& picture,
                                                             const DecimalSymbols& symbols);

}  // namespace stepflow::sm::jsonata::internal
