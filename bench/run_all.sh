#!/usr/bin/env bash
# The first benchmark: runs the bench/workloads/ definitions in-process with Stepflow's embedded
# engine (BUILD_DIR/bench/stepflow_bench) and with the npm package aws-local-stepfunctions
# (bench/peer/run_aws_local_stepfunctions.sh), one after the other in the same run with the same number of
# executions, then prints a table of state transitions per second and their ratio. Our goal is a ratio of
# at least 10. A figure, not a test: the numbers depend on the machine and on what else runs on it.
# Builds nothing (`make bench` builds first).
#
# Usage: bench/run_all.sh BUILD_DIR
# (The durable server over gRPC - throughput at 1/16/64 in flight and restart with 10,000 in flight - is
# bench/run_server.sh BUILD_DIR; this script measures the embedded engine only.)
# Environment (both engines get the same N, so the faster one runs for less time; the defaults give each
# engine about 1-5 s per workload on a 2-CPU machine):
#   PASS_CHAIN_N  executions of pass_chain_10.   Default: 20000
#   PASS_CHAIN_100_N executions of pass_chain_100. Default: 2000
#   MAP_N         executions of map_1000.        Default: 60
#   CHOICE_N      executions of choice_loop_100. Default: 800
#   WARMUP        untimed executions per workload before the timing, for both engines. Default: 5
#   ENGINE        stepflow_bench --engine: reuse (one LocalEngine per workload, each execution forgotten once its
#                 output is read), keep (one LocalEngine keeping every execution), per-execution, both or all.
#                 Default: reuse. The table uses the reuse figures when present.
#   REPEAT        runs of both engines, alternating; the table shows each figure's median. Default: 1
#   SKIP_PEER     1 runs only Stepflow (e.g. offline: the peer script installs its package with npm).
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  echo "(the durable server benchmark is bench/run_server.sh BUILD_DIR)" >&2
  exit 2
fi
build_dir="$1"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench_bin="${build_dir}/bench/stepflow_bench"
if [[ ! -x "${bench_bin}" ]]; then
  echo "$0: ${bench_bin} not found; build first (make build, or cmake --build ${build_dir})" >&2
  exit 1
fi

pass_n="${PASS_CHAIN_N:-20000}"
pass100_n="${PASS_CHAIN_100_N:-2000}"
map_n="${MAP_N:-60}"
choice_n="${CHOICE_N:-800}"
warmup="${WARMUP:-5}"
engine="${ENGINE:-reuse}"
repeat="${REPEAT:-1}"
counts=(--pass-chain "${pass_n}" --pass-chain-100 "${pass100_n}" --map "${map_n}" --choice "${choice_n}" --warmup "${warmup}")

out="$(mktemp "${TMPDIR:-/tmp}/stepflow-bench.XXXXXX")"
trap 'rm -f "${out}"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n): $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((run = 1; run <= repeat; run++)); do
  "${bench_bin}" "${counts[@]}" --engine "${engine}" --workloads-dir "${script_dir}/workloads" | tee -a "${out}"
  status=${PIPESTATUS[0]}
  if [[ ${status} -ne 0 ]]; then
    echo "$0: stepflow_bench failed (exit ${status})" >&2
    exit "${status}"
  fi
  if [[ "${SKIP_PEER:-0}" != "1" ]]; then
    "${script_dir}/peer/run_aws_local_stepfunctions.sh" "${counts[@]}" | tee -a "${out}"
    if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
      echo "$0: the peer benchmark failed; the table shows Stepflow only" >&2
    fi
  fi
done
echo "# finished $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo
awk -v runs="${repeat}" '
  function field(name,   i, kv) {
    for (i = 1; i <= NF; i++) {
      split($i, kv, "=")
      if (kv[1] == name) { return kv[2] }
    }
    return ""
  }
  function remember(w) { if (!(w in seen)) { seen[w] = 1; order[++n] = w } }
  # Median of the space-separated numbers in s.
  function median(s,   a, k, i, j, t) {
    k = split(s, a, " ")
    for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) { a[j + 1] = a[j] } a[j + 1] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  $1 == "stepflow" && NF > 2 {
    mode = field("engine")
    if (!($2 in mode_of) || mode == "reuse") { if (mode_of[$2] != mode) { ours[$2] = "" } mode_of[$2] = mode }
    if (mode == mode_of[$2]) { ours[$2] = ours[$2] " " field("transitions_per_s") }
    remember($2)
  }
  $1 == "stepflow" && NF == 2 { v = field("peak_rss_kib"); if (v + 0 > rss + 0) { rss = v } }
  $1 == "peer" { peer[$3] = peer[$3] " " field("transitions_per_s"); remember($3) }
  END {
    printf "%-16s %18s %18s %8s   %s\n", "workload", "stepflow trans/s", "peer trans/s", "ratio", "(goal >= 10x; median of " runs " run(s))"
    for (i = 1; i <= n; i++) {
      w = order[i]
      a = (w in ours) ? median(ours[w]) : ""
      b = (w in peer) ? median(peer[w]) : ""
      ratio = (a != "" && b != "" && b > 0) ? sprintf("%.2fx", a / b) : "n/a"
      printf "%-16s %18s %18s %8s\n", w, (a != "" ? sprintf("%.0f", a) : "n/a"), (b != "" ? sprintf("%.0f", b) : "n/a"), ratio
    }
    if (rss != "") { printf "stepflow_bench peak RSS: %.1f MiB (engine %s)\n", rss / 1024, mode_of[order[1]] }
  }
' "${out}"
