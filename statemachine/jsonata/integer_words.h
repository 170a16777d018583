#pragma once
// Internal: the non-decimal numberings of XPath's format-integer as JSONata 2.0.6 implements them —
// English words (cardinal and ordinal), roman numerals and spreadsheet-style letters — and their inverses.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace stepflow::sm::jsonata::internal {

// "One Hundred and Twenty-Three" / "One Hundred and Twenty-Third" (title case; callers change the case).
// `value` >= 0 and finite. Magnitudes above trillions repeat "Trillion" ("Ten Billion Trillion ...").
std::string NumberToWords(double value, bool ordinal);
// The inverse for lower-case text: words separated by ", ", " and ", white space or '-'. nullopt (JSONata
// gets NaN) when a word is not a number word.
std::optional<double> WordsToNumber(std::string_view lower_text);

// Lower-case roman numerals ("mcmlxxxiv"); 0 gives "". kLimitCode error when the numeral would be longer
// than kMaxFormattedChars (values beyond about a billion).
absl::StatusOr<std::string> NumberToRoman(double value);
// The inverse for upper-case numerals; nullopt for a character that is not a roman digit.
std::optional<double> RomanToNumber(std::string_view upper_text);

// 1 -> "a", 26 -> "z", 27 -> "aa" (from `a_char`, 'a' or 'A'); 0 gives "".
std::string NumberToLetters(double value, char a_char);
// The inverse: each code point counts (c - a_char + 1) * 26^position, as jsonata-js computes it.
double LettersToNumber(std::u32string_view letters, char a_char);

}  // namespace stepflow::sm::jsonata::internal
