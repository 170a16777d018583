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
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

}  // namespace stepflow::common
