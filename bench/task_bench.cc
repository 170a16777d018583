// Task dispatch and retry benchmark of the durable server over gRPC (figures, not a test): W3 and W4 of
// bench/bench.sh, Stepflow's side. Starts the real `stepflow server` on 127.0.0.1 with a fresh data
// directory (or uses --server), and talks to it with the generated stubs of proto/stepflow/v1 (Executions,
// StateMachines, Tasks, DeadLetters). Workers are threads of this process that long-poll a queue
// (Tasks.Poll, worker identity, wait_seconds) and Complete or Fail each task by its token.
//
//   w3: a state machine of one Task state, Resource "bench-noop" (the queue). For each K of --inflight,
//       K client threads each keep one execution in flight (Executions.StartSync) and K worker threads
//       poll "bench-noop" and complete each task with its input, for --seconds after --warmup:
//         tasks/s (= executions/s), p50/p99 of StartSync (start -> task queued -> polled -> completed ->
//         execution done), CPU per task.
//   w2tasks: W2 with each step a Task state: 10 Task states (Resource "bench-step") completed one after
//       another by the workers, K in flight by StartSync: executions/s, p50/p99 (RESULT engine
//       "stepflow-tasks"): each step is then its own commit and worker round trip, as each of Restate's
//       ctx.run steps is its own journal append and service round trip.
//   w4: --executions executions of 10 Task states (Resource "bench-retry"), each with
//       Retry [{ErrorEquals [States.ALL], IntervalSeconds 1, MaxAttempts 2, BackoffRate 2}] and no Catch,
//       started at once; 16 worker threads fail the first attempt of every task and every attempt of 1% of
//       the tasks (state T9 of every 10th execution), which end in the dead-letter list and fail their
//       execution. The workers count the executions that end (a last step completed, a last attempt failed),
//       as BullMQ's worker tells its driver; the driver lists the running ones when that count is full (and
//       once a second before), instead of every 10 ms for the whole run.
//       First the same executions without failures (the baseline), then with:
//         executions/s, dead letters (DeadLetters.List), CPU per retry ((server + this process's CPU with
//         failures - without) / retries), each retry's delay (the attempt failed -> the retry polled,
//         bench/w4_rule.h W4Attempts) against the expected 1000 / 2000 ms.
//
// --worker-command CMD: the workers are not threads of this process but one external worker
// process per level of --inflight, started as `CMD ADDRESS QUEUE K` (through /bin/sh, so CMD may hold
// arguments; K = the level's in-flight count, the worker's concurrency). task_bench waits for the process to
// print a line "ready" on stdout (at most 60 s), measures as with its own workers, reads the process's CPU
// time (/proc/PID/stat utime + stime) around the measurement, then stops it with SIGTERM and waits for it
// (SIGKILL after 60 s). The RESULT line's engine is "stepflow-NAME" (--worker-name NAME, default "external").
// bench/sdk/ holds the no-op workers of the C++, Python and TypeScript SDKs. With w4, one worker process per
// run, started as `CMD ADDRESS bench-retry 64 w4-fail` (or `w4-complete` for the run without failures): it
// fails the attempts of bench/w4_rule.h, prints "ended" once it has handled the report that ends an execution,
// and, as its last line when it stops, "w4 attempts=N retries=M delays1=MS,... delays2=MS,..." (the C++ SDK's
// bench worker does; bench/sdk/cpp_worker.cc). Every RESULT line of W3/W2
// gives worker_cpu_ms_per_task: the worker process's CPU, or, for the built-in worker threads, the CPU time
// of those threads (CLOCK_THREAD_CPUTIME_ID), per task they completed, and server_commits_per_exec: the
// server's write batches (stepflow_commits_total of its /metrics, when task_bench started it) per execution.
//
// Every RESULT line names the durability mode. When the server does not implement Tasks (UNIMPLEMENTED),
// prints "stepflow W3: skipped (Tasks service not available: ...)" and exits 0.
//
// Usage: task_bench --workload w3|w4|w2tasks [--inflight 1,64] [--seconds 5] [--warmup 1] [--executions 200]
//                   [--durability sync|async] [--partitions N] [--server HOST:PORT] [--store rocksdb|postgres]
//                   [--worker-command CMD [--worker-name NAME]] [--lazy-task-start] [--batched]
// --batched: the worker threads use the batched calls instead of Poll and Complete or Fail: two threads per
// level (W4: two threads of 64), each asking Tasks.PollBatch for up to K tasks and reporting all it got in one
// Tasks.ReportBatch, which asks for up to K new tasks (its polls): the next tasks come back with the reports,
// as with the SDK workers. The RESULT line's engine is "stepflow-batched" (W3, W4) or
// "stepflow-tasks-batched" (W2).
// --w4-runs baseline|failures (w4) makes one of its two runs alone and prints its attempts and retries: with
// --server, a profiler on the server (`perf stat -e instructions:u -p PID`) over a failures run minus a
// baseline run, each on a fresh server, gives the server's work per retry.
// --lazy-task-start starts the server with --lazy-task-start (TaskStarted committed with the result); every
// RESULT line's durability then says so.
// --store postgres runs the server on the PostgreSQL store, in a private PostgreSQL (fsync on) started for
// the run (storage/postgres/testing/private_postgres.h).
// --nodes N (with --store postgres; w3 and w2tasks with the built-in workers) runs against N `stepflow server`
// nodes over one database (bench/cluster_nodes.h), 64 logical partitions. Client thread t calls node t mod N;
// each node has a worker of its own (K poll threads calling that node only), since a node hands out the tasks
// of the partitions it serves. Server CPU and commits are summed over the nodes, and the database's CPU
// (PostgreSQL and its backends) is given beside them. RESULT workload "cluster-W3" (or "cluster-W2"), case
// "nodes=N inflight=K" (bench/bench.sh ONLY=cluster).

#include <grpcpp/grpcpp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "bench/cluster_nodes.h"
#include "bench/w4_rule.h"
#include "common/writer_threads.h"
#include "absl/strings/str_format.h"
#include "stepflow/v1/stepflow.grpc.pb.h"
#include "storage/postgres/testing/private_postgres.h"
#include "tests/integration/process.h"

namespace stepflow::bench {
namespace {

namespace v1 = ::stepflow::v1;
using namespace std::chrono_literals;

constexpr int kSteps = 10;

struct Flags {
  std::string workload = "w3";
  std::vector<int> inflight = {1, 64};
  double seconds = 5;
  double warmup = 1;
  int executions = 200;
  std::string durability = "sync";
  int partitions = 0;
  std::string server;
  std::string store = "rocksdb";  // rocksdb | postgres
  std::string worker_command;     // "": worker threads of this process
  std::string worker_name = "external";
  bool lazy_task_start = false;   // the server's --lazy-task-start
  int nodes = 0;                  // > 0: that many cluster nodes (--store postgres)
  bool batched = false;           // the worker threads use Tasks.PollBatch and Tasks.ReportBatch
  std::string w4_runs = "both";   // w4: both | baseline | failures (one run alone, for a profiler on --server)
};

// Logical partitions of the store the cluster figures create (the server's default for a new store).
constexpr int kClusterPartitions = 64;

[[noreturn]] void Usage(const std::string& what) {
  std::fprintf(stderr,
               "task_bench: %s\nusage: task_bench --workload w3|w4|w2tasks [--inflight 1,64] [--seconds S] [--warmup S] "
               "[--executions N]\n"
               "                  [--durability sync|async] [--partitions N] [--server HOST:PORT] "
               "[--store rocksdb|postgres [--nodes N]]\n"
               "                  [--worker-command CMD [--worker-name NAME]] [--lazy-task-start] [--batched]\n"
               "                  [--w4-runs both|baseline|failures]\n",
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
    if (arg == "--workload") {
      f.workload = next();
      if (f.workload != "w3" && f.workload != "w4" && f.workload != "w2tasks") {
        Usage("--workload is w3, w4 or w2tasks");
      }
    } else if (arg == "--inflight") {
      f.inflight = ParseIntList(next());
    } else if (arg == "--seconds") {
      f.seconds = std::stod(next());
    } else if (arg == "--warmup") {
      f.warmup = std::stod(next());
    } else if (arg == "--executions") {
      f.executions = std::stoi(next());
    } else if (arg == "--durability") {
      f.durability = next();
    } else if (arg == "--lazy-task-start") {
      f.lazy_task_start = true;
    } else if (arg == "--batched") {
      f.batched = true;
    } else if (arg == "--w4-runs") {
      f.w4_runs = next();
      if (f.w4_runs != "both" && f.w4_runs != "baseline" && f.w4_runs != "failures") {
        Usage("--w4-runs is both, baseline or failures");
      }
    } else if (arg == "--partitions") {
      f.partitions = std::stoi(next());
    } else if (arg == "--server") {
      f.server = next();
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
    } else if (arg == "--worker-command") {
      f.worker_command = next();
      if (f.worker_command.empty() || f.worker_command.size() > 4096) {
        Usage("--worker-command needs a command of 1 to 4096 characters");
      }
    } else if (arg == "--worker-name") {
      f.worker_name = next();
      if (f.worker_name.empty() || f.worker_name.size() > 64 ||
          f.worker_name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
        Usage("--worker-name is 1 to 64 characters of a-z, 0-9 and '-'");
      }
    } else {
      Usage("unknown argument '" + arg + "'");
    }
  }
  if (f.nodes > 0 && (f.store != "postgres" || !f.server.empty() || f.workload == "w4" || !f.worker_command.empty())) {
    Usage("--nodes needs --store postgres and --workload w3 or w2tasks, without --server or --worker-command");
  }
  if (f.batched && (f.nodes > 0 || !f.worker_command.empty())) {
    Usage("--batched runs with the built-in worker threads, on one node");
  }
  return f;
}

// CPU seconds of the calling thread.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A worker process of --worker-command: started by Start, which returns once it printed "ready"; its
// further stdout goes line by line to Start's `on_line`, or else to this process's stderr. Stop() sends
// SIGTERM and reaps it.
class ExternalWorker {
 public:
  // Each line the worker prints after "ready" goes to `on_line` (on a thread of its own), or to stderr.
  using LineHandler = std::function<void(const std::string& line)>;
  static absl::StatusOr<std::unique_ptr<ExternalWorker>> Start(const std::string& command,
                                                               const std::vector<std::string>& args,
                                                               LineHandler on_line = nullptr) {
    int fds[2];
    if (pipe(fds) != 0) {
      return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    }
    const std::string script = absl::StrCat("exec ", command, " \"$@\"");
    std::vector<const char*> argv = {"sh", "-c", script.c_str(), "sh"};
    for (const std::string& a : args) {
      argv.push_back(a.c_str());
    }
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
      return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
    }
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execv("/bin/sh", const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    close(fds[1]);
    auto w = std::unique_ptr<ExternalWorker>(new ExternalWorker(pid, fds[0]));
    // Lines until "ready", at most 60 s.
    const auto deadline = Clock::now() + 60s;
    std::string line;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd p{w->out_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) == 0) {
        w->Stop();
        return absl::DeadlineExceededError(absl::StrCat("worker '", command, "' printed no \"ready\" within 60 s"));
      }
      char c;
      const ssize_t n = read(w->out_, &c, 1);
      if (n <= 0) {
        const int status = w->Stop();
        return absl::FailedPreconditionError(
            absl::StrCat("worker '", command, "' exited before it printed \"ready\" (wait status ", status, ")"));
      }
      if (c != '\n') {
        line.push_back(c);
        continue;
      }
      if (line == "ready") {
        break;
      }
      std::fprintf(stderr, "# worker: %s\n", line.c_str());
      line.clear();
    }
    w->forward_ = std::thread([fd = w->out_, on_line = std::move(on_line)] {
      char buf[4096];
      ssize_t n;
      std::string partial;
      while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (!on_line) {
          std::fwrite(buf, 1, static_cast<std::size_t>(n), stderr);
          continue;
        }
        partial.append(buf, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t end; (end = partial.find('\n', start)) != std::string::npos; start = end + 1) {
          on_line(partial.substr(start, end - start));
        }
        partial.erase(0, start);
      }
    });
    return w;
  }

  ExternalWorker(const ExternalWorker&) = delete;
  ExternalWorker& operator=(const ExternalWorker&) = delete;
  ~ExternalWorker() { Stop(); }

  pid_t pid() const { return pid_; }

  // SIGTERM (the SDK workers drain on it), SIGKILL after 60 s; the wait status (-1 when already stopped).
  int Stop() {
    if (pid_ <= 0) {
      return -1;
    }
    kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = Clock::now() + 60s;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
    if (forward_.joinable()) {
      forward_.join();
    }
    close(out_);
    return status;
  }

 private:
  ExternalWorker(pid_t pid, int out) : pid_(pid), out_(out) {}
  pid_t pid_;
  int out_;
  std::thread forward_;
};

// W4 --batched and --worker-command: the tasks a worker holds at once (BullMQ's W4 worker runs 64 jobs at once):
// each of the two batched threads, or the external worker's concurrency.
constexpr int kW4WorkerTasks = 64;

// Stubs over a few channels (one HTTP/2 connection per 16 threads).
class Connection {
 public:
  explicit Connection(const std::string& address, int channels) {
    for (int i = 0; i < std::max(1, channels); ++i) {
      grpc::ChannelArguments args;
      args.SetInt("grpc.use_local_subchannel_pool", 1);  // a connection of its own per channel
      auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
      channel->WaitForConnected(std::chrono::system_clock::now() + 10s);
      executions_.push_back(v1::Executions::NewStub(channel));
      tasks_.push_back(v1::Tasks::NewStub(channel));
      machines_.push_back(v1::StateMachines::NewStub(channel));
      dead_letters_.push_back(v1::DeadLetters::NewStub(channel));
    }
  }
  v1::Executions::Stub& executions(int t) { return *executions_[t % executions_.size()]; }
  v1::Tasks::Stub& tasks(int t) { return *tasks_[t % tasks_.size()]; }
  v1::StateMachines::Stub& machines() { return *machines_[0]; }
  v1::DeadLetters::Stub& dead_letters() { return *dead_letters_[0]; }

 private:
  std::vector<std::unique_ptr<v1::Executions::Stub>> executions_;
  std::vector<std::unique_ptr<v1::Tasks::Stub>> tasks_;
  std::vector<std::unique_ptr<v1::StateMachines::Stub>> machines_;
  std::vector<std::unique_ptr<v1::DeadLetters::Stub>> dead_letters_;
};

void Deadline(grpc::ClientContext& ctx, std::chrono::milliseconds d) {
  ctx.set_deadline(std::chrono::system_clock::now() + d);
}

std::string StatusText(const grpc::Status& s) {
  return absl::StrCat(static_cast<int>(s.error_code()), " ", s.error_message());
}

class TaskBench {
 public:
  explicit TaskBench(Flags flags) : flags_(std::move(flags)) {}

  int Run() {
    std::string address = flags_.server;
    if (flags_.nodes > 0 || address.empty()) {
      temp_dir_ = std::make_unique<itest::TempDir>();  // the servers' data directories
    }
    if (flags_.nodes > 0) {
      storage::testing::PrivatePostgres::Options options;
      options.fsync = true;  // durable commits, as RocksDB's synced WAL
      absl::StatusOr<std::unique_ptr<storage::testing::PrivatePostgres>> pg =
          storage::testing::PrivatePostgres::Start(options);
      if (absl::IsNotFound(pg.status())) {
        std::printf("stepflow %s: skipped (cluster figures: %s)\n", flags_.workload == "w3" ? "W3" : "W2",
                    std::string(pg.status().message()).c_str());
        return 0;
      }
      if (!pg.ok()) {
        std::fprintf(stderr, "task_bench: cannot start PostgreSQL: %s\n", pg.status().ToString().c_str());
        return 1;
      }
      postgres_ = std::move(*pg);
      absl::StatusOr<std::unique_ptr<ClusterNodes>> started = ClusterNodes::Start(
          flags_.nodes, kClusterPartitions, *postgres_, *temp_dir_, {"--durability", flags_.durability});
      if (!started.ok()) {
        std::fprintf(stderr, "task_bench: %s\n", started.status().ToString().c_str());
        return 1;
      }
      cluster_ = std::move(*started);
      address = cluster_->addresses().front();
    } else if (address.empty()) {
      std::vector<std::string> args = {"--durability", flags_.durability};
      if (flags_.lazy_task_start) {
        args.push_back("--lazy-task-start");
      }
      if (flags_.partitions > 0) {
        args.push_back("--partitions");
        args.push_back(std::to_string(flags_.partitions));
      }
      if (flags_.store == "postgres") {
        storage::testing::PrivatePostgres::Options options;
        options.fsync = true;  // durable commits, as RocksDB's synced WAL
        absl::StatusOr<std::unique_ptr<storage::testing::PrivatePostgres>> pg =
            storage::testing::PrivatePostgres::Start(options);
        absl::StatusOr<std::string> db = pg.ok() ? (*pg)->CreateDatabase() : pg.status();
        if (!db.ok()) {
          std::fprintf(stderr, "task_bench: cannot start PostgreSQL: %s\n", db.status().ToString().c_str());
          return 1;
        }
        postgres_ = std::move(*pg);
        args.push_back("--store");
        args.push_back("postgres:" + *db);
      }
      absl::StatusOr<std::unique_ptr<itest::ServerProcess>> s =
          itest::ServerProcess::Start(temp_dir_->path() + "/data", args);
      if (!s.ok()) {
        std::fprintf(stderr, "task_bench: %s\n", s.status().ToString().c_str());
        return 1;
      }
      server_ = std::move(*s);
      address = server_->address();
    }
    address_ = address;
    int max_inflight = 16;
    for (int k : flags_.inflight) {
      max_inflight = std::max(max_inflight, k);
    }
    conn_ = std::make_unique<Connection>(address, (2 * max_inflight + 15) / 16);
    if (cluster_ != nullptr) {
      for (const std::string& node : cluster_->addresses()) {
        node_conns_.push_back(std::make_unique<Connection>(node, (2 * max_inflight + 15) / 16));
      }
    }
    std::printf("# task_bench %s on %u CPUs, store=%s, durability=%s, server %s\n", flags_.workload.c_str(),
                std::thread::hardware_concurrency(), flags_.store.c_str(), flags_.durability.c_str(), address.c_str());
    std::fflush(stdout);
    std::string unavailable = TasksUnavailable();
    int rc = 0;
    if (!unavailable.empty()) {
      std::printf("stepflow %s: skipped (Tasks service not available: %s)\n",
                  flags_.workload == "w3" ? "W3" : flags_.workload == "w4" ? "W4" : "W2 (Task states)",
                  unavailable.c_str());
    } else if (flags_.workload == "w3") {
      rc = W3() ? 0 : 1;
    } else if (flags_.workload == "w2tasks") {
      rc = W2Tasks() ? 0 : 1;
    } else {
      rc = W4() ? 0 : 1;
    }
    conn_.reset();
    node_conns_.clear();
    if (server_ != nullptr) {
      server_->Stop(SIGTERM);
    }
    if (cluster_ != nullptr) {
      cluster_->Stop();
    }
    return rc;
  }

 private:
  std::string DurabilityLabel() const {
    return absl::StrCat(flags_.durability == "sync" ? "WAL fsync before ack (--durability sync)"
                                                     : "WAL written, not synced (--durability async)",
                        ", partitions ",
                        flags_.partitions > 0 ? std::to_string(flags_.partitions)
                                              : absl::StrCat("auto(", common::DefaultWriterThreads(), ")"),
                        flags_.store == "postgres" ? ", store postgres" : "",
                        flags_.lazy_task_start ? ", --lazy-task-start" : "");
  }

  double ServerCpu() const {
    return cluster_ != nullptr ? cluster_->ServerCpuSeconds() : server_ != nullptr ? ProcessCpuSeconds(server_->pid()) : 0;
  }

  // The connection of client or worker thread `t`: with several nodes, node t mod N's.
  Connection& ConnFor(int t) { return node_conns_.empty() ? *conn_ : *node_conns_[t % node_conns_.size()]; }

  // The server's stepflow_commits_total (GET /metrics on its HTTP address); -1 when unknown (--server, or the
  // request failed).
  double ServerCommits() const {
    if (server_ == nullptr && cluster_ == nullptr) {
      return -1;
    }
    double total = 0;
    for (const std::string& http : cluster_ != nullptr ? cluster_->http_addresses()
                                                       : std::vector<std::string>{server_->http_address()}) {
      const double commits = MetricValue(http, "stepflow_commits_total");
      if (commits < 0) {
        return -1;
      }
      total += commits;
    }
    return total;
  }

  // "" when Tasks.Poll answers; else why not (e.g. UNIMPLEMENTED).
  std::string TasksUnavailable() {
    grpc::ClientContext ctx;
    Deadline(ctx, 5s);
    v1::PollTaskRequest req;
    req.set_queue("bench-probe");
    req.set_worker_identity("task_bench-probe");
    req.set_wait_seconds(1);
    v1::PollTaskResponse resp;
    grpc::Status s = conn_->tasks(0).Poll(&ctx, req, &resp);
    if (s.ok()) {
      return "";
    }
    return absl::StrCat(s.error_code() == grpc::StatusCode::UNIMPLEMENTED ? "UNIMPLEMENTED: " : "",
                        StatusText(s));
  }

  bool CreateMachine(const std::string& name, const std::string& definition) {
    grpc::ClientContext ctx;
    Deadline(ctx, 30s);
    v1::CreateStateMachineRequest req;
    req.set_name(name);
    req.set_definition(definition);
    v1::StateMachine sm;
    grpc::Status s = conn_->machines().Create(&ctx, req, &sm);
    if (!s.ok()) {
      std::fprintf(stderr, "task_bench: create %s: %s\n", name.c_str(), StatusText(s).c_str());
      return false;
    }
    return true;
  }

  // Worker threads: poll `queue` until `stop`, and hand each task to `handle`, which Completes or Fails it.
  using Handler = std::function<void(int thread, const v1::PollTaskResponse& task)>;
  std::vector<std::thread> StartWorkers(int n, const std::string& queue, std::atomic<bool>& stop,
                                        const Handler& handle) {
    std::vector<std::thread> workers;
    for (int t = 0; t < n; ++t) {
      workers.emplace_back([&, t, handle, queue] {
        const std::string identity = absl::StrCat("task_bench-", t);
        while (!stop.load()) {
          grpc::ClientContext ctx;
          Deadline(ctx, 10s);
          v1::PollTaskRequest req;
          req.set_queue(queue);
          req.set_worker_identity(identity);
          req.set_wait_seconds(1);
          v1::PollTaskResponse task;
          grpc::Status s = ConnFor(t).tasks(1000 + t).Poll(&ctx, req, &task);
          if (!s.ok()) {
            NotePollFailure(s);
            std::this_thread::sleep_for(10ms);
            continue;
          }
          if (!task.task_token().empty()) {
            handle(t, task);
          }
        }
        worker_thread_cpu_ns_ += static_cast<long long>(ThreadCpuSeconds() * 1e9);
      });
    }
    return workers;
  }

  // Batched worker threads (--batched): min(k, 2) threads. Each asks Tasks.PollBatch for up to k tasks at
  // once, `decide`s a report for each (complete or fail) and sends them all in one Tasks.ReportBatch, which
  // also asks for up to k new tasks (its `polls`, as the SDK workers' calls do; the thread holds none once it
  // has reported them): the tasks the reports' commits schedule, and then those waiting, come back in its
  // answer, and the thread goes on with those before it polls again. (Asking only for as many as it reported
  // starves the queue: the tasks of new executions wait there until a thread runs out of tasks.) `reported`
  // is called for each report the server accepted. A thread that sees `stop` asks for no more tasks and
  // reports the ones it holds before it ends, so no task is left started without a worker.
  using BatchDecide = std::function<void(const v1::PollTaskResponse& task, v1::TaskReport* report)>;
  using BatchReported = std::function<void(const v1::PollTaskResponse& task, const v1::TaskReport& report)>;
  std::vector<std::thread> StartBatchedWorkers(int k, const std::string& queue, std::atomic<bool>& stop,
                                               const BatchDecide& decide, const BatchReported& reported) {
    std::vector<std::thread> workers;
    for (int t = 0; t < std::min(k, 2); ++t) {
      workers.emplace_back([&, t, k, queue, decide, reported] {
        const std::string identity = absl::StrCat("task_bench-batched-", t);
        const int max_tasks = std::min(k, 256);
        google::protobuf::RepeatedPtrField<v1::PollTaskResponse> held;
        for (;;) {
          if (held.empty()) {
            if (stop.load()) {
              break;
            }
            grpc::ClientContext ctx;
            Deadline(ctx, 10s);
            v1::PollTaskBatchRequest req;
            req.set_queue(queue);
            req.set_worker_identity(identity);
            req.set_wait_seconds(1);
            req.set_max_tasks(max_tasks);
            v1::PollTaskBatchResponse polled;
            grpc::Status s = conn_->tasks(1000 + t).PollBatch(&ctx, req, &polled);
            if (!s.ok()) {
              NotePollFailure(s);
              std::this_thread::sleep_for(10ms);
              continue;
            }
            held.Swap(polled.mutable_tasks());
            if (held.empty()) {
              continue;
            }
          }
          v1::ReportTaskBatchRequest reports;
          for (const v1::PollTaskResponse& task : held) {
            decide(task, reports.add_reports());
          }
          if (!stop.load()) {
            v1::PollTaskBatchRequest* poll = reports.add_polls();
            poll->set_queue(queue);
            poll->set_worker_identity(identity);
            poll->set_max_tasks(max_tasks);  // all reported: the thread has room for max_tasks again
          }
          grpc::ClientContext rctx;
          Deadline(rctx, 30s);
          v1::ReportTaskBatchResponse results;
          grpc::Status s = conn_->tasks(1000 + t).ReportBatch(&rctx, reports, &results);
          std::string failure = s.ok() ? "" : StatusText(s);
          for (int i = 0; i < results.results_size() && i < held.size(); ++i) {
            const v1::TaskReportResult& r = results.results(i);
            if (r.code() == 0) {
              reported(held.Get(i), reports.reports(i));
            } else if (failure.empty()) {
              failure = r.message();
            }
          }
          if (!failure.empty()) {
            NoteReportFailure("ReportBatch", failure);
          }
          held.Swap(results.mutable_tasks());
        }
        worker_thread_cpu_ns_ += static_cast<long long>(ThreadCpuSeconds() * 1e9);
      });
    }
    return workers;
  }

  bool Complete(int t, const std::string& token, const std::string& output) {
    grpc::ClientContext ctx;
    Deadline(ctx, 30s);
    v1::CompleteTaskRequest req;
    req.set_task_token(token);
    req.set_output(output);
    v1::CompleteTaskResponse resp;
    grpc::Status s = ConnFor(t).tasks(1000 + t).Complete(&ctx, req, &resp);
    if (!s.ok()) {
      NoteReportFailure("Complete", StatusText(s));
    }
    return s.ok();
  }

  bool Fail(int t, const std::string& token) {
    grpc::ClientContext ctx;
    Deadline(ctx, 30s);
    v1::FailTaskRequest req;
    FailOnPurpose(token, &req);
    v1::FailTaskResponse resp;
    grpc::Status s = conn_->tasks(1000 + t).Fail(&ctx, req, &resp);
    if (!s.ok()) {
      NoteReportFailure("Fail", StatusText(s));
    }
    return s.ok();
  }

  // W4's failure of an attempt.
  static void FailOnPurpose(const std::string& token, v1::FailTaskRequest* req) {
    req->set_task_token(token);
    req->set_error(kW4FailError);
    req->set_cause("task_bench fails this attempt on purpose");
  }

  // The no-op worker's report: the task completed with its input.
  static void CompleteWithInput(const v1::PollTaskResponse& task, v1::TaskReport* report) {
    v1::CompleteTaskRequest* c = report->mutable_complete();
    c->set_task_token(task.task_token());
    c->set_output(task.input());
  }

  // The first failed poll and the first failed report are kept (ReportWorkerProblems prints them); all are
  // counted.
  void NotePollFailure(const grpc::Status& s) {
    if (poll_failures_++ == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      first_poll_failure_ = StatusText(s);
    }
  }
  void NoteReportFailure(absl::string_view call, const std::string& message) {
    if (report_failures_++ == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      first_report_failure_ = absl::StrCat(call, ": ", message);
    }
  }

  void ReportWorkerProblems(const char* what) {
    if (poll_failures_ > 0 || report_failures_ > 0) {
      std::printf("# %s: %d poll failures (first: %s), %d complete/fail failures (first: %s)\n", what,
                  poll_failures_.load(), first_poll_failure_.c_str(), report_failures_.load(),
                  first_report_failure_.c_str());
    }
  }

  // W2 as Task states: `steps` Task states in a chain (Resource "bench-step"), each completed by a worker.
  static std::string TaskChainDefinition(int steps, const std::string& queue) {
    std::string states;
    for (int s = 0; s < steps; ++s) {
      absl::StrAppend(&states, s == 0 ? "" : ",", "\"T", s, "\":{\"Type\":\"Task\",\"Resource\":\"", queue, "\",",
                      s + 1 < steps ? absl::StrCat("\"Next\":\"T", s + 1, "\"") : std::string("\"End\":true"), "}");
    }
    return absl::StrCat("{\"StartAt\":\"T0\",\"States\":{", states, "}}");
  }

  bool W3() { return RoundTrip("W3", "bench-noop-task", TaskChainDefinition(1, "bench-noop"), "bench-noop", 1); }

  bool W2Tasks() {
    return RoundTrip("W2", "bench-ten-tasks", TaskChainDefinition(kSteps, "bench-step"), "bench-step", kSteps);
  }

  // K client threads each keep one execution of `machine` in flight (StartSync) while K workers poll
  // `queue` and complete every task with its input. W3: one Task state (tasks/s). W2: 10 Task states, engine
  // "stepflow-tasks" in the RESULT line (executions/s).
  // With --worker-command, one external worker process of concurrency K per level instead of the threads.
  bool RoundTrip(const std::string& workload, const std::string& machine, const std::string& definition,
                 const std::string& queue, int tasks_per_execution) {
    const bool external = !flags_.worker_command.empty();
    if (!CreateMachine(machine, definition)) {
      return false;
    }
    const bool w3 = workload == "W3";
    const std::string input = R"({"order":"o-1","items":[1,2,3],"note":"bench"})";
    for (int k : flags_.inflight) {
      std::atomic<bool> stop{false};
      std::atomic<long> tasks{0};
      std::vector<std::thread> workers;
      std::unique_ptr<ExternalWorker> worker_process;
      const long long thread_cpu_ns0 = worker_thread_cpu_ns_.load();
      if (external) {
        absl::StatusOr<std::unique_ptr<ExternalWorker>> w =
            ExternalWorker::Start(flags_.worker_command, {address_, queue, std::to_string(k)});
        if (!w.ok()) {
          std::fprintf(stderr, "task_bench: %s\n", w.status().ToString().c_str());
          return false;
        }
        worker_process = std::move(*w);
      } else if (flags_.batched) {
        workers = StartBatchedWorkers(k, queue, stop, CompleteWithInput,
                                      [&](const v1::PollTaskResponse&, const v1::TaskReport&) { ++tasks; });
      } else {
        // With several nodes, a worker of K threads per node (thread t polls node t mod N).
        const int nodes = std::max<int>(1, static_cast<int>(node_conns_.size()));
        workers = StartWorkers(k * nodes, queue, stop, [&](int t, const v1::PollTaskResponse& task) {
          if (Complete(t, task.task_token(), task.input())) {
            ++tasks;
          }
        });
      }
      const double worker_cpu0 = external ? ProcessCpuSeconds(worker_process->pid()) : 0;
      const auto t0 = Clock::now();
      const auto measure_from = t0 + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(flags_.warmup));
      const auto measure_to = measure_from + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(flags_.seconds));
      std::vector<double> latencies;
      std::atomic<int> failures{0};
      std::atomic<int> completed{0};
      std::atomic<long> in_window{0};
      std::string first_failure;
      const double server_cpu0 = ServerCpu();
      const double db_cpu0 = cluster_ != nullptr ? cluster_->DatabaseCpuSeconds() : -1;
      const double commits0 = ServerCommits();
      const double self_cpu0 = SelfCpuSeconds();
      std::vector<std::thread> clients;
      for (int t = 0; t < k; ++t) {
        clients.emplace_back([&, t] {
          std::vector<double> mine;
          for (;;) {
            auto start = Clock::now();
            if (start >= measure_to) {
              break;
            }
            grpc::ClientContext ctx;
            Deadline(ctx, 60s);
            v1::StartExecutionRequest req;
            req.set_state_machine(machine);
            req.set_input(input);
            v1::Execution e;
            grpc::Status s = ConnFor(t).executions(t).StartSync(&ctx, req, &e);
            auto done = Clock::now();
            if (!s.ok() || e.status() != v1::SUCCEEDED) {
              if (failures++ == 0) {
                std::lock_guard<std::mutex> lock(mu_);
                first_failure = s.ok() ? absl::StrCat(v1::ExecutionStatus_Name(e.status()), " ", e.error(), " ",
                                                      e.cause())
                                       : StatusText(s);
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
          std::lock_guard<std::mutex> lock(mu_);
          latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
      }
      for (auto& t : clients) {
        t.join();
      }
      const double server_cpu = ServerCpu() - server_cpu0;
      const double db_cpu = cluster_ != nullptr ? cluster_->DatabaseCpuSeconds() - db_cpu0 : -1;
      const double commits1 = ServerCommits();
      const double self_cpu = SelfCpuSeconds() - self_cpu0;
      double worker_cpu = 0;
      if (external) {
        worker_cpu = ProcessCpuSeconds(worker_process->pid()) - worker_cpu0;
        tasks = static_cast<long>(completed.load()) * tasks_per_execution;
        const int status = worker_process->Stop();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          std::printf("# worker '%s' ended with wait status %d\n", flags_.worker_command.c_str(), status);
        }
      }
      stop = true;
      for (auto& t : workers) {
        t.join();
      }
      if (!external) {
        worker_cpu = static_cast<double>(worker_thread_cpu_ns_.load() - thread_cpu_ns0) / 1e9;
      }
      const std::string engine = absl::StrCat(external ? "stepflow-" + flags_.worker_name
                                              : w3     ? "stepflow"
                                                       : "stepflow-tasks",
                                              flags_.batched ? "-batched" : "");
      std::sort(latencies.begin(), latencies.end());
      const double per_s = static_cast<double>(in_window.load()) / flags_.seconds;
      const int done = std::max(1, completed.load());
      const double worker_ms_per_task = tasks > 0 ? 1000 * worker_cpu / static_cast<double>(tasks.load()) : 0.0;
      std::printf("stepflow %s %s worker=%s nodes=%d inflight=%d durability=%s executions=%zu tasks=%ld per_s=%.0f "
                  "p50_ms=%.2f p99_ms=%.2f worker_cpu_ms_per_task=%.3f server_cpu_ms_per_exec=%.3f failures=%d\n",
                  workload.c_str(), machine.c_str(),
                  external ? flags_.worker_name.c_str() : flags_.batched ? "batched-threads" : "threads",
                  cluster_ != nullptr ? cluster_->size() : 1, k, flags_.durability.c_str(), latencies.size(),
                  tasks.load(), per_s, Percentile(latencies, 0.5), Percentile(latencies, 0.99), worker_ms_per_task,
                  1000 * server_cpu / done, failures.load());
      // Several nodes: workload "cluster-W3" / "cluster-W2", case "nodes=N inflight=K", and the database's CPU.
      const std::string result_workload = cluster_ != nullptr ? "cluster-" + workload : workload;
      const std::string result_case = cluster_ != nullptr ? absl::StrCat("nodes=", cluster_->size(), " inflight=", k)
                                                          : absl::StrCat("inflight=", k);
      const std::string db_cpu_text =
          db_cpu >= 0 ? absl::StrFormat(",\"db_cpu_ms_per_exec\":%.3f", 1000 * db_cpu / done) : "";
      std::printf(
          "RESULT {\"engine\":\"%s\",\"workload\":\"%s\",\"case\":\"%s\",\"durability\":\"%s\","
          "\"metrics\":{\"%s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"failures\":%d,"
          "\"server_cpu_ms_per_exec\":%.3f,\"client_cpu_ms_per_exec\":%.3f,\"worker_cpu_ms_per_task\":%.3f%s%s}}\n",
          engine.c_str(), result_workload.c_str(), result_case.c_str(), DurabilityLabel().c_str(),
          w3 ? "tasks_per_s" : "exec_per_s", per_s, Percentile(latencies, 0.5), Percentile(latencies, 0.99),
          failures.load(), 1000 * server_cpu / done, 1000 * self_cpu / done, worker_ms_per_task,
          commits0 >= 0 && commits1 >= 0
              ? absl::StrFormat(",\"server_commits_per_exec\":%.2f", (commits1 - commits0) / done).c_str()
              : "",
          db_cpu_text.c_str());
      if (failures > 0) {
        std::printf("# first failure: %s\n", first_failure.c_str());
      }
      ReportWorkerProblems(w3 ? "W3 workers" : "W2 task workers");
      std::fflush(stdout);
    }
    return true;
  }

  struct W4Figures {
    double seconds = 0;
    double cpu = 0;
    long attempts = 0;
    long retries = 0;
    long succeeded = 0;
    long failed = 0;
    std::vector<double> delays[kW4MaxAttempts + 1];  // by retry number 1, 2
  };

  // An external W4 worker's last line, "w4 attempts=N retries=M delays1=MS,MS,... delays2=MS,...", into `out`
  // (the retry delays in ms, each from the failed attempt's handler call to the retry's: W4Attempts).
  static bool ParseW4WorkerCounts(const std::string& line, W4Figures& out) {
    bool attempts = false;
    bool retries = false;
    for (absl::string_view field : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(field, absl::MaxSplits('=', 1));
      if (kv.first == "attempts") {
        attempts = absl::SimpleAtoi(kv.second, &out.attempts);
      } else if (kv.first == "retries") {
        retries = absl::SimpleAtoi(kv.second, &out.retries);
      } else if (kv.first == "delays1" || kv.first == "delays2") {
        std::vector<double>& delays = out.delays[kv.first == "delays1" ? 1 : 2];
        for (absl::string_view ms : absl::StrSplit(kv.second, ',', absl::SkipEmpty())) {
          double d = 0;
          if (!absl::SimpleAtod(ms, &d)) {
            return false;
          }
          delays.push_back(d);
        }
      }
    }
    return attempts && retries;
  }

  static std::string RetryDefinition() {
    std::string states;
    for (int s = 0; s < kW4Steps; ++s) {
      absl::StrAppend(&states, s == 0 ? "" : ",", "\"T", s, "\":{\"Type\":\"Task\",\"Resource\":\"bench-retry\",",
                      "\"Retry\":[{\"ErrorEquals\":[\"States.ALL\"],\"IntervalSeconds\":1,\"MaxAttempts\":",
                      kW4MaxAttempts, ",",
                      "\"BackoffRate\":2}],",
                      s + 1 < kW4Steps ? absl::StrCat("\"Next\":\"T", s + 1, "\"") : std::string("\"End\":true"), "}");
    }
    return absl::StrCat("{\"StartAt\":\"T0\",\"States\":{", states, "}}");
  }

  // Counts the executions of `machine` with `status` (all pages).
  long CountExecutions(const std::string& machine, v1::ExecutionStatus status) {
    long n = 0;
    std::string token;
    do {
      grpc::ClientContext ctx;
      Deadline(ctx, 30s);
      v1::ListExecutionsRequest req;
      req.set_state_machine(machine);
      req.set_status(status);
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListExecutionsResponse resp;
      grpc::Status s = conn_->executions(0).List(&ctx, req, &resp);
      if (!s.ok()) {
        return -1;
      }
      n += resp.executions_size();
      token = resp.next_page_token();
    } while (!token.empty());
    return n;
  }

  long CountDeadLetters(const std::string& queue) {
    long n = 0;
    std::string token;
    do {
      grpc::ClientContext ctx;
      Deadline(ctx, 30s);
      v1::ListDeadLettersRequest req;
      req.mutable_filter()->set_queue(queue);
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListDeadLettersResponse resp;
      grpc::Status s = conn_->dead_letters().List(&ctx, req, &resp);
      if (!s.ok()) {
        return -1;
      }
      n += resp.dead_letters_size();
      token = resp.next_page_token();
    } while (!token.empty());
    return n;
  }

  // One run of W4's executions on state machine `machine`, failing tasks when `fail`.
  bool W4Run(const std::string& machine, bool fail, W4Figures& out) {
    const int n = flags_.executions;
    W4Attempts counts;
    std::atomic<bool> stop{false};
    // Executions whose last report the workers made (the last step's completion, or a last attempt's failure:
    // the definition has no Catch), as BullMQ's worker tells its driver of each execution's end. The driver
    // waits on this instead of listing the running executions over and over for the whole run.
    std::mutex ended_mu;
    std::condition_variable ended_cv;
    int ended = 0;
    auto end_one = [&] {
      std::lock_guard<std::mutex> lock(ended_mu);
      if (++ended == n) {
        ended_cv.notify_all();
      }
    };
    // Counts the attempt of `task` and its retry delay; true when the task is to fail: its first attempt, and
    // every attempt of the tasks that always fail.
    auto attempt_fails = [&](const v1::PollTaskResponse& task) {
      const v1::TaskContext& c = task.context();
      return counts.Attempt(c.execution_arn(), c.state_name(), c.attempt(), fail);
    };
    auto ends_execution = [](const v1::PollTaskResponse& task, bool failed) {
      return W4EndsExecution(task.context().state_name(), task.context().attempt(), failed);
    };
    std::vector<std::thread> workers;
    std::unique_ptr<ExternalWorker> worker_process;
    std::string worker_counts;  // the external worker's last line: its attempts, retries and retry delays
    if (!flags_.worker_command.empty()) {
      absl::StatusOr<std::unique_ptr<ExternalWorker>> w = ExternalWorker::Start(
          flags_.worker_command,
          {address_, "bench-retry", std::to_string(kW4WorkerTasks), fail ? "w4-fail" : "w4-complete"},
          [&](const std::string& line) {
            if (line == "ended") {
              end_one();
            } else if (absl::StartsWith(line, "w4 ")) {
              worker_counts = line;  // its last line, after the forwarding thread's last "ended"
            } else {
              std::fprintf(stderr, "# worker: %s\n", line.c_str());
            }
          });
      if (!w.ok()) {
        std::fprintf(stderr, "task_bench: %s\n", w.status().ToString().c_str());
        return false;
      }
      worker_process = std::move(*w);
    } else if (flags_.batched) {
      workers = StartBatchedWorkers(
          kW4WorkerTasks, "bench-retry", stop,
          [&](const v1::PollTaskResponse& task, v1::TaskReport* report) {
            if (attempt_fails(task)) {
              FailOnPurpose(task.task_token(), report->mutable_fail());
            } else {
              CompleteWithInput(task, report);
            }
          },
          [&](const v1::PollTaskResponse& task, const v1::TaskReport& report) {
            if (ends_execution(task, report.has_fail())) {
              end_one();
            }
          });
    } else {
      workers = StartWorkers(16, "bench-retry", stop, [&](int t, const v1::PollTaskResponse& task) {
        const bool failed = attempt_fails(task);
        if ((failed ? Fail(t, task.task_token()) : Complete(t, task.task_token(), task.input())) &&
            ends_execution(task, failed)) {
          end_one();
        }
      });
    }
    auto worker_process_cpu = [&] { return worker_process ? ProcessCpuSeconds(worker_process->pid()) : 0.0; };
    const double cpu0 = ServerCpu() + SelfCpuSeconds() + worker_process_cpu();
    const auto t0 = Clock::now();
    // Start every execution (8 threads), then wait until none runs.
    std::atomic<int> next{0};
    std::atomic<int> start_failures{0};
    std::vector<std::thread> starters;
    for (int t = 0; t < 8; ++t) {
      starters.emplace_back([&, t] {
        for (int i = next++; i < n; i = next++) {
          grpc::ClientContext ctx;
          Deadline(ctx, 30s);
          v1::StartExecutionRequest req;
          req.set_state_machine(machine);
          req.set_name(absl::StrCat("x", i));
          req.set_input(absl::StrCat("{\"execution\":", i, "}"));
          v1::Execution e;
          if (!conn_->executions(t).Start(&ctx, req, &e).ok()) {
            ++start_failures;
          }
        }
      });
    }
    for (auto& t : starters) {
      t.join();
    }
    bool ok = start_failures == 0;
    // Until none runs: a list of the running executions when the workers' count says all ended, and once a
    // second meanwhile (in case a report's answer was lost, or a start failed).
    for (;;) {
      grpc::ClientContext ctx;
      Deadline(ctx, 30s);
      v1::ListExecutionsRequest req;
      req.set_state_machine(machine);
      req.set_status(v1::RUNNING);
      req.set_page_size(1);
      v1::ListExecutionsResponse resp;
      grpc::Status s = conn_->executions(0).List(&ctx, req, &resp);
      if (s.ok() && resp.executions_size() == 0) {
        break;
      }
      if (Clock::now() - t0 > 300s) {
        std::fprintf(stderr, "task_bench: W4: executions still running after 300 s\n");
        ok = false;
        break;
      }
      std::unique_lock<std::mutex> lock(ended_mu);
      if (ended >= n) {
        ended_cv.wait_for(lock, 10ms);  // all ended by the count: the list catches up at once
      } else {
        ended_cv.wait_for(lock, 1s, [&] { return ended >= n; });
      }
    }
    out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    out.cpu = ServerCpu() + SelfCpuSeconds() + worker_process_cpu() - cpu0;
    stop = true;
    for (auto& t : workers) {
      t.join();
    }
    out.attempts = counts.attempts();
    out.retries = counts.retries();
    for (int retry = 1; retry <= kW4MaxAttempts; ++retry) {
      out.delays[retry] = counts.delays_ms(retry);
    }
    if (worker_process) {
      const int status = worker_process->Stop();  // joins the forwarding thread: worker_counts is final
      if (!ParseW4WorkerCounts(worker_counts, out)) {
        std::fprintf(stderr, "task_bench: W4: the worker exited (wait status %d) without its counts line: '%s'\n",
                     status, worker_counts.c_str());
        ok = false;
      }
    }
    out.succeeded = CountExecutions(machine, v1::SUCCEEDED);
    out.failed = CountExecutions(machine, v1::FAILED);
    if (start_failures > 0) {
      std::fprintf(stderr, "task_bench: W4: %d starts failed\n", start_failures.load());
    }
    return ok;
  }

  bool W4() {
    const std::string definition = RetryDefinition();
    if (!CreateMachine("bench-retry-baseline", definition) || !CreateMachine("bench-retry", definition)) {
      return false;
    }
    W4Figures base;
    W4Figures run;
    if (flags_.w4_runs != "both") {
      // One run alone: its attempts and retries, for a profiler attached to --server (the difference of a
      // failures run and a baseline run on fresh servers is the work of the retries).
      const bool fail = flags_.w4_runs == "failures";
      W4Figures& one = fail ? run : base;
      const bool ok = W4Run(fail ? "bench-retry" : "bench-retry-baseline", fail, one);
      std::printf("stepflow W4 %s executions=%d seconds=%.1f attempts=%ld retries=%ld succeeded=%ld\n",
                  flags_.w4_runs.c_str(), flags_.executions, one.seconds, one.attempts, one.retries, one.succeeded);
      ReportWorkerProblems("W4 workers");
      return ok;
    }
    if (!W4Run("bench-retry-baseline", false, base) || !W4Run("bench-retry", true, run)) {
      ReportWorkerProblems("W4 workers");
      return false;
    }
    const int n = flags_.executions;
    const long dead_letters = CountDeadLetters("bench-retry");
    for (auto& d : run.delays) {
      std::sort(d.begin(), d.end());
    }
    const double cost_per_retry = run.retries > 0 ? 1000 * (run.cpu - base.cpu) / static_cast<double>(run.retries) : 0;
    std::printf(
        "stepflow W4 executions=%d durability=%s seconds=%.1f succeeded=%ld failed=%ld dead_letters=%ld "
        "retries=%ld baseline_seconds=%.1f\n",
        n, flags_.durability.c_str(), run.seconds, run.succeeded, run.failed, dead_letters, run.retries,
        base.seconds);
    std::printf(
        "RESULT {\"engine\":\"%s\",\"workload\":\"W4\",\"case\":\"executions=%d\",\"durability\":\"%s\","
        "\"metrics\":{\"exec_per_s\":%.2f,\"baseline_exec_per_s\":%.1f,\"succeeded\":%ld,\"dead_letters\":%ld,"
        "\"retries\":%ld,\"cpu_ms_per_retry\":%.3f,\"cpu_ms_per_attempt\":%.3f,"
        "\"retry1_delay_p50_ms\":%.0f,\"retry1_delay_p99_ms\":%.0f,\"retry2_delay_p50_ms\":%.0f,"
        "\"retry2_delay_p99_ms\":%.0f,\"retry1_expected_ms\":1000,\"retry2_expected_ms\":2000}}\n",
        !flags_.worker_command.empty() ? absl::StrCat("stepflow-", flags_.worker_name).c_str()
        : flags_.batched               ? "stepflow-batched"
                                       : "stepflow",
        n, DurabilityLabel().c_str(), n / run.seconds, n / base.seconds,
        run.succeeded, dead_letters, run.retries,
        cost_per_retry, run.attempts > 0 ? 1000 * run.cpu / static_cast<double>(run.attempts) : 0.0,
        Percentile(run.delays[1], 0.5), Percentile(run.delays[1], 0.99), Percentile(run.delays[2], 0.5),
        Percentile(run.delays[2], 0.99));
    ReportWorkerProblems("W4 workers");
    std::fflush(stdout);
    return true;
  }

  Flags flags_;
  std::unique_ptr<storage::testing::PrivatePostgres> postgres_;  // with --store postgres
  std::unique_ptr<itest::TempDir> temp_dir_;
  std::unique_ptr<itest::ServerProcess> server_;
  std::unique_ptr<ClusterNodes> cluster_;  // with --nodes
  std::unique_ptr<Connection> conn_;
  std::vector<std::unique_ptr<Connection>> node_conns_;  // with --nodes: one per node
  std::string address_;  // the server's gRPC address, given to external workers
  std::mutex mu_;
  std::atomic<int> poll_failures_{0};
  std::atomic<int> report_failures_{0};
  std::atomic<long long> worker_thread_cpu_ns_{0};  // CPU of the worker threads that ended
  std::string first_poll_failure_;
  std::string first_report_failure_;
};

}  // namespace
}  // namespace stepflow::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  return stepflow::bench::TaskBench(stepflow::bench::ParseFlags(argc, argv)).Run();
}
