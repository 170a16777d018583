#include "engine/task_matcher.h"

#include <chrono>

#include "engine/tasks.h"

namespace stepflow::engine {

void TaskMatcher::Offer(QueuedTask task, bool front) {
  std::lock_guard<std::mutex> lock(mu_);
  Key key{task.execution_id, task.task_id};
  RemoveLocked(key);
  Queue& q = queues_[task.queue];
  if (front) {
    q.waiting.push_front(std::move(task));
    index_[key] = {&q, q.waiting.begin()};
  } else {
    q.waiting.push_back(std::move(task));
    index_[key] = {&q, std::prev(q.waiting.end())};
  }
  if (q.pollers > 0) {
    q.ready.notify_one();
  }
}

void TaskMatcher::RemoveLocked(const Key& key) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    return;
  }
  it->second.first->waiting.erase(it->second.second);
  index_.erase(it);
}

void TaskMatcher::Cancel(const std::string& execution_id, std::uint64_t task_id) {
  std::lock_guard<std::mutex> lock(mu_);
  RemoveLocked({execution_id, task_id});
}

void TaskMatcher::Forget(const std::string& execution_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.lower_bound({execution_id, 0});
  while (it != index_.end() && it->first.first == execution_id) {
    it->second.first->waiting.erase(it->second.second);
    it = index_.erase(it);
  }
}

std::optional<QueuedTask> TaskMatcher::Take(const std::string& queue, common::EpochMillis deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  Queue& q = queues_[queue];
  ++q.pollers;
  common::SystemClock clock;
  while (q.waiting.empty() && !closed_) {
    const common::EpochMillis now = clock.NowMillis();
    if (now >= deadline) {
      break;
    }
    q.ready.wait_for(lock, std::chrono::milliseconds(deadline - now));
  }
  --q.pollers;
  if (q.waiting.empty() || closed_) {
    return std::nullopt;
  }
  QueuedTask task = std::move(q.waiting.front());
  q.waiting.pop_front();
  index_.erase({task.execution_id, task.task_id});
  if (!q.waiting.empty() && q.pollers > 0) {
    q.ready.notify_one();  // another poller may take the next one
  }
  return task;
}

void TaskMatcher::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (auto& [name, q] : queues_) {
    q.ready.notify_all();
  }
}

std::size_t TaskMatcher::Depth(const std::string& queue) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = queues_.find(queue);
  return it == queues_.end() ? 0 : it->second.waiting.size();
}

std::size_t TaskMatcher::TotalDepth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.size();
}

std::map<std::string, std::size_t> TaskMatcher::Depths() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::size_t> depths;
  for (const auto& [name, q] : queues_) {
    depths[name] = q.waiting.size();
  }
  return depths;
}

absl::Status MatcherDispatcher::Dispatch(const TaskDispatch& task) {
  if (task.started) {
    return absl::OkStatus();
  }
  QueuedTask q;
  q.queue = TaskQueueName(task.resource, task.input);
  q.execution_id = task.execution_id;
  q.task_id = task.task_id;
  q.state_name = task.state_name;
  q.state_machine_arn = task.state_machine_arn;
  q.input = boost::json::serialize(task.input);
  q.attempt = task.attempt;
  q.scheduled = task.scheduled;
  q.timeout_seconds = task.timeout_seconds;
  q.heartbeat_seconds = task.heartbeat_seconds;
  matcher_->Offer(std::move(q));
  return absl::OkStatus();
}

void MatcherDispatcher::Cancel(const std::string& execution_id, std::uint64_t task_id) {
  matcher_->Cancel(execution_id, task_id);
}

}  // namespace stepflow::engine
