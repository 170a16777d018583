#pragma once
// A Store kept in the process's memory: for the embedded engine (`stepflow run`, the in-process benchmark,
// tests), where nothing outlives the process and nothing needs to be durable. Same contract as the RocksDB
// store (storage/store.h) — atomic commits, point reads, ordered prefix scans over a consistent view — without
// a write-ahead log, memtables or a file system.

#include <memory>

#include "storage/store.h"

namespace stepflow::storage {

// A new, empty in-memory store. Thread-safe as every Store. Commit never fails for lack of space (memory is
// the limit, as for RocksDB's in-memory Env).
std::unique_ptr<Store> NewMemoryStore();

}  // namespace stepflow::storage
