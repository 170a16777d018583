#pragma once
// Test-only entry to the RocksDB store: the same store on a given rocksdb::Env, so that a test can inject
// I/O faults (a FileSystemWrapper that fails writes with NoSpace). Not for production code: RocksDB types
// stay out of store.h.

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/store.h"

namespace rocksdb {
class Env;
}

namespace stepflow::storage {

// A key's first `count` components (storage/FORMAT.md, "Key components"): its bytes up to and including the
// count-th 0x00, or the whole key when it has fewer: the memtables' insert hint prefix (rocksdb_store.cc),
// exposed for its test.
std::string_view KeyPrefixOfComponents(std::string_view key, int count);

// OpenRocksDbStore for an on-disk store whose files go through `env` (not owned; it must outlive the store).
absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStoreOnEnvForTest(const StoreOptions& options, rocksdb::Env* env);

}  // namespace stepflow::storage
