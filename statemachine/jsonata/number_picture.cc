#include "statemachine/jsonata/number_picture.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <unordered_set>

#include "statemachine/jsonata/format_util.h"

namespace stepflow::sm::jsonata::internal {
namespace {

bool Equals(char32_t c, const std::u32string& property) { return property.size() == 1 && property[0] == c; }

bool Contains(const std::u32string& text, const std::u32string& needle) {
  return text.find(needle) != std::u32string::npos;
}

// One occurrence at most (indexOf == lastIndexOf) in jsonata-js's terms.
bool MoreThanOnce(const std::u32string& text, const std::u32string& needle) {
  return text.find(needle) != text.rfind(needle);
}

// The parts of a sub-picture (F&O 4.7.3), with jsonata-js's index arithmetic.
struct Parts {
  std::u32string subpicture, prefix, suffix, active, mantissa, integer, fractional;
  std::optional<std::u32string> exponent;
};

std::u32string SubstringFrom(const std::u32string& s, size_t start, size_t end = std::u32string::npos) {
  if (start >= s.size()) {
    return {};
  }
  return s.substr(start, end == std::u32string::npos ? end : (end > start ? end - start : 0));
}

Parts Split(const std::u32string& sub, const DecimalSymbols& sym) {
  Parts parts;
  parts.subpicture = sub;
  auto is_anchor = [&](char32_t c) { return sym.IsActive(c) && !sym.IsExponentSeparator(c); };
  size_t first = 0;
  while (first < sub.size() && !is_anchor(sub[first])) {
    ++first;
  }
  if (first < sub.size()) {
    parts.prefix = sub.substr(0, first);
    size_t last = sub.size();
    while (last > 0 && !is_anchor(sub[last - 1])) {
      --last;
    }
    parts.suffix = sub.substr(last);
  }
  parts.active = sub.substr(parts.prefix.size(), sub.size() - parts.prefix.size() - parts.suffix.size());
  size_t exponent_position = sub.find(sym.exponent_separator, parts.prefix.size());
  if (exponent_position == std::u32string::npos || exponent_position > sub.size() - parts.suffix.size()) {
    parts.mantissa = parts.active;
  } else {
    // jsonata-js indexes the active part with the sub-picture's position.
    parts.mantissa = SubstringFrom(parts.active, 0, exponent_position);
    parts.exponent = SubstringFrom(parts.active, exponent_position + 1);
  }
  size_t decimal_position = parts.mantissa.find(sym.decimal_separator);
  if (decimal_position == std::u32string::npos) {
    parts.integer = parts.mantissa;
    parts.fractional = parts.suffix;
  } else {
    parts.integer = parts.mantissa.substr(0, decimal_position);
    parts.fractional = SubstringFrom(parts.mantissa, decimal_position + 1);
  }
  return parts;
}

int CountIf(const std::u32string& s, size_t from, size_t to, bool (*pred)(char32_t, const DecimalSymbols&),
            const DecimalSymbols& sym) {
  int count = 0;
  for (size_t i = from; i < to && i < s.size(); ++i) {
    count += pred(s[i], sym) ? 1 : 0;
  }
  return count;
}

bool FamilyDigit(char32_t c, const DecimalSymbols& sym) { return sym.IsFamilyDigit(c); }
bool AnyDigit(char32_t c, const DecimalSymbols& sym) { return sym.IsFamilyDigit(c) || Equals(c, sym.digit); }
bool NotFamilyDigit(char32_t c, const DecimalSymbols& sym) { return !sym.IsFamilyDigit(c); }

// The error code of an invalid sub-picture (the last rule broken, as jsonata-js reports), or "".
std::string_view Validate(const Parts& p, const DecimalSymbols& sym) {
  std::string_view error;
  const std::u32string& sub = p.subpicture;
  size_t decimal_position = sub.find(sym.decimal_separator);
  if (MoreThanOnce(sub, sym.decimal_separator)) {
    error = "D3081";
  }
  if (MoreThanOnce(sub, sym.percent)) {
    error = "D3082";
  }
  if (MoreThanOnce(sub, sym.per_mille)) {
    error = "D3083";
  }
  if (Contains(sub, sym.percent) && Contains(sub, sym.per_mille)) {
    error = "D3084";
  }
  if (CountIf(p.mantissa, 0, p.mantissa.size(), AnyDigit, sym) == 0) {
    error = "D3085";
  }
  for (char32_t c : p.active) {
    if (!sym.IsActive(c)) {
      error = "D3086";
    }
  }
  if (decimal_position != std::u32string::npos) {
    bool before = decimal_position > 0 && Equals(sub[decimal_position - 1], sym.grouping_separator);
    bool after = decimal_position + 1 < sub.size() && Equals(sub[decimal_position + 1], sym.grouping_separator);
    if (before || after) {
      error = "D3087";
    }
  } else if (!p.integer.empty() && Equals(p.integer.back(), sym.grouping_separator)) {
    error = "D3088";
  }
  if (Contains(sub, sym.grouping_separator + sym.grouping_separator)) {
    error = "D3089";
  }
  size_t optional_position = p.integer.find(sym.digit);
  if (optional_position != std::u32string::npos && CountIf(p.integer, 0, optional_position, FamilyDigit, sym) > 0) {
    error = "D3090";
  }
  optional_position = p.fractional.rfind(sym.digit);
  if (optional_position != std::u32string::npos &&
      CountIf(p.fractional, optional_position, p.fractional.size(), FamilyDigit, sym) > 0) {
    error = "D3091";
  }
  bool has_percent = Contains(sub, sym.percent) || Contains(sub, sym.per_mille);
  if (p.exponent && !p.exponent->empty() && has_percent) {
    error = "D3092";
  }
  if (p.exponent && (p.exponent->empty() || CountIf(*p.exponent, 0, p.exponent->size(), NotFamilyDigit, sym) > 0)) {
    error = "D3093";
  }
  return error;
}

struct PictureError {
  std::string_view code;
  std::string_view text;
};

// jsonata-js's messages for the picture rules of F&O 4.7.3.
constexpr PictureError kPictureErrors[] = {
    {"D3081", "The sub-picture must not contain more than one instance of the 'decimal-separator' character"},
    {"D3082", "The sub-picture must not contain more than one instance of the 'percent' character"},
    {"D3083", "The sub-picture must not contain more than one instance of the 'per-mille' character"},
    {"D3084", "The sub-picture must not contain both a 'percent' and a 'per-mille' character"},
    {"D3085",
     "The mantissa part of a sub-picture must contain at least one character that is either an 'optional digit "
     "character' or a member of the 'decimal digit family'"},
    {"D3086",
     "The sub-picture must not contain a passive character that is preceded by an active character and that is "
     "followed by another active character"},
    {"D3087",
     "The sub-picture must not contain a 'grouping-separator' character that appears adjacent to a "
     "'decimal-separator' character"},
    {"D3088", "The sub-picture must not contain a 'grouping-separator' at the end of the integer part"},
    {"D3089", "The sub-picture must not contain two adjacent instances of the 'grouping-separator' character"},
    {"D3090",
     "The integer part of the sub-picture must not contain a member of the 'decimal digit family' that is "
     "followed by an instance of the 'optional digit character'"},
    {"D3091",
     "The fractional part of the sub-picture must not contain an instance of the 'optional digit character' that "
     "is followed by a member of the 'decimal digit family'"},
    {"D3092",
     "A sub-picture that contains a 'percent' or 'per-mille' character must not contain a character treated as "
     "an 'exponent-separator'"},
    {"D3093",
     "The exponent part of the sub-picture must comprise only of one or more characters that are members of the "
     "'decimal digit family'"},
};

std::string_view ErrorText(std::string_view code) {
  for (const PictureError& error : kPictureErrors) {
    if (error.code == code) {
      return error.text;
    }
  }
  return "Invalid picture string";
}

// Digits (family or optional) to the right of each grouping separator (to the left for the fractional part).
// jsonata-js looks for every separator after the first in the integer part, for both parts.
std::vector<int> GroupingPositions(const std::u32string& part, const Parts& parts, bool to_left,
                                   const DecimalSymbols& sym) {
  std::vector<int> digits_before(part.size() + 1, 0);  // prefix counts, so that this stays linear
  for (size_t i = 0; i < part.size(); ++i) {
    digits_before[i + 1] = digits_before[i] + (AnyDigit(part[i], sym) ? 1 : 0);
  }
  std::vector<int> positions;
  size_t position = part.find(sym.grouping_separator);
  while (position != std::u32string::npos) {
    size_t clamped = std::min(position, part.size());
    positions.push_back(to_left ? digits_before[clamped] : digits_before[part.size()] - digits_before[clamped]);
    position = parts.integer.find(sym.grouping_separator, position + 1);
  }
  return positions;
}

int RegularGrouping(const std::vector<int>& positions) {
  if (positions.empty()) {
    return 0;
  }
  int factor = 0;
  for (int p : positions) {
    factor = std::gcd(factor, p);
  }
  std::unordered_set<int> present(positions.begin(), positions.end());
  for (size_t index = 1; index <= positions.size(); ++index) {
    if (factor == 0 || !present.contains(static_cast<int>(index) * factor)) {
      return 0;
    }
  }
  return factor;
}

SubPicture Analyse(const Parts& p, const DecimalSymbols& sym) {
  SubPicture out;
  out.picture = p.subpicture;
  out.prefix = p.prefix;
  out.suffix = p.suffix;
  out.integer_grouping_positions = GroupingPositions(p.integer, p, false, sym);
  out.regular_grouping = RegularGrouping(out.integer_grouping_positions);
  out.fractional_grouping_positions = GroupingPositions(p.fractional, p, true, sym);
  out.minimum_integer_size = CountIf(p.integer, 0, p.integer.size(), FamilyDigit, sym);
  out.scaling_factor = out.minimum_integer_size;
  out.minimum_fraction_size = CountIf(p.fractional, 0, p.fractional.size(), FamilyDigit, sym);
  out.maximum_fraction_size = CountIf(p.fractional, 0, p.fractional.size(), AnyDigit, sym);
  bool exponent = p.exponent.has_value();
  if (out.minimum_integer_size == 0 && out.maximum_fraction_size == 0) {
    if (exponent) {
      out.minimum_fraction_size = 1;
      out.maximum_fraction_size = 1;
    } else {
      out.minimum_integer_size = 1;
    }
  }
  if (exponent && out.minimum_integer_size == 0 && Contains(p.integer, sym.digit)) {
    out.minimum_integer_size = 1;
  }
  if (out.minimum_integer_size == 0 && out.minimum_fraction_size == 0) {
    out.minimum_fraction_size = 1;
  }
  if (exponent) {
    out.minimum_exponent_size = CountIf(*p.exponent, 0, p.exponent->size(), FamilyDigit, sym);
  }
  return out;
}

std::vector<std::u32string> SplitPicture(const std::u32string& picture, const std::u32string& separator) {
  std::vector<std::u32string> out;
  if (separator.empty()) {  // JavaScript's split('') gives every character
    for (char32_t c : picture) {
      out.emplace_back(1, c);
    }
    return out;
  }
  size_t start = 0;
  while (true) {
    size_t found = picture.find(separator, start);
    if (found == std::u32string::npos) {
      out.push_back(picture.substr(start));
      return out;
    }
    out.push_back(picture.substr(start, found - start));
    start = found + separator.size();
    if (out.size() > 2) {
      return out;  // already too many; the rest does not matter
    }
  }
}

}  // namespace

bool DecimalSymbols::IsActive(char32_t c) const {
  return IsFamilyDigit(c) || Equals(c, decimal_separator) || Equals(c, exponent_separator) ||
         Equals(c, grouping_separator) || Equals(c, digit) || Equals(c, pattern_separator);
}

bool DecimalSymbols::IsExponentSeparator(char32_t c) const { return Equals(c, exponent_separator); }

DecimalSymbols MakeSymbols(const DecimalFormat& f) {
  DecimalSymbols s;
  s.decimal_separator = DecodeUtf8(f.decimal_separator);
  s.grouping_separator = DecodeUtf8(f.grouping_separator);
  s.exponent_separator = DecodeUtf8(f.exponent_separator);
  s.minus_sign = DecodeUtf8(f.minus_sign);
  s.percent = DecodeUtf8(f.percent);
  s.per_mille = DecodeUtf8(f.per_mille);
  s.zero_digit = DecodeUtf8(f.zero_digit);
  s.digit = DecodeUtf8(f.digit);
  s.pattern_separator = DecodeUtf8(f.pattern_separator);
  s.infinity = DecodeUtf8(f.infinity);
  s.nan = DecodeUtf8(f.nan);
  s.zero = s.zero_digit.empty() ? U'0' : s.zero_digit[0];
  return s;
}

absl::StatusOr<std::vector<SubPicture>> AnalyseNumberPicture(const std::u32string& picture,
                                                             const DecimalSymbols& symbols) {
  std::vector<std::u32string> subpictures = SplitPicture(picture, symbols.pattern_separator);
  if (subpictures.size() > 2) {
    return JsonataError("D3080", "The picture string must only contain a maximum of two sub-pictures");
  }
  std::vector<Parts> parts;
  for (const std::u32string& sub : subpictures) {
    parts.push_back(Split(sub, symbols));
  }
  for (const Parts& p : parts) {
    std::string_view error = Validate(p, symbols);
    if (!error.empty()) {
      return JsonataError(error, ErrorText(error));
    }
  }
  std::vector<SubPicture> out;
  for (const Parts& p : parts) {
    out.push_back(Analyse(p, symbols));
  }
  if (out.size() == 1) {
    out.push_back(out[0]);
    out[1].prefix = symbols.minus_sign + out[1].prefix;
  }
  return out;
}

}  // namespace stepflow::sm::jsonata::internal
