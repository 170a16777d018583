#include "engine/api/tasks_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/convert.h"

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

}  // namespace

grpc::Status TasksService::Poll(grpc::ServerContext* context, const v1::PollTaskRequest* request,
                                v1::PollTaskResponse* response) {
  CallGuard guard(*env_);
  absl::Status status = RequireField(request->queue(), "queue");
  if (status.ok() && (request->wait_seconds() < 0 || request->wait_seconds() > kMaxPollSeconds)) {
    status = absl::InvalidArgumentError(
        absl::StrCat("ValidationException: wait_seconds must be between 0 and ", kMaxPollSeconds));
  }
  if (!status.ok()) {
    return ToGrpcStatus(status, context);
  }
  const int wait = request->wait_seconds() == 0 ? kDefaultPollSeconds : request->wait_seconds();
  common::EpochMillis deadline = NowMillis() + wait * 1000;
  if (std::optional<common::EpochMillis> call = CallDeadline(*context)) {
    deadline = std::min(deadline, *call - kPollMarginMs);
  }
  for (;;) {
    if (context->IsCancelled()) {
      return ToGrpcStatus(absl::CancelledError("Cancelled: the call was cancelled"), context);
    }
    if (absl::Status s = CheckNotStopping(*env_); !s.ok()) {
      return ToGrpcStatus(s, context);
    }
    const common::EpochMillis now = NowMillis();
    if (now >= deadline) {
      return grpc::Status::OK;  // no task: an empty response
    }
    absl::StatusOr<std::optional<engine::PolledTask>> polled = env_->engine->PollTask(
        request->queue(), request->worker_identity(), std::min(deadline, now + kWaitSlice.count()),
        [context] { return context->IsCancelled(); });
    if (!polled.ok()) {
      return ToGrpcStatus(polled.status(), context);
    }
    if (!*polled) {
      continue;
    }
    const engine::PolledTask& t = **polled;
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
    spdlog::debug("task started execution={} state={} queue={} worker={}", t.execution_arn, t.state_name, t.queue,
                  request->worker_identity());
    return grpc::Status::OK;
  }
}

grpc::Status TasksService::Complete(grpc::ServerContext* context, const v1::CompleteTaskRequest* request,
                                    v1::CompleteTaskResponse* response) {
  CallGuard guard(*env_);
  absl::Status status = CheckTaskCall(*env_, request->task_token());
  if (status.ok()) {
    status = env_->engine->CompleteTask(request->task_token(), request->output());
  }
  return ToGrpcStatus(status, context);
}

grpc::Status TasksService::Fail(grpc::ServerContext* context, const v1::FailTaskRequest* request,
                                v1::FailTaskResponse* response) {
  CallGuard guard(*env_);
  absl::Status status = CheckTaskCall(*env_, request->task_token());
  if (status.ok()) {
    status = env_->engine->FailTask(request->task_token(), request->error(), request->cause());
  }
  return ToGrpcStatus(status, context);
}

grpc::Status TasksService::Heartbeat(grpc::ServerContext* context, const v1::HeartbeatTaskRequest* request,
                                     v1::HeartbeatTaskResponse* response) {
  CallGuard guard(*env_);
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
  CallGuard guard(*env_);
  absl::StatusOr<int> page_size = PageSize(request->page_size(), kDefaultListPageSize);
  if (!page_size.ok()) {
    return ToGrpcStatus(page_size.status(), context);
  }
  absl::StatusOr<engine::Page<engine::DeadLetterRecord>> page =
      env_->engine->ListDeadLetters(FromProto(request->filter()), *page_size, request->page_token());
  if (!page.ok()) {
    return ToGrpcStatus(page.status(), context);
  }
  for (const engine::DeadLetterRecord& r : page->items) {
    *response->add_dead_letters() = ToProto(r);
  }
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status DeadLettersService::Get(grpc::ServerContext* context, const v1::GetDeadLetterRequest* request,
                                     v1::DeadLetter* response) {
  CallGuard guard(*env_);
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
      context, request->id(), request->has_filter(), "redriven",
      [&] { return env_->engine->RedriveDeadLetters(request->id(), FromProto(request->filter()), input); },
      response->mutable_outcomes());
}

grpc::Status DeadLettersService::Discard(grpc::ServerContext* context, const v1::DiscardDeadLettersRequest* request,
                                         v1::DiscardDeadLettersResponse* response) {
  return Bulk(
      context, request->id(), request->has_filter(), "discarded",
      [&] { return env_->engine->DiscardDeadLetters(request->id(), FromProto(request->filter())); },
      response->mutable_outcomes());
}

grpc::Status DeadLettersService::Bulk(
    grpc::ServerContext* context, const std::string& id, bool has_filter, const char* verb,
    const std::function<absl::StatusOr<std::vector<engine::DeadLetterOutcome>>()>& operation,
    google::protobuf::RepeatedPtrField<v1::DeadLetterOutcome>* out) {
  CallGuard guard(*env_);
  absl::Status status = RequireOneSelector(id, has_filter);
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
