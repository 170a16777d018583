#include "statemachine/jsonata/integer_words.h"

#include <array>
#include <cmath>
#include <map>
#include <vector>

#include "statemachine/jsonata/format_util.h"

namespace stepflow::sm::jsonata::internal {
namespace {

constexpr std::array<std::string_view, 20> kFew = {
    "Zero",   "One",    "Two",      "Three",    "Four",    "Five",    "Six",       "Seven",     "Eight",    "Nine",
    "Ten",    "Eleven", "Twelve",   "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"};
constexpr std::array<std::string_view, 20> kOrdinals = {
    "Zeroth",     "First",      "Second",     "Third",      "Fourth",     "Fifth",       "Sixth",
    "Seventh",    "Eighth",     "Ninth",      "Tenth",      "Eleventh",   "Twelfth",     "Thirteenth",
    "Fourteenth", "Fifteenth",  "Sixteenth",  "Seventeenth", "Eighteenth", "Nineteenth"};
constexpr std::array<std::string_view, 8> kDecades = {"Twenty", "Thirty",  "Forty",  "Fifty",
                                                      "Sixty",  "Seventy", "Eighty", "Ninety"};
constexpr std::array<std::string_view, 4> kMagnitudes = {"Thousand", "Million", "Billion", "Trillion"};

// One step of the conversion: `previous` says whether words precede (they are joined by " and " or ", ").
std::string Lookup(double num, bool previous, bool ordinal) {
  std::string words;
  if (num <= 19) {
    int n = static_cast<int>(num);
    words = previous ? " and " : "";
    words += ordinal ? kOrdinals[n] : kFew[n];
  } else if (num < 100) {
    int tens = static_cast<int>(num / 10);
    int remainder = static_cast<int>(std::fmod(num, 10));
    words = previous ? " and " : "";
    words += kDecades[tens - 2];
    if (remainder > 0) {
      words += "-" + Lookup(remainder, false, ordinal);
    } else if (ordinal) {
      words.pop_back();  // Twenty -> Twentieth
      words += "ieth";
    }
  } else if (num < 1000) {
    int hundreds = static_cast<int>(num / 100);
    double remainder = std::fmod(num, 100);
    words = previous ? ", " : "";
    words += std::string(kFew[hundreds]) + " Hundred";
    if (remainder > 0) {
      words += Lookup(remainder, true, ordinal);
    } else if (ordinal) {
      words += "th";
    }
  } else {
    int magnitude = static_cast<int>(std::floor(std::log10(num) / 3));
    magnitude = std::min(magnitude, static_cast<int>(kMagnitudes.size()));
    double factor = std::pow(10, magnitude * 3);
    double mantissa = std::floor(num / factor);
    double remainder = num - mantissa * factor;
    words = previous ? ", " : "";
    words += Lookup(mantissa, false, false) + " " + std::string(kMagnitudes[magnitude - 1]);
    if (remainder > 0) {
      words += Lookup(remainder, true, ordinal);
    } else if (ordinal) {
      words += "th";
    }
  }
  return words;
}

const std::map<std::string, double, std::less<>>& WordValues() {
  static const auto* values = [] {
    auto* map = new std::map<std::string, double, std::less<>>();
    for (size_t i = 0; i < kFew.size(); ++i) {
      (*map)[AsciiLower(kFew[i])] = static_cast<double>(i);
      (*map)[AsciiLower(kOrdinals[i])] = static_cast<double>(i);
    }
    for (size_t i = 0; i < kDecades.size(); ++i) {
      std::string word = AsciiLower(kDecades[i]);
      double value = static_cast<double>((i + 2) * 10);
      (*map)[word] = value;
      (*map)[word.substr(0, word.size() - 1) + "ieth"] = value;
    }
    (*map)["hundred"] = 100;
    (*map)["hundredth"] = 100;
    for (size_t i = 0; i < kMagnitudes.size(); ++i) {
      std::string word = AsciiLower(kMagnitudes[i]);
      double value = std::pow(10, (i + 1) * 3);
      (*map)[word] = value;
      (*map)[word + "th"] = value;
    }
    return map;
  }();
  return *values;
}

// Splits as jsonata-js does with /,\s|\sand\s|[\s\\-]/.
std::vector<std::string> SplitWords(std::string_view text) {
  std::vector<std::string> parts;
  std::string current;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ',' && i + 1 < text.size() && is_space(text[i + 1])) {
      parts.push_back(std::move(current));
      current.clear();
      i += 2;
    } else if (is_space(text[i]) && text.substr(i + 1, 3) == "and" && i + 4 < text.size() && is_space(text[i + 4])) {
      parts.push_back(std::move(current));
      current.clear();
      i += 5;
    } else if (is_space(text[i]) || text[i] == '\\' || text[i] == '-') {
      parts.push_back(std::move(current));
      current.clear();
      ++i;
    } else {
      current.push_back(text[i]);
      ++i;
    }
  }
  parts.push_back(std::move(current));
  return parts;
}

}  // namespace

std::string NumberToWords(double value, bool ordinal) { return Lookup(value, false, ordinal); }

std::optional<double> WordsToNumber(std::string_view lower_text) {
  const auto& values = WordValues();
  std::vector<double> segments = {0};
  for (const std::string& word : SplitWords(lower_text)) {
    auto it = values.find(word);
    if (it == values.end()) {
      return std::nullopt;
    }
    double value = it->second;
    if (value < 100) {
      double top = segments.back();
      segments.pop_back();
      if (top >= 1000) {
        segments.push_back(top);
        top = 0;
      }
      segments.push_back(top + value);
    } else {
      segments.back() *= value;
    }
  }
  double sum = 0;
  for (double s : segments) {
    sum += s;
  }
  return sum;
}

namespace {
struct RomanNumeral {
  int value;
  std::string_view text;
};
constexpr std::array<RomanNumeral, 13> kRoman = {{{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"},
                                                  {90, "xc"}, {50, "l"}, {40, "xl"}, {10, "x"}, {9, "ix"},
                                                  {5, "v"}, {4, "iv"}, {1, "i"}}};
}  // namespace

absl::StatusOr<std::string> NumberToRoman(double value) {
  if (value / 1000 > static_cast<double>(kMaxFormattedChars)) {
    return TooLarge("A roman numeral");
  }
  std::string out;
  for (const RomanNumeral& numeral : kRoman) {
    while (value >= numeral.value) {
      out += numeral.text;
      value -= numeral.value;
    }
  }
  return out;
}

std::optional<double> RomanToNumber(std::string_view upper_text) {
  auto digit_value = [](char c) -> int {
    switch (c) {
      case 'M': return 1000;
      case 'D': return 500;
      case 'C': return 100;
      case 'L': return 50;
      case 'X': return 10;
      case 'V': return 5;
      case 'I': return 1;
      default: return 0;
    }
  };
  double decimal = 0;
  int max = 1;
  for (size_t i = upper_text.size(); i-- > 0;) {
    int value = digit_value(upper_text[i]);
    if (value == 0) {
      return std::nullopt;
    }
    if (value < max) {
      decimal -= value;
    } else {
      max = value;
      decimal += value;
    }
  }
  return decimal;
}

std::string NumberToLetters(double value, char a_char) {
  std::string letters;
  while (value > 0) {
    letters.insert(letters.begin(), static_cast<char>(std::fmod(value - 1, 26) + a_char));
    value = std::floor((value - 1) / 26);
  }
  return letters;
}

double LettersToNumber(std::u32string_view letters, char a_char) {
  double decimal = 0;
  for (size_t i = 0; i < letters.size(); ++i) {
    double code = static_cast<double>(letters[letters.size() - i - 1]);
    decimal += (code - a_char + 1) * std::pow(26, static_cast<double>(i));
  }
  return decimal;
}

}  // namespace stepflow::sm::jsonata::internal
