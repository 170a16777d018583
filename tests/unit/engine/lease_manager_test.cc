// Partition leases with racing nodes (issue 14, part 3), on a private PostgreSQL: fenced read-modify-writes by
// threads that take a partition over from each other lose no update, and lease managers sharing a store
// split the partitions fairly, never adopt a partition at an epoch that is not above the last one, and take
// over the partitions of a manager that stops.
#include "engine/cluster/lease_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/postgres/testing/postgres_suite.h"

namespace stepflow::engine::cluster {
namespace {

using namespace std::chrono_literals;

class LeaseTest : public storage::testing::PostgresSuite {
 protected:
  void SetUp() override {
    CreateDatabaseOrSkip("leases are");
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    storage::PostgresStoreOptions o;
    o.conninfo = conninfo_;
    o.sync_writes = false;
    auto s = storage::OpenPostgresStore(o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  std::unique_ptr<storage::PostgresStore> store_;
};

// Four "nodes" take partition 0 over from each other (leases of 30 ms that nobody renews) and keep
// incrementing one counter row under their epoch, read-modify-write, without looking at the clock: owners
// overlap all the time. With the fence, every increment that was acknowledged is in the counter.
TEST_F(LeaseTest, FencedWritesOfRacingOwnersLoseNoUpdate) {
  constexpr int kNodes = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::atomic<int> refused{0};
  std::vector<std::atomic<int>> wins(kNodes);
  std::vector<std::thread> nodes;
  for (int n = 0; n < kNodes; ++n) {
    nodes.emplace_back([&, n] {
      const std::string me = "node-" + std::to_string(n);
      while (!stop.load()) {
        absl::StatusOr<storage::PartitionLease> lease = store_->AcquireLease(0, me, 30ms);
        if (!lease.ok()) {
          continue;
        }
        ++wins[n];
        for (int k = 0; k < 20 && !stop.load(); ++k) {
          if (k == 10) {
            // A pause past the 30 ms lease, as a stalled node's: another node takes the partition over meanwhile
            // (a holder that never pauses renews its own lease first and may keep it for ever on a quiet machine).
            std::this_thread::sleep_for(60ms);
          }
          absl::StatusOr<std::optional<std::string>> v = store_->Get(storage::Column::kMeta, "counter");
          ASSERT_TRUE(v.ok()) << v.status();
          const int next = (v->has_value() ? std::stoi(**v) : 0) + 1;
          storage::WriteBatch b;
          b.SetFence(storage::LeaseFence{0, lease->epoch});
          b.Put(storage::Column::kMeta, "counter", std::to_string(next));
          absl::Status s = store_->Commit(b);
          if (s.ok()) {
            ++acknowledged;
          } else {
            ASSERT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
            ++refused;
            break;  // the lease moved on: never retry under it
          }
        }
      }
    });
  }
  // Until the partition changed owner and a stale write was refused (what the test is about), at most 60 s.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline &&
         (refused.load() == 0 || std::count_if(wins.begin(), wins.end(), [](const auto& w) { return w > 0; }) < 2)) {
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(100ms);  // and some more racing after that
  stop = true;
  for (std::thread& t : nodes) {
    t.join();
  }
  absl::StatusOr<std::optional<std::string>> v = store_->Get(storage::Column::kMeta, "counter");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(std::stoi(**v), acknowledged.load());
  int winners = 0;
  for (int w : wins) {
    winners += w > 0 ? 1 : 0;
  }
  EXPECT_GE(winners, 2) << "the partition never changed owner: the test proved nothing";
  EXPECT_GT(refused.load(), 0) << "no stale write was attempted: the test proved nothing";
}

// Records what a manager made its node serve and how many partitions each Adopt call took; checks that a
// partition is adopted at increasing epochs. An adoption takes `adopt_time` (a recovery).
class FakeHost : public PartitionHost {
 public:
  FakeHost(std::mutex* epochs_mu, std::map<std::uint32_t, std::uint64_t>* last_epochs,
           std::chrono::milliseconds adopt_time = 0ms)
      : epochs_mu_(epochs_mu), last_epochs_(last_epochs), adopt_time_(adopt_time) {}
  std::vector<absl::Status> Adopt(const std::vector<storage::PartitionLease>& leases) override {
    std::this_thread::sleep_for(adopt_time_);
    for (const storage::PartitionLease& lease : leases) {
      std::lock_guard<std::mutex> lock(*epochs_mu_);
      std::uint64_t& last = (*last_epochs_)[lease.partition];
      EXPECT_GT(lease.epoch, last) << "partition " << lease.partition << " adopted at a stale epoch";
      last = lease.epoch;
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (const storage::PartitionLease& lease : leases) {
      serving_.insert(lease.partition);
    }
    adopt_calls_.push_back(leases.size());
    adopted_at_.push_back(std::chrono::steady_clock::now());
    return std::vector<absl::Status>(leases.size());
  }
  std::vector<std::size_t> adopt_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return adopt_calls_;
  }
  // When each Adopt call ended.
  std::vector<std::chrono::steady_clock::time_point> adopted_at() {
    std::lock_guard<std::mutex> lock(mu_);
    return adopted_at_;
  }
  void Drop(std::uint32_t partition) override {
    std::lock_guard<std::mutex> lock(mu_);
    serving_.erase(partition);
  }
  std::set<std::uint32_t> serving() {
    std::lock_guard<std::mutex> lock(mu_);
    return serving_;
  }

 private:
  std::mutex* epochs_mu_;
  std::map<std::uint32_t, std::uint64_t>* last_epochs_;
  const std::chrono::milliseconds adopt_time_;
  std::mutex mu_;
  std::set<std::uint32_t> serving_;
  std::vector<std::size_t> adopt_calls_;
  std::vector<std::chrono::steady_clock::time_point> adopted_at_;
};

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) {
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// A node's options: lease 400 ms, advertised at 127.0.0.1:PORT.
ClusterOptions NodeOptions(const std::string& id, int port) {
  ClusterOptions o;
  o.node_id = id;
  o.advertise = "127.0.0.1:" + std::to_string(port);
  o.lease = 400ms;
  return o;
}

TEST_F(LeaseTest, ManagersShareThePartitionsFairlyAndTakeOverAStoppedOnesShare) {
  constexpr int kPartitions = 8;
  std::mutex epochs_mu;
  std::map<std::uint32_t, std::uint64_t> last_epochs;
  std::vector<std::unique_ptr<FakeHost>> hosts;
  std::vector<std::unique_ptr<LeaseManager>> managers;
  std::vector<std::thread> starting;
  for (int i = 0; i < 3; ++i) {
    hosts.push_back(std::make_unique<FakeHost>(&epochs_mu, &last_epochs));
    ClusterOptions o;
    o.node_id = "node-" + std::to_string(i);
    o.advertise = "127.0.0.1:" + std::to_string(7000 + i);
    o.lease = 400ms;
    managers.push_back(std::make_unique<LeaseManager>(store_.get(), hosts.back().get(), kPartitions, o));
  }
  for (auto& m : managers) {  // started together: their first rounds race
    starting.emplace_back([&m] { m->Start(); });
  }
  for (std::thread& t : starting) {
    t.join();
  }
  auto spread = [&](int live) {
    std::map<std::uint32_t, int> servers;
    for (int i = 0; i < live; ++i) {
      const std::set<std::uint32_t> mine = hosts[i]->serving();
      if (static_cast<int>(mine.size()) > LeaseManager::FairShare(kPartitions, live)) {
        return false;
      }
      for (std::uint32_t p : mine) {
        ++servers[p];
      }
    }
    if (static_cast<int>(servers.size()) != kPartitions) {
      return false;
    }
    for (const auto& [p, n] : servers) {
      if (n != 1) {
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(WaitUntil([&] { return spread(3); }, 10s));
  // Another manager names node 0 as the owner of one of its partitions once its own round has seen node 0
  // take it (OwnerOf answers as of the last round: before that it may name the partition's previous owner).
  const std::uint32_t one_of_node_0 = *hosts[0]->serving().begin();
  EXPECT_TRUE(WaitUntil([&] { return managers[1]->OwnerOf(one_of_node_0).address == "127.0.0.1:7000"; }, 10s))
      << managers[1]->OwnerOf(one_of_node_0).address;
  // The other nodes holding partitions, as idle polls ask them for tasks (as of each manager's last round).
  const std::vector<std::string> others = {"127.0.0.1:7001", "127.0.0.1:7002"};
  EXPECT_TRUE(WaitUntil([&] { return managers[0]->PeerAddresses() == others; }, 10s));
  // Node 2 leaves (its leases released): nodes 0 and 1 serve everything, four each.
  managers[2]->ReleaseAll();
  EXPECT_TRUE(hosts[2]->serving().empty());
  ASSERT_TRUE(WaitUntil([&] { return spread(2); }, 10s));
  EXPECT_TRUE(WaitUntil([&] { return managers[0]->PeerAddresses() == std::vector<std::string>{"127.0.0.1:7001"}; },
                        10s));
  // Node 1 stops renewing without releasing (a crash): node 0 takes all of them once they expire.
  managers[1]->StopRounds();
  ASSERT_TRUE(WaitUntil([&] { return hosts[0]->serving().size() == kPartitions; }, 10s));
  EXPECT_TRUE(WaitUntil([&] { return managers[0]->PeerAddresses().empty(); }, 10s));
  managers[0]->ReleaseAll();
}

// A node starting alone adopts every partition in one call (the engine reads the running-executions index once
// for all of them), and its leases, held or being adopted, are renewed while the recovery takes several
// leases' time: a second node starting meanwhile finds none of them free.
TEST_F(LeaseTest, ANodeAdoptsEveryFreePartitionInOneCallAndKeepsItsLeasesWhileRecovering) {
  constexpr int kPartitions = 8;
  std::mutex epochs_mu;
  std::map<std::uint32_t, std::uint64_t> last_epochs;
  FakeHost slow(&epochs_mu, &last_epochs, 1500ms);
  FakeHost quick(&epochs_mu, &last_epochs);
  const ClusterOptions a = NodeOptions("node-a", 7100);
  const ClusterOptions b = NodeOptions("node-b", 7101);
  LeaseManager first(store_.get(), &slow, kPartitions, a);
  LeaseManager second(store_.get(), &quick, kPartitions, b);
  std::thread starting([&] { first.Start(); });  // its first round: every lease, then one adoption of 1.5 s
  // The second node starts once the first holds every lease, i.e. while it adopts them.
  ASSERT_TRUE(WaitUntil(
      [&] {
        absl::StatusOr<std::vector<storage::LeaseRow>> rows = store_->ListLeases();
        return rows.ok() && rows->size() == kPartitions;
      },
      10s));
  second.Start();
  starting.join();
  EXPECT_EQ(slow.adopt_calls(), std::vector<std::size_t>{kPartitions});
  EXPECT_EQ(slow.serving().size(), static_cast<std::size_t>(kPartitions));
  // Then the first gives the second its share in a later round; none before the first's adoption ended (had the
  // first let its leases lapse while adopting, the second would have taken them then).
  EXPECT_TRUE(WaitUntil([&] { return quick.serving().size() == kPartitions / 2; }, 10s));
  ASSERT_EQ(slow.adopted_at().size(), 1u);
  for (const auto& at : quick.adopted_at()) {
    EXPECT_GT(at, slow.adopted_at().front()) << "the second node adopted partitions while the first was adopting them";
  }
  second.ReleaseAll();
  first.ReleaseAll();
}

// The database goes away for longer than the leases and comes back: every heartbeat and lease expired meanwhile,
// yet each node keeps its own partitions (it renews them; nobody takes for a lease's time after its heartbeat
// failed). Before, the first node back saw itself alone and took every expired partition from the other.
TEST_F(LeaseTest, AfterADatabaseOutageEachNodeKeepsItsOwnPartitions) {
  constexpr int kPartitions = 8;
  std::mutex epochs_mu;
  std::map<std::uint32_t, std::uint64_t> last_epochs;
  FakeHost host_a(&epochs_mu, &last_epochs);
  FakeHost host_b(&epochs_mu, &last_epochs);
  const ClusterOptions a = NodeOptions("node-a", 7200);
  const ClusterOptions b = NodeOptions("node-b", 7201);
  LeaseManager first(store_.get(), &host_a, kPartitions, a);
  LeaseManager second(store_.get(), &host_b, kPartitions, b);
  first.Start();
  second.Start();
  ASSERT_TRUE(WaitUntil([&] { return host_a.serving().size() == 4 && host_b.serving().size() == 4; }, 10s));
  const std::set<std::uint32_t> a_before = host_a.serving();
  const std::set<std::uint32_t> b_before = host_b.serving();
  const std::size_t adoptions_before = host_a.adopt_calls().size() + host_b.adopt_calls().size();
  server_->Shutdown();
  std::this_thread::sleep_for(1200ms);  // three leases
  ASSERT_TRUE(server_->Resume().ok()) << server_->log();
  // Both renew within a round of the database's return; a lease later neither may take from the other.
  ASSERT_TRUE(WaitUntil(
      [&] {
        absl::StatusOr<std::vector<storage::LeaseRow>> rows = store_->ListLeases();
        if (!rows.ok()) {
          return false;
        }
        int live = 0;
        for (const storage::LeaseRow& r : *rows) {
          live += r.expires_in_ms > 0 ? 1 : 0;
        }
        return live == kPartitions;
      },
      10s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(host_a.serving(), a_before);
  EXPECT_EQ(host_b.serving(), b_before);
  EXPECT_EQ(host_a.adopt_calls().size() + host_b.adopt_calls().size(), adoptions_before)
      << "a partition was adopted again after the outage";
  second.ReleaseAll();
  first.ReleaseAll();
}

}  // namespace
}  // namespace stepflow::engine::cluster
