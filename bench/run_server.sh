#!/usr/bin/env bash
# The durable server benchmark: BUILD_DIR/bench/server_bench starts the real `stepflow server` on 127.0.0.1
# with a fresh data directory and drives it over gRPC with the C++ client (clients/cpp):
#   - throughput of bench/workloads/pass_chain_10.json (10 Pass states) with 1, 16 and 64 executions in
#     flight (StartSync per client thread): executions/s, transitions/s, p50/p99 start->done latency;
#   - restart: 10,000 executions in flight (all in a Wait), kill -9, restart after their timers fell due:
#     time from the new process's start to listening, to the first successful RPC (API ready), and to all
#     complete.
# Every line names the durability mode (sync = WAL synced before a commit is acknowledged, the default).
# Goal (issue 3): >= 5,000 ten-state executions/s durable at 64 in flight on a 2-CPU machine; ready <= 1 s
# after a restart. A figure, not a test: the numbers depend on the machine, its disk and what else runs.
# Builds nothing (`make build`, or cmake --build BUILD_DIR --target server_bench, first).
#
# Usage: bench/run_server.sh BUILD_DIR
# Environment:
#   DURABILITY   sync or async (the server's --durability).     Default: sync
#   INFLIGHT     comma-separated executions in flight.           Default: 1,16,64
#   SECONDS_PER  measured seconds per in-flight level.           Default: 5
#   WARMUP       unmeasured seconds before each level.           Default: 1
#   RESTART_N    executions in flight at the kill.               Default: 10000
#   PARTITIONS   the server's --partitions (0 = one per two cores).   Default: 0
#   MODE         throughput, restart or both.                    Default: both
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir="$1"
bench_bin="${build_dir}/bench/server_bench"
if [[ ! -x "${bench_bin}" ]]; then
  echo "$0: ${bench_bin} not found; build first (cmake --build ${build_dir} --target server_bench)" >&2
  exit 1
fi

out="$(mktemp "${TMPDIR:-/tmp}/stepflow-server-bench.XXXXXX")"
trap 'rm -f "${out}"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n): $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"${bench_bin}" --mode "${MODE:-both}" --durability "${DURABILITY:-sync}" --inflight "${INFLIGHT:-1,16,64}" \
  --seconds "${SECONDS_PER:-5}" --warmup "${WARMUP:-1}" --restart-executions "${RESTART_N:-10000}" \
  --partitions "${PARTITIONS:-0}" | tee "${out}"
status=${PIPESTATUS[0]}
if [[ ${status} -ne 0 ]]; then
  echo "$0: server_bench failed (exit ${status})" >&2
  exit "${status}"
fi
echo "# finished $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo
awk '
  function field(name,   i, kv) {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) { return kv[2] } }
    return ""
  }
  $1 == "server" && $2 == "pass_chain_10" {
    if (!header++) {
      printf "%-10s %-11s %10s %14s %9s %9s %14s %14s   %s\n", "in flight", "durability", "exec/s", "transitions/s", "p50 ms", "p99 ms", "server CPU ms", "client CPU ms", "(goal: >= 5000 exec/s at 64; CPU per execution)"
    }
    printf "%-10s %-11s %10s %14s %9s %9s %14s %14s\n", field("inflight"), field("durability"), field("exec_per_s"), field("transitions_per_s"), field("p50_ms"), field("p99_ms"), field("server_cpu_ms_per_exec"), field("client_cpu_ms_per_exec")
  }
  $1 == "server" && $2 == "restart" {
    printf "\nrestart with %s executions in flight (durability=%s): listening %s ms, API ready %s ms (goal <= 1000), all complete %s ms; %s recovered, %s succeeded\n", field("executions"), field("durability"), field("listening_ms"), field("ready_ms"), field("all_complete_ms"), field("recovered_running"), field("succeeded")
  }
' "${out}"
