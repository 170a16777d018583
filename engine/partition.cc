#include "engine/partition.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/thread_name.h"
#include "spdlog/spdlog.h"

namespace stepflow::engine {

Partition::Partition(int index, storage::Store* store, common::Clock* clock, DefinitionStore* definitions,
                     TaskMatcher* matcher, PartitionOptions options)
    : index_(index),
      store_(store),
      clock_(clock),
      definitions_(definitions),
      options_(options),
      dispatcher_(matcher),
      driver_(store, clock, &dispatcher_, &runtime_, DriverOptions{options.limits, /*durable=*/true, this, options.execution_counts,
                                                             /*defer_history_encoding=*/false, options.snapshots}) {
  runtime_.set_task_tokens(options.task_tokens);
}

Partition::~Partition() { Stop(); }

void Partition::Run() {
  thread_ = std::thread([this] {
    common::NameThisThread(absl::StrCat("sf-partition-", index_));
    Loop();
  });
}

bool Partition::Post(Work work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      return false;
    }
    inbox_.push_back(std::move(work));
  }
  cv_.notify_one();
  return true;
}

void Partition::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::optional<common::EpochMillis> Partition::NextWake() const {
  std::optional<common::EpochMillis> next = driver_.NextTimerDue();
  for (const auto& [id, due] : reload_) {
    if (!next || due < *next) {
      next = due;
    }
  }
  return next;
}

void Partition::WaitForWork(std::unique_lock<std::mutex>& lock) {
  while (inbox_.empty() && !stopping_ && !driver_.has_yielded()) {
    std::optional<common::EpochMillis> next = NextWake();
    if (!next) {
      cv_.wait(lock);
      continue;
    }
    // With slack, the timers due until `wake` fire together (RunGroup fires every one due by then).
    const common::EpochMillis wake = *next + options_.timer_slack_ms;
    const common::EpochMillis now = clock_->NowMillis();
    if (wake <= now) {
      return;
    }
    const common::EpochMillis wait_ms = std::min(wake - now, options_.max_timer_wait_ms);
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
    if (clock_->NowMillis() >= wake) {
      return;
    }
  }
}

void Partition::Loop() {
  while (true) {
    std::deque<Work> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      WaitForWork(lock);
      if (stopping_ && inbox_.empty()) {
        lock.unlock();
        RecordTaskLeases();
        return;
      }
      while (!inbox_.empty() && work.size() < options_.max_group_inputs) {
        work.push_back(std::move(inbox_.front()));
        inbox_.pop_front();
      }
    }
    RunGroup(std::move(work));
  }
}

void Partition::RecordTaskLeases() {
  driver_.BeginGroup();
  absl::Status recorded = driver_.RecordLeases();
  absl::Status commit = driver_.EndGroup();
  if (!recorded.ok() || !commit.ok()) {
    spdlog::error("partition {}: recording the tasks workers took at shutdown: {}", index_,
                  std::string((recorded.ok() ? commit : recorded).message()));
  }
}

void Partition::RunGroup(std::deque<Work> work) {
  driver_.BeginGroup();
  for (Work& w : work) {
    w();
  }
  ReloadDue();
  // After the posted work, so that a Stop or a start waiting behind a runaway execution goes first.
  absl::Status continued = driver_.ContinueYielded();
  if (!continued.ok()) {
    spdlog::error("partition {}: continuing executions: {}", index_, std::string(continued.message()));
  }
  absl::Status fired = driver_.FireDueTimers();
  if (!fired.ok()) {
    spdlog::error("partition {}: firing timers: {}", index_, std::string(fired.message()));
  }
  // Last, once the group scheduled all it will: the tasks a worker's poll already waits for start in this
  // commit (TaskMatcher: a task scheduled while a poll waits skips the queue).
  absl::Status started = driver_.StartTasksTaken([this](const std::string& id, const sm::TaskCommand& task) {
    return dispatcher_.ReserveWaitingPoll(id, task);
  });
  if (!started.ok()) {
    spdlog::error("partition {}: starting tasks workers wait for: {}", index_, std::string(started.message()));
  }
  absl::Status commit = driver_.EndGroup();
  dispatcher_.SettleReservations();  // after the commit's dispatches delivered them, or it failed
  if (driver_.lease_lost()) {
    spdlog::warn("partition {}: a commit was refused, the partition's lease moved on: forgetting its executions: {}",
                 index_, std::string(commit.message()));
    const std::uint64_t lost = fence_->epoch;
    ForgetAll();
    SetFence(storage::LeaseFence{fence_->partition, 0});
    if (options_.lease_lost && lost != 0) {  // epoch 0: not served here anyway (dropped before this group ran)
      options_.lease_lost(index_, lost);
    }
  } else if (!commit.ok()) {
    spdlog::error("partition {}: commit of a group failed, its executions reload from the store: {}", index_,
                  std::string(commit.message()));
  }
  std::vector<Reply> replies = std::move(replies_);
  replies_.clear();
  for (Reply& reply : replies) {
    reply(commit);
  }
  if (!committed_.empty()) {
    watchers_.Notify(committed_);
    committed_.clear();
  }
}

void Partition::Committed(const std::string& execution_id, bool ended) {
  committed_.push_back(CommitWatchers::Touched{execution_id, ended});
  if (ended) {
    dispatcher_.Forget(execution_id);
  }
}

void Partition::SetFence(std::optional<storage::LeaseFence> fence) {
  fence_ = fence;
  driver_.SetFence(fence);
}

void Partition::ForgetAll() {
  for (const std::string& id : driver_.ForgetAll()) {
    dispatcher_.Forget(id);
  }
  reload_.clear();
}

void Partition::Dropped(const std::string& execution_id) {
  dispatcher_.Forget(execution_id);
  if (fence_.has_value() && fence_->epoch == 0) {
    return;  // not this node's partition (any more): nothing to reload
  }
  reload_[execution_id] = clock_->NowMillis() + options_.reload_delay_ms;
}

}  // namespace stepflow::engine
