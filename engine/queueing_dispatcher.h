#pragma once
// The server's task dispatcher until workers exist: it only remembers the tasks the engine scheduled (and
// forgets cancelled ones), so that the task matcher of the next issue can take them over. The tasks stay
// pending; nothing fails them. The truth is the `tasks` rows; this is a rebuildable in-memory view.
//
// Thread-safety: not thread-safe; one per partition, used by its thread.

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "engine/dispatcher.h"

namespace stepflow::engine {

class QueueingDispatcher final : public TaskDispatcher {
 public:
  // Never fails. Dispatching a task that is already queued (after a reload) replaces it.
  absl::Status Dispatch(const TaskDispatch& task) override;
  void Cancel(const std::string& execution_id, std::uint64_t task_id) override;
  // Drops every task of an execution (it ended or was dropped from memory).
  void Forget(const std::string& execution_id);

  // Queued tasks by (execution id, task id).
  const std::map<std::pair<std::string, std::uint64_t>, TaskDispatch>& queued() const { return queued_; }

 private:
  std::map<std::pair<std::string, std::uint64_t>, TaskDispatch> queued_;
};

}  // namespace stepflow::engine
