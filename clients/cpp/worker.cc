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
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/precise_json.h"
#include "common/thread_name.h"

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
// Bounds of one ReportBatch (the server's: proto/stepflow/v1/stepflow.proto), and a report that alone comes
// near the byte bound goes as its unary call instead.
constexpr std::size_t kMaxReportItems = 1000;
constexpr std::size_t kMaxReportBytes = 4 << 20;
constexpr std::size_t kReportBytesSlack = 64 << 10;
// A report this large goes alone, as its unary call.
bool GoesAlone(std::size_t report_bytes) { return report_bytes > kMaxReportBytes - kReportBytesSlack; }
// ReportBatch calls under way at once: while they are, the reports made meanwhile gather for the next one.
constexpr int kMaxReportBatchesInFlight = 2;
// Poll threads per queue: two, so that one poll is under way while the other hands out its tasks.
constexpr int kPollersPerQueue = 2;
// The most tasks one PollBatch asks for (the server's bound).
constexpr int kMaxPollTasks = 256;
// The most polls (queues) one ReportBatch carries (the server's bound; their tasks together: kMaxPollTasks).
constexpr int kMaxReportPolls = 100;

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
// due at the earlier of its next heartbeat and its deadline. The heartbeats of every task due by then go out
// together (one report call) and the deadlines passed are cancelled, on this thread without the lock;
// Remove waits while its task is among them, so that nothing touches a task after its handler returned and
// it was removed.
// Thread-safety: thread-safe.
class HeartbeatScheduler {
 public:
  // Sends one heartbeat for each of `tasks` (together) and says when the next of each is due (kNever: no more).
  using Beat =
      std::function<std::vector<SteadyClock::time_point>(const std::vector<std::shared_ptr<Running>>& tasks)>;

  explicit HeartbeatScheduler(Beat beat)
      : beat_(std::move(beat)), thread_([this] {
          common::NameThisThread("sf-w-heartbeat");
          Loop();
        }) {}
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
    cv_.wait(lock, [&] { return busy_.count(task) == 0; });
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
      // Every task due by now at once: their heartbeats go out together.
      std::vector<std::shared_ptr<Running>> beating;
      std::vector<std::shared_ptr<Running>> expired;
      while (!due_.empty() && due_.begin()->first <= now) {
        std::shared_ptr<Running> task = due_.begin()->second;
        due_.erase(due_.begin());
        busy_.insert(task);
        if (now >= task->deadline) {
          task->deadline = kNever;
          task->next_heartbeat = kNever;  // the server times the task out; nothing more to learn
          expired.push_back(std::move(task));
        } else {
          beating.push_back(std::move(task));
        }
      }
      lock.unlock();
      for (const auto& task : expired) {
        task->context.Cancel(CancelReason::kDeadline);
      }
      std::vector<SteadyClock::time_point> next;
      if (!beating.empty()) {
        next = beat_(beating);
      }
      lock.lock();
      for (std::size_t i = 0; i < beating.size(); ++i) {
        busy_.erase(beating[i]);
        if (beating[i]->heartbeating) {  // not removed meanwhile
          beating[i]->next_heartbeat = i < next.size() ? next[i] : kNever;
          Schedule(beating[i]);
        }
      }
      for (const auto& task : expired) {
        busy_.erase(task);
      }
      cv_.notify_all();  // a Remove waiting for one of these tasks
    }
  }

  Beat beat_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<Entry> due_;                       // guarded by mu_: one entry per scheduled task, at Due(task)
  std::set<std::shared_ptr<Running>> busy_;   // guarded by mu_: the tasks whose heartbeats run now
  bool exiting_ = false;                      // guarded by mu_
  std::thread thread_;                        // last: starts once the members above exist
};

// Where the tasks that come back in a ReportBatch's answer go (the Worker): a result frees its task's slot,
// and the call asks, per queue, for as many tasks as its results free, so that a busy worker's next tasks
// come with its reports (started in the reports' own commits) instead of through a poll of their own.
class SlotSink {
 public:
  virtual ~SlotSink() = default;
  // Whether tasks may be asked for now (false once the worker stops).
  virtual bool Accepting() = 0;
  // `tasks` came back: `passed` of them take the slots of reported tasks, the others need free slots of
  // their own (never, from a server that keeps to max_tasks). Called before the reporters are answered.
  virtual void TakeOver(std::vector<v1::PollTaskResponse> tasks, int passed) = 0;
};

// Sends a worker's reports (completions, failures, heartbeats) in ReportBatch calls, from
// kMaxReportBatchesInFlight sender threads of its own: a report made while the senders' calls are under way
// waits and goes with the others made meanwhile in the next call (a lone report goes at once). Submit does not
// wait: a handler's thread is free for the next task as soon as its result is handed over, and the result's
// `done` runs on a sender thread when its answer is known. A report near the byte bound goes alone as its
// unary call. A call that carries results also asks for tasks in the slots they free (SlotSink).
// A report that fails with a transient error (Transient) is sent again, with a doubling backoff, until its
// `give_up`; `done` gets the final answer once.
// Thread-safety: thread-safe; no Submit may begin once the destructor has. `done` runs on a sender thread and
// must not destroy the batcher.
class ReportBatcher {
 public:
  // What became of a report: what its unary call would have answered (a failed call: its error), and whether
  // a task that came back with the call took the slot of the task it reported.
  using Done = std::function<void(const absl::StatusOr<bool>& outcome, bool slot_passed)>;

  // `slots` (not owned; may be null: no tasks asked for) must outlive the batcher. `max_backoff` bounds the
  // delay between the attempts of a report.
  ReportBatcher(Client& client, std::string identity, SlotSink* slots, milliseconds max_backoff)
      : client_(client), identity_(std::move(identity)), slots_(slots), max_backoff_(max_backoff) {
    for (int i = 0; i < kMaxReportBatchesInFlight; ++i) {
      senders_.emplace_back([this] {
        common::NameThisThread("sf-w-report");
        SendLoop();
      });
    }
  }

  // Sends what is pending, including the reports waiting to be tried again (once more, whatever their
  // give_up), answers each, then stops the senders.
  ~ReportBatcher() {
    {
      std::lock_guard lock(mu_);
      exiting_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : senders_) {
      t.join();
    }
  }
  ReportBatcher(const ReportBatcher&) = delete;
  ReportBatcher& operator=(const ReportBatcher&) = delete;

  // Queues `report` and returns. With a `slot_queue`, it is a result that frees a slot of that queue.
  // Transient failures are retried until `give_up` (SteadyClock::time_point() = never retried).
  void Submit(v1::TaskReport report, std::string slot_queue, SteadyClock::time_point give_up, Done done) {
    auto item = std::make_unique<Item>();
    item->bytes = report.ByteSizeLong();
    item->report = std::move(report);
    item->slot_queue = std::move(slot_queue);
    item->give_up = give_up;
    item->done = std::move(done);
    {
      std::lock_guard lock(mu_);
      pending_.push_back(std::move(item));
      if (idle_senders_ == 0) {
        return;  // every sender is in a call: the report goes with the next one
      }
    }
    cv_.notify_one();
  }

  // Reports submitted and in no call now: queued, or waiting for their next attempt.
  int Waiting() {
    std::lock_guard lock(mu_);
    return static_cast<int>(pending_.size() + retrying_.size());
  }

  // Sends every report (in as few calls as the bounds allow, with the others pending; no retries) and waits
  // for the answer of each.
  std::vector<absl::StatusOr<bool>> SendAll(std::vector<v1::TaskReport> reports) {
    std::vector<absl::StatusOr<bool>> outcomes(reports.size(), false);
    std::mutex answered_mu;
    std::condition_variable answered_cv;
    std::size_t left = reports.size();
    for (std::size_t i = 0; i < reports.size(); ++i) {
      Submit(std::move(reports[i]), "", SteadyClock::time_point(),
             [&, i](const absl::StatusOr<bool>& outcome, bool) {
               std::lock_guard lock(answered_mu);
               outcomes[i] = outcome;
               if (--left == 0) {
                 answered_cv.notify_one();  // under the lock: the waiter's locals outlive this call
               }
             });
    }
    std::unique_lock lock(answered_mu);
    answered_cv.wait(lock, [&] { return left == 0; });
    return outcomes;
  }

 private:
  struct Item {
    v1::TaskReport report;
    std::size_t bytes = 0;
    std::string slot_queue;  // a result: the queue whose slot it frees ("" = none)
    SteadyClock::time_point give_up;
    milliseconds backoff = kReportInitialBackoff;  // before its next attempt, if it fails with a transient error
    Done done;
    absl::StatusOr<bool> outcome = false;  // set by its sender
    bool slot_passed = false;              // set by its sender: a task took its slot
  };
  using ItemPtr = std::unique_ptr<Item>;

  void SendLoop() {
    std::unique_lock lock(mu_);
    while (true) {
      const SteadyClock::time_point now = SteadyClock::now();
      while (!retrying_.empty() && (exiting_ || retrying_.begin()->first <= now)) {
        pending_.push_back(std::move(retrying_.begin()->second));
        retrying_.erase(retrying_.begin());
      }
      if (pending_.empty()) {
        if (exiting_) {
          return;
        }
        ++idle_senders_;
        if (retrying_.empty()) {
          cv_.wait(lock);
        } else {
          const SteadyClock::time_point next = retrying_.begin()->first;  // a copy: the entry may go meanwhile
          cv_.wait_until(lock, next);
        }
        --idle_senders_;
        continue;
      }
      std::vector<ItemPtr> batch = TakeBatchLocked();
      if (!pending_.empty() && idle_senders_ > 0) {
        cv_.notify_one();  // the rest need not wait for this call
      }
      lock.unlock();
      if (batch.size() == 1 && GoesAlone(batch.front()->bytes)) {
        batch.front()->outcome = SendAlone(batch.front()->report);
      } else {
        SendBatch(batch);
      }
      const SteadyClock::time_point sent = SteadyClock::now();
      lock.lock();
      std::vector<ItemPtr> answered;
      for (ItemPtr& item : batch) {
        const SteadyClock::time_point retry_at = sent + item->backoff;
        if (!exiting_ && !item->outcome.ok() && Transient(item->outcome.status()) && retry_at <= item->give_up) {
          item->backoff = std::min(item->backoff * 2, max_backoff_);
          retrying_.emplace(retry_at, std::move(item));
        } else {
          answered.push_back(std::move(item));
        }
      }
      lock.unlock();
      for (const ItemPtr& item : answered) {
        item->done(item->outcome, item->slot_passed);
      }
      lock.lock();
    }
  }

  // REQUIRES: mu_ held. The oldest pending reports within the bounds of one call; a report too large for a
  // call with others alone.
  std::vector<ItemPtr> TakeBatchLocked() {
    std::vector<ItemPtr> batch;
    std::size_t bytes = 0;
    while (!pending_.empty() && batch.size() < kMaxReportItems) {
      const std::size_t next = pending_.front()->bytes;
      if (GoesAlone(next)) {
        if (batch.empty()) {
          batch.push_back(std::move(pending_.front()));
          pending_.pop_front();
        }
        break;
      }
      if (bytes + next + kReportBytesSlack > kMaxReportBytes) {
        break;
      }
      bytes += next;
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    return batch;
  }

  // Sends `batch` in one ReportBatch call and sets each item's outcome and slot_passed.
  void SendBatch(const std::vector<ItemPtr>& batch) {
    v1::ReportTaskBatchRequest request;
    std::map<std::string, std::vector<Item*>> freeing;  // by queue: the results that free a slot of it
    for (const ItemPtr& item : batch) {
      *request.add_reports() = item->report;
      if (!item->slot_queue.empty()) {
        freeing[item->slot_queue].push_back(item.get());
      }
    }
    if (slots_ != nullptr && !freeing.empty() && slots_->Accepting()) {
      int room = kMaxPollTasks;  // the server's bound on the tasks of one call's polls together
      for (const auto& [queue, results] : freeing) {
        const int n = static_cast<int>(std::min<std::size_t>(results.size(), room));
        if (n == 0 || request.polls_size() == kMaxReportPolls) {
          break;
        }
        v1::PollTaskBatchRequest* poll = request.add_polls();
        poll->set_queue(queue);
        poll->set_worker_identity(identity_);
        poll->set_max_tasks(n);
        room -= n;
      }
    }
    absl::StatusOr<v1::ReportTaskBatchResponse> response = client_.ReportTasks(request);
    if (response.ok() && response->results_size() != static_cast<int>(batch.size())) {
      response = absl::InternalError(absl::StrCat("InternalFailure: ReportBatch answered ", response->results_size(),
                                                  " results to ", batch.size(), " reports"));
    }
    if (response.ok() && response->tasks_size() > 0) {
      // Each task that came back takes the slot of a result of its queue in this call.
      std::vector<v1::PollTaskResponse> tasks;
      int passed = 0;
      for (v1::PollTaskResponse& task : *response->mutable_tasks()) {
        std::vector<Item*>& results = freeing[task.queue()];
        if (!results.empty()) {
          results.back()->slot_passed = true;
          results.pop_back();
          ++passed;
        }
        tasks.push_back(std::move(task));
      }
      slots_->TakeOver(std::move(tasks), passed);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!response.ok()) {
        batch[i]->outcome = response.status();
        continue;
      }
      const v1::TaskReportResult& r = response->results(static_cast<int>(i));
      batch[i]->outcome = r.code() == 0 ? absl::StatusOr<bool>(r.cancelled())
                                        : absl::StatusOr<bool>(absl::Status(static_cast<absl::StatusCode>(r.code()),
                                                                            r.message()));
    }
  }

  absl::StatusOr<bool> SendAlone(const v1::TaskReport& report) {
    switch (report.report_case()) {
      case v1::TaskReport::kComplete: {
        absl::Status s = client_.CompleteTask(report.complete().task_token(), report.complete().output());
        return s.ok() ? absl::StatusOr<bool>(false) : absl::StatusOr<bool>(s);
      }
      case v1::TaskReport::kFail: {
        absl::Status s =
            client_.FailTask(report.fail().task_token(), report.fail().error(), report.fail().cause());
        return s.ok() ? absl::StatusOr<bool>(false) : absl::StatusOr<bool>(s);
      }
      case v1::TaskReport::kHeartbeat:
        return client_.HeartbeatTask(report.heartbeat().task_token());
      case v1::TaskReport::REPORT_NOT_SET:
        break;
    }
    return absl::InvalidArgumentError("ValidationException: the report has none of complete, fail and heartbeat");
  }

  Client& client_;
  const std::string identity_;
  SlotSink* const slots_;
  const milliseconds max_backoff_;
  std::mutex mu_;
  std::condition_variable cv_;                                 // senders: a report pending or due, exiting
  std::deque<ItemPtr> pending_;                                // guarded by mu_: not yet taken into a call
  std::multimap<SteadyClock::time_point, ItemPtr> retrying_;   // guarded by mu_: failed, to be sent again then
  int idle_senders_ = 0;                                       // guarded by mu_: senders waiting on cv_
  bool exiting_ = false;                                       // guarded by mu_
  std::vector<std::thread> senders_;                           // last: start once the members above exist
};
}  // namespace

struct Worker::Impl final : SlotSink {
  Impl(Client& c, WorkerOptions o) : client(c), options(std::move(o)) {
    if (options.identity.empty()) {
      options.identity = DefaultIdentity();
    }
    reports = std::make_unique<ReportBatcher>(c, options.identity, this, options.max_backoff);
  }

  Client& client;
  WorkerOptions options;
  std::map<std::string, TaskHandler> handlers;  // fixed once started

  // Guards everything down to run_wake_fd. Never held while calling a handler, an RPC or the log.
  std::mutex mu;
  // Three, so that an event wakes only the threads it concerns (with 64 handler slots, one condition
  // variable woke 64 executors for every slot freed and every poll answered):
  std::condition_variable slots_cv;  // pollers: free slots, polling counts, stopping
  std::condition_variable jobs_cv;   // executors: jobs, exiting
  std::condition_variable idle_cv;   // Drain: in_flight back to 0
  bool started = false;
  bool stopping = false;
  bool exiting = false;  // executors return once the job queue is empty
  int free_slots = 0;    // handler slots not reserved by a poll or a task
  int queue_share = 1;   // slots one queue's polls may reserve at once
  std::map<std::string, int> polling;  // slots reserved by the polls of each queue now
  // The pollers waiting for a slot, by when they began to wait (oldest first): a poller whose last poll found
  // nothing lets an older waiter of another queue take a freed slot first (SlotIsAnotherQueuesTurnLocked).
  std::map<std::uint64_t, std::string> waiting_pollers;
  std::uint64_t next_waiter = 0;
  int in_flight = 0;     // tasks polled and not yet reported (queued, running or being reported)
  std::deque<std::shared_ptr<Running>> jobs;  // polled, waiting for an executor (one is always free)
  std::set<std::shared_ptr<Running>> running;  // from an executor's take to the end of its report
  WorkerStats stats;
  int run_wake_fd = -1;  // Run()'s pipe, written by Stop()

  std::stop_source poll_stop;
  std::vector<std::thread> pollers;
  std::vector<std::thread> executors;
  std::unique_ptr<HeartbeatScheduler> heartbeats;  // made by Start(), destroyed after the executors
  std::unique_ptr<ReportBatcher> reports;  // made by Impl: completions, failures and heartbeats

  std::mutex stop_mu;  // serializes Stop()
  bool stop_done = false;
  absl::Status stop_status;

  // Whether Log keeps kInfo lines (only a log callback gets them): the per-task lines are not built otherwise.
  bool LogsInfo() const { return static_cast<bool>(options.log); }

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

  // Gives back `n` slots a poll of `queue` reserved and did not fill.
  void ReleaseSlots(const std::string& queue, int n) {
    {
      std::lock_guard lock(mu);
      free_slots += n;
      polling[queue] -= n;
    }
    slots_cv.notify_all();
  }

  // SlotSink: a result's call asks for tasks unless the worker stops; the tasks that came back are queued
  // for the executors (the reporters' slots pass to them).
  bool Accepting() override {
    std::lock_guard lock(mu);
    return !stopping;
  }
  void TakeOver(std::vector<v1::PollTaskResponse> tasks, int passed) override;

  void PollLoop(const std::string& queue);
  // REQUIRES: mu held. Whether a poller of another queue that began to wait before `since` may take a free slot.
  bool SlotIsAnotherQueuesTurnLocked(const std::string& queue, std::uint64_t since) const;
  void ExecutorLoop();
  // Runs the task's handler and hands its result to the reports; returns without waiting for the answer.
  void Execute(const std::shared_ptr<Running>& task);
  TaskResult CallHandler(const std::shared_ptr<Running>& task);
  // Sends one heartbeat for each of `tasks` (in one call) and acts on the answers; returns when the next of
  // each is due.
  std::vector<SteadyClock::time_point> Heartbeat(const std::vector<std::shared_ptr<Running>>& tasks);
  // Hands the result to the reports; Finish runs when its answer is known.
  void Report(const std::shared_ptr<Running>& task, const TaskResult& result);
  // The task is over (reported, or dropped): its slot is freed unless a task that came back took it.
  void Finish(const std::shared_ptr<Running>& task, bool slot_passed);
  absl::Status Drain();
};

void Worker::Impl::TakeOver(std::vector<v1::PollTaskResponse> tasks, int passed) {
  const std::size_t n = tasks.size();
  {
    std::lock_guard lock(mu);
    free_slots -= static_cast<int>(n) - passed;
    in_flight += static_cast<int>(n);
    for (v1::PollTaskResponse& task : tasks) {
      std::string queue = task.queue();
      jobs.push_back(std::make_shared<Running>(std::move(queue), std::move(task)));
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    jobs_cv.notify_one();  // an executor per job: each reporter's executor is free once its report returns
  }
}

bool Worker::Impl::SlotIsAnotherQueuesTurnLocked(const std::string& queue, std::uint64_t since) const {
  for (auto it = waiting_pollers.begin(); it != waiting_pollers.end() && it->first < since; ++it) {
    auto polls = polling.find(it->second);
    if (it->second != queue && (polls == polling.end() || polls->second < queue_share)) {
      return true;
    }
  }
  return false;
}

void Worker::Impl::PollLoop(const std::string& queue) {
  milliseconds backoff = options.initial_backoff;
  bool failing = false;
  // The last poll found nothing. Its thread would otherwise take the slot it just freed again at once (it runs;
  // the other queues' pollers are only being woken), and a queue whose polls find nothing could keep a slot
  // from a queue with tasks for as long as that lasts.
  bool found_nothing = false;
  while (true) {
    int reserved = 0;
    {
      // Every free slot, up to the queue's share: one call asks for as many tasks as can start now.
      std::unique_lock lock(mu);
      const std::uint64_t since = ++next_waiter;
      waiting_pollers.emplace(since, queue);
      slots_cv.wait(lock, [&] {
        return stopping || (free_slots > 0 && polling[queue] < queue_share &&
                            !(found_nothing && SlotIsAnotherQueuesTurnLocked(queue, since)));
      });
      waiting_pollers.erase(since);
      if (stopping) {
        return;
      }
      reserved = std::min({free_slots, queue_share - polling[queue], kMaxPollTasks});
      free_slots -= reserved;
      polling[queue] += reserved;
      if (free_slots > 0) {
        slots_cv.notify_all();  // a poller that let this one go first may take what is left
      }
    }
    absl::StatusOr<std::vector<v1::PollTaskResponse>> polled =
        client.PollTasks(queue, options.identity, reserved, options.poll_wait, poll_stop.get_token());
    if (!polled.ok()) {
      ReleaseSlots(queue, reserved);
      if (poll_stop.stop_requested()) {
        return;
      }
      Log(absl::IsUnavailable(polled.status()) ? LogSeverity::kWarning : LogSeverity::kError,
          absl::StrCat("poll ", queue, ": ", polled.status().message(), " (retrying in ", backoff.count(),
                       " ms)"));
      failing = true;
      std::unique_lock lock(mu);
      slots_cv.wait_for(lock, backoff, [&] { return stopping; });
      backoff = std::min(backoff * 2, options.max_backoff);
      continue;
    }
    if (failing) {
      Log(LogSeverity::kInfo, absl::StrCat("poll ", queue, ": connected again"));
      failing = false;
    }
    backoff = options.initial_backoff;
    const int handed = std::min(static_cast<int>(polled->size()), reserved);
    found_nothing = handed == 0;
    {
      std::lock_guard lock(mu);
      ++stats.polls;
      // The slots of the tasks stay taken until they are reported.
      free_slots += reserved - handed;
      polling[queue] -= reserved;
      in_flight += handed;
      for (int i = 0; i < handed; ++i) {
        jobs.push_back(std::make_shared<Running>(queue, std::move((*polled)[i])));
      }
    }
    if (handed < reserved) {
      slots_cv.notify_all();
    }
    for (int i = 0; i < handed; ++i) {
      jobs_cv.notify_one();  // an executor per job (one is always free for each)
    }
  }
}

void Worker::Impl::ExecutorLoop() {
  while (true) {
    std::shared_ptr<Running> task;
    {
      std::unique_lock lock(mu);
      jobs_cv.wait(lock, [&] { return exiting || !jobs.empty(); });
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
  }
}

void Worker::Impl::Finish(const std::shared_ptr<Running>& task, bool slot_passed) {
  bool idle = false;
  {
    std::lock_guard lock(mu);
    running.erase(task);
    --in_flight;
    if (!slot_passed) {
      ++free_slots;
    }
    idle = in_flight == 0;
  }
  if (!slot_passed) {
    slots_cv.notify_all();  // the pollers (two per queue) check whether the slot is their queue's to take
  }
  if (idle) {
    idle_cv.notify_all();
  }
}

void Worker::Impl::Execute(const std::shared_ptr<Running>& task) {
  const TaskContext& c = task->context;
  if (LogsInfo()) {
    Log(LogSeverity::kInfo, absl::StrCat("task started: queue=", c.queue(), " execution=", c.execution_arn(),
                                         " state=", c.state_name(), " attempt=", c.attempt()));
  }
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
  {
    // Before the result is handed over: its report may end (and Stop's drain with it) before this thread could
    // take the lock again, and stats() after Stop() must not count a handler that has returned.
    std::lock_guard lock(mu);
    --stats.running;
  }
  Report(task, result);
}

TaskResult Worker::Impl::CallHandler(const std::shared_ptr<Running>& task) {
  boost::system::error_code ec;
  const std::string& text = task->context.task().input();
  std::optional<json::value> input =
      text.empty() ? std::optional<json::value>(json::object()) : common::ParsePreciseJson(text, ec);
  if (!input) {
    return TaskError{kErrorInvalidInput, absl::StrCat("the task's input is not JSON: ", ec.message())};
  }
  const TaskHandler& handler = handlers.at(task->context.queue());
  try {
    return handler(task->context, *input);
  } catch (const std::exception& e) {
    return TaskError{kErrorException, e.what()};
  } catch (...) {
    return TaskError{kErrorException, "unknown exception"};
  }
}

std::vector<SteadyClock::time_point> Worker::Impl::Heartbeat(const std::vector<std::shared_ptr<Running>>& tasks) {
  std::vector<v1::TaskReport> beats(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    beats[i].mutable_heartbeat()->set_task_token(tasks[i]->context.task_token());
  }
  std::vector<absl::StatusOr<bool>> answers = reports->SendAll(std::move(beats));
  std::vector<SteadyClock::time_point> next(tasks.size(), kNever);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    TaskContext& context = tasks[i]->context;
    const absl::StatusOr<bool>& cancelled = answers[i];
    if (cancelled.ok()) {
      std::lock_guard lock(mu);
      ++stats.heartbeats;
    }
    if (cancelled.ok() && *cancelled) {
      context.Cancel(CancelReason::kCancelled);
    } else if (!cancelled.ok() && TaskGone(cancelled.status())) {
      context.Cancel(CancelReason::kTaskGone);
    } else if (!cancelled.ok()) {
      Log(LogSeverity::kWarning,
          absl::StrCat("heartbeat execution=", context.execution_arn(), ": ", cancelled.status().message()));
      next[i] = SteadyClock::now() + std::min(tasks[i]->heartbeat_interval, kHeartbeatRetry);
    } else {
      next[i] = SteadyClock::now() + tasks[i]->heartbeat_interval;
    }
  }
  return next;
}

void Worker::Impl::Report(const std::shared_ptr<Running>& task, const TaskResult& result) {
  if (task->reported.exchange(true)) {
    Finish(task, false);  // Stop() already failed it with Worker.Shutdown
    return;
  }
  v1::TaskReport report;
  if (result.ok()) {
    report.mutable_complete()->set_task_token(task->context.task_token());
    report.mutable_complete()->set_output(json::serialize(result.output()));
  } else {
    report.mutable_fail()->set_task_token(task->context.task_token());
    report.mutable_fail()->set_error(result.error().error);
    report.mutable_fail()->set_cause(result.error().cause);
  }
  const bool completes = result.ok();
  std::string error = completes ? "" : result.error().error;
  reports->Submit(std::move(report), task->context.queue(), SteadyClock::now() + options.report_timeout,
                  [this, task, completes, error = std::move(error)](const absl::StatusOr<bool>& outcome,
                                                                    bool slot_passed) {
                    const absl::Status& status = outcome.status();
                    if (status.ok()) {
                      std::lock_guard lock(mu);
                      ++(completes ? stats.completed : stats.failed);
                    }
                    if (!status.ok() || LogsInfo()) {
                      std::string what = absl::StrCat(completes ? "complete" : "fail", " execution=",
                                                      task->context.execution_arn(),
                                                      " state=", task->context.state_name());
                      if (!completes) {
                        absl::StrAppend(&what, " error=", error);
                      }
                      if (status.ok()) {
                        Log(LogSeverity::kInfo, what);
                      } else if (TaskGone(status)) {
                        Log(LogSeverity::kInfo, absl::StrCat(what, ": result dropped: ", status.message()));
                      } else {
                        Log(LogSeverity::kError, absl::StrCat(what, ": ", status.message()));
                      }
                    }
                    Finish(task, slot_passed);
                  });
}

absl::Status Worker::Impl::Drain() {
  std::unique_lock lock(mu);
  if (idle_cv.wait_for(lock, options.drain_timeout, [&] { return in_flight == 0; })) {
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
  if (idle_cv.wait_for(lock, options.shutdown_grace, [&] { return in_flight == 0; })) {
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
  impl_->jobs_cv.notify_all();
  for (std::thread& t : impl_->executors) {
    t.join();
  }
  impl_->heartbeats.reset();
  impl_->reports.reset();  // its senders' last answers (Finish) reach the Impl, whole until then
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
      [impl = impl_.get()](const std::vector<std::shared_ptr<Running>>& tasks) { return impl->Heartbeat(tasks); });
  for (int i = 0; i < impl_->options.concurrency; ++i) {
    impl_->executors.emplace_back([this] {
      common::NameThisThread("sf-w-handler");
      impl_->ExecutorLoop();
    });
  }
  // Each queue's polls reserve at most its share of the slots, so that the idle long polls of one queue never
  // hold every slot while another queue has tasks; a poll asks for as many tasks as it reserved slots. Two
  // poll threads per queue (one when its share is one slot): one poll is under way while the other's tasks
  // are handed to executors.
  impl_->queue_share = std::max(1, impl_->options.concurrency / static_cast<int>(impl_->handlers.size()));
  const int pollers_per_queue = std::min(kPollersPerQueue, impl_->queue_share);
  for (const auto& [queue, handler] : impl_->handlers) {
    impl_->polling[queue] = 0;
    for (int i = 0; i < pollers_per_queue; ++i) {
      impl_->pollers.emplace_back([this, q = queue] {
        common::NameThisThread("sf-w-poll");
        impl_->PollLoop(q);
      });
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
  impl_->slots_cv.notify_all();
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
  WorkerStats stats;
  {
    std::lock_guard lock(impl_->mu);
    stats = impl_->stats;
  }
  stats.reports_waiting = impl_->reports->Waiting();  // under the reports' lock, never both at once
  return stats;
}

}  // namespace stepflow::client
