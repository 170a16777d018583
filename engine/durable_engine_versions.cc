// The durable engine's versions and aliases: the DefinitionStore's (engine/definitions.h), behind the call
// guard that refuses calls once the engine shuts down.
#include "engine/durable_engine.h"
#include "engine/errors.h"

namespace stepflow::engine {

absl::StatusOr<StateMachineInfo> DurableEngine::CreateStateMachineAndPublish(const std::string& name,
                                                                             const std::string& definition,
                                                                             bool express,
                                                                             const std::string& version_description) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->Create(name, definition, express, version_description);
}

absl::StatusOr<StateMachineInfo> DurableEngine::UpdateStateMachineAndPublish(const std::string& state_machine,
                                                                             const std::string& definition,
                                                                             const std::string& version_description) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->Update(state_machine, definition, version_description);
}

absl::StatusOr<StateMachineVersionInfo> DurableEngine::PublishStateMachineVersion(const std::string& state_machine,
                                                                                  const std::string& description,
                                                                                  std::int64_t revision) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->Publish(state_machine, description, revision);
}

absl::StatusOr<Page<StateMachineVersionInfo>> DurableEngine::ListStateMachineVersions(
    const std::string& state_machine, int page_size, const std::string& page_token) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->ListVersions(state_machine, page_size, page_token);
}

absl::StatusOr<StateMachineVersionInfo> DurableEngine::DescribeStateMachineVersion(const std::string& version_arn) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->DescribeVersion(version_arn);
}

absl::Status DurableEngine::DeleteStateMachineVersion(const std::string& version_arn) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->DeleteVersion(version_arn);
}

absl::StatusOr<StateMachineAliasInfo> DurableEngine::CreateStateMachineAlias(const std::string& name,
                                                                             const std::string& description,
                                                                             const std::vector<AliasRoute>& routes) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->CreateAlias(name, description, routes);
}

absl::StatusOr<StateMachineAliasInfo> DurableEngine::UpdateStateMachineAlias(
    const std::string& alias_arn, const std::optional<std::string>& description,
    const std::vector<AliasRoute>& routes) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->UpdateAlias(alias_arn, description, routes);
}

absl::StatusOr<StateMachineAliasInfo> DurableEngine::DescribeStateMachineAlias(const std::string& alias_arn) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->DescribeAlias(alias_arn);
}

absl::StatusOr<Page<StateMachineAliasInfo>> DurableEngine::ListStateMachineAliases(const std::string& state_machine,
                                                                                   int page_size,
                                                                                   const std::string& page_token) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->ListAliases(state_machine, page_size, page_token);
}

absl::Status DurableEngine::DeleteStateMachineAlias(const std::string& alias_arn) {
  CallGuard guard(this);
  if (!guard) {
    return errors::ShuttingDown();
  }
  return definitions_->DeleteAlias(alias_arn);
}

}  // namespace stepflow::engine
