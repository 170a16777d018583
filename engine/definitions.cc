#include "engine/definitions.h"

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "engine/errors.h"
#include "engine/names.h"
#include "engine/paging.h"
#include "engine/proto_value.h"
#include "engine/qualified_arns.h"
#include "engine/records.h"
#include "engine/records_v1.h"
#include "stepflow/storage/v1/records.pb.h"
#include "statemachine/compile.h"
#include "statemachine/validator.h"

namespace stepflow::engine {
namespace json = boost::json;

namespace {

constexpr std::int64_t kHeadVersion = 0;

// Names the state machine in a decoding error.
absl::Status Corrupt(const absl::Status& s, const std::string& name) {
  return absl::DataLossError(absl::StrCat("definition record of state machine '", name, "': ", s.message()));
}

}  // namespace

std::string EncodeDefinitionHead(const DefinitionHead& head) {
  storage::v1::DefinitionHead h;
  h.set_express(head.express);
  h.set_deleted(head.deleted);
  h.set_latest_version(head.latest);
  h.set_created(head.created);
  h.set_updated(head.updated);
  h.set_latest_published_version(head.latest_published);
  return EncodeProtoValue(h);
}

absl::StatusOr<DefinitionHead> DecodeDefinitionHead(std::string_view value) {
  if (ValueFormatOf(value) == ValueFormat::kJsonV1) {
    return DecodeDefinitionHeadV1(value);
  }
  storage::v1::DefinitionHead h;
  if (!DecodeProtoValue(value, h)) {
    return absl::DataLossError("malformed definition head");
  }
  return DefinitionHead{h.express(), h.deleted(), h.latest_version(), h.created(), h.updated(),
                        h.latest_published_version()};
}

std::string EncodeDefinitionVersion(const DefinitionVersionRow& row) {
  storage::v1::DefinitionVersion v;
  v.set_definition(row.definition);
  v.set_created(row.created);
  return EncodeProtoValue(v);
}

absl::StatusOr<DefinitionVersionRow> DecodeDefinitionVersion(std::string_view value) {
  if (ValueFormatOf(value) == ValueFormat::kJsonV1) {
    return DecodeDefinitionVersionV1(value);
  }
  storage::v1::DefinitionVersion v;
  if (!DecodeProtoValue(value, v)) {
    return absl::DataLossError("malformed definition version");
  }
  return DefinitionVersionRow{std::move(*v.mutable_definition()), v.created()};
}

absl::StatusOr<std::shared_ptr<const sm::StateMachine>> CheckDefinition(const std::string& definition, bool express,
                                                                        std::size_t max_definition_bytes) {
  if (definition.size() > max_definition_bytes) {
    return errors::InvalidDefinition(absl::StrCat("the definition is ", definition.size(), " bytes; at most ",
                                                  max_definition_bytes, " are allowed"));
  }
  sm::ValidateOptions options;
  options.express = express;
  options.max_definition_bytes = max_definition_bytes;
  sm::CompileResult compiled = sm::Compile(definition, options);
  if (!compiled.diagnostics.empty()) {
    return errors::InvalidDefinition(absl::StrJoin(compiled.diagnostics, "; ", [](std::string* out, const sm::Diagnostic& d) {
      out->append(sm::FormatDiagnostic(d));
    }));
  }
  if (!compiled.ok()) {
    return errors::InvalidDefinition(compiled.model_status.message());
  }
  return std::move(compiled.model);
}

std::vector<sm::Diagnostic> ValidateStateMachineDefinition(const std::string& definition, bool express) {
  sm::ValidateOptions options;
  options.express = express;
  sm::CompileResult compiled = sm::Compile(definition, options);
  if (compiled.diagnostics.empty() && !compiled.ok()) {
    // Valid, but this release could not build its model: say why, as AWS would not need to.
    compiled.diagnostics.push_back(
        sm::Diagnostic{"", "UNSUPPORTED_FEATURE", std::string(compiled.model_status.message())});
  }
  return std::move(compiled.diagnostics);
}

DefinitionStore::DefinitionStore(storage::Store* store, common::Clock* clock, std::size_t max_definition_bytes)
    : store_(store), clock_(clock), max_definition_bytes_(max_definition_bytes) {}

absl::StatusOr<std::optional<DefinitionStore::Head>> DefinitionStore::LoadHead(const std::string& name) {
  auto cached = heads_.find(name);
  if (cached != heads_.end()) {
    return cached->second;
  }
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   store_->Get(storage::Column::kDefinitions, DefinitionKey(name, kHeadVersion)));
  if (!value) {
    return std::optional<Head>();
  }
  absl::StatusOr<Head> head = DecodeDefinitionHead(*value);
  if (!head.ok()) {
    return Corrupt(head.status(), name);
  }
  if (cache_heads_) {
    heads_[name] = *head;
  }
  return head;
}

absl::StatusOr<DefinitionStore::VersionRow> DefinitionStore::LoadVersion(const std::string& name,
                                                                         std::int64_t version) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   store_->Get(storage::Column::kDefinitions, DefinitionKey(name, version)));
  if (!value || version == kHeadVersion) {
    return absl::NotFoundError(
        absl::StrCat("StateMachineDoesNotExist: version ", version, " of '", name, "' does not exist"));
  }
  absl::StatusOr<VersionRow> row = DecodeDefinitionVersion(*value);
  if (!row.ok()) {
    return Corrupt(row.status(), name);
  }
  return row;
}

absl::StatusOr<StateMachineInfo> DefinitionStore::Info(const std::string& name, const Head& head,
                                                       std::int64_t version) {
  ASSIGN_OR_RETURN(VersionRow row, LoadVersion(name, version));
  StateMachineInfo info;
  info.name = name;
  info.arn = StateMachineArn(name);
  info.definition = std::move(row.definition);
  info.express = head.express;
  info.version = version;
  info.created = head.created;
  info.updated = row.created;
  return info;
}

absl::StatusOr<StateMachineInfo> DefinitionStore::WriteVersion(const std::string& name, Head head,
                                                               const std::string& definition,
                                                               const std::optional<std::string>& publish_description) {
  const common::EpochMillis now = clock_->NowMillis();
  head.latest += 1;
  head.updated = now;
  if (head.created == 0 || head.deleted) {
    head.created = now;
  }
  head.deleted = false;
  storage::WriteBatch batch;
  batch.Put(storage::Column::kDefinitions, DefinitionKey(name, head.latest),
            EncodeDefinitionVersion(VersionRow{definition, now}));
  std::int64_t published = 0;
  if (publish_description) {
    ASSIGN_OR_RETURN(published, StagePublishLocked(name, head, *publish_description, batch));
  }
  batch.Put(storage::Column::kDefinitions, DefinitionKey(name, kHeadVersion), EncodeDefinitionHead(head));
  heads_.erase(name);  // whatever the commit's outcome, reload from the store
  RETURN_IF_ERROR(store_->Commit(batch));
  if (cache_heads_) {
    heads_[name] = head;
  }
  ASSIGN_OR_RETURN(StateMachineInfo info, Info(name, head, head.latest));
  if (publish_description) {
    info.published_version_arn = VersionArn(name, published);
  }
  return info;
}

absl::StatusOr<StateMachineInfo> DefinitionStore::WithPublishedLocked(
    const std::string& name, const Head& head, StateMachineInfo info,
    const std::optional<std::string>& publish_description) {
  if (publish_description) {
    ASSIGN_OR_RETURN(std::int64_t version, PublishLatestLocked(name, head, *publish_description));
    info.published_version_arn = VersionArn(name, version);
  }
  return info;
}

absl::StatusOr<StateMachineInfo> DefinitionStore::Create(const std::string& name, const std::string& definition,
                                                         bool express,
                                                         const std::optional<std::string>& publish_description) {
  RETURN_IF_ERROR(ValidateName(name, "state machine"));
  if (publish_description) {
    RETURN_IF_ERROR(ValidateDescription(*publish_description));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const sm::StateMachine> machine,
                   CheckDefinition(definition, express, max_definition_bytes_));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Head> head, LoadHead(name));
  if (head && !head->deleted) {
    ASSIGN_OR_RETURN(StateMachineInfo existing, Info(name, *head, head->latest));
    if (existing.definition == definition && existing.express == express) {
      return WithPublishedLocked(name, *head, std::move(existing), publish_description);
    }
    return errors::StateMachineAlreadyExists(StateMachineArn(name));
  }
  Head fresh = head.value_or(Head{});
  fresh.express = express;
  ASSIGN_OR_RETURN(StateMachineInfo info, WriteVersion(name, fresh, definition, publish_description));
  parsed_[{name, info.version}] = std::move(machine);
  return info;
}

absl::StatusOr<StateMachineInfo> DefinitionStore::Update(const std::string& state_machine,
                                                         const std::string& definition,
                                                         const std::optional<std::string>& publish_description) {
  ASSIGN_OR_RETURN(std::string name, StateMachineNameOf(state_machine));
  if (publish_description) {
    RETURN_IF_ERROR(ValidateDescription(*publish_description));
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Head> head, LoadHead(name));
  if (!head || head->deleted) {
    return errors::StateMachineDoesNotExist(StateMachineArn(name));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const sm::StateMachine> machine,
                   CheckDefinition(definition, head->express, max_definition_bytes_));
  ASSIGN_OR_RETURN(StateMachineInfo current, Info(name, *head, head->latest));
  if (current.definition == definition) {
    return WithPublishedLocked(name, *head, std::move(current), publish_description);
  }
  ASSIGN_OR_RETURN(StateMachineInfo info, WriteVersion(name, *head, definition, publish_description));
  parsed_[{name, info.version}] = std::move(machine);
  return info;
}

absl::StatusOr<StateMachineInfo> DefinitionStore::Describe(const std::string& state_machine) {
  ASSIGN_OR_RETURN(std::string name, StateMachineNameOf(state_machine));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Head> head, LoadHead(name));
  if (!head || head->deleted) {
    return errors::StateMachineDoesNotExist(StateMachineArn(name));
  }
  return Info(name, *head, head->latest);
}

absl::Status DefinitionStore::Delete(const std::string& state_machine) {
  ASSIGN_OR_RETURN(std::string name, StateMachineNameOf(state_machine));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Head> head, LoadHead(name));
  if (!head || head->deleted) {
    return errors::StateMachineDoesNotExist(StateMachineArn(name));
  }
  Head deleted = *head;
  deleted.deleted = true;
  storage::WriteBatch batch;
  batch.Put(storage::Column::kDefinitions, DefinitionKey(name, kHeadVersion), EncodeDefinitionHead(deleted));
  // As AWS: the state machine's versions and aliases go with it (its executions keep their revisions).
  RETURN_IF_ERROR(StageDeleteVersionsAndAliases(name, batch));
  heads_.erase(name);
  return store_->Commit(batch);
}

absl::StatusOr<Page<StateMachineInfo>> DefinitionStore::List(int page_size, const std::string& page_token) {
  const int limit = ClampPageSize(page_size);
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token, ""));
  Page<StateMachineInfo> page;
  std::lock_guard<std::mutex> lock(mu_);
  // One scan per name: each stops at the name's head and the next starts past all of its versions.
  std::string start_after = after.empty() ? "" : DefinitionKey(after, -1);
  std::string last_name;
  bool more = true;
  while (more && static_cast<int>(page.items.size()) <= limit) {
    std::string name;
    RETURN_IF_ERROR(store_->Scan(storage::Column::kDefinitions, "", start_after, false,
                                 [&](std::string_view key, std::string_view) {
                                   // Past the names: the versions' and aliases' rows (0xFF...).
                                   if (!key.empty() && static_cast<unsigned char>(key[0]) != 0xFF) {
                                     name = std::string(key.substr(0, key.size() - 9));
                                   }
                                   return false;
                                 }));
    if (name.empty()) {
      more = false;
      break;
    }
    start_after = DefinitionKey(name, -1);  // U64(max): past every version of `name`
    ASSIGN_OR_RETURN(std::optional<Head> head, LoadHead(name));
    if (!head || head->deleted) {
      continue;
    }
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_page_token = EncodePageToken(last_name);
      break;
    }
    StateMachineInfo info;
    info.name = name;
    info.arn = StateMachineArn(name);
    info.express = head->express;
    info.version = head->latest;
    info.created = head->created;
    info.updated = head->updated;
    page.items.push_back(std::move(info));
    last_name = name;
  }
  return page;
}

absl::StatusOr<std::pair<StateMachineInfo, std::shared_ptr<const sm::StateMachine>>> DefinitionStore::Latest(
    const std::string& state_machine) {
  ASSIGN_OR_RETURN(std::string name, StateMachineNameOf(state_machine));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Head> head, LoadHead(name));
  if (!head || head->deleted) {
    return errors::StateMachineDoesNotExist(StateMachineArn(name));
  }
  StateMachineInfo info;
  info.name = name;
  info.arn = StateMachineArn(name);
  info.express = head->express;
  info.version = head->latest;
  info.created = head->created;
  info.updated = head->updated;
  ASSIGN_OR_RETURN(std::shared_ptr<const sm::StateMachine> machine, ParsedLocked(name, head->latest));
  return std::make_pair(std::move(info), std::move(machine));
}

absl::StatusOr<bool> DefinitionStore::Known(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Head> head, LoadHead(name));
  return head.has_value();
}

absl::StatusOr<StateMachineInfo> DefinitionStore::Version(const std::string& name, std::int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::optional<Head> head, LoadHead(name));
  if (!head) {
    return errors::StateMachineDoesNotExist(StateMachineArn(name));
  }
  return Info(name, *head, version);
}

absl::StatusOr<std::shared_ptr<const sm::StateMachine>> DefinitionStore::Machine(const std::string& name,
                                                                                 std::int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  return ParsedLocked(name, version);
}

absl::StatusOr<std::shared_ptr<const sm::StateMachine>> DefinitionStore::ParsedLocked(const std::string& name,
                                                                                      std::int64_t version) {
  auto it = parsed_.find({name, version});
  if (it != parsed_.end()) {
    return it->second;
  }
  ASSIGN_OR_RETURN(VersionRow row, LoadVersion(name, version));
  // Stored definitions passed validation when created; CompileStored compiles them without the checks
  // added since, so that old versions keep loading.
  absl::StatusOr<std::shared_ptr<const sm::StateMachine>> machine = sm::CompileStored(row.definition);
  if (absl::IsDataLoss(machine.status())) {
    return absl::DataLossError(absl::StrCat("stored definition of '", name, "' version ", version, " is not JSON"));
  }
  if (!machine.ok()) {
    return absl::DataLossError(absl::StrCat("stored definition of '", name, "' version ", version,
                                            " no longer parses: ", machine.status().message()));
  }
  parsed_[{name, version}] = *machine;
  return machine;
}

}  // namespace stepflow::engine
