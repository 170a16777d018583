// Several `stepflow server` nodes over one PostgreSQL store (issue 14, part 3): three nodes on loopback over a
// private PostgreSQL (storage/postgres/testing/private_postgres.h; run as `nobody` when root), with short
// partition leases. A node killed with SIGKILL under load, a node paused with SIGSTOP past its lease and
// resumed, and the whole cluster restarted: every acknowledged execution finishes exactly once with the
// output `stepflow run` computes for it. Calls go to any node; one that answers Unavailable (no owner yet,
// a node down) is tried again on the next.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "storage/postgres/testing/private_postgres.h"
#include "tests/integration/worker_fixture.h"

namespace stepflow::itest {
namespace {

using namespace std::chrono_literals;

constexpr int kNodes = 3;
constexpr int kLeaseSeconds = 2;
// A Pass that computes from the input, a 1 s Wait, a Pass: `stepflow run` gives {"i":I,"next":I+1}.
constexpr char kWorkflow[] = R"json({"StartAt":"Add","States":{
  "Add":{"Type":"Pass","Parameters":{"i.$":"$.i","next.$":"States.MathAdd($.i, 1)"},"Next":"Pause"},
  "Pause":{"Type":"Wait","Seconds":1,"Next":"Done"},
  "Done":{"Type":"Pass","End":true}}})json";

class ClusterTest : public ::testing::Test {
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
    for (int i = 0; i < kNodes; ++i) {
      absl::StatusOr<int> port = PickFreePort();
      ASSERT_TRUE(port.ok()) << port.status();
      ports_.push_back(*port);
    }
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
    std::vector<std::string> args = {"--store", "postgres:" + conninfo_, "--grpc-address",
                                     absl::StrCat("127.0.0.1:", ports_[i]), "--node-id", absl::StrCat("node-", i),
                                     "--lease-seconds", std::to_string(kLeaseSeconds), "--logical-partitions", "8",
                                     "--durability", "async"};
    absl::StatusOr<std::unique_ptr<ServerProcess>> s =
        ServerProcess::Start(tmp_.path() + absl::StrCat("/node-", i), args);
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
      std::shared_ptr<client::Client> c;
      {
        std::lock_guard<std::mutex> lock(clients_mu_);
        c = clients_[(first + attempt) % kNodes];
      }
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
      std::ofstream(def) << kWorkflow;
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
        0, [&](client::Client& c) { return c.CreateStateMachine("cl-flow", kWorkflow, v1::STANDARD); });
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

// Once the partitions are spread over the three nodes (as `stepflow cluster status` and /metrics show), each
// node accepts every call: those for partitions it does not serve, and state machine writes when it does not
// hold partition 0, are forwarded to the node that does.
TEST_F(ClusterTest, AnyNodeAcceptsAnyCallAndTheClusterIsVisible) {
  json::value status;
  ASSERT_TRUE(WaitUntil(
      [&] {
        status = ClusterStatus();
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
        return live_nodes == kNodes && held == 8;
      },
      30s))
      << json::serialize(status);
  int owned = 0;
  for (int i = 0; i < kNodes; ++i) {
    const int mine = Gauge(i, "stepflow_cluster_partitions_owned");
    EXPECT_GE(mine, 2) << "node " << i;
    owned += mine;
    EXPECT_EQ(Gauge(i, "stepflow_cluster_nodes_seen"), kNodes) << "node " << i;
  }
  EXPECT_EQ(owned, 8);
  for (int i = 0; i < kNodes; ++i) {
    // The same definition again is idempotent: every node answers it (two of them by forwarding).
    absl::StatusOr<v1::StateMachine> sm = clients_[i]->CreateStateMachine("cl-flow", kWorkflow, v1::STANDARD);
    ASSERT_TRUE(sm.ok()) << "node " << i << ": " << sm.status();
  }
  for (int i = 0; i < kNodes; ++i) {
    for (int k = 0; k < 8; ++k) {
      const int n = i * 8 + k;
      absl::StatusOr<v1::Execution> e =
          clients_[i]->StartExecution("cl-flow", absl::StrCat(R"({"i":)", n, "}"), absl::StrCat("any-", n));
      ASSERT_TRUE(e.ok()) << "node " << i << ": " << e.status();
      std::lock_guard<std::mutex> lock(mu_);
      acknowledged_.emplace_back(n, e->arn());
    }
  }
  // StartSync through every node: each answers the ended execution, whichever node ran it.
  for (int i = 0; i < kNodes; ++i) {
    for (int k = 0; k < 3; ++k) {
      const int n = 100 + i * 3 + k;
      absl::StatusOr<v1::Execution> e = clients_[i]->StartSyncExecution(
          "cl-flow", absl::StrCat(R"({"i":)", n, "}"), absl::StrCat("sync-", n), 30s);
      ASSERT_TRUE(e.ok()) << "node " << i << ": " << e.status();
      EXPECT_EQ(e->status(), v1::SUCCEEDED);
      EXPECT_EQ(json::serialize(Json(e->output())), Expected(n));
    }
  }
  // A stop sent to a node that may not serve the execution: forwarded to the one that does.
  absl::StatusOr<v1::Execution> extra = clients_[0]->StartExecution("cl-flow", R"({"i":1000})", "to-stop");
  ASSERT_TRUE(extra.ok()) << extra.status();
  absl::StatusOr<v1::Execution> stopped = clients_[1]->StopExecution(extra->arn(), "Halt", "by the test");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status(), v1::ABORTED);
  ExpectEveryExecutionFinishedOnce();
}

// Tasks.ReportBatch sent to one node carries results for executions every node serves: the items another
// node serves are forwarded there (as their unary calls), the others are committed here; each answered OK.
TEST_F(ClusterTest, ABatchOfReportsSentToOneNodeReachesEveryOwner) {
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int i = 0; i < kNodes; ++i) {
          if (Gauge(i, "stepflow_cluster_partitions_owned") < 2) {
            return false;
          }
        }
        return true;
      },
      30s));
  constexpr char kTask[] = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"cl-q","End":true}}})";
  ASSERT_TRUE(OnAnyNode<v1::StateMachine>(0, [&](client::Client& c) {
                return c.CreateStateMachine("cl-task", kTask, v1::STANDARD);
              }).ok());
  constexpr int kTasks = 12;
  std::vector<std::string> arns;
  for (int n = 0; n < kTasks; ++n) {
    absl::StatusOr<v1::Execution> e =
        clients_[n % kNodes]->StartExecution("cl-task", absl::StrCat(R"({"i":)", n, "}"), absl::StrCat("t-", n));
    ASSERT_TRUE(e.ok()) << e.status();
    arns.push_back(e->arn());
  }
  // Each node hands out the tasks of the partitions it serves.
  v1::ReportTaskBatchRequest reports;
  std::set<int> nodes_with_tasks;
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (reports.reports_size() < kTasks && std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < kNodes; ++i) {
      absl::StatusOr<std::vector<v1::PollTaskResponse>> tasks = clients_[i]->PollTasks("cl-q", "w", kTasks, 1s);
      ASSERT_TRUE(tasks.ok()) << tasks.status();
      for (const v1::PollTaskResponse& t : *tasks) {
        nodes_with_tasks.insert(i);
        v1::CompleteTaskRequest* c = reports.add_reports()->mutable_complete();
        c->set_task_token(t.task_token());
        c->set_output(t.input());
      }
    }
  }
  ASSERT_EQ(reports.reports_size(), kTasks);
  EXPECT_GE(nodes_with_tasks.size(), 2u) << "the executions should be spread over the nodes";
  absl::StatusOr<v1::ReportTaskBatchResponse> done = clients_[0]->ReportTasks(reports);
  ASSERT_TRUE(done.ok()) << done.status();
  for (const v1::TaskReportResult& r : done->results()) {
    EXPECT_EQ(r.code(), 0) << r.message();
  }
  for (int n = 0; n < kTasks; ++n) {
    absl::StatusOr<v1::Execution> e;
    do {
      e = OnAnyNode<v1::Execution>(n, [&](client::Client& c) { return c.DescribeExecution(arns[n]); });
      ASSERT_TRUE(e.ok()) << e.status();
    } while (e->status() == v1::RUNNING && std::chrono::steady_clock::now() < end + 30s);
    EXPECT_EQ(e->status(), v1::SUCCEEDED) << arns[n];
  }
}

TEST_F(ClusterTest, AKilledNodesPartitionsMoveAndEveryExecutionFinishesOnce) {
  CreateWorkflow();
  StartLoad();
  ASSERT_TRUE(WaitUntil([&] { return Acknowledged() >= 40; }, 60s));
  const auto killed = std::chrono::steady_clock::now();
  StopNode(2, SIGKILL);
  const std::size_t at_kill = Acknowledged();
  // The figure of the note: from the kill until the two others hold every partition (cluster status).
  ASSERT_TRUE(WaitUntil(
      [&] {
        json::value status = ClusterStatus();
        std::size_t held = 0;
        for (const json::value& n : status.at("nodes").as_array()) {
          if (n.at("nodeId").as_string() != "node-2" && n.at("live").as_bool()) {
            held += n.at("partitions").as_array().size();
          }
        }
        return held == 8;
      },
      30s));
  std::fprintf(stderr, "kill -9 of a node: its partitions were held by the others %lld ms after the kill\n",
               static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - killed)
                                          .count()));
  // Starts go on; executions in the dead node's partitions are served again once their leases expired.
  ASSERT_TRUE(WaitUntil([&] { return Acknowledged() >= at_kill + 60; }, 60s));
  StopLoad();
  ExpectEveryExecutionFinishedOnce();
  std::fprintf(stderr, "kill -9 of a node: its partitions' executions finished within %lld ms of the kill\n",
               static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - killed)
                                          .count()));
}

TEST_F(ClusterTest, ANodePausedPastItsLeaseHasItsWritesRefused) {
  CreateWorkflow();
  StartLoad();
  // Node 1 holds its share, and executions of its partitions wait in their 1 s Wait when it is paused.
  ASSERT_TRUE(WaitUntil(
      [&] {
        json::value status = ClusterStatus();
        for (const json::value& n : status.at("nodes").as_array()) {
          if (n.at("nodeId").as_string() == "node-1" && n.at("partitions").as_array().size() >= 2) {
            return true;
          }
        }
        return false;
      },
      30s));
  const std::size_t before = Acknowledged();
  ASSERT_TRUE(WaitUntil([&] { return Acknowledged() >= before + 30; }, 60s));
  {
    std::lock_guard<std::mutex> lock(clients_mu_);
    clients_[1].reset();  // calls to a stopped process would hang until their deadline
  }
  ASSERT_EQ(::kill(nodes_[1]->pid(), SIGSTOP), 0);
  // Past its lease: the others take its partitions over meanwhile and serve them.
  const std::size_t at_stop = Acknowledged();
  ASSERT_TRUE(WaitUntil([&] { return Acknowledged() >= at_stop + 40; }, 60s));
  std::this_thread::sleep_for(std::chrono::seconds(kLeaseSeconds));
  ASSERT_EQ(::kill(nodes_[1]->pid(), SIGCONT), 0);
  // Its timers fired at once on resuming, under epochs that are no longer the partitions': refused.
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string log = nodes_[1]->log();
        return log.find("lease moved on") != std::string::npos || log.find("lost partition") != std::string::npos;
      },
      30s))
      << "node 1 never noticed its leases were taken over";
  StopLoad();
  ExpectEveryExecutionFinishedOnce();
}

TEST_F(ClusterTest, TheWholeClusterRestartsAndEverythingContinues) {
  CreateWorkflow();
  StartLoad();
  ASSERT_TRUE(WaitUntil([&] { return Acknowledged() >= 40; }, 60s));
  StopLoad();
  for (int i = 0; i < kNodes; ++i) {
    StopNode(i, i == 0 ? SIGKILL : SIGTERM);
  }
  for (int i = 0; i < kNodes; ++i) {
    StartNode(i);
  }
  ExpectEveryExecutionFinishedOnce();
}

}  // namespace
}  // namespace stepflow::itest
