#pragma once
// Partition leases of a node in a cluster (issue 14): several `stepflow server` nodes over one PostgreSQL
// store share its logical partitions, each owned by one node under a lease held in the database
// (storage/postgres/postgres_store.h). The manager keeps this node's heartbeat row, holds a fair share of the
// partitions (ceil(partitions / live nodes)), renews its leases well inside their timeout, takes over
// partitions whose lease expired, gives back what is beyond its share when nodes join, and releases every
// lease on Stop. Safety does not rest on timing: every commit of a partition carries its lease epoch
// (storage::LeaseFence) and the store refuses it once another node took the partition over; the manager only
// decides which partitions to try to hold.
//
// Thread-safety: thread-safe. The rounds run on the manager's own thread; PartitionHost calls are made from it
// (or from the thread calling Start/Stop), Adopt from a helper thread while the round's thread renews the
// leases, never with the manager's lock held.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "storage/postgres/postgres_store.h"

namespace stepflow::engine::cluster {

struct ClusterOptions {
  // This node's name in the lease and node tables. Required; at most kMaxNodeIdBytes.
  std::string node_id;
  // host:port at which the other nodes reach this node's gRPC API (forwarded calls). Required.
  std::string advertise;
  // How long a lease and a heartbeat last without renewal: after a node's kill its partitions move within
  // about this time. Leases are renewed every lease / 4. Default: 10 s.
  std::chrono::milliseconds lease{10000};
};

inline constexpr std::size_t kMaxNodeIdBytes = 200;

// What the lease manager asks of the engine.
class PartitionHost {
 public:
  virtual ~PartitionHost() = default;
  // Recovers the partitions' running executions and timers from the store, then serves each with every commit
  // fenced by its lease. Several at once (a node starting, or taking over a dead node's share): what they
  // share is read once (the running-executions index, split by partition) and they recover side by side.
  // Returns one status per lease, in order, once each serves or failed (the manager then gives that lease
  // back). The manager renews the leases meanwhile.
  virtual std::vector<absl::Status> Adopt(const std::vector<storage::PartitionLease>& leases) = 0;
  // Stops serving the partition and forgets its state in memory; returns once that is done.
  virtual void Drop(std::uint32_t partition) = 0;
};

// The owner of a partition as this node last read it.
struct PartitionOwner {
  std::uint32_t partition = 0;
  std::string node_id;  // "" when nobody holds a live lease
  std::string address;  // the owner's advertised address ("" when unknown)
  std::uint64_t epoch = 0;
  std::int64_t expires_in_ms = 0;
};

class LeaseManager {
 public:
  // Not owned; both must outlive the manager. REQUIRES: partitions >= 1.
  LeaseManager(storage::PostgresStore* store, PartitionHost* host, int partitions, ClusterOptions options);
  ~LeaseManager();

  // Runs the first round on the calling thread (so that a node that opens alone serves every partition
  // when Start returns), then the rounds on the manager's thread.
  void Start();
  // Stops the rounds. Idempotent. Leases stay held until ReleaseAll.
  void StopRounds();
  // Drops every partition held (PartitionHost::Drop) and releases its lease, and removes this node's row.
  void ReleaseAll();

  // A partition's commit under `lost.epoch` was refused (the partition already forgot its state): the manager
  // forgets the lease if it still holds it at that epoch. Any thread; never blocks on the host.
  void LeaseLost(const storage::PartitionLease& lost);

  // Partitions this node holds, and live nodes seen in the last round.
  int owned() const;
  int nodes_seen() const;
  // Who owns `partition`, as of the last round (this node's own leases always known); when that round saw no
  // owner, the lease and node tables are read again now (a partition taken since).
  PartitionOwner OwnerOf(std::uint32_t partition);
  // The advertised addresses of the other nodes that held partitions in the last round (each once): the
  // nodes whose matchers may hold tasks (engine/api/poll_pump.h fans idle polls out to them). Never reads
  // the store.
  std::vector<std::string> PeerAddresses() const;
  const ClusterOptions& options() const { return options_; }

  // The fair share: partitions / nodes, rounded up. REQUIRES: nodes >= 1.
  static int FairShare(int partitions, int nodes);

 private:
  void Loop();
  void Round();
  // Reads the node and lease tables into owners_ and nodes_seen_; returns the live nodes (id -> address) and
  // the partitions free to take (no live lease, or this node's own unexpired lease it does not hold).
  absl::Status ReadTables(std::map<std::string, std::string>& live, std::set<std::uint32_t>& free);
  PartitionOwner CachedOwner(std::uint32_t partition) const;
  void TakeLost();
  void RenewAll();
  void Give(std::uint32_t partition);
  // Has the host adopt `leases` (acquired this round), renewing them and the leases held until it answers;
  // holds those adopted, gives back the others.
  void AdoptAll(const std::vector<storage::PartitionLease>& leases);

  storage::PostgresStore* store_;
  PartitionHost* host_;
  const int partitions_;
  const ClusterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                  // guarded by mu_
  std::map<std::uint32_t, storage::PartitionLease> held_;  // guarded by mu_
  std::map<std::uint32_t, std::uint64_t> lost_;            // guarded by mu_: partition -> epoch lost
  std::map<std::uint32_t, PartitionOwner> owners_;         // guarded by mu_: the last round's view
  int nodes_seen_ = 0;                                     // guarded by mu_
  std::chrono::steady_clock::time_point last_renewal_;     // manager thread only
  // Manager thread only: when a heartbeat last failed (the database out of reach); for a lease's time after it,
  // rounds take and give back nothing.
  std::optional<std::chrono::steady_clock::time_point> last_store_failure_;
  std::thread thread_;
};

}  // namespace stepflow::engine::cluster
