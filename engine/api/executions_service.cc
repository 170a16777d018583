#include "engine/api/executions_service.h"

#include "engine/api/handlers.h"

namespace stepflow::api {
namespace {

LongCall LongCallOf(grpc::ServerContext& context) {
  LongCall call;
  call.cancelled = [&context] { return context.IsCancelled(); };
  call.deadline = CallDeadline(context);
  return call;
}

}  // namespace

grpc::Status ExecutionsService::Start(grpc::ServerContext* context, const v1::StartExecutionRequest* request,
                                   v1::Execution* response) {
  return AdaptUnary(*env_, context, Rpc::kStartExecution, *request, response, StartExecution);
}

grpc::Status ExecutionsService::Describe(grpc::ServerContext* context, const v1::DescribeExecutionRequest* request,
                                   v1::Execution* response) {
  return AdaptUnary(*env_, context, Rpc::kDescribeExecution, *request, response, DescribeExecution);
}

grpc::Status ExecutionsService::GetHistory(grpc::ServerContext* context, const v1::GetExecutionHistoryRequest* request,
                                   v1::GetExecutionHistoryResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kGetExecutionHistory, *request, response, GetExecutionHistory);
}

grpc::Status ExecutionsService::List(grpc::ServerContext* context, const v1::ListExecutionsRequest* request,
                                   v1::ListExecutionsResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kListExecutions, *request, response, ListExecutions);
}

grpc::Status ExecutionsService::Stop(grpc::ServerContext* context, const v1::StopExecutionRequest* request,
                                   v1::Execution* response) {
  return AdaptUnary(*env_, context, Rpc::kStopExecution, *request, response, StopExecution);
}

grpc::Status ExecutionsService::DescribeStateMachineForExecution(grpc::ServerContext* context, const v1::DescribeStateMachineForExecutionRequest* request,
                                   v1::StateMachine* response) {
  return AdaptUnary(*env_, context, Rpc::kDescribeStateMachineForExecution, *request, response, api::DescribeStateMachineForExecution);
}

grpc::Status ExecutionsService::Redrive(grpc::ServerContext* context, const v1::RedriveExecutionRequest* request,
                                   v1::Execution* response) {
  return AdaptUnary(*env_, context, Rpc::kRedriveExecution, *request, response, RedriveExecution);
}


grpc::Status ExecutionsService::StartSync(grpc::ServerContext* context,
                                          const v1::StartExecutionRequest* request, v1::Execution* response) {
  CallGuard guard(*env_, context, Rpc::kStartSyncExecution);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  absl::StatusOr<v1::Execution> result = StartExecutionSync(*env_, *request, LongCallOf(*context));
  if (!result.ok()) {  // cluster mode: another node serves the execution's partition (forwarding.h)
    v1::Execution forwarded;
    absl::Status status = ForwardIfElsewhere(*env_, Rpc::kStartSyncExecution, result.status(), *request, &forwarded,
                                             ForwardContextOf(*context));
    result = status.ok() ? absl::StatusOr<v1::Execution>(std::move(forwarded)) : absl::StatusOr<v1::Execution>(status);
  }
  return Reply(context, std::move(result), response);
}

grpc::Status ExecutionsService::WatchHistory(grpc::ServerContext* context,
                                             const v1::WatchExecutionHistoryRequest* request,
                                             grpc::ServerWriter<v1::HistoryEvent>* writer) {
  CallGuard guard(*env_, context, Rpc::kWatchExecutionHistory);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  LongCall call = LongCallOf(*context);
  call.deadline.reset();  // a stream follows until the execution ends or the client goes away
  absl::Status status =
      FollowHistory(*env_, *request, call, [writer](const v1::HistoryEvent& event) { return writer->Write(event); });
  return ToGrpcStatus(status, context);
}

}  // namespace stepflow::api
