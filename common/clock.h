#pragma once
// Time for the engine. The statemachine module never reads a clock: the engine reads one of these and
// passes instants in, so that runs replay and tests never sleep.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace stepflow::common {

// Milliseconds since the Unix epoch (UTC).
using EpochMillis = std::int64_t;

// A source of the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // The current wall-clock time in milliseconds since the Unix epoch.
  virtual EpochMillis NowMillis() const = 0;
};

// The real system clock.
class SystemClock final : public Clock {
 public:
  EpochMillis NowMillis() const override;
};

// A clock that moves only when told to: `stepflow run --time-skip` and tests use it so that Wait states,
// retry intervals and timeouts take no real time while keeping their recorded timestamps consistent.
class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(EpochMillis start) : now_(start) {}
  EpochMillis NowMillis() const override;
  // Moves time forward to `t`; earlier instants are ignored (time never runs backwards).
  void AdvanceTo(EpochMillis t);
  void AdvanceBy(EpochMillis delta_ms);

 private:
  mutable std::mutex mu_;
  EpochMillis now_;  // guarded by mu_
};

// Formats an instant as AWS does in the context object and histories: ISO-8601 UTC with milliseconds,
// e.g. "2024-01-02T03:04:05.678Z".
std::string FormatIso8601(EpochMillis t);

}  // namespace stepflow::common
