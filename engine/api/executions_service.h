#pragma once
// stepflow.v1.Executions over engine::Engine (internal to engine/api; Server registers it): a thin adapter
// over the handlers of handlers.h. Each method admits the caller (CallGuard), calls one handler and answers;
// errors go through ToGrpcStatus. The long calls pass the call's deadline and its cancellation to the handler.
//
// Thread-safety: handlers run concurrently on gRPC's threads; the service keeps no state of its own.

#include "engine/api/service_util.h"
#include "stepflow/v1/stepflow.grpc.pb.h"

namespace stepflow::api {

class ExecutionsService final : public v1::Executions::Service {
 public:
  explicit ExecutionsService(ServiceEnv* env) : env_(env) {}

  grpc::Status Start(grpc::ServerContext* context, const v1::StartExecutionRequest* request,
                     v1::Execution* response) override;
  grpc::Status StartSync(grpc::ServerContext* context, const v1::StartExecutionRequest* request,
                         v1::Execution* response) override;
  grpc::Status Describe(grpc::ServerContext* context, const v1::DescribeExecutionRequest* request,
                        v1::Execution* response) override;
  grpc::Status GetHistory(grpc::ServerContext* context, const v1::GetExecutionHistoryRequest* request,
                          v1::GetExecutionHistoryResponse* response) override;
  grpc::Status WatchHistory(grpc::ServerContext* context, const v1::WatchExecutionHistoryRequest* request,
                            grpc::ServerWriter<v1::HistoryEvent>* writer) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListExecutionsRequest* request,
                    v1::ListExecutionsResponse* response) override;
  grpc::Status Stop(grpc::ServerContext* context, const v1::StopExecutionRequest* request,
                    v1::Execution* response) override;
  grpc::Status DescribeStateMachineForExecution(grpc::ServerContext* context,
                                                const v1::DescribeStateMachineForExecutionRequest* request,
                                                v1::StateMachine* response) override;
  grpc::Status Redrive(grpc::ServerContext* context, const v1::RedriveExecutionRequest* request,
                       v1::Execution* response) override;

 private:
  ServiceEnv* env_;  // not owned
};

}  // namespace stepflow::api
