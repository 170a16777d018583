#pragma once
// stepflow.v1.StateMachines over engine::Engine (internal to engine/api; Server registers it). Each handler
// checks its request, calls the engine and converts; errors go through ToGrpcStatus.
//
// Thread-safety: handlers run concurrently on gRPC's threads; the service keeps no state of its own.

#include "engine/api/service_util.h"
#include "stepflow/v1/stepflow.grpc.pb.h"

namespace stepflow::api {

class StateMachinesService final : public v1::StateMachines::Service {
 public:
  explicit StateMachinesService(ServiceEnv* env) : env_(env) {}

  grpc::Status Create(grpc::ServerContext* context, const v1::CreateStateMachineRequest* request,
                      v1::StateMachine* response) override;
  grpc::Status Update(grpc::ServerContext* context, const v1::UpdateStateMachineRequest* request,
                      v1::StateMachine* response) override;
  grpc::Status Describe(grpc::ServerContext* context, const v1::DescribeStateMachineRequest* request,
                        v1::StateMachine* response) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListStateMachinesRequest* request,
                    v1::ListStateMachinesResponse* response) override;
  grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteStateMachineRequest* request,
                      v1::DeleteStateMachineResponse* response) override;
  grpc::Status Validate(grpc::ServerContext* context, const v1::ValidateDefinitionRequest* request,
                        v1::ValidateDefinitionResponse* response) override;

 private:
  ServiceEnv* env_;  // not owned
};

}  // namespace stepflow::api
