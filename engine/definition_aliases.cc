// Aliases of state machines (DefinitionStore, engine/definitions.h): a name routing starts to one or two
// published versions by weight. Rows and keys: storage/FORMAT.md, "Versions and aliases".
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/definitions.h"
#include "engine/errors.h"
#include "engine/names.h"
#include "engine/paging.h"
#include "engine/proto_value.h"
#include "engine/qualified_arns.h"
#include "stepflow/storage/v1/records.pb.h"

namespace stepflow::engine {
namespace {

constexpr int kFullWeight = 100;
constexpr std::size_t kMaxRoutes = 2;

using AliasRecord = storage::v1::StateMachineAliasRecord;

absl::StatusOr<AliasRecord> DecodeAlias(std::string_view value, std::string_view arn) {
  AliasRecord a;
  if (!DecodeProtoValue(value, a) || a.routes().empty()) {
    return absl::DataLossError(absl::StrCat("malformed alias record of ", std::string(arn)));
  }
  return a;
}

StateMachineAliasInfo AliasInfoOf(const std::string& machine, const std::string& alias, const AliasRecord& a) {
  StateMachineAliasInfo info;
  info.arn = AliasArn(machine, alias);
  info.name = alias;
  info.state_machine_name = machine;
  info.state_machine_arn = StateMachineArn(machine);
  info.description = a.description();
  for (const AliasRecord::Route& r : a.routes()) {
    info.routes.push_back(AliasRoute{VersionArn(machine, r.version()), r.weight()});
  }
  info.created = a.created();
  info.updated = a.updated();
  return info;
}

void SetRoutes(const std::vector<std::pair<std::int64_t, int>>& routes, AliasRecord& a) {
  a.clear_routes();
  for (const auto& [version, weight] : routes) {
    AliasRecord::Route* r = a.add_routes();
    r->set_version(version);
    r->set_weight(weight);
  }
}

// The state machine every route names (they must agree). InvalidArgument (ValidationException) otherwise.
absl::StatusOr<std::string> MachineOfRoutes(const std::vector<AliasRoute>& routes) {
  if (routes.empty() || routes.size() > kMaxRoutes) {
    return errors::Validation(absl::StrCat("an alias routes to 1 or 2 versions, not ", routes.size()));
  }
  std::string machine;
  for (const AliasRoute& r : routes) {
    ASSIGN_OR_RETURN(QualifiedArn q, ParseQualifiedArn(r.version_arn));
    if (q.version == 0) {
      return errors::Validation(absl::StrCat("a route names a version ARN, not '", r.version_arn, "'"));
    }
    if (!machine.empty() && machine != q.state_machine) {
      return errors::Validation("the routes name versions of different state machines");
    }
    machine = q.state_machine;
  }
  return machine;
}

// The alias a qualified ARN names. InvalidArgument (InvalidArn) for a version ARN or anything else.
absl::StatusOr<QualifiedArn> ParseAliasArn(const std::string& alias_arn) {
  ASSIGN_OR_RETURN(QualifiedArn q, ParseQualifiedArn(alias_arn));
  if (q.alias.empty()) {
    return errors::InvalidArn(alias_arn);
  }
  return q;
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::int64_t, int>>> DefinitionStore::CheckRoutesLocked(
    const std::string& name, const std::vector<AliasRoute>& routes) {
  ASSIGN_OR_RETURN(std::string machine, MachineOfRoutes(routes));
  if (machine != name) {
    return errors::Validation(absl::StrCat("the routes name versions of '", machine, "', not of '", name, "'"));
  }
  std::vector<std::pair<std::int64_t, int>> out;
  std::set<std::int64_t> seen;
  int total = 0;
  for (const AliasRoute& r : routes) {
    ASSIGN_OR_RETURN(QualifiedArn q, ParseQualifiedArn(r.version_arn));
    if (r.weight < 0 || r.weight > kFullWeight) {
      return errors::Validation(absl::StrCat("a route's weight is 0 to 100, not ", r.weight));
    }
    if (!seen.insert(q.version).second) {
      return errors::Validation(absl::StrCat("version ", r.version_arn, " is routed to twice"));
    }
    ASSIGN_OR_RETURN(std::optional<std::string> value,
                     store_->Get(storage::Column::kDefinitions, PublishedVersionKey(name, q.version)));
    if (!value) {
      return errors::ResourceNotFound(r.version_arn);
    }
    total += r.weight;
    out.emplace_back(q.version, r.weight);
  }
  if (total != kFullWeight) {
    return errors::Validation(absl::StrCat("the routes' weights add up to ", total, ", not 100"));
  }
  return out;
}

absl::StatusOr<StateMachineAliasInfo> DefinitionStore::CreateAlias(const std::string& name,
                                                                   const std::string& description,
                                                                   const std::vector<AliasRoute>& routes) {
  RETURN_IF_ERROR(ValidateAliasName(name));
  RETURN_IF_ERROR(ValidateDescription(description));
  ASSIGN_OR_RETURN(std::string machine, MachineOfRoutes(routes));
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(LiveHead(machine, errors::ResourceNotFound(StateMachineArn(machine))).status());
  ASSIGN_OR_RETURN(auto checked, CheckRoutesLocked(machine, routes));
  const std::string arn = AliasArn(machine, name);
  ASSIGN_OR_RETURN(std::optional<std::string> existing,
                   store_->Get(storage::Column::kDefinitions, AliasKey(machine, name)));
  if (existing) {
    ASSIGN_OR_RETURN(AliasRecord a, DecodeAlias(*existing, arn));
    AliasRecord wanted = a;
    wanted.set_description(description);
    SetRoutes(checked, wanted);
    if (wanted.SerializeAsString() == a.SerializeAsString()) {
      return AliasInfoOf(machine, name, a);  // idempotent, as AWS's CreateStateMachineAlias
    }
    return errors::Conflict(absl::StrCat("alias ", arn, " exists with another description or routing"));
  }
  std::size_t count = 0;
  RETURN_IF_ERROR(store_->Scan(storage::Column::kDefinitions, AliasPrefix(machine), "", false,
                               [&](std::string_view, std::string_view) {
                                 return ++count < kMaxAliasesPerStateMachine;
                               }));
  if (count >= kMaxAliasesPerStateMachine) {
    return errors::ServiceQuotaExceeded(absl::StrCat("'", machine, "' has ", count, " aliases, the most allowed"));
  }
  AliasRecord a;
  a.set_description(description);
  SetRoutes(checked, a);
  a.set_created(clock_->NowMillis());
  a.set_updated(a.created());
  storage::WriteBatch batch;
  batch.Put(storage::Column::kDefinitions, AliasKey(machine, name), EncodeProtoValue(a));
  RETURN_IF_ERROR(store_->Commit(batch));
  return AliasInfoOf(machine, name, a);
}

absl::StatusOr<std::string> DefinitionStore::StoredAliasLocked(const std::string& machine, const std::string& alias,
                                                              const std::string& alias_arn) {
  RETURN_IF_ERROR(LiveHead(machine, errors::ResourceNotFound(alias_arn)).status());
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   store_->Get(storage::Column::kDefinitions, AliasKey(machine, alias)));
  if (!value) {
    return errors::ResourceNotFound(alias_arn);
  }
  return *std::move(value);
}

absl::StatusOr<StateMachineAliasInfo> DefinitionStore::UpdateAlias(const std::string& alias_arn,
                                                                   const std::optional<std::string>& description,
                                                                   const std::vector<AliasRoute>& routes) {
  ASSIGN_OR_RETURN(QualifiedArn q, ParseAliasArn(alias_arn));
  if (description) {
    RETURN_IF_ERROR(ValidateDescription(*description));
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::string value, StoredAliasLocked(q.state_machine, q.alias, alias_arn));
  ASSIGN_OR_RETURN(AliasRecord a, DecodeAlias(value, alias_arn));
  if (!routes.empty()) {
    ASSIGN_OR_RETURN(auto checked, CheckRoutesLocked(q.state_machine, routes));
    SetRoutes(checked, a);
  }
  if (description) {
    a.set_description(*description);
  }
  a.set_updated(clock_->NowMillis());
  storage::WriteBatch batch;
  batch.Put(storage::Column::kDefinitions, AliasKey(q.state_machine, q.alias), EncodeProtoValue(a));
  RETURN_IF_ERROR(store_->Commit(batch));
  return AliasInfoOf(q.state_machine, q.alias, a);
}

absl::StatusOr<StateMachineAliasInfo> DefinitionStore::DescribeAlias(const std::string& alias_arn) {
  ASSIGN_OR_RETURN(QualifiedArn q, ParseAliasArn(alias_arn));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::string value, StoredAliasLocked(q.state_machine, q.alias, alias_arn));
  ASSIGN_OR_RETURN(AliasRecord a, DecodeAlias(value, alias_arn));
  return AliasInfoOf(q.state_machine, q.alias, a);
}

absl::StatusOr<Page<StateMachineAliasInfo>> DefinitionStore::ListAliases(const std::string& state_machine,
                                                                        int page_size,
                                                                        const std::string& page_token) {
  ASSIGN_OR_RETURN(std::string name, StateMachineNameOf(state_machine));
  const std::string prefix = AliasPrefix(name);
  ASSIGN_OR_RETURN(std::string start_after, DecodePageToken(page_token, prefix));
  const int limit = ClampPageSize(page_size);
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(LiveHead(name, errors::StateMachineDoesNotExist(StateMachineArn(name))).status());
  Page<StateMachineAliasInfo> page;
  std::string last_key;
  absl::Status decode_status;
  RETURN_IF_ERROR(store_->Scan(storage::Column::kDefinitions, prefix, start_after, false,
                               [&](std::string_view key, std::string_view value) {
                                 if (static_cast<int>(page.items.size()) == limit) {
                                   page.next_page_token = EncodePageToken(last_key);
                                   return false;
                                 }
                                 std::string_view alias = key.substr(prefix.size());
                                 alias.remove_suffix(1);  // Str's terminator
                                 absl::StatusOr<AliasRecord> a = DecodeAlias(value, alias);
                                 if (!a.ok()) {
                                   decode_status = a.status();
                                   return false;
                                 }
                                 page.items.push_back(AliasInfoOf(name, std::string(alias), *a));
                                 last_key = std::string(key);
                                 return true;
                               }));
  RETURN_IF_ERROR(decode_status);
  return page;
}

absl::Status DefinitionStore::DeleteAlias(const std::string& alias_arn) {
  ASSIGN_OR_RETURN(QualifiedArn q, ParseAliasArn(alias_arn));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   store_->Get(storage::Column::kDefinitions, AliasKey(q.state_machine, q.alias)));
  if (!value) {
    return errors::ResourceNotFound(alias_arn);
  }
  storage::WriteBatch batch;
  batch.Delete(storage::Column::kDefinitions, AliasKey(q.state_machine, q.alias));
  return store_->Commit(batch);
}

}  // namespace stepflow::engine
