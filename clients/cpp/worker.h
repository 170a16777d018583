#pragma once
// The C++ worker SDK: runs handlers for the tasks of Stepflow queues, over the public Tasks API only: the
// batched calls (Client::PollTasks, Client::ReportTasks: many tasks per poll, many results and heartbeats
// per call), and CompleteTask/FailTask/HeartbeatTask for a report too large for a batch and for the
// Worker.Shutdown failures of a drain.
//
//   stepflow::client::WorkerOptions options;
//   options.concurrency = 4;
//   stepflow::client::Worker worker(*client, options);
//   worker.Handle("charge-card", [](stepflow::client::TaskContext& ctx, const boost::json::value& input)
//                                    -> stepflow::client::TaskResult {
//     if (declined) return stepflow::client::TaskError{"Payment.Declined", "card expired"};
//     return boost::json::object{{"charged", true}};
//   });
//   absl::Status s = worker.Run();  // until SIGTERM/SIGINT or Stop(); then drains
//
// What the worker does for each task:
// - It polls a queue only while one of its `concurrency` handler slots is free, so it never holds a task it
//   cannot start: a poll reserves the free slots (for the length of the long poll) and asks for that many
//   tasks in one call. Each queue has up to its share of the slots (`concurrency` / queues, at least 1) in
//   polls at once, over two poll threads (one while the other's tasks start), so the idle polls of one queue
//   never hold the slots another queue needs. A poller whose last poll found nothing lets the longest-waiting
//   poller of another queue take a freed slot first, so queues with nothing to do take turns with the slots.
// - The handler gets the task's input as JSON (its numbers read as the server reads them, the nearest double:
//   an input returned unchanged is reported as the text it was) and a TaskContext (execution, state, attempt,
//   deadline, cancellation). Its TaskResult becomes CompleteTask(output) or FailTask(error, cause).
// - While the handler runs, the worker heartbeats the task: every third of its HeartbeatSeconds, or every
//   `default_heartbeat_interval` when the state has none (to learn of cancellation). One heartbeat thread per
//   worker serves all its tasks (no thread per task); the heartbeats due at the same time go in one call.
// - Results and heartbeats made while a report call is under way go together in the next one (at most two
//   calls at once, made by two threads of the worker's; a lone report goes at once), each answered as its
//   unary call would be. A handler's thread hands its result over and takes the next task without waiting
//   for the answer; the task's slot stays taken until the answer comes.
// - A report call that carries results also asks, per queue, for as many tasks as those results free slots
//   (ReportBatch's polls; not once the worker stops). The server answers with the tasks the reports' own
//   commits schedule (a workflow's next step, started in that commit) and then any waiting; each takes the
//   slot of a reported task, so a busy worker gets its next tasks without polls and still never holds more
//   tasks than its slots. (A server older than these polls ignores them; the worker's polls then get the
//   tasks.)
// - Cancellation reaches the handler through its TaskContext (cancelled(), WaitForCancellation(),
//   OnCancel()) when a heartbeat answers cancelled, when the server refuses the token (the task timed out),
//   when the task's deadline (TimeoutSeconds) passes, or when a drain runs out of time. A handler that
//   ignores cancellation only wastes work: the server refuses a late result.
// - Errors the worker makes up (the ASL error names a Retry or Catch can match):
//     Worker.Exception     the handler threw; cause: what() (or "unknown exception")
//     Worker.InvalidInput  the task's input is not JSON (the server should never send that)
//     Worker.Error         the handler returned a non-OK absl::Status whose message has no error name
//                          (with one, "Name: text", the name is the error and the text the cause)
//     Worker.Shutdown      the worker stopped and the handler had not returned within the drain timeout
// - Polls that fail are retried with exponential backoff (Unavailable: the server is down or restarting;
//   any other error is logged as an error and retried the same way). Reports (complete/fail) that fail with
//   Unavailable or Timeout are retried for up to `report_timeout`; a report refused because the task is gone
//   (TaskTimedOut, TaskDoesNotExist) is logged and dropped.
//
// Thread-safety: Handle() before Start(); Start(), Stop() and Run() may be called from any thread; handlers
// run on the worker's threads, up to `concurrency` at once, and must be thread-safe if they share state.

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clients/cpp/client.h"

namespace stepflow::client {

// An ASL error reported by a handler: `error` is the name Retry/Catch match on ("" = States.TaskFailed).
struct TaskError {
  std::string error;
  std::string cause;
};

// What a handler returns: an output (any JSON value) or a TaskError. Converts implicitly from either, from
// a non-OK absl::Status (see the error names above) and from absl::StatusOr<boost::json::value>.
class TaskResult {
 public:
  template <typename T>
    requires std::is_constructible_v<boost::json::value, T&&>
  TaskResult(T&& output) : result_(boost::json::value(std::forward<T>(output))) {}  // NOLINT: implicit
  TaskResult(TaskError error) : result_(std::move(error)) {}                      // NOLINT: implicit
  // A non-OK status is an error (see above); an OK one is the output {}.
  TaskResult(const absl::Status& status);                       // NOLINT: implicit
  TaskResult(absl::StatusOr<boost::json::value> output_or);     // NOLINT: implicit

  bool ok() const { return std::holds_alternative<boost::json::value>(result_); }
  // REQUIRES: ok().
  const boost::json::value& output() const { return std::get<boost::json::value>(result_); }
  // REQUIRES: !ok().
  const TaskError& error() const { return std::get<TaskError>(result_); }

 private:
  std::variant<boost::json::value, TaskError> result_;
};

// Why a task was cancelled.
enum class CancelReason {
  kNone,
  kCancelled,  // a heartbeat answered cancelled: the execution no longer wants the result
  kTaskGone,   // the server refused the token (TaskTimedOut / TaskDoesNotExist): the result would be refused
  kDeadline,   // the task's deadline (TimeoutSeconds) passed
  kShutdown,   // the worker is stopping and the drain timeout passed
};
std::string CancelReasonName(CancelReason reason);  // "cancelled", "task gone", "deadline", "shutdown"

// One task handed to a handler: what the server said about it, and its cancellation.
// Thread-safety: the accessors and cancellation methods may be called from any thread.
class TaskContext {
 public:
  // A task from `queue` as PollTask returned it (for the worker, and for tests of handlers).
  TaskContext(std::string queue, v1::PollTaskResponse task);
  ~TaskContext();
  TaskContext(const TaskContext&) = delete;
  TaskContext& operator=(const TaskContext&) = delete;

  const std::string& queue() const { return queue_; }
  const std::string& task_token() const { return task_.task_token(); }
  const std::string& execution_arn() const { return task_.context().execution_arn(); }
  const std::string& state_machine_arn() const { return task_.context().state_machine_arn(); }
  const std::string& state_name() const { return task_.context().state_name(); }
  // 0 for the first try, n for the n-th retry.
  int attempt() const { return task_.context().attempt(); }
  // When TimeoutSeconds runs out; nullopt when the state has none.
  std::optional<std::chrono::system_clock::time_point> deadline() const;
  // The state's HeartbeatSeconds (0 = none).
  int heartbeat_seconds() const { return task_.context().heartbeat_seconds(); }
  // The task as the server sent it (input text included).
  const v1::PollTaskResponse& task() const { return task_; }

  bool cancelled() const;
  CancelReason cancel_reason() const;
  // Waits until the task is cancelled or `timeout` passes; true when cancelled. For handlers that wait.
  bool WaitForCancellation(std::chrono::milliseconds timeout) const;
  // Calls `callback` once when the task is cancelled: on the thread that cancels it (the worker's heartbeat
  // thread, shared by its tasks, or the one in Stop()), or at once on this thread when it already is. Keep it short and
  // non-blocking (e.g. set a flag, kill a child process, cancel an RPC).
  void OnCancel(std::function<void()> callback);
  // Cancels the task (the first reason wins) and calls the OnCancel callbacks. The worker calls this; tests
  // may too.
  void Cancel(CancelReason reason);

 private:
  struct State;
  std::string queue_;
  v1::PollTaskResponse task_;
  std::unique_ptr<State> state_;
};

// A queue's handler. Runs on a worker thread; may throw (the task fails with Worker.Exception).
using TaskHandler = std::function<TaskResult(TaskContext& context, const boost::json::value& input)>;

enum class LogSeverity { kInfo, kWarning, kError };
using WorkerLog = std::function<void(LogSeverity severity, const std::string& message)>;

struct WorkerOptions {
  // Recorded on each task attempt (and in dead letters). Default: "" = "HOSTNAME:PID".
  std::string identity;
  // Handlers running at once, over all queues. Default: 1 (a worker runs one task at a time).
  int concurrency = 1;
  // Long-poll wait of each PollTask. Shorter waits make Stop() lose fewer tasks that were handed out as
  // it cancelled a poll, and cost more idle calls. Default: 20 s (the server's default; it caps at 60 s).
  std::chrono::seconds poll_wait{20};
  // Heartbeat interval for a task whose state has no HeartbeatSeconds (heartbeats then only discover
  // cancellation); 0 = no heartbeats for such tasks. Tasks with HeartbeatSeconds use a third of it.
  // Default: 10 s.
  std::chrono::milliseconds default_heartbeat_interval{10000};
  // How long Stop() waits for running handlers before cancelling them (kShutdown). Default: 30 s.
  std::chrono::milliseconds drain_timeout{30000};
  // After that cancellation, how long Stop() waits for handlers to return before failing their tasks with
  // Worker.Shutdown and returning. Default: 5 s.
  std::chrono::milliseconds shutdown_grace{5000};
  // Poll retry backoff: doubles from initial to max after each failed poll; reset by a successful one.
  // Default: 100 ms to 2 s, so that a restarted server (ready in about a second) has its workers back soon.
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
  // How long a Complete/Fail that fails with Unavailable or Timeout is retried. Default: 60 s.
  std::chrono::milliseconds report_timeout{60000};
  // Where the worker's log lines go. Default: empty = warnings and errors to stderr.
  WorkerLog log;
};

// Counters, for monitoring and tests.
struct WorkerStats {
  int running = 0;        // handlers running now (each until just before its result is handed to the reports)
  long long started = 0;  // tasks handed to a handler
  long long completed = 0;
  long long failed = 0;      // reported with FailTask (by a handler or by the worker)
  long long polls = 0;       // poll calls that returned (with or without tasks)
  long long heartbeats = 0;  // heartbeats answered OK
  int reports_waiting = 0;   // results and heartbeats handed to the reports and in no call now (queued, or
                             // waiting to be sent again after a transient failure)
};

// Runs handlers for tasks. Thread-safety: see the top of this file. The Client must outlive the Worker.
class Worker {
 public:
  Worker(Client& client, WorkerOptions options = {});
  // Stops (drains) if running, then waits for every worker thread, including handlers that outlived a
  // drain (a handler that ignores cancellation blocks the destructor).
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Registers the handler of `queue`. InvalidArgument for an empty queue, an empty handler or a queue
  // already registered; FailedPrecondition once started.
  absl::Status Handle(const std::string& queue, TaskHandler handler);

  // Starts polling every registered queue. FailedPrecondition when no queue is registered, or when it was
  // started before (a Worker runs once); InvalidArgument for concurrency < 1.
  absl::Status Start();

  // Graceful drain: stops polling (in-flight polls are cancelled), waits up to drain_timeout for running
  // handlers to return and their results to be reported, then cancels the rest (kShutdown), waits up to
  // shutdown_grace, fails what still runs with Worker.Shutdown and returns. OK when every handler finished
  // and was reported; DeadlineExceeded naming how many did not. Idempotent: later and concurrent calls wait
  // for the first one and return its status. OK when never started. Not from a handler (it would wait for
  // the handler itself); a handler that wants the worker to stop can ask another thread to call Stop().
  absl::Status Stop();

  // Start(), then waits until Stop() is called (from another thread) or the process receives
  // SIGTERM or SIGINT, then Stop(). Returns Start's error or Stop's status. While it waits, SIGTERM and
  // SIGINT handlers are installed; the previous ones are put back as soon as the first signal arrives, so a
  // second Ctrl-C during the drain acts as it did before (usually: kills the process). One Run() per
  // process at a time (FailedPrecondition otherwise).
  absl::Status Run();

  WorkerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepflow::client
