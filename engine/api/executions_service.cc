#include "engine/api/executions_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/page_tokens.h"

namespace stepflow::api {
namespace {

// StartSync answers this long before the call's deadline, so that its DeadlineExceeded reaches the client
// (with the error name) before the client's own deadline fires.
constexpr common::EpochMillis kDeadlineMarginMs = 50;

constexpr char kEmptyInput[] = "{}";

bool IsFinalEvent(const std::string& type) {
  return type == "ExecutionSucceeded" || type == "ExecutionFailed" || type == "ExecutionTimedOut" ||
         type == "ExecutionAborted";
}

absl::Status Cancelled() { return absl::CancelledError("Cancelled: the call was cancelled"); }

absl::StatusOr<v1::GetExecutionHistoryResponse> DoGetHistory(engine::Engine& engine,
                                                             const v1::GetExecutionHistoryRequest& request) {
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size(), kDefaultHistoryPageSize));
  const std::string scope = absl::StrCat(request.reverse_order() ? "r:" : "f:", request.execution_arn());
  ASSIGN_OR_RETURN(std::string page_token, OpenPageToken(engine, "history", scope, request.page_token()));
  ASSIGN_OR_RETURN(engine::Page<engine::HistoryEventRecord> page,
                   engine.GetExecutionHistory(request.execution_arn(), page_size, page_token,
                                              request.reverse_order()));
  v1::GetExecutionHistoryResponse response;
  for (const engine::HistoryEventRecord& event : page.items) {
    *response.add_events() = ToProto(event);
  }
  response.set_next_page_token(SealPageToken(engine, "history", scope, page.next_page_token));
  return response;
}

absl::StatusOr<v1::ListExecutionsResponse> DoList(engine::Engine& engine,
                                                  const v1::ListExecutionsRequest& request) {
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size(), kDefaultListPageSize));
  ASSIGN_OR_RETURN(engine::ExecutionFilter filter, ToFilter(request));
  v1::ListExecutionsRequest filters = request;  // the scope of the token: the filters, not the paging
  filters.clear_page_token();
  filters.clear_page_size();
  const std::string scope = filters.SerializeAsString();
  ASSIGN_OR_RETURN(std::string page_token, OpenPageToken(engine, "executions", scope, request.page_token()));
  ASSIGN_OR_RETURN(engine::Page<engine::ExecutionInfoRecord> page,
                   engine.ListExecutions(filter, page_size, page_token));
  v1::ListExecutionsResponse response;
  for (const engine::ExecutionInfoRecord& record : page.items) {
    v1::Execution* e = response.add_executions();
    *e = ToProto(record);
    e->clear_input();
    e->clear_output();
  }
  response.set_next_page_token(SealPageToken(engine, "executions", scope, page.next_page_token));
  return response;
}

absl::StatusOr<v1::Execution> DoDescribe(engine::Engine& engine,
                                         const v1::DescribeExecutionRequest& request) {
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record, engine.DescribeExecution(request.execution_arn()));
  return ToProto(record);
}

absl::StatusOr<v1::Execution> DoStop(engine::Engine& engine, const v1::StopExecutionRequest& request) {
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  RETURN_IF_ERROR(CheckTextLimit(request.error(), "error", kMaxErrorNameChars));
  RETURN_IF_ERROR(CheckByteLimit(request.cause(), "cause", kMaxCauseBytes));
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record,
                   engine.StopExecution(request.execution_arn(), request.error(), request.cause()));
  spdlog::info("execution stopped execution={} status={} error={}", record.arn,
               sm::ExecutionStatusName(record.status), request.error());
  return ToProto(record);
}

absl::StatusOr<v1::StateMachine> DoDescribeStateMachine(
    engine::Engine& engine, const v1::DescribeStateMachineForExecutionRequest& request) {
  RETURN_IF_ERROR(RequireField(request.execution_arn(), "execution_arn"));
  ASSIGN_OR_RETURN(engine::StateMachineInfo info,
                   engine.DescribeStateMachineForExecution(request.execution_arn()));
  return ToProto(info);
}

}  // namespace

absl::StatusOr<engine::ExecutionInfoRecord> ExecutionsService::StartOne(
    const v1::StartExecutionRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(*env_));
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  const std::string& input = request.input().empty() ? std::string(kEmptyInput) : request.input();
  ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record,
                   env_->engine->StartExecution(request.state_machine(), request.name(), input));
  spdlog::debug("execution started execution={} state_machine={} version={}", record.arn,
                record.state_machine_arn, record.state_machine_version);
  return record;
}

absl::StatusOr<engine::ExecutionInfoRecord> ExecutionsService::WaitUntilDone(grpc::ServerContext& context,
                                                                             const std::string& arn) {
  std::optional<common::EpochMillis> deadline = CallDeadline(context);
  for (;;) {
    if (context.IsCancelled()) {
      return Cancelled();
    }
    RETURN_IF_ERROR(CheckNotStopping(*env_));
    common::EpochMillis slice_end = NowMillis() + kWaitSlice.count();
    bool last = false;
    if (deadline.has_value() && *deadline - kDeadlineMarginMs <= slice_end) {
      slice_end = *deadline - kDeadlineMarginMs;
      last = true;
    }
    absl::StatusOr<engine::ExecutionInfoRecord> done = env_->engine->WaitForCompletion(arn, slice_end);
    if (done.ok() || done.status().code() != absl::StatusCode::kDeadlineExceeded || last) {
      return done;
    }
  }
}

absl::Status ExecutionsService::Follow(grpc::ServerContext& context, const std::string& arn,
                                       std::int64_t after_event_id,
                                       grpc::ServerWriter<v1::HistoryEvent>& writer) {
  std::int64_t after = after_event_id;
  for (;;) {
    if (context.IsCancelled()) {
      return Cancelled();
    }
    RETURN_IF_ERROR(CheckNotStopping(*env_));
    ASSIGN_OR_RETURN(std::vector<engine::HistoryEventRecord> events,
                     env_->engine->WaitForHistory(arn, after, NowMillis() + kWaitSlice.count()));
    for (const engine::HistoryEventRecord& event : events) {
      if (!writer.Write(ToProto(event))) {
        return Cancelled();  // the client went away
      }
      after = event.id;
      if (IsFinalEvent(event.type)) {
        return absl::OkStatus();
      }
    }
    if (events.empty()) {
      // Nothing new within the slice: either still running, or it ended before `after` (the client asked
      // from beyond the final event).
      ASSIGN_OR_RETURN(engine::ExecutionInfoRecord record, env_->engine->DescribeExecution(arn));
      if (record.status != sm::ExecutionStatus::kRunning) {
        // One last look: events committed between the wait and the describe.
        ASSIGN_OR_RETURN(std::vector<engine::HistoryEventRecord> tail,
                         env_->engine->WaitForHistory(arn, after, NowMillis()));
        for (const engine::HistoryEventRecord& event : tail) {
          if (!writer.Write(ToProto(event))) {
            return Cancelled();
          }
        }
        return absl::OkStatus();
      }
    }
  }
}

grpc::Status ExecutionsService::Start(grpc::ServerContext* context, const v1::StartExecutionRequest* request,
                                      v1::Execution* response) {
  CallGuard guard(*env_, context, Rpc::kStartExecution);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  absl::StatusOr<engine::ExecutionInfoRecord> record = StartOne(*request);
  if (!record.ok()) {
    return ToGrpcStatus(record.status(), context);
  }
  *response = ToProto(*record);
  return grpc::Status::OK;
}

grpc::Status ExecutionsService::StartSync(grpc::ServerContext* context,
                                          const v1::StartExecutionRequest* request, v1::Execution* response) {
  CallGuard guard(*env_, context, Rpc::kStartSyncExecution);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  LongWaitSlot slot(*env_);
  if (!slot.status().ok()) {
    return ToGrpcStatus(slot.status(), context);
  }
  absl::StatusOr<engine::ExecutionInfoRecord> record = StartOne(*request);
  if (record.ok()) {
    record = WaitUntilDone(*context, record->arn);
  }
  if (!record.ok()) {
    return ToGrpcStatus(record.status(), context);
  }
  *response = ToProto(*record);
  return grpc::Status::OK;
}

grpc::Status ExecutionsService::Describe(grpc::ServerContext* context,
                                         const v1::DescribeExecutionRequest* request,
                                         v1::Execution* response) {
  CallGuard guard(*env_, context, Rpc::kDescribeExecution);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  return Reply(context, DoDescribe(*env_->engine, *request), response);
}

grpc::Status ExecutionsService::GetHistory(grpc::ServerContext* context,
                                           const v1::GetExecutionHistoryRequest* request,
                                           v1::GetExecutionHistoryResponse* response) {
  CallGuard guard(*env_, context, Rpc::kGetExecutionHistory);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  return Reply(context, DoGetHistory(*env_->engine, *request), response);
}

grpc::Status ExecutionsService::WatchHistory(grpc::ServerContext* context,
                                             const v1::WatchExecutionHistoryRequest* request,
                                             grpc::ServerWriter<v1::HistoryEvent>* writer) {
  CallGuard guard(*env_, context, Rpc::kWatchExecutionHistory);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  LongWaitSlot slot(*env_);
  absl::Status status = slot.status();
  if (status.ok()) {
    status = RequireField(request->execution_arn(), "execution_arn");
  }
  if (status.ok() && request->after_event_id() < 0) {
    status = absl::InvalidArgumentError("ValidationException: after_event_id must not be negative");
  }
  if (status.ok()) {
    status = Follow(*context, request->execution_arn(), request->after_event_id(), *writer);
  }
  return ToGrpcStatus(status, context);
}

grpc::Status ExecutionsService::List(grpc::ServerContext* context, const v1::ListExecutionsRequest* request,
                                     v1::ListExecutionsResponse* response) {
  CallGuard guard(*env_, context, Rpc::kListExecutions);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  return Reply(context, DoList(*env_->engine, *request), response);
}

grpc::Status ExecutionsService::Stop(grpc::ServerContext* context, const v1::StopExecutionRequest* request,
                                     v1::Execution* response) {
  CallGuard guard(*env_, context, Rpc::kStopExecution);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  if (absl::Status s = CheckNotStopping(*env_); !s.ok()) {
    return ToGrpcStatus(s, context);
  }
  return Reply(context, DoStop(*env_->engine, *request), response);
}

grpc::Status ExecutionsService::DescribeStateMachineForExecution(
    grpc::ServerContext* context, const v1::DescribeStateMachineForExecutionRequest* request,
    v1::StateMachine* response) {
  CallGuard guard(*env_, context, Rpc::kDescribeStateMachineForExecution);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  return Reply(context, DoDescribeStateMachine(*env_->engine, *request), response);
}

grpc::Status ExecutionsService::Redrive(grpc::ServerContext* context, const v1::RedriveExecutionRequest* request,
                                        v1::Execution* response) {
  CallGuard guard(*env_, context, Rpc::kRedriveExecution);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  absl::Status status = RequireField(request->execution_arn(), "execution_arn");
  if (status.ok()) {
    status = CheckNotStopping(*env_);
  }
  if (!status.ok()) {
    return ToGrpcStatus(status, context);
  }
  absl::StatusOr<engine::ExecutionInfoRecord> record = env_->engine->RedriveExecution(request->execution_arn());
  if (!record.ok()) {
    return ToGrpcStatus(record.status(), context);
  }
  spdlog::info("execution redriven execution={}", record->arn);
  *response = ToProto(*record);
  return grpc::Status::OK;
}

}  // namespace stepflow::api
