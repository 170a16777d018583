#include "engine/api/tasks_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/page_tokens.h"
#include "engine/api/poll_pump.h"

namespace stepflow::api {
namespace {

constexpr int kDefaultPollSeconds = 20;
constexpr int kMaxPollSeconds = 60;
// Poll answers this long before the call's deadline, so that the empty answer reaches the client in time.
constexpr common::EpochMillis kPollMarginMs = 100;

void AddOutcomes(const std::vector<engine::DeadLetterOutcome>& outcomes,
                 google::protobuf::RepeatedPtrField<v1::DeadLetterOutcome>* out) {
  for (const engine::DeadLetterOutcome& o : outcomes) {
    v1::DeadLetterOutcome* p = out->Add();
    p->set_id(o.id);
    p->set_execution_arn(o.execution_arn);
    if (!o.status.ok()) {
      p->set_error(std::string(o.status.message()));
    }
  }
}

absl::Status RequireOneSelector(const std::string& id, bool has_filter) {
  if (!id.empty() && has_filter) {
    return absl::InvalidArgumentError("ValidationException: give either id or filter, not both");
  }
  if (id.empty() && !has_filter) {
    return absl::InvalidArgumentError(
        "ValidationException: give an id, or a filter (an empty filter selects every dead letter)");
  }
  return absl::OkStatus();
}

// What every report on a task checks first.
absl::Status CheckTaskCall(const ServiceEnv& env, const std::string& token) {
  RETURN_IF_ERROR(RequireField(token, "task_token"));
  return CheckNotStopping(env);
}


void FillPollResponse(const engine::PolledTask& t, v1::PollTaskResponse* response) {
  response->set_task_token(t.token);
  response->set_input(t.input);
  response->set_queue(t.queue);
  v1::TaskContext* c = response->mutable_context();
  c->set_execution_arn(t.execution_arn);
  c->set_state_machine_arn(t.state_machine_arn);
  c->set_state_name(t.state_name);
  c->set_attempt(t.attempt);
  if (t.deadline != 0) {
    *c->mutable_deadline() = ToTimestamp(t.deadline);
  }
  c->set_heartbeat_seconds(t.heartbeat_seconds);
  *c->mutable_scheduled() = ToTimestamp(t.scheduled);
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
    const int wait = request.wait_seconds() == 0 ? kDefaultPollSeconds : request.wait_seconds();
    poll_ = std::make_shared<ParkedPoll>();
    poll_->queue = request.queue();
    poll_->identity = request.worker_identity();
    poll_->deadline = NowMillis() + wait * 1000;
    if (std::optional<common::EpochMillis> call = CallDeadline(*context)) {
      poll_->deadline = std::min(poll_->deadline, *call - kPollMarginMs);
    }
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
    RETURN_IF_ERROR(RequireField(request.queue(), "queue"));
    RETURN_IF_ERROR(guard_.AdmitQueue(request.queue()));
    RETURN_IF_ERROR(CheckByteLimit(request.queue(), "queue", kMaxQueueNameBytes));
    RETURN_IF_ERROR(CheckTextLimit(request.worker_identity(), "worker_identity", kMaxWorkerIdentityChars));
    if (request.wait_seconds() < 0 || request.wait_seconds() > kMaxPollSeconds) {
      return absl::InvalidArgumentError(
          absl::StrCat("ValidationException: wait_seconds must be between 0 and ", kMaxPollSeconds));
    }
    return CheckNotStopping(env);
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
    status = CheckTextLimit(request->error(), "error", kMaxErrorNameChars);
  }
  if (status.ok()) {
    status = CheckByteLimit(request->cause(), "cause", kMaxCauseBytes);
  }
  if (status.ok()) {
    status = env_->engine->FailTask(request->task_token(), request->error(), request->cause());
  }
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
    return ToGrpcStatus(cancelled.status(), context);
  }
  response->set_cancelled(*cancelled);
  return grpc::Status::OK;
}

grpc::Status DeadLettersService::List(grpc::ServerContext* context, const v1::ListDeadLettersRequest* request,
                                      v1::ListDeadLettersResponse* response) {
  CallGuard guard(*env_, context, Rpc::kListDeadLetters);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  absl::StatusOr<int> page_size = PageSize(request->page_size(), kDefaultListPageSize);
  if (!page_size.ok()) {
    return ToGrpcStatus(page_size.status(), context);
  }
  const std::string scope = request->filter().SerializeAsString();
  absl::StatusOr<std::string> page_token = OpenPageToken(*env_->engine, "dead-letters", scope, request->page_token());
  absl::Status checked = page_token.ok() ? CheckTimestamps(request->filter()) : page_token.status();
  if (!checked.ok()) {
    return ToGrpcStatus(checked, context);
  }
  absl::StatusOr<engine::Page<engine::DeadLetterRecord>> page =
      env_->engine->ListDeadLetters(FromProto(request->filter()), *page_size, *page_token);
  if (!page.ok()) {
    return ToGrpcStatus(page.status(), context);
  }
  for (const engine::DeadLetterRecord& r : page->items) {
    *response->add_dead_letters() = ToProto(r);
  }
  response->set_next_page_token(SealPageToken(*env_->engine, "dead-letters", scope, page->next_page_token));
  return grpc::Status::OK;
}

grpc::Status DeadLettersService::Get(grpc::ServerContext* context, const v1::GetDeadLetterRequest* request,
                                     v1::DeadLetter* response) {
  CallGuard guard(*env_, context, Rpc::kGetDeadLetter);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  if (absl::Status s = RequireField(request->id(), "id"); !s.ok()) {
    return ToGrpcStatus(s, context);
  }
  absl::StatusOr<engine::DeadLetterRecord> r = env_->engine->GetDeadLetter(request->id());
  if (!r.ok()) {
    return ToGrpcStatus(r.status(), context);
  }
  *response = ToProto(*r);
  return grpc::Status::OK;
}

grpc::Status DeadLettersService::Redrive(grpc::ServerContext* context, const v1::RedriveDeadLettersRequest* request,
                                         v1::RedriveDeadLettersResponse* response) {
  std::optional<std::string> input;
  if (!request->input().empty()) {
    input = request->input();
  }
  return Bulk(
      context, Rpc::kRedriveDeadLetters, request->id(), request->has_filter() ? &request->filter() : nullptr,
      "redriven",
      [&] { return env_->engine->RedriveDeadLetters(request->id(), FromProto(request->filter()), input); },
      response->mutable_outcomes());
}

grpc::Status DeadLettersService::Discard(grpc::ServerContext* context, const v1::DiscardDeadLettersRequest* request,
                                         v1::DiscardDeadLettersResponse* response) {
  return Bulk(
      context, Rpc::kDiscardDeadLetters, request->id(), request->has_filter() ? &request->filter() : nullptr,
      "discarded",
      [&] { return env_->engine->DiscardDeadLetters(request->id(), FromProto(request->filter())); },
      response->mutable_outcomes());
}

grpc::Status DeadLettersService::Bulk(
    grpc::ServerContext* context, Rpc rpc, const std::string& id, const v1::DeadLetterFilter* filter,
    const char* verb,
    const std::function<absl::StatusOr<std::vector<engine::DeadLetterOutcome>>()>& operation,
    google::protobuf::RepeatedPtrField<v1::DeadLetterOutcome>* out) {
  CallGuard guard(*env_, context, rpc);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  absl::Status status = RequireOneSelector(id, filter != nullptr);
  if (status.ok() && filter != nullptr) {
    status = CheckTimestamps(*filter);
  }
  if (status.ok()) {
    status = CheckNotStopping(*env_);
  }
  if (!status.ok()) {
    return ToGrpcStatus(status, context);
  }
  absl::StatusOr<std::vector<engine::DeadLetterOutcome>> outcomes = operation();
  if (!outcomes.ok()) {
    return ToGrpcStatus(outcomes.status(), context);
  }
  spdlog::info("dead letters {}: {} selected", verb, outcomes->size());
  AddOutcomes(*outcomes, out);
  return grpc::Status::OK;
}

}  // namespace stepflow::api
