#include "clients/cpp/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace stepflow::client {
namespace json = boost::json;
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kErrorException[] = "Worker.Exception";
constexpr char kErrorInvalidInput[] = "Worker.InvalidInput";
constexpr char kErrorStatus[] = "Worker.Error";
constexpr char kErrorShutdown[] = "Worker.Shutdown";
// A heartbeat that failed for a reason other than the task being gone is retried this soon (at most).
constexpr milliseconds kHeartbeatRetry{1000};
// First retry of a report (Complete/Fail) that failed with Unavailable; doubles up to the poll max_backoff.
constexpr milliseconds kReportInitialBackoff{100};
constexpr std::size_t kHostNameMax = 256;

std::string DefaultIdentity() {
  char host[kHostNameMax] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) {
    std::snprintf(host, sizeof(host), "unknown");
  }
  return absl::StrCat(host, ":", ::getpid());
}

// Retrying may help: the server is down or busy, or the call timed out here.
bool Transient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) || absl::IsResourceExhausted(status);
}

// The server no longer knows the task (timed out, cancelled, execution ended, never existed).
bool TaskGone(const absl::Status& status) {
  return absl::IsFailedPrecondition(status) || absl::IsNotFound(status);
}

// The write end of Run()'s wake-up pipe, for the signal handler (-1 when no Run() waits).
std::atomic<int> g_run_wake_fd{-1};
// Signal handlers between reading g_run_wake_fd and finishing their write. Run() closes its pipe only when
// this is 0 after it has reset g_run_wake_fd, so a handler still running on another thread (a second signal,
// e.g. SIGINT and SIGTERM together) never writes to a closed descriptor, or to a file that reused its number.
// Lock-free atomics are async-signal-safe.
std::atomic<int> g_handlers_writing{0};

extern "C" void OnTerminationSignal(int) {
  g_handlers_writing.fetch_add(1);
  int fd = g_run_wake_fd.load();
  if (fd >= 0) {
    char byte = 1;
    ssize_t ignored = ::write(fd, &byte, 1);  // async-signal-safe; a full pipe already holds a wake-up
    (void)ignored;
  }
  g_handlers_writing.fetch_sub(1);
}

}  // namespace

// --- TaskResult

TaskResult::TaskResult(const absl::Status& status) {
  if (status.ok()) {
    result_ = json::value(json::object());
    return;
  }
  std::string name = ErrorName(status);
  std::string message(status.message());
  if (!name.empty()) {
    std::string cause = message.substr(name.size() + 1);
    if (!cause.empty() && cause[0] == ' ') {
      cause.erase(0, 1);
    }
    result_ = TaskError{name, cause};
    return;
  }
  result_ = TaskError{kErrorStatus, absl::StrCat(absl::StatusCodeToString(status.code()), ": ", message)};
}

TaskResult::TaskResult(absl::StatusOr<json::value> output_or) {
  if (output_or.ok()) {
    result_ = std::move(*output_or);
  } else {
    *this = TaskResult(output_or.status());
  }
}

// --- TaskContext

std::string CancelReasonName(CancelReason reason) {
  switch (reason) {
    case CancelReason::kNone:
      return "none";
    case CancelReason::kCancelled:
      return "cancelled";
    case CancelReason::kTaskGone:
      return "task gone";
    case CancelReason::kDeadline:
      return "deadline";
    case CancelReason::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

struct TaskContext::State {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  CancelReason reason = CancelReason::kNone;  // guarded by mu
  std::vector<std::function<void()>> callbacks;  // guarded by mu
};

TaskContext::TaskContext(std::string queue, v1::PollTaskResponse task)
    : queue_(std::move(queue)), task_(std::move(task)), state_(std::make_unique<State>()) {}

TaskContext::~TaskContext() = default;

std::optional<std::chrono::system_clock::time_point> TaskContext::deadline() const {
  if (!task_.context().has_deadline()) {
    return std::nullopt;
  }
  const auto& t = task_.context().deadline();
  auto since_epoch = std::chrono::seconds(t.seconds()) + std::chrono::nanoseconds(t.nanos());
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}

bool TaskContext::cancelled() const { return cancel_reason() != CancelReason::kNone; }

CancelReason TaskContext::cancel_reason() const {
  std::lock_guard lock(state_->mu);
  return state_->reason;
}

bool TaskContext::WaitForCancellation(milliseconds timeout) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->reason != CancelReason::kNone; });
}

void TaskContext::OnCancel(std::function<void()> callback) {
  {
    std::lock_guard lock(state_->mu);
    if (state_->reason == CancelReason::kNone) {
      state_->callbacks.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

void TaskContext::Cancel(CancelReason reason) {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(state_->mu);
    if (state_->reason != CancelReason::kNone || reason == CancelReason::kNone) {
      return;
    }
    state_->reason = reason;
    callbacks.swap(state_->callbacks);
  }
  state_->cv.notify_all();
  for (auto& callback : callbacks) {
    callback();
  }
}

// --- Worker

namespace {

constexpr SteadyClock::time_point kNever = SteadyClock::time_point::max();

// A task from its poll to its report.
struct Running {
  Running(std::string queue, v1::PollTaskResponse task) : context(std::move(queue), std::move(task)) {}
  TaskContext context;
  std::atomic<bool> reported{false};  // the first report wins: the handler's, or Stop()'s Worker.Shutdown
  // Its heartbeat schedule (HeartbeatScheduler), guarded by the scheduler's mutex (the interval is set by
  // Add before the task is scheduled and read by the scheduler's thread after that).
  bool heartbeating = false;  // between Add and Remove
  milliseconds heartbeat_interval{0};
  SteadyClock::time_point next_heartbeat = kNever;
  SteadyClock::time_point deadline = kNever;  // TimeoutSeconds, on the steady clock
};

// Heartbeats every running task of a worker from one thread (instead of a thread per task): each task is
// due at the earlier of its next heartbeat and its deadline. A heartbeat call or a cancellation runs on this
// thread without the lock, one at a time; Remove waits for the one of its task, so that nothing touches a
// task after its handler returned and it was removed.
// Thread-safety: thread-safe.
class HeartbeatScheduler {
 public:
  // Sends one heartbeat for `task` and says when the next is due (kNever: no more).
  using Beat = std::function<SteadyClock::time_point(const std::shared_ptr<Running>& task)>;

  explicit HeartbeatScheduler(Beat beat) : beat_(std::move(beat)), thread_([this] { Loop(); }) {}
  ~HeartbeatScheduler() {
    {
      std::lock_guard lock(mu_);
      exiting_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  HeartbeatScheduler(const HeartbeatScheduler&) = delete;
  HeartbeatScheduler& operator=(const HeartbeatScheduler&) = delete;

  // Schedules the task's heartbeats every `interval` (0: none) until `deadline`, when it is cancelled
  // (kDeadline). Nothing is scheduled when it has neither.
  void Add(const std::shared_ptr<Running>& task, milliseconds interval, SteadyClock::time_point deadline) {
    const SteadyClock::time_point next = interval.count() > 0 ? SteadyClock::now() + interval : kNever;
    if (next == kNever && deadline == kNever) {
      return;
    }
    std::lock_guard lock(mu_);
    task->heartbeating = true;
    task->heartbeat_interval = interval;
    task->next_heartbeat = next;
    task->deadline = deadline;
    Schedule(task);
  }

  // Stops the task's heartbeats; waits while one of them (or its cancellation) is under way.
  void Remove(const std::shared_ptr<Running>& task) {
    std::unique_lock lock(mu_);
    due_.erase({Due(*task), task});
    task->heartbeating = false;
    task->next_heartbeat = kNever;
    task->deadline = kNever;
    cv_.wait(lock, [&] { return busy_ != task; });
  }

 private:
  using Entry = std::pair<SteadyClock::time_point, std::shared_ptr<Running>>;

  static SteadyClock::time_point Due(const Running& task) { return std::min(task.next_heartbeat, task.deadline); }

  // REQUIRES: mu_ held.
  void Schedule(const std::shared_ptr<Running>& task) {
    const SteadyClock::time_point due = Due(*task);
    if (due == kNever) {
      return;
    }
    const bool earliest = due_.empty() || due < due_.begin()->first;
    due_.emplace(due, task);
    if (earliest) {
      cv_.notify_all();
    }
  }

  void Loop() {
    std::unique_lock lock(mu_);
    while (!exiting_) {
      if (due_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const SteadyClock::time_point now = SteadyClock::now();
      // A copy: wait_until reads its time point while the lock is released, and a Remove may free the entry.
      const SteadyClock::time_point earliest = due_.begin()->first;
      if (earliest > now) {
        cv_.wait_until(lock, earliest);
        continue;
      }
      std::shared_ptr<Running> task = due_.begin()->second;
      due_.erase(due_.begin());
      busy_ = task;
      const bool deadline = now >= task->deadline;
      if (deadline) {
        task->deadline = kNever;
        task->next_heartbeat = kNever;  // the server times the task out; nothing more to learn
      }
      lock.unlock();
      SteadyClock::time_point next = kNever;
      if (deadline) {
        task->context.Cancel(CancelReason::kDeadline);
      } else {
        next = beat_(task);
      }
      lock.lock();
      busy_ = nullptr;
      if (task->heartbeating) {  // not removed meanwhile
        task->next_heartbeat = next;
        Schedule(task);
      }
      cv_.notify_all();  // a Remove waiting for this task
    }
  }

  Beat beat_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<Entry> due_;             // guarded by mu_: one entry per scheduled task, at Due(task)
  std::shared_ptr<Running> busy_;   // guarded by mu_: the task whose heartbeat runs now
  bool exiting_ = false;            // guarded by mu_
  std::thread thread_;              // last: starts once the members above exist
};

}  // namespace

struct Worker::Impl {
  Impl(Client& c, WorkerOptions o) : client(c), options(std::move(o)) {
    if (options.identity.empty()) {
      options.identity = DefaultIdentity();
    }
  }

  Client& client;
  WorkerOptions options;
  std::map<std::string, TaskHandler> handlers;  // fixed once started

  // Guards everything down to run_wake_fd. Never held while calling a handler, an RPC or the log.
  std::mutex mu;
  std::condition_variable cv;  // slots, jobs, in-flight count, stopping
  bool started = false;
  bool stopping = false;
  bool exiting = false;  // executors return once the job queue is empty
  int free_slots = 0;    // handler slots not reserved by a poll or a task
  int in_flight = 0;     // tasks polled and not yet reported (queued or running)
  std::deque<std::shared_ptr<Running>> jobs;  // polled, waiting for an executor (one is always free)
  std::set<std::shared_ptr<Running>> running;
  WorkerStats stats;
  int run_wake_fd = -1;  // Run()'s pipe, written by Stop()

  std::stop_source poll_stop;
  std::vector<std::thread> pollers;
  std::vector<std::thread> executors;
  std::unique_ptr<HeartbeatScheduler> heartbeats;  // made by Start(), destroyed after the executors

  std::mutex stop_mu;  // serializes Stop()
  bool stop_done = false;
  absl::Status stop_status;

  void Log(LogSeverity severity, const std::string& message) {
    if (options.log) {
      options.log(severity, message);
      return;
    }
    if (severity != LogSeverity::kInfo) {
      std::fprintf(stderr, "stepflow worker: %s%s\n", severity == LogSeverity::kError ? "error: " : "",
                   message.c_str());
    }
  }

  void ReleaseSlot() {
    {
      std::lock_guard lock(mu);
      ++free_slots;
    }
    cv.notify_all();
  }

  void PollLoop(const std::string& queue);
  void ExecutorLoop();
  void Execute(const std::shared_ptr<Running>& task);
  TaskResult CallHandler(const std::shared_ptr<Running>& task);
  // Sends one heartbeat for `task` and acts on its answer; returns when the next one is due.
  SteadyClock::time_point Heartbeat(const std::shared_ptr<Running>& task);
  void Report(const std::shared_ptr<Running>& task, const TaskResult& result);
  absl::Status Drain();
};

void Worker::Impl::PollLoop(const std::string& queue) {
  milliseconds backoff = options.initial_backoff;
  bool failing = false;
  while (true) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping || free_slots > 0; });
      if (stopping) {
        return;
      }
      --free_slots;
    }
    absl::StatusOr<v1::PollTaskResponse> polled =
        client.PollTask(queue, options.identity, options.poll_wait, poll_stop.get_token());
    if (!polled.ok()) {
      ReleaseSlot();
      if (poll_stop.stop_requested()) {
        return;
      }
      Log(absl::IsUnavailable(polled.status()) ? LogSeverity::kWarning : LogSeverity::kError,
          absl::StrCat("poll ", queue, ": ", polled.status().message(), " (retrying in ", backoff.count(),
                       " ms)"));
      failing = true;
      std::unique_lock lock(mu);
      cv.wait_for(lock, backoff, [&] { return stopping; });
      backoff = std::min(backoff * 2, options.max_backoff);
      continue;
    }
    if (failing) {
      Log(LogSeverity::kInfo, absl::StrCat("poll ", queue, ": connected again"));
      failing = false;
    }
    backoff = options.initial_backoff;
    std::lock_guard lock(mu);
    ++stats.polls;
    if (polled->task_token().empty()) {
      ++free_slots;
      cv.notify_all();
      continue;
    }
    // The slot stays taken until the task is reported.
    ++in_flight;
    jobs.push_back(std::make_shared<Running>(queue, std::move(*polled)));
    cv.notify_all();
  }
}

void Worker::Impl::ExecutorLoop() {
  while (true) {
    std::shared_ptr<Running> task;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return exiting || !jobs.empty(); });
      if (jobs.empty()) {
        return;
      }
      task = std::move(jobs.front());
      jobs.pop_front();
      running.insert(task);
      ++stats.running;
      ++stats.started;
    }
    Execute(task);
    {
      std::lock_guard lock(mu);
      running.erase(task);
      --stats.running;
      --in_flight;
      ++free_slots;
    }
    cv.notify_all();
  }
}

void Worker::Impl::Execute(const std::shared_ptr<Running>& task) {
  const TaskContext& c = task->context;
  Log(LogSeverity::kInfo, absl::StrCat("task started: queue=", c.queue(), " execution=", c.execution_arn(),
                                       " state=", c.state_name(), " attempt=", c.attempt()));
  milliseconds interval = c.heartbeat_seconds() > 0 ? milliseconds(c.heartbeat_seconds() * 1000 / 3)
                                                    : options.default_heartbeat_interval;
  SteadyClock::time_point deadline = kNever;
  if (auto d = c.deadline()) {
    deadline = SteadyClock::now() +
               std::chrono::duration_cast<SteadyClock::duration>(*d - std::chrono::system_clock::now());
  }
  heartbeats->Add(task, interval, deadline);
  TaskResult result = CallHandler(task);
  heartbeats->Remove(task);
  Report(task, result);
}

TaskResult Worker::Impl::CallHandler(const std::shared_ptr<Running>& task) {
  boost::system::error_code ec;
  const std::string& text = task->context.task().input();
  json::value input = text.empty() ? json::value(json::object()) : json::parse(text, ec);
  if (ec) {
    return TaskError{kErrorInvalidInput, absl::StrCat("the task's input is not JSON: ", ec.message())};
  }
  const TaskHandler& handler = handlers.at(task->context.queue());
  try {
    return handler(task->context, input);
  } catch (const std::exception& e) {
    return TaskError{kErrorException, e.what()};
  } catch (...) {
    return TaskError{kErrorException, "unknown exception"};
  }
}

SteadyClock::time_point Worker::Impl::Heartbeat(const std::shared_ptr<Running>& task) {
  TaskContext& context = task->context;
  absl::StatusOr<bool> cancelled = client.HeartbeatTask(context.task_token());
  if (cancelled.ok()) {
    std::lock_guard lock(mu);
    ++stats.heartbeats;
  }
  if (cancelled.ok() && *cancelled) {
    context.Cancel(CancelReason::kCancelled);
    return kNever;
  }
  if (!cancelled.ok() && TaskGone(cancelled.status())) {
    context.Cancel(CancelReason::kTaskGone);
    return kNever;
  }
  if (!cancelled.ok()) {
    Log(LogSeverity::kWarning,
        absl::StrCat("heartbeat execution=", context.execution_arn(), ": ", cancelled.status().message()));
    return SteadyClock::now() + std::min(task->heartbeat_interval, kHeartbeatRetry);
  }
  return SteadyClock::now() + task->heartbeat_interval;
}

void Worker::Impl::Report(const std::shared_ptr<Running>& task, const TaskResult& result) {
  if (task->reported.exchange(true)) {
    return;  // Stop() already failed it with Worker.Shutdown
  }
  const std::string& token = task->context.task_token();
  std::string output = result.ok() ? json::serialize(result.output()) : "";
  SteadyClock::time_point give_up = SteadyClock::now() + options.report_timeout;
  milliseconds backoff = kReportInitialBackoff;
  absl::Status status;
  while (true) {
    status = result.ok() ? client.CompleteTask(token, output)
                         : client.FailTask(token, result.error().error, result.error().cause);
    if (status.ok() || !Transient(status) || SteadyClock::now() + backoff > give_up) {
      break;
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options.max_backoff);
  }
  std::string what = absl::StrCat(result.ok() ? "complete" : "fail", " execution=",
                                  task->context.execution_arn(), " state=", task->context.state_name());
  if (!result.ok()) {
    absl::StrAppend(&what, " error=", result.error().error);
  }
  if (status.ok()) {
    {
      std::lock_guard lock(mu);
      ++(result.ok() ? stats.completed : stats.failed);
    }
    Log(LogSeverity::kInfo, what);
  } else if (TaskGone(status)) {
    Log(LogSeverity::kInfo, absl::StrCat(what, ": result dropped: ", status.message()));
  } else {
    Log(LogSeverity::kError, absl::StrCat(what, ": ", status.message()));
  }
}

absl::Status Worker::Impl::Drain() {
  std::unique_lock lock(mu);
  if (cv.wait_for(lock, options.drain_timeout, [&] { return in_flight == 0; })) {
    return absl::OkStatus();
  }
  std::vector<std::shared_ptr<Running>> late(running.begin(), running.end());
  lock.unlock();
  Log(LogSeverity::kWarning, absl::StrCat(late.size(), " task(s) still running after the drain timeout (",
                                          options.drain_timeout.count(), " ms): cancelling them"));
  for (const auto& task : late) {
    task->context.Cancel(CancelReason::kShutdown);
  }
  lock.lock();
  if (cv.wait_for(lock, options.shutdown_grace, [&] { return in_flight == 0; })) {
    return absl::OkStatus();
  }
  late.assign(running.begin(), running.end());
  int unfinished = in_flight;
  lock.unlock();
  for (const auto& task : late) {
    if (task->reported.exchange(true)) {
      continue;  // its handler returned and its report is under way
    }
    absl::Status s = client.FailTask(task->context.task_token(), kErrorShutdown,
                                     "the worker stopped before the handler returned");
    Log(s.ok() ? LogSeverity::kWarning : LogSeverity::kError,
        absl::StrCat("fail execution=", task->context.execution_arn(), " error=", kErrorShutdown,
                     s.ok() ? "" : absl::StrCat(": ", s.message())));
    if (s.ok()) {
      std::lock_guard stats_lock(mu);
      ++stats.failed;
    }
  }
  return absl::DeadlineExceededError(absl::StrCat(unfinished,
                                                  " task(s) had not finished after the drain timeout and the "
                                                  "shutdown grace; the running ones were failed with ",
                                                  kErrorShutdown));
}

Worker::Worker(Client& client, WorkerOptions options)
    : impl_(std::make_unique<Impl>(client, std::move(options))) {}

Worker::~Worker() {
  Stop().IgnoreError();  // the destructor has nobody to tell; Stop() logged what went wrong
  {
    std::lock_guard lock(impl_->mu);
    impl_->exiting = true;
  }
  impl_->cv.notify_all();
  for (std::thread& t : impl_->executors) {
    t.join();
  }
  impl_->heartbeats.reset();
}

absl::Status Worker::Handle(const std::string& queue, TaskHandler handler) {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) {
    return absl::FailedPreconditionError("Handle: the worker has started");
  }
  if (queue.empty() || !handler) {
    return absl::InvalidArgumentError("Handle: empty queue name or handler");
  }
  if (!impl_->handlers.emplace(queue, std::move(handler)).second) {
    return absl::InvalidArgumentError(absl::StrCat("Handle: queue '", queue, "' already has a handler"));
  }
  return absl::OkStatus();
}

absl::Status Worker::Start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) {
    return absl::FailedPreconditionError("Start: the worker has started before");
  }
  if (impl_->handlers.empty()) {
    return absl::FailedPreconditionError("Start: no queue has a handler");
  }
  if (impl_->options.concurrency < 1) {
    return absl::InvalidArgumentError("Start: concurrency must be at least 1");
  }
  impl_->started = true;
  impl_->free_slots = impl_->options.concurrency;
  impl_->heartbeats = std::make_unique<HeartbeatScheduler>(
      [impl = impl_.get()](const std::shared_ptr<Running>& task) { return impl->Heartbeat(task); });
  for (int i = 0; i < impl_->options.concurrency; ++i) {
    impl_->executors.emplace_back([this] { impl_->ExecutorLoop(); });
  }
  // Several polls of each queue at once (each holds a free slot), so that a busy queue's tasks are not handed
  // out one poll round trip after another; at most its share of the slots, so that the idle long polls of
  // one queue never hold every slot while another queue has tasks.
  const int pollers_per_queue = std::max(1, impl_->options.concurrency / static_cast<int>(impl_->handlers.size()));
  for (const auto& [queue, handler] : impl_->handlers) {
    for (int i = 0; i < pollers_per_queue; ++i) {
      impl_->pollers.emplace_back([this, q = queue] { impl_->PollLoop(q); });
    }
  }
  return absl::OkStatus();
}

absl::Status Worker::Stop() {
  std::lock_guard stop_lock(impl_->stop_mu);
  if (impl_->stop_done) {
    return impl_->stop_status;
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    if (impl_->run_wake_fd >= 0) {
      char byte = 1;
      ssize_t ignored = ::write(impl_->run_wake_fd, &byte, 1);
      (void)ignored;
    }
    if (!impl_->started) {
      impl_->stop_done = true;
      return absl::OkStatus();
    }
  }
  impl_->cv.notify_all();
  impl_->poll_stop.request_stop();
  for (std::thread& t : impl_->pollers) {
    t.join();
  }
  impl_->stop_status = impl_->Drain();
  impl_->stop_done = true;
  return impl_->stop_status;
}

absl::Status Worker::Run() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError(absl::StrCat("Run: pipe: ", std::strerror(errno)));
  }
  int expected = -1;
  if (!g_run_wake_fd.compare_exchange_strong(expected, fds[1])) {
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::FailedPreconditionError("Run: another Worker::Run() is waiting in this process");
  }
  struct sigaction action = {};
  action.sa_handler = OnTerminationSignal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_term = {};
  struct sigaction old_int = {};
  ::sigaction(SIGTERM, &action, &old_term);
  ::sigaction(SIGINT, &action, &old_int);
  absl::Status started = Start();
  bool wait = started.ok();
  {
    std::lock_guard lock(impl_->mu);
    impl_->run_wake_fd = fds[1];
    wait = wait && !impl_->stopping;
  }
  while (wait) {
    pollfd p = {fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, -1);
    if (n > 0 || (n < 0 && errno != EINTR)) {
      break;
    }
  }
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGINT, &old_int, nullptr);
  g_run_wake_fd.store(-1);
  while (g_handlers_writing.load() != 0) {  // a handler that read the descriptor before the reset: one write
    std::this_thread::yield();
  }
  absl::Status stopped = started.ok() ? Stop() : absl::OkStatus();
  {
    std::lock_guard lock(impl_->mu);
    impl_->run_wake_fd = -1;
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return started.ok() ? stopped : started;
}

WorkerStats Worker::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace stepflow::client
