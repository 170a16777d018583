// Published versions of state machines, and what a start runs (DefinitionStore, engine/definitions.h). Rows
// and keys: storage/FORMAT.md, "Versions and aliases".
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/definitions.h"
#include "engine/errors.h"
#include "engine/names.h"
#include "engine/paging.h"
#include "engine/proto_value.h"
#include "engine/qualified_arns.h"
#include "engine/records.h"
#include "stepflow/storage/v1/records.pb.h"

namespace stepflow::engine {
namespace {

constexpr char kVersionSpace[] = "\xFFversion";
constexpr char kAliasSpace[] = "\xFF" "alias";

absl::StatusOr<storage::v1::StateMachineVersionRecord> DecodeVersionRecord(std::string_view value,
                                                                          const std::string& name) {
  storage::v1::StateMachineVersionRecord r;
  if (!DecodeProtoValue(value, r) || r.revision() < 1) {
    return absl::DataLossError(absl::StrCat("malformed version record of state machine '", name, "'"));
  }
  return r;
}

// The version number at the end of a PublishedVersionKey.
std::int64_t VersionOfKey(std::string_view key) {
  return static_cast<std::int64_t>(storage::ReadUint64BigEndian(key.substr(key.size() - 8)));
}

}  // namespace

std::string PublishedVersionPrefix(std::string_view name) {
  std::string key;
  storage::AppendString(key, kVersionSpace);
  storage::AppendString(key, name);
  return key;
}

std::string PublishedVersionKey(std::string_view name, std::int64_t version) {
  std::string key = PublishedVersionPrefix(name);
  storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(version));
  return key;
}

std::string AliasPrefix(std::string_view name) {
  std::string key;
  storage::AppendString(key, kAliasSpace);
  storage::AppendString(key, name);
  return key;
}

std::string AliasKey(std::string_view name, std::string_view alias) {
  std::string key = AliasPrefix(name);
  storage::AppendString(key, alias);
  return key;
}

absl::StatusOr<DefinitionStore::Head> DefinitionStore::LiveHead(const std::string& name,
                                                                const absl::Status& missing) {
  ASSIGN_OR_RETURN(std::optional<Head> head, LoadHead(name));
  if (!head || head->deleted) {
    return missing;
  }
  return *head;
}

absl::StatusOr<StateMachineVersionInfo> DefinitionStore::VersionInfoLocked(const std::string& name,
                                                                           const Head& head, std::int64_t n) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   store_->Get(storage::Column::kDefinitions, PublishedVersionKey(name, n)));
  if (!value) {
    return errors::ResourceNotFound(VersionArn(name, n));
  }
  ASSIGN_OR_RETURN(storage::v1::StateMachineVersionRecord r, DecodeVersionRecord(*value, name));
  ASSIGN_OR_RETURN(VersionRow row, LoadVersion(name, r.revision()));
  StateMachineVersionInfo info;
  info.arn = VersionArn(name, n);
  info.state_machine_name = name;
  info.state_machine_arn = StateMachineArn(name);
  info.version = n;
  info.revision = r.revision();
  info.description = r.description();
  info.definition = std::move(row.definition);
  info.express = head.express;
  info.created = r.created();
  return info;
}

absl::StatusOr<std::int64_t> DefinitionStore::StagePublishLocked(const std::string& name, Head& head,
                                                                const std::string& description,
                                                                storage::WriteBatch& batch) {
  // Idempotent: the latest revision's version, when it has one. At most kMaxVersionsPerStateMachine rows.
  std::int64_t existing = 0;
  std::int64_t count = 0;
  absl::Status decode_status;
  RETURN_IF_ERROR(store_->Scan(storage::Column::kDefinitions, PublishedVersionPrefix(name), "", false,
                               [&](std::string_view key, std::string_view value) {
                                 ++count;
                                 absl::StatusOr<storage::v1::StateMachineVersionRecord> r =
                                     DecodeVersionRecord(value, name);
                                 if (!r.ok()) {
                                   decode_status = r.status();
                                   return false;
                                 }
                                 if (r->revision() == head.latest) {
                                   existing = VersionOfKey(key);
                                 }
                                 return true;
                               }));
  RETURN_IF_ERROR(decode_status);
  if (existing != 0) {
    return existing;
  }
  if (count >= kMaxVersionsPerStateMachine) {
    return errors::ServiceQuotaExceeded(absl::StrCat("'", name, "' has ", count, " versions, the most allowed (",
                                                     kMaxVersionsPerStateMachine, "); delete unused ones"));
  }
  head.latest_published += 1;
  storage::v1::StateMachineVersionRecord r;
  r.set_revision(head.latest);
  r.set_description(description);
  r.set_created(clock_->NowMillis());
  batch.Put(storage::Column::kDefinitions, PublishedVersionKey(name, head.latest_published), EncodeProtoValue(r));
  return head.latest_published;
}

absl::StatusOr<std::int64_t> DefinitionStore::PublishLatestLocked(const std::string& name, const Head& head,
                                                                 const std::string& description) {
  Head next = head;
  storage::WriteBatch batch;
  ASSIGN_OR_RETURN(std::int64_t version, StagePublishLocked(name, next, description, batch));
  if (next.latest_published == head.latest_published) {
    return version;  // the latest revision already had it: nothing to write
  }
  batch.Put(storage::Column::kDefinitions, DefinitionKey(name, 0), EncodeDefinitionHead(next));
  heads_.erase(name);  // whatever the commit's outcome, reload from the store
  RETURN_IF_ERROR(store_->Commit(batch));
  if (cache_heads_) {
    heads_[name] = next;
  }
  return version;
}

absl::StatusOr<StateMachineVersionInfo> DefinitionStore::Publish(const std::string& state_machine,
                                                                 const std::string& description,
                                                                 std::int64_t revision) {
  ASSIGN_OR_RETURN(std::string name, StateMachineNameOf(state_machine));
  RETURN_IF_ERROR(ValidateDescription(description));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Head head, LiveHead(name, errors::StateMachineDoesNotExist(StateMachineArn(name))));
  if (revision != 0 && revision != head.latest) {
    return errors::Conflict(absl::StrCat("revision ", revision, " of '", name, "' is not its latest (", head.latest,
                                         "); nothing was published"));
  }
  ASSIGN_OR_RETURN(std::int64_t version, PublishLatestLocked(name, head, description));
  return VersionInfoLocked(name, head, version);  // reads only the head's type, which publishing leaves alone
}

absl::StatusOr<Page<StateMachineVersionInfo>> DefinitionStore::ListVersions(const std::string& state_machine,
                                                                            int page_size,
                                                                            const std::string& page_token) {
  ASSIGN_OR_RETURN(std::string name, StateMachineNameOf(state_machine));
  const std::string prefix = PublishedVersionPrefix(name);
  ASSIGN_OR_RETURN(std::string start_after, DecodePageToken(page_token, prefix));
  const int limit = ClampPageSize(page_size);
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Head head, LiveHead(name, errors::StateMachineDoesNotExist(StateMachineArn(name))));
  Page<StateMachineVersionInfo> page;
  std::string last_key;
  absl::Status decode_status;
  RETURN_IF_ERROR(store_->Scan(storage::Column::kDefinitions, prefix, start_after, true,
                               [&](std::string_view key, std::string_view value) {
                                 if (static_cast<int>(page.items.size()) == limit) {
                                   page.next_page_token = EncodePageToken(last_key);
                                   return false;
                                 }
                                 absl::StatusOr<storage::v1::StateMachineVersionRecord> r =
                                     DecodeVersionRecord(value, name);
                                 if (!r.ok()) {
                                   decode_status = r.status();
                                   return false;
                                 }
                                 StateMachineVersionInfo info;
                                 info.version = VersionOfKey(key);
                                 info.arn = VersionArn(name, info.version);
                                 info.state_machine_name = name;
                                 info.state_machine_arn = StateMachineArn(name);
                                 info.revision = r->revision();
                                 info.description = r->description();
                                 info.express = head.express;
                                 info.created = r->created();
                                 page.items.push_back(std::move(info));
                                 last_key = std::string(key);
                                 return true;
                               }));
  RETURN_IF_ERROR(decode_status);
  return page;
}

absl::StatusOr<StateMachineVersionInfo> DefinitionStore::DescribeVersion(const std::string& version_arn) {
  ASSIGN_OR_RETURN(QualifiedArn q, ParseQualifiedArn(version_arn));
  if (q.version == 0) {
    return errors::InvalidArn(version_arn);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Head head, LiveHead(q.state_machine, errors::ResourceNotFound(version_arn)));
  return VersionInfoLocked(q.state_machine, head, q.version);
}

absl::Status DefinitionStore::DeleteVersion(const std::string& version_arn) {
  ASSIGN_OR_RETURN(QualifiedArn q, ParseQualifiedArn(version_arn));
  if (q.version == 0) {
    return errors::InvalidArn(version_arn);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   store_->Get(storage::Column::kDefinitions, PublishedVersionKey(q.state_machine, q.version)));
  if (!value) {
    return absl::OkStatus();  // idempotent, as AWS's DeleteStateMachineVersion
  }
  std::string routed_by;
  absl::Status decode_status;
  RETURN_IF_ERROR(store_->Scan(storage::Column::kDefinitions, AliasPrefix(q.state_machine), "", false,
                               [&](std::string_view key, std::string_view alias_value) {
                                 storage::v1::StateMachineAliasRecord a;
                                 if (!DecodeProtoValue(alias_value, a)) {
                                   decode_status = absl::DataLossError("malformed alias record");
                                   return false;
                                 }
                                 for (const auto& route : a.routes()) {
                                   if (route.version() == q.version) {
                                     std::string_view alias = key.substr(AliasPrefix(q.state_machine).size());
                                     routed_by = std::string(alias.substr(0, alias.size() - 1));
                                     return false;
                                   }
                                 }
                                 return true;
                               }));
  RETURN_IF_ERROR(decode_status);
  if (!routed_by.empty()) {
    return errors::Conflict(absl::StrCat("version ", version_arn, " is routed to by alias ",
                                         AliasArn(q.state_machine, routed_by),
                                         "; update or delete the alias first"));
  }
  storage::WriteBatch batch;
  batch.Delete(storage::Column::kDefinitions, PublishedVersionKey(q.state_machine, q.version));
  return store_->Commit(batch);
}

absl::Status DefinitionStore::StageDeleteVersionsAndAliases(const std::string& name, storage::WriteBatch& batch) {
  for (const std::string& prefix : {PublishedVersionPrefix(name), AliasPrefix(name)}) {
    RETURN_IF_ERROR(store_->Scan(storage::Column::kDefinitions, prefix, "", false,
                                 [&](std::string_view key, std::string_view) {
                                   batch.Delete(storage::Column::kDefinitions, std::string(key));
                                   return true;
                                 }));
  }
  return absl::OkStatus();
}

absl::StatusOr<StartTarget> DefinitionStore::ResolveStart(const std::string& target, double unit) {
  StartTarget out;
  if (!IsQualifiedArn(target)) {
    ASSIGN_OR_RETURN(auto latest, Latest(target));
    out.info = std::move(latest.first);
    out.machine = std::move(latest.second);
    return out;
  }
  absl::StatusOr<QualifiedArn> q = ParseQualifiedArn(target);
  if (absl::IsNotFound(q.status())) {
    return errors::StateMachineDoesNotExist(target);
  }
  RETURN_IF_ERROR(q.status());
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Head head, LiveHead(q->state_machine, errors::StateMachineDoesNotExist(target)));
  std::int64_t version = q->version;
  if (!q->alias.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> value,
                     store_->Get(storage::Column::kDefinitions, AliasKey(q->state_machine, q->alias)));
    storage::v1::StateMachineAliasRecord alias;
    if (!value) {
      return errors::StateMachineDoesNotExist(target);
    }
    if (!DecodeProtoValue(*value, alias) || alias.routes().empty()) {
      return absl::DataLossError(absl::StrCat("malformed alias record of ", target));
    }
    // Weights add up to 100: the first route takes [0, w1), the second the rest.
    version = alias.routes(0).version();
    if (alias.routes_size() > 1 && unit * 100 >= alias.routes(0).weight()) {
      version = alias.routes(1).version();
    }
    out.alias_arn = target;
  }
  absl::StatusOr<StateMachineVersionInfo> v = VersionInfoLocked(q->state_machine, head, version);
  if (absl::IsNotFound(v.status())) {
    return errors::StateMachineDoesNotExist(VersionArn(q->state_machine, version));
  }
  RETURN_IF_ERROR(v.status());
  out.version_arn = v->arn;
  ASSIGN_OR_RETURN(out.info, Info(q->state_machine, head, v->revision));
  ASSIGN_OR_RETURN(out.machine, ParsedLocked(q->state_machine, v->revision));
  return out;
}

}  // namespace stepflow::engine
