#include "storage/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "rocksdb/perf_level.h"
#include "storage/memory_store.h"
#include "storage/postgres/postgres_store.h"
#include "storage/postgres/testing/private_postgres.h"
#include "storage/rocksdb_store_for_test.h"

namespace stepflow::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Row = std::pair<std::string, std::string>;

// The Store implementations the contract runs on.
enum class Backend { kRocksDb, kMemory, kPostgres };

// One private PostgreSQL server for the test process (testing/private_postgres.h), started by the first
// PostgreSQL test; every test gets a database of its own on it.
testing::PrivatePostgres* SharedPostgres(absl::Status& status) {
  static absl::Status start_status;
  static std::unique_ptr<testing::PrivatePostgres> server = [] {
    absl::StatusOr<std::unique_ptr<testing::PrivatePostgres>> s = testing::PrivatePostgres::Start();
    start_status = s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }();
  status = start_status;
  return server.get();
}

// A fresh directory per test, removed afterwards (style.md habit 15: hermetic tests).
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("stepflow_store_test_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  StoreOptions DiskOptions() const {
    StoreOptions o;
    o.path = (dir_ / "db").string();
    return o;
  }

  // Opens the backend under test. The in-memory store ignores the options (no path, sync or disk); the
  // PostgreSQL store opens the test's database (made by SetUp) with the options' sync_writes, and a second
  // Open is the same database, as a second open of the same directory is for RocksDB.
  std::unique_ptr<Store> Open(const StoreOptions& o) {
    if (backend_ == Backend::kMemory) {
      return NewMemoryStore();
    }
    if (backend_ == Backend::kPostgres) {
      PostgresStoreOptions po;
      po.conninfo = postgres_conninfo_;
      po.sync_writes = o.sync_writes;
      absl::StatusOr<std::unique_ptr<PostgresStore>> store = OpenPostgresStore(po);
      EXPECT_TRUE(store.ok()) << store.status();
      return store.ok() ? std::move(*store) : nullptr;
    }
    absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStore(o);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::filesystem::path dir_;
  Backend backend_ = Backend::kRocksDb;
  std::string postgres_conninfo_;
};

// The Store contract, which every implementation passes: RocksDB, the in-memory store and PostgreSQL.
class StoreContractTest : public StoreTest, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    backend_ = GetParam();
    StoreTest::SetUp();
    if (backend_ == Backend::kPostgres) {
      absl::Status status;
      testing::PrivatePostgres* pg = SharedPostgres(status);
      if (absl::IsNotFound(status)) {
        GTEST_SKIP() << "PostgreSQL is not installed, the PostgreSQL store is not tested: " << status;
      }
      ASSERT_NE(pg, nullptr) << status;
      absl::StatusOr<std::string> db = pg->CreateDatabase();
      ASSERT_TRUE(db.ok()) << db.status();
      postgres_conninfo_ = *db;
    }
  }
};

const auto kBackends = ::testing::Values(Backend::kRocksDb, Backend::kMemory, Backend::kPostgres);

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kRocksDb:
      return "RocksDb";
    case Backend::kMemory:
      return "Memory";
    case Backend::kPostgres:
      return "Postgres";
  }
  return "Unknown";
}

std::optional<std::string> MustGet(Store& store, Column c, std::string_view key) {
  absl::StatusOr<std::optional<std::string>> v = store.Get(c, key);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : std::nullopt;
}

std::vector<Row> ScanRows(Store& store, Column c, std::string_view prefix, std::string_view start_after = "",
                          bool reverse = false) {
  std::vector<Row> rows;
  absl::Status s = store.Scan(c, prefix, start_after, reverse, [&rows](std::string_view k, std::string_view v) {
    rows.emplace_back(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return rows;
}

std::vector<std::string> ScanKeys(Store& store, Column c, std::string_view prefix, std::string_view start_after = "",
                                  bool reverse = false) {
  std::vector<std::string> keys;
  for (Row& r : ScanRows(store, c, prefix, start_after, reverse)) {
    keys.push_back(std::move(r.first));
  }
  return keys;
}

absl::Status PutAll(Store& store, Column c, const std::vector<std::string>& keys) {
  WriteBatch b;
  for (const std::string& k : keys) {
    b.Put(c, k, "v:" + k);
  }
  return store.Commit(b);
}

std::string U64Key(std::uint64_t v) {
  std::string k;
  AppendUint64BigEndian(k, v);
  return k;
}

TEST(ColumnNameTest, NamesAreTheOnDiskNames) {
  EXPECT_EQ(ColumnName(Column::kDefinitions), "definitions");
  EXPECT_EQ(ColumnName(Column::kExecutions), "executions");
  EXPECT_EQ(ColumnName(Column::kHistory), "history");
  EXPECT_EQ(ColumnName(Column::kTasks), "tasks");
  EXPECT_EQ(ColumnName(Column::kTimers), "timers");
  EXPECT_EQ(ColumnName(Column::kDeadLetters), "dead_letters");
  EXPECT_EQ(ColumnName(Column::kIndexes), "indexes");
  EXPECT_EQ(ColumnName(Column::kInputs), "inputs");
  EXPECT_EQ(ColumnName(Column::kMeta), "meta");
  EXPECT_EQ(ColumnName(Column::kSnapshots), "snapshots");
  EXPECT_EQ(kColumnCount, 10);
}

TEST_P(StoreContractTest, CommitAppliesPutsAndDeletesAcrossColumns) {
  std::unique_ptr<Store> store = Open(DiskOptions());
  ASSERT_NE(store, nullptr);
  WriteBatch first;
  first.Put(Column::kExecutions, "e1", "meta1");
  first.Put(Column::kHistory, "e1/1", "started");
  ASSERT_TRUE(store->Commit(first).ok());

  WriteBatch second;
  second.Delete(Column::kExecutions, "e1");
  second.Put(Column::kHistory, "e1/2", "succeeded");
  second.Put(Column::kIndexes, "done/e1", "");
  second.Delete(Column::kTasks, "never-written");  // deleting an absent key is not an error
  ASSERT_TRUE(store->Commit(second).ok());

  EXPECT_EQ(MustGet(*store, Column::kExecutions, "e1"), std::nullopt);
  EXPECT_EQ(MustGet(*store, Column::kHistory, "e1/1"), "started");
  EXPECT_EQ(MustGet(*store, Column::kHistory, "e1/2"), "succeeded");
  EXPECT_EQ(MustGet(*store, Column::kIndexes, "done/e1"), "");
  // Columns are separate key spaces.
  EXPECT_EQ(MustGet(*store, Column::kTimers, "e1/1"), std::nullopt);
  EXPECT_TRUE(store->Commit(WriteBatch()).ok());
}

TEST_P(StoreContractTest, LaterOpInABatchWins) {
  std::unique_ptr<Store> store = Open(DiskOptions());
  ASSERT_NE(store, nullptr);
  WriteBatch b;
  b.Put(Column::kTasks, "k", "1");
  b.Delete(Column::kTasks, "k");
  b.Put(Column::kTasks, "j", "1");
  b.Put(Column::kTasks, "j", "2");
  ASSERT_TRUE(store->Commit(b).ok());
  EXPECT_EQ(MustGet(*store, Column::kTasks, "k"), std::nullopt);
  EXPECT_EQ(MustGet(*store, Column::kTasks, "j"), "2");
}

// A scan reads a consistent view, so a batch is seen either whole or not at all while writers run.
TEST_P(StoreContractTest, ConcurrentScansSeeWholeBatchesOnly) {
  StoreOptions o = DiskOptions();
  o.sync_writes = false;
  std::unique_ptr<Store> store = Open(o);
  ASSERT_NE(store, nullptr);
  constexpr int kBatches = 200;
  constexpr int kKeysPerBatch = 10;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < kBatches; ++i) {
      WriteBatch b;
      for (int j = 0; j < kKeysPerBatch; ++j) {
        b.Put(Column::kHistory, U64Key(static_cast<std::uint64_t>(i * kKeysPerBatch + j)), "x");
      }
      if (i > 0) {
        b.Delete(Column::kIndexes, U64Key(static_cast<std::uint64_t>(i - 1)));
      }
      b.Put(Column::kIndexes, U64Key(static_cast<std::uint64_t>(i)), "latest");
      EXPECT_TRUE(store->Commit(b).ok());
    }
    done = true;
  });
  int scans = 0;
  while (!done || scans == 0) {
    std::size_t n = ScanKeys(*store, Column::kHistory, "").size();
    EXPECT_EQ(n % kKeysPerBatch, 0u) << "saw a partial batch: " << n << " keys";
    ++scans;
  }
  writer.join();
  EXPECT_EQ(ScanKeys(*store, Column::kHistory, "").size(), static_cast<std::size_t>(kBatches * kKeysPerBatch));
  EXPECT_THAT(ScanKeys(*store, Column::kIndexes, ""), ElementsAre(U64Key(kBatches - 1)));
}

TEST_P(StoreContractTest, ReopenKeepsCommittedData) {
  if (backend_ == Backend::kMemory) {
    GTEST_SKIP() << "an in-memory store is not reopened: nothing outlives it";
  }
  for (bool sync : {true, false}) {
    SCOPED_TRACE(sync ? "sync_writes" : "no sync");
    std::filesystem::remove_all(dir_);
    StoreOptions o = DiskOptions();
    o.sync_writes = sync;
    {
      std::unique_ptr<Store> store = Open(o);
      ASSERT_NE(store, nullptr);
      WriteBatch b;
      for (int i = 0; i < kColumnCount; ++i) {
        b.Put(static_cast<Column>(i), "key", "value" + std::to_string(i));
      }
      b.Put(Column::kDefinitions, "gone", "x");
      ASSERT_TRUE(store->Commit(b).ok());
      WriteBatch d;
      d.Delete(Column::kDefinitions, "gone");
      ASSERT_TRUE(store->Commit(d).ok());
    }
    std::unique_ptr<Store> store = Open(o);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < kColumnCount; ++i) {
      EXPECT_EQ(MustGet(*store, static_cast<Column>(i), "key"), "value" + std::to_string(i));
    }
    EXPECT_EQ(MustGet(*store, Column::kDefinitions, "gone"), std::nullopt);
  }
}

class ScanTest : public StoreContractTest {
 protected:
  void SetUp() override {
    StoreContractTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    store_ = Open(DiskOptions());
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(PutAll(*store_, Column::kTimers, keys_).ok());
    // Another column with keys under the same prefix must never show up.
    ASSERT_TRUE(PutAll(*store_, Column::kTasks, {"ab0", "abz"}).ok());
  }

  // Sorted, as RocksDB orders bytes (unsigned).
  const std::vector<std::string> keys_ = {"a",        "ab",   std::string("ab\0", 3), "ab0",
                                          "abc",      "ab\xff", "ab\xff\xff",         "ac",
                                          "b",        "\xff", "\xff\xff",             "\xff\xff\x01"};
  std::unique_ptr<Store> store_;
};

TEST_P(ScanTest, EmptyPrefixVisitsEverythingInOrder) {
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, ""), ElementsAreArray(keys_));
  std::vector<std::string> reversed(keys_.rbegin(), keys_.rend());
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "", "", /*reverse=*/true), ElementsAreArray(reversed));
}

TEST_P(ScanTest, PrefixBoundariesForwardAndReverse) {
  const std::vector<std::string> ab = {"ab", std::string("ab\0", 3), "ab0", "abc", "ab\xff", "ab\xff\xff"};
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab"), ElementsAreArray(ab));
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "", true), ElementsAreArray(ab.rbegin(), ab.rend()));
  // A prefix ending in 0xFF has its successor one byte shorter.
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab\xff"), ElementsAre("ab\xff", "ab\xff\xff"));
  // A prefix of only 0xFF bytes has no successor: the scan runs to the end of the column.
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "\xff\xff"), ElementsAre("\xff\xff", "\xff\xff\x01"));
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "\xff", "", true),
              ElementsAre("\xff\xff\x01", "\xff\xff", "\xff"));
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "abd"), IsEmpty());
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "0", "", true), IsEmpty());
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "b"), ElementsAre("b"));
}

TEST_P(ScanTest, StartAfterIsExclusive) {
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "ab0"), ElementsAre("abc", "ab\xff", "ab\xff\xff"));
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "ab0", true), ElementsAre(std::string("ab\0", 3), "ab"));
  // A start_after that is not a key starts between its neighbours.
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "ab1"), ElementsAre("abc", "ab\xff", "ab\xff\xff"));
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "ab1", true),
              ElementsAre("ab0", std::string("ab\0", 3), "ab"));
  // The key just after "ab" is "ab\0": start_after must not skip it.
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "ab"),
              ElementsAre(std::string("ab\0", 3), "ab0", "abc", "ab\xff", "ab\xff\xff"));
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "ab", true), IsEmpty());
  // start_after outside the prefix range: before it (all / none) and after it (none / all).
  EXPECT_EQ(ScanKeys(*store_, Column::kTimers, "ab", "aa").size(), 6u);
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "aa", true), IsEmpty());
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "b"), IsEmpty());
  EXPECT_EQ(ScanKeys(*store_, Column::kTimers, "ab", "b", true).size(), 6u);
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "ab", "ab\xff\xff"), IsEmpty());
  // Empty prefix with start_after, both ways, including past the last key.
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "", "\xff\xff"), ElementsAre("\xff\xff\x01"));
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "", "\xff\xff\x01"), IsEmpty());
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "", "ab", true), ElementsAre("a"));
  EXPECT_THAT(ScanKeys(*store_, Column::kTimers, "", "a", true), IsEmpty());
}

TEST_P(ScanTest, VisitorStopsTheScanAndSeesValues) {
  std::vector<Row> rows;
  absl::Status s = store_->Scan(Column::kTimers, "ab", "", false, [&rows](std::string_view k, std::string_view v) {
    rows.emplace_back(std::string(k), std::string(v));
    return rows.size() < 2;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(rows, ElementsAre(Row("ab", "v:ab"), Row(std::string("ab\0", 3), "v:" + std::string("ab\0", 3))));
}

TEST_P(ScanTest, KeysOnlyScanVisitsThePrefixInOrderUntilTheVisitorStops) {
  std::vector<std::string> keys;
  const auto collect = [&keys](std::string_view k) {
    keys.emplace_back(k);
    return true;
  };
  ASSERT_TRUE(store_->ScanKeys(Column::kTimers, "ab", collect).ok());
  EXPECT_THAT(keys, ElementsAre("ab", std::string("ab\0", 3), "ab0", "abc", "ab\xff", "ab\xff\xff"));
  keys.clear();
  ASSERT_TRUE(store_->ScanKeys(Column::kTimers, "\xff\xff", collect).ok());
  EXPECT_THAT(keys, ElementsAre("\xff\xff", "\xff\xff\x01"));
  keys.clear();
  ASSERT_TRUE(store_->ScanKeys(Column::kTimers, "", [&keys](std::string_view k) {
                       keys.emplace_back(k);
                       return keys.size() < 3;
                     }).ok());
  EXPECT_THAT(keys, ElementsAre("a", "ab", std::string("ab\0", 3)));
  keys.clear();
  ASSERT_TRUE(store_->ScanKeys(Column::kTimers, "abd", collect).ok());
  EXPECT_THAT(keys, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Backends, ScanTest, kBackends, BackendName);

TEST(KeyEncodingTest, Uint64RoundTripsBigEndian) {
  std::string k;
  AppendUint64BigEndian(k, 0x0102030405060708ull);
  EXPECT_EQ(k, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  for (std::uint64_t v : {0ull, 1ull, 255ull, 256ull, 1ull << 56, ~0ull}) {
    EXPECT_EQ(ReadUint64BigEndian(U64Key(v)), v);
  }
  // Reading takes the first 8 bytes only.
  EXPECT_EQ(ReadUint64BigEndian(U64Key(42) + "tail"), 42u);
}

TEST_P(StoreContractTest, BigEndianKeysScanInNumericOrder) {
  std::unique_ptr<Store> store = Open(DiskOptions());
  ASSERT_NE(store, nullptr);
  std::vector<std::uint64_t> values = {300, 1, 0, 1ull << 40, 255, ~0ull, 256, 65535, 65536, 1ull << 63, 2};
  WriteBatch b;
  for (std::uint64_t v : values) {
    std::string key = "exec1";
    key.push_back('\0');
    AppendUint64BigEndian(key, v);
    b.Put(Column::kHistory, key, std::to_string(v));
  }
  ASSERT_TRUE(store->Commit(b).ok());
  std::sort(values.begin(), values.end());
  std::vector<std::uint64_t> seen;
  std::string prefix = "exec1";
  prefix.push_back('\0');
  for (const std::string& k : ScanKeys(*store, Column::kHistory, prefix)) {
    seen.push_back(ReadUint64BigEndian(std::string_view(k).substr(prefix.size())));
  }
  EXPECT_EQ(seen, values);
}

TEST_P(StoreContractTest, AppendStringKeepsVariablePrefixesApart) {
  std::unique_ptr<Store> store = Open(DiskOptions());
  ASSERT_NE(store, nullptr);
  auto key = [](std::string_view queue, std::uint64_t ready) {
    std::string k;
    AppendString(k, queue);
    AppendUint64BigEndian(k, ready);
    return k;
  };
  WriteBatch b;
  b.Put(Column::kTasks, key("abc", 0), "abc0");
  b.Put(Column::kTasks, key("ab", ~0ull), "abmax");
  b.Put(Column::kTasks, key("ab", 1), "ab1");
  b.Put(Column::kTasks, key("a", 5), "a5");
  b.Put(Column::kTasks, key("b", 0), "b0");
  ASSERT_TRUE(store->Commit(b).ok());

  std::vector<std::string> values;
  for (Row& r : ScanRows(*store, Column::kTasks, "")) {
    values.push_back(std::move(r.second));
  }
  // "ab" + 0x00 sorts before "abc" + 0x00 whatever the numbers that follow.
  EXPECT_THAT(values, ElementsAre("a5", "ab1", "abmax", "abc0", "b0"));

  std::string ab;
  AppendString(ab, "ab");
  EXPECT_EQ(ab, std::string("ab\0", 3));
  std::vector<std::string> ab_values;
  for (Row& r : ScanRows(*store, Column::kTasks, ab)) {
    ab_values.push_back(std::move(r.second));
  }
  EXPECT_THAT(ab_values, ElementsAre("ab1", "abmax"));
}

TEST_P(StoreContractTest, ConcurrentCommitsFromEightThreadsAreAllVisible) {
  std::unique_ptr<Store> store = Open(DiskOptions());  // sync writes: concurrent commits share fsyncs
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8;
  constexpr int kCommitsPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kCommitsPerThread; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        WriteBatch b;
        b.Put(Column::kExecutions, id, "meta");
        b.Put(Column::kHistory, id + "/1", "event");
        absl::Status s = store->Commit(b);
        EXPECT_TRUE(s.ok()) << s;
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(ScanKeys(*store, Column::kExecutions, "").size(), static_cast<std::size_t>(kThreads * kCommitsPerThread));
  EXPECT_EQ(ScanKeys(*store, Column::kHistory, "").size(), static_cast<std::size_t>(kThreads * kCommitsPerThread));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kCommitsPerThread; ++i) {
      std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
      EXPECT_EQ(MustGet(*store, Column::kExecutions, id), "meta") << id;
    }
  }
}

// Enough keys that a store reading in pages (PostgreSQL: 128, then 512, ...) crosses page boundaries: every
// key once, in order, both ways, from any start, and stopping anywhere.
TEST_P(StoreContractTest, LongScansCrossPagesInOrder) {
  std::unique_ptr<Store> store = Open(DiskOptions());
  ASSERT_NE(store, nullptr);
  constexpr std::uint64_t kKeys = 3000;
  std::vector<std::string> keys;
  WriteBatch b;
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    keys.push_back("p" + U64Key(i * 7));
    b.Put(Column::kInputs, keys.back(), std::to_string(i));
  }
  b.Put(Column::kInputs, "q", "outside the prefix");
  absl::Status committed = store->Commit(b);
  ASSERT_TRUE(committed.ok()) << committed;
  EXPECT_THAT(ScanKeys(*store, Column::kInputs, "p"), ElementsAreArray(keys));
  EXPECT_THAT(ScanKeys(*store, Column::kInputs, "p", "", true), ElementsAreArray(keys.rbegin(), keys.rend()));
  // From the middle, start_after not a key (between i*7 and i*7+7).
  const std::string middle = "p" + U64Key(1000 * 7 + 3);
  EXPECT_THAT(ScanKeys(*store, Column::kInputs, "p", middle), ElementsAreArray(keys.begin() + 1001, keys.end()));
  EXPECT_THAT(ScanKeys(*store, Column::kInputs, "p", middle, true),
              ElementsAreArray(std::make_reverse_iterator(keys.begin() + 1001), keys.rend()));
  // Stopping after 700 rows (inside the third page of a paged reader).
  std::vector<std::string> first;
  ASSERT_TRUE(store
                  ->Scan(Column::kInputs, "p", "", false,
                         [&](std::string_view k, std::string_view) {
                           first.emplace_back(k);
                           return first.size() < 700;
                         })
                  .ok());
  EXPECT_THAT(first, ElementsAreArray(keys.begin(), keys.begin() + 700));
}

// Threads committing batches over the same keys, each in its own order: every commit succeeds (no store
// may fail one for a lock-order deadlock), and every key ends with a value one of the batches wrote last.
TEST_P(StoreContractTest, RacingCommitsOverTheSameKeysAllSucceed) {
  std::unique_ptr<Store> store = Open(DiskOptions());
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 6;
  constexpr int kCommitsPerThread = 30;
  constexpr int kKeys = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kCommitsPerThread; ++i) {
        WriteBatch b;
        for (int k = 0; k < kKeys; ++k) {
          // Thread t walks the keys from a different start and direction each time.
          const int key = (t % 2 == 0) ? (k + i + t) % kKeys : (kKeys - 1 - k + i * t) % kKeys;
          if ((key + i) % 5 == 0) {
            b.Delete(Column::kTasks, "shared" + std::to_string(key));
          } else {
            b.Put(Column::kTasks, "shared" + std::to_string(key), "t" + std::to_string(t));
          }
        }
        absl::Status s = store->Commit(b);
        EXPECT_TRUE(s.ok()) << s;
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  for (const Row& r : ScanRows(*store, Column::kTasks, "shared")) {
    EXPECT_THAT(r.second, ::testing::MatchesRegex("t[0-5]")) << r.first;
  }
}

// PutIfAbsent writes only where nothing is, and every racing caller gets the one value that stayed.
TEST_P(StoreContractTest, PutIfAbsentKeepsTheFirstValueForEveryRacingCaller) {
  std::unique_ptr<Store> store = Open(DiskOptions());
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::string> first = PutIfAbsent(*store, Column::kMeta, "setting", "a");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, "a");
  absl::StatusOr<std::string> second = PutIfAbsent(*store, Column::kMeta, "setting", "b");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, "a");
  EXPECT_EQ(MustGet(*store, Column::kMeta, "setting"), "a");

  constexpr int kThreads = 6;
  for (int round = 0; round < 5; ++round) {
    const std::string key = "raced" + std::to_string(round);
    std::vector<std::string> got(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        absl::StatusOr<std::string> v = PutIfAbsent(*store, Column::kMeta, key, "t" + std::to_string(t));
        EXPECT_TRUE(v.ok()) << v.status();
        got[t] = v.ok() ? *v : "";
      });
    }
    for (std::thread& th : threads) {
      th.join();
    }
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_EQ(got[t], MustGet(*store, Column::kMeta, key)) << "thread " << t << ", round " << round;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, kBackends, BackendName);

// A scan's visitor may call the store again (the in-memory store visits a copy of the range).
TEST_P(StoreContractTest, VisitorMayWriteDuringAScan) {
  std::unique_ptr<Store> store = Open(DiskOptions());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(PutAll(*store, Column::kTimers, {"a", "b", "c"}).ok());
  std::vector<std::string> seen;
  absl::Status s = store->Scan(Column::kTimers, "", "", false, [&](std::string_view k, std::string_view) {
    seen.emplace_back(k);
    WriteBatch b;
    b.Delete(Column::kTimers, std::string(k));
    EXPECT_TRUE(store->Commit(b).ok());
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(seen, ElementsAre("a", "b", "c"));
  EXPECT_THAT(ScanKeys(*store, Column::kTimers, ""), IsEmpty());
}

// A deferred value reads as the bytes it renders, through Get and Scan, until a plain put or a delete.
TEST_P(StoreContractTest, DeferredValuesReadAsTheirBytes) {
  class Rendered final : public DeferredValue {
   public:
    explicit Rendered(std::string bytes) : bytes_(std::move(bytes)) {}
    void Render(std::string& out) const override { out.append(bytes_); }

   private:
    std::string bytes_;
  };
  std::unique_ptr<Store> store = Open(DiskOptions());
  ASSERT_NE(store, nullptr);
  WriteBatch b;
  b.PutDeferred(Column::kHistory, "h1", std::make_shared<Rendered>(std::string("row\0one", 7)));
  b.PutDeferred(Column::kHistory, "h2", std::make_shared<Rendered>("two"));
  b.PutDeferred(Column::kHistory, "h3", std::make_shared<Rendered>("three"));
  ASSERT_TRUE(store->Commit(b).ok());
  EXPECT_EQ(MustGet(*store, Column::kHistory, "h1"), std::string("row\0one", 7));
  EXPECT_THAT(ScanRows(*store, Column::kHistory, "h"),
              ElementsAre(Row("h1", std::string("row\0one", 7)), Row("h2", "two"), Row("h3", "three")));
  WriteBatch overwrite;
  overwrite.Put(Column::kHistory, "h2", "plain");
  overwrite.Delete(Column::kHistory, "h3");
  ASSERT_TRUE(store->Commit(overwrite).ok());
  EXPECT_EQ(MustGet(*store, Column::kHistory, "h2"), "plain");
  EXPECT_EQ(MustGet(*store, Column::kHistory, "h3"), std::nullopt);
}

TEST_F(StoreTest, TheInMemoryStoresKeysOnlyScanRendersNoDeferredValue) {
  class CountedRenders final : public DeferredValue {
   public:
    explicit CountedRenders(int* renders) : renders_(renders) {}
    void Render(std::string& out) const override {
      ++*renders_;
      out.append("bytes");
    }

   private:
    int* renders_;
  };
  int renders = 0;
  std::unique_ptr<Store> store = NewMemoryStore();
  WriteBatch b;
  b.PutDeferred(Column::kHistory, "h1", std::make_shared<CountedRenders>(&renders));
  b.PutDeferred(Column::kHistory, "h2", std::make_shared<CountedRenders>(&renders));
  ASSERT_TRUE(store->Commit(b).ok());
  std::vector<std::string> keys;
  ASSERT_TRUE(store
                  ->ScanKeys(Column::kHistory, "h",
                             [&keys](std::string_view k) {
                               keys.emplace_back(k);
                               return true;
                             })
                  .ok());
  EXPECT_THAT(keys, ElementsAre("h1", "h2"));
  EXPECT_EQ(renders, 0);
  EXPECT_EQ(MustGet(*store, Column::kHistory, "h1"), "bytes");  // what reads the value renders it
  EXPECT_EQ(renders, 1);
}

TEST_F(StoreTest, InMemoryStoreTouchesNoDiskAndIsPrivate) {
  StoreOptions o;
  o.in_memory = true;
  o.path = (dir_ / "mem").string();
  std::unique_ptr<Store> a = Open(o);
  std::unique_ptr<Store> b = Open(o);  // same path, separate Env: no lock conflict, no shared data
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(PutAll(*a, Column::kDefinitions, {"sm1", "sm2"}).ok());
  EXPECT_THAT(ScanKeys(*a, Column::kDefinitions, "sm"), ElementsAre("sm1", "sm2"));
  EXPECT_EQ(MustGet(*b, Column::kDefinitions, "sm1"), std::nullopt);
  EXPECT_FALSE(std::filesystem::exists(dir_));

  StoreOptions no_path;
  no_path.in_memory = true;
  std::unique_ptr<Store> c = Open(no_path);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(PutAll(*c, Column::kTimers, {"t"}).ok());
  EXPECT_EQ(MustGet(*c, Column::kTimers, "t"), "v:t");
}

// Opening replays the write-ahead log into memtables on the calling thread; RocksDB's perf counters (on by
// default, per thread) would count every key comparison of those inserts, 14% of the replay's instructions.
TEST_F(StoreTest, TheOpenCountsNothingOnItsThread) {
  std::thread opener([&] {
    ASSERT_EQ(rocksdb::GetPerfLevel(), rocksdb::PerfLevel::kEnableCount);  // RocksDB's default for a new thread
    std::unique_ptr<Store> store = Open(DiskOptions());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(rocksdb::GetPerfLevel(), rocksdb::PerfLevel::kDisable);
  });
  opener.join();
}

TEST(InsertHintTest, APrefixIsTheKeysFirstComponentsWithTheirTerminators) {
  std::string task;  // a `tasks` key: Str(queue) Str(execution id) U64(task id)
  AppendString(task, "q");
  AppendString(task, "arn:e");
  AppendUint64BigEndian(task, 7);
  EXPECT_EQ(KeyPrefixOfComponents(task, 1), std::string("q\0", 2));
  EXPECT_EQ(KeyPrefixOfComponents(task, 2), std::string("q\0arn:e\0", 8));
  EXPECT_EQ(KeyPrefixOfComponents(std::string("q\0tail", 6), 2), std::string("q\0tail", 6));  // fewer: all of it
  EXPECT_EQ(KeyPrefixOfComponents("arn:e", 1), "arn:e");  // an executions key: the bare ARN
  EXPECT_EQ(KeyPrefixOfComponents("", 2), "");
}

// The memtables' insert hints (rocksdb_store.cc, LeadingKeyComponents): an insert's search starts from the last
// row written with the same first key component. RocksDB names each column family's options in the OPTIONS file
// it writes at the open.
TEST_F(StoreTest, EveryColumnHintsItsInsertsByTheKeysFirstComponent) {
  ASSERT_NE(Open(DiskOptions()), nullptr);
  std::filesystem::path newest;
  for (const auto& file : std::filesystem::directory_iterator(DiskOptions().path)) {
    const std::string name = file.path().filename().string();
    if (name.rfind("OPTIONS-", 0) == 0 && (newest.empty() || name > newest.filename().string())) {
      newest = file.path();
    }
  }
  ASSERT_FALSE(newest.empty());
  std::ifstream in(newest);
  std::map<std::string, std::string> hint_by_column;
  std::string column;
  for (std::string line; std::getline(in, line);) {
    const std::string section = "[CFOptions \"";
    if (line.rfind(section, 0) == 0) {
      column = line.substr(section.size(), line.find('"', section.size()) - section.size());
    }
    const std::string option = "memtable_insert_with_hint_prefix_extractor=";
    const std::size_t at = line.find(option);
    if (at != std::string::npos) {
      hint_by_column[column] = line.substr(at + option.size());
    }
  }
  for (int i = 0; i < kColumnCount; ++i) {
    const std::string name(ColumnName(static_cast<Column>(i)));
    EXPECT_EQ(hint_by_column[name], "stepflow.LeadingKeyComponents1") << name;
  }
}

TEST_F(StoreTest, SecondOpenOfALockedDatabaseIsUnavailable) {
  StoreOptions o = DiskOptions();
  std::unique_ptr<Store> first = Open(o);
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<Store>> second = OpenRocksDbStore(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr(o.path));
  first.reset();
  EXPECT_NE(Open(o), nullptr);  // the lock goes with the store
}

TEST_F(StoreTest, BadPathIsAnErrorNotACrash) {
  std::filesystem::create_directories(dir_);
  std::filesystem::path file = dir_ / "a_file";
  std::ofstream(file) << "not a directory";

  StoreOptions under_file;
  under_file.path = (file / "db").string();
  absl::StatusOr<std::unique_ptr<Store>> s1 = OpenRocksDbStore(under_file);
  ASSERT_FALSE(s1.ok());
  EXPECT_EQ(s1.status().code(), absl::StatusCode::kInvalidArgument) << s1.status();
  EXPECT_THAT(s1.status().message(), HasSubstr(under_file.path));

  StoreOptions is_file;
  is_file.path = file.string();
  absl::StatusOr<std::unique_ptr<Store>> s2 = OpenRocksDbStore(is_file);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.status().code(), absl::StatusCode::kInvalidArgument) << s2.status();
  EXPECT_THAT(s2.status().message(), HasSubstr(is_file.path));

  absl::StatusOr<std::unique_ptr<Store>> s3 = OpenRocksDbStore(StoreOptions{});
  ASSERT_FALSE(s3.ok());
  EXPECT_EQ(s3.status().code(), absl::StatusCode::kInvalidArgument) << s3.status();
}

TEST_F(StoreTest, CorruptCurrentFileIsDataLoss) {
  StoreOptions o = DiskOptions();
  {
    std::unique_ptr<Store> store = Open(o);
    ASSERT_NE(store, nullptr);
  }
  std::ofstream(std::filesystem::path(o.path) / "CURRENT", std::ios::trunc) << "garbage-without-newline";
  absl::StatusOr<std::unique_ptr<Store>> store = OpenRocksDbStore(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(o.path));
}

}  // namespace
}  // namespace stepflow::storage
