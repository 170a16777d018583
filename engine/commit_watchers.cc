#include "engine/commit_watchers.h"

namespace stepflow::engine {

CommitWatchers::Watch::Watch(CommitWatchers& watchers, const std::string& execution_id) : watchers_(watchers) {
  std::lock_guard<std::mutex> lock(watchers_.mu_);
  it_ = watchers_.map_.try_emplace(execution_id).first;
  ++it_->second.count;
  seen_ = it_->second.generation;
}

CommitWatchers::Watch::~Watch() {
  std::lock_guard<std::mutex> lock(watchers_.mu_);
  if (--it_->second.count == 0) {
    watchers_.map_.erase(it_);
  }
}

bool CommitWatchers::Watch::WaitForCommit(std::chrono::system_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(watchers_.mu_);
  Waiters& w = it_->second;
  const bool committed = w.cv.wait_until(lock, deadline, [&] { return watchers_.closed_ || w.generation != seen_; });
  seen_ = w.generation;
  return committed && !watchers_.closed_;
}

void CommitWatchers::Notify(const std::vector<std::string>& execution_ids) {
  std::lock_guard<std::mutex> lock(mu_);
  if (map_.empty()) {
    return;
  }
  for (const std::string& id : execution_ids) {
    auto it = map_.find(id);
    if (it != map_.end()) {
      ++it->second.generation;
      it->second.cv.notify_all();
    }
  }
}

void CommitWatchers::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (auto& [id, w] : map_) {
    w.cv.notify_all();
  }
}

bool CommitWatchers::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

}  // namespace stepflow::engine
