#include "engine/api/state_machines_service.h"

#include <spdlog/spdlog.h>

#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/page_tokens.h"
#include "engine/api/error_mapping.h"

namespace stepflow::api {
namespace {

absl::StatusOr<v1::StateMachine> DoCreate(engine::Engine& engine,
                                          const v1::CreateStateMachineRequest& request) {
  RETURN_IF_ERROR(RequireField(request.name(), "name"));
  RETURN_IF_ERROR(RequireField(request.definition(), "definition"));
  ASSIGN_OR_RETURN(bool express, IsExpress(request.type()));
  ASSIGN_OR_RETURN(engine::StateMachineInfo info,
                   engine.CreateStateMachine(request.name(), request.definition(), express));
  spdlog::info("state machine created state_machine={} version={}", info.arn, info.version);
  return ToProto(info);
}

absl::StatusOr<v1::StateMachine> DoUpdate(engine::Engine& engine,
                                          const v1::UpdateStateMachineRequest& request) {
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  RETURN_IF_ERROR(RequireField(request.definition(), "definition"));
  ASSIGN_OR_RETURN(engine::StateMachineInfo info,
                   engine.UpdateStateMachine(request.state_machine(), request.definition()));
  spdlog::info("state machine updated state_machine={} version={}", info.arn, info.version);
  return ToProto(info);
}

absl::StatusOr<v1::ListStateMachinesResponse> DoList(engine::Engine& engine,
                                                     const v1::ListStateMachinesRequest& request) {
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size(), kDefaultListPageSize));
  ASSIGN_OR_RETURN(std::string page_token, OpenPageToken(engine, "state-machines", "", request.page_token()));
  ASSIGN_OR_RETURN(engine::Page<engine::StateMachineInfo> page, engine.ListStateMachines(page_size, page_token));
  v1::ListStateMachinesResponse response;
  for (const engine::StateMachineInfo& info : page.items) {
    v1::StateMachine* sm = response.add_state_machines();
    *sm = ToProto(info);
    sm->clear_definition();
  }
  response.set_next_page_token(SealPageToken(engine, "state-machines", "", page.next_page_token));
  return response;
}

absl::StatusOr<v1::StateMachine> DoDescribe(engine::Engine& engine,
                                            const v1::DescribeStateMachineRequest& request) {
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  ASSIGN_OR_RETURN(engine::StateMachineInfo info, engine.DescribeStateMachine(request.state_machine()));
  return ToProto(info);
}

absl::StatusOr<v1::DeleteStateMachineResponse> DoDelete(engine::Engine& engine,
                                                        const v1::DeleteStateMachineRequest& request) {
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  RETURN_IF_ERROR(engine.DeleteStateMachine(request.state_machine()));
  spdlog::info("state machine deleted state_machine={}", request.state_machine());
  return v1::DeleteStateMachineResponse();
}

absl::StatusOr<v1::ValidateDefinitionResponse> DoValidate(const v1::ValidateDefinitionRequest& request) {
  ASSIGN_OR_RETURN(bool express, IsExpress(request.type()));
  v1::ValidateDefinitionResponse response;
  std::vector<sm::Diagnostic> problems =
      engine::ValidateStateMachineDefinition(request.definition(), express);
  response.set_valid(problems.empty());
  for (const sm::Diagnostic& d : problems) {
    *response.add_diagnostics() = ToProto(d);
  }
  return response;
}

}  // namespace

grpc::Status StateMachinesService::Create(grpc::ServerContext* context,
                                          const v1::CreateStateMachineRequest* request,
                                          v1::StateMachine* response) {
  CallGuard guard(*env_, context, Rpc::kCreateStateMachine);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  if (absl::Status s = CheckNotStopping(*env_); !s.ok()) {
    return ToGrpcStatus(s, context);
  }
  return Reply(context, DoCreate(*env_->engine, *request), response);
}

grpc::Status StateMachinesService::Update(grpc::ServerContext* context,
                                          const v1::UpdateStateMachineRequest* request,
                                          v1::StateMachine* response) {
  CallGuard guard(*env_, context, Rpc::kUpdateStateMachine);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  if (absl::Status s = CheckNotStopping(*env_); !s.ok()) {
    return ToGrpcStatus(s, context);
  }
  return Reply(context, DoUpdate(*env_->engine, *request), response);
}

grpc::Status StateMachinesService::Describe(grpc::ServerContext* context,
                                            const v1::DescribeStateMachineRequest* request,
                                            v1::StateMachine* response) {
  CallGuard guard(*env_, context, Rpc::kDescribeStateMachine);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  return Reply(context, DoDescribe(*env_->engine, *request), response);
}

grpc::Status StateMachinesService::List(grpc::ServerContext* context,
                                        const v1::ListStateMachinesRequest* request,
                                        v1::ListStateMachinesResponse* response) {
  CallGuard guard(*env_, context, Rpc::kListStateMachines);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  return Reply(context, DoList(*env_->engine, *request), response);
}

grpc::Status StateMachinesService::Delete(grpc::ServerContext* context,
                                          const v1::DeleteStateMachineRequest* request,
                                          v1::DeleteStateMachineResponse* response) {
  CallGuard guard(*env_, context, Rpc::kDeleteStateMachine);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  if (absl::Status s = CheckNotStopping(*env_); !s.ok()) {
    return ToGrpcStatus(s, context);
  }
  return Reply(context, DoDelete(*env_->engine, *request), response);
}

grpc::Status StateMachinesService::Validate(grpc::ServerContext* context,
                                            const v1::ValidateDefinitionRequest* request,
                                            v1::ValidateDefinitionResponse* response) {
  CallGuard guard(*env_, context, Rpc::kValidateDefinition);
  if (!guard.admitted()) {
    return guard.Refusal();
  }
  return Reply(context, DoValidate(*request), response);
}

}  // namespace stepflow::api
