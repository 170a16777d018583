#pragma once
// Lets API threads wait for the commits of one execution (WaitForHistory, WaitForCompletion) without
// polling: a waiter registers interest, reads the store, and sleeps on a condition variable that the
// partition thread notifies after each commit group that touched the execution. A waiter for the end only
// (WaitForCompletion, and so StartSync) sleeps through the commits that leave the execution running: an
// execution with ten Task states is committed to about a dozen times, and each wake was a context switch and a
// read of its record for nothing.
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
    std::uint64_t commits = 0;  // commit groups that touched the execution since the first watch
    std::uint64_t ends = 0;     // those of them that ended it (it may be redriven and end again)
    std::condition_variable commit_cv;  // waiters for every commit
    std::condition_variable end_cv;     // waiters for the commits that end the execution
  };

 public:
  // What wakes a watch: every commit to the execution, or only a commit that ends it.
  enum class Interest { kEveryCommit, kEnd };

  // One execution a commit group touched, and whether that group ended it.
  struct Touched {
    std::string execution_id;
    bool ended = false;
  };

  // Interest in one execution, from construction to destruction. Register before reading the store, so
  // that a commit between the read and the wait is not missed.
  class Watch {
   public:
    Watch(CommitWatchers& watchers, const std::string& execution_id, Interest interest = Interest::kEveryCommit);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

    // Blocks until a commit of the watch's interest (any commit, or one that ended the execution) after the
    // previous wait (or the registration), `deadline` passes, or the watchers are closed. True when there was
    // such a commit.
    bool WaitForCommit(std::chrono::system_clock::time_point deadline);

   private:
    CommitWatchers& watchers_;
    std::map<std::string, Waiters>::iterator it_;
    Interest interest_;
    std::uint64_t seen_ = 0;
  };

  // Wakes the waiters of each execution whose interest the commit meets. Called by the partition thread
  // after a commit group.
  void Notify(const std::vector<Touched>& touched);

  // Wakes every waiter; waits from now on return false at once. Idempotent.
  void Close();
  bool closed() const;

 private:
  mutable std::mutex mu_;
  bool closed_ = false;                 // guarded by mu_
  std::map<std::string, Waiters> map_;  // guarded by mu_
};

}  // namespace stepflow::engine
