#include "statemachine/jsonata/integer_picture.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "statemachine/jsonata/format_util.h"
#include "statemachine/jsonata/integer_words.h"
#include "statemachine/jsonata/js_number.h"

namespace stepflow::sm::jsonata::internal {
namespace {

// The zero of every Unicode decimal digit family in the Basic Multilingual Plane that jsonata-js knows.
constexpr std::array<char32_t, 37> kDecimalGroups = {
    0x30,   0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
    0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10};

std::optional<char32_t> DigitFamily(char32_t c) {
  for (char32_t zero : kDecimalGroups) {
    if (c >= zero && c <= zero + 9) {
      return zero;
    }
  }
  return std::nullopt;
}

// The common interval of the separators when they are all the same character at every multiple of it
// (positions g, 2g, 3g, ...); 0 otherwise.
int RegularInterval(const std::vector<GroupingSeparator>& separators) {
  if (separators.empty()) {
    return 0;
  }
  int factor = 0;
  for (const GroupingSeparator& s : separators) {
    if (s.character != separators[0].character) {
      return 0;
    }
    factor = std::gcd(factor, s.position);
  }
  if (factor == 0) {
    return 0;
  }
  std::unordered_set<int> positions;
  for (const GroupingSeparator& s : separators) {
    positions.insert(s.position);
  }
  for (size_t index = 1; index <= separators.size(); ++index) {
    if (!positions.contains(static_cast<int>(index) * factor)) {
      return 0;
    }
  }
  return factor;
}

absl::Status AnalyseDecimal(std::u32string_view primary, IntegerPicture& format) {
  std::optional<char32_t> zero;
  int position = 0;
  for (size_t i = primary.size(); i-- > 0;) {
    char32_t c = primary[i];
    if (std::optional<char32_t> family = DigitFamily(c)) {
      ++format.mandatory_digits;
      ++position;
      if (!zero) {
        zero = family;
      } else if (*zero != *family) {
        return JsonataError("D3131", "In a decimal digit pattern, all digits must be from the same decimal group");
      }
    } else if (c == '#') {
      ++position;
      ++format.optional_digits;
    } else {
      format.separators.push_back(GroupingSeparator{position, c});
    }
  }
  if (format.mandatory_digits == 0) {
    format.primary = IntegerPrimary::kSequence;
    format.token = EncodeUtf8(primary);
    return absl::OkStatus();
  }
  format.zero_code = *zero;
  int interval = RegularInterval(format.separators);
  if (interval > 0) {
    format.regular = true;
    format.separators = {GroupingSeparator{interval, format.separators[0].character}};
  }
  return absl::OkStatus();
}

// JavaScript's substr(0, pos) + insert + substr(pos) with its treatment of negative positions.
void InsertAt(std::u32string& text, long long pos, char32_t c) {
  long long length = static_cast<long long>(text.size());
  size_t head_length = pos > 0 ? static_cast<size_t>(std::min(pos, length)) : 0;
  size_t tail_start = static_cast<size_t>(pos < 0 ? std::max(length + pos, 0LL) : std::min(pos, length));
  std::u32string result;
  result.reserve(head_length + 1 + text.size() - tail_start);
  result.append(text, 0, head_length);
  result.push_back(c);
  result.append(text, tail_start, std::u32string::npos);
  text.swap(result);
}

// Inserts the grouping separators as jsonata-js does, one at a time at (current length - position) in
// descending position order. When every position is within the digits this is one linear pass; otherwise
// (positions beyond a short number, where JavaScript's substr semantics drop characters) the insertions
// are replayed one by one, bounded.
absl::StatusOr<std::u32string> InsertSeparators(std::u32string digits, const IntegerPicture& format) {
  std::vector<GroupingSeparator> order;  // processing order, positions non-increasing
  if (format.regular) {
    int interval = format.separators[0].position;
    for (long long g = (static_cast<long long>(digits.size()) - 1) / interval; g > 0; --g) {
      order.push_back(GroupingSeparator{static_cast<int>(g * interval), format.separators[0].character});
    }
  } else {
    order.assign(format.separators.rbegin(), format.separators.rend());
  }
  if (order.empty()) {
    return digits;
  }
  long long length = static_cast<long long>(digits.size());
  if (order.front().position > length) {
    constexpr double kMaxReplayWork = 1e8;
    if (static_cast<double>(order.size()) * static_cast<double>(length + order.size()) > kMaxReplayWork) {
      return TooLarge("The integer picture's grouping separators");
    }
    for (const GroupingSeparator& s : order) {
      InsertAt(digits, static_cast<long long>(digits.size()) - s.position, s.character);
    }
    return digits;
  }
  std::u32string out;
  out.reserve(digits.size() + order.size());
  size_t next = 0;
  for (long long i = 0; i <= length; ++i) {
    while (next < order.size() && order[next].position == length - i) {
      out.push_back(order[next++].character);
    }
    if (i < length) {
      out.push_back(digits[i]);
    }
  }
  return out;
}

absl::StatusOr<std::string> FormatDecimal(double value, const IntegerPicture& format) {
  if (format.mandatory_digits > static_cast<long long>(kMaxFormattedChars)) {
    return TooLarge("The integer picture");
  }
  std::string plain = JsNumberToString(value);
  if (static_cast<int>(plain.size()) < format.mandatory_digits) {
    plain.insert(0, format.mandatory_digits - plain.size(), '0');
  }
  std::u32string digits(plain.begin(), plain.end());
  if (format.zero_code != '0') {
    for (char32_t& c : digits) {
      c = c + format.zero_code - U'0';
    }
  }
  absl::StatusOr<std::u32string> grouped = InsertSeparators(std::move(digits), format);
  if (!grouped.ok()) {
    return grouped.status();
  }
  digits = std::move(*grouped);
  std::string out = EncodeUtf8(digits);
  if (format.ordinal) {
    char last = out.empty() ? '\0' : out.back();
    bool teen = out.size() > 1 && out[out.size() - 2] == '1';
    if (teen || (last != '1' && last != '2' && last != '3')) {
      out += "th";
    } else {
      out += last == '1' ? "st" : last == '2' ? "nd" : "rd";
    }
  }
  return out;
}

std::string ApplyCase(std::string text, LetterCase letter_case) {
  if (letter_case == LetterCase::kUpper) {
    return AsciiUpper(text);
  }
  if (letter_case == LetterCase::kLower) {
    return AsciiLower(text);
  }
  return text;
}

}  // namespace

absl::StatusOr<IntegerPicture> AnalyseIntegerPicture(std::string_view picture) {
  IntegerPicture format;
  std::string_view primary = picture;
  size_t semicolon = picture.rfind(';');
  if (semicolon != std::string_view::npos) {
    primary = picture.substr(0, semicolon);
    format.ordinal = picture.substr(semicolon + 1).starts_with("o");
  }
  if (primary == "A" || primary == "a") {
    format.primary = IntegerPrimary::kLetters;
    format.letter_case = primary == "A" ? LetterCase::kUpper : LetterCase::kLower;
  } else if (primary == "I" || primary == "i") {
    format.primary = IntegerPrimary::kRoman;
    format.letter_case = primary == "I" ? LetterCase::kUpper : LetterCase::kLower;
  } else if (primary == "W" || primary == "Ww" || primary == "w") {
    format.primary = IntegerPrimary::kWords;
    format.letter_case = primary == "W" ? LetterCase::kUpper : primary == "w" ? LetterCase::kLower : LetterCase::kTitle;
  } else {
    absl::Status status = AnalyseDecimal(DecodeUtf8(primary), format);
    if (!status.ok()) {
      return status;
    }
  }
  return format;
}

absl::StatusOr<std::string> FormatIntegerWith(double value, const IntegerPicture& format) {
  bool negative = value < 0;
  value = std::fabs(value);
  absl::StatusOr<std::string> formatted;
  switch (format.primary) {
    case IntegerPrimary::kLetters:
      formatted = NumberToLetters(value, format.letter_case == LetterCase::kUpper ? 'A' : 'a');
      break;
    case IntegerPrimary::kRoman:
      formatted = NumberToRoman(value);
      if (formatted.ok() && format.letter_case == LetterCase::kUpper) {
        formatted = AsciiUpper(*formatted);
      }
      break;
    case IntegerPrimary::kWords:
      formatted = ApplyCase(NumberToWords(value, format.ordinal), format.letter_case);
      break;
    case IntegerPrimary::kDecimal:
      formatted = FormatDecimal(value, format);
      break;
    case IntegerPrimary::kSequence:
      return JsonataError("D3130", absl::StrCat("Formatting or parsing an integer as a sequence starting with ",
                                                format.token, " is not supported by this implementation"));
  }
  if (formatted.ok() && negative) {
    std::string signed_text = "-";
    signed_text += *formatted;
    formatted = std::move(signed_text);
  }
  return formatted;
}

absl::StatusOr<std::optional<double>> ParseIntegerWith(std::string_view text, const IntegerPicture& format) {
  bool upper = format.letter_case == LetterCase::kUpper;
  switch (format.primary) {
    case IntegerPrimary::kLetters:
      return std::optional<double>(LettersToNumber(DecodeUtf8(text), upper ? 'A' : 'a'));
    case IntegerPrimary::kRoman:
      return RomanToNumber(upper ? std::string(text) : AsciiUpper(text));
    case IntegerPrimary::kWords:
      return WordsToNumber(AsciiLower(text));
    case IntegerPrimary::kSequence:
      return JsonataError("D3130", absl::StrCat("Formatting or parsing an integer as a sequence starting with ",
                                                format.token, " is not supported by this implementation"));
    case IntegerPrimary::kDecimal:
      break;
  }
  std::u32string digits = DecodeUtf8(text);
  if (format.ordinal) {
    digits.resize(digits.size() >= 2 ? digits.size() - 2 : 0);
  }
  std::unordered_set<char32_t> separators;
  if (format.regular) {
    separators.insert(U',');  // jsonata-js strips ',' for any regular grouping
  } else {
    for (const GroupingSeparator& s : format.separators) {
      separators.insert(s.character);
    }
  }
  std::u32string kept;
  for (char32_t c : digits) {
    if (!separators.contains(c)) {
      kept.push_back(format.zero_code != '0' ? c - format.zero_code + U'0' : c);
    }
  }
  std::optional<double> value = JsParseInt(EncodeUtf8(kept));
  if (value && !std::isfinite(*value)) {
    return JsonataError("D1001", "Number out of range");
  }
  return value;
}

}  // namespace stepflow::sm::jsonata::internal
