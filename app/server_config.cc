#include "app/server_config.h"

#include "engine/cluster/lease_manager.h"

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace stepflow::app {
namespace {

constexpr int kMaxPartitions = 1024;
// Longest --store value accepted (a directory or a connection string).
constexpr std::size_t kMaxStoreBytes = 4096;
// The longest interval between two snapshots: beyond it a snapshot saves little.
constexpr std::int64_t kMaxSnapshotEvery = 1'000'000;
using engine::kMaxLogicalPartitions;

struct Setting {
  const char* key;   // config file key
  const char* flag;  // command-line flag
  const char* env;   // environment variable
  bool is_switch = false;  // a flag without a value ("--reflection" = true); env and file take true/false
};

constexpr Setting kSettings[] = {
    {"data_dir", "--data-dir", "STEPFLOW_DATA_DIR"},
    {"store", "--store", "STEPFLOW_STORE"},
    {"grpc_address", "--grpc-address", "STEPFLOW_GRPC_ADDRESS"},
    {"http_address", "--http-address", "STEPFLOW_HTTP_ADDRESS"},
    {"partitions", "--partitions", "STEPFLOW_PARTITIONS"},
    {"logical_partitions", "--logical-partitions", "STEPFLOW_LOGICAL_PARTITIONS"},
    {"snapshot_every", "--snapshot-every", "STEPFLOW_SNAPSHOT_EVERY"},
    {"timer_slack_ms", "--timer-slack-ms", "STEPFLOW_TIMER_SLACK_MS"},
    {"node_id", "--node-id", "STEPFLOW_NODE_ID"},
    {"advertise", "--advertise", "STEPFLOW_ADVERTISE"},
    {"lease_seconds", "--lease-seconds", "STEPFLOW_LEASE_SECONDS"},
    {"durability", "--durability", "STEPFLOW_DURABILITY"},
    {"min_free_disk", "--min-free-disk", "STEPFLOW_MIN_FREE_DISK"},
    {"log_format", "--log-format", "STEPFLOW_LOG_FORMAT"},
    {"log_level", "--log-level", "STEPFLOW_LOG_LEVEL"},
    {"tls_cert", "--tls-cert", "STEPFLOW_TLS_CERT"},
    {"tls_key", "--tls-key", "STEPFLOW_TLS_KEY"},
    {"tls_client_ca", "--tls-client-ca", "STEPFLOW_TLS_CLIENT_CA"},
    {"token_file", "--token-file", "STEPFLOW_TOKEN_FILE"},
    {"audit_log", "--audit-log", "STEPFLOW_AUDIT_LOG"},
    {"console_dir", "--console-dir", "STEPFLOW_CONSOLE_DIR"},
    {"insecure_listen", "--insecure-listen", "STEPFLOW_INSECURE_LISTEN", true},
    {"reflection", "--reflection", "STEPFLOW_REFLECTION", true},
    {"lazy_task_start", "--lazy-task-start", "STEPFLOW_LAZY_TASK_START", true},
};
constexpr char kConfigFlag[] = "--config";
constexpr char kConfigEnv[] = "STEPFLOW_CONFIG";

// A value and where it came from (for messages): "--partitions", "STEPFLOW_PARTITIONS", "FILE: partitions".
struct Value {
  std::string text;
  std::string source;
};
using Layer = std::map<std::string, Value>;  // by config file key

const Setting* FindFlag(const std::string& flag) {
  for (const Setting& s : kSettings) {
    if (flag == s.flag) {
      return &s;
    }
  }
  return nullptr;
}

// Flags into `layer`; the config file path into `config_file`.
absl::Status ParseFlags(const std::vector<std::string>& args, Layer& layer,
                        std::optional<std::string>& config_file, bool& help) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (std::size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    if (flag == "--help" || flag == "-h") {
      help = true;
      continue;
    }
    const Setting* setting = FindFlag(flag);
    if (setting == nullptr && flag != kConfigFlag) {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument '", args[i], "'"));
    }
    if (!value.has_value() && setting != nullptr && setting->is_switch) {
      value = "true";
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(flag, " needs a value"));
      }
      value = args[++i];
    }
    if (setting == nullptr) {
      config_file = *value;
    } else {
      layer[setting->key] = Value{*value, flag};
    }
  }
  return absl::OkStatus();
}

Layer ReadEnv(const EnvLookup& env) {
  Layer layer;
  for (const Setting& s : kSettings) {
    if (const char* v = env(s.env); v != nullptr && *v != '\0') {
      layer[s.key] = Value{v, s.env};
    }
  }
  return layer;
}

absl::StatusOr<Layer> ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read the config file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  boost::json::value json = boost::json::parse(text.str(), ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON: ", ec.message()));
  }
  const boost::json::object* object = json.if_object();
  if (object == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the config file must hold a JSON object"));
  }
  Layer layer;
  for (const auto& [key, v] : *object) {
    std::string k(key);
    bool known = false;
    for (const Setting& s : kSettings) {
      known = known || k == s.key;
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": unknown key '", k, "'"));
    }
    std::string source = absl::StrCat(path, ": ", k);
    if (const boost::json::string* str = v.if_string()) {
      layer[k] = Value{std::string(*str), source};
    } else if (v.is_int64()) {
      layer[k] = Value{absl::StrCat(v.get_int64()), source};
    } else if (v.is_bool()) {
      layer[k] = Value{v.get_bool() ? "true" : "false", source};
    } else {
      return absl::InvalidArgumentError(absl::StrCat(source, ": must be a string, an integer or a boolean"));
    }
  }
  return layer;
}

absl::Status Apply(const std::string& key, const Value& v, ServerConfig& config) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(v.source, ": ", why, ", not '", v.text, "'"));
  };
  if (key == "data_dir") {
    if (v.text.empty()) {
      return bad("must not be empty");
    }
    config.data_dir = v.text;
  } else if (key == "store") {
    // rocksdb:DIR | postgres:CONNINFO, where CONNINFO is a libpq URI or "key=value ..." words; a bare
    // postgres:// or postgresql:// URI is taken whole. Never echo the value: it may hold a password.
    const std::string_view text = v.text;
    auto bad_store = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat(v.source, ": ", why));
    };
    if (text.size() > kMaxStoreBytes) {
      return bad_store(absl::StrCat("longer than ", kMaxStoreBytes, " bytes"));
    }
    if (text.rfind("rocksdb:", 0) == 0) {
      if (text.size() == 8) {
        return bad_store("rocksdb: needs a directory (rocksdb:DIR)");
      }
      config.data_dir = std::string(text.substr(8));
      config.postgres_conninfo.clear();
    } else if (text.rfind("postgres://", 0) == 0 || text.rfind("postgresql://", 0) == 0) {
      config.postgres_conninfo = std::string(text);
    } else if (text.rfind("postgres:", 0) == 0) {
      if (text.size() == 9) {
        return bad_store("postgres: needs a connection string (postgres:URL)");
      }
      config.postgres_conninfo = std::string(text.substr(9));
    } else {
      return bad_store("must be rocksdb:DIR or postgres:URL (a libpq connection string)");
    }
  } else if (key == "grpc_address" || key == "http_address") {
    std::size_t colon = v.text.rfind(':');
    int port = 0;
    if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(v.text.substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      return bad("must be HOST:PORT (port 0 picks a free one)");
    }
    (key == "grpc_address" ? config.grpc_address : config.http_address) = v.text;
  } else if (key == "partitions") {
    if (!absl::SimpleAtoi(v.text, &config.partitions) || config.partitions < 0 ||
        config.partitions > kMaxPartitions) {
      return bad(absl::StrCat("must be a number from 0 (one per two cores) to ", kMaxPartitions));
    }
  } else if (key == "min_free_disk") {
    if (!absl::SimpleAtoi(v.text, &config.min_free_disk_mib) || config.min_free_disk_mib < kDefaultMinFreeDiskMib ||
        config.min_free_disk_mib > kMaxMinFreeDiskMib) {
      return bad(absl::StrCat("must be a number of MiB from ", kDefaultMinFreeDiskMib, " to ", kMaxMinFreeDiskMib));
    }
  } else if (key == "logical_partitions") {
    if (!absl::SimpleAtoi(v.text, &config.logical_partitions) || config.logical_partitions < 1 ||
        config.logical_partitions > kMaxLogicalPartitions) {
      return bad(absl::StrCat("must be a number from 1 to ", kMaxLogicalPartitions));
    }
  } else if (key == "node_id") {
    if (v.text.empty() || v.text.size() > engine::cluster::kMaxNodeIdBytes) {
      return bad(absl::StrCat("must be 1 to ", engine::cluster::kMaxNodeIdBytes, " bytes"));
    }
    config.node_id = v.text;
  } else if (key == "advertise") {
    if (v.text.empty() || v.text.size() > kMaxAdvertiseBytes || v.text.find(':') == std::string::npos) {
      return bad(absl::StrCat("must be HOST:PORT, at most ", kMaxAdvertiseBytes, " bytes"));
    }
    config.advertise = v.text;
  } else if (key == "lease_seconds") {
    if (!absl::SimpleAtoi(v.text, &config.lease_seconds) || config.lease_seconds < 1 ||
        config.lease_seconds > kMaxLeaseSeconds) {
      return bad(absl::StrCat("must be a number of seconds from 1 to ", kMaxLeaseSeconds));
    }
  } else if (key == "snapshot_every") {
    if (!absl::SimpleAtoi(v.text, &config.snapshot_every) || config.snapshot_every < 0 ||
        config.snapshot_every > kMaxSnapshotEvery) {
      return bad(absl::StrCat("must be a number of inputs from 0 (no snapshots) to ", kMaxSnapshotEvery));
    }
  } else if (key == "timer_slack_ms") {
    if (!absl::SimpleAtoi(v.text, &config.timer_slack_ms) || config.timer_slack_ms < 0 ||
        config.timer_slack_ms > kMaxTimerSlackMs) {
      return bad(absl::StrCat("must be a number of milliseconds from 0 to ", kMaxTimerSlackMs));
    }
  } else if (key == "durability") {
    if (v.text != "sync" && v.text != "async") {
      return bad("must be sync or async");
    }
    config.sync_writes = v.text == "sync";
  } else if (key == "log_format") {
    if (v.text != "text" && v.text != "json") {
      return bad("must be text or json");
    }
    config.log_format = v.text == "json" ? LogFormat::kJson : LogFormat::kText;
  } else if (key == "log_level") {
    if (v.text != "debug" && v.text != "info" && v.text != "warn" && v.text != "error") {
      return bad("must be debug, info, warn or error");
    }
    config.log_level = v.text;
  } else if (key == "insecure_listen" || key == "reflection" || key == "lazy_task_start") {
    if (v.text != "true" && v.text != "false") {
      return bad("must be true or false");
    }
    (key == "reflection" ? config.reflection
     : key == "lazy_task_start" ? config.lazy_task_start
                                : config.insecure_listen) = v.text == "true";
  } else {
    if (v.text.empty()) {
      return bad("must not be empty");
    }
    std::string* field = key == "tls_cert"        ? &config.tls_cert
                         : key == "tls_key"       ? &config.tls_key
                         : key == "tls_client_ca" ? &config.tls_client_ca
                         : key == "token_file"    ? &config.token_file
                         : key == "console_dir"   ? &config.console_dir
                                                  : &config.audit_log;
    *field = v.text;
  }
  return absl::OkStatus();
}

absl::Status CheckTls(const ServerConfig& config) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together: give both or neither");
  }
  if (!config.tls_client_ca.empty() && config.tls_cert.empty()) {
    return absl::InvalidArgumentError("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServerConfig> LoadServerConfig(const std::vector<std::string>& args, const EnvLookup& env) {
  ServerConfig config;
  Layer flags;
  std::optional<std::string> config_file;
  RETURN_IF_ERROR(ParseFlags(args, flags, config_file, config.help));
  if (config.help) {
    return config;
  }
  Layer from_env = ReadEnv(env);
  if (!config_file.has_value()) {
    if (const char* v = env(kConfigEnv); v != nullptr && *v != '\0') {
      config_file = v;
    }
  }
  Layer from_file;
  if (config_file.has_value()) {
    ASSIGN_OR_RETURN(from_file, ReadConfigFile(*config_file));
    config.config_file = *config_file;
  }
  for (const Setting& s : kSettings) {
    for (const Layer* layer : {&flags, &from_env, &from_file}) {
      if (auto it = layer->find(s.key); it != layer->end()) {
        RETURN_IF_ERROR(Apply(s.key, it->second, config));
        break;
      }
    }
  }
  RETURN_IF_ERROR(CheckTls(config));
  return config;
}

const char* ServerUsage() {
  return "usage: stepflow server [--store rocksdb:DIR|postgres:URL] [--data-dir DIR]\n"
         "                       [--grpc-address HOST:PORT] [--http-address HOST:PORT]\n"
         "                       [--partitions N] [--logical-partitions N] [--snapshot-every N]\n"
         "                       [--timer-slack-ms N]\n"
         "                       [--node-id ID] [--advertise HOST:PORT] [--lease-seconds N]\n"
         "                       [--durability sync|async] [--min-free-disk MIB] [--log-format text|json]\n"
         "                       [--log-level debug|info|warn|error] [--config FILE]\n"
         "                       [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]] [--token-file FILE]\n"
         "                       [--audit-log FILE] [--console-dir DIR] [--insecure-listen] [--reflection]\n"
         "                       [--lazy-task-start]\n"
         "\n"
         "Serves the Stepflow gRPC API (stepflow.v1 StateMachines, Executions, Tasks, DeadLetters; grpc.health.v1)\n"
         "on a durable store (RocksDB, or PostgreSQL with --store postgres:URL), until SIGTERM or SIGINT (graceful: in-flight commits finish; exit 0).\n"
         "GET /healthz and GET /metrics (Prometheus text) are served over HTTP.\n"
         "On start it prints two lines to stdout: `stepflow server listening on HOST:PORT` (gRPC), then\n"
         "`stepflow server http on HOST:PORT`. Logs go to stderr.\n"
         "\n"
         "  --store rocksdb:DIR     the RocksDB store in DIR (the default, in ./data; same as --data-dir DIR)\n"
         "  --store postgres:URL    the PostgreSQL store at URL, a libpq connection string such as\n"
         "                          postgresql://USER@HOST:PORT/DB (env STEPFLOW_STORE; storage/FORMAT.md)\n"
         "  --data-dir DIR          RocksDB directory (env STEPFLOW_DATA_DIR; default ./data)\n"
         "  --grpc-address H:P      gRPC listen address (env STEPFLOW_GRPC_ADDRESS; default 127.0.0.1:7233,\n"
         "                          loopback only; port 0 picks a free port)\n"
         "  --http-address H:P      HTTP listen address for /healthz and /metrics (env STEPFLOW_HTTP_ADDRESS;\n"
         "                          default 127.0.0.1:7234, loopback only; port 0 picks a free port)\n"
         "  --partitions N          writer threads (env STEPFLOW_PARTITIONS; default 0 = one per two cores)\n"
         "  --logical-partitions N  logical partitions of a store created now, 1 to 4096; an existing store\n"
         "                          keeps its count (env STEPFLOW_LOGICAL_PARTITIONS; default 64)\n"
         "  --snapshot-every N      snapshot an execution every N inputs; recovery replays only the inputs\n"
         "                          after its last snapshot (env STEPFLOW_SNAPSHOT_EVERY; default 100;\n"
         "                          0 = no snapshots)\n"
         "  --timer-slack-ms N      a timer fires up to N ms late, so that timers due close together share a\n"
         "                          commit (env STEPFLOW_TIMER_SLACK_MS; default 5; at most 1000)\n"
         "  --node-id ID            PostgreSQL store: this node's name among the nodes sharing the database\n"
         "                          (env STEPFLOW_NODE_ID; default HOSTNAME:GRPC-PORT; README \"Running several\n"
         "                          nodes\")\n"
         "  --advertise HOST:PORT   PostgreSQL store: the gRPC address other nodes forward calls to (env\n"
         "                          STEPFLOW_ADVERTISE; default the --grpc-address, which then needs a port)\n"
         "  --lease-seconds N       PostgreSQL store: partition lease timeout; a dead node's partitions move\n"
         "                          to the others within about N s (env STEPFLOW_LEASE_SECONDS; default 10)\n"
         "  --durability MODE       sync: every acknowledged commit is on disk (default); async: commits "
         "are\n"
         "                          acknowledged before the WAL is synced, for tests and benchmarks only\n"
         "                          (env STEPFLOW_DURABILITY)\n"
         "  --min-free-disk MIB     refuse writes (DiskFull; reads go on) while the data directory's disk has\n"
         "                          less free space (env STEPFLOW_MIN_FREE_DISK; default and least 128)\n"
         "  --log-format FMT        text or json (JSON lines) (env STEPFLOW_LOG_FORMAT; default text)\n"
         "  --log-level LEVEL       debug, info, warn or error (env STEPFLOW_LOG_LEVEL; default info)\n"
         "  --tls-cert PEM          serve gRPC and HTTP over TLS with this certificate chain (env\n"
         "                          STEPFLOW_TLS_CERT) and --tls-key PEM, its private key (env STEPFLOW_TLS_KEY)\n"
         "  --tls-client-ca PEM     mutual TLS: require client certificates signed by this CA\n"
         "                          (env STEPFLOW_TLS_CLIENT_CA)\n"
         "  --token-file FILE       bearer tokens with roles, as SHA-256 hashes (README \"Security\"); reloaded\n"
         "                          on SIGHUP (env STEPFLOW_TOKEN_FILE; default none: no authentication)\n"
         "  --audit-log FILE        audit lines (one JSON object each) go to FILE instead of the log\n"
         "                          (env STEPFLOW_AUDIT_LOG)\n"
         "  --console-dir DIR       the ops console's built files, served at / on the HTTP address (env\n"
         "                          STEPFLOW_CONSOLE_DIR; default: the console directory beside the binary)\n"
         "  --insecure-listen       allow a non-loopback address without TLS and tokens (a warning is logged)\n"
         "                          (env STEPFLOW_INSECURE_LISTEN=true)\n"
         "  --reflection            serve gRPC server reflection (env STEPFLOW_REFLECTION=true; default off)\n"
         "  --lazy-task-start       commit a task's TaskStarted with its result when its state has no\n"
         "                          HeartbeatSeconds (one commit fewer per task); a task taken when the server\n"
         "                          is killed is then offered again after the restart (env\n"
         "                          STEPFLOW_LAZY_TASK_START=true; default off)\n"
         "  --config FILE           JSON object with the keys data_dir, store, grpc_address, http_address,\n"
         "                          partitions, logical_partitions, snapshot_every, timer_slack_ms, node_id,\n"
         "                          advertise,\n"
         "                          lease_seconds, durability, min_free_disk,\n"
         "                          log_format, log_level, tls_cert, tls_key,\n"
         "                          tls_client_ca, token_file, audit_log, console_dir, insecure_listen,\n"
         "                          reflection, lazy_task_start\n"
         "                          (env STEPFLOW_CONFIG)\n"
         "\n"
         "Precedence: flag > environment variable > config file > default.\n";
}

}  // namespace stepflow::app
