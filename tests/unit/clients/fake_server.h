#pragma once
// A minimal in-process gRPC server for the client-side tests: a fake Tasks service that hands out the tasks
// a test queues and records what workers report, a fake DeadLetters service over a fixed list, and
// Executions.Redrive. Listens on 127.0.0.1:0.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "stepflow/v1/stepflow.grpc.pb.h"

namespace stepflow::testing {

namespace v1 = ::stepflow::v1;

struct Report {
  std::string token;
  bool completed = false;
  std::string output;  // Complete
  std::string error;   // Fail
  std::string cause;
};

class FakeTasks final : public v1::Tasks::Service {
 public:
  // Queues a task on `queue`; returns its token ("t1", "t2", ...).
  std::string Add(const std::string& queue, const std::string& input, int heartbeat_seconds = 0,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
    std::lock_guard lock(mu_);
    v1::PollTaskResponse task;
    task.set_task_token("t" + std::to_string(++next_));
    task.set_input(input);
    task.set_queue(queue);
    task.mutable_context()->set_execution_arn("arn:aws:states:local:0:execution:m:" + task.task_token());
    task.mutable_context()->set_state_name("Work");
    task.mutable_context()->set_attempt(0);
    task.mutable_context()->set_heartbeat_seconds(heartbeat_seconds);
    if (timeout.count() > 0) {
      auto deadline = std::chrono::system_clock::now() + timeout;
      auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
      task.mutable_context()->mutable_deadline()->set_seconds(nanos / 1000000000);
      task.mutable_context()->mutable_deadline()->set_nanos(static_cast<int>(nanos % 1000000000));
    }
    queues_[queue].push_back(task);
    cv_.notify_all();
    return task.task_token();
  }

  // Heartbeats of `token` answer cancelled = true from now on.
  void CancelTask(const std::string& token) {
    std::lock_guard lock(mu_);
    cancelled_.insert(token);
  }
  // Heartbeats of `token` answer FAILED_PRECONDITION (TaskTimedOut) from now on.
  void ForgetTask(const std::string& token) {
    std::lock_guard lock(mu_);
    gone_.insert(token);
  }
  // The next `n` polls answer UNAVAILABLE.
  void FailPolls(int n) {
    std::lock_guard lock(mu_);
    failing_polls_ = n;
  }
  // Each ReportBatch call from now on takes `delay` before it answers (as a server's synced commit does).
  void SetReportBatchDelay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mu_);
    report_batch_delay_ = delay;
  }

  // The next `n` ReportBatch calls answer UNAVAILABLE (recording nothing).
  void FailReportBatches(int n) {
    std::lock_guard lock(mu_);
    failing_report_batches_ = n;
  }
  // While held, each ReportBatch call waits (counted among those under way) until the hold ends.
  void HoldReportBatches(bool hold) {
    {
      std::lock_guard lock(mu_);
      hold_report_batches_ = hold;
    }
    cv_.notify_all();
  }

  // Waits until `done()` (called under the lock) holds, at most `timeout`.
  bool WaitFor(const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, done);
  }

  std::vector<Report> reports() {
    std::lock_guard lock(mu_);
    return reports_;
  }
  // The report of `token`; an empty token when none.
  Report ReportOf(const std::string& token) {
    std::lock_guard lock(mu_);
    for (const Report& r : reports_) {
      if (r.token == token) {
        return r;
      }
    }
    return {};
  }
  int heartbeats(const std::string& token) {
    std::lock_guard lock(mu_);
    return heartbeats_[token];
  }
  int polls() { return Read(polls_); }
  // The most tasks handed out and not yet reported plus polls in progress, ever: a worker with N slots
  // keeps this at most N.
  int max_busy() { return Read(max_busy_); }

  // Unlocked reads for WaitFor predicates (which run under the lock).
  std::size_t reports_locked() const { return reports_.size(); }
  int heartbeats_locked(const std::string& token) { return heartbeats_[token]; }
  int polls_locked() const { return polls_; }
  int report_batches_under_way_locked() const { return reporting_; }
  // The polls of one queue so far.
  int polls_of(const std::string& queue) {
    std::lock_guard lock(mu_);
    auto it = polls_by_queue_.find(queue);
    return it == polls_by_queue_.end() ? 0 : it->second;
  }

  grpc::Status Poll(grpc::ServerContext* context, const v1::PollTaskRequest* request,
                    v1::PollTaskResponse* response) override {
    std::vector<v1::PollTaskResponse> tasks;
    grpc::Status status = Take(context, request->queue(), request->wait_seconds(), 1, tasks);
    if (!tasks.empty()) {
      *response = std::move(tasks.front());
    }
    return status;
  }

  // Up to max_tasks of the waiting tasks; each poll counts once in polls(), its max_tasks slots in max_busy().
  grpc::Status PollBatch(grpc::ServerContext* context, const v1::PollTaskBatchRequest* request,
                         v1::PollTaskBatchResponse* response) override {
    std::vector<v1::PollTaskResponse> tasks;
    grpc::Status status = Take(context, request->queue(), request->wait_seconds(),
                               std::max(1, request->max_tasks()), tasks);
    {
      std::lock_guard lock(mu_);
      max_batch_ = std::max(max_batch_, static_cast<int>(tasks.size()));
    }
    for (v1::PollTaskResponse& t : tasks) {
      *response->add_tasks() = std::move(t);
    }
    return status;
  }

  // Each report answered as its unary call; counts the calls in report_batches(). Then each of the call's
  // polls takes up to its max_tasks of the tasks waiting in its queue (counted in report_poll_tasks()).
  grpc::Status ReportBatch(grpc::ServerContext*, const v1::ReportTaskBatchRequest* request,
                           v1::ReportTaskBatchResponse* response) override {
    std::chrono::milliseconds delay{0};
    int asked = 0;
    for (const v1::PollTaskBatchRequest& poll : request->polls()) {
      asked += std::max(1, poll.max_tasks());
    }
    if (asked > 256) {  // the server's bound on a call's polls together
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "ValidationException: the polls ask for " +
                                                                  std::to_string(asked) + " tasks together");
    }
    {
      std::unique_lock lock(mu_);
      if (failing_report_batches_ > 0) {
        --failing_report_batches_;
        ++failed_report_batches_;
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "ServiceUnavailable: failing on purpose");
      }
      most_asked_ = std::max(most_asked_, asked);
      ++report_batches_;
      max_report_batch_ = std::max(max_report_batch_, request->reports_size());
      ++reporting_;
      max_reporting_ = std::max(max_reporting_, reporting_);
      delay = report_batch_delay_;
      cv_.notify_all();  // a WaitFor on the calls under way
      cv_.wait(lock, [&] { return !hold_report_batches_; });
    }
    if (delay.count() > 0) {
      std::this_thread::sleep_for(delay);
    }
    for (const v1::TaskReport& r : request->reports()) {
      grpc::Status status;
      v1::HeartbeatTaskResponse beat;
      if (r.has_complete()) {
        status = Record({r.complete().task_token(), true, r.complete().output(), "", ""});
      } else if (r.has_fail()) {
        status = Record({r.fail().task_token(), false, "", r.fail().error(), r.fail().cause()});
      } else {
        status = Beat(r.heartbeat().task_token(), &beat);
      }
      v1::TaskReportResult* result = response->add_results();
      result->set_code(status.error_code());
      result->set_message(status.error_message());
      result->set_cancelled(beat.cancelled());
    }
    std::lock_guard lock(mu_);
    --reporting_;
    for (const v1::TaskReport& r : request->reports()) {
      if (request->polls_size() > 0 && !r.has_heartbeat()) {
        reported_with_polls_.insert(r.has_complete() ? r.complete().task_token() : r.fail().task_token());
      }
    }
    for (const v1::PollTaskBatchRequest& poll : request->polls()) {
      ++report_polls_;
      auto& queue = queues_[poll.queue()];
      for (int n = 0; n < std::max(1, poll.max_tasks()) && !queue.empty(); ++n) {
        *response->add_tasks() = std::move(queue.front());
        queue.pop_front();
        ++outstanding_;
        ++report_poll_tasks_;
      }
    }
    Busy();
    return grpc::Status::OK;
  }
  // Polls that ReportBatch calls carried, and the tasks they took.
  int report_polls() { return Read(report_polls_); }
  int report_poll_tasks() { return Read(report_poll_tasks_); }
  // The most tasks one ReportBatch call's polls asked for together.
  int most_asked() { return Read(most_asked_); }
  // Whether the result of `token` came in a ReportBatch call that carried polls.
  bool ReportedWithPolls(const std::string& token) {
    std::lock_guard lock(mu_);
    return reported_with_polls_.count(token) != 0;
  }
  // The most tasks one PollBatch handed out, and the most reports one ReportBatch carried.
  int max_batch() { return Read(max_batch_); }
  int max_report_batch() { return Read(max_report_batch_); }
  int report_batches() { return Read(report_batches_); }
  // ReportBatch calls answered UNAVAILABLE by FailReportBatches.
  int failed_report_batches() { return Read(failed_report_batches_); }
  // The most ReportBatch calls under way at once, ever.
  int max_concurrent_report_batches() { return Read(max_reporting_); }
  // Completions and failures of a task already reported (answered OK, recorded once).
  int repeated_reports() { return Read(repeated_reports_); }
  // Complete and Fail calls (not in a batch).
  int unary_reports() { return Read(unary_reports_); }

  grpc::Status Complete(grpc::ServerContext*, const v1::CompleteTaskRequest* request,
                        v1::CompleteTaskResponse*) override {
    CountUnary();
    return Record({request->task_token(), true, request->output(), "", ""});
  }

  grpc::Status Fail(grpc::ServerContext*, const v1::FailTaskRequest* request,
                    v1::FailTaskResponse*) override {
    CountUnary();
    return Record({request->task_token(), false, "", request->error(), request->cause()});
  }

  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatTaskRequest* request,
                         v1::HeartbeatTaskResponse* response) override {
    return Beat(request->task_token(), response);
  }

 private:
  // A counter, read under the lock.
  int Read(const int& counter) {
    std::lock_guard lock(mu_);
    return counter;
  }

  void CountUnary() {
    std::lock_guard lock(mu_);
    ++unary_reports_;
  }

  grpc::Status Take(grpc::ServerContext* context, const std::string& queue_name, int wait_seconds, int max,
                    std::vector<v1::PollTaskResponse>& tasks) {
    std::unique_lock lock(mu_);
    ++polls_;
    ++polls_by_queue_[queue_name];
    cv_.notify_all();
    if (failing_polls_ > 0) {
      --failing_polls_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake outage");
    }
    polling_ += max;
    Busy();
    auto wait = std::chrono::seconds(wait_seconds == 0 ? 20 : wait_seconds);
    auto until = std::chrono::steady_clock::now() + wait;
    auto& queue = queues_[queue_name];
    while (queue.empty() && !context->IsCancelled() && std::chrono::steady_clock::now() < until) {
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    polling_ -= max;
    while (!queue.empty() && !context->IsCancelled() && static_cast<int>(tasks.size()) < max) {
      tasks.push_back(queue.front());
      queue.pop_front();
      ++outstanding_;
    }
    Busy();
    return grpc::Status::OK;
  }

  grpc::Status Beat(const std::string& token, v1::HeartbeatTaskResponse* response) {
    std::lock_guard lock(mu_);
    if (gone_.count(token) != 0) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "TaskTimedOut: the task timed out");
    }
    ++heartbeats_[token];
    response->set_cancelled(cancelled_.count(token) != 0);
    cv_.notify_all();
    return grpc::Status::OK;
  }

  grpc::Status Record(Report report) {
    std::lock_guard lock(mu_);
    if (!reported_.insert(report.token).second) {
      ++repeated_reports_;
      return grpc::Status::OK;  // repeated: changes nothing
    }
    --outstanding_;
    reports_.push_back(std::move(report));
    cv_.notify_all();
    return grpc::Status::OK;
  }
  void Busy() { max_busy_ = std::max(max_busy_, outstanding_ + polling_); }

  std::mutex mu_;
  std::condition_variable cv_;
  int next_ = 0;
  std::map<std::string, std::deque<v1::PollTaskResponse>> queues_;
  std::set<std::string> cancelled_;
  std::set<std::string> gone_;
  std::set<std::string> reported_;
  std::vector<Report> reports_;
  std::map<std::string, int> heartbeats_;
  int failing_polls_ = 0;
  int polls_ = 0;
  std::map<std::string, int> polls_by_queue_;
  int polling_ = 0;
  int outstanding_ = 0;
  int max_busy_ = 0;
  int max_batch_ = 0;
  int max_report_batch_ = 0;
  int report_batches_ = 0;
  int unary_reports_ = 0;
  int reporting_ = 0;       // ReportBatch calls under way
  int max_reporting_ = 0;
  int repeated_reports_ = 0;
  int report_polls_ = 0;
  int most_asked_ = 0;
  std::set<std::string> reported_with_polls_;
  int report_poll_tasks_ = 0;
  std::chrono::milliseconds report_batch_delay_{0};
  bool hold_report_batches_ = false;
  int failing_report_batches_ = 0;
  int failed_report_batches_ = 0;
};

// Dead letters over a fixed list; List pages one entry at a time (to exercise paging).
class FakeDeadLetters final : public v1::DeadLetters::Service {
 public:
  std::vector<v1::DeadLetter> entries;
  std::vector<v1::RedriveDeadLettersRequest> redrives;
  std::vector<v1::DiscardDeadLettersRequest> discards;

  grpc::Status List(grpc::ServerContext*, const v1::ListDeadLettersRequest* request,
                    v1::ListDeadLettersResponse* response) override {
    std::lock_guard lock(mu_);
    std::vector<const v1::DeadLetter*> matching = Matching(request->filter());
    std::size_t start = request->page_token().empty() ? 0 : std::stoul(request->page_token());
    if (start < matching.size()) {
      *response->add_dead_letters() = *matching[start];
    }
    if (start + 1 < matching.size()) {
      response->set_next_page_token(std::to_string(start + 1));
    }
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext*, const v1::GetDeadLetterRequest* request,
                   v1::DeadLetter* response) override {
    std::lock_guard lock(mu_);
    for (const v1::DeadLetter& d : entries) {
      if (d.id() == request->id()) {
        *response = d;
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "DeadLetterDoesNotExist: no dead letter " + request->id());
  }

  grpc::Status Redrive(grpc::ServerContext*, const v1::RedriveDeadLettersRequest* request,
                       v1::RedriveDeadLettersResponse* response) override {
    std::lock_guard lock(mu_);
    redrives.push_back(*request);
    return Outcomes(request->id(), request->has_filter() ? &request->filter() : nullptr, /*redrive=*/true,
                    response->mutable_outcomes());
  }

  grpc::Status Discard(grpc::ServerContext*, const v1::DiscardDeadLettersRequest* request,
                       v1::DiscardDeadLettersResponse* response) override {
    std::lock_guard lock(mu_);
    discards.push_back(*request);
    return Outcomes(request->id(), request->has_filter() ? &request->filter() : nullptr, /*redrive=*/false,
                    response->mutable_outcomes());
  }

 private:
  // Filters by queue and error only (enough for the CLI's tests).
  std::vector<const v1::DeadLetter*> Matching(const v1::DeadLetterFilter& filter) {
    std::vector<const v1::DeadLetter*> out;
    for (const v1::DeadLetter& d : entries) {
      if ((filter.queue().empty() || filter.queue() == d.queue()) &&
          (filter.error().empty() || filter.error() == d.error())) {
        out.push_back(&d);
      }
    }
    return out;
  }
  // An entry whose state_name is "Caught" cannot be redriven (its execution went on).
  grpc::Status Outcomes(const std::string& id, const v1::DeadLetterFilter* filter, bool redrive,
                        google::protobuf::RepeatedPtrField<v1::DeadLetterOutcome>* outcomes) {
    if (id.empty() == (filter == nullptr)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "InvalidArgument: exactly one of id and filter");
    }
    std::vector<const v1::DeadLetter*> chosen;
    if (filter != nullptr) {
      chosen = Matching(*filter);
    } else {
      for (const v1::DeadLetter& d : entries) {
        if (d.id() == id) {
          chosen.push_back(&d);
        }
      }
      if (chosen.empty()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "DeadLetterDoesNotExist: no dead letter " + id);
      }
    }
    for (const v1::DeadLetter* d : chosen) {
      v1::DeadLetterOutcome* o = outcomes->Add();
      o->set_id(d->id());
      o->set_execution_arn(d->execution_arn());
      if (redrive && d->state_name() == "Caught") {
        o->set_error("ExecutionNotRedrivable: the execution caught the failure");
      }
    }
    return grpc::Status::OK;
  }

  std::mutex mu_;
};

// Executions.Redrive only: "arn:running" is not redrivable; anything else comes back RUNNING.
class FakeExecutions final : public v1::Executions::Service {
 public:
  grpc::Status Redrive(grpc::ServerContext*, const v1::RedriveExecutionRequest* request,
                       v1::Execution* response) override {
    if (request->execution_arn() == "arn:running") {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "ExecutionNotRedrivable: the execution is RUNNING");
    }
    response->set_arn(request->execution_arn());
    response->set_name("e");
    response->set_status(v1::RUNNING);
    response->set_redrive_count(1);
    return grpc::Status::OK;
  }
};

// The fake services on 127.0.0.1:0.
class FakeServer {
 public:
  FakeServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&tasks);
    builder.RegisterService(&dead_letters);
    builder.RegisterService(&executions);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  FakeTasks tasks;
  FakeDeadLetters dead_letters;
  FakeExecutions executions;

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace stepflow::testing
