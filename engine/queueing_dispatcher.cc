#include "engine/queueing_dispatcher.h"

namespace stepflow::engine {

absl::Status QueueingDispatcher::Dispatch(const TaskDispatch& task) {
  queued_[{task.execution_id, task.task_id}] = task;
  return absl::OkStatus();
}

void QueueingDispatcher::Cancel(const std::string& execution_id, std::uint64_t task_id) {
  queued_.erase({execution_id, task_id});
}

void QueueingDispatcher::Forget(const std::string& execution_id) {
  auto it = queued_.lower_bound({execution_id, 0});
  while (it != queued_.end() && it->first.first == execution_id) {
    it = queued_.erase(it);
  }
}

}  // namespace stepflow::engine
