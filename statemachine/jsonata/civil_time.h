#pragma once
// Internal: JavaScript Date arithmetic in UTC (proleptic Gregorian, milliseconds since the epoch as
// doubles, NaN for invalid), and the date/time components jsonata-js reads from a Date.

#include <string>

namespace stepflow::sm::jsonata::internal {

inline constexpr double kMillisPerDay = 86400000.0;
// JavaScript's Date range: |t| <= 8.64e15 ms.
inline constexpr double kMaxDateMillis = 8.64e15;

// Date.UTC(year, month0, day, hours, minutes, seconds, millis): NaN when an argument is not finite or the
// result is out of range; years 0..99 mean 1900..1999; months and days overflow into the next ones.
double JsDateUtc(double year, double month0, double day = 1, double hours = 0, double minutes = 0,
                 double seconds = 0, double millis = 0);

// The UTC fields of a valid time value `t` (finite, in range).
struct DateFields {
  long long year = 1970;
  int month0 = 0;   // 0..11
  int day = 1;      // 1..31
  int weekday = 4;  // 0 = Sunday
  int hours = 0, minutes = 0, seconds = 0, millis = 0;
};
DateFields FieldsOf(double t);

// A component's value as jsonata-js's getDateTimeFragment gives it: a number, a text ("am", "ISO"), or
// undefined (timezones and unknown components).
struct Fragment {
  enum class Kind { kNumber, kText, kUndefined } kind = Kind::kUndefined;
  double number = 0;
  std::string text;
};
Fragment DateTimeFragment(double t, char32_t component);

}  // namespace stepflow::sm::jsonata::internal
