#pragma once
// Where Task states' work goes. The driver hands each scheduled task to a TaskDispatcher after the commit
// that scheduled it; results come back through Driver::CompleteTask / Driver::FailTask. `stepflow run`
// uses a MockDispatcher (AWS Step Functions Local mock config); the server dispatches to gRPC workers.

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "absl/status/status.h"

namespace stepflow::engine {

struct TaskDispatch {
  std::string execution_id;
  std::uint64_t task_id = 0;
  std::string state_name;
  std::string resource;
  boost::json::value input;
  int attempt = 0;
  std::string state_machine_arn;
  std::int64_t scheduled = 0;  // epoch ms
  std::optional<double> timeout_seconds;
  std::optional<double> heartbeat_seconds;
  // A worker already took it (re-dispatched by recovery): its lease stands, so it is not offered again.
  bool started = false;
};

// Implementations say whether they are thread-safe.
class TaskDispatcher {
 public:
  virtual ~TaskDispatcher() = default;
  // Takes ownership of delivering `task`. A non-OK status means the task cannot be run at all (e.g. no mock
  // for this state); the driver then stops the run with that error: it is a usage error, not an ASL one.
  virtual absl::Status Dispatch(const TaskDispatch& task) = 0;
  // The execution no longer wants the task (stopped, timed out, sibling branch failed).
  virtual void Cancel(const std::string& execution_id, std::uint64_t task_id) = 0;
};

}  // namespace stepflow::engine
