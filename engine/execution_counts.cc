#include "engine/execution_counts.h"

#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace stepflow::engine {
namespace {

// Meta rows (storage/FORMAT.md): Str("execution_count") Str(state machine) Str(status) U64(writer) -> U64(delta
// as two's complement), and the marker Bytes("execution_counts") -> "1" once the rows are complete.
constexpr std::string_view kCountRowTag = "execution_count";
constexpr std::string_view kMarkerKey = "execution_counts";
constexpr std::string_view kMarkerValue = "1";
constexpr std::string_view kMachineStatusIndexTag = "by_machine_status";

std::string CountPrefix(std::string_view machine) {
  std::string key;
  storage::AppendString(key, kCountRowTag);
  if (!machine.empty()) {
    storage::AppendString(key, machine);
  }
  return key;
}

std::string CountKey(std::string_view machine, std::string_view status, int writer) {
  std::string key = CountPrefix(machine);
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

// Every count row of `machine` ("" = all): visit(machine, status, writer, value).
absl::Status ScanCounts(storage::Store& store, std::string_view machine,
                        const std::function<void(std::string_view, std::string_view, int, std::int64_t)>& visit) {
  const std::string tag = CountPrefix("");
  absl::Status bad;
  RETURN_IF_ERROR(store.Scan(storage::Column::kMeta, CountPrefix(machine), "", false,
                             [&](std::string_view key, std::string_view value) {
                               std::string_view m, status, rest;
                               if (!SplitTwo(key.substr(tag.size()), m, status, rest) || rest.size() != 8 ||
                                   value.size() != 8) {
                                 bad = absl::DataLossError(
                                     absl::StrCat("malformed execution count row (", key.size(), "-byte key)"));
                                 return false;
                               }
                               visit(m, status, static_cast<int>(storage::ReadUint64BigEndian(rest)),
                                     static_cast<std::int64_t>(storage::ReadUint64BigEndian(value)));
                               return true;
                             }));
  return bad;
}

}  // namespace

absl::Status RebuildExecutionCountsIfAbsent(storage::Store& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> marker, store.Get(storage::Column::kMeta, kMarkerKey));
  if (marker.has_value()) {
    return absl::OkStatus();
  }
  storage::WriteBatch batch;
  // Rows a crash left without the marker cannot exist (rows and marker are one commit), but stay exact anyway.
  RETURN_IF_ERROR(ScanCounts(store, "", [&](std::string_view machine, std::string_view status, int writer,
                                            std::int64_t) { batch.Delete(storage::Column::kMeta,
                                                                         CountKey(machine, status, writer)); }));
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

absl::StatusOr<StatusCounts> ReadExecutionCounts(storage::Store& store, std::string_view state_machine) {
  StatusCounts counts;
  RETURN_IF_ERROR(ScanCounts(store, state_machine,
                             [&](std::string_view machine, std::string_view status, int, std::int64_t value) {
                               counts[std::string(status)] += value;
                             }));
  std::erase_if(counts, [](const auto& entry) { return entry.second == 0; });
  return counts;
}

absl::StatusOr<std::unique_ptr<ExecutionCountsWriter>> ExecutionCountsWriter::Load(storage::Store& store,
                                                                                   int writer) {
  std::unique_ptr<ExecutionCountsWriter> w(new ExecutionCountsWriter(writer));
  RETURN_IF_ERROR(ScanCounts(store, "", [&](std::string_view machine, std::string_view status, int row_writer,
                                            std::int64_t value) {
    if (row_writer == writer) {
      w->committed_[{std::string(machine), std::string(status)}] = value;
    }
  }));
  return w;
}

void ExecutionCountsWriter::Add(std::map<Row, std::int64_t>& deltas, std::string_view machine,
                                std::string_view from, std::string_view to) {
  if (!from.empty()) {
    --deltas[{std::string(machine), std::string(from)}];
  }
  ++deltas[{std::string(machine), std::string(to)}];
}

void ExecutionCountsWriter::Stage(std::string_view machine, std::string_view from, std::string_view to) {
  Add(staged_, machine, from, to);
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
                                                     std::string_view machine, std::string_view from,
                                                     std::string_view to) {
  std::map<Row, std::int64_t> change;
  Add(change, machine, from, to);
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
