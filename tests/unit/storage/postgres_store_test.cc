// What the PostgreSQL store adds to the Store contract (store_test.cc runs the contract on it): partition
// leases and epoch fencing, schema versions, connection errors and reconnection after a database restart.
#include "storage/postgres/postgres_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/postgres/testing/postgres_suite.h"

namespace stepflow::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// One private server per test process; a database per test.
class PostgresStoreTest : public testing::PostgresSuite {
 protected:
  void SetUp() override {
    CreateDatabaseOrSkip("the PostgreSQL store is");
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<PostgresStore> Open() {
    PostgresStoreOptions o;
    o.conninfo = conninfo_;
    absl::StatusOr<std::unique_ptr<PostgresStore>> s = OpenPostgresStore(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  absl::Status FencedPut(std::uint32_t partition, std::uint64_t epoch, const std::string& key) {
    WriteBatch b;
    b.SetFence(LeaseFence{partition, epoch});
    b.Put(Column::kExecutions, key, "v");
    return store_->Commit(b);
  }

  std::optional<std::string> Get(const std::string& key) {
    absl::StatusOr<std::optional<std::string>> v = store_->Get(Column::kExecutions, key);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : std::nullopt;
  }

  std::unique_ptr<PostgresStore> store_;
};

TEST_F(PostgresStoreTest, ACommitUnderAStaleEpochIsRefusedAndAppliesNothing) {
  absl::StatusOr<PartitionLease> a = store_->AcquireLease(3, "node-a", 60s);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->epoch, 1u);
  ASSERT_TRUE(FencedPut(3, a->epoch, "under-a").ok());
  // Re-acquiring one's own live lease keeps the epoch; another node cannot take it while it lives.
  absl::StatusOr<PartitionLease> again = store_->AcquireLease(3, "node-a", 60s);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->epoch, 1u);
  absl::StatusOr<PartitionLease> refused = store_->AcquireLease(3, "node-b", 60s);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("leased to node-a"));

  // node-a's lease runs out (a 0 ms renewal: expired at once); node-b takes over at epoch 2.
  ASSERT_TRUE(store_->RenewLease(*a, 0ms).ok());
  absl::StatusOr<PartitionLease> b = store_->AcquireLease(3, "node-b", 60s);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->epoch, 2u);

  // node-a, paused past its lease, wakes up and commits: refused inside the transaction, nothing applied.
  WriteBatch stale;
  stale.SetFence(LeaseFence{3, a->epoch});
  stale.Put(Column::kExecutions, "under-a", "overwritten");
  stale.Put(Column::kHistory, "late", "x");
  absl::Status s = store_->Commit(stale);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("lease lost: partition 3 is at epoch 2"));
  EXPECT_EQ(Get("under-a"), "v");
  absl::StatusOr<std::optional<std::string>> late = store_->Get(Column::kHistory, "late");
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(*late, std::nullopt);
  // Nor can it renew; its release is a no-op that leaves node-b's lease alone.
  EXPECT_EQ(store_->RenewLease(*a, 60s).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->ReleaseLease(*a).ok());
  EXPECT_TRUE(FencedPut(3, b->epoch, "under-b").ok());

  // Other partitions' leases are their own; an unleased partition refuses every fenced commit.
  EXPECT_TRUE(store_->AcquireLease(4, "node-a", 60s).ok());
  EXPECT_EQ(FencedPut(5, 1, "nobody").code(), absl::StatusCode::kFailedPrecondition);
  // An unfenced commit (a single-owner store's) is not checked.
  WriteBatch plain;
  plain.Put(Column::kExecutions, "plain", "v");
  EXPECT_TRUE(store_->Commit(plain).ok());

  // A released lease is taken at once, at a new epoch.
  ASSERT_TRUE(store_->ReleaseLease(*b).ok());
  absl::StatusOr<PartitionLease> a2 = store_->AcquireLease(3, "node-a", 60s);
  ASSERT_TRUE(a2.ok()) << a2.status();
  EXPECT_EQ(a2->epoch, 3u);
}

// A writer commits under its epoch in a loop while another node takes the partition over: no commit that
// began after the takeover finished is ever applied.
TEST_F(PostgresStoreTest, NoCommitUnderTheOldEpochLandsAfterATakeover) {
  absl::StatusOr<PartitionLease> a = store_->AcquireLease(7, "node-a", 60s);
  ASSERT_TRUE(a.ok()) << a.status();
  std::atomic<bool> taken_over{false};
  std::atomic<int> applied_after{0};
  std::atomic<int> applied{0};
  std::thread writer([&] {
    for (int i = 0; i < 100000; ++i) {
      const bool after = taken_over.load();
      absl::Status s = FencedPut(7, a->epoch, "k" + std::to_string(i));
      if (s.ok()) {
        ++applied;
        applied_after += after ? 1 : 0;
        continue;
      }
      EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
      return;
    }
    ADD_FAILURE() << "the writer never lost its lease";
  });
  while (applied.load() < 20) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(store_->RenewLease(*a, 0ms).ok());
  absl::StatusOr<PartitionLease> b = store_->AcquireLease(7, "node-b", 60s);
  ASSERT_TRUE(b.ok()) << b.status();
  taken_over = true;
  writer.join();
  EXPECT_EQ(applied_after.load(), 0);
}

// A scan holds its connection while it visits; a visitor that calls the store gets another even when the
// pool is at its limit (else scans whose visitors read would deadlock on the pool).
TEST_F(PostgresStoreTest, AScansVisitorMayCallTheStoreAtThePoolLimit) {
  PostgresStoreOptions o;
  o.conninfo = conninfo_;
  o.max_connections = 1;
  absl::StatusOr<std::unique_ptr<PostgresStore>> one = OpenPostgresStore(o);
  ASSERT_TRUE(one.ok()) << one.status();
  WriteBatch b;
  b.Put(Column::kTimers, "a", "1");
  b.Put(Column::kTimers, "b", "2");
  ASSERT_TRUE((*one)->Commit(b).ok());
  std::vector<std::string> seen;
  absl::Status s = (*one)->Scan(Column::kTimers, "", "", false, [&](std::string_view k, std::string_view) {
    absl::StatusOr<std::optional<std::string>> v = (*one)->Get(Column::kTimers, k);
    EXPECT_TRUE(v.ok()) << v.status();
    WriteBatch d;
    d.Delete(Column::kTimers, std::string(k));
    EXPECT_TRUE((*one)->Commit(d).ok());
    seen.push_back(v.ok() && v->has_value() ? **v : "?");
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "2"}));
}

TEST_F(PostgresStoreTest, SchemaIsCreatedOnceAndANewerOneIsRefused) {
  // A second open (another node, a restart) finds the schema and migrates nothing.
  std::unique_ptr<PostgresStore> second = Open();
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(testing::PrivatePostgres::Execute(conninfo_, "INSERT INTO stepflow_schema (version) VALUES (99)").ok());
  PostgresStoreOptions o;
  o.conninfo = conninfo_;
  absl::StatusOr<std::unique_ptr<PostgresStore>> newer = OpenPostgresStore(o);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.status().message(), HasSubstr("schema is at version 99"));
}

TEST_F(PostgresStoreTest, NodesOpeningTogetherShareOneSchema) {
  absl::StatusOr<std::string> db = server_->CreateDatabase();
  ASSERT_TRUE(db.ok()) << db.status();
  std::vector<std::thread> nodes;
  std::atomic<int> opened{0};
  for (int i = 0; i < 8; ++i) {
    nodes.emplace_back([&] {
      PostgresStoreOptions o;
      o.conninfo = *db;
      absl::StatusOr<std::unique_ptr<PostgresStore>> s = OpenPostgresStore(o);
      EXPECT_TRUE(s.ok()) << s.status();
      opened += s.ok() ? 1 : 0;
    });
  }
  for (std::thread& t : nodes) {
    t.join();
  }
  EXPECT_EQ(opened.load(), 8);
}

// Nodes opening a new store together (one store object, one pool of connections each) all get the value the
// first of them wrote: the insert and the read of what won are one transaction. A read, then a commit, as the
// first open did before, gave each its own value.
TEST_F(PostgresStoreTest, RacingNodesPuttingIfAbsentAllGetTheFirstValue) {
  constexpr int kNodes = 4;
  std::vector<std::unique_ptr<PostgresStore>> nodes;
  for (int i = 0; i < kNodes; ++i) {
    nodes.push_back(Open());
    ASSERT_NE(nodes.back(), nullptr);
  }
  for (int round = 0; round < 20; ++round) {
    const std::string key = "setting-" + std::to_string(round);
    std::vector<std::string> got(kNodes);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kNodes; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < kNodes) {
        }
        absl::StatusOr<std::string> v = nodes[i]->PutIfAbsent(Column::kMeta, key, "node-" + std::to_string(i));
        EXPECT_TRUE(v.ok()) << v.status();
        got[i] = v.ok() ? *v : "";
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    absl::StatusOr<std::optional<std::string>> stored = store_->Get(Column::kMeta, key);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    for (int i = 0; i < kNodes; ++i) {
      EXPECT_EQ(got[i], **stored) << "node " << i << ", round " << round;
    }
  }
}

TEST_F(PostgresStoreTest, ConnectionErrorsAreNamedWithoutThePassword) {
  PostgresStoreOptions bad;
  bad.conninfo = "host=127.0.0.1 port=notaport =";
  absl::StatusOr<std::unique_ptr<PostgresStore>> s1 = OpenPostgresStore(bad);
  ASSERT_FALSE(s1.ok());
  EXPECT_EQ(s1.status().code(), absl::StatusCode::kInvalidArgument) << s1.status();

  PostgresStoreOptions closed;
  closed.conninfo = "postgresql://stepflow:sesame@127.0.0.1:1/nothere";
  absl::StatusOr<std::unique_ptr<PostgresStore>> s2 = OpenPostgresStore(closed);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.status().code(), absl::StatusCode::kUnavailable) << s2.status();
  EXPECT_THAT(s2.status().message(), HasSubstr("127.0.0.1:1/nothere"));
  EXPECT_THAT(s2.status().message(), Not(HasSubstr("sesame")));

  EXPECT_EQ(OpenPostgresStore(PostgresStoreOptions{}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PostgresStoreTest, TheStoreReconnectsAfterADatabaseRestart) {
  WriteBatch b;
  b.Put(Column::kExecutions, "before", "1");
  ASSERT_TRUE(store_->Commit(b).ok());
  ASSERT_TRUE(server_->Restart().ok()) << server_->log();
  // The pooled connections died with the server: the next calls open fresh ones.
  WriteBatch after;
  after.Put(Column::kExecutions, "after", "2");
  absl::Status s = store_->Commit(after);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(Get("before"), "1");
  EXPECT_EQ(Get("after"), "2");
  std::vector<std::string> keys;
  ASSERT_TRUE(store_
                  ->Scan(Column::kExecutions, "", "", false,
                         [&](std::string_view k, std::string_view) {
                           keys.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"after", "before"}));
}

}  // namespace
}  // namespace stepflow::storage
