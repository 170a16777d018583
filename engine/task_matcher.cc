#include "engine/task_matcher.h"

#include <algorithm>
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
  WakeOneLocked(q);
}

void TaskMatcher::WakeOneLocked(Queue& q) {
  for (Waiter* w : q.waiters) {
    if (!w->registered && w->free()) {
      w->wake.notify_one();
      return;
    }
  }
  if (q.plain_pollers > 0) {
    q.ready.notify_one();
  }
}

std::size_t TaskMatcher::CountPollsLocked(const Queue& q) {
  std::size_t polls = static_cast<std::size_t>(q.plain_pollers);
  for (const Waiter* w : q.waiters) {
    if (!w->registered) {
      polls += w->poller->slot_workers.empty() ? 1 : w->poller->slot_workers.size();  // polls waiting as one
    }
  }
  return polls;
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

std::vector<QueuedTask> TaskMatcher::Take(const std::string& queue, common::EpochMillis deadline,
                                          const Poller* poller) {
  std::unique_lock<std::mutex> lock(mu_);
  Queue& q = queues_[queue];
  common::SystemClock clock;
  Waiter self;
  self.poller = poller;
  std::optional<std::list<Waiter*>::iterator> listed;
  while (true) {
    if (self.reserved > 0) {
      self.wake.wait(lock);  // partitions' commits decide: delivered or released
      continue;
    }
    if (!self.delivered.empty() || !q.waiting.empty() || closed_) {
      break;
    }
    const common::EpochMillis now = clock.NowMillis();
    if (now >= deadline) {
      break;
    }
    if (poller == nullptr) {
      ++q.plain_pollers;
      q.ready.wait_for(lock, std::chrono::milliseconds(deadline - now));
      --q.plain_pollers;
      continue;
    }
    if (!listed) {
      listed = q.waiters.insert(q.waiters.end(), &self);
    }
    self.wake.wait_for(lock, std::chrono::milliseconds(deadline - now));
  }
  if (listed) {
    q.waiters.erase(*listed);
  }
  std::vector<QueuedTask> taken = std::move(self.delivered);
  if (!taken.empty() || q.waiting.empty() || closed_) {
    if (!taken.empty() && !q.waiting.empty()) {
      WakeOneLocked(q);  // this caller leaves the waiting tasks to another poller
    }
    return taken;
  }
  taken.push_back(std::move(q.waiting.front()));
  q.waiting.pop_front();
  index_.erase({taken.back().execution_id, taken.back().task_id});
  if (!q.waiting.empty()) {
    WakeOneLocked(q);  // another poller may take the next one
  }
  return taken;
}

std::optional<std::string> TaskMatcher::Reserve(const std::string& queue, const std::string& execution_id,
                                                std::uint64_t task_id, std::size_t input_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = queues_.find(queue);
  if (it == queues_.end() || closed_) {
    return std::nullopt;
  }
  for (Waiter* w : it->second.waiters) {
    const Poller& p = *w->poller;
    const std::size_t held = w->reserved + w->delivered.size();
    const bool room = (w->registered || w->delivered.empty()) && held < std::max<std::size_t>(1, p.max_tasks) &&
                      (held == 0 || w->held_bytes + input_bytes <= p.max_input_bytes);
    if (!room || (p.gone && p.gone())) {
      continue;
    }
    std::size_t slot = 0;
    if (!p.slot_workers.empty()) {
      w->slots_held.resize(p.slot_workers.size());
      while (slot < p.slot_workers.size() && (w->slots_held[slot] || (p.slot_gone && p.slot_gone(slot)))) {
        ++slot;
      }
      if (slot == p.slot_workers.size()) {
        continue;  // every free slot's poll went away
      }
      w->slots_held[slot] = true;
    }
    ++w->reserved;
    w->held_bytes += input_bytes;
    reservations_[{execution_id, task_id}] = Reservation{w, input_bytes, slot};
    return p.slot_workers.empty() ? p.worker : p.slot_workers[slot];
  }
  return std::nullopt;
}

bool TaskMatcher::Deliver(QueuedTask task) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = reservations_.find({task.execution_id, task.task_id});
  if (it == reservations_.end()) {
    return false;
  }
  Waiter* w = it->second.waiter;
  task.slot = it->second.slot;  // the slot stays held by the task delivered into it
  reservations_.erase(it);
  task.started = true;
  ++delivered_;
  w->delivered.push_back(std::move(task));
  if (--w->reserved == 0) {
    w->wake.notify_one();
  }
  return true;
}

void TaskMatcher::Unreserve(const std::string& execution_id, std::uint64_t task_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = reservations_.find({execution_id, task_id});
  if (it == reservations_.end()) {
    return;
  }
  Waiter* w = it->second.waiter;
  w->held_bytes -= it->second.input_bytes;
  if (!w->slots_held.empty()) {
    w->slots_held[it->second.slot] = false;
  }
  reservations_.erase(it);
  if (--w->reserved == 0) {
    w->wake.notify_one();
  }
}

TaskMatcher::Registration::Registration(TaskMatcher* matcher, Poller poller)
    : matcher_(matcher), poller_(std::move(poller)), waiter_(std::make_unique<Waiter>()) {}

TaskMatcher::Registration::~Registration() { matcher_->Collect(*this); }

std::unique_ptr<TaskMatcher::Registration> TaskMatcher::Register(const std::string& queue, Poller poller) {
  std::unique_ptr<Registration> r(new Registration(this, std::move(poller)));
  r->waiter_->poller = &r->poller_;
  r->waiter_->registered = true;
  std::lock_guard<std::mutex> lock(mu_);
  r->queue_ = &queues_[queue];
  r->listed_ = r->queue_->waiters.insert(r->queue_->waiters.end(), r->waiter_.get());
  return r;
}

std::vector<QueuedTask> TaskMatcher::Collect(Registration& registration) {
  std::unique_lock<std::mutex> lock(mu_);
  if (registration.collected_) {
    return {};
  }
  registration.collected_ = true;
  registration.queue_->waiters.erase(registration.listed_);
  Waiter& w = *registration.waiter_;
  w.wake.wait(lock, [&] { return w.reserved == 0; });  // the partitions' commits decide: delivered or released
  return std::move(w.delivered);
}

void TaskMatcher::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (auto& [name, q] : queues_) {
    q.ready.notify_all();
    for (Waiter* w : q.waiters) {
      w->wake.notify_one();
    }
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

std::size_t TaskMatcher::PollsWaiting(const std::string& queue) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = queues_.find(queue);
  return it == queues_.end() ? 0 : CountPollsLocked(it->second);
}

std::map<std::string, std::size_t> TaskMatcher::PollsWaiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::size_t> waiting;
  for (const auto& [name, q] : queues_) {
    waiting[name] = CountPollsLocked(q);
  }
  return waiting;
}

std::uint64_t TaskMatcher::delivered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return delivered_;
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
  auto text = inputs_.find({task.execution_id, task.task_id});
  if (task.started && text == inputs_.end()) {
    return absl::OkStatus();  // re-dispatched by recovery: its worker has it
  }
  QueuedTask q;
  q.queue = TaskQueueName(task.resource, task.input);
  q.execution_id = task.execution_id;
  q.task_id = task.task_id;
  q.state_name = task.state_name;
  q.state_machine_arn = task.state_machine_arn;
  if (text != inputs_.end()) {
    q.input = std::move(text->second);
    inputs_.erase(text);
  } else {
    q.input = boost::json::serialize(task.input);
  }
  q.attempt = task.attempt;
  q.scheduled = task.scheduled;
  q.timeout_seconds = task.timeout_seconds;
  q.heartbeat_seconds = task.heartbeat_seconds;
  if (task.started) {
    matcher_->Deliver(std::move(q));  // started in the commit that scheduled it, for the poll reserved
    return absl::OkStatus();
  }
  matcher_->Offer(std::move(q));
  return absl::OkStatus();
}

void MatcherDispatcher::Cancel(const std::string& execution_id, std::uint64_t task_id) {
  matcher_->Cancel(execution_id, task_id);
}

std::optional<std::string> MatcherDispatcher::ReserveWaitingPoll(const std::string& execution_id,
                                                                 const sm::TaskCommand& task) {
  std::string& text = inputs_[{execution_id, task.task_id}];
  text = boost::json::serialize(task.input);
  std::optional<std::string> worker =
      matcher_->Reserve(TaskQueueName(task.resource, task.input), execution_id, task.task_id, text.size());
  if (worker) {
    reserved_.emplace_back(execution_id, task.task_id);
  }
  return worker;
}

void MatcherDispatcher::SettleReservations() {
  for (const auto& [id, task_id] : reserved_) {
    matcher_->Unreserve(id, task_id);
  }
  reserved_.clear();
  inputs_.clear();
}

}  // namespace stepflow::engine
