#include "engine/api/poll_pump.h"

#include <algorithm>
#include <chrono>

#include "engine/api/service_util.h"

namespace stepflow::api {
namespace {

// How long one executor waits on one queue before it looks at the others: long when every queue with
// parked polls has an executor, short when queues wait for a turn.
constexpr common::EpochMillis kLongSliceMs = 250;
constexpr common::EpochMillis kShortSliceMs = 50;
// How often the sweeper answers parked polls whose deadline passed or whose caller went away.
constexpr std::chrono::milliseconds kSweepInterval{100};

absl::Status ShuttingDown() { return absl::UnavailableError("ServiceUnavailable: the server is shutting down"); }
absl::Status CallCancelled() { return absl::CancelledError("Cancelled: the call was cancelled"); }

}  // namespace

PollPump::PollPump(engine::Engine* engine, int executors) : engine_(engine), executors_(std::max(1, executors)) {
  for (int i = 0; i < executors_; ++i) {
    threads_.emplace_back([this] { Execute(); });
  }
  threads_.emplace_back([this] { Sweep(); });
}

PollPump::~PollPump() { Stop(); }

void PollPump::Park(std::shared_ptr<ParkedPoll> poll) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      parked_[poll->queue].push_back(std::move(poll));
      cv_.notify_one();
      return;
    }
  }
  poll->Finish(ShuttingDown());
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

void PollPump::Execute() {
  for (;;) {
    std::shared_ptr<ParkedPoll> poll;
    std::string queue;
    common::EpochMillis slice = kLongSliceMs;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !(queue = NextQueueLocked()).empty(); });
      if (stopping_) {
        return;
      }
      poll = parked_[queue].front();
      parked_[queue].pop_front();
      busy_.insert(queue);
      std::size_t waiting_queues = 0;
      for (const auto& [name, polls] : parked_) {
        waiting_queues += polls.empty() ? 0 : 1;
      }
      slice = waiting_queues > busy_.size() ? kShortSliceMs : kLongSliceMs;
    }
    const common::EpochMillis now = NowMillis();
    ParkedPoll::Result result = std::optional<engine::PolledTask>();
    if (!poll->cancelled.load() && now < poll->deadline) {
      result = engine_->PollTask(queue, poll->identity, std::min(poll->deadline, now + slice),
                                 [poll] { return poll->cancelled.load(); });
    }
    bool answered = !result.ok() || result->has_value() || poll->cancelled.load() || NowMillis() >= poll->deadline;
    std::unique_lock<std::mutex> lock(mu_);
    busy_.erase(queue);
    if (!answered && !stopping_) {
      parked_[queue].push_front(poll);  // still the oldest of its queue
      cv_.notify_one();
      continue;
    }
    cv_.notify_one();
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
      p->Finish(p->cancelled.load() ? ParkedPoll::Result(CallCancelled())
                                    : ParkedPoll::Result(std::optional<engine::PolledTask>()));
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
    for (auto& [queue, polls] : parked_) {
      left.insert(left.end(), polls.begin(), polls.end());
    }
    parked_.clear();
  }
  cv_.notify_all();
  sweep_cv_.notify_all();
  for (const std::shared_ptr<ParkedPoll>& p : left) {
    p->Finish(ShuttingDown());
  }
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
}

}  // namespace stepflow::api
