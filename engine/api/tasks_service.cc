#include "engine/api/tasks_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/handlers.h"
#include "engine/api/poll_pump.h"
#include "engine/api/task_calls.h"

namespace stepflow::api {
namespace {

// What every report on a task checks first.
absl::Status CheckTaskCall(const ServiceEnv& env, const std::string& token) {
  RETURN_IF_ERROR(RequireField(token, "task_token"));
  return CheckNotStopping(env);
}

// One Poll call: checked, then parked in the pump until it is answered. Deletes itself when gRPC is done
// with it; it counts as a running call (CallGuard) for its whole life.
class PollReactor final : public grpc::ServerUnaryReactor {
 public:
  PollReactor(ServiceEnv& env, grpc::CallbackServerContext* context, const v1::PollTaskRequest& request,
              v1::PollTaskResponse* response)
      : guard_(env, context, Rpc::kPollTask), context_(context), response_(response) {
    absl::Status status = Check(env, request);
    if (!guard_.admitted()) {
      Finish(guard_.Refusal());
      return;
    }
    if (!status.ok()) {
      Finish(ToGrpcStatus(status, context_));
      return;
    }
    poll_ = NewParkedPoll(*context, request.queue(), request.worker_identity(), request.wait_seconds());
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
  absl::Status Check(ServiceEnv& env, const v1::PollTaskRequest& request) {
    return CheckPoll(guard_, env, request.queue(), request.worker_identity(), request.wait_seconds());
  }

  void Answer(ParkedPoll::Result result) {
    if (!result.ok()) {
      Finish(ToGrpcStatus(result.status(), context_));
      return;
    }
    if (result->has_value()) {
      FillPollResponse(**result, response_);
      spdlog::debug("task started execution={} state={} queue={} worker={}", (*result)->execution_arn,
                    (*result)->state_name, (*result)->queue, poll_->identity);
    }
    Finish(grpc::Status::OK);  // no task: an empty response
  }

  CallGuard guard_;
  grpc::CallbackServerContext* context_;
  v1::PollTaskResponse* response_;
  std::shared_ptr<ParkedPoll> poll_;
};

}  // namespace

grpc::ServerUnaryReactor* TasksService::Poll(grpc::CallbackServerContext* context,
                                             const v1::PollTaskRequest* request, v1::PollTaskResponse* response) {
  return new PollReactor(*env_, context, *request, response);
}

grpc::Status TasksService::Complete(grpc::ServerContext* context, const v1::CompleteTaskRequest* request,
                                    v1::CompleteTaskResponse* response) {
  CallGuard guard(*env_, context, Rpc::kCompleteTask);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  absl::Status status = CheckTaskCall(*env_, request->task_token());
  if (status.ok()) {
    status = env_->engine->CompleteTask(request->task_token(), request->output());
  }
  status = ForwardIfElsewhere(*env_, Rpc::kCompleteTask, status, *request, response, ForwardContextOf(*context));
  return ToGrpcStatus(status, context);
}

grpc::Status TasksService::Fail(grpc::ServerContext* context, const v1::FailTaskRequest* request,
                                v1::FailTaskResponse* response) {
  CallGuard guard(*env_, context, Rpc::kFailTask);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  absl::Status status = CheckTaskCall(*env_, request->task_token());
  if (status.ok()) {
    status = CheckFailFields(request->error(), request->cause());
  }
  if (status.ok()) {
    status = env_->engine->FailTask(request->task_token(), request->error(), request->cause());
  }
  status = ForwardIfElsewhere(*env_, Rpc::kFailTask, status, *request, response, ForwardContextOf(*context));
  return ToGrpcStatus(status, context);
}

grpc::Status TasksService::Heartbeat(grpc::ServerContext* context, const v1::HeartbeatTaskRequest* request,
                                     v1::HeartbeatTaskResponse* response) {
  CallGuard guard(*env_, context, Rpc::kHeartbeatTask);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  if (absl::Status status = CheckTaskCall(*env_, request->task_token()); !status.ok()) {
    return ToGrpcStatus(status, context);
  }
  absl::StatusOr<bool> cancelled = env_->engine->HeartbeatTask(request->task_token());
  if (!cancelled.ok()) {
    // Forwarded: the serving node's answer is in `response`.
    return ToGrpcStatus(ForwardIfElsewhere(*env_, Rpc::kHeartbeatTask, cancelled.status(), *request, response,
                                           ForwardContextOf(*context)),
                        context);
  }
  response->set_cancelled(*cancelled);
  return grpc::Status::OK;
}

grpc::Status DeadLettersService::List(grpc::ServerContext* context, const v1::ListDeadLettersRequest* request,
                                      v1::ListDeadLettersResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kListDeadLetters, *request, response, ListDeadLetters);
}

grpc::Status DeadLettersService::Get(grpc::ServerContext* context, const v1::GetDeadLetterRequest* request,
                                     v1::DeadLetter* response) {
  return AdaptUnary(*env_, context, Rpc::kGetDeadLetter, *request, response, GetDeadLetter);
}

grpc::Status DeadLettersService::Redrive(grpc::ServerContext* context, const v1::RedriveDeadLettersRequest* request,
                                         v1::RedriveDeadLettersResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kRedriveDeadLetters, *request, response, RedriveDeadLetters);
}

grpc::Status DeadLettersService::Discard(grpc::ServerContext* context, const v1::DiscardDeadLettersRequest* request,
                                         v1::DiscardDeadLettersResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kDiscardDeadLetters, *request, response, DiscardDeadLetters);
}

}  // namespace stepflow::api
