#pragma once
// The embedded engine behind `stepflow run` and the in-process benchmarks: the one Driver on an in-memory
// store (storage/memory_store.h), a virtual (time-skipping) or real clock, and mocked task results. Not a second
// interpreter loop: it only feeds the driver until an execution ends.
//
// Thread-safety: not thread-safe.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/driver.h"
#include "engine/mock_dispatcher.h"
#include "engine/random_values.h"
#include "statemachine/core/model.h"
#include "storage/store.h"

namespace stepflow::engine {

struct LocalEngineOptions {
  // Run Wait states, retry intervals and timeouts on a virtual clock that jumps to the next timer.
  // Default: true. When false, the engine really sleeps until timers are due.
  bool time_skip = true;
  // EXPRESS executions show a different context object ($$.Execution). Default: STANDARD.
  bool express = false;
  // Name of the state machine in ARNs and $$.StateMachine. Default: "StateMachine".
  std::string state_machine_name = "StateMachine";
  // Task results; without them a Task state stops the run with an error naming the state.
  std::optional<MockTestCase> mocks;
  sm::ExecutionLimits limits;
  // Seed for UUIDs and random numbers; unset seeds from the system. Default: unset.
  std::optional<std::uint64_t> seed;
};

// How an execution run by LocalEngine ended, as `stepflow run` reports it.
struct LocalRunResult {
  std::string execution_arn;
  sm::ExecutionStatus status = sm::ExecutionStatus::kRunning;
  // The execution's output when SUCCEEDED, else JSON null; never a null pointer in a result the engine returns.
  // Shared read-only, not copied: an execution whose states all passed their input on returns the input
  // document Run was given.
  std::shared_ptr<const boost::json::value> output;
  // Error and cause of a FAILED, TIMED_OUT or ABORTED execution; empty when there are none.
  std::string error;
  std::string cause;
  // The history in event order (AWS's event objects), when asked for; else empty.
  std::vector<boost::json::object> history;
};

class LocalEngine {
 public:
  static absl::StatusOr<std::unique_ptr<LocalEngine>> Create(LocalEngineOptions options);
  ~LocalEngine();

  // Runs one execution to its end and returns its id (execution ARN). The execution's own outcome
  // (SUCCEEDED, FAILED, ...) is read with driver().Find(id). A non-OK status means the engine could not run
  // it: a Task state without a mock (FailedPrecondition naming the state), a storage error.
  absl::StatusOr<std::string> Run(std::shared_ptr<const sm::StateMachine> machine, const boost::json::value& input,
                                  std::string execution_name = "");
  // The same, sharing the caller's input document instead of copying it: it must not change while this
  // engine, or an output it returned, lives (the execution keeps it as its input, its states read it in place
  // until one makes an output of its own, and it is the output when none did).
  absl::StatusOr<std::string> Run(std::shared_ptr<const sm::StateMachine> machine,
                                  std::shared_ptr<const boost::json::value> input, std::string execution_name = "");

  // The outcome of the execution `execution_arn` (as returned by Run), with its history when `with_history`.
  // NotFound for an execution this engine did not run; Unavailable/DataLoss when the history cannot be read.
  absl::StatusOr<LocalRunResult> Result(const std::string& execution_arn, bool with_history = false) const;

  // Forgets an execution Run returned and returns its outcome (as Result without history): its state, history and mocked-invocation counts leave memory, so that an application running
  // execution after execution on one engine keeps its memory bounded (otherwise the engine keeps every
  // execution it ran, for Result). Result then answers NotFound. NotFound for an execution this engine does not
  // hold; FailedPrecondition when it is still running (Run returned an error).
  absl::StatusOr<LocalRunResult> Forget(const std::string& execution_arn);

  const Driver& driver() const { return *driver_; }

 private:
  explicit LocalEngine(LocalEngineOptions options);

  LocalEngineOptions options_;
  std::string state_machine_arn_;  // of options_.state_machine_name
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<common::Clock> clock_;
  common::VirtualClock* virtual_clock_ = nullptr;  // == clock_ when time-skipping
  std::unique_ptr<RandomRuntimeValues> runtime_;
  std::unique_ptr<TaskDispatcher> dispatcher_;
  MockDispatcher* mock_dispatcher_ = nullptr;  // == dispatcher_ when options_.mocks is set
  std::unique_ptr<Driver> driver_;
};

}  // namespace stepflow::engine
