// The RocksDB store on a disk with too little free space (StoreOptions::min_free_bytes_to_write set above
// what the disk has, so that any machine looks full): commits are refused with ResourceExhausted "disk
// full" before RocksDB is called, reads keep working, an existing store opens read-only, and a new one is not
// created. (The real full disk, and space coming back, are tested on a tmpfs by
// tests/integration/disk_full_test.cc.)

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

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
