#include "engine/commit_watchers.h"

namespace stepflow::engine {

CommitWatchers::Watch::Watch(CommitWatchers& watchers, const std::string& execution_id, Interest interest)
    : watchers_(watchers), interest_(interest) {
  std::lock_guard<std::mutex> lock(watchers_.mu_);
  it_ = watchers_.map_.try_emplace(execution_id).first;
  ++it_->second.count;
  seen_ = interest_ == Interest::kEnd ? it_->second.ends : it_->second.commits;
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
  const std::uint64_t& counter = interest_ == Interest::kEnd ? w.ends : w.commits;
  std::condition_variable& cv = interest_ == Interest::kEnd ? w.end_cv : w.commit_cv;
  const bool committed = cv.wait_until(lock, deadline, [&] { return watchers_.closed_ || counter != seen_; });
  seen_ = counter;
  return committed && !watchers_.closed_;
}

void CommitWatchers::Notify(const std::vector<Touched>& touched) {
  std::lock_guard<std::mutex> lock(mu_);
  if (map_.empty()) {
    return;
  }
  for (const Touched& t : touched) {
    auto it = map_.find(t.execution_id);
    if (it == map_.end()) {
      continue;
    }
    ++it->second.commits;
    it->second.commit_cv.notify_all();
    if (t.ended) {
      ++it->second.ends;
      it->second.end_cv.notify_all();
    }
  }
}

void CommitWatchers::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (auto& [id, w] : map_) {
    w.commit_cv.notify_all();
    w.end_cv.notify_all();
  }
}

bool CommitWatchers::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

}  // namespace stepflow::engine
