// $fromMillis: formatting a time value per an F&O date/time picture, as jsonata-js 2.0.6 does.

#include <array>
#include <cmath>
#include <string>

#include "statemachine/jsonata/civil_time.h"
#include "statemachine/jsonata/datetime.h"
#include "statemachine/jsonata/datetime_picture.h"
#include "statemachine/jsonata/format_util.h"

namespace stepflow::sm::jsonata {
namespace {

using internal::DateTimeMarker;
using internal::DateTimePart;
using internal::Fragment;
using internal::LetterCase;

constexpr std::string_view kIsoPicture = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]";
constexpr std::array<std::string_view, 8> kDays = {"",         "Monday", "Tuesday",  "Wednesday",
                                                   "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"January", "February", "March",     "April",
                                                      "May",     "June",     "July",      "August",
                                                      "September", "October", "November", "December"};

struct Offset {
  double hours = 0;
  double minutes = 0;
};

std::string ComponentName(char32_t c) {
  std::string out;
  internal::AppendUtf8(out, c);
  return out;
}

absl::StatusOr<std::string> NameOf(const DateTimeMarker& marker, double value) {
  std::string name;
  if ((marker.component == 'M' || marker.component == 'x') && value >= 1 && value <= 12) {
    name = kMonths[static_cast<int>(value) - 1];
  } else if (marker.component == 'F' && value >= 1 && value <= 7) {
    name = kDays[static_cast<int>(value)];
  } else if (marker.component != 'M' && marker.component != 'x' && marker.component != 'F') {
    return internal::JsonataError("D3133", "The 'name' modifier can only be applied to months and days in the "
                                           "date/time picture string, not " + ComponentName(marker.component));
  }
  if (*marker.names == LetterCase::kUpper) {
    name = internal::AsciiUpper(name);
  } else if (*marker.names == LetterCase::kLower) {
    name = internal::AsciiLower(name);
  }
  if (marker.width_max && static_cast<long long>(name.size()) > *marker.width_max) {
    name.resize(static_cast<size_t>(std::max(*marker.width_max, 0LL)));
  }
  return name;
}

absl::StatusOr<std::string> FormatTimezone(const DateTimeMarker& marker, const Offset& offset) {
  const internal::IntegerPicture& format = *marker.integer_format;
  double value = offset.hours * 100 + offset.minutes;
  absl::StatusOr<std::string> text;
  if (format.regular) {
    text = internal::FormatIntegerWith(value, format);
  } else if (format.mandatory_digits == 1 || format.mandatory_digits == 2) {
    text = internal::FormatIntegerWith(offset.hours, format);
    if (text.ok() && offset.minutes != 0) {
      absl::StatusOr<internal::IntegerPicture> two_digits = internal::AnalyseIntegerPicture("00");
      absl::StatusOr<std::string> minutes = internal::FormatIntegerWith(offset.minutes, *two_digits);
      *text += ":" + *minutes;
    }
  } else if (format.mandatory_digits == 3 || format.mandatory_digits == 4) {
    text = internal::FormatIntegerWith(value, format);
  } else {
    return internal::JsonataError("D3134", "The timezone integer format specifier cannot have more than four digits");
  }
  if (!text.ok()) {
    return text;
  }
  std::string out = value >= 0 ? "+" + *text : *text;
  if (marker.component == 'z') {
    out = "GMT" + out;
  }
  if (value == 0 && marker.presentation2 == 't') {
    out = "Z";
  }
  return out;
}

bool IsFormattedAsInteger(char32_t c) {
  return c < 0x80 && c != 0 && std::string_view("YMDdFWwXxHhms").find(static_cast<char>(c)) != std::string_view::npos;
}

absl::StatusOr<std::string> FormatMarker(double t, const DateTimeMarker& marker, const Offset& offset) {
  if (marker.component == 'Z' || marker.component == 'z') {
    return FormatTimezone(marker, offset);
  }
  Fragment fragment = internal::DateTimeFragment(t, marker.component);
  if (IsFormattedAsInteger(marker.component) || marker.component == 'f') {
    double value = fragment.number;
    if (marker.component == 'Y' && marker.n != -1) {
      value = std::fmod(value, std::pow(10, marker.n));
    }
    if (marker.names && marker.component != 'f') {
      return NameOf(marker, value);
    }
    if (!marker.integer_format) {
      return internal::JsonataError("D3133", "The 'name' modifier can only be applied to months and days in the "
                                             "date/time picture string, not " + ComponentName(marker.component));
    }
    return internal::FormatIntegerWith(value, *marker.integer_format);
  }
  if (fragment.kind == Fragment::Kind::kUndefined) {
    return std::string("undefined");  // jsonata-js appends JavaScript's undefined for unknown components
  }
  if (marker.component == 'P' && marker.names == LetterCase::kUpper) {
    return internal::AsciiUpper(fragment.text);
  }
  return fragment.text;
}

// jsonata-js reads the timezone with parseInt: "+0530" is 530, i.e. 5 hours and 30 minutes; "-0530" is
// -530: floor(-5.3) = -6 hours and -530 % 100 = -30 minutes (sic).
absl::StatusOr<Offset> ParseTimezone(std::optional<std::string_view> timezone) {
  Offset offset;
  if (!timezone) {
    return offset;
  }
  std::optional<double> value = internal::JsParseInt(*timezone);
  if (!value || !std::isfinite(*value)) {
    return internal::JsonataError("T0410", "The timezone argument of $fromMillis must be of the form ±HHMM");
  }
  offset.hours = std::floor(*value / 100);
  offset.minutes = std::fmod(*value, 100);
  return offset;
}

}  // namespace

absl::StatusOr<std::string> FormatDateTime(double millis, std::optional<std::string_view> picture,
                                           std::optional<std::string_view> timezone) {
  absl::StatusOr<Offset> offset = ParseTimezone(timezone);
  if (!offset.ok()) {
    return offset.status();
  }
  absl::StatusOr<std::vector<DateTimePart>> parts = internal::AnalyseDateTimePicture(picture ? *picture : kIsoPicture);
  if (!parts.ok()) {
    return parts.status();
  }
  double t = millis + (60 * offset->hours + offset->minutes) * 60 * 1000;
  if (!std::isfinite(t) || std::fabs(t) > internal::kMaxDateMillis) {
    return internal::JsonataError("D1001", "Number out of range: the time is outside the range of dates");
  }
  t = std::trunc(t) + 0.0;
  std::string result;
  for (const DateTimePart& part : *parts) {
    if (part.literal) {
      result += part.text;
    } else {
      absl::StatusOr<std::string> text = FormatMarker(t, part.marker, *offset);
      if (!text.ok()) {
        return text.status();
      }
      result += *text;
    }
    if (result.size() > 4 * internal::kMaxFormattedChars) {
      return internal::TooLarge("The date/time picture");
    }
  }
  return result;
}

}  // namespace stepflow::sm::jsonata
