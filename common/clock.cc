#include "common/clock.h"

#include <cstdio>
#include <ctime>
#include <string>

namespace stepflow::common {

EpochMillis SystemClock::NowMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

EpochMillis VirtualClock::NowMillis() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void VirtualClock::AdvanceTo(EpochMillis t) {
  std::lock_guard<std::mutex> lock(mu_);
  if (t > now_) {
    now_ = t;
  }
}

void VirtualClock::AdvanceBy(EpochMillis delta_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (delta_ms > 0) {
    now_ += delta_ms;
  }
}

std::string FormatIso8601(EpochMillis t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  int millis = static_cast<int>(t % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  const int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
  }
  // Every history event carries a timestamp: format by hand, snprintf cost more than the rest of the event.
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](std::size_t pos, int value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10) {
      out[pos + i] = static_cast<char>('0' + value % 10);
    }
  };
  put(0, year, 4);
  put(5, tm.tm_mon + 1, 2);
  put(8, tm.tm_mday, 2);
  put(11, tm.tm_hour, 2);
  put(14, tm.tm_min, 2);
  put(17, tm.tm_sec, 2);
  put(20, millis, 3);
  return out;
}

}  // namespace stepflow::common
