// The batched worker calls of stepflow.v1.Tasks (issue 13): PollBatch hands out up to max_tasks tasks per
// call, ReportBatch answers many Complete/Fail/Heartbeat reports per call, each item as its unary call
// (tasks_service.cc) would answer it. The engine commits the reports that reach one partition together
// (Engine::ReportTasks); an item whose execution another node serves is forwarded there as its unary call.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/poll_pump.h"
#include "engine/api/task_calls.h"
#include "engine/api/tasks_service.h"

namespace stepflow::api {
namespace {

// The checks of a PollBatch request, and of each poll a ReportBatch carries.
absl::Status CheckBatchPoll(const CallGuard& guard, const ServiceEnv& env, const v1::PollTaskBatchRequest& request) {
  RETURN_IF_ERROR(CheckPoll(guard, env, request.queue(), request.worker_identity(), request.wait_seconds()));
  if (request.max_tasks() < 0 || request.max_tasks() > kMaxPollBatchTasks) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: max_tasks is ", request.max_tasks(),
                                                   "; it must be between 0 and ", kMaxPollBatchTasks));
  }
  return absl::OkStatus();
}

// One PollBatch call: checked, then parked in the pump for its first task; when that comes, the tasks
// waiting at that moment join it. Deletes itself when gRPC is done with it; it counts as a running call
// (CallGuard) for its whole life.
class PollBatchReactor final : public grpc::ServerUnaryReactor {
 public:
  PollBatchReactor(ServiceEnv& env, grpc::CallbackServerContext* context, const v1::PollTaskBatchRequest& request,
                   v1::PollTaskBatchResponse* response)
      : env_(env), guard_(env, context, Rpc::kPollTaskBatch), context_(context), response_(response) {
    absl::Status status = CheckBatchPoll(guard_, env_, request);
    if (!guard_.admitted()) {
      Finish(guard_.Refusal());
      return;
    }
    if (!status.ok()) {
      Finish(ToGrpcStatus(status, context_));
      return;
    }
    max_tasks_ = request.max_tasks() == 0 ? 1 : request.max_tasks();
    // In a cluster the first task may come from another node's partitions (the pump's fan-out); the extras
    // are the ones waiting here.
    poll_ = NewParkedPoll(*context, request.queue(), request.worker_identity(), request.wait_seconds());
    poll_->max_tasks = static_cast<std::size_t>(max_tasks_);
    poll_->max_input_bytes = kMaxPollBatchInputBytes;
    poll_->answer = [this](ParkedPoll::Result result) { Answer(std::move(result)); };
    env.poll_pump->Park(poll_);
  }

  void OnCancel() override {
    if (poll_ != nullptr) {
      poll_->cancelled.store(true);
    }
  }
  void OnDone() override { delete this; }

 private:
  // On a pump thread, once: the first task (or none, or an error).
  void Answer(ParkedPoll::Result result) {
    if (!result.ok()) {
      Finish(ToGrpcStatus(result.status(), context_));
      return;
    }
    if (result->has_value()) {
      FillPollResponse(**result, response_->add_tasks());
      std::size_t bytes = (*result)->input.size();
      for (const engine::PolledTask& t : poll_->more) {  // started with the first (this node's matcher)
        FillPollResponse(t, response_->add_tasks());
        bytes += t.input.size();
      }
      const int room = max_tasks_ - response_->tasks_size();
      if (room > 0) {
        // Only what waits now (deadline 0): the first task has started and its worker waits for it.
        std::shared_ptr<ParkedPoll> poll = poll_;
        const std::size_t budget = kMaxPollBatchInputBytes - std::min(bytes, kMaxPollBatchInputBytes);
        absl::StatusOr<std::vector<engine::PolledTask>> more =
            env_.engine->PollTasks(poll->queue, poll->identity, room, budget, /*deadline=*/0,
                                   [poll] { return poll->cancelled.load(); });
        // An error leaves the answer at the first task; the next poll meets the error again.
        if (more.ok()) {
          for (const engine::PolledTask& t : *more) {
            FillPollResponse(t, response_->add_tasks());
          }
        }
      }
    }
    Finish(grpc::Status::OK);  // no task: an empty response
  }

  ServiceEnv& env_;
  CallGuard guard_;
  grpc::CallbackServerContext* context_;
  v1::PollTaskBatchResponse* response_;
  int max_tasks_ = 1;
  std::shared_ptr<ParkedPoll> poll_;
};

// `status` (an error of polls[i]) with the poll named after its error name: "ValidationException: polls[2]: ...".
absl::Status AtPoll(int i, const absl::Status& status) {
  absl::string_view text = status.message();
  const std::string_view prefix = ErrorNamePrefix(std::string_view(text.data(), text.size()));
  if (!prefix.empty()) {
    text.remove_prefix(prefix.size() + 1);
    absl::ConsumePrefix(&text, " ");
  }
  return absl::Status(status.code(), absl::StrCat(ErrorName(status), ": polls[", i, "]: ", text));
}

// The bounds of the whole call, and its polls.
absl::Status CheckReportBatch(const CallGuard& guard, const ServiceEnv& env,
                              const v1::ReportTaskBatchRequest& request) {
  if (request.reports_size() > kMaxReportBatchItems) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: reports has ", request.reports_size(),
                                                   " items; the limit is ", kMaxReportBatchItems,
                                                   " per call (split them)"));
  }
  if (const std::size_t bytes = request.ByteSizeLong(); bytes > kMaxReportBatchBytes) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: the reports are ", bytes,
                                                   " bytes; the limit is ", kMaxReportBatchBytes,
                                                   " per call (split them)"));
  }
  if (request.polls_size() > kMaxReportBatchPolls) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: polls has ", request.polls_size(),
                                                   " items; the limit is ", kMaxReportBatchPolls, " per call"));
  }
  std::set<std::string> queues;
  int asked = 0;  // tasks the polls ask for together
  for (int i = 0; i < request.polls_size(); ++i) {
    const v1::PollTaskBatchRequest& poll = request.polls(i);
    absl::Status checked = CheckBatchPoll(guard, env, poll);
    if (checked.ok() && poll.wait_seconds() != 0) {
      checked = absl::InvalidArgumentError(absl::StrCat("ValidationException: wait_seconds is ", poll.wait_seconds(),
                                                        "; a report's poll does not wait (0)"));
    }
    if (checked.ok() && !queues.insert(poll.queue()).second) {
      checked = absl::InvalidArgumentError(
          absl::StrCat("ValidationException: queue '", poll.queue(), "' has an earlier poll in this call"));
    }
    if (!checked.ok()) {
      return AtPoll(i, checked);
    }
    asked += std::max(1, poll.max_tasks());
  }
  // As one PollBatch's bound, so that the answer's tasks (their tokens, names and ARNs beside the inputs'
  // 4 MiB) stay well within a message.
  if (asked > kMaxPollBatchTasks) {
    return absl::InvalidArgumentError(absl::StrCat("ValidationException: the polls ask for ", asked,
                                                   " tasks together; the limit is ", kMaxPollBatchTasks));
  }
  return CheckNotStopping(env);
}

// One report as the engine takes it, checked as its unary call checks it.
absl::StatusOr<engine::TaskReport> ToTaskReport(const v1::TaskReport& report) {
  engine::TaskReport r;
  switch (report.report_case()) {
    case v1::TaskReport::kComplete:
      r.kind = engine::TaskReport::Kind::kComplete;
      r.token = report.complete().task_token();
      r.output = report.complete().output();
      break;
    case v1::TaskReport::kFail:
      r.kind = engine::TaskReport::Kind::kFail;
      r.token = report.fail().task_token();
      r.error = report.fail().error();
      r.cause = report.fail().cause();
      RETURN_IF_ERROR(CheckFailFields(r.error, r.cause));
      break;
    case v1::TaskReport::kHeartbeat:
      r.kind = engine::TaskReport::Kind::kHeartbeat;
      r.token = report.heartbeat().task_token();
      break;
    case v1::TaskReport::REPORT_NOT_SET:
      return absl::InvalidArgumentError("ValidationException: the report has none of complete, fail and heartbeat");
  }
  RETURN_IF_ERROR(RequireField(r.token, "task_token"));
  return r;
}

// `outcome` as it is, unless it says another node serves the task's execution: then that node's answer to
// the report sent as its unary call.
absl::StatusOr<bool> ForwardReport(ServiceEnv& env, const v1::TaskReport& report, const absl::Status& outcome,
                                   const ForwardContext& from) {
  switch (report.report_case()) {
    case v1::TaskReport::kComplete: {
      v1::CompleteTaskResponse response;
      RETURN_IF_ERROR(ForwardIfElsewhere(env, Rpc::kCompleteTask, outcome, report.complete(), &response, from));
      return false;
    }
    case v1::TaskReport::kFail: {
      v1::FailTaskResponse response;
      RETURN_IF_ERROR(ForwardIfElsewhere(env, Rpc::kFailTask, outcome, report.fail(), &response, from));
      return false;
    }
    case v1::TaskReport::kHeartbeat: {
      v1::HeartbeatTaskResponse response;
      RETURN_IF_ERROR(ForwardIfElsewhere(env, Rpc::kHeartbeatTask, outcome, report.heartbeat(), &response, from));
      return response.cancelled();
    }
    case v1::TaskReport::REPORT_NOT_SET:
      break;
  }
  return outcome;
}

// What the unary call would have answered, as one result of the batch (the one error mapping).
void SetResult(const absl::StatusOr<bool>& outcome, v1::TaskReportResult* result) {
  if (outcome.ok()) {
    result->set_cancelled(*outcome);
    return;
  }
  const grpc::Status status = ToGrpcStatus(outcome.status(), nullptr);
  result->set_code(status.error_code());
  result->set_error(ErrorName(outcome.status()));
  result->set_message(status.error_message());
}

}  // namespace

grpc::ServerUnaryReactor* TasksService::PollBatch(grpc::CallbackServerContext* context,
                                                  const v1::PollTaskBatchRequest* request,
                                                  v1::PollTaskBatchResponse* response) {
  return new PollBatchReactor(*env_, context, *request, response);
}

grpc::Status TasksService::ReportBatch(grpc::ServerContext* context, const v1::ReportTaskBatchRequest* request,
                                       v1::ReportTaskBatchResponse* response) {
  CallGuard guard(*env_, context, Rpc::kReportTaskBatch);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  if (absl::Status status = CheckReportBatch(guard, *env_, *request); !status.ok()) {
    return ToGrpcStatus(status, context);
  }
  const int n = request->reports_size();
  std::vector<absl::StatusOr<bool>> outcomes(n, false);
  std::vector<engine::TaskReport> checked;
  std::vector<int> positions;  // of `checked` in the request
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<engine::TaskReport> report = ToTaskReport(request->reports(i));
    if (!report.ok()) {
      outcomes[i] = report.status();
      continue;
    }
    checked.push_back(*std::move(report));
    positions.push_back(i);
  }
  std::vector<absl::StatusOr<bool>> answers;
  if (request->polls_size() == 0) {
    answers = env_->engine->ReportTasks(checked);
  } else {
    std::vector<engine::SlotPoll> polls;
    for (const v1::PollTaskBatchRequest& p : request->polls()) {
      polls.push_back(engine::SlotPoll{p.queue(), p.worker_identity(), p.max_tasks() == 0 ? 1 : p.max_tasks(),
                                       kMaxPollBatchInputBytes / static_cast<std::size_t>(request->polls_size()),
                                       [context] { return context->IsCancelled(); }});
    }
    engine::ReportsAndTasks done = env_->engine->ReportTasksAndPoll(checked, polls);
    answers = std::move(done.results);
    for (const std::vector<engine::PolledTask>& tasks : done.tasks) {
      for (const engine::PolledTask& t : tasks) {
        FillPollResponse(t, response->add_tasks());
      }
    }
  }
  for (std::size_t k = 0; k < answers.size(); ++k) {
    outcomes[positions[k]] = std::move(answers[k]);
  }
  const ForwardContext from = ForwardContextOf(*context);
  for (int i = 0; i < n; ++i) {
    if (!outcomes[i].ok() && env_->forwarder != nullptr) {
      outcomes[i] = ForwardReport(*env_, request->reports(i), outcomes[i].status(), from);
    }
    SetResult(outcomes[i], response->add_results());
  }
  return grpc::Status::OK;
}

}  // namespace stepflow::api
