#pragma once
// The settings of `stepflow server`, from four sources in this order of precedence:
// command-line flag > environment variable > config file (--config FILE or STEPFLOW_CONFIG; a JSON object)
// > default.
//
//   flag             environment             config file key   default
//   --data-dir       STEPFLOW_DATA_DIR       data_dir          ./data
//   --store          STEPFLOW_STORE          store             rocksdb:./data (rocksdb:DIR | postgres:URL)
//   --grpc-address   STEPFLOW_GRPC_ADDRESS   grpc_address      127.0.0.1:7233 (loopback only)
//   --http-address   STEPFLOW_HTTP_ADDRESS   http_address      127.0.0.1:7234 (loopback only)
//   --partitions     STEPFLOW_PARTITIONS     partitions        0 = one per two cores
//   --logical-partitions STEPFLOW_LOGICAL_PARTITIONS logical_partitions 64 (a new store only)
//   --snapshot-every STEPFLOW_SNAPSHOT_EVERY snapshot_every    100 inputs (0 = no snapshots)
//   --durability     STEPFLOW_DURABILITY     durability        sync (sync | async)
//   --timer-slack-ms STEPFLOW_TIMER_SLACK_MS timer_slack_ms    5 (0 to 1000)
//   --min-free-disk  STEPFLOW_MIN_FREE_DISK  min_free_disk     128 (MiB; at least 128)
//   --log-format     STEPFLOW_LOG_FORMAT     log_format        text (text | json)
//   --log-level      STEPFLOW_LOG_LEVEL      log_level         info (debug | info | warn | error)
//   --tls-cert       STEPFLOW_TLS_CERT       tls_cert          none (PEM file; with --tls-key: TLS)
//   --tls-key        STEPFLOW_TLS_KEY        tls_key           none (PEM file)
//   --tls-client-ca  STEPFLOW_TLS_CLIENT_CA  tls_client_ca     none (PEM file; mutual TLS)
//   --token-file     STEPFLOW_TOKEN_FILE     token_file        none (no authentication)
//   --audit-log      STEPFLOW_AUDIT_LOG      audit_log         none (audit lines go to the log)
//   --console-dir    STEPFLOW_CONSOLE_DIR    console_dir       "console" beside the binary, when it has one
//   --insecure-listen STEPFLOW_INSECURE_LISTEN insecure_listen false (switch; env/file: true|false)
//   --reflection     STEPFLOW_REFLECTION     reflection        false (switch; env/file: true|false)
//   --lazy-task-start STEPFLOW_LAZY_TASK_START lazy_task_start false (switch; env/file: true|false)
//   --config         STEPFLOW_CONFIG         -                 none
//
// Flags take "--flag VALUE" or "--flag=VALUE".

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/store.h"
#include "engine/engine.h"

namespace stepflow::app {

// 7233: the port Stepflow's gRPC API listens on by default (127.0.0.1 only).
inline constexpr int kDefaultGrpcPort = 7233;
// Bounds of the cluster settings.
inline constexpr std::size_t kMaxAdvertiseBytes = 256;
inline constexpr int kMaxLeaseSeconds = 3600;
inline constexpr char kDefaultGrpcAddress[] = "127.0.0.1:7233";
// 7234: the port of the HTTP endpoints /healthz and /metrics by default (127.0.0.1 only).
inline constexpr char kDefaultHttpAddress[] = "127.0.0.1:7234";

enum class LogFormat { kText, kJson };

// --timer-slack-ms: by default, and at most. 5 ms: the backoff timers of a burst of failures come due a few
// ms apart; fired one to a commit each, their tasks reach the workers a few at a time, and the workers'
// reports follow in as many commits. Fired together, they share commits (W4's failures run with batched
// workers: 626-839 commits to 450-502, server CPU -30%; docs/performance.md). A timer still never fires early.
inline constexpr std::int64_t kDefaultTimerSlackMs = 5;
inline constexpr std::int64_t kMaxTimerSlackMs = 1000;

// The disk reserve (--min-free-disk) in MiB: by default, which is also the least (below it RocksDB could
// run out of space in the middle of a write, storage::StoreOptions), and at most (1 PiB).
inline constexpr std::uint64_t kDefaultMinFreeDiskMib = storage::kDefaultMinFreeBytesToWrite >> 20;
inline constexpr std::uint64_t kMaxMinFreeDiskMib = std::uint64_t{1} << 30;

struct ServerConfig {
  // RocksDB directory. Default: ./data. `--store rocksdb:DIR` sets it too (and wins over --data-dir).
  std::string data_dir = "./data";
  // libpq connection string of the PostgreSQL store (`--store postgres:URL`); empty = the RocksDB store in
  // data_dir. Default: empty. Never logged: it may hold a password.
  std::string postgres_conninfo;
  // host:port of the gRPC API; port 0 picks a free port. Default: 127.0.0.1:7233, loopback only, since the
  // API has no authentication.
  std::string grpc_address = kDefaultGrpcAddress;
  // host:port of the HTTP endpoints (GET /healthz, GET /metrics); port 0 picks a free port. Default:
  // 127.0.0.1:7234, loopback only.
  std::string http_address = kDefaultHttpAddress;
  // Partitions (writer threads). Default: 0 = one per two cores (common::DefaultWriterThreads).
  int partitions = 0;
  // Logical partitions of a store this server creates; an existing store keeps its count. Default: 64.
  int logical_partitions = engine::kDefaultLogicalPartitions;
  // Several nodes over one PostgreSQL store (engine/cluster/): this node's id ("" = HOSTNAME:GRPC-PORT), the
  // gRPC address the other nodes reach it at ("" = grpc_address) and the partition lease timeout.
  std::string node_id;
  std::string advertise;
  int lease_seconds = 10;
  // Inputs of an execution between two of its snapshots; 0 = no snapshots. Default: 100.
  std::int64_t snapshot_every = engine::kDefaultSnapshotEveryInputs;
  // engine::EngineOptions::timer_slack_ms: how late a timer may fire so that timers due close together
  // share a commit. Default: kDefaultTimerSlackMs.
  std::int64_t timer_slack_ms = kDefaultTimerSlackMs;
  // Sync the WAL before acknowledging a commit. Default: true ("sync"). "async" is for tests and benchmarks:
  // a crash may lose acknowledged work.
  bool sync_writes = true;
  // Writes are refused (DiskFull) while the data directory's disk has fewer free MiB than this, so that the
  // store never fills the disk itself; reads go on. At least 128. Default: 128.
  std::uint64_t min_free_disk_mib = kDefaultMinFreeDiskMib;
  // Log lines on stderr as text or as JSON objects, one a line. Default: text.
  LogFormat log_format = LogFormat::kText;
  // Least severe level logged. Default: info.
  std::string log_level = "info";
  // TLS certificate chain and private key (PEM files) of both listeners; both or neither. Default: none
  // (plaintext).
  std::string tls_cert;
  std::string tls_key;
  // CA (PEM file) that must have signed every client's certificate (mutual TLS). Default: none.
  std::string tls_client_ca;
  // Bearer tokens with roles (auth.h), reloaded on SIGHUP. Default: none = no authentication.
  std::string token_file;
  // Where audit lines go (audit.h). Default: "" = the server's log.
  std::string audit_log;
  // The ops console's built files (console_files.h), served at / on the HTTP address; the server refuses to
  // start when a named directory is not a console build. Default: "" = the "console" directory beside the
  // binary when it holds an index.html, else no console.
  std::string console_dir;
  // Allow a non-loopback listen address without TLS and tokens. Default: false (the server refuses to start).
  bool insecure_listen = false;
  // Serve gRPC server reflection. Default: false.
  bool reflection = false;
  // engine::EngineOptions::lazy_task_start. Default: false.
  bool lazy_task_start = false;
  // The config file read, "" when none.
  std::string config_file;
  // --help was given: print the usage and exit.
  bool help = false;
};

// Reads an environment variable; nullptr when unset.
using EnvLookup = std::function<const char*(const char* name)>;

// Builds the configuration from `args` (the arguments after "server"), the environment and the config file.
// InvalidArgument naming the flag, variable or file and what is wrong with it.
absl::StatusOr<ServerConfig> LoadServerConfig(const std::vector<std::string>& args, const EnvLookup& env);

// The usage text of `stepflow server`.
const char* ServerUsage();

}  // namespace stepflow::app
