// DurableEngine in cluster mode (engine/cluster/lease_manager.h): the partitions this node serves follow the
// leases it holds. Adopting a partition recovers its executions from the store; dropping one forgets them.
#include <future>
#include <map>
#include <set>
#include <tuple>
#include <unistd.h>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "engine/cluster/owner_payload.h"
#include "engine/durable_engine.h"
#include "engine/errors.h"
#include "engine/logical_partitions.h"
#include "engine/records.h"
#include "spdlog/spdlog.h"

namespace stepflow::engine {
namespace {

// The longest a wait sleeps on commit watchers before re-reading the store in cluster mode: the execution's
// commits may be made by another node, whose commits wake no watcher here.
constexpr common::EpochMillis kClusterWaitSliceMs = 200;

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "localhost";
  }
  return name;
}

}  // namespace

absl::Status DurableEngine::StartCluster(storage::PostgresStore* store) {
  cluster::ClusterOptions cluster_options;
  cluster_options.node_id = options_.cluster_node_id.empty() ? HostName() : options_.cluster_node_id;
  cluster_options.advertise = options_.cluster_advertise;
  cluster_options.lease = std::chrono::milliseconds(options_.cluster_lease_ms);
  if (cluster_options.node_id.size() > cluster::kMaxNodeIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the node id is ", cluster_options.node_id.size(),
                                                   " bytes; at most ", cluster::kMaxNodeIdBytes, " are allowed"));
  }
  if (cluster_options.lease.count() < 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("the lease timeout is ", cluster_options.lease.count(), " ms; at least 100 ms is needed"));
  }
  // Other nodes may change a state machine at any time: every start reads its head from the store.
  definitions_->StopCachingHeads();
  // Before the partitions run: their threads may report a lost lease to it.
  leases_ = std::make_unique<cluster::LeaseManager>(store, static_cast<cluster::PartitionHost*>(this),
                                                    logical_partitions_, cluster_options);
  for (std::size_t p = 0; p < partitions_.size(); ++p) {
    // Not served until adopted: a commit under epoch 0 is always refused (no lease is granted at 0).
    partitions_[p]->SetFence(storage::LeaseFence{static_cast<std::uint32_t>(p), 0});
    partitions_[p]->Run();
  }
  leases_->Start();
  // The start-up recovery line every store logs (tests and operators read it): what the first round adopted.
  spdlog::info("recovered {} running executions, {} pending timers, {} quarantined", adopted_running_.load(),
               adopted_timers_.load(), quarantined_count_.load());
  spdlog::info("engine open: cluster node={} advertise={} holds {} of {} partitions ({} nodes seen), lease {} ms, "
               "PostgreSQL store, sync_writes={}",
               cluster_options.node_id, cluster_options.advertise, leases_->owned(), logical_partitions_,
               leases_->nodes_seen(), cluster_options.lease.count(), options_.sync_writes);
  return absl::OkStatus();
}

std::vector<absl::Status> DurableEngine::Adopt(const std::vector<storage::PartitionLease>& leases) {
  std::vector<absl::Status> statuses(leases.size());
  std::map<std::uint32_t, std::size_t> adopting;  // partition -> index in `leases`
  for (std::size_t i = 0; i < leases.size(); ++i) {
    const std::uint32_t p = leases[i].partition;
    if (p >= partitions_.size()) {
      statuses[i] = absl::InvalidArgumentError(absl::StrCat("partition ", p, " is beyond the store's ", partitions_.size()));
    } else if (!adopting.emplace(p, i).second) {
      statuses[i] = absl::InvalidArgumentError(absl::StrCat("partition ", p, " is adopted twice in one call"));
    }
  }
  // The leases are ours from here on: the previous owners' commits are refused, so the store holds each
  // partition's final state as they left it. One read of the running-executions index, split by partition
  // (a node adopting all 64 partitions at start-up reads it once, not 64 times).
  std::map<std::uint32_t, std::vector<std::string>> running;
  std::map<std::string, common::EpochMillis> starts;
  const std::string prefix = IndexPrefix("", sm::ExecutionStatusName(sm::ExecutionStatus::kRunning));
  absl::Status scanned =
      store_->Scan(storage::Column::kIndexes, prefix, "", false, [&](std::string_view key, std::string_view) {
        std::string id(IndexKeyExecutionId(prefix, key));
        if (id.empty()) {
          return true;
        }
        const auto p = static_cast<std::uint32_t>(LogicalPartitionOf(id, logical_partitions_));
        if (adopting.count(p) != 0) {
          starts[id] = IndexKeyStart(prefix, key);
          running[p].push_back(std::move(id));
        }
        return true;
      });
  if (!scanned.ok()) {
    for (const auto& [p, i] : adopting) {
      statuses[i] = scanned;
    }
    return statuses;
  }
  // Each partition recovers on its own thread; they run side by side.
  struct Outcome {
    absl::Status status;
    std::vector<std::pair<std::string, absl::Status>> unrecoverable;
    std::size_t timers = 0;
  };
  std::map<std::uint32_t, std::future<Outcome>> answers;
  for (const auto& [p, i] : adopting) {
    absl::StatusOr<std::unique_ptr<ExecutionCountsWriter>> counts =
        ExecutionCountsWriter::Load(*store_, static_cast<int>(p));
    if (!counts.ok()) {
      statuses[i] = counts.status();
      continue;
    }
    auto promise = std::make_shared<std::promise<Outcome>>();
    std::future<Outcome> answer = promise->get_future();
    Partition& partition = *partitions_[p];
    ExecutionCountsWriter* writer = execution_counts_[p].get();
    const std::vector<std::string>* ids = &running[p];  // `running` outlives the answers waited for below
    std::atomic<std::uint64_t>* serving = &serving_[p];
    if (!partition.Post([&partition, ids, writer, counts = *std::move(counts), lease = leases[i], promise,
                         serving]() mutable {
          partition.ForgetAll();
          *writer = std::move(*counts);  // the previous owner's counts, as committed
          partition.SetFence(storage::LeaseFence{lease.partition, lease.epoch});
          // Served from here on, before Recover re-dispatches the tasks: a poll that takes one at once posts its
          // start to this thread, where it runs after the recovery (set later, the start was refused as "no
          // owner" and the task, taken from the matcher, lost).
          serving->store(lease.epoch);
          Outcome outcome;
          std::set<std::tuple<common::EpochMillis, std::string, std::uint64_t>> timers;
          std::set<std::string> loaded_before;
          outcome.status = partition.Recover(*ids, &timers, &outcome.unrecoverable, &loaded_before);
          outcome.timers = timers.size();
          promise->set_value(std::move(outcome));
        })) {
      statuses[i] = errors::ShuttingDown();
      continue;
    }
    answers.emplace(p, std::move(answer));
  }
  for (auto& [p, answer] : answers) {
    Outcome outcome = answer.get();
    const storage::PartitionLease& lease = leases[adopting[p]];
    Quarantine(outcome.unrecoverable, starts);
    if (!outcome.status.ok()) {
      // Executions the store failed to give are reloaded by the partition later (Partition::Recover).
      spdlog::error("cluster: partition {}: a storage error left executions to be replayed later: {}", p,
                    std::string(outcome.status.message()));
    }
    if (p == 0) {
      // This node writes the state machines from now on (their guard is partition 0's lease): the heads it
      // cached may predate the previous writer's changes.
      definitions_->ForgetCachedHeads();
    }
    const std::size_t served = running[p].size() - outcome.unrecoverable.size();
    adopted_running_ += served;
    adopted_timers_ += outcome.timers;
    spdlog::info("cluster: partition {} serves {} running executions at epoch {}", p, served, lease.epoch);
  }
  return statuses;
}

void DurableEngine::Drop(std::uint32_t partition) {
  if (partition >= partitions_.size()) {
    return;
  }
  serving_[partition] = 0;
  Partition& p = *partitions_[partition];
  std::promise<void> done;
  std::future<void> dropped = done.get_future();
  if (!p.Post([&p, partition, &done] {
        p.SetFence(storage::LeaseFence{partition, 0});
        p.ForgetAll();
        done.set_value();
      })) {
    return;  // stopped: nothing runs on it any more
  }
  dropped.wait();
}

absl::Status DurableEngine::RefuseIfServedElsewhere(std::string_view execution_id) const {
  if (leases_ == nullptr) {
    return absl::OkStatus();
  }
  const auto p = static_cast<std::uint32_t>(LogicalPartitionOf(execution_id, logical_partitions_));
  if (serving_[p].load() != 0) {
    return absl::OkStatus();
  }
  cluster::PartitionOwner owner = leases_->OwnerOf(p);
  if (owner.node_id.empty() || owner.address.empty()) {
    return absl::UnavailableError(absl::StrCat("ServiceUnavailable: partition ", p,
                                               " has no owner at the moment (its lease is being taken over): "
                                               "try again shortly"));
  }
  absl::Status s = absl::UnavailableError(absl::StrCat("ServiceUnavailable: partition ", p, " is served by node ",
                                                       owner.node_id, " at ", owner.address));
  s.SetPayload(cluster::kOwnerAddressPayload, absl::Cord(owner.address));
  return s;
}

absl::Status DurableEngine::RefuseIfDefinitionsElsewhere() const {
  if (leases_ == nullptr || serving_[0].load() != 0) {
    return absl::OkStatus();
  }
  cluster::PartitionOwner owner = leases_->OwnerOf(0);
  if (owner.node_id.empty() || owner.address.empty()) {
    return absl::UnavailableError(
        "ServiceUnavailable: state machines are written by the owner of partition 0, which has no owner at the "
        "moment: try again shortly");
  }
  absl::Status s = absl::UnavailableError(absl::StrCat(
      "ServiceUnavailable: state machines are written by the owner of partition 0, node ", owner.node_id, " at ",
      owner.address));
  s.SetPayload(cluster::kOwnerAddressPayload, absl::Cord(owner.address));
  return s;
}

std::vector<std::string> DurableEngine::PeerAddresses() {
  return leases_ == nullptr ? std::vector<std::string>() : leases_->PeerAddresses();
}

common::EpochMillis DurableEngine::WaitSlice(common::EpochMillis deadline) const {
  if (leases_ == nullptr) {
    return deadline;
  }
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return std::min<common::EpochMillis>(deadline, now + kClusterWaitSliceMs);
}

}  // namespace stepflow::engine
