// $toMillis without a picture: jsonata-js accepts what its ISO 8601 pattern
//   ^\d{4}(-[01]\d)*(-[0-3]\d)*(T[0-2]\d:[0-5]\d:[0-5]\d)*(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$
// admits and hands it to JavaScript's Date.parse. This reads the forms Date.parse gives a number for:
// YYYY[-MM[-DD]][THH:mm:ss[.fraction]][Z|±HH[:]mm] (a fraction only after a time). As in V8, months are
// 1..12, days 1..31 (overflowing into the next month), hours 0..24 (24 only as 24:00:00), fractions keep
// milliseconds (further digits are dropped), and a date-time without an offset is read as UTC (jsonata-js
// reads it in the server's time zone; a deterministic engine has none). Anything else is D3110.

#include <cmath>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "statemachine/jsonata/civil_time.h"
#include "statemachine/jsonata/format_util.h"

namespace stepflow::sm::jsonata::internal {
namespace {

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool AtEnd() const { return pos_ == text_.size(); }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool Take(char c) {
    if (!Peek(c)) {
      return false;
    }
    ++pos_;
    return true;
  }
  // Exactly `count` ASCII digits.
  bool Digits(int count, int& value) {
    value = 0;
    for (int i = 0; i < count; ++i) {
      if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') {
        return false;
      }
      value = value * 10 + (text_[pos_++] - '0');
    }
    return true;
  }
  // One or more digits: the first three as milliseconds.
  bool Fraction(int& millis) {
    int count = 0;
    millis = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (count < 3) {
        millis = millis * 10 + (text_[pos_] - '0');
      }
      ++count;
      ++pos_;
    }
    for (int i = count; i < 3; ++i) {
      millis *= 10;
    }
    return count > 0;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

absl::Status Invalid(std::string_view timestamp) {
  std::string message = "The argument of the toMillis function must be an ISO 8601 formatted timestamp. Given ";
  message += timestamp.substr(0, 200);
  return JsonataError("D3110", message);
}

}  // namespace

absl::StatusOr<double> ParseIsoTimestamp(std::string_view timestamp) {
  Cursor in(timestamp);
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0, offset_minutes = 0;
  if (!in.Digits(4, year)) {
    return Invalid(timestamp);
  }
  if (in.Take('-') && (!in.Digits(2, month) || (in.Take('-') && !in.Digits(2, day)))) {
    return Invalid(timestamp);
  }
  if (in.Take('T')) {
    if (!in.Digits(2, hour) || !in.Take(':') || !in.Digits(2, minute) || !in.Take(':') || !in.Digits(2, second)) {
      return Invalid(timestamp);
    }
    if (in.Take('.') && !in.Fraction(millis)) {
      return Invalid(timestamp);
    }
  }
  if (in.Take('Z')) {
    // UTC
  } else if (in.Peek('+') || in.Peek('-')) {
    int sign = in.Peek('-') ? -1 : 1;
    in.Take(sign < 0 ? '-' : '+');
    int offset_hours = 0, offset_mins = 0;
    if (!in.Digits(2, offset_hours)) {
      return Invalid(timestamp);
    }
    in.Take(':');
    if (!in.Digits(2, offset_mins) || offset_hours > 23 || offset_mins > 59) {
      return Invalid(timestamp);
    }
    offset_minutes = sign * (offset_hours * 60 + offset_mins);
  }
  if (!in.AtEnd()) {
    return Invalid(timestamp);
  }
  bool midnight_24 = hour == 24 && minute == 0 && second == 0 && millis == 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || (hour > 23 && !midnight_24) || minute > 59 ||
      second > 59) {
    return Invalid(timestamp);
  }
  // Date.parse takes four-digit years as they are, where Date.UTC reads 0..99 as 1900..1999: compute the
  // same date 400 years (one Gregorian cycle, 146097 days) later and step back.
  constexpr double kCycleMillis = 146097.0 * kMillisPerDay;
  double t = JsDateUtc(year + 400, month - 1, day, hour, minute, second, millis) - kCycleMillis;
  t -= offset_minutes * 60000.0;
  if (!std::isfinite(t) || std::fabs(t) > kMaxDateMillis) {
    return Invalid(timestamp);
  }
  return t;
}

}  // namespace stepflow::sm::jsonata::internal
