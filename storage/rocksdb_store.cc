// The embedded Store: one RocksDB database with one column family per Column. Layout and encodings are
// written down in storage/FORMAT.md. RocksDB types stay in this file.

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/iterator.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/slice.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/status.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "storage/rocksdb_store_for_test.h"
#include "storage/store.h"

namespace stepflow::storage {
namespace {

// Memtable size per column family of an in-memory store (RocksDB's default, set explicitly): smaller
// memtables made the in-memory benchmark flush, and flushing into tables nobody reads only costs CPU. The
// memory is taken as it is written, not reserved at open.
constexpr std::size_t kInMemoryWriteBufferBytes = 64u << 20;
// Bytes of write-ahead log kept before RocksDB flushes the memtables that hold the oldest log alive.
constexpr std::uint64_t kMaxTotalWalBytes = 32u << 20;
// Uncompressed size of a table block of an on-disk store (RocksDB's default is 4 KiB).
constexpr std::size_t kTableBlockBytes = 16u << 10;
// The `executions` column family's bloom filters (ColumnOptions): bits per key of a table file's filter
// (~1% false positives), and the share of a memtable's size given to its filter.
constexpr int kBloomBitsPerKey = 10;
constexpr double kMemtableBloomRatio = 0.02;
// Name under which an in-memory store lives inside its private MemEnv when no path is given.
constexpr std::string_view kDefaultInMemoryPath = "/stepflow-in-memory";

// What a RocksDB call was doing, for status mapping and messages.
enum class Operation { kOpen, kCommit, kGet, kScan };

const char* OperationName(Operation op) {
  switch (op) {
    case Operation::kOpen:
      return "open";
    case Operation::kCommit:
      return "commit";
    case Operation::kGet:
      return "get";
    case Operation::kScan:
      return "scan";
  }
  return "operation";
}

// ENOSPC, however RocksDB reports it: a NoSpace status, or an I/O error (a background error the DB keeps
// returning) whose text says so.
bool IsNoSpace(const rocksdb::Status& s) {
  return s.IsNoSpace() || (s.IsIOError() && s.ToString().find("No space left") != std::string::npos);
}

absl::Status DiskFull(absl::string_view detail) {
  return absl::ResourceExhaustedError(
      absl::StrCat("disk full: the store refuses writes until space is freed (reads still work): ", detail));
}

// Bytes free for the store's files; nullopt when the file system cannot say.
std::optional<std::uint64_t> FreeBytes(const std::string& path) {
  std::error_code ec;
  std::filesystem::space_info info = std::filesystem::space(path, ec);
  if (ec) {
    return std::nullopt;
  }
  return info.available;
}

// The one place where RocksDB statuses become absl codes (style.md habit 2). REQUIRES: !s.ok().
absl::Status FromRocksDb(const rocksdb::Status& s, Operation op, const std::string& path) {
  std::string message = absl::StrCat("rocksdb ", OperationName(op), " of '", path, "': ", s.ToString());
  if (IsNoSpace(s)) {
    return DiskFull(message);
  }
  if (s.IsIOError() || s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() || s.IsShutdownInProgress()) {
    return absl::UnavailableError(std::move(message));
  }
  if (s.IsCorruption()) {
    return absl::DataLossError(std::move(message));
  }
  if (s.IsInvalidArgument()) {
    return absl::InvalidArgumentError(std::move(message));
  }
  if (s.IsNotFound() && op == Operation::kOpen) {
    return absl::InvalidArgumentError(std::move(message));
  }
  return absl::InternalError(std::move(message));
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// RocksDB counts every key comparison in a thread-local perf context by default (PerfLevel kEnableCount):
// two thread-local accesses per comparison, ~3% of the server's CPU in memtable inserts. Nothing reads
// those counters, so each thread that calls the store turns them off (once).
void DisablePerfCounters() {
  thread_local bool disabled = false;
  if (!disabled) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    disabled = true;
  }
}
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

#ifdef STEPFLOW_THREAD_SANITIZER
// ThreadSanitizer's annotations (exported by libtsan).
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#endif

// Hands the iterator's row to a scan's visitor. Under ThreadSanitizer only (`make test-tsan`): RocksDB publishes
// a memtable entry's bytes to readers through its own atomics inside the uninstrumented librocksdb, so TSan does
// not see that hand-over; when it no longer has the writer's stack (lost under load: "failed to restore the
// stack"), race:librocksdb.so cannot match and it reports the visitor's first read of the key as a race
// (StoreContractTest.ConcurrentScansSeeWholeBatchesOnly/RocksDb in CI). There the row is copied with reads
// ignored and the visitor reads the copy; what the visitor then does is still checked. Otherwise the visitor
// reads RocksDB's memory directly.
bool VisitRow(const rocksdb::Iterator& it, const std::function<bool(std::string_view, std::string_view)>& visit) {
#ifdef STEPFLOW_THREAD_SANITIZER
  AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
  std::string key(ToView(it.key()));
  std::string value(ToView(it.value()));
  AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
  return visit(key, value);
#else
  return visit(ToView(it.key()), ToView(it.value()));
#endif
}

// An open RocksDB with its column families; closes it when destroyed.
struct Db {
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() {
    if (db == nullptr) {
      return;
    }
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      // Destroying a handle of an open DB only releases it; a failure leaves nothing to undo.
      db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    // Close flushes nothing we rely on (the WAL already holds every commit); a destructor cannot report.
    db->Close().PermitUncheckedError();
  }
  rocksdb::ColumnFamilyHandle* Handle(Column c) const { return columns[static_cast<std::size_t>(c)]; }

  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // every open column family, ours and unknown ones
  std::vector<rocksdb::ColumnFamilyHandle*> columns;  // indexed by Column; aliases of handles
  bool read_only = false;                             // opened with OpenForReadOnly (a full disk)
};

absl::StatusOr<std::shared_ptr<Db>> OpenDatabase(const rocksdb::Options& o, const std::string& path, bool read_only);

class RocksDbStore final : public Store {
 public:
  // `env` is null unless in-memory; it must outlive every Db, so the store owns it.
  RocksDbStore(std::string path, const StoreOptions& options, rocksdb::Options rocksdb_options,
               std::unique_ptr<rocksdb::Env> env, std::shared_ptr<Db> db)
      : path_(std::move(path)),
        sync_writes_(options.sync_writes),
        min_free_bytes_(options.min_free_bytes_to_write),
        rocksdb_options_(std::move(rocksdb_options)),
        env_(std::move(env)),
        db_(std::move(db)) {}

  ~RocksDbStore() override {
    db_.reset();  // closes the DB before env_ goes, as RocksDB requires
  }

  absl::Status Commit(const WriteBatch& batch) override {
    if (batch.empty()) {
      return absl::OkStatus();
    }
    DisablePerfCounters();
    // Refused before RocksDB sees the disk fill up: Debian's RocksDB 7.8 is built with assertions, and a
    // write that fails for lack of space can abort the process later (a memtable switch or the close reuses
    // the log writer that failed).
    absl::Status space = CheckSpace();
    if (!space.ok()) {
      return space;
    }
    absl::Status writable = RecoverIfNeeded();
    if (!writable.ok()) {
      return writable;
    }
    std::shared_ptr<Db> db = Current();
    if (db->read_only) {
      return DiskFull(absl::StrCat("'", path_, "' was opened read-only on a full disk"));
    }
    // Sized up front: a group's batch is often hundreds of KiB, and growing it copies it again and again.
    constexpr std::size_t kOpOverhead = 16;  // tag, column family id, varint lengths
    std::size_t bytes = kOpOverhead;
    for (const WriteBatch::Op& op : batch.ops()) {
      bytes += op.key.size() + (op.value ? op.value->size() : 0) + kOpOverhead;
    }
    rocksdb::WriteBatch wb(bytes);
    std::string rendered;
    for (const WriteBatch::Op& op : batch.ops()) {
      rocksdb::ColumnFamilyHandle* cf = db->Handle(op.column);
      if (op.deferred != nullptr && !op.value.has_value()) {
        rendered.clear();
        op.deferred->Render(rendered);
      }
      rocksdb::Status s = op.value.has_value() ? wb.Put(cf, ToSlice(op.key), ToSlice(*op.value))
                          : op.deferred != nullptr ? wb.Put(cf, ToSlice(op.key), ToSlice(rendered))
                                                   : wb.Delete(cf, ToSlice(op.key));
      if (!s.ok()) {
        return FromRocksDb(s, Operation::kCommit, path_);
      }
    }
    rocksdb::WriteOptions wo;
    // Concurrent writers are grouped by RocksDB's write thread: one leader appends the whole group to the
    // WAL and syncs once, which is our group commit.
    // An in-memory store cannot survive a crash whatever the log says: skip writing it (and so never sync
    // it: RocksDB refuses sync writes without a WAL).
    wo.disableWAL = env_ != nullptr;
    wo.sync = sync_writes_ && !wo.disableWAL;
    rocksdb::Status s = db->db->Write(wo, &wb);
    if (!s.ok()) {
      absl::Status failed = FromRocksDb(s, Operation::kCommit, path_);
      std::lock_guard<std::mutex> lock(recover_mu_);
      if (!write_failed_.load()) {
        failed_write_ = absl::Status(failed.code(), absl::StrCat(failed.message(),
                                                                 "; writes are refused until the server restarts"));
        write_failed_ = true;
      }
      return failed;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<std::string>> Get(Column column, std::string_view key) override {
    DisablePerfCounters();
    std::shared_ptr<Db> db = Current();
    std::string value;
    rocksdb::Status s = db->db->Get(rocksdb::ReadOptions(), db->Handle(column), ToSlice(key), &value);
    if (s.IsNotFound()) {
      return std::optional<std::string>();
    }
    if (!s.ok()) {
      return FromRocksDb(s, Operation::kGet, path_);
    }
    return std::optional<std::string>(std::move(value));
  }

  absl::Status Scan(Column column, std::string_view prefix, std::string_view start_after, bool reverse,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit) override {
    DisablePerfCounters();
    // The scanned range is expressed entirely as iterator bounds [lower, upper), so that RocksDB stops
    // at the end of the prefix itself and never reads past it.
    std::string lower(prefix);
    std::optional<std::string> upper = PrefixSuccessor(prefix);
    if (!start_after.empty()) {
      if (reverse) {
        if (!upper.has_value() || start_after < *upper) {
          upper = std::string(start_after);  // upper bounds are exclusive: exactly "before start_after"
        }
      } else {
        std::string after(start_after);
        after.push_back('\0');  // the smallest key greater than start_after
        if (after > lower) {
          lower = std::move(after);
        }
      }
    }
    if (upper.has_value() && lower >= *upper) {
      return absl::OkStatus();
    }
    rocksdb::Slice lower_slice(lower);
    rocksdb::Slice upper_slice;
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower_slice;
    if (upper.has_value()) {
      upper_slice = rocksdb::Slice(*upper);
      ro.iterate_upper_bound = &upper_slice;
    }
    std::shared_ptr<Db> db = Current();
    std::unique_ptr<rocksdb::Iterator> it(db->db->NewIterator(ro, db->Handle(column)));
    if (reverse) {
      for (it->SeekToLast(); it->Valid(); it->Prev()) {
        if (!VisitRow(*it, visit)) {
          break;
        }
      }
    } else {
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (!VisitRow(*it, visit)) {
          break;
        }
      }
    }
    rocksdb::Status s = it->status();
    if (!s.ok()) {
      return FromRocksDb(s, Operation::kScan, path_);
    }
    return absl::OkStatus();
  }

 private:
  // The DB in use. Callers keep their copy for the whole call, so a reopen never closes a DB under them
  // (the reason for shared ownership).
  std::shared_ptr<Db> Current() const {
    std::lock_guard<std::mutex> lock(db_mu_);
    return db_;
  }
  // DiskFull when fewer than StoreOptions::min_free_bytes_to_write bytes are free (never for in-memory stores,
  // nor when the file system cannot say).
  absl::Status CheckSpace() const {
    std::optional<std::uint64_t> free = env_ != nullptr ? std::nullopt : FreeBytes(path_);
    if (!free.has_value() || *free >= min_free_bytes_) {
      return absl::OkStatus();
    }
    return DiskFull(absl::StrCat(*free, " bytes free for '", path_, "', below the ", min_free_bytes_,
                                 " kept for RocksDB's logs and flushes"));
  }

  // Makes a store opened read-only on a full disk writable once space is back (it is reopened read-write).
  // A store whose RocksDB write failed stays refusing writes (the same error) until it is reopened: Debian's
  // RocksDB 7.8 would append the next write, and DB::Resume would flush, through the log writer that failed,
  // and abort on an assertion. The free-space reserve (CheckSpace) keeps that case to a disk filled by
  // someone else between the check and the write. REQUIRES: CheckSpace() passed.
  absl::Status RecoverIfNeeded() {
    if (!write_failed_.load() && !Current()->read_only) {
      return absl::OkStatus();
    }
    std::lock_guard<std::mutex> lock(recover_mu_);
    if (write_failed_.load()) {
      return failed_write_;
    }
    std::shared_ptr<Db> db = Current();
    if (!db->read_only) {
      return absl::OkStatus();  // another commit recovered meanwhile
    }
    absl::StatusOr<std::shared_ptr<Db>> writable = OpenDatabase(rocksdb_options_, path_, /*read_only=*/false);
    if (!writable.ok()) {
      return writable.status();
    }
    std::lock_guard<std::mutex> swap(db_mu_);
    db_ = *std::move(writable);
    return absl::OkStatus();
  }

  const std::string path_;
  const bool sync_writes_;
  const std::uint64_t min_free_bytes_;
  const rocksdb::Options rocksdb_options_;
  std::unique_ptr<rocksdb::Env> env_;  // declared before db_ so that it outlives it
  mutable std::mutex db_mu_;
  std::shared_ptr<Db> db_;  // guarded by db_mu_
  std::mutex recover_mu_;   // one recovery at a time
  std::atomic<bool> write_failed_{false};  // a RocksDB write failed: refuse every later one
  absl::Status failed_write_;               // guarded by recover_mu_: what later commits answer
};

// Creates the directory of an on-disk store. A path that cannot be a directory is InvalidArgument.
absl::Status PrepareDirectory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (!ec && std::filesystem::is_directory(path, ec)) {
    return absl::OkStatus();
  }
  if (!ec) {
    return absl::InvalidArgumentError(absl::StrCat("store path '", path, "' is not a directory"));
  }
  std::string message = absl::StrCat("cannot create store directory '", path, "': ", ec.message());
  switch (ec.value()) {
    case ENOTDIR:
    case ENOENT:
    case EEXIST:
    case EACCES:
    case EPERM:
    case EROFS:
    case ENAMETOOLONG:
    case ELOOP:
      return absl::InvalidArgumentError(std::move(message));
    default:
      return absl::UnavailableError(std::move(message));
  }
}

// Turns off RocksDB's own recovery from a full disk: its SstFileManager waits for free space beyond a
// reserve of all the memtables' sizes (hundreds of MiB), so on a small disk it never finishes, and while it
// waits DB::Resume is refused (Busy). The store keeps a free-space reserve instead (CheckSpace).
class ManualErrorRecovery final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status bg_error, bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    if (IsNoSpace(bg_error)) {
      *auto_recovery = false;
    }
  }
};

// What a store on disk keeps small (docs/performance.md, "Footprint"). Almost everything the engine writes is
// written once (history, inputs, definitions) or replaced a few times (an execution record, index entries),
// and its values are repetitive JSON text: compressed, it is a fraction of its size.
void SetOnDiskOptions(rocksdb::Options& o) {
  // The WAL holds every commit until each column family with data in a log file has flushed it. Without a
  // cap (RocksDB's is 4x the sum of the memtables, ~2.3 GiB over nine column families) the logs were 90% of
  // the directory; past this much, RocksDB flushes the column families that keep the oldest log alive.
  o.max_total_wal_size = kMaxTotalWalBytes;
  // The log's files are not recycled (recycle_log_file_num), though a recycled file would save each synced
  // commit its second device write (a growing file's fdatasync also writes its inode): the RocksDB of Debian 12
  // (7.8) turns recycling off under the default kPointInTimeRecovery, and keeping it on means the weaker
  // kTolerateCorruptedTailRecords, in a recovery of recycled files that later releases were still fixing for
  // lost writes (facebook/rocksdb #12403, #12918): not a trade to make under every acknowledged commit.
  // The log itself stays uncompressed (wal_compression): zstd there halved the directory of a young store
  // (454 instead of 854 bytes per execution after 50,000) but cost ~6% more server CPU per commit, on the
  // write path every acknowledged call waits for.
  // Table files in 16 KiB blocks, so a block spans several rows and compresses their common text together:
  // zstd on the last level, where the data stays, and LZ4 on the files that are rewritten soon (level 0,
  // which the memtables flush into, and the levels between). zstd on every level cost the flushes and
  // compactions ~0.04 ms of CPU per execution in W2 (10 Pass states, ~7 KB of log each), LZ4 before the
  // last level with the trigger below ~0.02, for ~7% more bytes on disk (docs/performance.md).
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  o.level_compaction_dynamic_level_bytes = true;
  // Level-0 files are compacted 8 at a time (RocksDB's default is 4). Execution ids are random, so every
  // file overlaps the whole base level and each such compaction rewrites all of it: half as many of them
  // halve those rewrites. Reads merge up to twice as many level-0 files. The write slowdown and stop
  // triggers keep RocksDB's distance from it.
  o.level0_file_num_compaction_trigger = 8;
  o.level0_slowdown_writes_trigger = 24;
  o.level0_stop_writes_trigger = 40;
  // Opening after a crash replays the log into memtables without writing them out as level-0 files first:
  // the server starts serving sooner, and the memtables are flushed as usual later.
  o.avoid_flush_during_recovery = true;  // bounds the space taken by obsolete versions to ~10%
  rocksdb::BlockBasedTableOptions table;
  table.block_size = kTableBlockBytes;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
}

}  // namespace

std::string_view KeyPrefixOfComponents(std::string_view key, int count) {
  std::size_t end = 0;
  for (int i = 0; i < count; ++i) {
    const std::size_t zero = key.find('\0', end);
    if (zero == std::string_view::npos) {
      return key;
    }
    end = zero + 1;
  }
  return key.substr(0, end);
}

namespace {

// A key's first `count` components (KeyPrefixOfComponents). As the memtables' insert hint prefix, it gives a
// group of rows written near each other a remembered insert position, so that an insert starts next to the group's last
// row instead of searching the skip list from its top. With one component, the groups are each execution's rows in
// `history`, `inputs` and `dead_letters` (keyed `Str(execution id) U64(n)`, written in increasing n), its
// `executions` and `snapshots` rows (the bare ARN, rewritten in place), and each index's entries (by start time).
// (Two components were `tasks` rows' execution within their queue, before the engine stopped writing them.)
// Hints change where an insert starts its search, never the order or what a read sees.
class LeadingKeyComponents final : public rocksdb::SliceTransform {
 public:
  explicit LeadingKeyComponents(int count)
      : count_(count), name_(absl::StrCat("stepflow.LeadingKeyComponents", count)) {}
  const char* Name() const override { return name_.c_str(); }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const std::string_view prefix = KeyPrefixOfComponents(std::string_view(key.data(), key.size()), count_);
    return rocksdb::Slice(prefix.data(), prefix.size());
  }
  bool InDomain(const rocksdb::Slice& /*key*/) const override { return true; }

 private:
  int count_;
  std::string name_;
};

// `env` is the in-memory Env, or null for the default (on-disk) one.
rocksdb::Options MakeOptions(rocksdb::Env* env) {
  rocksdb::Options o;
  // ~250 bytes of hint per prefix in each memtable (RocksDB's figure), freed with the memtable. Column
  // families may set another (ColumnOptions).
  o.memtable_insert_with_hint_prefix_extractor = std::make_shared<LeadingKeyComponents>(1);
  o.listeners.push_back(std::make_shared<ManualErrorRecovery>());
  o.create_if_missing = true;
  o.create_missing_column_families = true;
#ifdef STEPFLOW_THREAD_SANITIZER
  // Under ThreadSanitizer only (`make test-tsan`): every write group holds one batch. RocksDB's write thread
  // hands a follower's batch to the group's leader through atomics inside the uninstrumented librocksdb, and
  // the leader copies it through libstdc++, which has no frame pointers: TSan reports the copy as a race
  // on memory our Commit allocated, with the RocksDB frames lost from both stacks, so no suppression naming
  // librocksdb can match it (seen in StoreTest.ConcurrentCommitsFromEightThreadsAreAllVisible and
  // ExecutionsTest.ConcurrentStartsFromEightThreads). A group of one is what RocksDB writes anyway when
  // commits do not overlap; our own concurrency (partitions, commit groups) is unchanged and still checked.
  o.max_write_batch_group_size_bytes = 1;
#endif
  if (env == nullptr) {
    SetOnDiskOptions(o);
  } else {
    o.env = env;
    o.write_buffer_size = kInMemoryWriteBufferBytes;
    // Nothing reaches a disk: compressing flushed tables only costs CPU (it was ~45% of `stepflow run`'s
    // time in the benchmark).
    o.compression = rocksdb::kNoCompression;
    // Its private MemEnv dies with the store: flushing the memtables at close (RocksDB does, as writes
    // skip the WAL) would build tables nobody can read.
    o.avoid_flush_during_shutdown = true;
  }
  return o;
}

// Column families to open: every one already in the database (RocksDB refuses to open a database
// without all of them, e.g. one added by a newer release); the default one for a new database. Ours that
// are missing are created after the open, in one call (RocksDB rewrites and re-verifies its OPTIONS file
// once per call: creating them one by one during the open cost ~85M instructions per open).
absl::StatusOr<std::vector<std::string>> ColumnFamiliesToOpen(const rocksdb::Options& o, rocksdb::Env* env,
                                                              const std::string& path) {
  std::vector<std::string> names;
  if (env->FileExists(path + "/CURRENT").ok()) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(o, path, &names);
    if (!s.ok()) {
      return FromRocksDb(s, Operation::kOpen, path);
    }
  }
  if (names.empty()) {
    names.emplace_back(rocksdb::kDefaultColumnFamilyName);
  }
  return names;
}

// Our column families that `existing` lacks.
std::vector<std::string> MissingColumns(const std::vector<std::string>& existing) {
  std::vector<std::string> missing;
  for (int i = 0; i < kColumnCount; ++i) {
    std::string_view name = ColumnName(static_cast<Column>(i));
    bool found = false;
    for (const std::string& n : existing) {
      found = found || n == name;
    }
    if (!found) {
      missing.emplace_back(name);
    }
  }
  return missing;
}

// The options of column family `name`. Starting an execution looks its id up in `executions` first (starts
// are idempotent by name), and a new execution's id is in no memtable and no table: whole-key bloom filters
// on that column family's memtables and table files answer that miss without searching them (it was ~19k
// instructions per start, 4% of a ten-state Pass execution on the server). The other column families are
// read by prefix scans or by keys that exist, where a filter only costs memory and flush time.
rocksdb::ColumnFamilyOptions ColumnOptions(const rocksdb::Options& o, std::string_view name) {
  rocksdb::ColumnFamilyOptions column(o);
  if (name == ColumnName(Column::kExecutions)) {
    column.memtable_whole_key_filtering = true;
    column.memtable_prefix_bloom_size_ratio = kMemtableBloomRatio;
    rocksdb::BlockBasedTableOptions table;
    table.block_size = kTableBlockBytes;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
    column.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  return column;
}

absl::StatusOr<std::shared_ptr<Db>> OpenDatabase(const rocksdb::Options& o, const std::string& path, bool read_only) {
  absl::StatusOr<std::vector<std::string>> names = ColumnFamiliesToOpen(o, o.env, path);
  if (!names.ok()) {
    return names.status();
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : *names) {
    descriptors.emplace_back(name, ColumnOptions(o, name));
  }
  // The open replays the write-ahead log into the memtables on this thread: every key comparison of those
  // inserts would be counted too (14% of the replay's instructions).
  DisablePerfCounters();
  rocksdb::DB* raw_db = nullptr;
  auto db = std::make_shared<Db>();
  db->read_only = read_only;
  rocksdb::Status s = read_only ? rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(o), path, descriptors,
                                                               &db->handles, &raw_db)
                                : rocksdb::DB::Open(rocksdb::DBOptions(o), path, descriptors, &db->handles, &raw_db);
  if (!s.ok()) {
    return FromRocksDb(s, Operation::kOpen, path);
  }
  db->db.reset(raw_db);  // from here on, every early return closes it
  std::vector<std::string> missing = MissingColumns(*names);
  if (!missing.empty() && read_only) {
    return DiskFull(absl::StrCat("'", path, "' lacks column families and cannot be completed on a full disk"));
  }
  if (!missing.empty()) {
    std::vector<rocksdb::ColumnFamilyDescriptor> to_create;
    for (const std::string& name : missing) {
      to_create.emplace_back(name, ColumnOptions(o, name));
    }
    std::vector<rocksdb::ColumnFamilyHandle*> created;
    s = raw_db->CreateColumnFamilies(to_create, &created);
    db->handles.insert(db->handles.end(), created.begin(), created.end());
    if (!s.ok()) {
      return FromRocksDb(s, Operation::kOpen, path);
    }
  }
  db->columns.assign(kColumnCount, nullptr);
  for (rocksdb::ColumnFamilyHandle* h : db->handles) {
    for (int i = 0; i < kColumnCount; ++i) {
      if (h->GetName() == ColumnName(static_cast<Column>(i))) {
        db->columns[static_cast<std::size_t>(i)] = h;
      }
    }
  }
  for (rocksdb::ColumnFamilyHandle* h : db->columns) {
    if (h == nullptr) {
      return absl::InternalError(absl::StrCat("rocksdb open of '", path, "': a column family is missing"));
    }
  }
  return db;
}

}  // namespace

namespace {

// `disk_env`: the Env of an on-disk store (null = RocksDB's default); not owned.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const StoreOptions& options, rocksdb::Env* disk_env) {
  std::unique_ptr<rocksdb::Env> mem_env;
  std::string path = options.path;
  bool read_only = false;
  if (options.in_memory) {
    mem_env.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    if (path.empty()) {
      path = std::string(kDefaultInMemoryPath);
    }
  } else {
    if (path.empty()) {
      return absl::InvalidArgumentError("store path is empty");
    }
    absl::Status dir = PrepareDirectory(path);
    if (!dir.ok()) {
      return dir;
    }
    // On a full disk an existing store opens read-only (it serves reads; RecoverIfNeeded makes it writable
    // when space returns); a new one cannot be created.
    std::optional<std::uint64_t> free = FreeBytes(path);
    if (free.has_value() && *free < options.min_free_bytes_to_write) {
      if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
        return DiskFull(absl::StrCat("cannot create a store in '", path, "': ", *free, " bytes free"));
      }
      read_only = true;
    }
  }
  rocksdb::Options o = MakeOptions(mem_env.get());
  if (disk_env != nullptr && mem_env == nullptr) {
    o.env = disk_env;
  }
  absl::StatusOr<std::shared_ptr<Db>> db = OpenDatabase(o, path, read_only);
  if (!db.ok()) {
    return db.status();
  }
  return std::unique_ptr<Store>(
      std::make_unique<RocksDbStore>(path, options, std::move(o), std::move(mem_env), *std::move(db)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(const StoreOptions& options) {
  return OpenStore(options, nullptr);
}

absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStoreOnEnvForTest(const StoreOptions& options, rocksdb::Env* env) {
  return OpenStore(options, env);
}

}  // namespace stepflow::storage
