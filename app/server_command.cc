#include "app/server_command.h"

#include <pthread.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/writer_threads.h"
#include "engine/api/audit.h"
#include "engine/api/auth.h"
#include "engine/api/console_files.h"
#include "engine/api/http_server.h"
#include "engine/api/long_waits.h"
#include "app/logging.h"
#include "engine/api/server.h"
#include "app/server_config.h"
#include "engine/engine.h"

namespace stepflow::app {
namespace {

// The adapters this command starts and configures.
using api::Authorizer;
using api::DefaultConsoleDir;
using api::HttpOptions;
using api::HttpServer;
using api::Server;
using api::ServerOptions;
using api::SetUpAuditLog;

constexpr int kExitOk = 0;
constexpr int kExitCannotStart = 1;
constexpr int kExitUsage = 2;

// A PEM file (certificate, key or CA) larger than this is refused.
constexpr std::uintmax_t kMaxPemFileBytes = 1 << 20;

// SIGINT, SIGTERM (shut down) and SIGHUP (reload the token file) are blocked in every thread (blocked here,
// before any thread starts, and inherited) and taken synchronously by sigwait in the main thread, so no
// handler runs in an arbitrary thread.
sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || std::filesystem::file_size(path, ec) > kMaxPemFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, ": not a readable file of at most ", kMaxPemFileBytes, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, ": cannot read it"));
  }
  return text.str();
}

// 127.0.0.0/8, ::1 and localhost.
bool IsLoopback(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// A non-loopback listener needs TLS and tokens, or --insecure-listen (then a warning).
absl::Status CheckExposure(const ServerConfig& config) {
  bool secured = !config.tls_cert.empty() && !config.token_file.empty();
  for (const std::string* address : {&config.grpc_address, &config.http_address}) {
    if (IsLoopback(*address) || secured) {
      continue;
    }
    if (!config.insecure_listen) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to listen on ", *address,
          " (not loopback) without TLS and tokens: give --tls-cert, --tls-key and --token-file, or "
          "--insecure-listen to accept anyone on the network"));
    }
    spdlog::warn("INSECURE LISTEN address={}: not loopback, and TLS or tokens are off (--insecure-listen)",
                 *address);
  }
  return absl::OkStatus();
}

// The console directory to serve: the one configured, else the default one when it holds a build, else none.
std::string ConsoleDirOf(const ServerConfig& config) {
  if (!config.console_dir.empty()) {
    return config.console_dir;
  }
  std::string dir = DefaultConsoleDir();
  std::error_code ec;
  if (dir.empty() || !std::filesystem::exists(std::filesystem::path(dir) / "index.html", ec)) {
    spdlog::info("no console installed (no {}/index.html; see --console-dir)", dir);
    return "";
  }
  return dir;
}

// What Serve needs besides the config: the TLS material and the authorizer.
struct Security {
  ServerOptions grpc;
  HttpOptions http;
  std::unique_ptr<Authorizer> authorizer;
};

absl::StatusOr<Security> LoadSecurity(const ServerConfig& config) {
  Security s;
  if (!config.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadPem(config.tls_cert, "--tls-cert");
    absl::StatusOr<std::string> key = ReadPem(config.tls_key, "--tls-key");
    if (!cert.ok() || !key.ok()) {
      return !cert.ok() ? cert.status() : key.status();
    }
    s.grpc.tls_cert_pem = *cert;
    s.grpc.tls_key_pem = *key;
    s.http.tls_cert_file = config.tls_cert;
    s.http.tls_key_file = config.tls_key;
  }
  if (!config.tls_client_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(config.tls_client_ca, "--tls-client-ca");
    if (!ca.ok()) {
      return ca.status();
    }
    s.grpc.tls_client_ca_pem = *ca;
    s.http.tls_client_ca_file = config.tls_client_ca;
  }
  if (!config.token_file.empty()) {
    absl::StatusOr<std::unique_ptr<Authorizer>> a = Authorizer::FromFile(config.token_file);
    if (!a.ok()) {
      return a.status();
    }
    s.authorizer = std::move(*a);
  }
  s.grpc.authorizer = s.authorizer.get();
  s.http.authorizer = s.authorizer.get();
  s.grpc.reflection = config.reflection;
  return s;
}

// Waits for SIGTERM or SIGINT; reloads the token file at every SIGHUP meanwhile.
int WaitForShutdownSignal(const sigset_t& set, Authorizer* authorizer) {
  for (;;) {
    int signal = 0;
    while (sigwait(&set, &signal) != 0) {
    }
    if (signal != SIGHUP) {
      return signal;
    }
    if (authorizer == nullptr) {
      spdlog::info("SIGHUP: no token file to reload");
    } else if (absl::Status s = authorizer->Reload(); !s.ok()) {
      spdlog::error("SIGHUP: the token file was not reloaded; the tokens in force stay: {}", std::string(s.message()));
    } else {
      spdlog::info("SIGHUP: token file reloaded tokens={}", authorizer->token_count());
    }
  }
}

// The address with the port actually bound: "127.0.0.1:0" -> "127.0.0.1:41234".
std::string BoundAddress(const std::string& address, int port) {
  return address.substr(0, address.rfind(':')) + ":" + std::to_string(port);
}

// The store for log lines: "rocksdb:DIR" or "postgres" (the connection string may hold a password; the
// store's own errors name host, port and database).
std::string StoreName(const ServerConfig& config) {
  return config.postgres_conninfo.empty() ? "rocksdb:" + config.data_dir : std::string("postgres");
}

engine::EngineOptions ToEngineOptions(const ServerConfig& config) {
  engine::EngineOptions options;
  options.data_dir = config.data_dir;
  options.postgres_conninfo = config.postgres_conninfo;
  options.partitions = config.partitions;
  options.logical_partitions = config.logical_partitions;
  options.snapshot_every_inputs = config.snapshot_every;
  options.timer_slack_ms = config.timer_slack_ms;
  options.sync_writes = config.sync_writes;
  options.min_free_disk_bytes = config.min_free_disk_mib << 20;
  options.lazy_task_start = config.lazy_task_start;
  // Listen once the store is open: the running executions are replayed while the API serves, and a call
  // naming one not replayed yet replays it first (engine/engine.h).
  options.serve_during_recovery = true;
  options.cluster_advertise = config.advertise.empty() ? config.grpc_address : config.advertise;
  if (config.node_id.empty()) {
    // HOSTNAME:GRPC-PORT: stable across restarts of one node, distinct between nodes of one host.
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
      std::snprintf(host, sizeof(host), "localhost");
    }
    const std::size_t colon = config.grpc_address.rfind(':');
    options.cluster_node_id =
        std::string(host) + ":" + (colon == std::string::npos ? config.grpc_address : config.grpc_address.substr(colon + 1));
  } else {
    options.cluster_node_id = config.node_id;
  }
  options.cluster_lease_ms = static_cast<std::int64_t>(config.lease_seconds) * 1000;
  return options;
}

// A PostgreSQL store is shared by nodes that forward calls to one another: each needs an address the others
// can reach, which a --grpc-address with port 0 is not known before listening.
absl::Status CheckClusterAddress(const ServerConfig& config) {
  if (config.postgres_conninfo.empty() || !config.advertise.empty()) {
    return absl::OkStatus();
  }
  const std::size_t colon = config.grpc_address.rfind(':');
  if (colon == std::string::npos || config.grpc_address.substr(colon + 1) == "0") {
    return absl::InvalidArgumentError(
        "--store postgres: needs a fixed port in --grpc-address or an --advertise HOST:PORT (the address the other "
        "nodes forward calls to)");
  }
  return absl::OkStatus();
}

void LogSettings(const ServerConfig& config) {
  spdlog::info(
      "starting stepflow server store={} grpc_address={} http_address={} partitions={} durability={} "
      "config={}",
      StoreName(config), config.grpc_address, config.http_address,
      config.partitions == 0 ? absl::StrCat("auto(", common::DefaultWriterThreads(), ")")
                             : std::to_string(config.partitions),
      config.sync_writes ? "sync" : "async", config.config_file.empty() ? "none" : config.config_file);
  if (!config.sync_writes) {
    spdlog::warn(
        "DURABILITY IS ASYNC durability=async: commits are acknowledged before the write-ahead log is "
        "synced; "
        "a crash or power loss may lose acknowledged work. Use only for tests and benchmarks, and name the "
        "mode in every figure.");
  }
}

// Opens the engine and serves it until a shutdown signal; returns the exit status.
int Serve(const ServerConfig& config, const sigset_t& signals) {
  // Debian's Abseil is built with its debug checks: every absl::Mutex lock and destruction (gRPC's, on every
  // call) then updates a process-wide lock-order graph, ~2% of the server's CPU in W4 (docs/performance.md).
  // Stepflow's own locks are std::mutex; the check finds nothing for the server to act on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<Security> security = LoadSecurity(config);
  absl::Status checked = security.ok() ? CheckExposure(config) : security.status();
  if (checked.ok()) {
    checked = SetUpAuditLog(config.audit_log);
  }
  if (!checked.ok()) {
    spdlog::error("cannot start: {}", std::string(checked.message()));
    std::fprintf(stderr, "stepflow server: %s\n", std::string(checked.message()).c_str());
    return kExitUsage;
  }
  spdlog::info("security tls={} mtls={} tokens={} audit_log={} reflection={}", !config.tls_cert.empty(),
               !config.tls_client_ca.empty(),
               security->authorizer == nullptr ? std::string("off") : std::to_string(security->authorizer->token_count()),
               config.audit_log.empty() ? "log" : config.audit_log, config.reflection);
  std::error_code ec;
  if (config.postgres_conninfo.empty()) {
    std::filesystem::create_directories(config.data_dir, ec);
  }
  if (ec) {
    spdlog::error("cannot create data_dir={}: {}", config.data_dir, ec.message());
    std::fprintf(stderr, "stepflow server: cannot create %s: %s\n", config.data_dir.c_str(),
                 ec.message().c_str());
    return kExitCannotStart;
  }
  if (absl::Status s = CheckClusterAddress(config); !s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    std::fprintf(stderr, "stepflow server: %s\n", std::string(s.message()).c_str());
    return kExitCannotStart;
  }
  spdlog::info("opening store {}", StoreName(config));
  auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<engine::Engine>> engine = engine::Engine::Open(ToEngineOptions(config));
  if (!engine.ok()) {
    spdlog::error("cannot open the store {}: {}", StoreName(config), engine.status().ToString());
    std::fprintf(stderr, "stepflow server: cannot open the store %s: %s\n", StoreName(config).c_str(),
                 std::string(engine.status().message()).c_str());
    return kExitCannotStart;
  }
  auto open_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  // The engine replays the running executions from here on, while the server listens, and logs what it
  // recovered (running executions, pending timers) when done; this line times the open before it.
  spdlog::info("store open open_ms={} (recovery under way)", open_ms.count());

  // One bound on the calls that wait for an execution, for both transports together.
  api::LongWaitBudget long_waits(api::kDefaultMaxLongWaits);
  security->grpc.long_waits = &long_waits;
  security->http.long_waits = &long_waits;
  Server server(security->grpc);
  absl::StatusOr<int> port = server.Start(engine->get(), config.grpc_address);
  if (!port.ok()) {
    spdlog::error("cannot listen grpc_address={}: {}", config.grpc_address, port.status().ToString());
    std::fprintf(stderr, "stepflow server: cannot listen on %s: %s\n", config.grpc_address.c_str(),
                 std::string(port.status().message()).c_str());
    (*engine)->Shutdown();
    return kExitCannotStart;
  }
  std::string address = BoundAddress(config.grpc_address, *port);
  HttpServer http;
  security->http.console_dir = ConsoleDirOf(config);
  absl::StatusOr<int> http_port = http.Start(engine->get(), config.http_address, security->http);
  if (!http_port.ok()) {
    spdlog::error("cannot listen http_address={}: {}", config.http_address, http_port.status().ToString());
    std::fprintf(stderr, "stepflow server: cannot listen on %s: %s\n", config.http_address.c_str(),
                 std::string(http_port.status().message()).c_str());
    server.Shutdown();
    (*engine)->Shutdown();
    return kExitCannotStart;
  }
  std::string http_address = BoundAddress(config.http_address, *http_port);
  spdlog::info("listening on address={} (gRPC: stepflow.v1.StateMachines, Executions, Tasks, DeadLetters, health)",
               address);
  spdlog::info("http on address={} (GET /healthz, GET /metrics, REST API under /api/v1)", http_address);
  if (!security->http.console_dir.empty()) {
    spdlog::info("console at http://{}/ dir={}", http_address, security->http.console_dir);
  }
  // Tests and scripts parse the first line; keep it first and unchanged.
  std::printf("stepflow server listening on %s\n", address.c_str());
  std::printf("stepflow server http on %s\n", http_address.c_str());
  std::fflush(stdout);

  int signal = WaitForShutdownSignal(signals, security->authorizer.get());
  spdlog::info("shutting down signal={}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  http.BeginShutdown();  // /healthz answers 503 from here on
  server.Shutdown();
  http.Shutdown();
  spdlog::info("gRPC and HTTP stopped; finishing in-flight commits");
  (*engine)->Shutdown();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace

int ServerCommand(int argc, char** argv) {
  // A shell starts background jobs with SIGINT ignored; take the signals back.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t signals = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::StatusOr<ServerConfig> config = LoadServerConfig(std::vector<std::string>(argv, argv + argc),
                                                         [](const char* name) { return std::getenv(name); });
  if (!config.ok()) {
    std::fprintf(stderr, "stepflow server: %s (try 'stepflow server --help')\n",
                 std::string(config.status().message()).c_str());
    return kExitUsage;
  }
  if (config->help) {
    std::fputs(ServerUsage(), stdout);
    return kExitOk;
  }
  SetUpLogging(config->log_format, config->log_level);
  LogSettings(*config);
  return Serve(*config, signals);
}

}  // namespace stepflow::app
