#include "engine/cluster/lease_manager.h"

#include <algorithm>
#include <functional>
#include <future>
#include <utility>

#include "common/thread_name.h"
#include "spdlog/spdlog.h"

namespace stepflow::engine::cluster {

LeaseManager::LeaseManager(storage::PostgresStore* store, PartitionHost* host, int partitions, ClusterOptions options)
    : store_(store), host_(host), partitions_(partitions), options_(std::move(options)) {}

LeaseManager::~LeaseManager() { StopRounds(); }

int LeaseManager::FairShare(int partitions, int nodes) { return (partitions + nodes - 1) / nodes; }

void LeaseManager::Start() {
  Round();
  thread_ = std::thread([this] {
    common::NameThisThread("sf-lease");
    Loop();
  });
}

void LeaseManager::StopRounds() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void LeaseManager::ReleaseAll() {
  StopRounds();
  TakeLost();
  std::vector<std::uint32_t> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [p, lease] : held_) {
      held.push_back(p);
    }
  }
  for (std::uint32_t p : held) {
    Give(p);
  }
  if (absl::Status s = store_->RemoveNode(options_.node_id); !s.ok()) {
    spdlog::warn("cluster: removing node={} from the node table: {}", options_.node_id, std::string(s.message()));
  }
  spdlog::info("cluster: node={} released {} partitions", options_.node_id, held.size());
}

void LeaseManager::LeaseLost(const storage::PartitionLease& lost) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    lost_[lost.partition] = lost.epoch;
  }
  cv_.notify_all();
}

int LeaseManager::owned() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(held_.size());
}

int LeaseManager::nodes_seen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return nodes_seen_;
}

PartitionOwner LeaseManager::OwnerOf(std::uint32_t partition) {
  PartitionOwner owner = CachedOwner(partition);
  if (!owner.node_id.empty()) {
    return owner;
  }
  std::map<std::string, std::string> live;
  std::set<std::uint32_t> free;
  if (absl::Status s = ReadTables(live, free); !s.ok()) {
    spdlog::warn("cluster: reading the lease table: {}", std::string(s.message()));
  }
  return CachedOwner(partition);
}

std::vector<std::string> LeaseManager::PeerAddresses() const {
  std::set<std::string> addresses;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [p, owner] : owners_) {
      if (!owner.address.empty() && owner.node_id != options_.node_id) {
        addresses.insert(owner.address);
      }
    }
  }
  addresses.erase(options_.advertise);
  return {addresses.begin(), addresses.end()};
}

PartitionOwner LeaseManager::CachedOwner(std::uint32_t partition) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = held_.find(partition); it != held_.end() && lost_.count(partition) == 0) {
    return PartitionOwner{partition, options_.node_id, options_.advertise, it->second.epoch, 0};
  }
  if (auto it = owners_.find(partition); it != owners_.end() && it->second.node_id != options_.node_id) {
    return it->second;
  }
  return PartitionOwner{partition, "", "", 0, 0};
}

void LeaseManager::Loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, options_.lease / 4, [&] { return stopping_ || !lost_.empty(); });
      if (stopping_) {
        return;
      }
    }
    Round();
  }
}

void LeaseManager::TakeLost() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [p, epoch] : lost_) {
    auto it = held_.find(p);
    if (it != held_.end() && it->second.epoch == epoch) {
      held_.erase(it);
      spdlog::warn("cluster: node={} lost partition {} (epoch {}): another node took it over", options_.node_id, p,
                   epoch);
    }
  }
  lost_.clear();
}

void LeaseManager::RenewAll() {
  last_renewal_ = std::chrono::steady_clock::now();
  std::vector<storage::PartitionLease> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [p, lease] : held_) {
      held.push_back(lease);
    }
  }
  for (const storage::PartitionLease& lease : held) {
    absl::Status s = store_->RenewLease(lease, options_.lease);
    if (absl::IsFailedPrecondition(s)) {
      // Taken over while this node could not renew (paused, cut off): its commits are refused already.
      spdlog::warn("cluster: node={} lost partition {} (epoch {}): {}", options_.node_id, lease.partition,
                   lease.epoch, std::string(s.message()));
      host_->Drop(lease.partition);
      std::lock_guard<std::mutex> lock(mu_);
      held_.erase(lease.partition);
    } else if (!s.ok()) {
      spdlog::error("cluster: renewing the lease of partition {}: {}", lease.partition, std::string(s.message()));
    }
  }
}

void LeaseManager::Give(std::uint32_t partition) {
  storage::PartitionLease lease;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = held_.find(partition);
    if (it == held_.end()) {
      return;
    }
    lease = it->second;
    held_.erase(it);
  }
  host_->Drop(partition);  // first: nothing is committed under the lease once it is given back
  if (absl::Status s = store_->ReleaseLease(lease); !s.ok()) {
    spdlog::warn("cluster: releasing partition {}: {} (it expires by itself)", partition, std::string(s.message()));
  }
}

absl::Status LeaseManager::ReadTables(std::map<std::string, std::string>& live, std::set<std::uint32_t>& free) {
  absl::StatusOr<std::vector<storage::NodeRow>> nodes = store_->ListNodes();
  if (!nodes.ok()) {
    return nodes.status();
  }
  absl::StatusOr<std::vector<storage::LeaseRow>> leases = store_->ListLeases();
  if (!leases.ok()) {
    return leases.status();
  }
  for (const storage::NodeRow& n : *nodes) {
    if (n.expires_in_ms > 0) {
      live[n.node_id] = n.address;
    }
  }
  live[options_.node_id] = options_.advertise;  // this node is live even when its heartbeat just failed
  std::map<std::uint32_t, PartitionOwner> owners;
  for (std::uint32_t p = 0; p < static_cast<std::uint32_t>(partitions_); ++p) {
    free.insert(p);
  }
  for (const storage::LeaseRow& row : *leases) {
    const bool mine = row.lease.owner == options_.node_id;
    if (row.expires_in_ms > 0 && !mine) {
      free.erase(row.lease.partition);
      auto address = live.find(row.lease.owner);
      owners[row.lease.partition] = PartitionOwner{row.lease.partition, row.lease.owner,
                                                   address == live.end() ? "" : address->second, row.lease.epoch,
                                                   row.expires_in_ms};
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  owners_ = std::move(owners);
  nodes_seen_ = static_cast<int>(live.size());
  for (const auto& [p, lease] : held_) {
    free.erase(p);
  }
  return absl::OkStatus();
}

void LeaseManager::Round() {
  TakeLost();
  const auto now = std::chrono::steady_clock::now();
  if (absl::Status s = store_->Heartbeat(options_.node_id, options_.advertise, options_.lease); !s.ok()) {
    spdlog::error("cluster: heartbeat of node={}: {}", options_.node_id, std::string(s.message()));
    last_store_failure_ = now;
  }
  RenewAll();
  std::map<std::string, std::string> live;  // node id -> address
  std::set<std::uint32_t> free;
  if (absl::Status s = ReadTables(live, free); !s.ok()) {
    spdlog::error("cluster: reading the node and lease tables: {}", std::string(s.message()));
    return;
  }
  if (last_store_failure_.has_value() && now - *last_store_failure_ < options_.lease) {
    // The database was out of reach a moment ago (down, restarting, cut off): every node's heartbeat and leases
    // may have expired meanwhile, and the first node back would see itself alone and take every partition,
    // which the others then lose. Until a lease's time has passed, each node only renews what it holds (above):
    // by then the live nodes have renewed theirs, and what is still expired belongs to nodes really gone.
    return;
  }
  std::vector<std::uint32_t> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [p, lease] : held_) {
      held.push_back(p);
    }
  }
  const int target = FairShare(partitions_, static_cast<int>(live.size()));
  // Beyond the share (nodes joined): give back the highest ones; their new owners take them in their rounds.
  while (static_cast<int>(held.size()) > target) {
    Give(held.back());
    held.pop_back();
  }
  if (static_cast<int>(held.size()) >= target || free.empty()) {
    return;
  }
  // Free partitions in an order that starts at a point of this node's own, so that nodes starting together
  // mostly try different ones.
  const std::uint32_t start =
      static_cast<std::uint32_t>(std::hash<std::string>()(options_.node_id) % static_cast<std::size_t>(partitions_));
  std::vector<std::uint32_t> order(free.begin(), free.end());
  std::stable_partition(order.begin(), order.end(), [&](std::uint32_t p) { return p >= start; });
  // Every lease first, then one adoption of them all: its reads of the store are shared, not made per partition.
  std::vector<storage::PartitionLease> acquired;
  for (std::uint32_t p : order) {
    if (static_cast<int>(held.size() + acquired.size()) >= target) {
      break;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        break;
      }
    }
    absl::StatusOr<storage::PartitionLease> lease = store_->AcquireLease(p, options_.node_id, options_.lease);
    if (!lease.ok()) {
      if (!absl::IsFailedPrecondition(lease.status()) && !absl::IsAborted(lease.status())) {
        spdlog::error("cluster: acquiring partition {}: {}", p, std::string(lease.status().message()));
      }
      continue;  // another node was faster
    }
    acquired.push_back(*std::move(lease));
  }
  if (!acquired.empty()) {
    AdoptAll(acquired);
  }
}

void LeaseManager::AdoptAll(const std::vector<storage::PartitionLease>& leases) {
  const auto began = std::chrono::steady_clock::now();
  std::future<std::vector<absl::Status>> adopting =
      std::async(std::launch::async, [this, &leases] { return host_->Adopt(leases); });
  // Recoveries take time: no lease, held or being adopted, may lapse meanwhile. One lost anyway (this node
  // paused past it) has its commits refused by the fence, and the partition reports it (LeaseLost).
  while (adopting.wait_for(options_.lease / 4) != std::future_status::ready) {
    if (absl::Status s = store_->Heartbeat(options_.node_id, options_.advertise, options_.lease); !s.ok()) {
      spdlog::warn("cluster: heartbeat of node={} while adopting: {}", options_.node_id, std::string(s.message()));
    }
    RenewAll();
    for (const storage::PartitionLease& lease : leases) {
      if (absl::Status s = store_->RenewLease(lease, options_.lease); !s.ok()) {
        spdlog::warn("cluster: renewing partition {} while adopting it: {}", lease.partition,
                     std::string(s.message()));
      }
    }
  }
  std::vector<absl::Status> adopted = adopting.get();
  adopted.resize(leases.size(), absl::InternalError("the host gave no answer for this partition"));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
  int taken = 0;
  for (std::size_t i = 0; i < leases.size(); ++i) {
    const storage::PartitionLease& lease = leases[i];
    if (!adopted[i].ok()) {
      spdlog::error("cluster: node={} could not take partition {} (epoch {}): {}", options_.node_id, lease.partition,
                    lease.epoch, std::string(adopted[i].message()));
      host_->Drop(lease.partition);
      store_->ReleaseLease(lease).IgnoreError();
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    held_[lease.partition] = lease;
    owners_.erase(lease.partition);
    ++taken;
  }
  spdlog::info("cluster: node={} took {} partitions (recovered together in {} ms)", options_.node_id, taken, ms.count());
  if (std::chrono::steady_clock::now() - last_renewal_ > options_.lease / 4) {
    RenewAll();
  }
}

}  // namespace stepflow::engine::cluster
