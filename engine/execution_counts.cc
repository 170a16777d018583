#include "engine/execution_counts.h"

#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/execution_record.h"
#include "engine/records.h"

namespace stepflow::engine {
namespace {

// Meta rows (storage/FORMAT.md): Str("execution_count") Str(state machine) Str(status) U64(writer) -> U64(delta
// as two's complement), and the marker Bytes("execution_counts") -> "1" once the rows are complete; the same
// for versions and aliases: Str("qualified_execution_count") Str(version or alias ARN) Str(status) U64(writer),
// and the marker Bytes("qualified_execution_counts").
constexpr std::string_view kCountRowTag = "execution_count";
constexpr std::string_view kMarkerKey = "execution_counts";
constexpr std::string_view kQualifiedCountRowTag = "qualified_execution_count";
constexpr std::string_view kQualifiedMarkerKey = "qualified_execution_counts";
constexpr std::string_view kMarkerValue = "1";
constexpr std::string_view kMachineStatusIndexTag = "by_machine_status";
constexpr std::string_view kQualifiedIndexTag = "by_qualified_arn";

// A version or alias ARN has ':'s; a state machine name (engine/names.h) has none.
bool IsQualifiedScope(std::string_view scope) { return scope.find(':') != std::string_view::npos; }

std::string_view TagOf(bool qualified) { return qualified ? kQualifiedCountRowTag : kCountRowTag; }

// The rows of `scope` under `tag` ("" = every scope under it).
std::string CountPrefix(std::string_view tag, std::string_view scope) {
  std::string key;
  storage::AppendString(key, tag);
  if (!scope.empty()) {
    storage::AppendString(key, scope);
  }
  return key;
}

std::string CountKey(std::string_view scope, std::string_view status, int writer) {
  std::string key = CountPrefix(TagOf(IsQualifiedScope(scope)), scope);
  storage::AppendString(key, status);
  storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(writer));
  return key;
}

std::string EncodeCount(std::int64_t value) {
  std::string out;
  storage::AppendUint64BigEndian(out, static_cast<std::uint64_t>(value));
  return out;
}

// Splits "A\0B\0rest" into A, B and rest; false when `key` does not have two terminated strings.
bool SplitTwo(std::string_view key, std::string_view& a, std::string_view& b, std::string_view& rest) {
  std::size_t first = key.find('\0');
  std::size_t second = first == std::string_view::npos ? first : key.find('\0', first + 1);
  if (second == std::string_view::npos) {
    return false;
  }
  a = key.substr(0, first);
  b = key.substr(first + 1, second - first - 1);
  rest = key.substr(second + 1);
  return true;
}

using CountVisitor = std::function<void(std::string_view, std::string_view, int, std::int64_t)>;

// Every count row under `tag` of `scope` ("" = all): visit(scope, status, writer, value).
absl::Status ScanCounts(storage::Store& store, std::string_view tag, std::string_view scope,
                        const CountVisitor& visit) {
  const std::string tag_prefix = CountPrefix(tag, "");
  absl::Status bad;
  RETURN_IF_ERROR(store.Scan(storage::Column::kMeta, CountPrefix(tag, scope), "", false,
                             [&](std::string_view key, std::string_view value) {
                               std::string_view s, status, rest;
                               if (!SplitTwo(key.substr(tag_prefix.size()), s, status, rest) || rest.size() != 8 ||
                                   value.size() != 8) {
                                 bad = absl::DataLossError(
                                     absl::StrCat("malformed execution count row (", key.size(), "-byte key)"));
                                 return false;
                               }
                               visit(s, status, static_cast<int>(storage::ReadUint64BigEndian(rest)),
                                     static_cast<std::int64_t>(storage::ReadUint64BigEndian(value)));
                               return true;
                             }));
  return bad;
}

// Every count row, of state machines and of versions and aliases.
absl::Status ScanAllCounts(storage::Store& store, const CountVisitor& visit) {
  RETURN_IF_ERROR(ScanCounts(store, kCountRowTag, "", visit));
  return ScanCounts(store, kQualifiedCountRowTag, "", visit);
}

// Stages the deletion of every row under `tag` (rows a crash left without the marker cannot exist, since rows
// and marker are one commit, but the rebuild stays exact anyway).
absl::Status DeleteRows(storage::Store& store, std::string_view tag, storage::WriteBatch& batch) {
  return ScanCounts(store, tag, "", [&](std::string_view scope, std::string_view status, int writer, std::int64_t) {
    std::string key = CountPrefix(tag, scope);
    storage::AppendString(key, status);
    storage::AppendUint64BigEndian(key, static_cast<std::uint64_t>(writer));
    batch.Delete(storage::Column::kMeta, key);
  });
}

// The status of execution `id` as its record says; RUNNING when the record cannot be read (a corrupt execution
// is quarantined and keeps its RUNNING index rows, which the machine counts hold too).
absl::StatusOr<std::string> RecordedStatus(storage::Store& store, std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> value, store.Get(storage::Column::kExecutions, id));
  if (!value.has_value()) {
    return absl::DataLossError(absl::StrCat("index entry for missing execution ", std::string(id)));
  }
  absl::StatusOr<StoredExecution> stored = DecodeExecutionRecord(*value);
  return std::string(sm::ExecutionStatusName(stored.ok() ? stored->record.status : sm::ExecutionStatus::kRunning));
}

absl::Status RebuildMachineCounts(storage::Store& store) {
  storage::WriteBatch batch;
  RETURN_IF_ERROR(DeleteRows(store, kCountRowTag, batch));
  std::map<std::pair<std::string, std::string>, std::int64_t> counts;
  std::string index_prefix;
  storage::AppendString(index_prefix, kMachineStatusIndexTag);
  RETURN_IF_ERROR(store.Scan(storage::Column::kIndexes, index_prefix, "", false,
                             [&](std::string_view key, std::string_view) {
                               std::string_view machine, status, rest;
                               if (SplitTwo(key.substr(index_prefix.size()), machine, status, rest)) {
                                 ++counts[{std::string(machine), std::string(status)}];
                               }
                               return true;
                             }));
  for (const auto& [row, count] : counts) {
    batch.Put(storage::Column::kMeta, CountKey(row.first, row.second, 0), EncodeCount(count));
  }
  batch.Put(storage::Column::kMeta, std::string(kMarkerKey), std::string(kMarkerValue));
  return store.Commit(batch);
}

// The by_qualified_arn index has no status: each entry's execution record gives it. One point read per
// execution started on a version or alias, once per store.
absl::Status RebuildQualifiedCounts(storage::Store& store) {
  storage::WriteBatch batch;
  RETURN_IF_ERROR(DeleteRows(store, kQualifiedCountRowTag, batch));
  std::map<std::pair<std::string, std::string>, std::int64_t> counts;
  std::string index_prefix;
  storage::AppendString(index_prefix, kQualifiedIndexTag);
  absl::Status failed;
  RETURN_IF_ERROR(store.Scan(storage::Column::kIndexes, index_prefix, "", false,
                             [&](std::string_view key, std::string_view) {
                               const std::size_t end = key.find('\0', index_prefix.size());
                               if (end == std::string_view::npos) {
                                 return true;
                               }
                               const std::string_view arn = key.substr(index_prefix.size(), end - index_prefix.size());
                               const std::string_view id = IndexKeyExecutionId(QualifiedIndexPrefix(arn), key);
                               if (id.empty()) {
                                 return true;
                               }
                               absl::StatusOr<std::string> status = RecordedStatus(store, id);
                               if (!status.ok()) {
                                 failed = status.status();
                                 return false;
                               }
                               ++counts[{std::string(arn), *status}];
                               return true;
                             }));
  RETURN_IF_ERROR(failed);
  for (const auto& [row, count] : counts) {
    batch.Put(storage::Column::kMeta, CountKey(row.first, row.second, 0), EncodeCount(count));
  }
  batch.Put(storage::Column::kMeta, std::string(kQualifiedMarkerKey), std::string(kMarkerValue));
  return store.Commit(batch);
}

}  // namespace

absl::Status RebuildExecutionCountsIfAbsent(storage::Store& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> marker, store.Get(storage::Column::kMeta, kMarkerKey));
  if (!marker.has_value()) {
    RETURN_IF_ERROR(RebuildMachineCounts(store));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> qualified_marker, store.Get(storage::Column::kMeta, kQualifiedMarkerKey));
  if (!qualified_marker.has_value()) {
    RETURN_IF_ERROR(RebuildQualifiedCounts(store));
  }
  return absl::OkStatus();
}

absl::StatusOr<StatusCounts> ReadExecutionCounts(storage::Store& store, std::string_view scope) {
  StatusCounts counts;
  RETURN_IF_ERROR(ScanCounts(store, TagOf(IsQualifiedScope(scope)), scope,
                             [&](std::string_view, std::string_view status, int, std::int64_t value) {
                               counts[std::string(status)] += value;
                             }));
  std::erase_if(counts, [](const auto& entry) { return entry.second == 0; });
  return counts;
}

absl::StatusOr<std::unique_ptr<ExecutionCountsWriter>> ExecutionCountsWriter::Load(storage::Store& store,
                                                                                   int writer) {
  std::unique_ptr<ExecutionCountsWriter> w(new ExecutionCountsWriter(writer));
  RETURN_IF_ERROR(ScanAllCounts(store, [&](std::string_view scope, std::string_view status, int row_writer,
                                           std::int64_t value) {
    if (row_writer == writer) {
      w->committed_[{std::string(scope), std::string(status)}] = value;
    }
  }));
  return w;
}

void ExecutionCountsWriter::Add(std::map<Row, std::int64_t>& deltas, const CountScopes& scopes,
                                std::string_view from, std::string_view to) {
  for (std::string_view scope : {scopes.machine, scopes.version_arn, scopes.alias_arn}) {
    if (scope.empty()) {
      continue;
    }
    if (!from.empty()) {
      --deltas[{std::string(scope), std::string(from)}];
    }
    ++deltas[{std::string(scope), std::string(to)}];
  }
}

void ExecutionCountsWriter::Stage(const CountScopes& scopes, std::string_view from, std::string_view to) {
  Add(staged_, scopes, from, to);
}

std::int64_t ExecutionCountsWriter::Committed(const Row& row) const {
  auto it = committed_.find(row);
  return it == committed_.end() ? 0 : it->second;
}

void ExecutionCountsWriter::Put(storage::WriteBatch& batch, const Row& row, std::int64_t value) const {
  batch.Put(storage::Column::kMeta, CountKey(row.first, row.second, writer_), EncodeCount(value));
}

void ExecutionCountsWriter::PutStaged(storage::WriteBatch& batch) const {
  for (const auto& [row, delta] : staged_) {
    Put(batch, row, Committed(row) + delta);
  }
}

void ExecutionCountsWriter::Finish(bool committed) {
  if (committed) {
    for (const auto& [row, delta] : staged_) {
      committed_[row] += delta;
    }
  }
  staged_.clear();
}

absl::Status ExecutionCountsWriter::CommitWithChange(storage::Store& store, storage::WriteBatch batch,
                                                     const CountScopes& scopes, std::string_view from,
                                                     std::string_view to) {
  std::map<Row, std::int64_t> change;
  Add(change, scopes, from, to);
  for (const auto& [row, delta] : change) {
    Put(batch, row, Committed(row) + delta);
  }
  RETURN_IF_ERROR(store.Commit(batch));
  for (const auto& [row, delta] : change) {
    committed_[row] += delta;
  }
  return absl::OkStatus();
}

}  // namespace stepflow::engine
