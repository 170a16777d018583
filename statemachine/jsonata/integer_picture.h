#pragma once
// Internal: XPath format-integer pictures as jsonata-js 2.0.6 reads them (shared by $formatInteger,
// $parseInteger and the integer components of date/time pictures).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace stepflow::sm::jsonata::internal {

enum class IntegerPrimary { kDecimal, kLetters, kRoman, kWords, kSequence };
enum class LetterCase { kLower, kUpper, kTitle };

struct GroupingSeparator {
  int position = 0;  // digits to its right
  char32_t character = ',';
};

struct IntegerPicture {
  IntegerPrimary primary = IntegerPrimary::kDecimal;
  LetterCase letter_case = LetterCase::kLower;
  bool ordinal = false;
  // Decimal digit patterns only:
  char32_t zero_code = '0';  // the digit family's zero
  int mandatory_digits = 0;
  int optional_digits = 0;
  // Regular grouping: one separator repeated every `separators[0].position` digits.
  bool regular = false;
  std::vector<GroupingSeparator> separators;  // in picture order from the right
  // Date/time parsing: the exact digit count a component must have (-1 or 0: any).
  int width = -1;
  std::string token;  // the unsupported numbering sequence (kSequence)
};

// Reads "primary[;modifier]". D3131 for digits of two families. A picture without any decimal digit and
// not one of A a I i W w Ww is a numbering sequence (an error only when used: D3130).
absl::StatusOr<IntegerPicture> AnalyseIntegerPicture(std::string_view picture);

// Formats floor-ed `value` (finite). D3130 for a numbering sequence; kLimitCode when the result would
// exceed kMaxFormattedChars.
absl::StatusOr<std::string> FormatIntegerWith(double value, const IntegerPicture& picture);

// Parses `text` per `picture` as jsonata-js does (without checking the text against the picture):
// nullopt where jsonata-js computes NaN.
absl::StatusOr<std::optional<double>> ParseIntegerWith(std::string_view text, const IntegerPicture& picture);

}  // namespace stepflow::sm::jsonata::internal
