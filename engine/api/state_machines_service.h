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

  grpc::Status PublishVersion(grpc::ServerContext* context, const v1::PublishStateMachineVersionRequest* request,
                      v1::StateMachineVersion* response) override;
  grpc::Status ListVersions(grpc::ServerContext* context, const v1::ListStateMachineVersionsRequest* request,
                      v1::ListStateMachineVersionsResponse* response) override;
  grpc::Status DescribeVersion(grpc::ServerContext* context, const v1::DescribeStateMachineVersionRequest* request,
                      v1::StateMachineVersion* response) override;
  grpc::Status DeleteVersion(grpc::ServerContext* context, const v1::DeleteStateMachineVersionRequest* request,
                      v1::DeleteStateMachineVersionResponse* response) override;
  grpc::Status CreateAlias(grpc::ServerContext* context, const v1::CreateStateMachineAliasRequest* request,
                      v1::StateMachineAlias* response) override;
  grpc::Status UpdateAlias(grpc::ServerContext* context, const v1::UpdateStateMachineAliasRequest* request,
                      v1::StateMachineAlias* response) override;
  grpc::Status DescribeAlias(grpc::ServerContext* context, const v1::DescribeStateMachineAliasRequest* request,
                      v1::StateMachineAlias* response) override;
  grpc::Status ListAliases(grpc::ServerContext* context, const v1::ListStateMachineAliasesRequest* request,
                      v1::ListStateMachineAliasesResponse* response) override;
  grpc::Status DeleteAlias(grpc::ServerContext* context, const v1::DeleteStateMachineAliasRequest* request,
                      v1::DeleteStateMachineAliasResponse* response) override;
  grpc::Status TestState(grpc::ServerContext* context, const v1::TestStateRequest* request,
                         v1::TestStateResponse* response) override;

 private:
  ServiceEnv* env_;  // not owned
};

}  // namespace stepflow::api
