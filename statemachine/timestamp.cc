#include "statemachine/timestamp.h"

#include <array>
#include <cstddef>

namespace stepflow::sm {
namespace {

// Reads exactly `n` ASCII digits at `pos`; advances `pos`. Returns -1 when they are not all digits.
int ReadDigits(std::string_view s, size_t& pos, int n) {
  if (pos + static_cast<size_t>(n) > s.size()) {
    return -1;
  }
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = s[pos + static_cast<size_t>(k)];
    if (c < '0' || c > '9') {
      return -1;
    }
    v = v * 10 + (c - '0');
  }
  pos += static_cast<size_t>(n);
  return v;
}

bool Consume(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[static_cast<size_t>(m - 1)];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
long long DaysFromCivil(long long y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

// Parses `.fraction` (0..9 digits, Java's ISO_LOCAL_TIME) into nanoseconds; absent means 0.
bool ParseFraction(std::string_view s, size_t& pos, int& nanos) {
  nanos = 0;
  if (!Consume(s, pos, '.')) {
    return true;
  }
  int digits = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (++digits > 9) {
      return false;
    }
    nanos = nanos * 10 + (s[pos++] - '0');
  }
  for (int k = digits; k < 9; ++k) {
    nanos *= 10;
  }
  return true;
}

// Parses the zone: `Z` / `z`, or `+HH:MM[:SS]` / `-HH:MM[:SS]` within +-18:00. Sets seconds east of UTC.
bool ParseOffset(std::string_view s, size_t& pos, int& offset_seconds) {
  offset_seconds = 0;
  if (Consume(s, pos, 'Z') || Consume(s, pos, 'z')) {
    return true;
  }
  if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) {
    return false;
  }
  const int sign = s[pos++] == '-' ? -1 : 1;
  const int hh = ReadDigits(s, pos, 2);
  if (hh < 0 || !Consume(s, pos, ':')) {
    return false;
  }
  const int mm = ReadDigits(s, pos, 2);
  int ss = 0;
  if (Consume(s, pos, ':')) {
    ss = ReadDigits(s, pos, 2);
  }
  if (mm < 0 || ss < 0 || hh > 18 || mm > 59 || ss > 59) {
    return false;
  }
  const int total = hh * 3600 + mm * 60 + ss;
  if (total > 18 * 3600) {
    return false;
  }
  offset_seconds = sign * total;
  return true;
}

}  // namespace

std::optional<Timestamp> ParseTimestamp(std::string_view s) {
  size_t pos = 0;
  const int year = ReadDigits(s, pos, 4);
  if (year < 0 || !Consume(s, pos, '-')) {
    return std::nullopt;
  }
  const int month = ReadDigits(s, pos, 2);
  if (month < 1 || month > 12 || !Consume(s, pos, '-')) {
    return std::nullopt;
  }
  const int day = ReadDigits(s, pos, 2);
  if (day < 1 || day > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  if (!Consume(s, pos, 'T') && !Consume(s, pos, 't')) {
    return std::nullopt;
  }
  const int hour = ReadDigits(s, pos, 2);
  if (hour < 0 || hour > 23 || !Consume(s, pos, ':')) {
    return std::nullopt;
  }
  const int minute = ReadDigits(s, pos, 2);
  if (minute < 0 || minute > 59) {
    return std::nullopt;
  }
  int second = 0;
  int nanos = 0;
  if (Consume(s, pos, ':')) {
    second = ReadDigits(s, pos, 2);
    if (second < 0 || second > 59 || !ParseFraction(s, pos, nanos)) {
      return std::nullopt;
    }
  }
  int offset = 0;
  if (!ParseOffset(s, pos, offset) || pos != s.size()) {
    return std::nullopt;
  }
  const long long days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  Timestamp ts;
  ts.epoch_seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  ts.nanos = nanos;
  return ts;
}

}  // namespace stepflow::sm
