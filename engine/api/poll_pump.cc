#include "engine/api/poll_pump.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "common/thread_name.h"
#include "engine/api/service_util.h"

namespace stepflow::api {
namespace {

// How long one executor waits on one queue before it looks at the others: long when every queue with
// parked polls has an executor, short when queues wait for a turn.
constexpr common::EpochMillis kLongSliceMs = 250;
constexpr common::EpochMillis kShortSliceMs = 50;
// How often the sweeper answers parked polls whose deadline passed or whose caller went away.
constexpr std::chrono::milliseconds kSweepInterval{100};
constexpr common::EpochMillis kNever = std::numeric_limits<common::EpochMillis>::max();

absl::Status ShuttingDown() { return absl::UnavailableError("ServiceUnavailable: the server is shutting down"); }
absl::Status CallCancelled() { return absl::CancelledError("Cancelled: the call was cancelled"); }

// Single-task polls of one queue waiting at once wait as one, up to this many (Engine::PollForSlots): the
// commits that schedule tasks of the queue then start one for each of them, instead of one per commit.
constexpr std::size_t kMaxPollsPerWait = 64;

// Whether `poll` may wait with others in one wait (a slot of its own): a single-task poll still wanted, not a
// forwarded one.
bool Joinable(const ParkedPoll& poll, common::EpochMillis now) {
  return poll.max_tasks <= 1 && !poll.take_waiting_only && !poll.cancelled.load() && now < poll.deadline;
}

// The answer of a poll that ended without a task.
ParkedPoll::Result Unanswered(const ParkedPoll& poll) {
  return poll.cancelled.load() ? ParkedPoll::Result(CallCancelled())
                               : ParkedPoll::Result(std::optional<engine::PolledTask>());
}

}  // namespace

PollPump::PollPump(engine::Engine* engine, int executors, std::unique_ptr<PeerPoller> peers)
    : PollPump(
          [engine](ParkedPoll& poll, common::EpochMillis deadline,
                   const std::function<void()>& taken) -> ParkedPoll::Result {
            const std::function<bool()> gone = [&poll] { return poll.cancelled.load(); };
            absl::StatusOr<std::vector<engine::PolledTask>> tasks;
            if (!poll.joined.empty()) {
              engine::PollSlots slots;
              slots.workers.push_back(poll.identity);
              for (const std::shared_ptr<ParkedPoll>& j : poll.joined) {
                slots.workers.push_back(j->identity);
              }
              slots.gone = [&poll](std::size_t slot) {
                return (slot == 0 ? poll : *poll.joined[slot - 1]).cancelled.load();
              };
              const engine::Engine::SlotsTaken slots_taken = [&poll, &taken](const std::vector<bool>& served) {
                poll.served = served;
                taken();
              };
              tasks = engine->PollForSlots(poll.queue, slots, deadline, slots_taken);
            } else if (poll.max_tasks <= 1) {
              return engine->PollTask(poll.queue, poll.identity, deadline, gone, taken);
            } else {
              tasks = engine->PollTasks(poll.queue, poll.identity, static_cast<int>(poll.max_tasks),
                                        poll.max_input_bytes, deadline, gone, taken);
            }
            if (!tasks.ok()) {
              return tasks.status();
            }
            if (tasks->empty()) {
              return std::optional<engine::PolledTask>();
            }
            poll.more.assign(std::make_move_iterator(tasks->begin() + 1), std::make_move_iterator(tasks->end()));
            return std::optional<engine::PolledTask>(std::move(tasks->front()));
          },
          executors, std::move(peers)) {}

PollPump::PollPump(LocalPoll local, int executors, std::unique_ptr<PeerPoller> peers)
    : local_(std::move(local)), peers_(std::move(peers)), executors_(std::max(1, executors)) {
  for (int i = 0; i < executors_; ++i) {
    threads_.emplace_back([this] {
      common::NameThisThread("sf-poll-pump");
      Execute();
    });
  }
  threads_.emplace_back([this] {
    common::NameThisThread("sf-poll-sweep");
    Sweep();
  });
  if (peers_ != nullptr) {
    threads_.emplace_back([this] {
      common::NameThisThread("sf-poll-fanout");
      FanOutLoop();
    });
  }
}

PollPump::~PollPump() { Stop(); }

void PollPump::Park(std::shared_ptr<ParkedPoll> poll) {
  poll->parked_at = NowMillis();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      std::deque<std::shared_ptr<ParkedPoll>>& polls = parked_[poll->queue];
      if (!poll->take_waiting_only) {
        polls.push_back(std::move(poll));
        cv_.notify_one();
        return;
      }
      // Forwarded by another node: a local poll waiting on the queue would have taken any task waiting here.
      if (busy_.count(poll->queue) == 0 && polls.empty()) {
        polls.push_front(std::move(poll));
        cv_.notify_one();
        return;
      }
    }
  }
  poll->Finish(poll->take_waiting_only && !halted_.load() ? ParkedPoll::Result(std::optional<engine::PolledTask>())
                                                          : ParkedPoll::Result(ShuttingDown()));
}

std::size_t PollPump::parked() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const auto& [queue, polls] : parked_) {
    n += polls.size();
  }
  return n;
}

std::string PollPump::NextQueueLocked() {
  auto start = parked_.upper_bound(last_queue_);
  for (int pass = 0; pass < 2; ++pass) {
    for (auto it = pass == 0 ? start : parked_.begin(); it != (pass == 0 ? parked_.end() : start); ++it) {
      if (!it->second.empty() && busy_.count(it->first) == 0) {
        last_queue_ = it->first;
        return it->first;
      }
    }
  }
  return "";
}

common::EpochMillis PollPump::FanOutDueLocked(const ParkedPoll& poll) const {
  if (peers_ == nullptr || poll.take_waiting_only || fanning_.count(poll.queue) != 0) {
    return kNever;
  }
  auto it = rounds_.find(poll.queue);
  if (it == rounds_.end()) {
    return poll.parked_at + kFirstLocalWaitMs;
  }
  // The last round found a task: more are likely waiting there, the first local wait is skipped.
  return it->second.found_last ? 0 : std::max(poll.parked_at + kFirstLocalWaitMs, it->second.next);
}

void PollPump::Execute() {
  for (;;) {
    std::shared_ptr<ParkedPoll> poll;
    std::vector<std::shared_ptr<ParkedPoll>> joined;  // slots 1.. of this wait (ParkedPoll::joined)
    std::string queue;
    common::EpochMillis slice = kLongSliceMs;
    common::EpochMillis fan_out_due = kNever;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !(queue = NextQueueLocked()).empty(); });
      if (stopping_) {
        return;
      }
      std::deque<std::shared_ptr<ParkedPoll>>& polls = parked_[queue];
      poll = polls.front();
      polls.pop_front();
      busy_.insert(queue);
      std::size_t waiting_queues = 0;
      for (const auto& [name, queue_polls] : parked_) {
        waiting_queues += queue_polls.empty() ? 0 : 1;
      }
      // Short slices too while the queue's round is under way: its next poll may be due as soon as it ends.
      slice = waiting_queues > busy_.size() || fanning_.count(queue) != 0 ? kShortSliceMs : kLongSliceMs;
      fan_out_due = FanOutDueLocked(*poll);
      // The single-task polls right behind it wait with it, each in a slot of its own.
      const common::EpochMillis now = NowMillis();
      if (Joinable(*poll, now)) {
        while (!polls.empty() && joined.size() + 1 < kMaxPollsPerWait && Joinable(*polls.front(), now)) {
          joined.push_back(std::move(polls.front()));
          polls.pop_front();
        }
      }
    }
    const common::EpochMillis now = NowMillis();
    ParkedPoll::Result result = std::optional<engine::PolledTask>();
    // Once this poll's tasks left the queue, the queue is free for the next poll while they start (their
    // TaskStarted commit): the starts of several polls then share commit groups. The polls waiting with it
    // that those tasks do not go to (ParkedPoll::served) go back to the front of their queue at once, to wait
    // for the next tasks with another executor.
    bool released = false;
    std::vector<bool> returned(joined.size());
    const std::function<void()> release = [&] {
      std::lock_guard<std::mutex> lock(mu_);
      busy_.erase(queue);
      released = true;
      if (!stopping_) {
        std::deque<std::shared_ptr<ParkedPoll>>& polls = parked_[queue];
        for (std::size_t k = joined.size(); k > 0; --k) {
          if (k >= poll->served.size() || !poll->served[k]) {
            polls.push_front(joined[k - 1]);
            returned[k - 1] = true;
          }
        }
      }
      cv_.notify_one();
    };
    if (!poll->cancelled.load() && now < poll->deadline) {
      // A forwarded poll takes what waits (a deadline already passed); the others wait a slice, cut short
      // when their round over the other nodes is due, or when one of the polls waiting with it is due.
      common::EpochMillis deadline = poll->deadline;
      for (const std::shared_ptr<ParkedPoll>& j : joined) {
        deadline = std::min(deadline, j->deadline);
      }
      const common::EpochMillis until =
          poll->take_waiting_only ? now : std::min({deadline, now + slice, std::max(now, fan_out_due)});
      poll->joined = joined;
      result = local_(*poll, until, release);
      poll->joined.clear();
      poll->served.clear();
    }
    // With polls waiting with it, each task goes to the poll of its slot.
    std::vector<std::optional<engine::PolledTask>> given(joined.size() + 1);
    if (!joined.empty() && result.ok()) {
      std::vector<engine::PolledTask> tasks;
      if (result->has_value()) {
        tasks.push_back(**std::move(result));
        tasks.insert(tasks.end(), std::make_move_iterator(poll->more.begin()),
                     std::make_move_iterator(poll->more.end()));
      }
      poll->more.clear();
      for (engine::PolledTask& task : tasks) {
        std::size_t slot = task.slot;
        if (slot >= given.size() || given[slot].has_value()) {  // never, by Engine::PollForSlots' contract
          spdlog::error("poll pump: a task for slot {} of a wait of {} polls on queue {}", task.slot, given.size(),
                        queue);
          slot = 0;
          while (slot < given.size() && given[slot].has_value()) {
            ++slot;
          }
          if (slot == given.size()) {
            continue;
          }
        }
        given[slot] = std::move(task);
      }
      result = std::move(given[0]);
    }
    bool answered = poll->take_waiting_only || !result.ok() || result->has_value() || poll->cancelled.load() ||
                    NowMillis() >= poll->deadline;
    // The polls that waited with it: answered when they got a task, an error, went away or are due; otherwise
    // back at the front of their queue, in their order, behind `poll` if it goes back too.
    std::vector<std::pair<std::shared_ptr<ParkedPoll>, ParkedPoll::Result>> finished;
    std::vector<std::shared_ptr<ParkedPoll>> back;
    for (std::size_t k = 0; k < joined.size(); ++k) {
      std::shared_ptr<ParkedPoll>& j = joined[k];
      if (returned[k]) {
        if (given[k + 1].has_value()) {  // never: a returned slot is given no task (Engine::PollForSlots)
          spdlog::error("poll pump: a task for slot {}, whose poll waits again, on queue {}", k + 1, queue);
        }
        continue;
      }
      if (given[k + 1].has_value()) {
        finished.emplace_back(j, std::move(given[k + 1]));
      } else if (!result.ok()) {
        finished.emplace_back(j, result.status());
      } else if (j->cancelled.load() || NowMillis() >= j->deadline) {
        finished.emplace_back(j, Unanswered(*j));
      } else {
        back.push_back(j);
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (!released) {
      busy_.erase(queue);
    }
    if (stopping_) {
      for (std::shared_ptr<ParkedPoll>& j : back) {
        finished.emplace_back(std::move(j), ShuttingDown());
      }
      back.clear();
    }
    if (!back.empty()) {
      std::deque<std::shared_ptr<ParkedPoll>>& polls = parked_[queue];
      polls.insert(polls.begin(), back.begin(), back.end());
      cv_.notify_one();
    }
    lock.unlock();
    for (auto& [j, answer] : finished) {
      j->Finish(std::move(answer));
    }
    lock.lock();
    if (!answered && !stopping_) {
      if (NowMillis() >= FanOutDueLocked(*poll)) {
        fanning_.insert(queue);
        fan_out_.push_back(poll);
        fan_out_cv_.notify_one();
      } else {
        parked_[queue].push_front(poll);  // still the oldest of its queue
      }
      cv_.notify_one();
      continue;
    }
    if (!released) {
      cv_.notify_one();  // the queue is free again
    }
    lock.unlock();
    if (poll->cancelled.load() && result.ok() && !result->has_value()) {
      poll->Finish(CallCancelled());
    } else if (!answered) {
      poll->Finish(ShuttingDown());
    } else {
      poll->Finish(std::move(result));
    }
  }
}

ParkedPoll::Result PollPump::FanOut(ParkedPoll& poll) {
  std::vector<std::string> peers = peers_->Peers();
  const std::size_t start = peers.empty() ? 0 : rotation_++ % peers.size();
  for (std::size_t k = 0; k < peers.size(); ++k) {
    const std::string& address = peers[(start + k) % peers.size()];
    const common::EpochMillis now = NowMillis();
    if (poll.cancelled.load() || halted_.load() || now >= poll.deadline) {
      break;
    }
    if (auto it = backoff_.find(address); it != backoff_.end()) {
      if (now < it->second) {
        continue;
      }
      backoff_.erase(it);
    }
    ParkedPoll::Result r = peers_->Poll(address, poll, std::min(poll.deadline, now + kPeerCallTimeoutMs),
                                        [&poll, this] { return poll.cancelled.load() || halted_.load(); });
    if (!r.ok()) {
      if (!poll.cancelled.load() && !halted_.load()) {
        spdlog::debug("poll of queue {}: node {} answered {}; left out for {} ms", poll.queue, address,
                      r.status().ToString(), kPeerBackoffMs);
        backoff_[address] = NowMillis() + kPeerBackoffMs;
      }
      continue;
    }
    if (r->has_value()) {
      return r;
    }
  }
  return std::optional<engine::PolledTask>();
}

void PollPump::FanOutLoop() {
  for (;;) {
    std::shared_ptr<ParkedPoll> poll;
    {
      std::unique_lock<std::mutex> lock(mu_);
      fan_out_cv_.wait(lock, [&] { return stopping_ || !fan_out_.empty(); });
      if (stopping_) {
        return;  // Stop answers the polls left in fan_out_
      }
      poll = fan_out_.front();
      fan_out_.pop_front();
    }
    ParkedPoll::Result result = FanOut(*poll);
    const bool found = result.ok() && result->has_value();
    if (found && poll->cancelled.load()) {
      // Started on the other node for a caller that went away between the call and its answer: nobody
      // receives it; the task's HeartbeatSeconds or TimeoutSeconds ends the attempt (as on one node when a
      // poll's answer is lost).
      spdlog::warn("task of execution {} state {} was handed out by another node for a poll of queue {} whose "
                   "caller went away; its HeartbeatSeconds or TimeoutSeconds ends the attempt",
                   (*result)->execution_arn, (*result)->state_name, poll->queue);
    }
    std::unique_lock<std::mutex> lock(mu_);
    fanning_.erase(poll->queue);
    const common::EpochMillis now = NowMillis();
    rounds_[poll->queue] = Rounds{found ? 0 : now + kFanOutIntervalMs, found};
    if (found && !stopping_) {
      // A backlog elsewhere: the queue's next parked poll goes on at once, without waiting for an executor.
      std::deque<std::shared_ptr<ParkedPoll>>& polls = parked_[poll->queue];
      auto next = std::find_if(polls.begin(), polls.end(), [&](const std::shared_ptr<ParkedPoll>& p) {
        return !p->cancelled.load() && now < p->deadline;
      });
      if (next != polls.end()) {
        fanning_.insert(poll->queue);
        fan_out_.push_back(*next);  // behind other queues' rounds: each gets its turn
        polls.erase(next);
      }
    }
    const bool over = found || stopping_ || poll->cancelled.load() || now >= poll->deadline;
    if (!over) {
      parked_[poll->queue].push_front(poll);  // waits locally again until its queue's next round
      cv_.notify_one();
      continue;
    }
    cv_.notify_one();
    lock.unlock();
    if (found) {
      poll->Finish(std::move(result));
    } else if (poll->cancelled.load() || !halted_.load()) {
      poll->Finish(Unanswered(*poll));
    } else {
      poll->Finish(ShuttingDown());
    }
  }
}

void PollPump::Sweep() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    sweep_cv_.wait_for(lock, kSweepInterval);
    const common::EpochMillis now = NowMillis();
    std::vector<std::shared_ptr<ParkedPoll>> done;
    for (auto& [queue, polls] : parked_) {
      auto keep = std::stable_partition(polls.begin(), polls.end(), [&](const std::shared_ptr<ParkedPoll>& p) {
        return !p->cancelled.load() && now < p->deadline;
      });
      done.insert(done.end(), keep, polls.end());
      polls.erase(keep, polls.end());
    }
    lock.unlock();
    for (const std::shared_ptr<ParkedPoll>& p : done) {
      p->Finish(Unanswered(*p));
    }
    lock.lock();
  }
}

void PollPump::Stop() {
  std::vector<std::shared_ptr<ParkedPoll>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) {
      return;
    }
    stopping_ = true;
    halted_.store(true);
    for (auto& [queue, polls] : parked_) {
      left.insert(left.end(), polls.begin(), polls.end());
    }
    parked_.clear();
    left.insert(left.end(), fan_out_.begin(), fan_out_.end());
    fan_out_.clear();
  }
  cv_.notify_all();
  sweep_cv_.notify_all();
  fan_out_cv_.notify_all();
  for (const std::shared_ptr<ParkedPoll>& p : left) {
    p->Finish(ShuttingDown());
  }
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
}

}  // namespace stepflow::api
