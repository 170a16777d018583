#pragma once
// Private to the interpreter: the frame and bookkeeping records of an Execution.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "statemachine/core/execution.h"

namespace stepflow::sm {

// A running sub-machine: the root, one Parallel branch or one Map iteration.
struct Execution::Frame {
  // Where a branch or iteration that failed or was aborted stopped, so that a redrive resumes it there.
  struct ResumePoint {
    const State* state = nullptr;
    boost::json::value raw_input;
    boost::json::object variables;
    std::uint64_t last_task_id = 0;  // the last task its state scheduled (0 = none)
  };

  enum class Phase {
    kEnter,         // about to enter `state`
    kRunning,       // being advanced by the runner
    kWaitTask,      // a task is scheduled
    kWaitTimer,     // a Wait state's timer is pending
    kWaitRetry,     // a retry interval's timer is pending
    kWaitChildren,  // Parallel branches / Map iterations are running
    kDone,
  };

  std::uint64_t id = 0;
  std::uint64_t parent = 0;  // 0 for the root
  std::size_t child_index = 0;
  const StateMachine* machine = nullptr;
  const State* state = nullptr;
  Phase phase = Phase::kEnter;

  // The state's input: `shared_input` when set (a document shared read-only with the caller and the execution:
  // the execution's input, from the first state until a state's output differs from its input), else
  // `owned_input`. Read with input(), replaced with SetInput, taken with TakeInput or SharedInput.
  std::shared_ptr<const boost::json::value> shared_input;
  boost::json::value owned_input;
  // ToCompactJson(input()) when the previous state already wrote it (its StateExited output), else null.
  // Set with the input, shared with the next StateEntered event.
  SharedText raw_input_text;

  const boost::json::value& input() const { return shared_input != nullptr ? *shared_input : owned_input; }
  void SetInput(boost::json::value input) {
    owned_input = std::move(input);
    shared_input.reset();
  }
  // The input as a value of the caller's: moved out (owned), or copied (shared). The frame's input is then null.
  boost::json::value TakeInput() {
    if (shared_input == nullptr) {
      return std::move(owned_input);
    }
    boost::json::value copy = *shared_input;
    shared_input.reset();
    return copy;
  }
  // The input as a shared read-only document: the shared one, or the owned one moved into a new one. The
  // frame's input is then null.
  std::shared_ptr<const boost::json::value> SharedInput() {
    if (shared_input != nullptr) {
      return std::move(shared_input);
    }
    return std::make_shared<const boost::json::value>(std::move(owned_input));
  }
  boost::json::value effective_input;  // after InputPath (and Parameters for Task/Parallel/Map)
  std::int64_t entered_event_id = 0;
  common::EpochMillis entered_time = 0;
  std::int64_t last_event_id = 0;
  std::vector<int> retry_attempts;  // per retrier of the current state
  int retry_count = 0;              // $$.State.RetryCount
  boost::json::object variables;
  // The variables the current state's Assign gave values to (CommitVariables), for its StateExited event's
  // "assignedVariables" (AWS's StateExitedEventDetails); written there and cleared.
  boost::json::object assigned;

  std::uint64_t pending_task = 0;
  bool task_started = false;  // TaskStarted is recorded once per attempt, however often a worker says so
  std::string task_token;  // $$.Task.Token while a Task state's Parameters are evaluated
  std::uint64_t pending_timer = 0;
  std::optional<double> task_heartbeat;      // the pending task's HeartbeatSeconds
  std::uint64_t task_timeout_timer = 0;      // the pending task's TimeoutSeconds timer
  std::uint64_t heartbeat_timer = 0;         // the pending task's HeartbeatSeconds timer (once started)
  boost::json::value task_input;             // the pending task's effective input (for a dead letter)
  std::vector<TaskAttempt> task_attempts;    // every try since the state was entered
  // Set by a redrive of a dead letter: the next task this state schedules gets this input.
  std::optional<boost::json::value> task_input_override;

  // Parallel / Map bookkeeping for the state this frame is in.
  std::vector<boost::json::value> child_results;
  // Running children, by frame id. Ids only grow, so this is also the order they were started in; a set
  // so that a Map over n items removes each finished iteration in O(log n), not O(n).
  std::set<std::uint64_t> child_frames;
  boost::json::array items;
  std::size_t next_child = 0;
  std::size_t done_children = 0;
  std::size_t failed_children = 0;
  std::size_t max_concurrency = 0;  // 0 = unbounded
  std::optional<std::size_t> tolerated_failure_count;
  std::optional<double> tolerated_failure_percentage;
  bool children_started = false;  // this entry of the Parallel/Map state started its children
  std::map<std::size_t, ResumePoint> resume_points;  // by child index: children that failed or were aborted
};

struct Execution::TimerInfo {
  enum class Kind { kWait, kRetry, kExecutionTimeout, kTaskTimeout, kHeartbeatTimeout };
  std::uint64_t id = 0;
  Kind kind = Kind::kWait;
  std::uint64_t frame = 0;
  std::uint64_t task = 0;  // kTaskTimeout, kHeartbeatTimeout
};

}  // namespace stepflow::sm
