// The embedded Store: one RocksDB database with one column family per Column. Layout and encodings are
// written down in storage/FORMAT.md. RocksDB types stay in this file.

#include <cerrno>
#include <filesystem>
#include <memory>
#include <optional>
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
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/slice.h"
#include "rocksdb/status.h"
#include "rocksdb/write_batch.h"
#include "storage/store.h"

namespace stepflow::storage {
namespace {

// Memtable size per column family of an in-memory store. RocksDB's 64 MiB default would make every
// `stepflow run` and every test reserve far more than it uses; 4 MiB keeps opens and flushes cheap.
constexpr std::size_t kInMemoryWriteBufferBytes = 64u << 20;
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

// The one place where RocksDB statuses become absl codes (style.md habit 2). REQUIRES: !s.ok().
absl::Status FromRocksDb(const rocksdb::Status& s, Operation op, const std::string& path) {
  std::string message = absl::StrCat("rocksdb ", OperationName(op), " of '", path, "': ", s.ToString());
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

// The smallest string greater than every string starting with `prefix`, or nullopt when there is none
// (empty prefix, or a prefix of 0xFF bytes only).
std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xFFu) {
    s.pop_back();
  }
  if (s.empty()) {
    return std::nullopt;
  }
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
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

class RocksDbStore final : public Store {
 public:
  // Takes ownership of `db`, `handles` (every open column family, ours and unknown ones) and `env`
  // (null unless in-memory). `columns[i]` is the handle for Column i.
  RocksDbStore(std::string path, bool sync_writes, std::unique_ptr<rocksdb::Env> env, rocksdb::DB* db,
               std::vector<rocksdb::ColumnFamilyHandle*> handles,
               std::vector<rocksdb::ColumnFamilyHandle*> columns)
      : path_(std::move(path)),
        sync_writes_(sync_writes),
        env_(std::move(env)),
        db_(db),
        handles_(std::move(handles)),
        columns_(std::move(columns)) {}

  ~RocksDbStore() override {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      // Destroying a handle of an open DB only releases it; a failure leaves nothing to undo.
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    // Close flushes nothing we rely on (the WAL already holds every commit); a destructor cannot report.
    db_->Close().PermitUncheckedError();
    db_.reset();
    // env_ is destroyed after the DB, as RocksDB requires.
  }

  absl::Status Commit(const WriteBatch& batch) override {
    if (batch.empty()) {
      return absl::OkStatus();
    }
    DisablePerfCounters();
    // Sized up front: a group's batch is often hundreds of KiB, and growing it copies it again and again.
    constexpr std::size_t kOpOverhead = 16;  // tag, column family id, varint lengths
    std::size_t bytes = kOpOverhead;
    for (const WriteBatch::Op& op : batch.ops()) {
      bytes += op.key.size() + (op.value ? op.value->size() : 0) + kOpOverhead;
    }
    rocksdb::WriteBatch wb(bytes);
    for (const WriteBatch::Op& op : batch.ops()) {
      rocksdb::ColumnFamilyHandle* cf = Handle(op.column);
      rocksdb::Status s = op.value.has_value() ? wb.Put(cf, ToSlice(op.key), ToSlice(*op.value))
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
    rocksdb::Status s = db_->Write(wo, &wb);
    if (!s.ok()) {
      return FromRocksDb(s, Operation::kCommit, path_);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<std::string>> Get(Column column, std::string_view key) override {
    DisablePerfCounters();
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(column), ToSlice(key), &value);
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
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(column)));
    if (reverse) {
      for (it->SeekToLast(); it->Valid(); it->Prev()) {
        if (!visit(ToView(it->key()), ToView(it->value()))) {
          break;
        }
      }
    } else {
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (!visit(ToView(it->key()), ToView(it->value()))) {
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
  rocksdb::ColumnFamilyHandle* Handle(Column c) const { return columns_[static_cast<std::size_t>(c)]; }

  const std::string path_;
  const bool sync_writes_;
  std::unique_ptr<rocksdb::Env> env_;  // declared before db_ so that it outlives it
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<rocksdb::ColumnFamilyHandle*> columns_;  // indexed by Column; aliases of handles_
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

// `env` is the in-memory Env, or null for the default (on-disk) one.
rocksdb::Options MakeOptions(rocksdb::Env* env) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  if (env != nullptr) {
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

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRocksDbStore(const StoreOptions& options) {
  std::unique_ptr<rocksdb::Env> mem_env;
  std::string path = options.path;
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
  }
  rocksdb::Options o = MakeOptions(mem_env.get());
  absl::StatusOr<std::vector<std::string>> names = ColumnFamiliesToOpen(o, o.env, path);
  if (!names.ok()) {
    return names.status();
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : *names) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(o));
  }
  rocksdb::DB* raw_db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(o), path, descriptors, &handles, &raw_db);
  if (!s.ok()) {
    return FromRocksDb(s, Operation::kOpen, path);
  }
  std::vector<std::string> missing = MissingColumns(*names);
  if (!missing.empty()) {
    std::vector<rocksdb::ColumnFamilyHandle*> created;
    s = raw_db->CreateColumnFamilies(rocksdb::ColumnFamilyOptions(o), missing, &created);
    handles.insert(handles.end(), created.begin(), created.end());
    if (!s.ok()) {
      for (rocksdb::ColumnFamilyHandle* h : handles) {
        raw_db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
      }
      raw_db->Close().PermitUncheckedError();
      delete raw_db;
      return FromRocksDb(s, Operation::kOpen, path);
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> columns(kColumnCount, nullptr);
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    for (int i = 0; i < kColumnCount; ++i) {
      if (h->GetName() == ColumnName(static_cast<Column>(i))) {
        columns[static_cast<std::size_t>(i)] = h;
      }
    }
  }
  // The store owns the DB from here on, so every early return below still closes it.
  auto store = std::make_unique<RocksDbStore>(path, options.sync_writes, std::move(mem_env), raw_db,
                                              std::move(handles), columns);
  for (rocksdb::ColumnFamilyHandle* h : columns) {
    if (h == nullptr) {
      return absl::InternalError(absl::StrCat("rocksdb open of '", path, "': a column family is missing"));
    }
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace stepflow::storage
