#pragma once
// State machines, stored by version in the `definitions` column (storage/FORMAT.md): a head row
// (version 0) per name with the latest version number, and one row per version that is never rewritten.
// Executions keep the version they started with, so versions outlive updates and deletes: Delete only marks
// the head deleted, and a later Create of the same name continues the version numbers.
//
// Thread-safety: thread-safe. One mutex serializes changes and guards the caches of heads and parsed
// machines; it is held for a map lookup on the read paths and never by the partitions' commit loop.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "engine/engine.h"
#include "statemachine/core/model.h"
#include "storage/store.h"

namespace stepflow::engine {

// The head row of a state machine name (`definitions`, version 0).
struct DefinitionHead {
  bool express = false;
  bool deleted = false;
  std::int64_t latest = 0;  // the latest version number
  common::EpochMillis created = 0;
  common::EpochMillis updated = 0;
  std::int64_t latest_published = 0;  // the last published version's number; 0 = none yet
};
// One version row (`definitions`, version n >= 1).
struct DefinitionVersionRow {
  std::string definition;  // the text as submitted
  common::EpochMillis created = 0;
};

// Values of the `definitions` rows (format version 2). The decoders read versions 1 and 2 and return DataLoss
// for anything else.
std::string EncodeDefinitionHead(const DefinitionHead& head);
absl::StatusOr<DefinitionHead> DecodeDefinitionHead(std::string_view value);
std::string EncodeDefinitionVersion(const DefinitionVersionRow& row);
absl::StatusOr<DefinitionVersionRow> DecodeDefinitionVersion(std::string_view value);

// What a start runs: the revision, its model, and the version and alias it was reached through (empty when
// started on the state machine itself).
struct StartTarget {
  StateMachineInfo info;
  std::shared_ptr<const sm::StateMachine> machine;
  std::string version_arn;
  std::string alias_arn;
};

// Keys of the published versions and aliases in the `definitions` column (storage/FORMAT.md, "Versions and
// aliases"): they begin with 0xFF, which no name (UTF-8) begins with, so they sort after every name's rows.
std::string PublishedVersionPrefix(std::string_view name);
std::string PublishedVersionKey(std::string_view name, std::int64_t version);
std::string AliasPrefix(std::string_view name);
std::string AliasKey(std::string_view name, std::string_view alias);

class DefinitionStore {
 public:
  // Not owned; both must outlive this object.
  DefinitionStore(storage::Store* store, common::Clock* clock, std::size_t max_definition_bytes);

  // Drops the cached head rows, so that the next call reads them from the store: for a node that becomes the
  // writer of the state machines (cluster mode, engine/cluster/) after another node may have changed them.
  void ForgetCachedHeads() {
    std::lock_guard<std::mutex> lock(mu_);
    heads_.clear();
  }
  // From now on the head rows are read from the store at every use (one point read) instead of being cached:
  // for a node of a cluster, where another node may change a state machine at any time, so that a start
  // always runs the latest revision the store holds. Versions, never rewritten, stay cached.
  void StopCachingHeads() {
    std::lock_guard<std::mutex> lock(mu_);
    cache_heads_ = false;
    heads_.clear();
  }

  // Idempotent: the same name, definition and type returns the existing state machine. AlreadyExists
  // (StateMachineAlreadyExists) when the name exists with another definition or type; InvalidArgument
  // (InvalidName, InvalidDefinition) for a bad name or definition; Unavailable on storage errors.
  // With `publish_description` (AWS's publish + versionDescription): also publishes the resulting revision,
  // in the same commit and under the same lock, so that concurrent calls never publish one another's
  // revision; `published_version_arn` of the result names the version (an existing one when the revision
  // already had one, as Publish). Errors of Publish as well.
  absl::StatusOr<StateMachineInfo> Create(const std::string& name, const std::string& definition, bool express,
                                          const std::optional<std::string>& publish_description = std::nullopt);
  // A new version when `definition` differs from the latest one. NotFound (StateMachineDoesNotExist).
  // `publish_description`: as Create.
  absl::StatusOr<StateMachineInfo> Update(const std::string& state_machine, const std::string& definition,
                                          const std::optional<std::string>& publish_description = std::nullopt);
  // The latest version. NotFound (StateMachineDoesNotExist).
  absl::StatusOr<StateMachineInfo> Describe(const std::string& state_machine);
  // Names in byte order, definitions left empty.
  absl::StatusOr<Page<StateMachineInfo>> List(int page_size, const std::string& page_token);
  // NotFound (StateMachineDoesNotExist). Every version stays readable through Version/Machine.
  absl::Status Delete(const std::string& state_machine);

  // The latest version with its parsed model, for starting an execution.
  absl::StatusOr<std::pair<StateMachineInfo, std::shared_ptr<const sm::StateMachine>>> Latest(
      const std::string& state_machine);
  // True when the name was ever created (deleted or not): its executions can be listed.
  absl::StatusOr<bool> Known(const std::string& name);
  // One version, deleted or not. NotFound when it was never stored.
  absl::StatusOr<StateMachineInfo> Version(const std::string& name, std::int64_t version);
  absl::StatusOr<std::shared_ptr<const sm::StateMachine>> Machine(const std::string& name, std::int64_t version);

  // --- Published versions (definition_versions.cc). Errors as AWS names them:
  // Publish: idempotent (the latest revision's existing version is returned). NotFound
  // (StateMachineDoesNotExist); FailedPrecondition (ConflictException) when `revision` (0 = any) is not the
  // latest; ResourceExhausted (ServiceQuotaExceededException) at kMaxVersionsPerStateMachine versions;
  // InvalidArgument (ValidationException) for a description over kMaxDescriptionChars.
  absl::StatusOr<StateMachineVersionInfo> Publish(const std::string& state_machine, const std::string& description,
                                                  std::int64_t revision);
  // Newest first, without definitions. NotFound (StateMachineDoesNotExist).
  absl::StatusOr<Page<StateMachineVersionInfo>> ListVersions(const std::string& state_machine, int page_size,
                                                             const std::string& page_token);
  // InvalidArgument (InvalidArn); NotFound (ResourceNotFound).
  absl::StatusOr<StateMachineVersionInfo> DescribeVersion(const std::string& version_arn);
  // OK when it does not exist (as AWS). FailedPrecondition (ConflictException) while an alias routes to it.
  absl::Status DeleteVersion(const std::string& version_arn);

  // --- Aliases (definition_aliases.cc). Routes: one or two distinct versions of one state machine, weights
  // 0..100 adding up to 100 (InvalidArgument ValidationException otherwise); a version that does not exist is
  // NotFound (ResourceNotFound). Create is idempotent for the same description and routes, AlreadyExists
  // (ConflictException) for others; ResourceExhausted (ServiceQuotaExceededException) past
  // kMaxAliasesPerStateMachine. Update, Describe, Delete: NotFound (ResourceNotFound) for an unknown alias.
  absl::StatusOr<StateMachineAliasInfo> CreateAlias(const std::string& name, const std::string& description,
                                                    const std::vector<AliasRoute>& routes);
  absl::StatusOr<StateMachineAliasInfo> UpdateAlias(const std::string& alias_arn,
                                                    const std::optional<std::string>& description,
                                                    const std::vector<AliasRoute>& routes);
  absl::StatusOr<StateMachineAliasInfo> DescribeAlias(const std::string& alias_arn);
  absl::StatusOr<Page<StateMachineAliasInfo>> ListAliases(const std::string& state_machine, int page_size,
                                                          const std::string& page_token);
  absl::Status DeleteAlias(const std::string& alias_arn);

  // What StartExecution runs for `target`: a state machine name or ARN (its latest revision), a version ARN, or
  // an alias ARN, routed by weight with `unit` (a random number in [0, 1)). NotFound (StateMachineDoesNotExist)
  // when it names nothing; InvalidArgument (InvalidArn). Resolved under the store's lock, so a start never sees
  // half an alias update, and a version deleted concurrently is either started or not found.
  absl::StatusOr<StartTarget> ResolveStart(const std::string& target, double unit);

 private:
  using Head = DefinitionHead;
  using VersionRow = DefinitionVersionRow;

  // REQUIRES: mu_ held. nullopt when the name was never created.
  absl::StatusOr<std::optional<Head>> LoadHead(const std::string& name);
  absl::StatusOr<VersionRow> LoadVersion(const std::string& name, std::int64_t version);
  absl::StatusOr<StateMachineInfo> Info(const std::string& name, const Head& head, std::int64_t version);
  // REQUIRES: mu_ held. Commits `definition` as the next revision of `name`, and publishes it in the same
  // batch when `publish_description` is given (then `published_version_arn` is set).
  absl::StatusOr<StateMachineInfo> WriteVersion(const std::string& name, Head head, const std::string& definition,
                                                const std::optional<std::string>& publish_description);
  // REQUIRES: mu_ held. Stages into `batch` a version of revision `head.latest` and advances
  // `head.latest_published` (the caller puts the head row), unless that revision already has a version: then
  // stages nothing. Returns the version's number either way. ResourceExhausted (ServiceQuotaExceededException).
  absl::StatusOr<std::int64_t> StagePublishLocked(const std::string& name, Head& head, const std::string& description,
                                                  storage::WriteBatch& batch);
  // REQUIRES: mu_ held. StagePublishLocked and its commit (when it staged anything); the version's number.
  absl::StatusOr<std::int64_t> PublishLatestLocked(const std::string& name, const Head& head,
                                                   const std::string& description);
  // REQUIRES: mu_ held. `info` (the latest revision of `name`) with its version published, as Create and
  // Update do with a description; `info` unchanged without one.
  absl::StatusOr<StateMachineInfo> WithPublishedLocked(const std::string& name, const Head& head,
                                                       StateMachineInfo info,
                                                       const std::optional<std::string>& publish_description);
  absl::StatusOr<std::shared_ptr<const sm::StateMachine>> ParsedLocked(const std::string& name, std::int64_t version);
  // REQUIRES: mu_ held. The head of a state machine that exists (not deleted), else `missing`.
  absl::StatusOr<Head> LiveHead(const std::string& name, const absl::Status& missing);
  // The stored bytes of alias `alias` of live state machine `machine`; ResourceNotFound(alias_arn) when either
  // is missing. REQUIRES: mu_ held.
  absl::StatusOr<std::string> StoredAliasLocked(const std::string& machine, const std::string& alias,
                                                const std::string& alias_arn);
  // REQUIRES: mu_ held. Version `n`'s info (with its definition), NotFound (ResourceNotFound) when absent.
  absl::StatusOr<StateMachineVersionInfo> VersionInfoLocked(const std::string& name, const Head& head,
                                                            std::int64_t n);
  // REQUIRES: mu_ held. The deletes of every version and alias row of `name` (a state machine being deleted).
  absl::Status StageDeleteVersionsAndAliases(const std::string& name, storage::WriteBatch& batch);
  // REQUIRES: mu_ held. The routes of an alias of `name`, checked (see CreateAlias), as version numbers.
  absl::StatusOr<std::vector<std::pair<std::int64_t, int>>> CheckRoutesLocked(const std::string& name,
                                                                             const std::vector<AliasRoute>& routes);

  storage::Store* store_;
  common::Clock* clock_;
  const std::size_t max_definition_bytes_;
  std::mutex mu_;
  std::map<std::string, Head> heads_;  // guarded by mu_; a cache of the head rows (when cache_heads_)
  bool cache_heads_ = true;            // guarded by mu_
  std::map<std::pair<std::string, std::int64_t>, std::shared_ptr<const sm::StateMachine>> parsed_;  // mu_
};

// Checks a definition as CreateStateMachine does and returns its model: InvalidArgument "InvalidDefinition:"
// with every problem (location and message) when it is too large, invalid, or cannot be run.
absl::StatusOr<std::shared_ptr<const sm::StateMachine>> CheckDefinition(const std::string& definition, bool express,
                                                                        std::size_t max_definition_bytes);

}  // namespace stepflow::engine
