#include "engine/logical_partitions.h"

#include <optional>
#include <string>

#include "common/status.h"
#include "spdlog/spdlog.h"
#include "storage/postgres/postgres_store.h"

namespace stepflow::engine {

namespace {

// FNV-1a: a stable hash, so that an execution's partition does not depend on the standard library.
std::uint64_t Fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : s) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

absl::StatusOr<bool> HasRows(storage::Store& store, storage::Column column) {
  bool any = false;
  RETURN_IF_ERROR(store.Scan(column, "", "", false, [&](std::string_view, std::string_view) {
    any = true;
    return false;
  }));
  return any;
}

// The count a meta row holds; `implied` (logged) when it holds none from 1 to kMaxLogicalPartitions.
int StoredCount(const std::string& row, int implied) {
  const std::uint64_t count = row.size() == 8 ? storage::ReadUint64BigEndian(row) : 0;
  if (count < 1 || count > static_cast<std::uint64_t>(kMaxLogicalPartitions)) {
    spdlog::error("LogicalPartitionsUnreadable: the meta row '{}' does not hold a count from 1 to {}; using {} "
                  "for this run and leaving the row as it is",
                  kLogicalPartitionsRow, kMaxLogicalPartitions, implied);
    return implied;
  }
  return static_cast<int>(count);
}

}  // namespace

absl::StatusOr<int> LoadOrRecordLogicalPartitions(storage::Store& store, int for_new_store, int implied) {
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.Get(storage::Column::kMeta, std::string(kLogicalPartitionsRow)));
  if (row) {
    return StoredCount(*row, implied);
  }
  ASSIGN_OR_RETURN(bool has_definitions, HasRows(store, storage::Column::kDefinitions));
  ASSIGN_OR_RETURN(bool has_executions, HasRows(store, storage::Column::kExecutions));
  const int count = has_definitions || has_executions ? implied : for_new_store;
  std::string value;
  storage::AppendUint64BigEndian(value, static_cast<std::uint64_t>(count));
  // Nodes of a cluster opening a new store together may each pick a count: the first one written is the store's.
  absl::StatusOr<std::string> stored = storage::PutIfAbsent(store, storage::Column::kMeta, kLogicalPartitionsRow, value);
  if (!stored.ok()) {
    // A store opened read-only (a full disk) still opens and serves reads; the count is recorded next time.
    spdlog::warn("the store's {} logical partitions could not be recorded yet: {}", count,
                 std::string(stored.status().message()));
    return count;
  }
  if (*stored != value) {
    const int theirs = StoredCount(*stored, implied);
    spdlog::info("the store has {} logical partitions (recorded by a node that opened it at the same time)", theirs);
    return theirs;
  }
  spdlog::info("the store has {} logical partitions from now on ({})", count,
               has_definitions || has_executions ? "an existing store: one per writer thread it ran with"
                                                 : "a new store");
  return count;
}

int LogicalPartitionOf(std::string_view execution_id, int logical_partitions) {
  return static_cast<int>(Fnv1a(execution_id) % static_cast<std::uint64_t>(logical_partitions));
}

}  // namespace stepflow::engine
