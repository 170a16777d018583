// The handlers of versions and aliases (handlers.h): AWS's PublishStateMachineVersion, ListStateMachineVersions,
// DescribeStateMachine on a version ARN, DeleteStateMachineVersion, and the five alias calls.
#include <spdlog/spdlog.h>

#include "common/status.h"
#include "engine/api/convert.h"
#include "engine/api/handlers.h"
#include "engine/api/page_tokens.h"

namespace stepflow::api {
namespace {

constexpr char kVersionsListing[] = "versions";
constexpr char kAliasesListing[] = "aliases";

std::vector<engine::AliasRoute> RoutesOf(const google::protobuf::RepeatedPtrField<v1::RoutingConfiguration>& routing) {
  std::vector<engine::AliasRoute> routes;
  for (const v1::RoutingConfiguration& r : routing) {
    routes.push_back(engine::AliasRoute{r.version_arn(), r.weight()});
  }
  return routes;
}

}  // namespace

absl::StatusOr<v1::StateMachineVersion> PublishStateMachineVersion(
    ServiceEnv& env, const v1::PublishStateMachineVersionRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  if (request.revision() < 0) {
    return absl::InvalidArgumentError("ValidationException: revision must be 0 (any) or a revision number");
  }
  ASSIGN_OR_RETURN(engine::StateMachineVersionInfo info,
                   env.engine->PublishStateMachineVersion(request.state_machine(), request.description(),
                                                          request.revision()));
  spdlog::info("state machine version published version={} revision={}", info.arn, info.revision);
  return ToProto(info);
}

absl::StatusOr<v1::ListStateMachineVersionsResponse> ListStateMachineVersions(
    ServiceEnv& env, const v1::ListStateMachineVersionsRequest& request) {
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size(), kDefaultListPageSize));
  ASSIGN_OR_RETURN(std::string token,
                   OpenPageToken(*env.engine, kVersionsListing, request.state_machine(), request.page_token()));
  ASSIGN_OR_RETURN(engine::Page<engine::StateMachineVersionInfo> page,
                   env.engine->ListStateMachineVersions(request.state_machine(), page_size, token));
  v1::ListStateMachineVersionsResponse response;
  for (const engine::StateMachineVersionInfo& info : page.items) {
    *response.add_versions() = ToProto(info);
  }
  response.set_next_page_token(
      SealPageToken(*env.engine, kVersionsListing, request.state_machine(), page.next_page_token));
  return response;
}

absl::StatusOr<v1::StateMachineVersion> DescribeStateMachineVersion(
    ServiceEnv& env, const v1::DescribeStateMachineVersionRequest& request) {
  RETURN_IF_ERROR(RequireField(request.version_arn(), "version_arn"));
  ASSIGN_OR_RETURN(engine::StateMachineVersionInfo info, env.engine->DescribeStateMachineVersion(request.version_arn()));
  return ToProto(info);
}

absl::StatusOr<v1::DeleteStateMachineVersionResponse> DeleteStateMachineVersion(
    ServiceEnv& env, const v1::DeleteStateMachineVersionRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.version_arn(), "version_arn"));
  RETURN_IF_ERROR(env.engine->DeleteStateMachineVersion(request.version_arn()));
  spdlog::info("state machine version deleted version={}", request.version_arn());
  return v1::DeleteStateMachineVersionResponse();
}

absl::StatusOr<v1::StateMachineAlias> CreateStateMachineAlias(ServiceEnv& env,
                                                              const v1::CreateStateMachineAliasRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.name(), "name"));
  ASSIGN_OR_RETURN(engine::StateMachineAliasInfo info,
                   env.engine->CreateStateMachineAlias(request.name(), request.description(),
                                                       RoutesOf(request.routing())));
  spdlog::info("state machine alias created alias={}", info.arn);
  return ToProto(info);
}

absl::StatusOr<v1::StateMachineAlias> UpdateStateMachineAlias(ServiceEnv& env,
                                                              const v1::UpdateStateMachineAliasRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.alias_arn(), "alias_arn"));
  if (!request.has_description() && request.routing().empty()) {
    return absl::InvalidArgumentError("ValidationException: give a description or a routing to update");
  }
  std::optional<std::string> description;
  if (request.has_description()) {
    description = request.description();
  }
  ASSIGN_OR_RETURN(engine::StateMachineAliasInfo info,
                   env.engine->UpdateStateMachineAlias(request.alias_arn(), description, RoutesOf(request.routing())));
  spdlog::info("state machine alias updated alias={}", info.arn);
  return ToProto(info);
}

absl::StatusOr<v1::StateMachineAlias> DescribeStateMachineAlias(
    ServiceEnv& env, const v1::DescribeStateMachineAliasRequest& request) {
  RETURN_IF_ERROR(RequireField(request.alias_arn(), "alias_arn"));
  ASSIGN_OR_RETURN(engine::StateMachineAliasInfo info, env.engine->DescribeStateMachineAlias(request.alias_arn()));
  return ToProto(info);
}

absl::StatusOr<v1::ListStateMachineAliasesResponse> ListStateMachineAliases(
    ServiceEnv& env, const v1::ListStateMachineAliasesRequest& request) {
  RETURN_IF_ERROR(RequireField(request.state_machine(), "state_machine"));
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size(), kDefaultListPageSize));
  ASSIGN_OR_RETURN(std::string token,
                   OpenPageToken(*env.engine, kAliasesListing, request.state_machine(), request.page_token()));
  ASSIGN_OR_RETURN(engine::Page<engine::StateMachineAliasInfo> page,
                   env.engine->ListStateMachineAliases(request.state_machine(), page_size, token));
  v1::ListStateMachineAliasesResponse response;
  for (const engine::StateMachineAliasInfo& info : page.items) {
    *response.add_aliases() = ToProto(info);
  }
  response.set_next_page_token(SealPageToken(*env.engine, kAliasesListing, request.state_machine(), page.next_page_token));
  return response;
}

absl::StatusOr<v1::DeleteStateMachineAliasResponse> DeleteStateMachineAlias(
    ServiceEnv& env, const v1::DeleteStateMachineAliasRequest& request) {
  RETURN_IF_ERROR(CheckNotStopping(env));
  RETURN_IF_ERROR(RequireField(request.alias_arn(), "alias_arn"));
  RETURN_IF_ERROR(env.engine->DeleteStateMachineAlias(request.alias_arn()));
  spdlog::info("state machine alias deleted alias={}", request.alias_arn());
  return v1::DeleteStateMachineAliasResponse();
}

}  // namespace stepflow::api
