#pragma once
// The matcher: per-queue backlogs of tasks waiting for a worker, and the workers long-polling for them.
// Partitions offer each task after the commit that scheduled it (and again when recovery re-dispatches it);
// a poll takes the oldest waiting task of its queue or parks until one comes or its deadline passes. The
// matcher holds no truth: the executions' input logs do, and recovery rebuilds it from the pending tasks of
// the replayed executions. Taking a task does not start it: the engine starts it in its partition
// (TaskStarted, committed at once or with the result) and drops the task when that is refused (design.md).
//
// Thread-safety: thread-safe; shared by every partition and API thread.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "engine/dispatcher.h"
#include "statemachine/core/execution.h"

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
  // Delivered to a reserved poll: its TaskStarted, naming that poll's worker, is committed already.
  bool started = false;
  // Delivered to a poller with slot workers (Poller::slot_workers): the slot it was reserved into.
  std::size_t slot = 0;
};

// Who waits in Take, as Reserve sees it.
struct Poller {
  std::string worker;          // the worker identity TaskStarted names
  // True once nobody would receive a task (may be empty: never). Asked by partitions' threads under the
  // matcher's lock: it must be cheap and never block (an atomic's load, not a transport's call).
  std::function<bool()> gone;
  std::size_t max_tasks = 1;   // reserved for it at most
  // The inputs reserved for it stay within this many bytes together; the first comes whatever its size.
  std::size_t max_input_bytes = 0;
  // Several single-task polls waiting as one (api::PollPump): when not empty, one worker per slot (then
  // max_tasks == slot_workers.size()); a task reserved into slot k is started for slot_workers[k] and is
  // delivered with QueuedTask::slot == k, and no task is reserved into a slot once slot_gone(k) (may be
  // empty: never; asked like `gone`). Empty: every task is `worker`'s.
  std::vector<std::string> slot_workers;
  std::function<bool(std::size_t slot)> slot_gone;
};

class TaskMatcher {
  struct Waiter;
  struct Queue;

 public:
  // Adds the task to the back of its queue (the front with `front`: a task taken and given back), replacing
  // it when it is already there, and wakes a poller.
  void Offer(QueuedTask task, bool front = false);
  // Removes the task if it is waiting. Unknown tasks are ignored.
  void Cancel(const std::string& execution_id, std::uint64_t task_id);
  // Removes every waiting task of an execution.
  void Forget(const std::string& execution_id);
  // The oldest waiting task of `queue`, removed from it; waits (on the real clock) until `deadline` (system
  // epoch ms) for one. Empty when the deadline passed or the matcher closed. With `poller`, partitions may
  // reserve the caller while it waits and deliver it tasks they started for `poller->worker` (`started`
  // set): then those are returned, in delivery order. A reserved caller waits, past its deadline or the
  // close, until each of its reservations is delivered or released.
  std::vector<QueuedTask> Take(const std::string& queue, common::EpochMillis deadline, const Poller* poller = nullptr);
  // Reserves, for task (execution_id, task_id) whose input is `input_bytes` long, the longest-waiting caller
  // of Take on `queue` that gave a poller, has nothing delivered (a Registration: any number), has room
  // (Poller::max_tasks, max_input_bytes, counting what it holds) and is not gone: its worker identity (with
  // slot workers: the first free slot's whose poll is not gone), or nullopt when none. The caller then
  // delivers or unreserves the task. Never blocks on a poll.
  std::optional<std::string> Reserve(const std::string& queue, const std::string& execution_id, std::uint64_t task_id,
                                     std::size_t input_bytes);
  // Hands `task` (marked started) to the poll reserved for it and ends the reservation. False, and nothing
  // done, when no reservation is held for it.
  bool Deliver(QueuedTask task);
  // Ends the reservation of (execution_id, task_id) without a task, if it is held: the poll waits on.
  void Unreserve(const std::string& execution_id, std::uint64_t task_id);

  // A caller that waits for nothing but collects what partitions deliver to it between Register and Collect:
  // a worker that reports results asks for tasks of `queue` for the slots they free, and receives, started in
  // the reports' own commits, the tasks those commits schedule (Engine::ReportTasksAndPoll). Reserve treats it
  // as a caller of Take that began to wait at Register, except that it accepts deliveries from any number of
  // commits up to its room. It takes no offered task and is never woken for one.
  class Registration {
   public:
    ~Registration();  // Collects if Collect was not called; the tasks delivered are then dropped.
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    friend class TaskMatcher;
    Registration(TaskMatcher* matcher, Poller poller);
    TaskMatcher* matcher_;
    Poller poller_;
    std::unique_ptr<Waiter> waiter_;
    std::list<Waiter*>::iterator listed_;  // in its queue's waiters until collected
    Queue* queue_ = nullptr;
    bool collected_ = false;  // guarded by the matcher's mu_
  };
  std::unique_ptr<Registration> Register(const std::string& queue, Poller poller);
  // Ends the registration (no reservation is made for it after this), waits until each of its reservations
  // is delivered or released, and returns the tasks delivered, in delivery order. Empty when called again.
  std::vector<QueuedTask> Collect(Registration& registration);
  // Wakes every poller (those not reserved return empty) and refuses further waits. Idempotent.
  void Close();

  // Tasks waiting in `queue`.
  std::size_t Depth(const std::string& queue) const;
  // Tasks waiting in every queue.
  std::size_t TotalDepth() const;
  // Callers of Take waiting on `queue` now (a reserved one included, until its task is delivered; no
  // Registration); a caller with slot workers counts as one per slot (the polls it stands for).
  std::size_t PollsWaiting(const std::string& queue) const;
  // Callers of Take waiting now, by queue (every queue ever offered to or polled).
  std::map<std::string, std::size_t> PollsWaiting() const;
  // Tasks delivered to a reserved poll since the matcher was made.
  std::uint64_t delivered() const;
  // Tasks waiting, by queue (every queue ever offered to or polled).
  std::map<std::string, std::size_t> Depths() const;

 private:
  using Key = std::pair<std::string, std::uint64_t>;  // execution id, task id
  // A caller of Take with a poller, while it waits, or a Registration until collected.
  struct Waiter {
    const Poller* poller = nullptr;
    bool registered = false;  // a Registration's: takes deliveries only, from any number of commits
    std::condition_variable wake;
    std::size_t reserved = 0;    // reservations held
    std::size_t held_bytes = 0;  // the inputs' bytes of those reservations and of the tasks delivered
    std::vector<QueuedTask> delivered;
    // With slot workers: which slots a reservation or a delivered task holds (sized at the first Reserve).
    std::vector<bool> slots_held;
    bool free() const { return reserved == 0 && delivered.empty(); }
  };
  struct Reservation {
    Waiter* waiter = nullptr;
    std::size_t input_bytes = 0;
    std::size_t slot = 0;  // with slot workers
  };
  struct Queue {
    std::list<QueuedTask> waiting;
    std::condition_variable ready;  // callers of Take without a poller
    int plain_pollers = 0;          // how many of those wait
    std::list<Waiter*> waiters;     // oldest first
  };

  // REQUIRES: mu_ held.
  void RemoveLocked(const Key& key);
  // REQUIRES: mu_ held. Wakes one caller of Take that may take a waiting task.
  void WakeOneLocked(Queue& q);
  // REQUIRES: mu_ held. The callers of Take waiting on `q`.
  static std::size_t CountPollsLocked(const Queue& q);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Queue> queues_;  // guarded by mu_; a queue is never erased
  // Where each waiting task is, by execution: ordered so that Forget finds an execution's tasks.
  std::map<Key, std::pair<Queue*, std::list<QueuedTask>::iterator>> index_;  // guarded by mu_
  bool closed_ = false;                                                    // guarded by mu_
  std::map<Key, Reservation> reservations_;                                // guarded by mu_
  std::uint64_t delivered_ = 0;                                            // guarded by mu_
};

// The partitions' TaskDispatcher: offers each dispatched task to the shared matcher under its queue's name,
// or hands it to the poll reserved for it. Not thread-safe (one per partition) but the matcher it feeds is.
class MatcherDispatcher final : public TaskDispatcher {
 public:
  explicit MatcherDispatcher(TaskMatcher* matcher) : matcher_(matcher) {}
  // Never fails. A started task is delivered to the poll reserved for it (ReserveWaitingPoll); otherwise
  // (re-dispatched by recovery) it keeps its lease and is not offered.
  absl::Status Dispatch(const TaskDispatch& task) override;
  void Cancel(const std::string& execution_id, std::uint64_t task_id) override;
  // The execution ended or was dropped from memory.
  void Forget(const std::string& execution_id) { matcher_->Forget(execution_id); }
  // Before a commit that schedules `task`: reserves a poll waiting for its queue (TaskMatcher::Reserve) and
  // returns its worker identity, or nullopt. The input's text is kept for the dispatch after the commit.
  std::optional<std::string> ReserveWaitingPoll(const std::string& execution_id, const sm::TaskCommand& task);
  // After that commit (and its dispatches): releases the reservations not delivered (the commit failed) and
  // forgets the texts kept.
  void SettleReservations();

 private:
  using Key = std::pair<std::string, std::uint64_t>;  // execution id, task id
  TaskMatcher* matcher_;
  std::map<Key, std::string> inputs_;  // input texts made by ReserveWaitingPoll, until dispatched
  std::vector<Key> reserved_;          // reservations made since SettleReservations
};

}  // namespace stepflow::engine
