#pragma once
// The cluster figures' servers (bench/bench.sh ONLY=cluster; server_bench and task_bench --nodes N): N
// `stepflow server` nodes over one database of a private PostgreSQL (storage/postgres/testing/private_postgres.h,
// the one the tests use), each on a fixed loopback port with its own node id, started together. Start returns
// once every node holds its share of the logical partitions (its stepflow_cluster_partitions_owned gauge), so
// that a measurement does not include the partitions moving between nodes at start-up.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "storage/postgres/testing/private_postgres.h"
#include "tests/integration/process.h"
#include "tests/integration/worker_process.h"

namespace stepflow::bench {

// Most nodes a benchmark starts (each is a server process on this machine).
inline constexpr int kMaxBenchNodes = 16;

class ClusterNodes {
 public:
  // Creates a database in `postgres` and starts `n` nodes on it (data directories under `dir`), each with
  // `extra` arguments, over a store of `partitions` logical partitions; waits (at most 60 s) until every
  // partition is held, every node holds some and none more than partitions / n (rounded up).
  // REQUIRES: 1 <= n <= kMaxBenchNodes; partitions >= n; `postgres` and `dir` outlive the nodes.
  static absl::StatusOr<std::unique_ptr<ClusterNodes>> Start(int n, int partitions,
                                                             storage::testing::PrivatePostgres& postgres,
                                                             const itest::TempDir& dir,
                                                             const std::vector<std::string>& extra) {
    if (n < 1 || n > kMaxBenchNodes) {
      return absl::InvalidArgumentError(absl::StrCat("--nodes must be 1 to ", kMaxBenchNodes, ", got ", n));
    }
    if (partitions < n) {
      return absl::InvalidArgumentError(absl::StrCat(n, " nodes need at least as many partitions, not ", partitions));
    }
    absl::StatusOr<std::string> db = postgres.CreateDatabase();
    if (!db.ok()) {
      return db.status();
    }
    std::unique_ptr<ClusterNodes> cluster(new ClusterNodes());
    cluster->postgres_pid_ = postgres.pid();
    cluster->partitions_ = partitions;
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<int> port = itest::PickFreePort();
      if (!port.ok()) {
        return port.status();
      }
      std::vector<std::string> args = extra;
      for (const std::string& a : {std::string("--store"), "postgres:" + *db, std::string("--grpc-address"),
                                   absl::StrCat("127.0.0.1:", *port), std::string("--node-id"),
                                   absl::StrCat("bench-node-", i), std::string("--logical-partitions"),
                                   std::to_string(partitions)}) {
        args.push_back(a);
      }
      // ServerProcess writes the node's log beside its data directory.
      const std::string node_dir = absl::StrCat(dir.path(), "/node-", i);
      std::error_code ec;
      std::filesystem::create_directories(node_dir, ec);
      if (ec) {
        return absl::InternalError(absl::StrCat("cannot create ", node_dir, ": ", ec.message()));
      }
      absl::StatusOr<std::unique_ptr<itest::ServerProcess>> s = itest::ServerProcess::Start(node_dir + "/data", args);
      if (!s.ok()) {
        return s.status();
      }
      cluster->nodes_.push_back(std::move(*s));
    }
    if (absl::Status spread = cluster->WaitForSpread(); !spread.ok()) {
      return spread;
    }
    return cluster;
  }

  ~ClusterNodes() { Stop(); }

  // Stops every node (SIGTERM: leases released). Idempotent.
  void Stop() {
    for (auto& node : nodes_) {
      if (node != nullptr) {
        node->Stop(SIGTERM);
        node.reset();
      }
    }
  }

  int size() const { return static_cast<int>(nodes_.size()); }
  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    for (const auto& node : nodes_) {
      out.push_back(node->address());
    }
    return out;
  }
  std::vector<std::string> http_addresses() const {
    std::vector<std::string> out;
    for (const auto& node : nodes_) {
      out.push_back(node->http_address());
    }
    return out;
  }
  // CPU seconds (user + system) of every node, summed.
  double ServerCpuSeconds() const {
    double total = 0;
    for (const auto& node : nodes_) {
      total += std::max(0.0, ProcessCpuSeconds(node->pid()));
    }
    return total;
  }
  // CPU seconds of the PostgreSQL server and its running backends (the nodes' sessions).
  double DatabaseCpuSeconds() const { return ProcessTreeCpuSeconds(postgres_pid_); }

 private:
  ClusterNodes() = default;

  absl::Status WaitForSpread() {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    for (;;) {
      double total = 0;
      double least = partitions_;
      double most = 0;
      for (const auto& node : nodes_) {
        const double owned = MetricValue(node->http_address(), "stepflow_cluster_partitions_owned");
        total += std::max(0.0, owned);
        least = std::min(least, owned);  // -1 (unread) keeps waiting
        most = std::max(most, owned);
      }
      // Every partition held, every node holding some and none more than its share (partitions / nodes rounded
      // up): what the lease rounds settle on (a node below its share finds no free partition to take).
      if (least >= 1 && most <= (partitions_ + size() - 1) / size() && total >= partitions_) {
        return absl::OkStatus();
      }
      if (Clock::now() > deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("the ", size(), " nodes did not share the partitions within 60 s (", total,
                         " held, the least by one node ", least, ")"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  std::vector<std::unique_ptr<itest::ServerProcess>> nodes_;
  pid_t postgres_pid_ = -1;
  int partitions_ = 0;
};

}  // namespace stepflow::bench
