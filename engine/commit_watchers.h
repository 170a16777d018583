#pragma once
// Lets API threads wait for the commits of one execution (WaitForHistory, WaitForCompletion) without
// polling: a waiter registers interest, reads the store, and sleeps on a condition variable that the
// partition thread notifies after each commit group that touched the execution.
//
// Thread-safety: thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace stepflow::engine {

class CommitWatchers {
 private:
  struct Waiters {
    int count = 0;
    std::uint64_t generation = 0;
    std::condition_variable cv;
  };

 public:
  // Interest in one execution, from construction to destruction. Register before reading the store, so
  // that a commit between the read and the wait is not missed.
  class Watch {
   public:
    Watch(CommitWatchers& watchers, const std::string& execution_id);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    // Blocks until the execution is committed to after the previous wait (or the registration), `deadline`
    // passes, or the watchers are closed. True when there was a commit.
    bool WaitForCommit(std::chrono::system_clock::time_point deadline);

   private:
    CommitWatchers& watchers_;
    std::map<std::string, Waiters>::iterator it_;
    std::uint64_t seen_ = 0;
  };

  // Wakes the waiters of each execution. Called by the partition thread after a commit group.
  void Notify(const std::vector<std::string>& execution_ids);
  // Wakes every waiter; waits from now on return false at once. Idempotent.
  void Close();
  bool closed() const;

 private:
  mutable std::mutex mu_;
  bool closed_ = false;                 // guarded by mu_
  std::map<std::string, Waiters> map_;  // guarded by mu_
};

}  // namespace stepflow::engine
