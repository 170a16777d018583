// $toMillis: reading a timestamp per an F&O date/time picture (or as ISO 8601), as jsonata-js 2.0.6 does.

#include <array>
#include <cmath>
#include <map>
#include <string>

#include "statemachine/jsonata/civil_time.h"
#include "statemachine/jsonata/datetime.h"
#include "statemachine/jsonata/datetime_match.h"
#include "statemachine/jsonata/datetime_picture.h"
#include "statemachine/jsonata/format_util.h"
#include "statemachine/jsonata/integer_words.h"

namespace stepflow::sm::jsonata {

namespace internal {
// Defined in datetime_iso.cc.
absl::StatusOr<double> ParseIsoTimestamp(std::string_view timestamp);
}  // namespace internal

namespace {

using internal::DateTimeMarker;
using internal::DateTimePart;
using internal::IntegerPicture;
using internal::IntegerPrimary;
using internal::MatchPart;

// A component value in JavaScript's terms: undefined, NaN or a number.
using Value = std::optional<double>;

constexpr std::array<std::string_view, 12> kMonths = {"January", "February", "March",     "April",
                                                      "May",     "June",     "July",      "August",
                                                      "September", "October", "November", "December"};
constexpr std::array<std::string_view, 7> kDays = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                   "Friday", "Saturday", "Sunday"};

absl::Status NameError(char32_t component) {
  std::string name;
  internal::AppendUtf8(name, component);
  return internal::JsonataError("D3133", "The 'name' modifier can only be applied to months and days in the "
                                         "date/time picture string, not " + name);
}

// The regex part of one picture part (jsonata-js's generateRegex).
absl::StatusOr<MatchPart> ToMatchPart(const DateTimePart& part) {
  MatchPart match;
  if (part.literal) {
    match.literal = internal::DecodeUtf8(part.text);
    return match;
  }
  const DateTimeMarker& marker = part.marker;
  if (marker.component == 'Z' || marker.component == 'z') {
    match.kind = MatchPart::Kind::kTimezone;
    match.gmt = marker.component == 'z';
    if (marker.integer_format->regular) {
      match.separator = marker.integer_format->separators[0].character;
    }
    return match;
  }
  if (marker.integer_format) {
    const IntegerPicture& format = *marker.integer_format;
    switch (format.primary) {
      case IntegerPrimary::kLetters: match.kind = MatchPart::Kind::kLetters; return match;
      case IntegerPrimary::kRoman: match.kind = MatchPart::Kind::kRoman; return match;
      case IntegerPrimary::kWords: match.kind = MatchPart::Kind::kWords; return match;
      case IntegerPrimary::kSequence:
        return internal::JsonataError("D3130", "Formatting or parsing an integer as a sequence starting with " +
                                                   format.token + " is not supported by this implementation");
      case IntegerPrimary::kDecimal:
        break;
    }
    match.kind = MatchPart::Kind::kDigits;
    match.ordinal = format.ordinal;
    if (marker.n > 0) {
      match.max_digits = marker.n;
      match.min_digits = format.optional_digits == 0 ? marker.n : std::max(marker.n - format.optional_digits, 0);
    }
    return match;
  }
  if (marker.component != 'M' && marker.component != 'x' && marker.component != 'F' && marker.component != 'P') {
    return NameError(marker.component);
  }
  match.kind = MatchPart::Kind::kName;
  return match;
}

Value ParseName(const DateTimeMarker& marker, const std::string& text) {
  auto abbreviated = [&](std::string_view name) {
    return marker.width_max && *marker.width_max > 0 ? name.substr(0, static_cast<size_t>(*marker.width_max)) : name;
  };
  if (marker.component == 'M' || marker.component == 'x') {
    for (size_t i = 0; i < kMonths.size(); ++i) {
      if (abbreviated(kMonths[i]) == text) {
        return static_cast<double>(i + 1);
      }
    }
  } else if (marker.component == 'F') {
    for (size_t i = 0; i < kDays.size(); ++i) {
      if (abbreviated(kDays[i]) == text) {
        return static_cast<double>(i + 1);
      }
    }
  } else if (text == "am" || text == "AM") {
    return 0.0;
  } else if (text == "pm" || text == "PM") {
    return 1.0;
  }
  return std::nullopt;
}

// jsonata-js: offsets are hours * 60 + minutes, each read with parseInt.
Value ParseTimezone(const DateTimeMarker& marker, std::string text, const MatchPart& match) {
  if (marker.component == 'z') {
    text = text.substr(3);
  }
  double hours = 0;
  double minutes = 0;
  if (match.separator) {
    std::string separator;
    internal::AppendUtf8(separator, *match.separator);
    size_t at = text.find(separator);
    hours = internal::JsParseInt(text.substr(0, at)).value_or(std::nan(""));
    minutes = internal::JsParseInt(text.substr(at + separator.size())).value_or(std::nan(""));
  } else if (text.size() - 1 <= 2) {
    hours = internal::JsParseInt(text).value_or(std::nan(""));
  } else {
    hours = internal::JsParseInt(text.substr(0, 3)).value_or(std::nan(""));
    minutes = internal::JsParseInt(text.substr(3)).value_or(std::nan(""));
  }
  return hours * 60 + minutes;
}

absl::StatusOr<Value> ParseComponent(const DateTimeMarker& marker, const std::u32string& captured,
                                     const MatchPart& match) {
  std::string text = internal::EncodeUtf8(captured);
  if (match.kind == MatchPart::Kind::kTimezone) {
    return ParseTimezone(marker, text, match);
  }
  if (match.kind == MatchPart::Kind::kName) {
    return ParseName(marker, text);
  }
  IntegerPicture format = *marker.integer_format;
  absl::StatusOr<std::optional<double>> value = internal::ParseIntegerWith(text, format);
  if (!value.ok()) {
    return value.status();
  }
  return value->has_value() ? **value : std::nan("");
}

bool Truthy(const Value& v) { return v.has_value() && !std::isnan(*v) && *v != 0; }

// Whether the components present (truthy) fit `type`: none outside it and at least one inside.
bool IsType(int type, int mask) { return (~type & mask) == 0 && (type & mask) != 0; }

int Mask(const std::map<char32_t, Value>& components, std::u32string_view order) {
  int mask = 0;
  for (char32_t c : order) {
    auto it = components.find(c);
    mask = (mask << 1) + (it != components.end() && Truthy(it->second) ? 1 : 0);
  }
  return mask;
}

absl::StatusOr<std::optional<double>> Compose(std::map<char32_t, Value> components, double now) {
  constexpr int kDateA = 0b10100001, kDateB = 0b10000010, kDateC = 0b01010100, kDateD = 0b01001000;
  constexpr int kTimeA = 0b010111, kTimeB = 0b101111;
  int date_mask = Mask(components, U"YXMxWwdD");
  bool date_a = IsType(kDateA, date_mask);
  bool date_b = !date_a && IsType(kDateB, date_mask);
  bool date_c = IsType(kDateC, date_mask);
  bool date_d = !date_c && IsType(kDateD, date_mask);
  int time_mask = Mask(components, U"PHhmsf");
  bool time_b = !IsType(kTimeA, time_mask) && IsType(kTimeB, time_mask);
  std::u32string order = date_b ? U"YD" : date_c ? U"XxwF" : date_d ? U"XWF" : U"YMD";
  order += time_b ? U"Phmsf" : U"Hmsf";
  bool start_specified = false;
  bool end_specified = false;
  for (char32_t c : order) {
    Value& value = components[c];
    if (!value.has_value()) {
      if (start_specified) {
        value = (c == 'M' || c == 'D' || c == 'd') ? 1 : 0;
        end_specified = true;
      } else {
        internal::Fragment fragment = internal::DateTimeFragment(now, c);
        value = fragment.kind == internal::Fragment::Kind::kNumber ? fragment.number : 0;  // "am"/"pm" is never 1
      }
    } else {
      start_specified = true;
      if (end_specified) {
        return internal::JsonataError("D3136", "The date/time picture string is missing specifiers required to "
                                               "parse the timestamp");
      }
    }
  }
  auto get = [&](char32_t c) { return components[c].value_or(std::nan("")); };
  double month = get('M') > 0 ? get('M') - 1 : 0;
  double day = get('D');
  if (date_b) {
    double derived = internal::JsDateUtc(get('Y'), 0) + (get('d') - 1) * internal::kMillisPerDay;
    if (std::isnan(derived)) {
      return std::optional<double>();
    }
    internal::DateFields fields = internal::FieldsOf(derived);
    month = fields.month0;
    day = fields.day;
  }
  if (date_c || date_d) {
    return internal::JsonataError("D3136", "The date/time picture string is missing specifiers required to parse "
                                           "the timestamp");
  }
  double hours = get('H');
  if (time_b) {
    hours = get('h') == 12 ? 0 : get('h');
    if (get('P') == 1) {
      hours += 12;
    }
  }
  double millis = internal::JsDateUtc(get('Y'), month, day, hours, get('m'), get('s'), get('f'));
  Value zone = Truthy(components['Z']) ? components['Z'] : components['z'];
  if (Truthy(zone)) {
    millis -= *zone * 60 * 1000;
  }
  if (std::isnan(millis)) {
    return std::optional<double>();
  }
  return std::optional<double>(millis);
}

}  // namespace

absl::StatusOr<std::optional<double>> ParseDateTime(std::string_view timestamp,
                                                    std::optional<std::string_view> picture, double now_millis) {
  if (!picture) {
    absl::StatusOr<double> millis = internal::ParseIsoTimestamp(timestamp);
    if (!millis.ok()) {
      return millis.status();
    }
    return std::optional<double>(*millis);
  }
  absl::StatusOr<std::vector<DateTimePart>> parts = internal::AnalyseDateTimePicture(*picture);
  if (!parts.ok()) {
    return parts.status();
  }
  std::vector<MatchPart> matchers;
  for (const DateTimePart& part : *parts) {
    absl::StatusOr<MatchPart> match = ToMatchPart(part);
    if (!match.ok()) {
      return match.status();
    }
    matchers.push_back(std::move(*match));
  }
  absl::StatusOr<std::optional<std::vector<std::u32string>>> captures =
      internal::MatchParts(internal::DecodeUtf8(timestamp), matchers);
  if (!captures.ok()) {
    return captures.status();
  }
  if (!captures->has_value()) {
    return std::optional<double>();
  }
  std::map<char32_t, Value> components;
  for (size_t i = 0; i < parts->size(); ++i) {
    if ((*parts)[i].literal) {
      continue;
    }
    absl::StatusOr<Value> value = ParseComponent((*parts)[i].marker, (**captures)[i], matchers[i]);
    if (!value.ok()) {
      return value.status();
    }
    components[(*parts)[i].marker.component] = *value;
  }
  if (components.empty()) {
    return std::optional<double>();
  }
  double now = std::isfinite(now_millis) && std::fabs(now_millis) <= internal::kMaxDateMillis ? now_millis : 0;
  return Compose(std::move(components), now);
}

absl::StatusOr<std::optional<double>> ParseDateTime(std::string_view timestamp,
                                                    std::optional<std::string_view> picture) {
  return ParseDateTime(timestamp, picture, 0);
}

}  // namespace stepflow::sm::jsonata
