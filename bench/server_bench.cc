// Benchmark of the durable server over gRPC (figures, not a test). It starts the real `stepflow server` on
// 127.0.0.1 with a fresh data directory (or uses --server ADDRESS), drives it with the C++ client library
// (clients/cpp), and prints one line per figure, each naming the durability mode it ran in:
//
//   throughput: bench/workloads/pass_chain_10.json (10 Pass states) started with StartSync by K client
//   threads, each keeping one execution in flight (K = 1, 16, 64 by default), for --seconds after --warmup:
//     server pass_chain_10 inflight=K durability=sync partitions=P executions=N seconds=S exec_per_s=X
//            transitions_per_s=Y p50_ms=A p99_ms=B failures=F server_cpu_ms_per_exec=C client_cpu_ms_per_exec=D
//   Latency is start->done as the client sees it: the StartSync call (start committed, run, result), of the
//   calls started and done inside the window; exec/s counts the calls done inside the window.
//   CPU per execution (user + system, warm-up included) shows what the cores would give were the machine
//   not shared: 2 cores / (C + D) is the ceiling of this client and server on a 2-CPU machine.
//   Transitions per execution are counted once from a history (StateEntered events).
//
//   restart: --restart-executions executions (default 10,000) of "Wait until $.until, then Pass" are started
//   (64 in flight), all waiting on one timestamp a little in the future; the server is killed with SIGKILL
//   once all are acknowledged, and restarted after the timestamp has passed, so every timer is overdue.
//   Measured from the restarted process's fork: the listening line (the store opened and every running
//   execution replayed), the first successful RPC (ready_ms: DescribeStateMachine), the first acknowledged
//   start of a new execution (start_accepted_ms), and no execution RUNNING any more:
//     server restart executions=N durability=sync partitions=P start_per_s=X listening_ms=A ready_ms=B
//            start_accepted_ms=S all_complete_ms=C recovered_running=R store_open_ms=O
//   then reads every history back: lost = acknowledged starts that did not succeed, duplicated = histories
//   with more than one ExecutionSucceeded or a state entered twice (--no-verify skips the reading).
//
//   footprint (--mode footprint): --footprint-executions executions of pass_chain_10 (StartSync, 64 in
//   flight), then the bytes of every file under the data directory per execution (while running and after
//   a clean shutdown) and the server's resident memory (VmRSS).
//
//   Each figure is also printed as `RESULT {json}` for bench/report.py (bench/bench.sh); there, W5's
//   ready_ms is the first acknowledged start of a new execution and first_read_ms the first RPC.
//
// Usage: server_bench [--mode throughput|restart|both] [--inflight 1,16,64] [--seconds 5] [--warmup 1]
//                     [--durability sync|async] [--partitions N] [--restart-executions 10000]
//                     [--server HOST:PORT] [--keep-data] [--kill-only] [--store rocksdb|postgres]
// --store postgres runs every server it starts on the PostgreSQL store instead of RocksDB: a private
// PostgreSQL (storage/postgres/testing/private_postgres.h, fsync on) started for the run, one database per
// data directory; every line then names store=postgres.
// --nodes N (with --store postgres, throughput only) runs the throughput figures against N `stepflow server`
// nodes over one database (bench/cluster_nodes.h), 64 logical partitions: client thread t calls node t mod N,
// whose engine forwards what another node serves; server CPU is summed over the nodes, and the database's
// (PostgreSQL and its backends) is given beside it. Its lines are `server pass_chain_10 nodes=N ...` and
// RESULT workload "cluster-W2", case "nodes=N inflight=K" (bench/bench.sh ONLY=cluster).
// --server uses a running server for the throughput figures (its durability is whatever it was started
// with: pass --durability to name it; --server-pid PID gives its CPU per execution); the restart figure
// always starts its own server.
// --keep-data keeps the data directories (and the server logs beside them) and prints where they are;
// --kill-only stops the restart figure after the kill, leaving the data of 10,000 executions in flight for
// `stepflow server --data-dir DIR` under a profiler.
// bench/run_server.sh runs it with the defaults.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/cluster_nodes.h"
#include "absl/strings/str_format.h"
#include "clients/cpp/client.h"
#include "common/writer_threads.h"
#include "storage/postgres/testing/private_postgres.h"
#include "tests/integration/process.h"

#ifndef STEPFLOW_BENCH_WORKLOADS_DIR
#error "STEPFLOW_BENCH_WORKLOADS_DIR must name bench/workloads"
#endif

namespace stepflow::bench {
namespace {

namespace v1 = ::stepflow::v1;
using namespace std::chrono_literals;

struct Flags {
  bool throughput = true;
  bool restart = true;
  std::vector<int> inflight = {1, 16, 64};
  double seconds = 5;
  double warmup = 1;
  std::string durability = "sync";
  int partitions = 0;
  int restart_executions = 10000;
  double restart_hold_seconds = 0;  // 0: 5 s + 1 s per 500 executions
  bool verify_histories = true;
  bool footprint = false;
  int footprint_executions = 100000;
  std::string server;
  int server_pid = 0;  // with --server: the server's pid, for its CPU per execution (0 = unknown)
  bool keep_data = false;
  bool kill_only = false;
  std::string store = "rocksdb";  // rocksdb | postgres
  int nodes = 0;                  // > 0: that many cluster nodes (--store postgres)
};

[[noreturn]] void Usage(const std::string& what) {
  std::fprintf(stderr,
               "server_bench: %s\nusage: server_bench [--mode throughput|restart|both|footprint] [--inflight 1,16,64] "
               "[--seconds S] [--warmup S]\n"
               "                    [--durability sync|async] [--partitions N] [--restart-executions N] "
               "[--restart-hold-seconds S] [--no-verify]\n"
               "                    [--footprint-executions N] [--server HOST:PORT [--server-pid PID]] [--keep-data] "
               "[--kill-only] [--store rocksdb|postgres [--nodes N]]\n",
               what.c_str());
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        Usage(arg + " needs a value");
      }
      return argv[++i];
    };
    if (arg == "--mode") {
      std::string m = next();
      if (m != "throughput" && m != "restart" && m != "both" && m != "footprint") {
        Usage("--mode is throughput, restart, both or footprint");
      }
      f.footprint = m == "footprint";
      f.throughput = m == "throughput" || m == "both";
      f.restart = m == "restart" || m == "both";
    } else if (arg == "--inflight") {
      f.inflight = ParseIntList(next());
    } else if (arg == "--seconds") {
      f.seconds = std::stod(next());
    } else if (arg == "--warmup") {
      f.warmup = std::stod(next());
    } else if (arg == "--durability") {
      f.durability = next();
    } else if (arg == "--partitions") {
      f.partitions = std::stoi(next());
    } else if (arg == "--restart-executions") {
      f.restart_executions = std::stoi(next());
    } else if (arg == "--restart-hold-seconds") {
      f.restart_hold_seconds = std::stod(next());
    } else if (arg == "--no-verify") {
      f.verify_histories = false;
    } else if (arg == "--footprint-executions") {
      f.footprint_executions = std::stoi(next());
    } else if (arg == "--server") {
      f.server = next();
    } else if (arg == "--server-pid") {
      f.server_pid = std::stoi(next());
    } else if (arg == "--store") {
      f.store = next();
      if (f.store != "rocksdb" && f.store != "postgres") {
        Usage("--store is rocksdb or postgres");
      }
    } else if (arg == "--nodes") {
      f.nodes = std::stoi(next());
      if (f.nodes < 1 || f.nodes > kMaxBenchNodes) {
        Usage(absl::StrCat("--nodes is 1 to ", kMaxBenchNodes));
      }
    } else if (arg == "--keep-data") {
      f.keep_data = true;
    } else if (arg == "--kill-only") {
      f.kill_only = true;
      f.keep_data = true;
    } else {
      Usage("unknown argument '" + arg + "'");
    }
  }
  if (f.nodes > 0 && (f.store != "postgres" || !f.server.empty() || f.restart || f.footprint)) {
    Usage("--nodes needs --store postgres and --mode throughput, without --server");
  }
  return f;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// CPU seconds (user + system) used so far by process `pid`; -1 when unreadable.

// A server of our own (or none with --server), with the settings every line names.
// Logical partitions of the store the cluster figures create (the server's default for a new store).
constexpr int kClusterPartitions = 64;

class Bench {
 public:
  explicit Bench(Flags flags) : flags_(std::move(flags)) {}

  int Run() {
    if (flags_.store == "postgres") {
      storage::testing::PrivatePostgres::Options options;
      options.fsync = true;  // as RocksDB's synced WAL: the comparison is of durable commits
      absl::StatusOr<std::unique_ptr<storage::testing::PrivatePostgres>> pg =
          storage::testing::PrivatePostgres::Start(options);
      if (absl::IsNotFound(pg.status()) && flags_.nodes > 0) {
        std::printf("stepflow W2: skipped (cluster figures: %s)\n", std::string(pg.status().message()).c_str());
        return 0;
      }
      if (!pg.ok()) {
        std::fprintf(stderr, "server_bench: cannot start PostgreSQL: %s\n", pg.status().ToString().c_str());
        return 1;
      }
      postgres_ = std::move(*pg);
    }
    std::printf("# server_bench on %u CPUs, store=%s, durability=%s, partitions=%s\n",
                std::thread::hardware_concurrency(), flags_.store.c_str(), flags_.durability.c_str(),
                PartitionsName().c_str());
    std::fflush(stdout);
    if (flags_.throughput && !Throughput()) {
      return 1;
    }
    if (flags_.restart && !Restart()) {
      return 1;
    }
    if (flags_.footprint && !Footprint()) {
      return 1;
    }
    return 0;
  }

 private:
  // The durability mode as the comparison table names it.
  std::string DurabilityLabel() const {
    return absl::StrCat(flags_.durability == "sync" ? "WAL fsync before ack (--durability sync)"
                                                     : "WAL written, not synced (--durability async)",
                        ", partitions ", PartitionsName(), flags_.store == "postgres" ? ", store postgres" : "");
  }

  std::string PartitionsName() const {
    return flags_.partitions > 0 ? std::to_string(flags_.partitions)
                                 : absl::StrCat("auto(", common::DefaultWriterThreads(), ")");
  }

  std::vector<std::string> ServerArgs() const {
    std::vector<std::string> args = {"--durability", flags_.durability};
    if (flags_.partitions > 0) {
      args.push_back("--partitions");
      args.push_back(std::to_string(flags_.partitions));
    }
    return args;
  }

  // A fresh data directory: removed at the end, unless --keep-data.
  std::string NewDataDir() {
    if (flags_.keep_data) {
      const char* t = std::getenv("TMPDIR");
      std::string pattern = std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/stepflow-bench-XXXXXX";
      if (mkdtemp(pattern.data()) == nullptr) {
        return "";
      }
      std::printf("# data directory (kept): %s/data\n", pattern.c_str());
      return pattern + "/data";
    }
    temp_dirs_.push_back(std::make_unique<itest::TempDir>());
    return temp_dirs_.back()->path() + "/data";
  }

  std::unique_ptr<itest::ServerProcess> StartServer(const std::string& data_dir,
                                                    std::vector<std::string> extra) {
    if (postgres_ != nullptr) {
      // One database per data directory, made on its first start.
      auto [it, fresh] = databases_.try_emplace(data_dir);
      if (fresh) {
        absl::StatusOr<std::string> db = postgres_->CreateDatabase();
        if (!db.ok()) {
          std::fprintf(stderr, "server_bench: %s\n", db.status().ToString().c_str());
          return nullptr;
        }
        it->second = *db;
      }
      extra.push_back("--store");
      extra.push_back("postgres:" + it->second);
      // A node of a cluster (every server on PostgreSQL is one) needs a fixed address for the others.
      absl::StatusOr<int> port = itest::PickFreePort();
      if (!port.ok()) {
        std::fprintf(stderr, "server_bench: %s\n", port.status().ToString().c_str());
        return nullptr;
      }
      extra.push_back("--grpc-address");
      extra.push_back(absl::StrCat("127.0.0.1:", *port));
    }
    // The restart figure's server replays every running execution before it listens: minutes with 10,000 of
    // them on a slow store.
    absl::StatusOr<std::unique_ptr<itest::ServerProcess>> s =
        itest::ServerProcess::Start(data_dir, extra, {}, std::chrono::minutes(10));
    if (!s.ok()) {
      std::fprintf(stderr, "server_bench: %s\n", s.status().ToString().c_str());
      return nullptr;
    }
    return std::move(*s);
  }

  bool Throughput() {
    std::unique_ptr<itest::ServerProcess> server;
    std::unique_ptr<ClusterNodes> cluster;
    std::string address = flags_.server;
    std::vector<std::string> addresses;  // the nodes client threads call in turn
    if (flags_.nodes > 0) {
      temp_dirs_.push_back(std::make_unique<itest::TempDir>());
      absl::StatusOr<std::unique_ptr<ClusterNodes>> started =
          ClusterNodes::Start(flags_.nodes, kClusterPartitions, *postgres_, *temp_dirs_.back(), ServerArgs());
      if (!started.ok()) {
        std::fprintf(stderr, "server_bench: %s\n", started.status().ToString().c_str());
        return false;
      }
      cluster = std::move(*started);
      addresses = cluster->addresses();
      address = addresses.front();
    } else if (address.empty()) {
      server = StartServer(NewDataDir(), ServerArgs());
      if (server == nullptr) {
        return false;
      }
      address = server->address();
    }
    if (addresses.empty()) {
      addresses.push_back(address);
    }
    absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(address, 10s);
    if (!c.ok()) {
      std::fprintf(stderr, "server_bench: %s\n", c.status().ToString().c_str());
      return false;
    }
    const std::string definition =
        ReadText(std::string(STEPFLOW_BENCH_WORKLOADS_DIR) + "/pass_chain_10.json");
    const std::string input =
        ReadText(std::string(STEPFLOW_BENCH_WORKLOADS_DIR) + "/pass_chain_10_input.json");
    absl::StatusOr<v1::StateMachine> sm = (*c)->CreateStateMachine("bench-pass-chain-10", definition);
    if (!sm.ok()) {
      std::fprintf(stderr, "server_bench: create: %s\n", sm.status().ToString().c_str());
      return false;
    }
    // Transitions per execution, counted once.
    absl::StatusOr<v1::Execution> one = (*c)->StartSyncExecution(sm->name(), input, "", 30s);
    if (!one.ok() || one->status() != v1::SUCCEEDED) {
      std::fprintf(stderr, "server_bench: the first execution did not succeed\n");
      return false;
    }
    absl::StatusOr<std::vector<v1::HistoryEvent>> history = (*c)->GetExecutionHistory(one->arn());
    int transitions = 0;
    for (const v1::HistoryEvent& e : history.ok() ? *history : std::vector<v1::HistoryEvent>{}) {
      transitions += e.type().ends_with("StateEntered") ? 1 : 0;
    }
    for (int inflight : flags_.inflight) {
      // A client (channel) per 16 threads, so that one HTTP/2 connection is not the bottleneck; with several
      // nodes, a client per node at least. Thread t calls clients[t mod clients], of node t mod nodes.
      const int nodes = static_cast<int>(addresses.size());
      const int channels = (std::max((inflight + 15) / 16, nodes) + nodes - 1) / nodes * nodes;
      std::vector<std::unique_ptr<client::Client>> clients;
      for (int k = 0; k < channels; ++k) {
        absl::StatusOr<std::unique_ptr<client::Client>> ck = client::Client::Connect(addresses[k % nodes], 10s);
        if (!ck.ok()) {
          return false;
        }
        clients.push_back(std::move(*ck));
      }
      const auto t0 = Clock::now();
      const auto measure_from =
          t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(flags_.warmup));
      const auto measure_to = measure_from + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(flags_.seconds));
      std::mutex mu;
      std::vector<double> latencies;
      std::atomic<int> failures{0};
      std::atomic<int> completed{0};  // warm-up included, for the CPU per execution
      std::atomic<long> in_window{0};
      std::string first_failure;
      const pid_t server_pid = server != nullptr ? server->pid() : static_cast<pid_t>(flags_.server_pid);
      auto server_cpu_now = [&] {
        return cluster != nullptr ? cluster->ServerCpuSeconds() : server_pid > 0 ? ProcessCpuSeconds(server_pid) : -1;
      };
      const double server_cpu0 = server_cpu_now();
      const double db_cpu0 = cluster != nullptr ? cluster->DatabaseCpuSeconds() : -1;
      const double client_cpu0 = SelfCpuSeconds();
      std::vector<std::thread> threads;
      for (int t = 0; t < inflight; ++t) {
        threads.emplace_back([&, t] {
          client::Client& cl = *clients[t % clients.size()];
          std::vector<double> mine;
          for (;;) {
            auto start = Clock::now();
            if (start >= measure_to) {
              break;
            }
            absl::StatusOr<v1::Execution> e = cl.StartSyncExecution(sm->name(), input, "", 60s);
            auto done = Clock::now();
            if (!e.ok() || e->status() != v1::SUCCEEDED) {
              if (failures++ == 0) {
                std::lock_guard<std::mutex> lock(mu);
                first_failure = e.ok() ? v1::ExecutionStatus_Name(e->status()) : e.status().ToString();
              }
              continue;
            }
            ++completed;
            if (done >= measure_from && done <= measure_to) {
              ++in_window;  // throughput: completions inside the window
            }
            if (start >= measure_from && done <= measure_to) {
              mine.push_back(Ms(done - start));
            }
          }
          std::lock_guard<std::mutex> lock(mu);
          latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
      }
      for (auto& t : threads) {
        t.join();
      }
      const double server_cpu = server_cpu0 >= 0 ? server_cpu_now() - server_cpu0 : -1;
      const double db_cpu = cluster != nullptr ? cluster->DatabaseCpuSeconds() - db_cpu0 : -1;
      const double client_cpu = SelfCpuSeconds() - client_cpu0;
      std::sort(latencies.begin(), latencies.end());
      // CPU per execution: what the figure would be with the cores to ourselves (the machine may be shared).
      const std::string server_cpu_text =
          server_cpu >= 0 && completed > 0 ? absl::StrFormat("%.3f", 1000 * server_cpu / completed) : "n/a";
      double seconds = flags_.seconds;
      double per_s = static_cast<double>(in_window.load()) / seconds;
      if (cluster != nullptr) {
        const std::string db_cpu_text =
            db_cpu >= 0 && completed > 0 ? absl::StrFormat("%.3f", 1000 * db_cpu / completed) : "null";
        std::printf(
            "server pass_chain_10 nodes=%d inflight=%d durability=%s executions=%zu exec_per_s=%.0f p50_ms=%.2f "
            "p99_ms=%.2f failures=%d server_cpu_ms_per_exec=%s db_cpu_ms_per_exec=%s client_cpu_ms_per_exec=%.3f\n",
            nodes, inflight, flags_.durability.c_str(), latencies.size(), per_s, Percentile(latencies, 0.50),
            Percentile(latencies, 0.99), failures.load(), server_cpu_text.c_str(), db_cpu_text.c_str(),
            completed > 0 ? 1000 * client_cpu / completed : 0.0);
        std::printf(
            "RESULT {\"engine\":\"stepflow\",\"workload\":\"cluster-W2\",\"case\":\"nodes=%d inflight=%d\","
            "\"durability\":\"%s\",\"metrics\":{\"exec_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
            "\"failures\":%d,\"server_cpu_ms_per_exec\":%s,\"db_cpu_ms_per_exec\":%s,"
            "\"client_cpu_ms_per_exec\":%.3f}}\n",
            nodes, inflight, DurabilityLabel().c_str(), per_s, Percentile(latencies, 0.50),
            Percentile(latencies, 0.99), failures.load(), server_cpu_text == "n/a" ? "null" : server_cpu_text.c_str(),
            db_cpu_text.c_str(), completed > 0 ? 1000 * client_cpu / completed : 0.0);
        if (failures > 0) {
          std::printf("# first failure: %s\n", first_failure.c_str());
        }
        std::fflush(stdout);
        continue;
      }
      std::printf(
          "server pass_chain_10 store=%s inflight=%d durability=%s partitions=%s executions=%zu seconds=%.1f "
          "exec_per_s=%.0f "
          "transitions_per_s=%.0f p50_ms=%.2f p99_ms=%.2f failures=%d server_cpu_ms_per_exec=%s "
          "client_cpu_ms_per_exec=%.3f\n",
          flags_.store.c_str(), inflight, flags_.durability.c_str(), PartitionsName().c_str(), latencies.size(),
          seconds, per_s,
          per_s * transitions, Percentile(latencies, 0.50), Percentile(latencies, 0.99), failures.load(),
          server_cpu_text.c_str(), completed > 0 ? 1000 * client_cpu / completed : 0.0);
      std::printf(
          "RESULT {\"engine\":\"stepflow\",\"workload\":\"W2\",\"case\":\"inflight=%d\",\"durability\":\"%s\","
          "\"metrics\":{\"exec_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"failures\":%d,"
          "\"server_cpu_ms_per_exec\":%s,\"client_cpu_ms_per_exec\":%.3f}}\n",
          inflight, DurabilityLabel().c_str(), per_s, Percentile(latencies, 0.50), Percentile(latencies, 0.99),
          failures.load(), server_cpu_text == "n/a" ? "null" : server_cpu_text.c_str(),
          completed > 0 ? 1000 * client_cpu / completed : 0.0);
      if (failures > 0) {
        std::printf("# first failure: %s\n", first_failure.c_str());
      }
      std::fflush(stdout);
    }
    c->reset();
    if (server != nullptr) {
      server->Stop(SIGTERM);
    }
    if (cluster != nullptr) {
      cluster->Stop();
    }
    return true;
  }

  bool Restart() {
    const std::string data_dir = NewDataDir();
    std::unique_ptr<itest::ServerProcess> server = StartServer(data_dir, ServerArgs());
    if (server == nullptr) {
      return false;
    }
    absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(server->address(), 10s);
    if (!c.ok()) {
      return false;
    }
    const char* kDefinition = R"({"StartAt":"Hold","States":{
        "Hold":{"Type":"Wait","TimestampPath":"$.until","Next":"Done"},
        "Done":{"Type":"Pass","Result":"done","End":true}}})";
    if (!(*c)->CreateStateMachine("bench-restart", kDefinition).ok() ||
        !(*c)->CreateStateMachine("bench-probe", R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})")
             .ok()) {
      return false;
    }
    // Every execution waits for the same moment: after all are started, the kill and the outage.
    const int n = flags_.restart_executions;
    const double hold_s = flags_.restart_hold_seconds > 0 ? flags_.restart_hold_seconds : 5.0 + n / 500.0;
    const auto until_system =
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(hold_s));
    const std::time_t until_t = std::chrono::system_clock::to_time_t(until_system) + 1;
    char until[64];
    std::strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&until_t));
    const std::string input = absl::StrCat(R"({"until":")", until, R"("})");
    std::atomic<int> next{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<client::Client>> clients;
    for (int k = 0; k < 4; ++k) {
      clients.push_back(std::move(*client::Client::Connect(server->address(), 10s)));
    }
    const auto s0 = Clock::now();
    for (int t = 0; t < 64; ++t) {
      threads.emplace_back([&, t] {
        for (int i = next++; i < n; i = next++) {
          absl::StatusOr<v1::Execution> e =
              clients[t % 4]->StartExecution("bench-restart", input, absl::StrCat("r", i));
          failures += e.ok() ? 0 : 1;
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    const double start_s = std::chrono::duration<double>(Clock::now() - s0).count();
    if (failures > 0 || std::chrono::system_clock::now() >= std::chrono::system_clock::from_time_t(until_t)) {
      std::fprintf(stderr,
                   "server_bench: restart: %d starts failed, or starting took past the Wait (%.1f s)\n",
                   failures.load(), start_s);
      return false;
    }
    clients.clear();
    c->reset();
    server->Stop(SIGKILL);
    server.reset();
    if (flags_.kill_only) {
      std::printf("server restart executions=%d durability=%s start_per_s=%.0f killed; data in %s\n", n,
                  flags_.durability.c_str(), n / start_s, data_dir.c_str());
      return true;
    }
    // The outage lasts until every timer is overdue.
    std::this_thread::sleep_until(std::chrono::system_clock::from_time_t(until_t) + 200ms);

    const auto r0 = Clock::now();
    server = StartServer(data_dir, ServerArgs());
    if (server == nullptr) {
      return false;
    }
    const double listening_ms = Ms(Clock::now() - r0);
    absl::StatusOr<std::unique_ptr<client::Client>> rc = client::Client::Connect(server->address(), 30s);
    double ready_ms = 0;
    for (; rc.ok();) {
      if ((*rc)->DescribeStateMachine("bench-restart").ok()) {
        ready_ms = Ms(Clock::now() - r0);
        break;
      }
      std::this_thread::sleep_for(1ms);
    }
    if (!rc.ok()) {
      return false;
    }
    // Accepting new work: the first acknowledged (durable) start of a new execution after the restart.
    double start_accepted_ms = 0;
    for (;;) {
      if ((*rc)->StartExecution("bench-probe", "{}", "probe-after-restart").ok()) {
        start_accepted_ms = Ms(Clock::now() - r0);
        break;
      }
      if (Clock::now() - r0 > 600s) {
        return false;
      }
      std::this_thread::sleep_for(1ms);
    }
    v1::ListExecutionsRequest running;
    running.set_status(v1::RUNNING);
    running.set_page_size(1);
    double complete_ms = 0;
    for (;;) {
      absl::StatusOr<v1::ListExecutionsResponse> page = (*rc)->ListExecutions(running);
      if (page.ok() && page->executions_size() == 0) {
        complete_ms = Ms(Clock::now() - r0);
        break;
      }
      if (Clock::now() - r0 > 600s) {
        std::fprintf(stderr, "server_bench: restart: executions still running after 600 s\n");
        return false;
      }
      std::this_thread::sleep_for(5ms);
    }
    // Every execution succeeded?
    v1::ListExecutionsRequest succeeded;
    succeeded.set_state_machine("bench-restart");
    succeeded.set_status(v1::SUCCEEDED);
    absl::StatusOr<std::vector<v1::Execution>> done = (*rc)->ListAllExecutions(succeeded);
    std::string log = server->log();
    std::smatch m;
    std::string recovered = "?";
    std::string open_ms = "?";
    static const std::regex kRecovered(R"(recovered (\d+) running executions)");
    static const std::regex kOpen(R"(open_ms=(\d+))");
    if (std::regex_search(log, m, kRecovered)) {
      recovered = m[1];
    }
    if (std::regex_search(log, m, kOpen)) {
      open_ms = m[1];
    }
    std::printf(
        "server restart executions=%d durability=%s partitions=%s start_per_s=%.0f listening_ms=%.0f "
        "ready_ms=%.0f start_accepted_ms=%.0f "
        "all_complete_ms=%.0f recovered_running=%s store_open_ms=%s succeeded=%zd\n",
        n, flags_.durability.c_str(), PartitionsName().c_str(), n / start_s, listening_ms, ready_ms, start_accepted_ms,
        complete_ms, recovered.c_str(), open_ms.c_str(), done.ok() ? static_cast<ssize_t>(done->size()) : -1);
    // Lost: acknowledged starts that did not succeed. Duplicated: executions whose history shows the Wait
    // left or the execution ended more than once (read back with --verify, the default).
    const long succeeded_n = done.ok() ? static_cast<long>(done->size()) : 0;
    long duplicated = -1;
    if (flags_.verify_histories && done.ok()) {
      duplicated = CountDuplicated(**rc, *done);
    }
    std::printf(
        "RESULT {\"engine\":\"stepflow\",\"workload\":\"W5\",\"case\":\"n=%d\",\"durability\":\"%s\","
        "\"metrics\":{\"start_per_s\":%.0f,\"in_flight_at_kill\":%d,\"listening_ms\":%.0f,\"first_read_ms\":%.0f,"
        "\"ready_ms\":%.0f,\"all_complete_ms\":%.0f,\"lost\":%ld,\"duplicated\":%s}}\n",
        n, DurabilityLabel().c_str(), n / start_s, n, listening_ms, ready_ms, start_accepted_ms, complete_ms,
        n - succeeded_n,
        duplicated < 0 ? "null" : std::to_string(duplicated).c_str());
    std::fflush(stdout);
    rc->reset();
    server->Stop(SIGTERM);
    return true;
  }

  // Reads every execution's history (16 threads): the number whose history has more than one
  // ExecutionSucceeded event, or a state entered more than once (the restart definition enters each once).
  static long CountDuplicated(client::Client& c, const std::vector<v1::Execution>& executions) {
    std::atomic<std::size_t> next{0};
    std::atomic<long> duplicated{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        for (std::size_t i = next++; i < executions.size(); i = next++) {
          absl::StatusOr<std::vector<v1::HistoryEvent>> h = c.GetExecutionHistory(executions[i].arn());
          if (!h.ok()) {
            ++duplicated;  // unreadable counts against us
            continue;
          }
          int succeeded = 0;
          std::vector<std::string> entered;
          bool twice = false;
          for (const v1::HistoryEvent& e : *h) {
            succeeded += e.type() == "ExecutionSucceeded" ? 1 : 0;
            if (e.type().ends_with("StateEntered")) {
              if (std::find(entered.begin(), entered.end(), e.details()) != entered.end()) {
                twice = true;
              }
              entered.push_back(e.details());
            }
          }
          if (succeeded != 1 || twice) {
            ++duplicated;
          }
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    return duplicated.load();
  }

  static std::int64_t DirectoryBytes(const std::string& dir) {
    std::int64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code size_ec;
      if (it->is_regular_file(size_ec)) {
        std::uintmax_t size = it->file_size(size_ec);
        total += size_ec ? 0 : static_cast<std::int64_t>(size);
      }
    }
    return total;
  }

  static double RssMiB(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) {
        return std::stod(line.substr(6)) / 1024.0;
      }
    }
    return -1;
  }

  // History bytes on disk and resident memory after --footprint-executions finished executions of
  // pass_chain_10 (StartSync, 64 in flight). Disk: every file under the data directory (RocksDB tables,
  // WAL, manifest) while the server runs, and again after a clean shutdown.
  bool Footprint() {
    const std::string data_dir = NewDataDir();
    std::unique_ptr<itest::ServerProcess> server = StartServer(data_dir, ServerArgs());
    if (server == nullptr) {
      return false;
    }
    std::vector<std::unique_ptr<client::Client>> clients;
    for (int k = 0; k < 4; ++k) {
      absl::StatusOr<std::unique_ptr<client::Client>> ck = client::Client::Connect(server->address(), 10s);
      if (!ck.ok()) {
        return false;
      }
      clients.push_back(std::move(*ck));
    }
    const std::string definition =
        ReadText(std::string(STEPFLOW_BENCH_WORKLOADS_DIR) + "/pass_chain_10.json");
    const std::string input =
        ReadText(std::string(STEPFLOW_BENCH_WORKLOADS_DIR) + "/pass_chain_10_input.json");
    if (!clients[0]->CreateStateMachine("bench-footprint", definition).ok()) {
      return false;
    }
    const double rss_before = RssMiB(server->pid());
    const int n = flags_.footprint_executions;
    std::atomic<int> next{0};
    std::atomic<int> failures{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < 64; ++t) {
      threads.emplace_back([&, t] {
        for (int i = next++; i < n; i = next++) {
          absl::StatusOr<v1::Execution> e = clients[t % 4]->StartSyncExecution("bench-footprint", input, "", 60s);
          failures += e.ok() && e->status() == v1::SUCCEEDED ? 0 : 1;
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::this_thread::sleep_for(1s);
    const double rss = RssMiB(server->pid());
    const std::int64_t bytes_running = DirectoryBytes(data_dir);
    clients.clear();
    server->Stop(SIGTERM);
    const std::int64_t bytes_stopped = DirectoryBytes(data_dir);
    std::printf(
        "server footprint executions=%d durability=%s seconds=%.1f failures=%d disk_bytes_per_exec=%.0f "
        "disk_bytes_per_exec_after_shutdown=%.0f rss_mib=%.1f rss_mib_at_start=%.1f\n",
        n, flags_.durability.c_str(), seconds, failures.load(), static_cast<double>(bytes_running) / n,
        static_cast<double>(bytes_stopped) / n, rss, rss_before);
    std::printf(
        "RESULT {\"engine\":\"stepflow\",\"workload\":\"footprint\",\"case\":\"after N finished\",\"durability\":\"%s\","
        "\"metrics\":{\"executions\":%d,\"seconds\":%.1f,\"disk_bytes_per_exec\":%.0f,"
        "\"disk_bytes_per_exec_after_shutdown\":%.0f,\"rss_mib\":%.1f,\"rss_mib_at_start\":%.1f,\"failures\":%d}}\n",
        DurabilityLabel().c_str(), n, seconds, static_cast<double>(bytes_running) / n,
        static_cast<double>(bytes_stopped) / n, rss, rss_before, failures.load());
    std::fflush(stdout);
    return true;
  }

  Flags flags_;
  std::vector<std::unique_ptr<itest::TempDir>> temp_dirs_;
  std::unique_ptr<storage::testing::PrivatePostgres> postgres_;  // with --store postgres
  std::map<std::string, std::string> databases_;                 // data directory -> conninfo
};

}  // namespace
}  // namespace stepflow::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  return stepflow::bench::Bench(stepflow::bench::ParseFlags(argc, argv)).Run();
}
