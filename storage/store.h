#pragma once
// The storage seam. Knows nothing of ASL: column families of byte keys and values, one atomic commit,
// point reads and ordered prefix scans. RocksDB is the embedded implementation; the interface is kept
// narrow enough for a second implementation over PostgreSQL (see docs/design.md).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stepflow::storage {

// Column families. The numbers are part of the on-disk format (storage/FORMAT.md): never reuse one.
enum class Column : std::uint8_t {
  kDefinitions = 0,  // state machine name + version -> definition record
  kExecutions = 1,   // execution id -> metadata + snapshot
  kHistory = 2,      // execution id + event id (big-endian) -> history event
  kTasks = 3,        // retired: queue + execution id + task id -> task record, written by older releases only
  kTimers = 4,       // due time + execution id + timer id -> timer
  kDeadLetters = 5,  // queue + id -> dead letter
  kIndexes = 6,      // secondary indexes (status + start time -> id, ...)
  kInputs = 7,       // execution id + input sequence number (big-endian) -> input applied (for replay)
  kMeta = 8,         // server-wide settings kept with the data (the task token key)
  kSnapshots = 9,    // execution id -> the interpreter's state after some input (recovery starts there)
};
inline constexpr int kColumnCount = 10;

// Name of a column family in RocksDB.
std::string_view ColumnName(Column c);

// A value whose bytes are produced only when a store needs them: RocksDB renders it at the commit, the
// in-memory store keeps it and renders it when it is read (so what nobody reads is never encoded). The
// object must be immutable once put, and Render must give the same bytes every time.
class DeferredValue {
 public:
  virtual ~DeferredValue() = default;
  virtual void Render(std::string& out) const = 0;  // appends the bytes to `out`
};

// The partition lease a commit is made under (issue 14): a store that keeps partition leases (PostgreSQL)
// refuses the commit, inside its transaction, unless `epoch` is still the partition's lease epoch. Stores
// owned by one process (RocksDB holds a lock file, the in-memory store lives in its process) keep no leases
// and accept any fence.
struct LeaseFence {
  std::uint32_t partition = 0;
  std::uint64_t epoch = 0;
};

// A set of writes applied atomically by Store::Commit. Not thread-safe.
class WriteBatch {
 public:
  struct Op {
    Column column;
    std::string key;
    std::optional<std::string> value;  // nullopt = delete, unless `deferred` is set
    std::shared_ptr<const DeferredValue> deferred;  // a put whose bytes are rendered by the store
    bool is_put() const { return value.has_value() || deferred != nullptr; }
    // The bytes put. REQUIRES: is_put().
    std::string Bytes() const;
  };
  void Put(Column column, std::string key, std::string value);
  // REQUIRES: value != nullptr.
  void PutDeferred(Column column, std::string key, std::shared_ptr<const DeferredValue> value);
  void Delete(Column column, std::string key);
  // Makes the commit conditional on the lease `fence` names (see LeaseFence).
  void SetFence(LeaseFence fence) { fence_ = fence; }
  const std::optional<LeaseFence>& fence() const { return fence_; }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  void Clear() {
    ops_.clear();
    fence_.reset();
  }

 private:
  std::vector<Op> ops_;
  std::optional<LeaseFence> fence_;
};

// Thread-safe: Commit, Get and Scan may be called concurrently from any thread.
class Store {
 public:
  virtual ~Store() = default;

  // Applies every op of `batch` atomically: after a crash either all or none are visible. When the store
  // was opened with sync writes, returns only after the write-ahead log is durable (concurrent commits
  // share fsyncs). Unavailable on I/O errors; nothing was applied then. Because the bytes of a failed
  // commit may still have reached the log, a restart can show it (whole): treat a failed commit as of
  // unknown outcome and reload state rather than repair it. ResourceExhausted ("disk full: ...") when the
  // disk is full, or the store was opened read-only on a full disk: reads keep working, and once space is
  // back (StoreOptions::min_free_bytes_to_write) the next commit makes the store writable again by itself.
  // After a write that RocksDB itself failed (the disk filled up between the free-space check and the write,
  // or another I/O error) every later commit gets that error until the store is reopened. An empty batch is
  // a no-op. FailedPrecondition ("lease lost: ...") when the batch's LeaseFence is stale; nothing was applied.
  virtual absl::Status Commit(const WriteBatch& batch) = 0;

  // Reads one key. std::nullopt when absent. Unavailable/DataLoss on storage errors.
  virtual absl::StatusOr<std::optional<std::string>> Get(Column column, std::string_view key) = 0;

  // Calls `visit(key, value)` for every key starting with `prefix`, in key order (reverse order when
  // `reverse`), starting at `start_after` (exclusive) when non-empty, until `visit` returns false.
  virtual absl::Status Scan(Column column, std::string_view prefix, std::string_view start_after, bool reverse,
                            const std::function<bool(std::string_view key, std::string_view value)>& visit) = 0;

  // Calls `visit(key)` for every key starting with `prefix`, in key order, until `visit` returns false: Scan
  // without the values, which a store may then neither read nor render (the default scans them).
  virtual absl::Status ScanKeys(Column column, std::string_view prefix,
                                const std::function<bool(std::string_view key)>& visit);
};

// The free disk space a store keeps by default (StoreOptions::min_free_bytes_to_write).
inline constexpr std::uint64_t kDefaultMinFreeBytesToWrite = std::uint64_t{128} << 20;

struct StoreOptions {
  // Directory of the database; created if missing.
  std::string path;
  // Sync the write-ahead log on every commit. Default: true (an acknowledged commit survives power loss);
  // false trades that for speed and must be named in every figure it produces.
  bool sync_writes = true;
  // Keep everything in RocksDB's in-memory Env (nothing touches the disk); for `stepflow run` and tests.
  // Each in-memory store has its own private Env, so `path` only names it there and may be empty.
  // Default: false.
  bool in_memory = false;
  // Free bytes the store keeps for RocksDB: below them every commit is refused (ResourceExhausted, "disk
  // full") before RocksDB is called, an existing store opens read-only (reads served), and a new one is not
  // created. RocksDB needs room that a commit's size does not show: a new log is preallocated (~70 MiB) when
  // a memtable (64 MiB) is switched, and the memtable is flushed to a table file; Debian's RocksDB 7.8 is
  // built with assertions and aborts the process when such a write fails halfway, so the store never lets
  // the disk fill up under it. Default and least accepted by the server's --min-free-disk: 128 MiB.
  std::uint64_t min_free_bytes_to_write = kDefaultMinFreeBytesToWrite;
};

// Opens (creating if needed) a RocksDB store with every Column. InvalidArgument for a bad path,
// Unavailable when the database cannot be opened (e.g. locked by another process), DataLoss on corruption,
// ResourceExhausted (disk full) when a new store cannot be created for lack of space. An existing store on
// a full disk opens read-only (see StoreOptions::min_free_bytes_to_write).
absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(const StoreOptions& options);

// Big-endian key encoding so RocksDB's byte order is numeric order.
void AppendUint64BigEndian(std::string& out, std::uint64_t v);
std::uint64_t ReadUint64BigEndian(std::string_view in);  // REQUIRES: in.size() >= 8
// The least key greater than every key that starts with `prefix`: nullopt when there is none (the prefix
// is empty or only 0xFF bytes). Scans bound their range with it.
std::optional<std::string> PrefixSuccessor(std::string_view prefix);
// Appends `s` followed by a 0x00 terminator (s must not contain 0x00), so that prefixes of variable
// strings do not collide ("ab" + 0 sorts before "abc" + 0).
void AppendString(std::string& out, std::string_view s);

}  // namespace stepflow::storage
