#pragma once
// The bound on calls that wait for an execution (gRPC StartSync and WatchHistory, REST start-sync and
// history:follow): each holds a thread while it waits. A server shares one budget between its two transports
// (app/server_command.cc), so that together they hold at most `max` such threads.
//
// Thread-safe.

#include <atomic>

namespace stepflow::api {

// Default bound of a server's long calls, both transports together.
inline constexpr int kDefaultMaxLongWaits = 256;

class LongWaitBudget {
 public:
  explicit LongWaitBudget(int max = kDefaultMaxLongWaits) : max_(max) {}
  LongWaitBudget(const LongWaitBudget&) = delete;
  LongWaitBudget& operator=(const LongWaitBudget&) = delete;

  // Takes a place: true, or false (nothing taken) when `max` calls hold one.
  bool TryAcquire() {
    if (in_use_.fetch_add(1) < max_) {
      return true;
    }
    in_use_.fetch_sub(1);
    return false;
  }
  // Gives back a place TryAcquire gave.
  void Release() { in_use_.fetch_sub(1); }
  int max() const { return max_; }
  int in_use() const { return in_use_.load(); }

 private:
  const int max_;
  std::atomic<int> in_use_{0};
};

}  // namespace stepflow::api
