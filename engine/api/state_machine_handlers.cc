// The state-machine handlers (handlers.h).
#include <spdlog/spdlog.h>

#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/handlers.h"
#include "engine/api/page_tokens.h"

namespace stepflow::api {
namespace {

// AWS: a versionDescription is only accepted with publish (its length is the engine's to check, as Publish's).
absl::Status CheckPublishFields(bool publish, const std::string& version_description) {
  if (!publish && !version_description.empty()) {
    return absl::InvalidArgumentError(
        "ValidationException: version_description is only allowed with publish = true");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::StateMachine> CreateStateMachine(ServiceEnv& env,
                                          const v1::CreateStateMachineRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.name(), "name"));
  RETURN_IF_ERROR(RequireField(request.definition(), "definition"));
  ASSIGN_OR_RETURN(bool express, IsExpress(request.type()));
  RETURN_IF_ERROR(CheckPublishFields(request.publish(), request.version_description()));
  ASSIGN_OR_RETURN(engine::StateMachineInfo info,
                   request.publish() ? env.engine->CreateStateMachineAndPublish(request.name(), request.definition(),
                                                                               express, request.version_description())
                                     : env.engine->CreateStateMachine(request.name(), request.definition(), express));
  spdlog::info("state machine created state_machine={} version={} published={}", info.arn, info.version,
               info.published_version_arn);
  return ToProto(info);
}

absl::StatusOr<v1::StateMachine> UpdateStateMachine(ServiceEnv& env,
                                          const v1::UpdateStateMachineRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  RETURN_IF_ERROR(RequireField(request.definition(), "definition"));
  RETURN_IF_ERROR(CheckPublishFields(request.publish(), request.version_description()));
  ASSIGN_OR_RETURN(engine::StateMachineInfo info,
                   request.publish() ? env.engine->UpdateStateMachineAndPublish(
                                           request.state_machine(), request.definition(), request.version_description())
                                     : env.engine->UpdateStateMachine(request.state_machine(), request.definition()));
  spdlog::info("state machine updated state_machine={} version={} published={}", info.arn, info.version,
               info.published_version_arn);
  return ToProto(info);
}

absl::StatusOr<v1::ListStateMachinesResponse> ListStateMachines(ServiceEnv& env,
                                                     const v1::ListStateMachinesRequest& request) {
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size(), kDefaultListPageSize));
  ASSIGN_OR_RETURN(std::string page_token, OpenPageToken(*env.engine, "state-machines", "", request.page_token()));
  ASSIGN_OR_RETURN(engine::Page<engine::StateMachineInfo> page, env.engine->ListStateMachines(page_size, page_token));
  v1::ListStateMachinesResponse response;
  for (const engine::StateMachineInfo& info : page.items) {
    v1::StateMachine* sm = response.add_state_machines();
    *sm = ToProto(info);
    sm->clear_definition();
  }
  response.set_next_page_token(SealPageToken(*env.engine, "state-machines", "", page.next_page_token));
  return response;
}

absl::StatusOr<v1::StateMachine> DescribeStateMachine(ServiceEnv& env,
                                            const v1::DescribeStateMachineRequest& request) {
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  ASSIGN_OR_RETURN(engine::StateMachineInfo info, env.engine->DescribeStateMachine(request.state_machine()));
  return ToProto(info);
}

absl::StatusOr<v1::DeleteStateMachineResponse> DeleteStateMachine(ServiceEnv& env,
                                                        const v1::DeleteStateMachineRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  RETURN_IF_ERROR(env.engine->DeleteStateMachine(request.state_machine()));
  spdlog::info("state machine deleted state_machine={}", request.state_machine());
  return v1::DeleteStateMachineResponse();
}

absl::StatusOr<v1::ValidateDefinitionResponse> ValidateDefinition(ServiceEnv& /*env*/,
                                                                  const v1::ValidateDefinitionRequest& request) {
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


}  // namespace stepflow::api
