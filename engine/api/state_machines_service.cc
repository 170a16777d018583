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

}  // namespace stepflow::api
