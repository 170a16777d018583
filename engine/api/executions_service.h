#pragma once
// stepflow.v1.Executions over engine::Engine (internal to engine/api; Server registers it). Each handler
// checks its request, calls the engine and converts; errors go through ToGrpcStatus.
//
// The two long calls wait in slices of kWaitSlice so that they notice a cancelled call or a server shutdown:
// StartSync waits with the call's deadline (a little before it, so that the answer carries the error name),
// and WatchHistory follows the execution until it ends or the client goes away.
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
  // Starts (or finds, by name) the execution of `request`.
  absl::StatusOr<engine::ExecutionInfoRecord> StartOne(const v1::StartExecutionRequest& request);
  // Waits until the execution ends, the call's deadline (less a margin) passes, the call is cancelled or the
  // server stops.
  absl::StatusOr<engine::ExecutionInfoRecord> WaitUntilDone(grpc::ServerContext& context,
                                                            const std::string& arn);
  // Streams events after `after_event_id` until the execution ended and all its events were sent.
  absl::Status Follow(grpc::ServerContext& context, const std::string& arn, std::int64_t after_event_id,
                      grpc::ServerWriter<v1::HistoryEvent>& writer);

  ServiceEnv* env_;  // not owned
};

}  // namespace stepflow::api
