// Operating a cluster over PostgreSQL (issue 14): the database restarted under load, starts without a name, and a
// new database opened by nodes racing their first open.
//
// Restart: three nodes (tests/integration/private_postgres_cluster.h) serve a loader; PostgreSQL is stopped (fast
// shutdown) and kept down for longer than the lease, then started again. Calls made during the outage end with
// a clear Unavailable error before their deadline, on every node; the nodes (never restarted) reconnect, hold
// every partition again, and every acknowledged execution finishes exactly once with `stepflow run`'s output.
//
// First open: three nodes started at the same moment on an empty database, each asking for a different
// partition count, agree on one count and on one task token key (a token one node issued is accepted by
// another, as is a page token).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <regex>
#include <set>

#include "storage/postgres/testing/postgres_suite.h"
#include "tests/integration/private_postgres_cluster.h"

namespace stepflow::itest {
namespace {

// Longer than the lease (kLeaseSeconds): every lease has expired when the database comes back.
constexpr auto kOutage = std::chrono::seconds(2 * kLeaseSeconds + 1);
class ClusterOpsTest : public PrivatePostgresCluster {
 protected:
  // Partition -> "owner@epoch" of the live leases, as `stepflow cluster status` shows them.
  std::map<std::int64_t, std::string> Owners() {
    std::map<std::int64_t, std::string> owners;
    json::value status = ClusterStatus();
    if (!status.is_object()) {
      return owners;
    }
    for (const json::value& l : status.at("partitions").as_array()) {
      if (l.at("live").as_bool()) {
        owners[l.at("partition").to_number<std::int64_t>()] =
            absl::StrCat(std::string(l.at("owner").as_string()), "@", l.at("epoch").to_number<std::int64_t>());
      }
    }
    return owners;
  }

  // Partitions held by live nodes, as `stepflow cluster status` shows them.
  std::size_t PartitionsHeld() {
    json::value status = ClusterStatus();
    if (!status.is_object()) {
      return 0;
    }
    std::size_t held = 0;
    for (const json::value& n : status.at("nodes").as_array()) {
      if (n.at("live").as_bool()) {
        held += n.at("partitions").as_array().size();
      }
    }
    return held;
  }
};

TEST_F(ClusterOpsTest, PostgresRestartedUnderLoadLosesNothingAndTheNodesCarryOn) {
  CreateWorkflow();
  std::vector<pid_t> pids;
  for (int i = 0; i < kNodes; ++i) {
    pids.push_back(nodes_[i]->pid());
  }
  StartLoad();
  ASSERT_TRUE(WaitUntil([&] { return Acknowledged() >= 40; }, 60s));
  // The partitions settled over the three nodes (each holds two or three, all eight held): every lease taken is
  // also served (a lease is written before its node has adopted the partition; an outage that cuts an adoption
  // short leaves the lease to expire and be taken again, at the next epoch).
  std::map<std::int64_t, std::string> before;
  ASSERT_TRUE(WaitUntil(
      [&] {
        before = Owners();
        std::map<std::string, int> per_node;
        for (const auto& [p, owner] : before) {
          ++per_node[owner.substr(0, owner.find('@'))];
        }
        int served = 0;
        for (int i = 0; i < kNodes; ++i) {
          served += Gauge(i, "stepflow_cluster_partitions_owned");
        }
        return before.size() == 8 && per_node.size() == static_cast<std::size_t>(kNodes) && served == 8 &&
               Owners() == before;
      },
      30s));
  std::string some_arn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    some_arn = acknowledged_.back().second;
  }

  postgres_->Shutdown();
  const auto down = std::chrono::steady_clock::now();
  const std::size_t at_outage = Acknowledged();
  // Calls on every node during the outage: each ends Unavailable (the store cannot be reached), not at its
  // deadline and not with the node gone.
  for (int i = 0; i < kNodes; ++i) {
    std::shared_ptr<client::Client> c;
    {
      std::lock_guard<std::mutex> lock(clients_mu_);
      c = clients_[i];
    }
    absl::StatusOr<v1::Execution> started =
        c->StartExecution("cl-flow", R"({"i":-1})", absl::StrCat("during-outage-", i));
    EXPECT_EQ(started.status().code(), absl::StatusCode::kUnavailable)
        << "node " << i << ": a start during the outage: " << started.status();
    std::fprintf(stderr, "node %d, a start during the outage: %s\n", i, started.status().ToString().c_str());
    // A read is answered from the serving node's memory when it can be, else Unavailable as well.
    absl::StatusOr<v1::Execution> described = c->DescribeExecution(some_arn);
    EXPECT_TRUE(described.ok() || absl::IsUnavailable(described.status()))
        << "node " << i << ": a read during the outage: " << described.status();
  }
  std::this_thread::sleep_until(down + kOutage);
  ASSERT_TRUE(postgres_->Resume().ok()) << postgres_->log();
  std::fprintf(stderr, "PostgreSQL was down for %lld ms; %zu executions acknowledged before\n",
               static_cast<long long>(
                   std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - down)
                       .count()),
               at_outage);

  // The same node processes hold every partition again and take new work.
  ASSERT_TRUE(WaitUntil([&] { return PartitionsHeld() == 8; }, 30s)) << json::serialize(ClusterStatus());
  ASSERT_TRUE(WaitUntil([&] { return Acknowledged() >= at_outage + 40; }, 60s));
  // Each node renewed its own leases, expired during the outage, before any node took partitions: none moved
  // (the first node back used to see itself alone and take every expired lease from the others).
  EXPECT_EQ(Owners(), before);
  StopLoad();
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(nodes_[i]->pid(), pids[i]);
    EXPECT_TRUE(WaitUntil([&] { return Gauge(i, "stepflow_cluster_nodes_seen") == kNodes; }, 10s)) << "node " << i;
  }
  ExpectEveryExecutionFinishedOnce();
  // Nothing started during the outage was acknowledged; whatever of it the database kept runs like the rest.
  // TearDown checks that every node still exits 0 on SIGTERM.
}

// A start without a name gets one from the node it reaches, of a partition that node serves: the call is not
// forwarded (before, every node it was forwarded to drew another name, hence another partition, and a third of
// such starts over three nodes ran out of hops).
TEST_F(ClusterOpsTest, StartsWithoutANameAreServedByTheNodeTheyReach) {
  CreateWorkflow();
  ASSERT_TRUE(WaitUntil(
      [&] {
        json::value status = ClusterStatus();
        int serving = 0;
        for (const json::value& n : status.at("nodes").as_array()) {
          serving += n.at("live").as_bool() && n.at("partitions").as_array().size() >= 2 ? 1 : 0;
        }
        return serving == kNodes && PartitionsHeld() == 8;
      },
      30s));
  for (int i = 0; i < kNodes; ++i) {
    for (int k = 0; k < 20; ++k) {
      const int n = 1000 + i * 20 + k;
      absl::StatusOr<v1::Execution> e = clients_[i]->StartExecution("cl-flow", absl::StrCat(R"({"i":)", n, "}"), "");
      ASSERT_TRUE(e.ok()) << "node " << i << ": " << e.status();
      std::lock_guard<std::mutex> lock(mu_);
      acknowledged_.emplace_back(n, e->arn());
    }
  }
  ExpectEveryExecutionFinishedOnce();
}

// A Task state: the task's token is minted by the node serving the execution, and may be reported to any node.
constexpr char kTaskWorkflow[] = R"({"StartAt":"Work","States":{
  "Work":{"Type":"Task","Resource":"activity:first-open","End":true}}})";

class ClusterFirstOpenTest : public storage::testing::PostgresSuite {
 protected:
  void TearDown() override {
    clients_.clear();
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      EXPECT_EQ(nodes_[i]->Stop(SIGTERM), 0) << "node " << i << " did not exit 0 after SIGTERM";
      if (HasFailure()) {
        std::fprintf(stderr, "---- node %zu log ----\n%s\n", i, nodes_[i]->log().c_str());
      }
    }
  }

  // Calls `call` on each node in turn from `first` while the answer is Unavailable (no owner yet), for 30 s.
  template <typename T>
  absl::StatusOr<T> OnAnyNode(int first, const std::function<absl::StatusOr<T>(client::Client&)>& call) {
    const auto end = std::chrono::steady_clock::now() + 30s;
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<T> result = call(*clients_[(first + attempt) % clients_.size()]);
      if (!absl::IsUnavailable(result.status()) || std::chrono::steady_clock::now() >= end) {
        return result;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  TempDir tmp_;
  std::vector<std::unique_ptr<StepflowProcess>> nodes_;
  std::vector<std::unique_ptr<client::Client>> clients_;
};

TEST_F(ClusterFirstOpenTest, NodesOpeningANewDatabaseTogetherAgreeOnItsSettings) {
  CreateDatabaseOrSkip("a new database opened by racing nodes is");
  if (IsSkipped() || HasFatalFailure()) {
    return;
  }
  const int asked[kNodes] = {8, 12, 16};  // each node's --logical-partitions: one of them becomes the store's
  std::vector<std::string> addresses;
  absl::StatusOr<std::vector<int>> ports = PickFreePorts(2 * kNodes);  // gRPC and HTTP of each node
  ASSERT_TRUE(ports.ok()) << ports.status();
  // Every node is spawned before any is waited for: their first opens of the empty database race.
  for (int i = 0; i < kNodes; ++i) {
    const int grpc_port = (*ports)[2 * i];
    const int http_port = (*ports)[2 * i + 1];
    addresses.push_back(absl::StrCat("127.0.0.1:", grpc_port));
    absl::StatusOr<std::unique_ptr<StepflowProcess>> node = StepflowProcess::Spawn(
        {"server", "--data-dir", absl::StrCat(tmp_.path(), "/node-", i), "--store", "postgres:" + conninfo_,
         "--grpc-address", addresses.back(), "--http-address", absl::StrCat("127.0.0.1:", http_port), "--node-id",
         absl::StrCat("node-", i), "--lease-seconds", std::to_string(kLeaseSeconds), "--logical-partitions",
         std::to_string(asked[i]), "--durability", "async"},
        {}, absl::StrCat(tmp_.path(), "/node-", i, ".log"));
    ASSERT_TRUE(node.ok()) << node.status();
    nodes_.push_back(std::move(*node));
  }
  // Each node's open line names the store's partition count: the same for all.
  static const std::regex kOpenLine(R"(engine open: cluster node=\S+ .* of (\d+) partitions)");
  std::set<int> counts;
  for (int i = 0; i < kNodes; ++i) {
    std::smatch m;
    std::string log;
    ASSERT_TRUE(WaitUntil(
        [&] {
          log = nodes_[i]->log();
          return std::regex_search(log, m, kOpenLine) && log.find("stepflow server listening on") != std::string::npos;
        },
        60s))
        << "node " << i << " did not open:\n" << log;
    counts.insert(std::stoi(m[1]));
    absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(addresses[i], 10s);
    ASSERT_TRUE(c.ok()) << c.status();
    clients_.push_back(std::move(*c));
  }
  ASSERT_EQ(counts.size(), 1u) << "the nodes opened the store with different partition counts";
  EXPECT_THAT((std::set<int>{8, 12, 16}), ::testing::Contains(*counts.begin()));

  // The partitions settle: every one held, every node holding some and none more than its share (the first
  // nodes to open took more, and give the others theirs). Tasks are started after that, so that none is queued
  // in a partition that then moves.
  const std::size_t partitions = static_cast<std::size_t>(*counts.begin());
  const std::size_t share = (partitions + kNodes - 1) / kNodes;
  json::value status;
  ASSERT_TRUE(WaitUntil(
      [&] {
        CliResult r = RunCli({"cluster", "status", "--store", "postgres:" + conninfo_});
        status = r.exit_code == 0 ? Json(r.out) : json::value();
        if (!status.is_object()) {
          return false;
        }
        int serving = 0;
        std::size_t held = 0;
        for (const json::value& n : status.at("nodes").as_array()) {
          const std::size_t mine = n.at("partitions").as_array().size();
          serving += n.at("live").as_bool() && mine >= 1 && mine <= share ? 1 : 0;
          held += mine;
        }
        return serving == kNodes && held == partitions;
      },
      30s))
      << json::serialize(status);
  absl::StatusOr<v1::StateMachine> sm = OnAnyNode<v1::StateMachine>(
      0, [&](client::Client& c) { return c.CreateStateMachine("first-open", kTaskWorkflow, v1::STANDARD); });
  ASSERT_TRUE(sm.ok()) << sm.status();
  // One task per node at least: executions spread over the partitions, hence over the nodes.
  std::vector<std::string> arns;
  for (int n = 0; n < 12; ++n) {
    absl::StatusOr<v1::Execution> e = OnAnyNode<v1::Execution>(n % kNodes, [&](client::Client& c) {
      return c.StartExecution("first-open", absl::StrCat(R"({"n":)", n, "}"), absl::StrCat("open-", n));
    });
    ASSERT_TRUE(e.ok()) << e.status();
    arns.push_back(e->arn());
  }
  // Each task is taken from the node that serves it and reported to the next node: the token that node
  // minted verifies there (one key), and the report reaches the execution wherever it runs.
  std::set<int> issuers;
  int reported = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int i = 0; i < kNodes; ++i) {
          absl::StatusOr<v1::PollTaskResponse> task = clients_[i]->PollTask("first-open", "first-open-test", 1s);
          if (!task.ok() || task->task_token().empty()) {
            continue;
          }
          absl::Status done = clients_[(i + 1) % kNodes]->CompleteTask(task->task_token(), R"({"done":true})");
          EXPECT_TRUE(done.ok()) << "a token node " << i << " issued, reported to node " << (i + 1) % kNodes << ": "
                                 << done;
          issuers.insert(i);
          ++reported;
        }
        return reported == static_cast<int>(arns.size());
      },
      60s))
      << reported << " of " << arns.size() << " tasks reported";
  EXPECT_GE(issuers.size(), 2u) << "every task came from one node: no token crossed between two keys";
  for (const std::string& arn : arns) {
    v1::Execution e;
    ASSERT_TRUE(WaitUntil(
        [&] {
          absl::StatusOr<v1::Execution> d = OnAnyNode<v1::Execution>(
              0, [&](client::Client& c) { return c.DescribeExecution(arn); });
          if (d.ok()) {
            e = *d;
          }
          return d.ok() && e.status() != v1::RUNNING;
        },
        30s));
    EXPECT_EQ(e.status(), v1::SUCCEEDED) << arn;
  }
  // A page token of one node is a page token of every other (it is signed with a key derived from the same one).
  v1::ListExecutionsRequest first_page;
  first_page.set_state_machine("first-open");
  first_page.set_page_size(1);
  absl::StatusOr<v1::ListExecutionsResponse> page = clients_[0]->ListExecutions(first_page);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_FALSE(page->next_page_token().empty());
  for (int i = 1; i < kNodes; ++i) {
    v1::ListExecutionsRequest next = first_page;
    next.set_page_token(page->next_page_token());
    absl::StatusOr<v1::ListExecutionsResponse> other = clients_[i]->ListExecutions(next);
    EXPECT_TRUE(other.ok()) << "node " << i << " refused node 0's page token: " << other.status();
  }
}

}  // namespace
}  // namespace stepflow::itest
