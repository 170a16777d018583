#pragma once
// Long polls without a thread each (issue 9, section 4: 5,000 polls made 5,025 threads). Tasks.Poll runs on
// gRPC's callback API: a poll that finds no task at once is parked here, and a fixed set of executor
// threads waits on the engine's matcher for the queues that have parked polls, one wait per queue at a
// time (the matcher itself parks the waiting thread on the queue's condition variable and wakes it when a
// task is offered). A sweeper finishes parked polls whose deadline passed or whose caller went away.
//
// Threads: `executors` + 1, whatever the number of polls. A queue's parked polls are served oldest first.
// With more queues than executors, each wait is cut to a short slice so that every queue gets its turn.
//
// Thread-safety: Park and Stop may be called from any thread; `finish` runs on a pump thread, exactly once
// per poll.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/engine.h"

namespace stepflow::api {

// One parked poll.
struct ParkedPoll {
  using Result = absl::StatusOr<std::optional<engine::PolledTask>>;
  std::string queue;
  std::string identity;
  common::EpochMillis deadline = 0;   // system epoch ms: answer empty at this time
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

class PollPump {
 public:
  // `engine` is not owned and must outlive the pump.
  PollPump(engine::Engine* engine, int executors);
  ~PollPump();  // Stop()
  PollPump(const PollPump&) = delete;
  PollPump& operator=(const PollPump&) = delete;

  // Parks `poll` until a task comes, its deadline passes, it is cancelled or the pump stops. After Stop,
  // answers Unavailable at once.
  void Park(std::shared_ptr<ParkedPoll> poll);
  // Answers every parked poll Unavailable ("ServiceUnavailable: the server is shutting down") and joins the
  // threads. Idempotent.
  void Stop();
  // Polls parked now (for tests and metrics).
  std::size_t parked() const;

 private:
  void Execute();
  void Sweep();
  // REQUIRES: mu_ held. The next queue with parked polls and no executor waiting on it, or "".
  std::string NextQueueLocked();

  engine::Engine* engine_;
  const int executors_;
  mutable std::mutex mu_;
  std::condition_variable cv_;        // executors: a queue got parked polls, or stopping
  std::condition_variable sweep_cv_;  // the sweeper: stopping
  std::map<std::string, std::deque<std::shared_ptr<ParkedPoll>>> parked_;  // guarded by mu_; by queue
  std::set<std::string> busy_;  // guarded by mu_: queues an executor waits on now
  std::string last_queue_;      // guarded by mu_: round robin
  bool stopping_ = false;       // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace stepflow::api
