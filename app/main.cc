// stepflow: the program's entry point. `run`, `validate` and `jsonata` work locally on the embedded engine
// (app/); `server` serves the gRPC and REST APIs (app/server_command.h); `sm`, `exec`, `dlq` and `worker` are
// API clients that talk to a running server (clients/cli).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#ifdef STEPFLOW_TCMALLOC
#include <gperftools/malloc_extension_c.h>
#endif

#include "app/commands.h"
#include "app/server_command.h"
#include "clients/cli/cli_util.h"
#include "clients/cli/remote.h"

namespace {

constexpr char kUsage[] =
    "usage: stepflow [--server ADDR] [--output table|json] <command> [options]\n"
    "\n"
    "local commands:\n"
    "  run DEF.json [--input INPUT.json] [--time-skip] [--type STANDARD|EXPRESS] [--history]\n"
    "               [--name STATE_MACHINE_NAME] [--mock-config MOCKS.json --test-case CASE]\n"
    "      Runs the definition to completion on the embedded engine and prints, as the last line,\n"
    "      {\"status\":\"SUCCEEDED\",\"output\":...} or "
    "{\"status\":\"FAILED\",\"error\":...,\"cause\":...}.\n"
    "  validate DEF.json [--type STANDARD|EXPRESS]\n"
    "  jsonata 'EXPR' | --file EXPR_FILE [--input DATA.json] [--bindings BINDINGS.json]\n"
    "      Checks a definition; prints every problem with its JSON-pointer location.\n"
    "  test-state DEF.json STATE [--input JSON | --input-file FILE] [--variables JSON]\n"
    "             [--mock-result JSON | --mock-error ERROR [--mock-cause CAUSE]]\n"
    "             [--inspection-level INFO|DEBUG|TRACE] [--retrier-retry-count N] [--server ADDR]\n"
    "      AWS's TestState: runs STATE of DEF.json (a state machine, or one state named STATE) on the\n"
    "      input without an execution; a Task, Map or Parallel state needs a mock. Prints one line\n"
    "      {\"status\":\"SUCCEEDED|FAILED|RETRIABLE|CAUGHT_ERROR\",\"output\":...,\"nextState\":...,\n"
    "      \"inspectionData\":{...}}; exits 0 for SUCCEEDED/CAUGHT_ERROR, 1 for FAILED/RETRIABLE.\n"
    "      Runs locally, or on the server given with --server.\n"
    "  server [--store rocksdb:DIR|postgres:URL] [--data-dir DIR] [--grpc-address HOST:PORT]\n"
    "         [--http-address HOST:PORT] [--partitions N] [--durability sync|async]\n"
    "         [--log-format text|json] [--log-level LEVEL] [--config FILE]\n"
    "      Serves the gRPC API (default 127.0.0.1:7233) and /healthz, /metrics over HTTP (default\n"
    "      127.0.0.1:7234) on a durable store (default RocksDB in ./data; or PostgreSQL) until\n"
    "      SIGTERM/SIGINT. 'stepflow server --help' lists the environment variables and the config file.\n"
    "  cluster status --store postgres:URL\n"
    "      The nodes sharing a PostgreSQL store, the partitions each holds (lease epoch, expiry), as JSON.\n"
    "\n"
    "remote commands (talk to a running server):\n"
    "  sm create NAME DEF.json [--type STANDARD|EXPRESS]\n"
    "  sm update NAME DEF.json\n"
    "  sm list\n"
    "  sm describe NAME\n"
    "  sm delete NAME\n"
    "  sm publish NAME [--description D] [--revision N]\n"
    "      Publishes the latest revision as a version (only if it is revision N, when given).\n"
    "  sm versions NAME\n"
    "  sm describe-version VERSION_ARN\n"
    "  sm delete-version VERSION_ARN\n"
    "      Refused while an alias routes to it.\n"
    "  alias create NAME --routing VERSION_ARN[=WEIGHT][,VERSION_ARN=WEIGHT] [--description D]\n"
    "  alias update ALIAS_ARN [--routing ...] [--description D]\n"
    "  alias describe ALIAS_ARN\n"
    "  alias list NAME\n"
    "  alias delete ALIAS_ARN\n"
    "      An alias routes starts ('exec start ALIAS_ARN') to one version, or to two by weight (summing to\n"
    "      100).\n"
    "  exec start SM [--name N] [--input FILE | --input-json TEXT] [--sync [--timeout SECONDS]]\n"
    "      --sync waits for the end (default at most 300 s) and exits 1 unless it SUCCEEDED.\n"
    "  exec describe ARN | --state-machine SM NAME\n"
    "  exec history ARN [--reverse | --follow]\n"
    "      --follow streams the events until the execution ends.\n"
    "  exec list [--state-machine SM] [--status RUNNING|SUCCEEDED|FAILED|TIMED_OUT|ABORTED|QUARANTINED]\n"
    "  exec stop ARN [--error E] [--cause C]\n"
    "  exec describe-sm ARN\n"
    "      The definition and version the execution runs.\n"
    "  exec redrive ARN\n"
    "      Resumes a FAILED, TIMED_OUT or ABORTED execution from the state that failed.\n"
    "  dlq list [--queue Q] [--state-machine SM] [--error E] [--after TIME] [--before TIME]\n"
    "  dlq show ID\n"
    "  dlq redrive (ID | --all [filters]) [--input JSON | --input-file FILE]\n"
    "      Re-runs the task (with this input instead of the recorded one) and resumes its execution.\n"
    "  dlq discard (ID | --all [filters])\n"
    "      --all acts on every entry matching the filters (all entries when there are none).\n"
    "  worker --queue NAME [--concurrency N] [--identity ID] [--drain-timeout SECONDS]\n"
    "         [--kill-grace SECONDS] -- COMMAND ARGS...\n"
    "      Runs COMMAND (no shell) per task: input JSON on stdin, output JSON on stdout; a non-zero exit\n"
    "      fails the task with the last stderr line {\"error\":...,\"cause\":...} or Worker.ExitCode.\n"
    "      SIGTERM/SIGINT stop polling and wait for running commands (default at most 30 s).\n"
    "  --server ADDR   the server (env STEPFLOW_SERVER; default 127.0.0.1:7233)\n"
    "  --output FMT    table (default) or json: only JSON on stdout, messages on stderr\n"
    "  --token TOKEN   bearer token (env STEPFLOW_TOKEN), for servers with a token file\n"
    "  --tls           TLS (env STEPFLOW_TLS=true); implied by the three below\n"
    "  --ca-cert PEM   CA of the server's certificate (env STEPFLOW_CA_CERT; default the system's roots)\n"
    "  --client-cert PEM, --client-key PEM   client certificate and key for mutual TLS\n"
    "                  (env STEPFLOW_CLIENT_CERT, STEPFLOW_CLIENT_KEY)\n"
    "  --connect-timeout SECONDS   how long to wait for the server's connection (env\n"
    "                  STEPFLOW_CONNECT_TIMEOUT; default 3)\n"
    "\n"
    "  help\n"
    "\n"
    "exit status: 0 ok, 1 execution not SUCCEEDED / definition invalid / the server refused or is "
    "unreachable,\n"
    "2 bad usage or input\n";

bool IsGlobalFlag(const std::string& arg) {
  return stepflow::cli::IsGlobalValueFlag(arg.substr(0, arg.find('='))) || stepflow::cli::IsGlobalSwitch(arg);
}

// tcmalloc's per-thread caches share one cap (32 MiB by default). The server's task path allocates a message on a
// gRPC thread and frees it on a partition's, and the reverse, so the caches overflow that cap and return memory to
// the central lists and fetch it back (~8% of the partition thread in W2 with Task states): 64 MiB cut the server's
// CPU per execution there by ~8% (docs/performance.md). TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES, when set, wins.
void RaiseThreadCacheCap() {
#ifdef STEPFLOW_TCMALLOC
  if (std::getenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES") == nullptr) {
    MallocExtension_SetNumericProperty("tcmalloc.max_total_thread_cache_bytes", std::size_t{64} << 20);
  }
#endif
}

}  // namespace

int main(int argc, char** argv) {
  RaiseThreadCacheCap();
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global flags may come before the command; they are handed to the remote verbs with the rest.
  std::vector<std::string> globals;
  std::size_t i = 0;
  while (i < args.size() && IsGlobalFlag(args[i])) {
    globals.push_back(args[i]);
    if (!stepflow::cli::IsGlobalSwitch(args[i]) && args[i].find('=') == std::string::npos && i + 1 < args.size()) {
      globals.push_back(args[++i]);
    }
    ++i;
  }
  if (i >= args.size() || args[i] == "help" || args[i] == "--help" || args[i] == "-h") {
    std::fputs(kUsage, i >= args.size() ? stderr : stdout);
    return i >= args.size() ? stepflow::cli::kExitUsage : stepflow::cli::kExitOk;
  }
  const std::string command = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  if (command == "sm" || command == "exec" || command == "dlq" || command == "alias") {
    rest.insert(rest.end(), globals.begin(), globals.end());
    return command == "sm"      ? stepflow::cli::SmCommand(rest)
           : command == "exec"  ? stepflow::cli::ExecCommand(rest)
           : command == "alias" ? stepflow::cli::AliasCommand(rest)
                                : stepflow::cli::DlqCommand(rest);
  }
  if (command == "test-state") {
    rest.insert(rest.end(), globals.begin(), globals.end());
    return stepflow::app::TestStateCommand(rest);
  }
  if (command == "worker") {
    // Before the '--' that starts the worker's command line.
    rest.insert(rest.begin(), globals.begin(), globals.end());
    return stepflow::cli::WorkerCommand(rest);
  }
  if (!globals.empty()) {
    std::fprintf(stderr, "stepflow: %s goes with the remote commands (sm, exec, dlq, alias, worker, test-state) only\n",
                 globals[0].c_str());
    return stepflow::cli::kExitUsage;
  }
  int sub_argc = argc - 2;
  char** sub_argv = argv + 2;
  if (command == "run") {
    return stepflow::app::RunCommand(sub_argc, sub_argv);
  }
  if (command == "validate") {
    return stepflow::app::ValidateCommand(sub_argc, sub_argv);
  }
  if (command == "jsonata") {
    return stepflow::app::JsonataCommand(sub_argc, sub_argv);
  }
  if (command == "cluster") {
    return stepflow::app::ClusterCommand(sub_argc, sub_argv);
  }
  if (command == "server") {
    return stepflow::app::ServerCommand(sub_argc, sub_argv);
  }
  std::fprintf(stderr, "stepflow: unknown command '%s' (try 'stepflow help')\n", command.c_str());
  return stepflow::cli::kExitUsage;
}
