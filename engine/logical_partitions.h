#pragma once
// Logical partitions (storage/FORMAT.md, "Meta rows"): an execution belongs to logical partition
// FNV-1a(execution id) mod L, where L is fixed when the store is created and kept in it, so that it never
// depends on the machine that opens the store. A node runs some writer threads and maps the logical partitions
// it owns onto them (partition p runs on thread p mod threads); with several nodes (issue 14, part 3) the unit
// a node owns under a lease is the logical partition.
//
// Thread-safety: stateless functions.

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/engine.h"
#include "storage/store.h"

namespace stepflow::engine {


// The meta row that keeps the count.
inline constexpr std::string_view kLogicalPartitionsRow = "logical_partitions";

// The store's count of logical partitions. When the store has no count yet, it is written now if still absent
// (storage::PutIfAbsent: of nodes opening a new store together, every one gets the count written first):
// `for_new_store` for a store with no state machine and no execution (a new one), else `implied`, the count a
// release before
// the row used for that store, one partition per writer thread, which keeps every execution on the thread it
// had. A row that does not hold a count from 1 to kMaxLogicalPartitions is logged at error level and `implied`
// is used for this run (the row is left for an operator: rewriting it could split a cluster's view). A count
// that cannot be written (a store open read-only on a full disk) is used unrecorded and logged. Read errors
// as they are. REQUIRES: both counts from 1 to kMaxLogicalPartitions.
absl::StatusOr<int> LoadOrRecordLogicalPartitions(storage::Store& store, int for_new_store, int implied);

// The logical partition of an execution: FNV-1a of its id mod `logical_partitions` (> 0).
int LogicalPartitionOf(std::string_view execution_id, int logical_partitions);

}  // namespace stepflow::engine
