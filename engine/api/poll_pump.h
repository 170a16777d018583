#pragma once
// Long polls without a thread each (issue 9, section 4: 5,000 polls made 5,025 threads). Tasks.Poll runs on
// gRPC's callback API: a poll that finds no task at once is parked here, and a fixed set of executor
// threads waits on the engine's matcher for the queues that have parked polls, one wait per queue at a
// time (the matcher itself parks the waiting thread on the queue's condition variable and wakes it when a
// task is offered). A sweeper finishes parked polls whose deadline passed or whose caller went away.
//
// Threads: `executors` + 1, whatever the number of polls (+ 1 fan-out thread in a cluster). A queue's parked
// polls are served oldest first. With more queues than executors, each wait is cut to a short slice so that
// every queue gets its turn.
//
// A queue's oldest parked single-task polls (Tasks.Poll, REST poll; up to 64) wait as one, each in a slot of
// its own (Engine::PollForSlots): a commit that schedules tasks of the queue starts one for each waiting slot,
// for that slot's worker, instead of one for the first poll while the others' tasks wait in the queue for
// commits of their own. The polls whose slots the tasks taken do not go to are parked again at once, before
// those tasks start. A batch poll (PollBatch) and a forwarded one wait alone.
//
// Cluster mode (issue 14, part 3; docs/engine-notes.md "Several nodes"): a node's matcher holds only the tasks
// of the partitions it serves, so a poll also asks the other nodes (PeerPoller). Rounds, per queue:
//   - a poll is first waited for locally for kFirstLocalWaitMs; then the oldest parked poll of the queue is
//     handed to the fan-out thread, which asks each other node in turn (rotating start) for a task waiting
//     there now, with a short deadline per call, and stops at the first task, which answers the poll;
//   - at most one round per queue is under way at a time; after a round that found nothing the queue's next
//     round waits kFanOutIntervalMs (its polls keep waiting locally meanwhile); after one that found a task
//     the queue's next parked poll goes on at once, and a new poll skips the first local wait (a backlog
//     elsewhere drains at the speed of round trips);
//   - a poll forwarded by another node (`take_waiting_only`) takes only a task waiting now and is never
//     fanned out again; it is answered empty at once when a local poll already waits on its queue (that poll
//     would take any task first).
// An idle queue thus costs a node at most (nodes - 1) calls per kFanOutIntervalMs, however many polls wait,
// and a task that appears on another node reaches an idle poll here within about kFanOutIntervalMs.
//
// Thread-safety: Park and Stop may be called from any thread; `finish` runs on a pump thread (or the caller
// of Park), exactly once per poll.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/api/forwarding.h"
#include "engine/engine.h"

namespace stepflow::api {

// The first local wait of a poll before other nodes are asked.
inline constexpr common::EpochMillis kFirstLocalWaitMs = 100;
// After a round over the other nodes found no task, the next round of the same queue waits this long.
inline constexpr common::EpochMillis kFanOutIntervalMs = 1000;
// The longest one call to another node may take (a node down or paused must not hold the round longer).
inline constexpr common::EpochMillis kPeerCallTimeoutMs = 1000;
// A node whose call failed (down, paused, refusing) is left out of rounds this long.
inline constexpr common::EpochMillis kPeerBackoffMs = 2000;

// One parked poll.
struct ParkedPoll {
  using Result = absl::StatusOr<std::optional<engine::PolledTask>>;
  std::string queue;
  std::string identity;
  common::EpochMillis deadline = 0;   // system epoch ms: answer empty at this time
  common::EpochMillis parked_at = 0;  // system epoch ms: set by Park
  // A poll forwarded by another node's fan-out: takes only a task waiting now, never waits nor fans out.
  bool take_waiting_only = false;
  // A batch poll (Tasks.PollBatch): this node's matcher may hand it up to `max_tasks` tasks at once, their
  // inputs up to `max_input_bytes` beside the first; the first is the Result, the others go to `more`
  // (written before `answer` is called, on the same thread).
  std::size_t max_tasks = 1;
  std::size_t max_input_bytes = 0;
  std::vector<engine::PolledTask> more;
  // Set by the pump's executor for the length of one wait: the single-task polls of the same queue that wait
  // with this one, each in a slot of its own (slot 0 is this poll, slot k is joined[k - 1]): the local poll
  // returns their tasks too (the first as the Result, the others in `more`), each with its `slot`.
  std::vector<std::shared_ptr<ParkedPoll>> joined;
  // Set by the local poll before it calls `taken` (PollPump::LocalPoll): which slots the tasks taken go to
  // (Engine::PollForSlots' `served`). Empty: slot 0 alone.
  std::vector<bool> served;
  // The caller's token and deadline, passed on to the other nodes when the poll is fanned out.
  ForwardContext from;
  std::atomic<bool> cancelled{false};  // the caller went away (set by the reactor)
  // Answers the poll: a task, none (deadline), or an error. Called once (see Finish).
  std::function<void(Result)> answer;
  std::atomic<bool> finished{false};

  // Calls `answer` unless already answered.
  void Finish(Result result) {
    if (!finished.exchange(true)) {
      answer(std::move(result));
    }
  }
};

// The other nodes of a cluster, as the pump asks them for tasks (forwarding.h has the gRPC one).
class PeerPoller {
 public:
  virtual ~PeerPoller() = default;
  // The other nodes that may hold tasks now. Cheap (no I/O): called once per round.
  virtual std::vector<std::string> Peers() = 0;
  // Asks node `address` for a task of `poll.queue` waiting there now, by `call_deadline` (system epoch ms).
  // A task returned is started there (TaskStarted committed) for `poll.identity`. `gone` tells whether the
  // call should be abandoned (the caller went away, the pump stops): the call is then cancelled.
  virtual ParkedPoll::Result Poll(const std::string& address, const ParkedPoll& poll,
                                  common::EpochMillis call_deadline, const std::function<bool()>& gone) = 0;
};

class PollPump {
 public:
  // This node's matcher: waits until `deadline` (a deadline already passed: no wait) for a task of
  // `poll.queue`; tasks beyond the first (up to `poll.max_tasks`, or one per slot of `poll.joined`) go to
  // `poll.more`. Calls `taken` (once, if
  // at all) when tasks left the queue for it, before they are started: another executor may then wait on
  // the queue while they start.
  using LocalPoll = std::function<ParkedPoll::Result(ParkedPoll& poll, common::EpochMillis deadline,
                                                     const std::function<void()>& taken)>;

  // `engine` is not owned and must outlive the pump. `peers` (cluster mode; nullptr = one node) are asked
  // for tasks when none waits here.
  PollPump(engine::Engine* engine, int executors, std::unique_ptr<PeerPoller> peers = nullptr);
  PollPump(LocalPoll local, int executors, std::unique_ptr<PeerPoller> peers);
  ~PollPump();  // Stop()
  PollPump(const PollPump&) = delete;
  PollPump& operator=(const PollPump&) = delete;

  // Parks `poll` until a task comes, its deadline passes, it is cancelled or the pump stops. After Stop,
  // answers Unavailable at once.
  void Park(std::shared_ptr<ParkedPoll> poll);
  // Answers every parked poll Unavailable ("ServiceUnavailable: the server is shutting down") and joins the
  // threads. Idempotent.
  void Stop();
  // Polls parked now (for tests and metrics); a poll in a fan-out round is not parked.
  std::size_t parked() const;

 private:
  void Execute();
  void Sweep();
  void FanOutLoop();
  // One round over the other nodes for `poll`: the first task found, none, or none after errors (logged).
  ParkedPoll::Result FanOut(ParkedPoll& poll);
  // REQUIRES: mu_ held. The next queue with parked polls and no executor waiting on it, or "".
  std::string NextQueueLocked();
  // REQUIRES: mu_ held. When `poll` may be handed to the fan-out thread (kNever: not in this pump).
  common::EpochMillis FanOutDueLocked(const ParkedPoll& poll) const;

  LocalPoll local_;
  std::unique_ptr<PeerPoller> peers_;
  const int executors_;
  mutable std::mutex mu_;
  std::condition_variable cv_;         // executors: a queue got parked polls, or stopping
  std::condition_variable sweep_cv_;   // the sweeper: stopping
  std::condition_variable fan_out_cv_; // the fan-out thread: a poll to fan out, or stopping
  std::map<std::string, std::deque<std::shared_ptr<ParkedPoll>>> parked_;  // guarded by mu_; by queue
  std::set<std::string> busy_;  // guarded by mu_: queues an executor waits on now (until tasks are taken)
  std::string last_queue_;      // guarded by mu_: round robin
  bool stopping_ = false;       // guarded by mu_
  std::atomic<bool> halted_{false};  // stopping_, readable without mu_ (fan-out calls in flight)
  // Fan-out (cluster mode), guarded by mu_: polls waiting for the fan-out thread; queues with a round under
  // way or waiting; when each queue's next round may start.
  struct Rounds {
    common::EpochMillis next = 0;  // the next round may start then
    bool found_last = false;       // the last round found a task: the next poll goes on at once
  };
  std::deque<std::shared_ptr<ParkedPoll>> fan_out_;
  std::set<std::string> fanning_;
  std::map<std::string, Rounds> rounds_;  // by queue; bounded as parked_ is, by the queues ever polled
  // Fan-out thread only: where the next round starts in the node list, and nodes left out until a time.
  std::size_t rotation_ = 0;
  std::map<std::string, common::EpochMillis> backoff_;
  std::vector<std::thread> threads_;
};

}  // namespace stepflow::api
