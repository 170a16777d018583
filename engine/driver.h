#pragma once
// The driver: feeds inputs to each execution's interpreter, commits the resulting history events, execution
// record, timers and queued tasks through the Store in one batch per input, and only after the commit
// carries out the commands (arms timers, dispatches tasks). `stepflow run` drives it on an in-memory
// store with a virtual clock and a mock dispatcher; the server drives the same code durably.
//
// Thread-safety: not thread-safe. One driver is owned by one thread (a partition's writer).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/dispatcher.h"
#include "statemachine/core/execution.h"
#include "statemachine/core/model.h"
#include "statemachine/runtime_values.h"
#include "storage/store.h"

namespace stepflow::engine {

struct DriverOptions {
  sm::ExecutionLimits limits;
};

// An input queued for an execution (from a dispatcher callback, a timer, an API call).
struct DriverInput {
  enum class Kind { kTaskStarted, kTaskSucceeded, kTaskFailed };
  Kind kind = Kind::kTaskSucceeded;
  std::string execution_id;
  std::uint64_t task_id = 0;
  boost::json::value output;
  std::string error;
  std::string cause;
};

class Driver {
 public:
  // None of the pointers is owned; all must outlive the driver.
  Driver(storage::Store* store, common::Clock* clock, TaskDispatcher* dispatcher, sm::RuntimeValues* runtime,
         DriverOptions options = {});

  // Starts an execution; `info.execution_arn` is its id. AlreadyExists when the id is taken; Unavailable when
  // the commit failed; a dispatcher error (e.g. no mock for a Task state) is returned as is.
  absl::Status Start(std::shared_ptr<const sm::StateMachine> machine, sm::ExecutionInfo info,
                     const boost::json::value& input);

  // Queues an input; ProcessInbox applies queued inputs in order.
  void Post(DriverInput input) { inbox_.push_back(std::move(input)); }
  // Applies every queued input (including those queued while applying). Stale inputs (a finished task)
  // are dropped; the first commit or dispatch error stops processing and is returned.
  absl::Status ProcessInbox();

  // Fires every timer due at or before the clock's now, in due order.
  absl::Status FireDueTimers();
  // The earliest pending timer, if any.
  std::optional<common::EpochMillis> NextTimerDue() const;

  // StopExecution. NotFound / FailedPrecondition as the interpreter says.
  absl::Status Stop(const std::string& execution_id, const std::string& error, const std::string& cause);

  // nullptr when unknown.
  const sm::Execution* Find(const std::string& execution_id) const;

  // The history as committed to the store, in event order.
  absl::StatusOr<std::vector<boost::json::object>> ReadHistory(const std::string& execution_id) const;

 private:
  struct Entry {
    std::unique_ptr<sm::Execution> execution;
    sm::ExecutionInfo info;
    std::map<std::uint64_t, common::EpochMillis> timer_due;  // pending timer id -> due
  };

  // Commits `decision` for `id` and then carries out its commands.
  absl::Status Apply(const std::string& id, Entry& entry, absl::StatusOr<sm::Decision> decision);
  absl::Status ApplyInput(const DriverInput& input);

  storage::Store* store_;
  common::Clock* clock_;
  TaskDispatcher* dispatcher_;
  sm::RuntimeValues* runtime_;
  DriverOptions options_;
  std::map<std::string, Entry> executions_;
  std::set<std::tuple<common::EpochMillis, std::string, std::uint64_t>> timers_;  // due, execution, timer
  std::deque<DriverInput> inbox_;
};

}  // namespace stepflow::engine
