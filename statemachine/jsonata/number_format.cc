// $formatNumber (F&O 4.7.5 as jsonata-js 2.0.6 formats) and its options.

#include "statemachine/jsonata/number_format.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "statemachine/jsonata/decimal_digits.h"
#include "statemachine/jsonata/format_util.h"
#include "statemachine/jsonata/js_number.h"
#include "statemachine/jsonata/number_picture.h"

namespace stepflow::sm::jsonata {
namespace {

using internal::DecimalSymbols;
using internal::SubPicture;

// jsonata-js formats with Number.prototype.toFixed, which takes at most 100 fractional digits (a
// RangeError beyond).
constexpr int kMaxFractionDigits = 100;

// JavaScript's Math.round: the nearest integer, halves towards +infinity.
double MathRound(double x) {
  double floor = std::floor(x);
  return x - floor >= 0.5 ? floor + 1 : floor;
}

// "mantissa e (exponent + shift)" read back as a double: jsonata-js shifts decimal places in text.
double ShiftDecimal(double x, int shift) {
  std::string text = JsNumberToString(x);
  size_t e = text.find('e');
  long long exponent = e == std::string::npos ? 0 : std::atoll(text.c_str() + e + 1);
  std::string shifted = text.substr(0, e) + "e" + std::to_string(exponent + shift);
  if (!std::isfinite(x)) {
    return std::nan("");  // "Infinitye5" is NaN in JavaScript
  }
  return std::strtod(shifted.c_str(), nullptr);
}

// jsonata's round(x, precision): halves to even, on the decimal text of the number.
double RoundHalfEven(double x, int precision) {
  if (precision != 0) {
    x = ShiftDecimal(x, precision);
  }
  double result = MathRound(x);
  if (std::fabs(result - x) == 0.5 && std::fabs(std::fmod(result, 2)) == 1) {
    result -= 1;
  }
  if (precision != 0) {
    result = ShiftDecimal(result, -precision);
  }
  return result == 0 ? 0 : result;
}

// Number.prototype.toFixed(digits) of |x|, in the format's digit family.
std::u32string FixedDigits(double x, int digits, const DecimalSymbols& sym) {
  x = std::fabs(x);
  std::string text;
  if (!std::isfinite(x) || x >= 1e21) {
    text = JsNumberToString(x);
  } else {
    internal::DecimalDigits value = internal::RoundToFraction(internal::ExactDigits(x), digits);
    int integer_digits = value.digits == "0" ? 1 : std::max(value.exponent + 1, 1);
    std::string all(static_cast<size_t>(integer_digits) + digits, '0');
    // Place each significant digit at its power of ten.
    for (size_t i = 0; i < value.digits.size(); ++i) {
      long long power = static_cast<long long>(value.exponent) - static_cast<long long>(i);
      long long index = integer_digits - 1 - power;
      if (index >= 0 && index < static_cast<long long>(all.size())) {
        all[index] = value.digits[i];
      }
    }
    text = all.substr(0, integer_digits);
    if (digits > 0) {
      text += "." + all.substr(integer_digits);
    }
  }
  std::u32string out;
  for (char c : text) {
    out.push_back(c >= '0' && c <= '9' ? sym.zero + (c - '0') : static_cast<char32_t>(c));
  }
  return out;
}

void InsertAt(std::u32string& s, long long pos, const std::u32string& what) {
  long long length = static_cast<long long>(s.size());
  pos = pos < 0 ? std::max(length + pos, 0LL) : std::min(pos, length);  // JavaScript's slice
  s.insert(static_cast<size_t>(pos), what);
}

long long Find(const std::u32string& s, const std::u32string& what) {
  size_t found = s.find(what);
  return found == std::u32string::npos ? -1 : static_cast<long long>(found);
}

// Bullets 7 to 12: the mantissa's digits, padded and grouped.
std::u32string MantissaText(double rounded, const SubPicture& pic, const DecimalSymbols& sym) {
  std::u32string s = FixedDigits(rounded, pic.maximum_fraction_size, sym);
  size_t point = s.find(U'.');
  if (point == std::u32string::npos) {
    s += sym.decimal_separator;
  } else {
    s.replace(point, 1, sym.decimal_separator);
  }
  size_t start = 0;
  while (start < s.size() && sym.zero_digit.size() == 1 && s[start] == sym.zero_digit[0]) {
    ++start;
  }
  size_t end = s.size();
  while (end > start && sym.zero_digit.size() == 1 && s[end - 1] == sym.zero_digit[0]) {
    --end;
  }
  s = s.substr(start, end - start);
  long long decimal_pos = Find(s, sym.decimal_separator);
  long long pad_left = pic.minimum_integer_size - decimal_pos;
  long long pad_right = pic.minimum_fraction_size - (static_cast<long long>(s.size()) - decimal_pos - 1);
  std::u32string zero(1, sym.zero);
  if (pad_left > 0) {
    s.insert(0, static_cast<size_t>(pad_left), sym.zero);
  }
  if (pad_right > 0) {
    s.append(static_cast<size_t>(pad_right), sym.zero);
  }
  decimal_pos = Find(s, sym.decimal_separator);
  if (pic.regular_grouping > 0) {
    long long groups = (decimal_pos - 1) / pic.regular_grouping;
    std::u32string grouped;  // one pass: separators every regular_grouping digits left of the point
    for (long long i = 0; i < static_cast<long long>(s.size()); ++i) {
      long long distance = decimal_pos - i;
      if (i > 0 && distance > 0 && distance % pic.regular_grouping == 0 && distance / pic.regular_grouping <= groups) {
        grouped += sym.grouping_separator;
      }
      grouped.push_back(s[i]);
    }
    s = std::move(grouped);
  } else {
    for (int pos : pic.integer_grouping_positions) {
      InsertAt(s, decimal_pos - pos, sym.grouping_separator);
      ++decimal_pos;
    }
  }
  decimal_pos = Find(s, sym.decimal_separator);
  for (int pos : pic.fractional_grouping_positions) {
    InsertAt(s, pos + decimal_pos + 1, sym.grouping_separator);
  }
  decimal_pos = Find(s, sym.decimal_separator);
  if (pic.picture.find(sym.decimal_separator) == std::u32string::npos ||
      decimal_pos == static_cast<long long>(s.size()) - 1) {
    s.pop_back();
  }
  return s;
}

}  // namespace

absl::StatusOr<DecimalFormat> DecimalFormatFromOptions(const boost::json::object& options) {
  DecimalFormat format;
  const std::pair<const char*, std::string*> properties[] = {
      {"decimal-separator", &format.decimal_separator}, {"grouping-separator", &format.grouping_separator},
      {"exponent-separator", &format.exponent_separator}, {"infinity", &format.infinity},
      {"minus-sign", &format.minus_sign}, {"NaN", &format.nan}, {"percent", &format.percent},
      {"per-mille", &format.per_mille}, {"zero-digit", &format.zero_digit}, {"digit", &format.digit},
      {"pattern-separator", &format.pattern_separator}};
  for (const auto& [name, field] : properties) {
    auto it = options.find(name);
    if (it == options.end()) {
      continue;
    }
    if (!it->value().is_string()) {
      return internal::JsonataError("T0410",
                                    std::string("The option '") + name + "' of $formatNumber must be a string");
    }
    *field = std::string(it->value().as_string());
  }
  if (format.zero_digit.empty()) {
    return internal::JsonataError("T0410", "The option 'zero-digit' of $formatNumber must not be empty");
  }
  return format;
}

absl::StatusOr<std::string> FormatNumber(double value, std::string_view picture, const DecimalFormat& format) {
  DecimalSymbols sym = internal::MakeSymbols(format);
  absl::StatusOr<std::vector<SubPicture>> pictures = internal::AnalyseNumberPicture(internal::DecodeUtf8(picture), sym);
  if (!pictures.ok()) {
    return pictures.status();
  }
  if (std::isnan(value)) {
    return format.nan;
  }
  const SubPicture& pic = value >= 0 ? (*pictures)[0] : (*pictures)[1];
  if (std::isinf(value)) {
    return internal::EncodeUtf8(pic.prefix + sym.infinity + pic.suffix);
  }
  if (pic.maximum_fraction_size > kMaxFractionDigits) {
    return internal::JsonataError(internal::kLimitCode,
                                  "The number picture asks for more than 100 fractional digits");
  }
  if (static_cast<size_t>(pic.minimum_integer_size) + pic.maximum_fraction_size + pic.minimum_exponent_size >
      internal::kMaxFormattedChars) {
    return internal::TooLarge("The number picture");
  }
  double adjusted = value;
  if (pic.picture.find(sym.percent) != std::u32string::npos) {
    adjusted = value * 100;
  } else if (pic.picture.find(sym.per_mille) != std::u32string::npos) {
    adjusted = value * 1000;
  }
  double mantissa = adjusted;
  std::optional<int> exponent;
  if (pic.minimum_exponent_size > 0) {
    double max_mantissa = std::pow(10, pic.scaling_factor);
    double min_mantissa = std::pow(10, pic.scaling_factor - 1);
    exponent = 0;
    // At most ~650 steps for finite doubles; zero keeps exponent 0 (F&O; jsonata-js 2.0.6 loops forever).
    while (mantissa != 0 && std::isfinite(mantissa) && std::fabs(mantissa) < min_mantissa) {
      mantissa *= 10;
      --*exponent;
    }
    while (std::isfinite(mantissa) && std::fabs(mantissa) > max_mantissa) {
      mantissa /= 10;
      ++*exponent;
    }
  }
  double rounded = RoundHalfEven(mantissa, pic.maximum_fraction_size);
  std::u32string text = MantissaText(rounded, pic, sym);
  if (exponent) {
    std::u32string exponent_text = FixedDigits(*exponent, 0, sym);
    if (static_cast<long long>(exponent_text.size()) < pic.minimum_exponent_size) {
      exponent_text.insert(0, pic.minimum_exponent_size - exponent_text.size(), sym.zero);
    }
    text += sym.exponent_separator + (*exponent < 0 ? sym.minus_sign : std::u32string()) + exponent_text;
  }
  return internal::EncodeUtf8(pic.prefix + text + pic.suffix);
}

}  // namespace stepflow::sm::jsonata
