#pragma once
// Private to the interpreter. A Runner applies one input to an Execution: it advances every frame that
// can make progress, appending history events and commands to one Decision. One state type per
// handler (states_*.cc); this class holds the shared machinery: events, data flow, Retry/Catch and
// the completion of frames.

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "statemachine/core/dataflow.h"
#include "statemachine/core/execution.h"
#include "statemachine/core/execution_internal.h"
#include "statemachine/core/jsonata_flow.h"

namespace stepflow::sm {

class Execution::Runner {
 public:
  using Frame = Execution::Frame;

  // `rv` may be null for inputs that evaluate nothing (task started, stop).
  Runner(Execution& ex, Decision& d, common::EpochMillis now, RuntimeValues* rv)
      : ex_(ex), d_(d), now_(now), rv_(rv), ready_(ex.ready_) {}

  void StartExecution();
  // Runs the frames a yielded decision left ready.
  void Continue() { Drain(); }
  void TaskStarted(std::uint64_t frame_id, std::uint64_t task_id, const std::string& worker);
  void TaskHeartbeat(std::uint64_t frame_id, std::uint64_t task_id);
  void TaskSucceeded(std::uint64_t frame_id, const boost::json::value& output);
  void TaskFailed(std::uint64_t frame_id, const Failure& failure);
  void TimerFired(const TimerInfo& timer);
  void Redrive(const RedrivenDeadLetters& dead_letters);
  void DeadLetterDiscarded(std::uint64_t task_id, const std::string& state_name);
  // Ends the execution (stop, timeout, failure): cancels all pending work and emits the final event.
  void EndExecution(ExecutionStatus status, const Failure& failure);

 private:
  // --- machinery (runner.cc)
  // Enters the ready frames' states until none is ready, the execution ends, or the decision reaches its
  // limits (then the rest stay in ex_.ready_ and the execution has yielded).
  void Drain();
  bool OverBudget() const;
  bool running() const { return ex_.status_ == ExecutionStatus::kRunning; }
  // Appends an event with its details as a JSON object (the interpreter's rarer events).
  std::int64_t Emit(Frame* f, std::string type, std::string details_key, boost::json::object details);
  // Appends one of the frequent events (state entered/exited, execution succeeded, Map iterations), typed:
  // its JSON is written when it is read (sm::AppendEventDetails), or built here when the execution does not
  // keep typed events (Execution::KeepTypedEvents).
  std::int64_t EmitTyped(Frame* f, TypedEventDetails typed);
  // Makes room for `more` events (at most a few thousand) in the decision, where it is known that they come.
  void ReserveEvents(std::size_t more);
  // Gives the event just appended (the last of d_.events) its id, previous event and time, and counts it
  // against the limits; returns the id. Both Emit calls end here.
  std::int64_t Stamp(Frame* f, HistoryEvent& e);
  StateRef Ref(const Frame* f) const { return StateRef{f->state->name, f->entered_event_id}; }
  // Where the frame's state reports its steps (Execution::Inspect): the root frame's first state only, or null.
  StateInspection* Inspecting(const Frame* f) const {
    return f->parent == 0 && ex_.inspection_ != nullptr && !ex_.inspection_->exited ? ex_.inspection_ : nullptr;
  }
  Frame* NewFrame(std::uint64_t parent, std::size_t child_index, const StateMachine* machine,
                  boost::json::value input, boost::json::object variables);
  Frame* FindFrame(std::uint64_t id);
  std::uint64_t StartTimer(Frame* f, TimerInfo::Kind kind, common::EpochMillis due);
  void CancelFrameTree(Frame* f);
  // Withdraws a task or timer: one started by this same Decision is dropped from it (so that no Decision
  // both starts and cancels the same work), any other is added to the Decision's cancellations.
  void CancelTask(std::uint64_t task_id);
  void CancelTimer(std::uint64_t timer_id);
  void EnterState(Frame* f);
  void ExecuteState(Frame* f);
  // The state finished with `output` (after ResultPath/OutputPath): emits <Type>StateExited and moves on.
  // `next` overrides the state's Next (Choice); nullptr uses the state's own Next/End.
  void CompleteState(Frame* f, boost::json::value output, const std::string* next = nullptr);
  // CompleteState when `output_text` is already ToCompactJson(output); `output` null means the state's raw
  // input unchanged (moved on, never copied; f->raw_input_text must then be its text).
  void ExitState(Frame* f, boost::json::value* output, SharedText output_text, const std::string* next);
  // Makes `new_vars` the frame's variables. The names the `assigns` (those present) give values to go to
  // f->assigned with their new values, for the state's StateExited event.
  void CommitVariables(Frame* f, boost::json::object new_vars,
                       std::initializer_list<const CompiledTemplate*> assigns);
  // Where a state's failure came from.
  enum class FailureOrigin {
    kState,        // the state itself (a path, an expression, a runtime value): an evaluation failure is
                   // recorded as an EvaluationFailed event
    kTaskAttempt,  // a task attempt (the worker failed it, or it timed out): when no retry follows, the
                   // task becomes a dead letter
    kChild,        // a Parallel branch or Map iteration (its own failure was recorded where it arose)
  };
  // The state failed: Retry, then Catch, else the frame fails.
  void FailState(Frame* f, const Failure& failure, FailureOrigin origin = FailureOrigin::kState);
  // A States.QueryEvaluationError of the frame's state: AWS's EvaluationFailed event (error, cause, location,
  // state) before the failure is handled. Nothing for other failures, or for executions that started before
  // the event was recorded (ExecutionLimits::record_evaluation_failed).
  void RecordEvaluationFailure(Frame* f, const Failure& failure);
  // The frame's pending task is no longer pending (`how`): its timeout and heartbeat timers are withdrawn.
  // The caller cancels the task itself where the engine still holds it.
  void CloseTask(Frame* f, TaskStanding how);
  // Withdraws a timer the frame holds in `*timer_id` (0 = none) and clears it.
  void DropTimer(std::uint64_t* timer_id);
  void TaskTimedOut(Frame* f, const TimerInfo& timer);
  // Where `child` stands, for a redrive. Call before the child frame is erased.
  Frame::ResumePoint ResumePointOf(const Frame* child) const;
  // Makes a frame of an ended execution run again (see Execution::Redrive).
  void ResumeFrame(Frame* f, const RedrivenDeadLetters& dead_letters);
  // The frame's state ended it with `output` (moved from), or with its input when `output` is null. `output_text`
  // is the output's ToCompactJson, already written for the last StateExited event.
  void FinishFrame(Frame* f, boost::json::value* output, const SharedText& output_text);
  void FailFrame(Frame* f, const Failure& failure);
  // Applies ResultSelector, ResultPath, OutputPath and Assign to a state's result, then completes it.
  void FinishWithResult(Frame* f, boost::json::value result);
  // The state's effective input: InputPath applied to its raw input.
  Result<boost::json::value> SelectInput(Frame* f);
  // SelectInput, then the state's Parameters (Pass, Task, Parallel) when it has them.
  Result<boost::json::value> ParameterizedInput(Frame* f);
  // Fails the state (States.DataLimitExceeded) when a result's compact JSON text, `compact_bytes` long, is over
  // the payload limit; false then.
  bool CheckSizeBytes(Frame* f, std::size_t compact_bytes);

  PathResolver MakeResolver(Frame* f, const boost::json::value& dollar, const boost::json::value* map_index = nullptr,
                            const boost::json::value* map_value = nullptr);
  boost::json::value BuildContext(Frame* f, const boost::json::value* map_index,
                                  const boost::json::value* map_value) const;

  // --- JSONata states (states_jsonata.cc)
  // `$states` of the frame's state: `input`, the context object (with the Map item when given), the
  // variables, and the decision's time for $now/$millis.
  JsonataStates StatesOf(Frame* f, const boost::json::value& input, const boost::json::value* map_index = nullptr,
                         const boost::json::value* map_value = nullptr);
  // Ends a JSONata state: evaluates `assigns` (in order; all read the variables from before the state)
  // and `output` (absent: `default_output`) against `states`, then completes the state (to `next` when
  // given). Assign and Output see the same variables; the new ones are visible from the next state on.
  // `default_output` is moved from only after every expression ran (it may be what `states` points at).
  void CompleteJsonata(Frame* f, const JsonataStates& states, boost::json::value&& default_output,
                       const CompiledTemplate& output, std::initializer_list<const CompiledTemplate*> assigns,
                       const std::string* next = nullptr);
  void RunChoiceJsonata(Frame* f);
  void RunFailJsonata(Frame* f);
  // When a JSONata Wait state's timer is due: its Seconds or Timestamp (literal or expression).
  Result<common::EpochMillis> WaitDueJsonata(Frame* f);
  // A JSONata numeric field (Task TimeoutSeconds / HeartbeatSeconds): its literal value, or its
  // expression's value checked to be an integer in [1, kMaxTaskSeconds].
  Result<std::optional<double>> TaskSecondsJsonata(Frame* f, const NumberOrPath& n, const char* field);

  // A Task state's Credentials evaluated as AWS records them in its scheduled event: {"roleArn": ...}.
  // JSONPath: against the effective input (after InputPath), like Parameters; JSONata: against $states.
  // REQUIRES: f->state->credentials.present().
  Result<boost::json::object> TaskCredentials(Frame* f);

  // --- state handlers (states_*.cc)
  void RunPass(Frame* f);
  void RunChoice(Frame* f);
  void RunWait(Frame* f);
  void WaitTimerFired(Frame* f);
  void RunSucceed(Frame* f);
  void RunFail(Frame* f);
  void RunTask(Frame* f);
  void RunParallel(Frame* f);
  void RunMap(Frame* f);
  void StartMapIterations(Frame* f);
  // Item `i`'s input to its iteration: the item after the Map's ItemSelector (the item itself without one).
  Result<boost::json::value> SelectItem(Frame* f, std::size_t i);
  void ChildSucceeded(Frame* parent, Frame* child, boost::json::value output);
  void ChildFailed(Frame* parent, Frame* child, const Failure& failure);
  // Records one child's output; when all children are done, completes the Parallel/Map state.
  void CollectChildResult(Frame* parent, std::size_t index, boost::json::value output);

  Execution& ex_;
  Decision& d_;
  common::EpochMillis now_;
  RuntimeValues* rv_;
  ReadyFrames& ready_;  // the execution's: it outlives a decision that yields
  std::size_t transitions_ = 0;       // states entered by this decision
  std::size_t history_bytes_ = 0;     // bytes of this decision's event details (strings), for the limit
};

}  // namespace stepflow::sm
