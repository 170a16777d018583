// The RocksDB store on a disk with too little free space (StoreOptions::min_free_bytes_to_write set above
// what the disk has, so that any machine looks full): commits are refused with ResourceExhausted "disk
// full" before RocksDB is called, reads keep working, an existing store opens read-only, and a new one is not
// created; and after RocksDB's own NoSpace (a fault-injecting file system), writes are refused until space
// returns, then resume with no reopen. (The real full disk is tested on a tmpfs by
// tests/integration/disk_full_test.cc.)

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "storage/rocksdb_store_for_test.h"
#include "storage/store.h"

namespace stepflow::storage {
namespace {

constexpr std::uint64_t kMoreThanAnyDisk = std::numeric_limits<std::uint64_t>::max();

class StoreDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("stepflow_store_disk_full_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  StoreOptions Options(std::uint64_t min_free) const {
    StoreOptions o;
    o.path = (dir_ / "db").string();
    o.sync_writes = false;
    o.min_free_bytes_to_write = min_free;
    return o;
  }
  static void ExpectDiskFull(const absl::Status& s) {
    EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
    EXPECT_NE(s.message().find("disk full"), std::string::npos) << s;
  }

  std::filesystem::path dir_;
};

TEST_F(StoreDiskFullTest, AnExistingStoreOpensReadOnlyServesReadsAndRefusesCommits) {
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStore(Options(0));
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch b;
    b.Put(Column::kExecutions, "e1", "v1");
    ASSERT_TRUE((*store)->Commit(b).ok());
  }
  absl::StatusOr<std::unique_ptr<Store>> full = OpenRocksDbStore(Options(kMoreThanAnyDisk));
  ASSERT_TRUE(full.ok()) << full.status();
  absl::StatusOr<std::optional<std::string>> v = (*full)->Get(Column::kExecutions, "e1");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "v1");
  int seen = 0;
  ASSERT_TRUE((*full)->Scan(Column::kExecutions, "", "", false, [&](std::string_view, std::string_view) {
                       ++seen;
                       return true;
                     })
                  .ok());
  EXPECT_EQ(seen, 1);
  WriteBatch b;
  b.Put(Column::kExecutions, "e2", "v2");
  ExpectDiskFull((*full)->Commit(b));
  full->reset();
  // Nothing of the refused commit reached the store.
  absl::StatusOr<std::unique_ptr<Store>> again = OpenRocksDbStore(Options(0));
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<std::optional<std::string>> e2 = (*again)->Get(Column::kExecutions, "e2");
  ASSERT_TRUE(e2.ok()) << e2.status();
  EXPECT_EQ(*e2, std::nullopt);
  ASSERT_TRUE((*again)->Commit(b).ok());  // with room again, it writes
}

TEST_F(StoreDiskFullTest, ANewStoreIsNotCreatedOnAFullDisk) {
  ExpectDiskFull(OpenRocksDbStore(Options(kMoreThanAnyDisk)).status());
}

TEST_F(StoreDiskFullTest, InMemoryStoresIgnoreTheDisk) {
  StoreOptions o = Options(kMoreThanAnyDisk);
  o.in_memory = true;
  absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStore(o);
  ASSERT_TRUE(store.ok()) << store.status();
  WriteBatch b;
  b.Put(Column::kExecutions, "e1", "v1");
  EXPECT_TRUE((*store)->Commit(b).ok());
}

}  // namespace
}  // namespace stepflow::storage

// RocksDB's own NoSpace, when the disk fills up between the store's free-space check and the write: a
// file system that fails every log append with NoSpace while `full` is set.
namespace stepflow::storage {
namespace {

class FillingUpFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FillingUpFileSystem(std::shared_ptr<rocksdb::FileSystem> base) : FileSystemWrapper(std::move(base)) {}
  const char* Name() const override { return "FillingUpFileSystem"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok() && name.ends_with(".log")) {
      *result = std::make_unique<FullWhenAsked>(std::move(*result), &full);
    }
    return s;
  }
  std::atomic<bool> full{false};

 private:
  class FullWhenAsked final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    FullWhenAsked(std::unique_ptr<rocksdb::FSWritableFile> file, const std::atomic<bool>* full)
        : FSWritableFileOwnerWrapper(std::move(file)), full_(full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (full_->load()) {
        return rocksdb::IOStatus::NoSpace("injected: No space left on device");
      }
      return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
      if (full_->load()) {
        return rocksdb::IOStatus::NoSpace("injected: No space left on device");
      }
      return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }

   private:
    const std::atomic<bool>* full_;
  };
};

// Debian's RocksDB 7.8 aborts on an assertion if it is written to again after such a failure, so the store
// refuses every later write itself (reads still work), and a reopen writes again.
TEST_F(StoreDiskFullTest, AfterRocksDbsOwnNoSpaceWritesAreRefusedUntilReopenedAndNothingIsLost) {
  auto fs = std::make_shared<FillingUpFileSystem>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  StoreOptions o = Options(0);
  o.sync_writes = true;
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStoreOnEnvForTest(o, env.get());
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch first;
    first.Put(Column::kExecutions, "before", "1");
    ASSERT_TRUE((*store)->Commit(first).ok());

    fs->full = true;
    WriteBatch refused;
    refused.Put(Column::kExecutions, "during", "2");
    ExpectDiskFull((*store)->Commit(refused));
    fs->full = false;
    ExpectDiskFull((*store)->Commit(refused));  // not handed to RocksDB again
    absl::StatusOr<std::optional<std::string>> read = (*store)->Get(Column::kExecutions, "before");
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, "1");
  }
  absl::StatusOr<std::unique_ptr<Store>> reopened = OpenRocksDbStoreOnEnvForTest(o, env.get());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  WriteBatch after;
  after.Put(Column::kExecutions, "after", "3");
  ASSERT_TRUE((*reopened)->Commit(after).ok());
  for (const auto& [key, value] : {std::pair<std::string, std::optional<std::string>>{"before", "1"},
                                   {"during", std::nullopt},
                                   {"after", "3"}}) {
    absl::StatusOr<std::optional<std::string>> v = (*reopened)->Get(Column::kExecutions, key);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, value) << key;
  }
}

}  // namespace
}  // namespace stepflow::storage
