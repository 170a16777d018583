#include "statemachine/jsonata/civil_time.h"

#include <cmath>

namespace stepflow::sm::jsonata::internal {
namespace {

// Years beyond this cannot give a time value within kMaxDateMillis.
constexpr double kMaxYear = 400000;
constexpr double kMillisPerWeek = 7 * kMillisPerDay;

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
long long DaysFromCivil(long long y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  long long era = (y >= 0 ? y : y - 399) / 400;
  long long yoe = y - era * 400;
  long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(long long z, long long& y, int& m, int& d) {
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2 ? 1 : 0);
}

// Start of week 1 of a month (ISO 8601's rule, which F&O applies to months too): the Monday of the
// week holding the month's first Thursday.
double StartOfFirstWeek(double year, double month0) {
  double first = JsDateUtc(year, month0);
  int day = FieldsOf(first).weekday;
  if (day == 0) {
    day = 7;
  }
  return day > 4 ? first + (8 - day) * kMillisPerDay : first - (day - 1) * kMillisPerDay;
}

double DeltaWeeks(double start, double end) { return (end - start) / kMillisPerWeek + 1; }

double WeekInYear(const DateFields& f) {
  double start = StartOfFirstWeek(f.year, 0);
  double today = JsDateUtc(f.year, f.month0, f.day);
  double week = DeltaWeeks(start, today);
  if (week > 52) {
    if (today >= StartOfFirstWeek(f.year + 1, 0)) {
      week = 1;
    }
  } else if (week < 1) {
    week = DeltaWeeks(StartOfFirstWeek(f.year - 1, 0), today);
  }
  return std::floor(week);
}

double WeekInMonth(const DateFields& f) {
  double start = StartOfFirstWeek(f.year, f.month0);
  double today = JsDateUtc(f.year, f.month0, f.day);
  double week = DeltaWeeks(start, today);
  if (week > 4) {
    double next_year = f.month0 == 11 ? f.year + 1 : f.year;
    double next_month = f.month0 == 11 ? 0 : f.month0 + 1;
    if (today >= StartOfFirstWeek(next_year, next_month)) {
      week = 1;
    }
  } else if (week < 1) {
    double previous_year = f.month0 == 0 ? f.year - 1 : f.year;
    double previous_month = f.month0 == 0 ? 11 : f.month0 - 1;
    week = DeltaWeeks(StartOfFirstWeek(previous_year, previous_month), today);
  }
  return std::floor(week);
}

}  // namespace

double JsDateUtc(double year, double month0, double day, double hours, double minutes, double seconds,
                 double millis) {
  for (double v : {year, month0, day, hours, minutes, seconds, millis}) {
    if (!std::isfinite(v)) {
      return std::nan("");
    }
  }
  year = std::trunc(year);
  if (year >= 0 && year <= 99) {
    year += 1900;
  }
  month0 = std::trunc(month0);
  double y = year + std::floor(month0 / 12);
  double m = month0 - std::floor(month0 / 12) * 12;
  if (std::fabs(y) > kMaxYear || std::fabs(day) > kMaxYear * 366) {
    return std::nan("");
  }
  double days = static_cast<double>(DaysFromCivil(static_cast<long long>(y), static_cast<int>(m) + 1, 1)) +
                std::trunc(day) - 1;
  double time = std::trunc(hours) * 3600000.0 + std::trunc(minutes) * 60000.0 + std::trunc(seconds) * 1000.0 +
                std::trunc(millis);
  double t = days * kMillisPerDay + time;
  if (!std::isfinite(t) || std::fabs(t) > kMaxDateMillis) {
    return std::nan("");
  }
  return std::trunc(t) + 0.0;
}

DateFields FieldsOf(double t) {
  DateFields f;
  if (!std::isfinite(t) || std::fabs(t) > kMaxDateMillis) {
    return f;
  }
  double days = std::floor(t / kMillisPerDay);
  long long in_day = static_cast<long long>(t - days * kMillisPerDay);
  long long day_number = static_cast<long long>(days);
  CivilFromDays(day_number, f.year, f.month0, f.day);
  f.month0 -= 1;
  f.weekday = static_cast<int>(((day_number % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  f.hours = static_cast<int>(in_day / 3600000);
  f.minutes = static_cast<int>(in_day / 60000 % 60);
  f.seconds = static_cast<int>(in_day / 1000 % 60);
  f.millis = static_cast<int>(in_day % 1000);
  return f;
}

Fragment DateTimeFragment(double t, char32_t component) {
  DateFields f = FieldsOf(t);
  auto number = [](double v) { return Fragment{Fragment::Kind::kNumber, v, ""}; };
  auto text = [](std::string s) { return Fragment{Fragment::Kind::kText, 0, std::move(s)}; };
  switch (component) {
    case 'Y': return number(static_cast<double>(f.year));
    case 'M': return number(f.month0 + 1);
    case 'D': return number(f.day);
    case 'd': return number((JsDateUtc(f.year, f.month0, f.day) - JsDateUtc(f.year, 0)) / kMillisPerDay + 1);
    case 'F': return number(f.weekday == 0 ? 7 : f.weekday);
    case 'W': return number(WeekInYear(f));
    case 'w': return number(WeekInMonth(f));
    case 'X': {
      double year = static_cast<double>(f.year);
      if (t < StartOfFirstWeek(year, 0)) {
        return number(year - 1);
      }
      return number(t >= StartOfFirstWeek(year + 1, 0) ? year + 1 : year);
    }
    case 'x': {
      double next_year = f.month0 == 11 ? f.year + 1 : f.year;
      int next_month = f.month0 == 11 ? 0 : f.month0 + 1;
      if (t < StartOfFirstWeek(f.year, f.month0)) {
        return number(f.month0 == 0 ? 12 : f.month0);
      }
      return number(t >= StartOfFirstWeek(next_year, next_month) ? next_month + 1 : f.month0 + 1);
    }
    case 'H': return number(f.hours);
    case 'h': return number(f.hours % 12 == 0 ? 12 : f.hours % 12);
    case 'P': return text(f.hours >= 12 ? "pm" : "am");
    case 'm': return number(f.minutes);
    case 's': return number(f.seconds);
    case 'f': return number(f.millis);
    case 'C':
    case 'E': return text("ISO");
    default: return Fragment{};
  }
}

}  // namespace stepflow::sm::jsonata::internal
