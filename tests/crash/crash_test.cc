// The crash test: the real `stepflow server` (sync WAL by default) on 127.0.0.1, killed with SIGKILL at
// seeded random moments while 1,000 executions of tests/crash/machines/*.asl.json (Pass chains, short Waits,
// Choice loops, Map, Parallel, all nested in one, Tasks served by `stepflow worker` processes) are started and
// run, and restarted each time on the same data directory (and the same port). Clients retry their starts by name after every crash (the same name and input must give
// back the same execution), and a prober starts already acknowledged executions again at random.
//
// After the last restart it waits until every execution has ended, then checks each one:
//   - it exists, finished, and has exactly one ExecutionStarted (first) and one terminal event (last),
//     consistent with its status; history ids are 1..n without gaps or duplicates (GetHistory, every page,
//     16 events a page);
//   - its status and output (or error and cause) equal what `stepflow run --time-skip` computes for the same
//     definition and input (computed once per distinct input, by the binary, while the crash loop runs);
//   - every acknowledged start, and every later start of the same name, returned the same execution (same
//     ARN and start time), and the server lists exactly the executions started, no more.
// Also: a Parallel retried after 1 s and caught under an execution TimeoutSeconds, and every fourth outage
// long enough for timers to fall due while the server is down (they must fire late, once, in due order).
// Tasks: machines with Task states on queue crash-echo (tasks.asl.json) are served by `stepflow worker`
// processes (--task-workers, restarted when they die) that poll the server's fixed port across every restart
// and run a shell command answering {"echo": INPUT, "marker": "echoed"}. Their expected results come from
// `stepflow run` of the same definition with each such Task replaced by the Pass state that computes that
// answer; their events must be the same with TaskStateEntered/Exited for the Pass events and one
// TaskScheduled, TaskStarted and TaskSucceeded per task, except that a task handed out as the server died
// (its TaskStarted committed, the answer lost) times out (States.HeartbeatTimeout) and is retried: each
// TaskTimedOut may add one TaskScheduled and one TaskStarted. No task token may be run twice.
// Replay: the server replays every RUNNING execution's input log at start-up (while it already serves) and
// quarantines one that mismatches (ReplayMismatch); every restart's log is waited on for its "recovered N
// running executions" line and checked for ReplayMismatch/error lines. Then the server is stopped (SIGTERM, exit 0), every execution -
// finished ones included - is rebuilt from its input log with the engine's replay code and compared with
// its stored record, and the server is started once more and must recover cleanly.
//
// Prints `crash: cycles=C executions=N checked=K lost=L duplicated=D mismatched=M` and `K passed, F failed`;
// exits 1 when anything failed. CTest runs it with the defaults (label "crash"), on PostgreSQL, and on three
// nodes over PostgreSQL (tests/crash/CMakeLists.txt); `make soak` runs long ones on three nodes and on RocksDB.
// By hand:
//   build/tests/crash/crash_test --cycles 100 --seed 7
//   build/tests/crash/crash_test --store postgres --nodes 3 --cycles 100 --seed 7
//
// Flags:
//   --cycles N           SIGKILLs (each followed by a restart). Default 20.
//   --executions N       executions started. Default 1000.
//   --seed S             seeds the kill moments and the prober. Default 1.
//   --distinct-inputs K  distinct (machine, input) pairs, i.e. `stepflow run`s for the expected results;
//                        each is shared by executions/K executions. Default 200.
//   --max-kill-ms MS     longest a server lives before its SIGKILL. Default 1500.
//   --max-outage-ms MS   longest wait before a restart, on every fourth kill (the others restart at once).
//                        Default 1500.
//   --workers N          client threads starting executions. Default 8.
//   --durability MODE    the server's --durability (sync|async). Default sync.
//   --partitions N       the server's --partitions. Default 0 (the server's default: one per two cores).
//   --snapshot-every N   the server's --snapshot-every (an execution's snapshot every N inputs; recovery
//                        replays the tail after it). Default: the server's default.
//   --machines-dir DIR   the definitions. Default: tests/crash/machines of the source tree.
//   --task-workers N     `stepflow worker` processes (concurrency 4 each) for the Task machines. Default 2;
//                        0 leaves the machines with worker tasks out.
//   --keep               keep the temp directory (data, server logs, expected results) and print it.
//   --store STORE        rocksdb (default) or postgres: the server keeps its data in a private PostgreSQL
//                        started for the run (storage/postgres/testing/private_postgres.h) with
//                        --store postgres:URL; only the server is killed. Exits 77 (CTest: skipped) when
//                        PostgreSQL is not installed.
//   --nodes N            with --store postgres: N `stepflow server` nodes over the one database (issue 14),
//                        each on its own port with --node-id node-I. Each cycle SIGKILLs one node, chosen
//                        at random, and restarts it; the others keep serving, take over its partitions when
//                        its leases expire, and the clients, the prober and the task workers (spread over
//                        the nodes) go on calling whichever node is up. The checks are the same, read
//                        through every node in turn. Default 1.
//   --lease-seconds S    with --nodes: the nodes' partition lease timeout. Default 2.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "storage/postgres/testing/private_postgres.h"
#include "tests/crash/offline_replay.h"
#include "tests/integration/process.h"
#include "tests/integration/worker_process.h"

#ifndef STEPFLOW_CRASH_MACHINES_DIR
#error "STEPFLOW_CRASH_MACHINES_DIR must name tests/crash/machines"
#endif

namespace stepflow::crash {
namespace {

namespace json = boost::json;
namespace v1 = ::stepflow::v1;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Flags {
  int cycles = 20;
  int executions = 1000;
  std::uint64_t seed = 1;
  int distinct_inputs = 200;
  int max_kill_ms = 1500;
  int max_outage_ms = 1500;
  int workers = 8;
  std::string durability = "sync";
  int partitions = 0;
  int snapshot_every = -1;  // -1: the server's default
  std::string machines_dir = STEPFLOW_CRASH_MACHINES_DIR;
  int task_workers = 2;
  bool keep = false;
  std::string store = "rocksdb";  // rocksdb | postgres
  int nodes = 1;
  int lease_seconds = 2;
};

// crash_test's exit status when the store asked for cannot be had here (CTest's SKIP_RETURN_CODE).
constexpr int kExitSkipped = 77;

// The queue the crash workers serve, and what their command answers: {"echo": INPUT, "marker": kMarker}.
constexpr char kEchoResource[] = "activity:crash-echo";
constexpr char kEchoQueue[] = "crash-echo";
constexpr char kMarker[] = "echoed";
constexpr int kTaskWorkerConcurrency = 4;

int Usage(const std::string& what) {
  std::fprintf(
      stderr,
      "crash_test: %s\nusage: crash_test [--cycles N] [--executions N] [--seed S] [--distinct-inputs K]\n"
      "                  [--max-kill-ms MS] [--max-outage-ms MS] [--workers N] [--durability sync|async]\n"
      "                  [--partitions N] [--snapshot-every N] [--machines-dir DIR] [--task-workers N]\n"
      "                  [--keep] [--store rocksdb|postgres] [--nodes N] [--lease-seconds S]\n",
      what.c_str());
  return 2;
}

bool ParseFlags(int argc, char** argv, Flags& f) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        Usage(arg + " needs a value");
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--cycles") {
      f.cycles = std::stoi(next());
    } else if (arg == "--executions") {
      f.executions = std::stoi(next());
    } else if (arg == "--seed") {
      f.seed = std::stoull(next());
    } else if (arg == "--distinct-inputs") {
      f.distinct_inputs = std::stoi(next());
    } else if (arg == "--max-kill-ms") {
      f.max_kill_ms = std::stoi(next());
    } else if (arg == "--max-outage-ms") {
      f.max_outage_ms = std::stoi(next());
    } else if (arg == "--workers") {
      f.workers = std::stoi(next());
    } else if (arg == "--durability") {
      f.durability = next();
    } else if (arg == "--partitions") {
      f.partitions = std::stoi(next());
    } else if (arg == "--snapshot-every") {
      f.snapshot_every = std::stoi(next());
    } else if (arg == "--machines-dir") {
      f.machines_dir = next();
    } else if (arg == "--task-workers") {
      f.task_workers = std::stoi(next());
    } else if (arg == "--nodes") {
      f.nodes = std::stoi(next());
    } else if (arg == "--lease-seconds") {
      f.lease_seconds = std::stoi(next());
    } else if (arg == "--keep") {
      f.keep = true;
    } else if (arg == "--store") {
      f.store = next();
      if (f.store != "rocksdb" && f.store != "postgres") {
        Usage("--store is rocksdb or postgres");
        return false;
      }
    } else {
      Usage("unknown argument '" + arg + "'");
      return false;
    }
  }
  if (f.cycles < 0 || f.executions <= 0 || f.distinct_inputs <= 0 || f.max_kill_ms < 1 ||
      f.max_outage_ms < 0 || f.workers <= 0 || f.task_workers < 0) {
    Usage("counts must be positive");
    return false;
  }
  if (f.nodes < 1 || f.nodes > 16 || f.lease_seconds < 1) {
    Usage("--nodes is 1 to 16 and --lease-seconds at least 1");
    return false;
  }
  if (f.nodes > 1 && f.store != "postgres") {
    Usage("--nodes above 1 needs --store postgres: nodes share one database");
    return false;
  }
  return true;
}

std::int64_t Millis(const google::protobuf::Timestamp& t) { return t.seconds() * 1000 + t.nanos() / 1000000; }

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Problems found, by kind; the first few of each are printed.
class Findings {
 public:
  enum Kind { kLost, kDuplicated, kMismatched, kOther, kKinds };

  void Add(Kind kind, int execution, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (messages_[kind].size() < 10) {
      messages_[kind].push_back(what);
    }
    if (execution >= 0) {
      failed_executions_.insert(execution);
      by_kind_[kind].insert(execution);
    } else {
      ++global_[kind];
    }
  }
  // Executions with at least one problem of `kind` (global problems count once each).
  int Count(Kind kind) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(by_kind_[kind].size()) + global_[kind];
  }
  bool Failed(int execution) const {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_executions_.count(execution) > 0;
  }
  int GlobalFailures() const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (int g : global_) {
      n += g;
    }
    return n;
  }
  void Print() const {
    static const char* kNames[] = {"lost", "duplicated", "mismatched", "other"};
    std::lock_guard<std::mutex> lock(mu_);
    for (int k = 0; k < kKinds; ++k) {
      for (const std::string& m : messages_[k]) {
        std::printf("crash: FAIL (%s) %s\n", kNames[k], m.c_str());
      }
    }
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> messages_[kKinds];
  std::set<int> by_kind_[kKinds];
  int global_[kKinds] = {0, 0, 0, 0};
  std::set<int> failed_executions_;
};

struct Machine {
  std::string name;  // "crash-" + file stem
  std::string path;
  std::string definition;
  // Task states served by the crash workers (by name), and the definition `stepflow run` computes the
  // expected result from (path, or a copy with those Tasks replaced by Pass states).
  std::set<std::string> worker_tasks;
  std::string expected_path;
};

// Replaces, in an ASL States object and every nested one (Map, Parallel), each Task state of kEchoResource
// with the Pass state that computes what the crash workers answer; collects the names replaced.
void PassForWorkerTasks(json::object& states, std::set<std::string>& replaced) {
  for (auto& [name, value] : states) {
    if (!value.is_object()) {
      continue;
    }
    json::object& s = value.as_object();
    for (const char* key : {"ItemProcessor", "Iterator"}) {
      if (json::value* p = s.if_contains(key); p != nullptr && p->is_object() &&
                                               p->as_object().contains("States")) {
        PassForWorkerTasks(p->as_object().at("States").as_object(), replaced);
      }
    }
    if (json::value* branches = s.if_contains("Branches"); branches != nullptr && branches->is_array()) {
      for (json::value& b : branches->as_array()) {
        PassForWorkerTasks(b.as_object().at("States").as_object(), replaced);
      }
    }
    const json::value* type = s.if_contains("Type");
    const json::value* resource = s.if_contains("Resource");
    if (type == nullptr || *type != "Task" || resource == nullptr || *resource != kEchoResource) {
      continue;
    }
    json::object pass;
    pass["Type"] = "Pass";
    pass["Parameters"] = json::object{{"echo.$", "$"}, {"marker", kMarker}};
    for (const char* key : {"Comment", "InputPath", "ResultPath", "OutputPath", "Next", "End"}) {
      if (const json::value* v = s.if_contains(key)) {
        pass[key] = *v;
      }
    }
    value = std::move(pass);
    replaced.insert(std::string(name));
  }
}

struct Expected {
  bool ok = false;  // `stepflow run` produced a result line
  std::string status;
  json::value output;
  std::string error;
  std::string cause;
  std::string raw;
  std::map<std::string, int> events;  // "Type state-name" -> how many times `stepflow run --history` has it
};

struct Execution {
  int index = 0;
  int machine = 0;
  int input = 0;  // index into the machine's distinct inputs
  std::string name;
  std::string input_text;

  std::mutex mu;
  bool acked = false;
  std::string arn;
  std::int64_t start_ms = 0;
  int acks = 0;
  int retries = 0;
};

// The input of distinct input k: every machine reads what it needs from it.
std::string MakeInput(int k) {
  json::array items;
  for (int j = 0; j < 1 + k % 5; ++j) {
    items.push_back(1 + (k + j) % 5);
  }
  json::object o;
  o["tag"] = absl::StrCat("t", k);
  o["n"] = 1 + k % 6;
  o["items"] = std::move(items);
  o["wait"] = 1 + k % 3;  // seconds: Waits of 1-3 s
  o["fail"] = k % 7 == 3;
  return json::serialize(o);
}

// The key an event is counted under: its type and, when its details name a state, the state.
std::string EventKey(const std::string& type, const json::value& details) {
  std::string key = type;
  if (details.is_object()) {
    const json::object& d = details.as_object();
    if (d.contains("name") && d.at("name").is_string()) {
      key += " " + json::value_to<std::string>(d.at("name"));
    }
  }
  return key;
}

// The details object of a `stepflow run --history` line: its one "...EventDetails" member.
json::value RunEventDetails(const json::object& event) {
  for (const auto& [k, v] : event) {
    if (k.size() > 12 && k.ends_with("EventDetails")) {
      return v;
    }
  }
  return nullptr;
}

// Every event of an execution, oldest first, read in pages of kHistoryPage so that most histories take
// several pages (page tokens are checked too).
constexpr int kHistoryPage = 16;

absl::StatusOr<std::vector<v1::HistoryEvent>> HistoryInPages(client::Client& c, const std::string& arn) {
  std::vector<v1::HistoryEvent> events;
  v1::GetExecutionHistoryRequest request;
  request.set_execution_arn(arn);
  request.set_page_size(kHistoryPage);
  for (int pages = 0;; ++pages) {
    absl::StatusOr<v1::GetExecutionHistoryResponse> page = c.GetExecutionHistoryPage(request);
    if (!page.ok()) {
      return page.status();
    }
    if (page->events_size() > kHistoryPage ||
        (page->events_size() == 0 && !page->next_page_token().empty())) {
      return absl::InternalError(absl::StrCat("GetHistory page ", pages, " has ", page->events_size(),
                                              " events (page size ", kHistoryPage, ")"));
    }
    events.insert(events.end(), page->events().begin(), page->events().end());
    if (page->next_page_token().empty()) {
      return events;
    }
    if (pages > 100000) {
      return absl::InternalError("GetHistory pages do not end");
    }
    request.set_page_token(page->next_page_token());
  }
}

// The server of the moment, and a generation number that grows with every restart.
// The clients of the nodes that are up (one node unless --nodes), as the client threads see them.
class Servers {
 public:
  explicit Servers(int nodes) : clients_(static_cast<std::size_t>(nodes)) {}

  void Publish(int node, std::shared_ptr<client::Client> c) {
    std::lock_guard<std::mutex> lock(mu_);
    clients_[static_cast<std::size_t>(node)] = std::move(c);
    ++generation_;
    cv_.notify_all();
  }
  void Withdraw(int node) {
    std::lock_guard<std::mutex> lock(mu_);
    clients_[static_cast<std::size_t>(node)].reset();
  }
  void Abort() {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_ = true;
    cv_.notify_all();
  }
  // A client of a node that is up, the nodes taken in turn from call to call. Waits (at most `patience`) for a
  // node started after generation `after`, then takes whatever node is up. {nullptr, 0} once aborted.
  std::pair<std::shared_ptr<client::Client>, int> Get(int after, std::chrono::milliseconds patience) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, patience, [&] { return aborted_ || (AnyUp() && generation_ > after); });
    cv_.wait(lock, [&] { return aborted_ || AnyUp(); });
    if (aborted_) {
      return {nullptr, 0};
    }
    for (;;) {
      const std::shared_ptr<client::Client>& c = clients_[next_++ % clients_.size()];
      if (c != nullptr) {
        return {c, generation_};
      }
    }
  }

 private:
  bool AnyUp() const {
    return std::any_of(clients_.begin(), clients_.end(), [](const auto& c) { return c != nullptr; });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<client::Client>> clients_;  // by node; null while the node is down
  std::size_t next_ = 0;
  int generation_ = 0;
  bool aborted_ = false;
};

// Errors a client retries after a crash: the server went away during the call or is not there yet.
bool Retryable(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:  // a stream reset by the dying server
      return true;
    default:
      return false;
  }
}

// A log line's time ("2026-12-02T20:34:51.844Z", UTC) in milliseconds since the epoch.
std::optional<std::int64_t> LogTimeMillis(const std::string& stamp) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(stamp.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

std::int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct RecoveryLine {
  bool found = false;
  std::int64_t running = 0;
  std::int64_t timers = 0;
};

RecoveryLine ParseRecovery(const std::string& log) {
  static const std::regex kLine(R"(recovered (\d+) running executions, (\d+) pending timers)");
  RecoveryLine r;
  std::smatch m;
  if (std::regex_search(log, m, kLine)) {
    r.found = true;
    r.running = std::stoll(m[1]);
    r.timers = std::stoll(m[2]);
  }
  return r;
}

// Lines at level error/critical, and any line naming a replay mismatch or data loss.
std::vector<std::string> BadLogLines(const std::string& log) {
  std::vector<std::string> bad;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string stamp, level;
    words >> stamp >> level;
    if (level == "error" || level == "critical" || line.find("ReplayMismatch") != std::string::npos ||
        line.find("DataLoss") != std::string::npos) {
      bad.push_back(line);
    }
  }
  return bad;
}

class CrashTest {
 public:
  explicit CrashTest(Flags flags)
      : flags_(std::move(flags)),
        rng_(flags_.seed),
        nodes_(static_cast<std::size_t>(flags_.nodes)),
        clients_(static_cast<std::size_t>(flags_.nodes)),
        servers_(flags_.nodes) {
    if (flags_.keep) {
      const char* t = std::getenv("TMPDIR");
      std::string pattern = std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/stepflow-crash-XXXXXX";
      tmp_path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
    } else {
      tmp_ = std::make_unique<itest::TempDir>();
      tmp_path_ = tmp_->path();
    }
  }

  int Run();

 private:
  bool LoadMachines();
  void Plan();
  void ComputeExpected();
  bool StartNode(int node, const std::string& why);
  bool StopNode(int node, int signal, int expect_code);
  bool StartAllNodes(const std::string& why);
  bool StopAllNodes(int signal, int expect_code);
  std::string NodeName(int node) const;
  // The client of the first node that is up (the checks run when all are).
  client::Client& AnyClient();
  void CheckLog(const std::string& log, const std::string& incarnation);
  void Worker();
  void Prober();
  bool NeedsTaskWorkers() const;
  void SuperviseTaskWorkers();
  void CheckTaskRuns();
  void Ack(Execution& e, const v1::Execution& x, bool again);
  bool WaitUntilAllEnded();
  void Verify();
  void VerifyOne(client::Client& c, Execution& e);
  void ListCheck(client::Client& c);
  void ReplayPass();

  Flags flags_;
  std::mt19937_64 rng_;
  std::unique_ptr<itest::TempDir> tmp_;  // removes the directory at the end, unless --keep
  std::string tmp_path_;
  std::string data_dir_;
  std::unique_ptr<storage::testing::PrivatePostgres> postgres_;  // with --store postgres
  std::string postgres_conninfo_;                                 // with --store postgres
  std::vector<Machine> machines_;
  int inputs_per_machine_ = 0;
  std::vector<std::unique_ptr<Execution>> executions_;
  std::map<std::pair<int, int>, Expected> expected_;  // (machine, input)

  std::vector<std::unique_ptr<itest::ServerProcess>> nodes_;  // by node; null while it is down
  std::vector<std::shared_ptr<client::Client>> clients_;      // by node
  Servers servers_;
  int incarnations_ = 0;
  std::int64_t recovered_running_ = 0;
  std::int64_t recovered_timers_ = 0;
  std::int64_t max_ready_ms_ = 0;
  std::int64_t total_ready_ms_ = 0;
  int log_problems_ = 0;
  std::int64_t partitions_adopted_ = 0;  // with --nodes: partitions adopted by a node, summed over the logs
  struct Adoption {
    std::int64_t at_ms;  // its log line's time: the partitions were recovered and served from then on
    std::string node;
  };
  std::vector<Adoption> adoptions_;
  struct LongOutage {
    std::int64_t killed_ms;
    std::int64_t restarted_ms;
    std::string node;
  };
  std::vector<LongOutage> long_outages_;  // kills whose node stayed down past its leases
  void PrintTakeoverTimes() const;

  std::mutex release_mu_;
  std::condition_variable release_cv_;
  int released_ = 0;
  std::atomic<int> next_{0};
  std::atomic<bool> stop_prober_{false};
  std::atomic<int> probes_{0};
  std::atomic<int> start_retries_{0};
  int checked_ = 0;
  std::vector<std::int64_t> history_sizes_;  // GetHistory's event count per execution; -1 when unread
  int replayed_ = 0;

  // Each node's fixed port (the task workers keep polling theirs across restarts); the `stepflow worker`
  // processes' command, what it ran.
  std::vector<int> ports_;
  std::string echo_script_;
  std::string runs_path_;  // one task token a line, appended by the command each time it runs
  std::thread supervisor_;
  std::mutex supervisor_mu_;
  std::condition_variable supervisor_cv_;
  bool stop_task_workers_ = false;  // guarded by supervisor_mu_
  std::atomic<int> task_worker_starts_{0};
  std::atomic<int> task_runs_{0};
  std::atomic<long long> task_timeouts_{0};

  Findings findings_;
};

bool CrashTest::LoadMachines() {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(flags_.machines_dir, ec)) {
    std::string f = entry.path().filename().string();
    if (f.size() > 9 && f.substr(f.size() - 9) == ".asl.json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::filesystem::create_directories(tmp_path_ + "/expected");
  for (const auto& p : files) {
    std::string f = p.filename().string();
    Machine m{"crash-" + f.substr(0, f.size() - 9), p.string(), ReadText(p.string()), {}, p.string()};
    boost::system::error_code ec;
    json::value def = json::parse(m.definition, ec);
    if (ec || !def.is_object() || !def.as_object().contains("States")) {
      std::printf("crash: %s is not a JSON state machine\n", m.path.c_str());
      return false;
    }
    PassForWorkerTasks(def.as_object().at("States").as_object(), m.worker_tasks);
    if (!m.worker_tasks.empty()) {
      if (flags_.task_workers == 0) {
        std::printf("crash: leaving out %s (its tasks need --task-workers)\n", m.path.c_str());
        continue;
      }
      m.expected_path = absl::StrCat(tmp_path_, "/expected/", f.substr(0, f.size() - 9), ".pass.asl.json");
      std::ofstream(m.expected_path) << json::serialize(def);
    }
    machines_.push_back(std::move(m));
  }
  if (machines_.empty()) {
    std::printf("crash: no *.asl.json in %s\n", flags_.machines_dir.c_str());
    return false;
  }
  return true;
}

void CrashTest::Plan() {
  const int m = static_cast<int>(machines_.size());
  inputs_per_machine_ = std::max(1, (flags_.distinct_inputs + m - 1) / m);
  for (int i = 0; i < flags_.executions; ++i) {
    auto e = std::make_unique<Execution>();
    e->index = i;
    e->machine = i % m;
    e->input = (i / m) % inputs_per_machine_;
    char name[32];
    std::snprintf(name, sizeof(name), "crash-%05d", i);
    e->name = name;
    e->input_text = MakeInput(e->input);
    expected_[{e->machine, e->input}];  // the pairs to compute
    executions_.push_back(std::move(e));
  }
}

// One `stepflow run --time-skip` per distinct (machine, input), one after the other (the crash loop has the
// other core).
void CrashTest::ComputeExpected() {
  std::filesystem::create_directories(tmp_path_ + "/expected");
  for (auto& [key, want] : expected_) {
    const Machine& m = machines_[key.first];
    std::string input_path = absl::StrCat(tmp_path_, "/expected/", key.second, ".input.json");
    if (!std::filesystem::exists(input_path)) {
      std::ofstream(input_path) << MakeInput(key.second);
    }
    itest::CliResult r =
        itest::RunCli({"run", m.expected_path, "--input", input_path, "--time-skip", "--history"}, 60s);
    // One line per history event, then the result line.
    std::istringstream lines(r.out);
    std::string line;
    std::vector<std::string> all;
    while (std::getline(lines, line)) {
      all.push_back(line);
    }
    line = all.empty() ? "" : all.back();
    want.raw = line;
    boost::system::error_code ec;
    for (std::size_t k = 0; k + 1 < all.size(); ++k) {
      json::value event = json::parse(all[k], ec);
      if (ec || !event.is_object() || !event.as_object().contains("type")) {
        break;
      }
      ++want.events[EventKey(json::value_to<std::string>(event.at("type")),
                             RunEventDetails(event.as_object()))];
    }
    // The Pass states that stand for worker tasks: on the server they are Task states, with one
    // TaskScheduled, TaskStarted and TaskSucceeded each time they run.
    for (const std::string& state : m.worker_tasks) {
      for (const char* phase : {"Entered", "Exited"}) {
        auto it = want.events.find(absl::StrCat("PassState", phase, " ", state));
        if (it == want.events.end()) {
          continue;
        }
        const int n = it->second;
        want.events.erase(it);
        want.events[absl::StrCat("TaskState", phase, " ", state)] += n;
        if (std::string(phase) == "Entered") {
          for (const char* type : {"TaskScheduled", "TaskStarted", "TaskSucceeded"}) {
            want.events[type] += n;
          }
        }
      }
    }
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("status")) {
      findings_.Add(Findings::kOther, -1,
                    absl::StrCat("stepflow run ", m.expected_path, " --input ", input_path,
                                 " printed no result (exit ", r.exit_code, "): ", r.out, r.err));
      continue;
    }
    const json::object& o = v.as_object();
    want.ok = true;
    want.status = json::value_to<std::string>(o.at("status"));
    if (o.contains("output")) {
      want.output = o.at("output");
    }
    if (o.contains("error") && o.at("error").is_string()) {
      want.error = json::value_to<std::string>(o.at("error"));
    }
    if (o.contains("cause") && o.at("cause").is_string()) {
      want.cause = json::value_to<std::string>(o.at("cause"));
    }
  }
}

void CrashTest::CheckLog(const std::string& log, const std::string& incarnation) {
  // A node's adoptions of partitions (at its start and when it takes over another's), logged once they are
  // recovered and served: the run's takeovers.
  static const std::regex kTook(R"((\S+) info cluster: node=(\S+) took (\d+) partitions)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), kTook); it != std::sregex_iterator(); ++it) {
    const std::int64_t taken = std::stoll((*it)[3]);
    partitions_adopted_ += taken;
    if (std::optional<std::int64_t> at = LogTimeMillis((*it)[1]); at.has_value() && taken > 0) {
      adoptions_.push_back({*at, (*it)[2]});
    }
  }
  for (const std::string& line : BadLogLines(log)) {
    ++log_problems_;
    findings_.Add(Findings::kOther, -1, absl::StrCat("server log (", incarnation, "): ", line));
  }
}

std::string CrashTest::NodeName(int node) const {
  return flags_.nodes == 1 ? std::string("server") : absl::StrCat("node-", node);
}

client::Client& CrashTest::AnyClient() {
  for (const auto& c : clients_) {
    if (c != nullptr) {
      return *c;
    }
  }
  std::fprintf(stderr, "crash: no node is up to check with\n");
  std::abort();  // callers run only while the nodes are up (Run's `ok`)
}

bool CrashTest::StartNode(int node, const std::string& why) {
  // Always the same port per node: the task workers keep polling it across restarts.
  std::vector<std::string> extra = {"--durability", flags_.durability, "--grpc-address",
                                    absl::StrCat("127.0.0.1:", ports_[node])};
  if (flags_.partitions > 0) {
    extra.push_back("--partitions");
    extra.push_back(std::to_string(flags_.partitions));
  }
  if (!postgres_conninfo_.empty()) {
    extra.push_back("--store");
    extra.push_back("postgres:" + postgres_conninfo_);
  }
  if (flags_.nodes > 1) {
    extra.insert(extra.end(), {"--node-id", NodeName(node), "--lease-seconds", std::to_string(flags_.lease_seconds)});
  }
  if (flags_.snapshot_every >= 0) {
    extra.push_back("--snapshot-every");
    extra.push_back(std::to_string(flags_.snapshot_every));
  }
  // One node keeps its RocksDB data in data_dir_; nodes over PostgreSQL keep only their logs in theirs.
  const std::string dir = flags_.nodes == 1 ? data_dir_ : absl::StrCat(tmp_path_, "/", NodeName(node));
  auto t0 = Clock::now();
  absl::StatusOr<std::unique_ptr<itest::ServerProcess>> s = itest::ServerProcess::Start(dir, extra);
  if (!s.ok()) {
    findings_.Add(Findings::kOther, -1,
                  absl::StrCat(NodeName(node), " start (", why, "): ", s.status().ToString()));
    return false;
  }
  nodes_[node] = std::move(*s);
  itest::ServerProcess& server = *nodes_[node];
  absl::StatusOr<std::unique_ptr<client::Client>> c = client::Client::Connect(server.address(), 10s);
  if (!c.ok()) {
    findings_.Add(Findings::kOther, -1, absl::StrCat("connect (", why, "): ", c.status().ToString()));
    return false;
  }
  auto ready = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  max_ready_ms_ = std::max<std::int64_t>(max_ready_ms_, ready);
  total_ready_ms_ += ready;
  ++incarnations_;
  clients_[node] = std::move(*c);
  // The server listens while it replays the running executions; the line comes when the replay is done (a
  // node: when its first round of leases is adopted).
  server.WaitForLog("recovered ", std::chrono::seconds(120));
  RecoveryLine rec = ParseRecovery(server.log());
  if (!rec.found) {
    findings_.Add(Findings::kOther, -1,
                  absl::StrCat(NodeName(node), " start (", why,
                               "): no 'recovered N running executions' line in its log"));
  }
  recovered_running_ += rec.running;
  recovered_timers_ += rec.timers;
  std::printf("crash: %s start %d (%s) ready in %lld ms: recovered %lld running executions, %lld pending timers\n",
              NodeName(node).c_str(), incarnations_, why.c_str(), static_cast<long long>(ready),
              static_cast<long long>(rec.running), static_cast<long long>(rec.timers));
  std::fflush(stdout);
  return true;
}

// Stops node `node` with `signal`; the exit status must be `expect_code` (-1: anything).
bool CrashTest::StopNode(int node, int signal, int expect_code) {
  servers_.Withdraw(node);
  clients_[node].reset();
  int code = nodes_[node]->Stop(signal);
  CheckLog(nodes_[node]->log(), absl::StrCat(NodeName(node), ", pid ", nodes_[node]->pid()));
  nodes_[node].reset();
  if (expect_code >= 0 && code != expect_code) {
    findings_.Add(Findings::kOther, -1,
                  absl::StrCat(NodeName(node), " exited ", code, " after signal ", signal, ", not ", expect_code));
    return false;
  }
  return true;
}

bool CrashTest::StartAllNodes(const std::string& why) {
  for (int node = 0; node < flags_.nodes; ++node) {
    if (!StartNode(node, why)) {
      return false;
    }
  }
  return true;
}

bool CrashTest::StopAllNodes(int signal, int expect_code) {
  bool ok = true;
  for (int node = 0; node < flags_.nodes; ++node) {
    if (nodes_[node] != nullptr) {
      ok = StopNode(node, signal, expect_code) && ok;
    }
  }
  return ok;
}

void CrashTest::Ack(Execution& e, const v1::Execution& x, bool again) {
  std::lock_guard<std::mutex> lock(e.mu);
  std::int64_t start = Millis(x.start_date());
  if (!e.acked) {
    e.acked = true;
    e.arn = x.arn();
    e.start_ms = start;
  } else if (x.arn() != e.arn || start != e.start_ms) {
    findings_.Add(
        Findings::kDuplicated, e.index,
        absl::StrCat(e.name, ": starting it again", again ? " (prober)" : "", " returned ", x.arn(),
                     " started at ", start, ", but the acknowledged start was ", e.arn, " at ", e.start_ms));
  }
  if (x.name() != e.name) {
    findings_.Add(Findings::kOther, e.index, absl::StrCat(e.name, ": Start returned the name ", x.name()));
  }
  ++e.acks;
}

void CrashTest::Worker() {
  for (;;) {
    int i = next_.fetch_add(1);
    if (i >= flags_.executions) {
      return;
    }
    {
      std::unique_lock<std::mutex> lock(release_mu_);
      release_cv_.wait(lock, [&] { return released_ > i; });
    }
    Execution& e = *executions_[i];
    const std::string& machine = machines_[e.machine].name;
    int seen = 0;
    for (;;) {
      auto [c, generation] = servers_.Get(seen, 300ms);
      if (c == nullptr) {
        return;
      }
      seen = generation;
      absl::StatusOr<v1::Execution> x = c->StartExecution(machine, e.input_text, e.name);
      if (x.ok()) {
        Ack(e, *x, false);
        break;
      }
      if (Retryable(x.status())) {
        ++e.retries;
        ++start_retries_;
        continue;  // the next Get waits for the restarted server
      }
      // ExecutionAlreadyExists for the same name and input: the retry was taken for another execution.
      findings_.Add(
          x.status().code() == absl::StatusCode::kAlreadyExists ? Findings::kDuplicated : Findings::kOther,
          e.index, absl::StrCat(e.name, ": Start failed: ", x.status().ToString()));
      break;
    }
  }
}

// Starts acknowledged executions again, at random: each must return the execution acknowledged first.
void CrashTest::Prober() {
  std::mt19937_64 rng(flags_.seed * 7919 + 1);
  while (!stop_prober_) {
    std::this_thread::sleep_for(10ms);
    int limit = std::min(next_.load(), flags_.executions);
    if (limit == 0) {
      continue;
    }
    Execution& e = *executions_[std::uniform_int_distribution<int>(0, limit - 1)(rng)];
    {
      std::lock_guard<std::mutex> lock(e.mu);
      if (!e.acked) {
        continue;
      }
    }
    auto [c, generation] = servers_.Get(0, 0ms);
    if (c == nullptr) {
      return;
    }
    absl::StatusOr<v1::Execution> x = c->StartExecution(machines_[e.machine].name, e.input_text, e.name);
    if (x.ok()) {
      ++probes_;
      Ack(e, *x, true);
    } else if (!Retryable(x.status())) {
      findings_.Add(
          x.status().code() == absl::StatusCode::kAlreadyExists ? Findings::kDuplicated : Findings::kOther,
          e.index, absl::StrCat(e.name, ": starting it again (prober) failed: ", x.status().ToString()));
    }
  }
}

bool CrashTest::NeedsTaskWorkers() const {
  return std::any_of(machines_.begin(), machines_.end(), [](const Machine& m) { return !m.worker_tasks.empty(); });
}

// Keeps --task-workers `stepflow worker` processes running (one that died is started again) until told to
// stop, then stops them with SIGTERM: each must drain and exit 0. They are started from this thread, which
// outlives them (PR_SET_PDEATHSIG is tied to the thread that forked).
void CrashTest::SuperviseTaskWorkers() {
  std::vector<std::unique_ptr<itest::StepflowProcess>> workers(static_cast<std::size_t>(flags_.task_workers));
  std::unique_lock<std::mutex> lock(supervisor_mu_);
  while (!stop_task_workers_) {
    for (std::size_t k = 0; k < workers.size(); ++k) {
      if (workers[k] != nullptr && workers[k]->Running()) {
        continue;
      }
      if (workers[k] != nullptr) {
        std::printf("crash: task worker %zu exited with status %d; starting it again\n", k,
                    workers[k]->exit_code().value_or(-1));
        std::fflush(stdout);
      }
      itest::WorkerSpec spec;
      spec.server = absl::StrCat("127.0.0.1:", ports_[k % ports_.size()]);  // spread over the nodes
      spec.queue = kEchoQueue;
      spec.identity = absl::StrCat("crash-worker-", k);
      spec.concurrency = kTaskWorkerConcurrency;
      spec.command = {"/bin/sh", echo_script_};
      spec.env = {{"RUNS", runs_path_}};
      absl::StatusOr<std::unique_ptr<itest::StepflowProcess>> w =
          itest::StartWorker(spec, absl::StrCat(tmp_path_, "/worker-", k, ".log"));
      if (!w.ok()) {
        findings_.Add(Findings::kOther, -1, absl::StrCat("start task worker: ", w.status().ToString()));
        workers[k].reset();
        continue;
      }
      workers[k] = std::move(*w);
      ++task_worker_starts_;
    }
    supervisor_cv_.wait_for(lock, 200ms, [&] { return stop_task_workers_; });
  }
  lock.unlock();
  for (std::size_t k = 0; k < workers.size(); ++k) {
    if (workers[k] == nullptr) {
      continue;
    }
    int code = workers[k]->Stop(SIGTERM, 60s);
    if (code != 0) {
      findings_.Add(Findings::kOther, -1,
                    absl::StrCat("task worker ", k, " exited with status ", code, " after SIGTERM, not 0"));
    }
  }
}

// Each task token must have run once: a task is handed out again only after a timeout, with a new token.
void CrashTest::CheckTaskRuns() {
  std::map<std::string, int> runs;
  std::istringstream in(ReadText(runs_path_));
  std::string token;
  while (std::getline(in, token)) {
    if (!token.empty()) {
      ++runs[token];
      ++task_runs_;
    }
  }
  std::map<std::string, int> by_arn;
  for (const auto& e : executions_) {
    by_arn[e->arn] = e->index;
  }
  for (const auto& [t, n] : runs) {
    if (n > 1) {
      std::string arn = t.substr(0, t.rfind('#'));
      findings_.Add(Findings::kDuplicated, by_arn.count(arn) ? by_arn[arn] : -1,
                    absl::StrCat("task ", t, " was run ", n, " times"));
    }
  }
}

bool CrashTest::WaitUntilAllEnded() {
  auto deadline = Clock::now() + 120s;
  v1::ListExecutionsRequest running;
  running.set_status(v1::RUNNING);
  std::size_t last = 0;
  for (;;) {
    absl::StatusOr<std::vector<v1::Execution>> list = AnyClient().ListAllExecutions(running);
    if (list.ok()) {
      last = list->size();
      if (last == 0) {
        return true;
      }
    }
    if (Clock::now() >= deadline) {
      std::printf("crash: %zu executions still RUNNING after 120 s\n", last);
      return false;
    }
    std::this_thread::sleep_for(200ms);
  }
}

void CrashTest::VerifyOne(client::Client& c, Execution& e) {
  auto lost = [&](const std::string& what) { findings_.Add(Findings::kLost, e.index, e.name + ": " + what); };
  auto dup = [&](const std::string& what) {
    findings_.Add(Findings::kDuplicated, e.index, e.name + ": " + what);
  };
  auto bad = [&](const std::string& what) {
    findings_.Add(Findings::kMismatched, e.index, e.name + ": " + what);
  };
  if (!e.acked) {
    lost("its start was never acknowledged");
    return;
  }
  absl::StatusOr<v1::Execution> x = c.DescribeExecution(e.arn);
  if (!x.ok()) {
    lost(absl::StrCat("Describe: ", x.status().ToString()));
    return;
  }
  if (x->status() == v1::RUNNING) {
    lost("still RUNNING after the last restart");
    return;
  }
  if (Millis(x->start_date()) != e.start_ms) {
    dup(absl::StrCat("start time ", Millis(x->start_date()), " differs from the acknowledged ", e.start_ms,
                     " (started twice)"));
  }
  absl::StatusOr<std::vector<v1::HistoryEvent>> h = HistoryInPages(c, e.arn);
  if (!h.ok()) {
    lost(absl::StrCat("GetHistory: ", h.status().ToString()));
    return;
  }
  history_sizes_[e.index] = static_cast<std::int64_t>(h->size());
  // Ids 1..n, each once; one start (first) and one terminal event (last), consistent with the status.
  for (std::size_t k = 0; k < h->size(); ++k) {
    if ((*h)[k].id() != static_cast<std::int64_t>(k + 1)) {
      dup(absl::StrCat("history event ", k, " has id ", (*h)[k].id(),
                       " (ids must be 1..n: gap or duplicate)"));
      break;
    }
  }
  static const std::map<std::string, v1::ExecutionStatus> kTerminal = {{"ExecutionSucceeded", v1::SUCCEEDED},
                                                                       {"ExecutionFailed", v1::FAILED},
                                                                       {"ExecutionAborted", v1::ABORTED},
                                                                       {"ExecutionTimedOut", v1::TIMED_OUT}};
  int starts = 0;
  int terminals = 0;
  for (const v1::HistoryEvent& ev : *h) {
    starts += ev.type() == "ExecutionStarted" ? 1 : 0;
    terminals += kTerminal.count(ev.type());
  }
  if (starts != 1 || h->empty() || h->front().type() != "ExecutionStarted") {
    dup(absl::StrCat(starts, " ExecutionStarted events (must be one, first)"));
  }
  if (terminals != 1) {
    if (terminals == 0) {
      lost("no terminal event");
    } else {
      dup(absl::StrCat(terminals, " terminal events (must be one)"));
    }
  } else if (kTerminal.count(h->back().type()) == 0) {
    dup(absl::StrCat("events after the terminal event (last is ", h->back().type(), ")"));
  } else if (kTerminal.at(h->back().type()) != x->status()) {
    bad(absl::StrCat("status ", v1::ExecutionStatus_Name(x->status()), " but the terminal event is ",
                     h->back().type()));
  }
  // The result `stepflow run` computes, and the same events (by type and state, in any order: Map
  // iterations and Parallel branches may interleave differently): an event the server has more often than
  // `stepflow run` happened twice.
  const Expected& want = expected_.at({e.machine, e.input});
  if (!want.ok) {
    bad("no expected result (stepflow run failed)");
    return;
  }
  std::map<std::string, int> events;
  for (const v1::HistoryEvent& ev : *h) {
    boost::system::error_code ec;
    json::value details = json::parse(ev.details(), ec);
    ++events[EventKey(ev.type(), ec ? json::value(nullptr) : details)];
  }
  if (!machines_[e.machine].worker_tasks.empty() && events.count("TaskTimedOut") > 0) {
    // A task handed out as the server died timed out and ran again: one more TaskScheduled and TaskStarted.
    const int timeouts = events["TaskTimedOut"];
    task_timeouts_ += timeouts;
    events.erase("TaskTimedOut");
    for (const char* type : {"TaskScheduled", "TaskStarted"}) {
      if ((events[type] -= timeouts) <= 0) {
        events.erase(type);
      }
    }
    for (const v1::HistoryEvent& ev : *h) {
      if (ev.type() == "TaskTimedOut" && ev.details().find("States.HeartbeatTimeout") == std::string::npos) {
        bad(absl::StrCat("a task timed out with other than States.HeartbeatTimeout: ", ev.details()));
      }
    }
  }
  if (events != want.events) {
    std::string diff;
    bool extra = false;
    std::set<std::string> keys;
    for (const auto& [k, n] : events) keys.insert(k);
    for (const auto& [k, n] : want.events) keys.insert(k);
    for (const std::string& k : keys) {
      int got = events.count(k) ? events.at(k) : 0;
      int expect = want.events.count(k) ? want.events.at(k) : 0;
      if (got != expect) {
        extra = extra || got > expect;
        absl::StrAppend(&diff, diff.empty() ? "" : ", ", k, " x", got, " (stepflow run: x", expect, ")");
      }
    }
    std::string what = absl::StrCat("history events differ from stepflow run's: ", diff);
    if (extra) {
      dup(what);
    } else {
      bad(what);
    }
  }
  if (v1::ExecutionStatus_Name(x->status()) != want.status) {
    bad(absl::StrCat("status ", v1::ExecutionStatus_Name(x->status()), " (", x->error(), ": ", x->cause(),
                     ") but stepflow run says ", want.raw));
    return;
  }
  if (x->status() == v1::SUCCEEDED) {
    boost::system::error_code ec;
    json::value got = json::parse(x->output(), ec);
    if (ec || got != want.output) {
      bad(absl::StrCat("output ", x->output(), " but stepflow run says ", json::serialize(want.output)));
    }
  } else if (x->error() != want.error || x->cause() != want.cause) {
    bad(absl::StrCat("error/cause ", x->error(), "/", x->cause(), " but stepflow run says ", want.raw));
  }
}

void CrashTest::ListCheck(client::Client& c) {
  absl::StatusOr<std::vector<v1::Execution>> all = c.ListAllExecutions(v1::ListExecutionsRequest());
  if (!all.ok()) {
    findings_.Add(Findings::kOther, -1, absl::StrCat("ListExecutions: ", all.status().ToString()));
    return;
  }
  std::map<std::string, int> by_arn;
  for (const auto& e : executions_) {
    by_arn[e->arn] = e->index;
  }
  std::set<std::string> seen;
  for (const v1::Execution& x : *all) {
    if (!seen.insert(x.arn()).second) {
      findings_.Add(Findings::kDuplicated, by_arn.count(x.arn()) ? by_arn[x.arn()] : -1,
                    absl::StrCat(x.arn(), " is listed twice"));
    } else if (by_arn.count(x.arn()) == 0) {
      findings_.Add(Findings::kDuplicated, -1, absl::StrCat(x.arn(), " was never started by the test"));
    }
  }
  for (const auto& e : executions_) {
    if (e->acked && seen.count(e->arn) == 0) {
      findings_.Add(Findings::kLost, e->index, absl::StrCat(e->name, " is not listed"));
    }
  }
}

void CrashTest::Verify() {
  history_sizes_.assign(executions_.size(), -1);
  std::vector<std::thread> threads;
  std::atomic<int> next{0};
  for (int t = 0; t < 4; ++t) {
    // Each thread reads through one node: with several, every node's reads (its own partitions and the
    // others', forwarded) are checked.
    client::Client& c = *clients_[static_cast<std::size_t>(t % flags_.nodes)];
    threads.emplace_back([&] {
      for (int i = next.fetch_add(1); i < static_cast<int>(executions_.size()); i = next.fetch_add(1)) {
        VerifyOne(c, *executions_[i]);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  checked_ = static_cast<int>(executions_.size());
  for (int node = 0; node < flags_.nodes; ++node) {
    ListCheck(*clients_[static_cast<std::size_t>(node)]);
  }
}

// The engine's own check at start-up covers RUNNING executions (each restart above); this covers them all.
void CrashTest::ReplayPass() {
  if (!StopAllNodes(SIGTERM, 0)) {
    return;
  }
  std::vector<ReplayExpectation> all;
  for (const auto& e : executions_) {
    if (e->acked && history_sizes_[e->index] >= 0) {
      all.push_back({e->arn, history_sizes_[e->index]});
    }
  }
  OfflineReplayResult r = ReplayAll(data_dir_, postgres_conninfo_, all);
  replayed_ = r.replayed;
  for (const std::string& p : r.problems) {
    findings_.Add(Findings::kMismatched, -1, "replay: " + p);
  }
  const std::int64_t running_before = recovered_running_;
  const std::int64_t timers_before = recovered_timers_;
  if (!StartAllNodes("final restart after the checks")) {
    return;
  }
  if (recovered_running_ != running_before || recovered_timers_ != timers_before) {
    findings_.Add(Findings::kOther, -1,
                  absl::StrCat("the final restart recovered ", recovered_running_ - running_before,
                               " running executions and ", recovered_timers_ - timers_before,
                               " timers; every execution had ended"));
  }
  for (int node = 0; node < flags_.nodes; ++node) {
    absl::StatusOr<v1::Execution> one =
        clients_[static_cast<std::size_t>(node)]->DescribeExecution(executions_.front()->arn);
    if (!one.ok() || one->status() == v1::RUNNING) {
      findings_.Add(Findings::kOther, -1,
                    absl::StrCat("after the final restart the first execution is not readable through ",
                                 NodeName(node), " or not ended: ",
                                 one.ok() ? v1::ExecutionStatus_Name(one->status()) : one.status().ToString()));
    }
  }
  StopAllNodes(SIGTERM, 0);
}

// For each node kept down past its leases: the time from its SIGKILL to the first and to the last adoption of
// partitions by the other nodes before it came back (their log lines come once the adopted partitions are
// recovered and served).
void CrashTest::PrintTakeoverTimes() const {
  std::vector<std::int64_t> first;
  std::vector<std::int64_t> last;
  for (const LongOutage& o : long_outages_) {
    std::optional<std::int64_t> f;
    std::optional<std::int64_t> l;
    for (const Adoption& a : adoptions_) {
      if (a.node != o.node && a.at_ms > o.killed_ms && a.at_ms < o.restarted_ms) {
        f = std::min(f.value_or(a.at_ms), a.at_ms);
        l = std::max(l.value_or(a.at_ms), a.at_ms);
      }
    }
    if (f.has_value()) {
      first.push_back(*f - o.killed_ms);
      last.push_back(*l - o.killed_ms);
    }
  }
  auto median = [](std::vector<std::int64_t> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
  };
  auto max = [](const std::vector<std::int64_t>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); };
  std::printf(
      "crash: takeovers: %zu of %zu long outages; SIGKILL to the first partitions served by another node: median "
      "%lld ms, max %lld ms; to the last: median %lld ms, max %lld ms\n",
      first.size(), long_outages_.size(), static_cast<long long>(median(first)), static_cast<long long>(max(first)),
      static_cast<long long>(median(last)), static_cast<long long>(max(last)));
}

int CrashTest::Run() {
  if (tmp_path_.empty()) {
    std::printf("crash: cannot create a temp directory\n");
    return 1;
  }
  data_dir_ = tmp_path_ + "/data";
  if (flags_.store == "postgres") {
    absl::StatusOr<std::unique_ptr<storage::testing::PrivatePostgres>> pg = storage::testing::PrivatePostgres::Start();
    if (absl::IsNotFound(pg.status())) {
      std::printf("crash: skipped, %s\n", pg.status().ToString().c_str());
      return kExitSkipped;
    }
    absl::StatusOr<std::string> db = pg.ok() ? (*pg)->CreateDatabase() : pg.status();
    if (!db.ok()) {
      std::printf("crash: cannot start PostgreSQL: %s\n", db.status().ToString().c_str());
      return 1;
    }
    postgres_ = std::move(*pg);
    postgres_conninfo_ = *db;
  }
  if (!LoadMachines()) {
    return 1;
  }
  absl::StatusOr<std::vector<int>> ports = itest::PickFreePorts(flags_.nodes);
  if (!ports.ok()) {
    std::printf("crash: %s\n", ports.status().ToString().c_str());
    return 1;
  }
  ports_ = *ports;
  runs_path_ = tmp_path_ + "/task-runs.txt";
  echo_script_ = tmp_path_ + "/echo-worker.sh";
  if (absl::Status s = itest::WriteExecutable(
          echo_script_, absl::StrCat("#!/bin/sh\ninput=$(cat)\necho \"$STEPFLOW_TASK_TOKEN\" >> \"$RUNS\"\n",
                                     "printf '{\"echo\":%s,\"marker\":\"", kMarker, "\"}\\n' \"$input\"\n"));
      !s.ok()) {
    std::printf("crash: %s\n", s.ToString().c_str());
    return 1;
  }
  Plan();
  std::printf(
      "crash: %zu state machines, %d executions over %zu distinct (machine, input) pairs, %d cycles, seed "
      "%llu, "
      "durability=%s, store=%s, nodes=%d, data in %s\n",
      machines_.size(), flags_.executions, expected_.size(), flags_.cycles,
      static_cast<unsigned long long>(flags_.seed), flags_.durability.c_str(), flags_.store.c_str(), flags_.nodes,
      postgres_ != nullptr ? "a private PostgreSQL" : data_dir_.c_str());
  std::fflush(stdout);
  auto t0 = Clock::now();
  std::thread expected([this] { ComputeExpected(); });

  bool ok = StartAllNodes("first start");
  if (ok) {
    for (const Machine& m : machines_) {
      absl::StatusOr<v1::StateMachine> sm = AnyClient().CreateStateMachine(m.name, m.definition);
      if (!sm.ok()) {
        findings_.Add(Findings::kOther, -1, absl::StrCat("create ", m.name, ": ", sm.status().ToString()));
        ok = false;
      }
    }
  }
  std::vector<std::thread> workers;
  std::thread prober;
  if (ok && NeedsTaskWorkers()) {
    supervisor_ = std::thread([this] { SuperviseTaskWorkers(); });
  }
  auto stop_task_workers = [this] {
    {
      std::lock_guard<std::mutex> lock(supervisor_mu_);
      stop_task_workers_ = true;
    }
    supervisor_cv_.notify_all();
    if (supervisor_.joinable()) {
      supervisor_.join();
    }
  };
  if (ok) {
    for (int w = 0; w < flags_.workers; ++w) {
      workers.emplace_back([this] { Worker(); });
    }
    prober = std::thread([this] { Prober(); });
    // Starts are released over all cycles but the last two, so that every kill hits executions in flight
    // (in Waits, with timers falling due during the outage).
    const int start_cycles = std::max(1, flags_.cycles - 2);
    for (int node = 0; node < flags_.nodes; ++node) {
      servers_.Publish(node, clients_[static_cast<std::size_t>(node)]);
    }
    for (int cycle = 0; cycle <= flags_.cycles && ok; ++cycle) {
      {
        std::lock_guard<std::mutex> lock(release_mu_);
        released_ =
            cycle >= start_cycles
                ? flags_.executions
                : static_cast<int>(static_cast<std::int64_t>(flags_.executions) * (cycle + 1) / start_cycles);
        release_cv_.notify_all();
      }
      if (cycle == flags_.cycles) {
        break;  // the last server stays up
      }
      // A third of the kills land in the first 150 ms (starts, recovery's overdue timers), the rest later.
      int lifetime = std::uniform_int_distribution<int>(0, 2)(rng_) == 0
                         ? std::uniform_int_distribution<int>(0, std::min(150, flags_.max_kill_ms))(rng_)
                         : std::uniform_int_distribution<int>(std::min(150, flags_.max_kill_ms),
                                                              flags_.max_kill_ms)(rng_);
      std::this_thread::sleep_for(std::chrono::milliseconds(lifetime));
      int started = std::min(next_.load(), flags_.executions);
      const int victim = std::uniform_int_distribution<int>(0, flags_.nodes - 1)(rng_);
      StopNode(victim, SIGKILL, 128 + SIGKILL);
      // Every fourth outage is long enough for timers (Waits, the retry interval, execution timeouts) to fall
      // due while the server is down; they must fire late, once, in due order.
      int outage = cycle % 4 == 3 ? std::uniform_int_distribution<int>(0, flags_.max_outage_ms)(rng_) : 0;
      if (flags_.nodes > 1 && cycle % 2 == 1) {
        // Every second node stays down past its leases: the others take its partitions over (recovering its
        // executions and timers), and give some back when it returns.
        outage = flags_.lease_seconds * 1000 + std::uniform_int_distribution<int>(0, flags_.max_outage_ms)(rng_);
      }
      std::printf("crash: cycle %d/%d: SIGKILL of %s after %d ms (%d starts handed out), down %d ms\n",
                  cycle + 1, flags_.cycles, NodeName(victim).c_str(), lifetime, started, outage);
      std::fflush(stdout);
      const std::int64_t killed_ms = WallMillis();
      std::this_thread::sleep_for(std::chrono::milliseconds(outage));
      if (flags_.nodes > 1 && outage >= flags_.lease_seconds * 1000) {
        long_outages_.push_back({killed_ms, WallMillis(), NodeName(victim)});
      }
      ok = StartNode(victim, absl::StrCat("restart ", cycle + 1));
      if (ok) {
        servers_.Publish(victim, clients_[static_cast<std::size_t>(victim)]);
      }
    }
  }
  if (!ok) {
    std::lock_guard<std::mutex> lock(release_mu_);
    released_ = flags_.executions;  // lets the workers reach Get, which returns nothing once aborted
    release_cv_.notify_all();
    servers_.Abort();
  }
  for (auto& w : workers) {
    w.join();
  }
  stop_prober_ = true;
  if (prober.joinable()) {
    prober.join();
  }
  expected.join();
  auto loop_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (ok) {
    std::printf(
        "crash: all %d starts acknowledged after %.1f s (%d start retries, %d idempotent re-starts probed); "
        "waiting for every execution to end\n",
        flags_.executions, loop_s, start_retries_.load(), probes_.load());
    std::fflush(stdout);
    WaitUntilAllEnded();
    stop_task_workers();
    CheckTaskRuns();
    Verify();
    ReplayPass();
  }
  servers_.Abort();
  stop_task_workers();
  StopAllNodes(SIGKILL, -1);

  findings_.Print();
  int passed = 0;
  for (const auto& e : executions_) {
    passed += ok && e->acked && !findings_.Failed(e->index) ? 1 : 0;
  }
  const int lost = findings_.Count(Findings::kLost);
  const int duplicated = findings_.Count(Findings::kDuplicated);
  const int mismatched = findings_.Count(Findings::kMismatched);
  const int failed = (flags_.executions - passed) + findings_.GlobalFailures();
  std::int64_t events = 0;
  std::int64_t events_max = 0;
  for (std::int64_t n : history_sizes_) {
    events += std::max<std::int64_t>(n, 0);
    events_max = std::max(events_max, n);
  }
  std::printf("crash: history events=%lld (largest %lld, read %d a page)\n", static_cast<long long>(events),
              static_cast<long long>(events_max), kHistoryPage);
  std::printf(
      "crash: restarts=%d recovered_running=%lld recovered_timers=%lld ready_ms_max=%lld ready_ms_mean=%lld "
      "log_problems=%d replayed=%d/%d total_s=%.1f\n",
      incarnations_, static_cast<long long>(recovered_running_), static_cast<long long>(recovered_timers_),
      static_cast<long long>(max_ready_ms_),
      static_cast<long long>(incarnations_ > 0 ? total_ready_ms_ / incarnations_ : 0), log_problems_,
      replayed_, flags_.executions, std::chrono::duration<double>(Clock::now() - t0).count());
  if (flags_.nodes > 1) {
    std::printf("crash: nodes=%d partition adoptions=%lld (lease %d s)\n", flags_.nodes,
                static_cast<long long>(partitions_adopted_), flags_.lease_seconds);
    PrintTakeoverTimes();
  }
  std::printf("crash: task workers=%d (started %d times) task runs=%d timed out and retried=%lld\n",
              flags_.task_workers, task_worker_starts_.load(), task_runs_.load(), task_timeouts_.load());
  std::printf("crash: cycles=%d executions=%d checked=%d lost=%d duplicated=%d mismatched=%d\n",
              flags_.cycles, flags_.executions, checked_, lost, duplicated, mismatched);
  std::printf("%d passed, %d failed\n", passed, failed);
  if (flags_.keep) {
    std::printf("crash: kept %s\n", tmp_path_.c_str());
  }
  std::fflush(stdout);
  return failed == 0 && lost == 0 && duplicated == 0 && mismatched == 0 ? 0 : 1;
}

}  // namespace
}  // namespace stepflow::crash

int main(int argc, char** argv) {
  stepflow::crash::Flags flags;
  if (!stepflow::crash::ParseFlags(argc, argv, flags)) {
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  stepflow::crash::CrashTest test(flags);
  return test.Run();
}
