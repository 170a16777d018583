#include "engine/api/state_machines_service.h"

#include "engine/api/handlers.h"

namespace stepflow::api {

grpc::Status StateMachinesService::Create(grpc::ServerContext* context,
                                          const v1::CreateStateMachineRequest* request,
                                          v1::StateMachine* response) {
  return AdaptUnary(*env_, context, Rpc::kCreateStateMachine, *request, response, CreateStateMachine);
}

grpc::Status StateMachinesService::Update(grpc::ServerContext* context,
                                          const v1::UpdateStateMachineRequest* request,
                                          v1::StateMachine* response) {
  return AdaptUnary(*env_, context, Rpc::kUpdateStateMachine, *request, response, UpdateStateMachine);
}

grpc::Status StateMachinesService::Describe(grpc::ServerContext* context,
                                            const v1::DescribeStateMachineRequest* request,
                                            v1::StateMachine* response) {
  return AdaptUnary(*env_, context, Rpc::kDescribeStateMachine, *request, response, DescribeStateMachine);
}

grpc::Status StateMachinesService::List(grpc::ServerContext* context,
                                        const v1::ListStateMachinesRequest* request,
                                        v1::ListStateMachinesResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kListStateMachines, *request, response, ListStateMachines);
}

grpc::Status StateMachinesService::Delete(grpc::ServerContext* context,
                                          const v1::DeleteStateMachineRequest* request,
                                          v1::DeleteStateMachineResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kDeleteStateMachine, *request, response, DeleteStateMachine);
}

grpc::Status StateMachinesService::Validate(grpc::ServerContext* context,
                                            const v1::ValidateDefinitionRequest* request,
                                            v1::ValidateDefinitionResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kValidateDefinition, *request, response, ValidateDefinition);
}

grpc::Status StateMachinesService::PublishVersion(grpc::ServerContext* context, const v1::PublishStateMachineVersionRequest* request,
                                      v1::StateMachineVersion* response) {
  return AdaptUnary(*env_, context, Rpc::kPublishStateMachineVersion, *request, response, PublishStateMachineVersion);
}

grpc::Status StateMachinesService::ListVersions(grpc::ServerContext* context, const v1::ListStateMachineVersionsRequest* request,
                                      v1::ListStateMachineVersionsResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kListStateMachineVersions, *request, response, ListStateMachineVersions);
}

grpc::Status StateMachinesService::DescribeVersion(grpc::ServerContext* context, const v1::DescribeStateMachineVersionRequest* request,
                                      v1::StateMachineVersion* response) {
  return AdaptUnary(*env_, context, Rpc::kDescribeStateMachineVersion, *request, response, DescribeStateMachineVersion);
}

grpc::Status StateMachinesService::DeleteVersion(grpc::ServerContext* context, const v1::DeleteStateMachineVersionRequest* request,
                                      v1::DeleteStateMachineVersionResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kDeleteStateMachineVersion, *request, response, DeleteStateMachineVersion);
}

grpc::Status StateMachinesService::CreateAlias(grpc::ServerContext* context, const v1::CreateStateMachineAliasRequest* request,
                                      v1::StateMachineAlias* response) {
  return AdaptUnary(*env_, context, Rpc::kCreateStateMachineAlias, *request, response, CreateStateMachineAlias);
}

grpc::Status StateMachinesService::UpdateAlias(grpc::ServerContext* context, const v1::UpdateStateMachineAliasRequest* request,
                                      v1::StateMachineAlias* response) {
  return AdaptUnary(*env_, context, Rpc::kUpdateStateMachineAlias, *request, response, UpdateStateMachineAlias);
}

grpc::Status StateMachinesService::DescribeAlias(grpc::ServerContext* context, const v1::DescribeStateMachineAliasRequest* request,
                                      v1::StateMachineAlias* response) {
  return AdaptUnary(*env_, context, Rpc::kDescribeStateMachineAlias, *request, response, DescribeStateMachineAlias);
}

grpc::Status StateMachinesService::ListAliases(grpc::ServerContext* context, const v1::ListStateMachineAliasesRequest* request,
                                      v1::ListStateMachineAliasesResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kListStateMachineAliases, *request, response, ListStateMachineAliases);
}

grpc::Status StateMachinesService::DeleteAlias(grpc::ServerContext* context, const v1::DeleteStateMachineAliasRequest* request,
                                      v1::DeleteStateMachineAliasResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kDeleteStateMachineAlias, *request, response, DeleteStateMachineAlias);
}

grpc::Status StateMachinesService::TestState(grpc::ServerContext* context, const v1::TestStateRequest* request,
                                             v1::TestStateResponse* response) {
  return AdaptUnary(*env_, context, Rpc::kTestState, *request, response, api::TestState);
}

}  // namespace stepflow::api
