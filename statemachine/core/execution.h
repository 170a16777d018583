#pragma once
// The interpreter of one execution: a deterministic state machine over inputs (start, task started /
// succeeded / failed, timer fired, stop) that produces history events and commands (schedule a task,
// start or cancel a timer). It never reads a clock or a random source: `now` and RuntimeValues come in
// from the engine, which commits the events and only then carries out the commands.
//
// One input can carry the execution through many states (everything up to the next Task, Wait or the
// end); each state still gets its own history events.
//
// Parallel branches and Map iterations run as child "frames" of the state that started them; their
// events interleave in one history, as AWS's do.
//
// Thread-safety: not thread-safe; the engine drives each execution from one thread at a time.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "statemachine/core/history.h"
#include "statemachine/core/model.h"
#include "statemachine/failure.h"
#include "statemachine/runtime_values.h"

namespace stepflow::sm {

enum class ExecutionStatus { kRunning, kSucceeded, kFailed, kTimedOut, kAborted };
const char* ExecutionStatusName(ExecutionStatus s);  // "RUNNING", "SUCCEEDED", ...

// Identity of an execution, as the context object ($$) shows it.
struct ExecutionInfo {
  std::string execution_arn;
  std::string name;
  std::string state_machine_arn;
  std::string state_machine_name;
  std::string role_arn;
  bool express = false;
  common::EpochMillis start_time = 0;
  // The published version and the alias the execution was started on (AWS's stateMachineVersionArn and
  // stateMachineAliasArn in the ExecutionStarted details); empty when started on the state machine itself.
  std::string version_arn = {};
  std::string alias_arn = {};
};

struct ExecutionLimits {
  // Largest state input/output, task result or execution input, in bytes of compact JSON.
  // Default: 262,144 (AWS's 256 KiB).
  std::size_t max_payload_bytes = 262144;
  // Events per execution; reaching it fails the execution with States.Runtime as AWS does.
  // Default: 25,000 (AWS's limit for Standard workflows).
  std::int64_t max_history_events = 25000;
  // Work one input may do before the decision yields (Execution::yielded()): the states entered, and the
  // bytes of the new events' details. A yielded decision is committed like any other; the engine applies
  // Continue in a later turn, so that one runaway execution (a Pass/Choice loop, a long chain) never holds
  // its partition, its memory stays bounded, and Stop is served between batches. 0 = unbounded, which is
  // what executions started before these limits existed recorded (so their replay is unchanged).
  // Default: 1,000 transitions (a long inline chain still takes few commits).
  std::size_t max_transitions_per_decision = 1000;
  // Default: 4 MiB (16 payloads of the largest size; bounds the memory and the batch of one decision).
  std::size_t max_decision_history_bytes = 4 << 20;
  // History events added after executions were first stored. They change the events (and event ids) an
  // input produces, so an execution keeps what it started with: the engine clears them when it replays an
  // execution started under an older semantics version (engine/semantics_version.h).
  // Default: true (new executions record them).
  // - A States.QueryEvaluationError records AWS's EvaluationFailed event (and a Map/Parallel state whose own
  //   fields failed, its MapStateFailed/ParallelStateFailed) before the failure is handled.
  bool record_evaluation_failed = true;
  // - A Task state with a Lambda function ARN records LambdaFunction* events, one with an activity ARN
  //   Activity* events, as AWS does (false: Task* events for every resource).
  bool record_resource_events = true;
  // - A state that assigned variables lists them in its StateExited event (`assignedVariables`, each value as
  //   JSON text, and `assignedVariablesDetails`), as AWS does.
  bool record_assigned_variables = true;
};

// A Task state's work, handed to the dispatcher after the commit.
struct TaskCommand {
  std::uint64_t task_id = 0;
  std::string state_name;
  std::string resource;
  boost::json::value input;  // the effective input (after InputPath and Parameters)
  int attempt = 0;           // 0 for the first try, n for the n-th retry
  std::optional<double> timeout_seconds;
  std::optional<double> heartbeat_seconds;
  common::EpochMillis scheduled = 0;
};

// One try of a Task state's work, as dead letters show it.
struct TaskAttempt {
  std::uint64_t task_id = 0;
  int attempt = 0;
  std::string worker;  // who took it; "" when nobody did
  common::EpochMillis scheduled = 0;
  common::EpochMillis started = 0;  // 0 when never started
  common::EpochMillis ended = 0;
  std::string error;
  std::string cause;
};

// A Task state's work whose retries are exhausted (no retrier matched, or the matching one ran out): the
// engine records it in the queue's dead-letter list in the same commit. The execution goes on as ASL says
// (a Catch, or it fails).
struct DeadLetterCommand {
  std::uint64_t task_id = 0;  // the last attempt's task
  std::string state_name;
  std::string resource;
  boost::json::value input;  // the last attempt's effective input
  std::vector<TaskAttempt> attempts;
};

// Dead letters redriven together with their execution: task id -> the input to re-run that task with
// instead of the one its state computes (nullopt: recompute it).
using RedrivenDeadLetters = std::map<std::uint64_t, std::optional<boost::json::value>>;

// Where a task stands, for answering a worker that reports on it.
enum class TaskStanding {
  kUnknown,    // never scheduled by this execution
  kPending,    // scheduled, no worker has taken it yet
  kStarted,    // a worker took it (TaskStarted), its result is awaited
  kAnswered,   // its result was taken
  kTimedOut,   // TimeoutSeconds or HeartbeatSeconds ran out
  kCancelled,  // the execution no longer wants it (stopped, ended, a sibling branch failed)
};

struct TimerCommand {
  std::uint64_t timer_id = 0;
  common::EpochMillis due = 0;
};

// What one input produced. `events` must be committed before the commands are carried out.
struct Decision {
  std::vector<HistoryEvent> events;
  std::vector<TaskCommand> tasks_to_schedule;
  std::vector<std::uint64_t> tasks_to_cancel;
  std::vector<TimerCommand> timers_to_start;
  std::vector<std::uint64_t> timers_to_cancel;
  std::vector<DeadLetterCommand> dead_letters;
};

// What TestState (statemachine/test_state.h) reports of the first state the root frame enters, as AWS's
// inspectionData names it. Filled by the interpreter when an Execution is given one (Execution::Inspect);
// each field is set when the state reached that step (a later attempt of a retried state overwrites it).
struct StateInspection {
  std::optional<boost::json::value> after_input_path;  // JSONPath: InputPath applied
  std::optional<boost::json::value> after_parameters;  // JSONPath: Parameters applied (Pass, Task, Parallel)
  std::optional<boost::json::value> after_arguments;   // JSONata: Arguments evaluated (the input when none)
  std::optional<boost::json::value> result;            // the state's raw result (Pass: Result, or its input)
  std::optional<boost::json::value> after_result_selector;  // JSONPath
  std::optional<boost::json::value> after_result_path;      // JSONPath
  // A Map state's preparation of its iterations (AWS's afterItemsPath, afterItemSelector, maxConcurrency,
  // toleratedFailureCount, toleratedFailurePercentage): the items after ItemsPath (JSONPath only), every
  // item's input after ItemSelector (all of them, not only those MaxConcurrency lets start), and the numeric
  // fields as evaluated (absent when the state has none).
  std::optional<boost::json::value> after_items_path;
  std::optional<boost::json::array> after_item_selector;
  std::optional<std::int64_t> max_concurrency;
  std::optional<std::int64_t> tolerated_failure_count;
  std::optional<double> tolerated_failure_percentage;
  // A retrier matched this failure: the state would run again after its interval.
  std::optional<Failure> retried;
  std::optional<std::size_t> retry_index;      // that retrier's index in Retry
  std::optional<double> retry_delay_seconds;   // and the interval it waits (after backoff, cap and jitter)
  // A catcher handled this failure: the state exited with the catcher's output, to the catcher's Next.
  std::optional<Failure> caught;
  std::optional<std::size_t> catch_index;  // that catcher's index in Catch
  // The state completed (or was caught): its output, the state it goes to ("" = none, it ended the
  // machine) and the variables after it.
  bool exited = false;
  boost::json::value output;
  std::string next_state;
  boost::json::object variables;
};

// Frames about to enter a state, first in, first out: a vector and the index of its front. Unlike std::deque,
// which allocates a 512-byte block when it is made, it allocates nothing until the first push (an execution
// that ends keeps none), and it reuses its room when it runs empty.
class ReadyFrames {
 public:
  bool empty() const { return head_ == ids_.size(); }
  std::uint64_t front() const { return ids_[head_]; }
  void push_back(std::uint64_t id) { ids_.push_back(id); }
  void pop_front() {
    if (++head_ == ids_.size()) {
      clear();
    } else if (head_ >= 64 && 2 * head_ >= ids_.size()) {  // the popped half goes: amortized O(1) per pop
      ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    ids_.clear();
    head_ = 0;
  }
  std::vector<std::uint64_t>::const_iterator begin() const { return ids_.begin() + static_cast<std::ptrdiff_t>(head_); }
  std::vector<std::uint64_t>::const_iterator end() const { return ids_.end(); }

 private:
  std::vector<std::uint64_t> ids_;
  std::size_t head_ = 0;
};

class Execution {
 public:
  Execution(std::shared_ptr<const StateMachine> machine, ExecutionInfo info, ExecutionLimits limits = {});
  ~Execution();
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;

  // Starts the execution with `input` and runs it as far as it goes without waiting.
  // FailedPrecondition when already started.
  absl::StatusOr<Decision> Start(const boost::json::value& input, common::EpochMillis now, RuntimeValues& rv);
  // The same, taking the input document instead of copying it.
  absl::StatusOr<Decision> Start(boost::json::value&& input, common::EpochMillis now, RuntimeValues& rv);
  // The same, sharing the caller's document, which nobody may change while this execution lives: the
  // execution keeps it as its input ($$.Execution.Input) and its first state gets the one copy it changes.
  absl::StatusOr<Decision> Start(std::shared_ptr<const boost::json::value> input, common::EpochMillis now,
                                 RuntimeValues& rv);
  // A worker took the task (history: TaskStarted; its HeartbeatSeconds clock starts). NotFound for an unknown
  // or finished task.
  absl::StatusOr<Decision> OnTaskStarted(std::uint64_t task_id, common::EpochMillis now,
                                         const std::string& worker = "");
  // The worker is alive: restarts the task's HeartbeatSeconds timer (an empty Decision when the state has
  // none). NotFound for an unknown or finished task.
  absl::StatusOr<Decision> OnTaskHeartbeat(std::uint64_t task_id, common::EpochMillis now);
  // The task finished. NotFound for an unknown or finished task (a duplicate completion changes nothing).
  absl::StatusOr<Decision> OnTaskSucceeded(std::uint64_t task_id, const boost::json::value& output,
                                           common::EpochMillis now, RuntimeValues& rv);
  absl::StatusOr<Decision> OnTaskFailed(std::uint64_t task_id, const std::string& error, const std::string& cause,
                                        common::EpochMillis now, RuntimeValues& rv);
  // A timer came due. NotFound for a timer that is no longer pending (e.g. fired twice after a restart).
  absl::StatusOr<Decision> OnTimerFired(std::uint64_t timer_id, common::EpochMillis now, RuntimeValues& rv);
  // Goes on where a yielded decision stopped (see ExecutionLimits::max_transitions_per_decision), again up to
  // the limits. FailedPrecondition when the execution did not yield (it is waiting, ended, or a later input
  // already went on).
  absl::StatusOr<Decision> Continue(common::EpochMillis now, RuntimeValues& rv);
  // StopExecution: the execution ends ABORTED. FailedPrecondition when it is not running.
  absl::StatusOr<Decision> Stop(const std::string& error, const std::string& cause, common::EpochMillis now);
  // AWS's RedriveExecution: a FAILED, TIMED_OUT or ABORTED standard execution runs again from the states
  // that did not finish: the root's current state is entered again, and a Parallel or Map state there
  // re-runs only its branches and iterations that failed or were aborted (each from the state it stopped
  // in), keeping the results of those that succeeded. History: ExecutionRedriven, then a DeadLetterRedriven
  // event per entry of `dead_letters`. FailedPrecondition when the execution is not redrivable.
  absl::StatusOr<Decision> Redrive(common::EpochMillis now, RuntimeValues& rv,
                                   const RedrivenDeadLetters& dead_letters = {});
  // Records in the history that an operator discarded the dead letter of task `task_id` (any status).
  absl::StatusOr<Decision> RecordDeadLetterDiscarded(std::uint64_t task_id, const std::string& state_name,
                                                     common::EpochMillis now);

  // Decisions keep the frequent events typed (HistoryEvent::typed: a state entered or exited, the execution
  // succeeded, Map iterations) instead of building their details as JSON objects, for an engine that writes
  // them with sm::AppendEventDetails. Their state names point into machine(): whoever keeps such events
  // beyond this Execution keeps the machine too. Default: false (every event plain).
  void KeepTypedEvents(bool keep) { keep_typed_events_ = keep; }
  const std::shared_ptr<const StateMachine>& machine() const { return machine_; }

  // Records what the first state of the root frame does into `*sink` (not owned; must outlive the calls
  // that follow; null stops). TestState's view of a state; executions the engine drives have none.
  void Inspect(StateInspection* sink) { inspection_ = sink; }
  // The variables the root frame starts with (TestState's `variables`). REQUIRES: before Start.
  void SetInitialVariables(boost::json::object variables) { initial_variables_ = std::move(variables); }
  // What $$.Execution.Input shows instead of the input Start is given (TestState's context: a state of a run
  // sees its run's input there). Not part of SaveState: only TestState's executions, never saved, have it.
  // REQUIRES: before Start.
  void SetContextExecutionInput(boost::json::value input) { context_execution_input_ = std::move(input); }
  // --- Snapshots (execution_state.cc): the interpreter's whole state between two inputs as plain data, so
  // that the engine can recover an execution from its latest snapshot plus the inputs after it instead of
  // re-applying every input since the start.
  //
  // The state as a JSON object in format kStateFormat: frames (by state name; a child frame's machine follows
  // from its parent's Parallel/Map state), timers, tasks, variables, Map/Parallel progress. An execution
  // restored from it decides every later input exactly as this one does. Call between inputs only.
  static constexpr int kStateFormat = 1;
  boost::json::object SaveState() const;
  // Rebuilds the execution SaveState described. `machine`, `info` and `limits` must be those the execution
  // ran with (they are not in the state). InvalidArgument, naming the first problem, when `state` is not a
  // state of this machine that SaveState could have written (another format, a malformed or forged value, a
  // frame, timer, task or state name that does not fit): nothing is half-restored, and nothing a later
  // input does with a restored execution can go out of bounds.
  static absl::StatusOr<std::unique_ptr<Execution>> Restore(std::shared_ptr<const StateMachine> machine,
                                                            ExecutionInfo info, ExecutionLimits limits,
                                                            const boost::json::value& state);

  ExecutionStatus status() const { return status_; }
  const ExecutionInfo& info() const { return info_; }
  // The output of a SUCCEEDED execution; JSON null otherwise (also after a redrive, until it succeeds).
  const boost::json::value& output() const { return *output_; }
  // output() as a document shared read-only (never null): when every state passed its input on, the execution's
  // input itself (Start's shared document), so that neither is copied.
  const std::shared_ptr<const boost::json::value>& shared_output() const { return output_; }
  // Appends output() as compact JSON (AWS's text, json_text.h) to `out`: the text written for the
  // ExecutionSucceeded event when this object wrote it, else serialized now.
  void AppendOutputText(std::string& out) const;
  const std::string& error() const { return error_; }
  const std::string& cause() const { return cause_; }
  std::int64_t last_event_id() const { return next_event_id_ - 1; }
  int redrive_count() const { return redrive_count_; }
  // The last decision stopped at its limits with states still ready to run: the engine must apply Continue.
  // A deterministic consequence of the inputs applied, so replay yields at the same points.
  bool yielded() const { return status_ == ExecutionStatus::kRunning && !ready_.empty(); }
  TaskStanding task_standing(std::uint64_t task_id) const;

  struct Frame;

 private:
  struct TimerInfo;
  struct TaskInfo;
  class Runner;
  friend class Runner;

  // Restore's second half: the timers, tasks, closed tasks and ready frames of `state`, checked against the
  // frames already restored. InvalidArgument naming the first problem.
  absl::Status RestoreBookkeeping(const boost::json::object& state);
  // One JSON null shared by every execution without an output.
  static const std::shared_ptr<const boost::json::value>& NullDocument();

  std::shared_ptr<const StateMachine> machine_;
  ExecutionInfo info_;
  ExecutionLimits limits_;
  ExecutionStatus status_ = ExecutionStatus::kRunning;
  bool started_ = false;
  std::shared_ptr<const boost::json::value> input_;  // immutable once started; null before
  std::optional<boost::json::value> context_execution_input_;
  std::shared_ptr<const boost::json::value> output_ = NullDocument();  // never null
  SharedText output_text_;  // output()'s text when known (AppendOutputText), else null
  bool keep_typed_events_ = false;
  std::string error_;
  std::string cause_;
  std::int64_t next_event_id_ = 1;
  int redrive_count_ = 0;
  common::EpochMillis redrive_time_ = 0;  // when the last redrive happened ($$.Execution.RedriveTime)
  std::uint64_t next_id_ = 1;  // frames, tasks and timers
  std::map<std::uint64_t, std::unique_ptr<Frame>> frames_;
  std::unordered_map<std::uint64_t, TimerInfo*> timers_;
  std::unordered_map<std::uint64_t, std::uint64_t> tasks_;  // task id -> frame id
  std::unordered_map<std::uint64_t, TaskStanding> closed_tasks_;  // every task no longer pending
  std::map<std::uint64_t, std::unique_ptr<TimerInfo>> timer_storage_;
  // Frames about to enter a state, in order. Empty between inputs unless the last decision yielded.
  ReadyFrames ready_;
  StateInspection* inspection_ = nullptr;
  boost::json::object initial_variables_;
};

}  // namespace stepflow::sm
