#pragma once
// The fixture of the cluster tests (issue 14, part 3): three `stepflow server` nodes on loopback over a private
// PostgreSQL (storage/postgres/testing/private_postgres.h; run as `nobody` when root), with short partition
// leases, a 1 s workflow (kClusterWorkflow), a loader starting executions on the nodes in turn, and the check
// that every acknowledged execution finished exactly once with the output `stepflow run` computes. Calls go to
// any node; one that answers Unavailable (no owner yet, a node down) is tried again on the next. Node logs are
// printed when a test fails. Tests skip when PostgreSQL is not installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/postgres/testing/private_postgres.h"
#include "tests/integration/worker_fixture.h"

namespace stepflow::itest {

using namespace std::chrono_literals;

inline constexpr int kNodes = 3;
inline constexpr int kLeaseSeconds = 2;
inline constexpr int kLogicalPartitions = 8;
// A Pass that computes from the input, a 1 s Wait, a Pass: `stepflow run` gives {"i":I,"next":I+1}.
inline constexpr char kClusterWorkflow[] = R"json({"StartAt":"Add","States":{
  "Add":{"Type":"Pass","Parameters":{"i.$":"$.i","next.$":"States.MathAdd($.i, 1)"},"Next":"Pause"},
  "Pause":{"Type":"Wait","Seconds":1,"Next":"Done"},
  "Done":{"Type":"Pass","End":true}}})json";

class PrivatePostgresCluster : public ::testing::Test {
 public:
  // Node i's client (nullptr once the node was stopped). Any thread.
  std::shared_ptr<client::Client> ClientOf(int i) {
    std::lock_guard<std::mutex> lock(clients_mu_);
    return clients_[i];
  }

 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<storage::testing::PrivatePostgres>> pg =
        storage::testing::PrivatePostgres::Start();
    if (absl::IsNotFound(pg.status())) {
      GTEST_SKIP() << "PostgreSQL is not installed, the cluster is not tested: " << pg.status();
    }
    ASSERT_TRUE(pg.ok()) << pg.status();
    postgres_ = std::move(*pg);
    absl::StatusOr<std::string> db = postgres_->CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.status();
    conninfo_ = *db;
    absl::StatusOr<std::vector<int>> ports = PickFreePorts(kNodes);
    ASSERT_TRUE(ports.ok()) << ports.status();
    ports_ = *ports;
    nodes_.resize(kNodes);
    clients_.resize(kNodes);
    for (int i = 0; i < kNodes; ++i) {
      StartNode(i);
    }
    Expected(0);  // `stepflow run`'s output, before any load
  }

  void TearDown() override {
    if (postgres_ == nullptr) {
      return;
    }
    StopLoad();
    for (int i = 0; i < kNodes; ++i) {
      if (nodes_[i] != nullptr) {
        {
          std::lock_guard<std::mutex> lock(clients_mu_);
          clients_[i].reset();
        }
        EXPECT_EQ(nodes_[i]->Stop(SIGTERM), 0) << "node " << i << " did not exit 0 after SIGTERM";
      }
    }
    if (HasFailure()) {
      for (int i = 0; i < kNodes; ++i) {
        std::fprintf(stderr, "---- node %d log ----\n%s\n", i, logs_[i].c_str());
        if (nodes_[i] != nullptr) {
          std::fprintf(stderr, "%s\n", nodes_[i]->log().c_str());
        }
      }
    }
  }

  void StartNode(int i) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> s;
    for (int attempt = 1;; ++attempt) {
      std::vector<std::string> args = {"--store", "postgres:" + conninfo_, "--grpc-address",
                                       absl::StrCat("127.0.0.1:", ports_[i]), "--node-id", absl::StrCat("node-", i),
                                       "--lease-seconds", std::to_string(kLeaseSeconds), "--logical-partitions",
                                       std::to_string(kLogicalPartitions),
                                       "--durability", "async"};
      s = ServerProcess::Start(tmp_.path() + absl::StrCat("/node-", i), args);
      // A port picked free (PickFreePorts) can be taken before the node binds it, for example as the source port
      // of another connection: the node then exits at once, and it is started again on another port.
      if (s.ok() || attempt == 3 || !absl::StrContains(s.status().message(), "cannot listen")) {
        break;
      }
      absl::StatusOr<std::vector<int>> other = PickFreePorts(1);
      ASSERT_TRUE(other.ok()) << other.status();
      ports_[i] = other->front();
    }
    ASSERT_TRUE(s.ok()) << s.status();
    nodes_[i] = std::move(*s);
    client::ClientOptions options;
    options.call_timeout = 5s;  // a call forwarded to a paused node waits this long
    absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(nodes_[i]->address(), 10s, options);
    ASSERT_TRUE(c.ok()) << c.status();
    std::lock_guard<std::mutex> lock(clients_mu_);
    clients_[i] = std::move(*c);
  }

  // Stops node i with `signal`; keeps its log for a failure's report.
  void StopNode(int i, int signal) {
    {
      std::lock_guard<std::mutex> lock(clients_mu_);
      clients_[i].reset();
    }
    nodes_[i]->Stop(signal);
    logs_[i] += nodes_[i]->log();
    nodes_[i].reset();
  }

  // Calls `call` on node `first`, then on the next live nodes while the answer is Unavailable, for at most
  // `timeout` (a partition without an owner yet, a node that went away).
  template <typename T>
  absl::StatusOr<T> OnAnyNode(int first, const std::function<absl::StatusOr<T>(client::Client&)>& call,
                              std::chrono::milliseconds timeout = 30s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    absl::StatusOr<T> result = absl::UnavailableError("no live node");
    for (int attempt = 0;; ++attempt) {
      std::shared_ptr<client::Client> c = ClientOf((first + attempt) % kNodes);
      if (c != nullptr) {
        result = call(*c);
        if (!absl::IsUnavailable(result.status()) && !absl::IsDeadlineExceeded(result.status())) {
          return result;
        }
      }
      if (std::chrono::steady_clock::now() >= end) {
        return result;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  // `stepflow run`'s output for input {"i": i} (it does not depend on i beyond the arithmetic: checked for
  // i = 0 against the CLI, computed for the others).
  std::string Expected(int i) {
    if (i == 0 && expected_zero_.empty()) {
      const std::string def = tmp_.path() + "/flow.json";
      const std::string input = tmp_.path() + "/input.json";
      std::ofstream(def) << kClusterWorkflow;
      std::ofstream(input) << R"({"i":0})";
      CliResult r = RunCli({"run", def, "--input", input, "--time-skip"});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      std::string out = r.out;
      while (!out.empty() && out.back() == '\n') {
        out.pop_back();
      }
      json::value last = Json(out.substr(out.rfind('\n') + 1));
      expected_zero_ = json::serialize(last.at("output"));
      EXPECT_EQ(expected_zero_, R"({"i":0,"next":1})");
    }
    return json::serialize(json::object{{"i", i}, {"next", i + 1}});
  }

  // Starts executions on the nodes in turn until `stop`, recording the acknowledged ones.
  void StartLoad() {
    loader_ = std::thread([this] {
      for (int i = 0; !stop_.load(); ++i) {
        absl::StatusOr<v1::Execution> e = OnAnyNode<v1::Execution>(
            i % kNodes,
            [&](client::Client& c) {
              return c.StartExecution("cl-flow", absl::StrCat(R"({"i":)", i, "}"), absl::StrCat("load-", i));
            },
            2s);
        std::lock_guard<std::mutex> lock(mu_);
        if (e.ok()) {
          acknowledged_.emplace_back(i, e->arn());
        }
      }
    });
  }
  void StopLoad() {
    stop_ = true;
    if (loader_.joinable()) {
      loader_.join();
    }
  }
  std::size_t Acknowledged() {
    std::lock_guard<std::mutex> lock(mu_);
    return acknowledged_.size();
  }

  // Every acknowledged execution ends SUCCEEDED with its output, and its history has one start and one end.
  void ExpectEveryExecutionFinishedOnce() {
    std::vector<std::pair<int, std::string>> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all = acknowledged_;
    }
    ASSERT_FALSE(all.empty());
    for (const auto& [i, arn] : all) {
      const auto end = std::chrono::steady_clock::now() + 60s;
      absl::StatusOr<v1::Execution> e;
      do {
        e = OnAnyNode<v1::Execution>(i, [&](client::Client& c) { return c.DescribeExecution(arn); });
        ASSERT_TRUE(e.ok()) << arn << ": " << e.status();
        if (e->status() != v1::RUNNING) {
          break;
        }
        std::this_thread::sleep_for(50ms);
      } while (std::chrono::steady_clock::now() < end);
      ASSERT_EQ(e->status(), v1::SUCCEEDED) << arn;
      EXPECT_EQ(json::serialize(Json(e->output())), Expected(i)) << arn;
      absl::StatusOr<std::vector<v1::HistoryEvent>> h = OnAnyNode<std::vector<v1::HistoryEvent>>(
          i, [&](client::Client& c) { return c.GetExecutionHistory(arn); });
      ASSERT_TRUE(h.ok()) << h.status();
      EXPECT_EQ(CountType(*h, "ExecutionStarted"), 1) << arn;
      EXPECT_EQ(CountType(*h, "WaitStateEntered"), 1) << arn;
      EXPECT_EQ(CountType(*h, "WaitStateExited"), 1) << arn;
      EXPECT_EQ(CountType(*h, "ExecutionSucceeded"), 1) << arn;
      for (std::size_t k = 0; k < h->size(); ++k) {
        ASSERT_EQ((*h)[k].id(), static_cast<std::int64_t>(k + 1)) << arn << ": event ids are not 1..n";
      }
    }
  }

  // `stepflow cluster status` as JSON.
  json::value ClusterStatus() {
    CliResult r = RunCli({"cluster", "status", "--store", "postgres:" + conninfo_});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? Json(r.out) : json::value();
  }

  // Who holds each partition now, by `stepflow cluster status` ("" = nobody live).
  std::vector<std::string> PartitionOwners() {
    std::vector<std::string> owners(kLogicalPartitions);
    json::value status = ClusterStatus();
    if (!status.is_object()) {
      return owners;
    }
    for (const json::value& p : status.at("partitions").as_array()) {
      const auto partition = p.at("partition").to_number<std::int64_t>();
      if (p.at("live").as_bool() && partition >= 0 && partition < kLogicalPartitions) {
        owners[partition] = std::string(p.at("owner").as_string());
      }
    }
    return owners;
  }

  // Waits until the partitions are spread over the kNodes live nodes (each holds 2 or 3 of the 8).
  bool WaitForSpread(std::chrono::milliseconds timeout) {
    return WaitUntil(
        [&] {
          json::value status = ClusterStatus();
          if (!status.is_object()) {
            return false;
          }
          int live_nodes = 0;
          std::size_t held = 0;
          for (const json::value& n : status.at("nodes").as_array()) {
            const std::size_t mine = n.at("partitions").as_array().size();
            if (n.at("live").as_bool() && mine >= 2 && mine <= 3) {
              ++live_nodes;
              held += mine;
            }
          }
          return live_nodes == kNodes && held == static_cast<std::size_t>(kLogicalPartitions);
        },
        timeout);
  }

  // A /metrics gauge of node i, or -1.
  int Gauge(int i, const std::string& name) {
    const std::string& http = nodes_[i]->http_address();
    httplib::Client cli(http.substr(0, http.rfind(':')), std::stoi(http.substr(http.rfind(':') + 1)));
    auto res = cli.Get("/metrics");
    if (!res || res->status != 200) {
      return -1;
    }
    const std::size_t at = res->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoi(res->body.substr(at + name.size() + 2));
  }

  void CreateWorkflow() {
    absl::StatusOr<v1::StateMachine> sm = OnAnyNode<v1::StateMachine>(
        0, [&](client::Client& c) { return c.CreateStateMachine("cl-flow", kClusterWorkflow, v1::STANDARD); });
    ASSERT_TRUE(sm.ok()) << sm.status();
  }

  std::unique_ptr<storage::testing::PrivatePostgres> postgres_;
  std::string conninfo_;
  TempDir tmp_;
  std::vector<int> ports_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
  std::mutex clients_mu_;
  std::vector<std::shared_ptr<client::Client>> clients_;
  std::string logs_[kNodes];
  std::string expected_zero_;

  std::thread loader_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::pair<int, std::string>> acknowledged_;
};

}  // namespace stepflow::itest
