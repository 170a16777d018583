#pragma once
// The matcher: per-queue backlogs of tasks waiting for a worker, and the workers long-polling for them.
// Partitions offer each task after the commit that scheduled it (and again when recovery re-dispatches it);
// a poll takes the oldest waiting task of its queue or parks until one comes or its deadline passes. The
// matcher holds no truth: the `tasks` rows do, and recovery rebuilds it from them. Taking a task does not
// start it: the engine starts it in its partition (TaskStarted, committed at once or with the result) and
// drops the task when that is refused (design.md).
//
// Thread-safety: thread-safe; shared by every partition and API thread.

#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/clock.h"
#include "engine/dispatcher.h"

namespace stepflow::engine {

// A task waiting in its queue.
struct QueuedTask {
  std::string queue;
  std::string execution_id;
  std::uint64_t task_id = 0;
  std::string state_name;
  std::string state_machine_arn;
  std::string input;  // JSON text
  int attempt = 0;
  common::EpochMillis scheduled = 0;
  std::optional<double> timeout_seconds;
  std::optional<double> heartbeat_seconds;
};

class TaskMatcher {
 public:
  // Adds the task to the back of its queue (the front with `front`: a task taken and given back), replacing
  // it when it is already there, and wakes a poller.
  void Offer(QueuedTask task, bool front = false);
  // Removes the task if it is waiting. Unknown tasks are ignored.
  void Cancel(const std::string& execution_id, std::uint64_t task_id);
  // Removes every waiting task of an execution.
  void Forget(const std::string& execution_id);
  // The oldest waiting task of `queue`, removed from it; waits (on the real clock) until `deadline` (system
  // epoch ms) for one. nullopt when the deadline passed or the matcher closed.
  std::optional<QueuedTask> Take(const std::string& queue, common::EpochMillis deadline);
  // Wakes every poller (they return nullopt) and refuses further waits. Idempotent.
  void Close();

  // Tasks waiting in `queue`.
  std::size_t Depth(const std::string& queue) const;
  // Tasks waiting in every queue.
  std::size_t TotalDepth() const;
  // Tasks waiting, by queue (every queue ever offered to or polled).
  std::map<std::string, std::size_t> Depths() const;

 private:
  using Key = std::pair<std::string, std::uint64_t>;  // execution id, task id
  struct Queue {
    std::list<QueuedTask> waiting;
    std::condition_variable ready;
    int pollers = 0;
  };

  // REQUIRES: mu_ held.
  void RemoveLocked(const Key& key);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Queue> queues_;  // guarded by mu_; a queue is never erased
  // Where each waiting task is, by execution: ordered so that Forget finds an execution's tasks.
  std::map<Key, std::pair<Queue*, std::list<QueuedTask>::iterator>> index_;  // guarded by mu_
  bool closed_ = false;                                                    // guarded by mu_
};

// The partitions' TaskDispatcher: offers each dispatched task to the shared matcher under its queue's name.
// Not thread-safe (one per partition) but the matcher it feeds is.
class MatcherDispatcher final : public TaskDispatcher {
 public:
  explicit MatcherDispatcher(TaskMatcher* matcher) : matcher_(matcher) {}
  // Never fails. A started task (re-dispatched by recovery) keeps its lease and is not offered.
  absl::Status Dispatch(const TaskDispatch& task) override;
  void Cancel(const std::string& execution_id, std::uint64_t task_id) override;
  // The execution ended or was dropped from memory.
  void Forget(const std::string& execution_id) { matcher_->Forget(execution_id); }

 private:
  TaskMatcher* matcher_;
};

}  // namespace stepflow::engine
