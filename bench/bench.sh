#!/usr/bin/env bash
# `make bench`: Stepflow side by side with the engines users would pick instead (issue 5). Runs every
# workload for Stepflow and for each peer, alternating, REPEAT times, then bench/report.py prints one table
# of medians and ranges with the ratio Stepflow/peer and writes bench/results/ (results.json, table.md,
# chart.png). Builds nothing (`make bench` builds first). See bench/README.md for what each workload and
# each peer does.
#
# Peers are installed in a scratch directory outside the source tree (SCRATCH, default
# ~/.cache/stepflow-bench): the npm packages aws-local-stepfunctions, @restatedev/restate-server,
# @restatedev/restate-sdk, bullmq and ioredis, at pinned versions, once per set of versions. Debian packages
# (redis-server, gnuplot-nox; nodejs and npm when there is no node) are installed when missing and running as
# root; otherwise the peers or the chart that need them are skipped, with a message. Every peer listens on
# 127.0.0.1 only and is stopped by PID when its run ends (and, should a driver die, by this script's trap).
#
# Usage: bench/bench.sh BUILD_DIR
# Environment (defaults sized so that `make bench` takes well under 20 minutes on a 2-CPU machine):
#   REPEAT            runs of every workload per engine, alternating.              Default: 3
#   SECONDS_PER       measured seconds per throughput level (W2, W3).              Default: 3
#   WARMUP            unmeasured seconds before each level.                        Default: 1
#   W1_PASS10_N / W1_PASS100_N / W1_MAP_N   executions per W1 workload (both engines run the same N).
#                                                                Default: 10000 / 1000 / 30
#   W4_EXECUTIONS     executions of 10 tasks in W4.                                Default: 200
#   RECOVERY_N        executions in flight at the kill in W5.                      Default: 10000
#   FOOTPRINT_N       finished executions before Stepflow's disk/RSS figure.       Default: 50000
#                     (the issue asks for 1,000,000: FOOTPRINT_N=1000000 takes ~10 min more here)
#   PEER_FOOTPRINT_N  finished invocations before Restate's disk/RSS figure.       Default: 3000
#   ONLY              space-separated subset of: W1 W2 W3 W4 W5 footprint JSONata console cluster.
#                     Default: all but cluster
#   CLUSTER_NODES     node counts of the cluster figures (ONLY=cluster).          Default: 1 2 3
#   CONSOLE_EXECUTIONS  executions stored for the REST latency figures (console).  Default: 100000
#   PEERS             space-separated subset of: aws-local-stepfunctions restate bullmq. Default: all
#   SCRATCH           where peers are installed and run.        Default: ${XDG_CACHE_HOME:-~/.cache}/stepflow-bench
#   SDK_WORKERS       W3 also with these SDKs' no-op workers (bench/sdk/).  Default: C++ Python TypeScript
#   RESULTS_DIR       where results.json, table.md and chart.png go.               Default: bench/results
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir="$(cd "$1" && pwd)" || exit 2
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peer_dir="${bench_dir}/peer"

repeat="${REPEAT:-3}"
seconds_per="${SECONDS_PER:-3}"
warmup="${WARMUP:-1}"
w1_pass10="${W1_PASS10_N:-10000}"
w1_pass100="${W1_PASS100_N:-1000}"
w1_map="${W1_MAP_N:-30}"
w4_executions="${W4_EXECUTIONS:-200}"
recovery_n="${RECOVERY_N:-10000}"
footprint_n="${FOOTPRINT_N:-50000}"
peer_footprint_n="${PEER_FOOTPRINT_N:-3000}"
only="${ONLY:-W1 W2 W3 W4 W5 footprint JSONata console}"
cluster_nodes="${CLUSTER_NODES:-1 2 3}"
console_executions="${CONSOLE_EXECUTIONS:-100000}"
peers="${PEERS:-aws-local-stepfunctions restate bullmq}"
scratch="${SCRATCH:-${XDG_CACHE_HOME:-${HOME}/.cache}/stepflow-bench}"
results_dir="${RESULTS_DIR:-${bench_dir}/results}"

# Pinned peer versions (checked with `npm view`); change them here.
AWS_LOCAL_SFN_VERSION="${AWS_LOCAL_SFN_VERSION:-3.0.0}"
RESTATE_SERVER_VERSION="1.7.12"
RESTATE_SDK_VERSION="1.17.2"
BULLMQ_VERSION="6.7.0"
IOREDIS_VERSION="5.9.3"

wants() { [[ " ${only} " == *" $1 "* ]]; }

# The programs the chosen workloads run.
needed=(stepflow)
{ wants W1 || wants JSONata; } && needed+=(bench/stepflow_bench)
{ wants W2 || wants W5 || wants footprint || wants console || wants cluster; } && needed+=(bench/server_bench)
{ wants W2 || wants W3 || wants W4 || wants cluster; } && needed+=(bench/task_bench)
wants JSONata && needed+=(bench/jsonata_bench)
for bin in "${needed[@]}"; do
  if [[ ! -x "${build_dir}/${bin}" ]]; then
    echo "$0: ${build_dir}/${bin} not found; build first (make bench does)" >&2
    exit 1
  fi
done
wants_peer() { [[ " ${peers} " == *" $1 "* ]]; }
say() { echo "## $*"; }

mkdir -p "${scratch}" "${results_dir}" || exit 1
run_dir="$(mktemp -d "${scratch}/run.XXXXXX")" || exit 1
raw="${run_dir}/raw.log"
export STEPFLOW_BENCH_PIDS="${run_dir}/pids"
: > "${STEPFLOW_BENCH_PIDS}"
# Children of this run are stopped by PID (only while the PID still runs the command recorded for it).
cleanup() {
  local pid cmd
  while read -r pid cmd; do
    [[ -n "${pid}" && -r "/proc/${pid}/cmdline" ]] || continue
    if tr '\0' ' ' < "/proc/${pid}/cmdline" | grep -qF -- "$(basename "${cmd}")"; then
      kill -KILL "${pid}" 2>/dev/null
    fi
  done < "${STEPFLOW_BENCH_PIDS}"
  if [[ "${KEEP_SCRATCH:-0}" != "1" ]]; then
    rm -rf "${run_dir}"
  else
    echo "# run directory kept: ${run_dir}" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The peers and report.py's table only serve the workloads run side by side with them.
side_by_side=0
for w in W1 W2 W3 W4 W5 footprint; do
  wants "${w}" && side_by_side=1
done
[[ ${side_by_side} == 1 ]] || peers=""

# --- Debian packages (as root) ---------------------------------------------------------------------------
missing=()
if [[ -n "${peers// /}" ]]; then
  command -v redis-server > /dev/null || missing+=(redis-server)
  command -v gnuplot > /dev/null || missing+=(gnuplot-nox)
fi
command -v node > /dev/null || missing+=(nodejs npm)
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get > /dev/null; then
    say "installing Debian packages: ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=300 "${missing[@]}") > "${run_dir}/apt.log" 2>&1 ||
      { echo "warning: apt-get install ${missing[*]} failed (see below); going on without" >&2; tail -5 "${run_dir}/apt.log" >&2; }
    # Debian starts redis-server's own service on install (where there is an init); ours run on their own port.
  else
    echo "warning: missing ${missing[*]} and not root: the peers/chart that need them are skipped" >&2
  fi
fi
if ! command -v node > /dev/null; then
  echo "warning: no node: every peer is skipped" >&2
  peers=""
fi
if ! command -v redis-server > /dev/null && wants_peer bullmq; then
  echo "warning: no redis-server: BullMQ is skipped" >&2
  peers="${peers/bullmq/}"
fi

# --- npm packages, once per set of versions ----------------------------------------------------------------
modules=""
if [[ -n "${peers// /}" ]]; then
  versions="aws-local-stepfunctions@${AWS_LOCAL_SFN_VERSION} @restatedev/restate-server@${RESTATE_SERVER_VERSION} @restatedev/restate-sdk@${RESTATE_SDK_VERSION} bullmq@${BULLMQ_VERSION} ioredis@${IOREDIS_VERSION}"
  modules="${scratch}/node-$(echo "${versions}" | sha1sum | cut -c1-12)"
  if [[ ! -f "${modules}/.installed" ]]; then
    say "installing peers with npm into ${modules}: ${versions}"
    rm -rf "${modules}" && mkdir -p "${modules}" &&
      printf '{ "name": "stepflow-bench-peers", "private": true, "type": "module" }\n' > "${modules}/package.json"
    # No install scripts (the packages work without their optional native builds); engine-strict off
    # because aws-local-stepfunctions asks for Node 22 and runs on 20 with a Promise.withResolvers shim.
    # shellcheck disable=SC2086
    if npm install --prefix "${modules}" --ignore-scripts --no-audit --no-fund --loglevel=error \
      --engine-strict=false ${versions} > "${run_dir}/npm.log" 2>&1; then
      touch "${modules}/.installed"
    else
      echo "warning: npm install failed; peers skipped:" >&2
      tail -5 "${run_dir}/npm.log" >&2
      peers=""
    fi
  fi
fi

# --- the runs ----------------------------------------------------------------------------------------------
# Each step's output goes to the raw log; RESULT lines are what report.py reads.
step() {
  local label="$1"
  shift
  local t0=${SECONDS}
  echo "# step ${label}: $*" >> "${raw}"
  "$@" >> "${raw}" 2>> "${run_dir}/stderr.log"
  local rc=$?
  if [[ ${rc} -ne 0 ]]; then
    echo "# step ${label} failed (exit ${rc})" >> "${raw}"
    echo "warning: ${label} failed (exit ${rc}); last lines of its stderr:" >&2
    tail -5 "${run_dir}/stderr.log" >&2
  fi
  printf '   %-34s %4ds  (load %s)\n' "${label}" "$((SECONDS - t0))" "$(cut -d' ' -f1 /proc/loadavg)"
  return 0
}

echo "# stepflow bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee "${raw}"
echo "# settings REPEAT=${repeat} SECONDS_PER=${seconds_per} WARMUP=${warmup} W1=${w1_pass10}/${w1_pass100}/${w1_map} W4_EXECUTIONS=${w4_executions} RECOVERY_N=${recovery_n} FOOTPRINT_N=${footprint_n} PEER_FOOTPRINT_N=${peer_footprint_n}" | tee -a "${raw}"
echo "# peers: ${peers:-none}" | tee -a "${raw}"
echo "# scratch: ${run_dir}"
start_time=${SECONDS}

# W3 with the SDKs' workers (ONLY=W3; SDK_WORKERS, default "C++ Python TypeScript"): each needs its SDK built
# (make bench builds bench_cpp_worker and both SDKs into the build directory, as the sdk tests do).
py_sdk_dir="${build_dir}/tests/sdk/python"
ts_sdk_dir="${build_dir}/tests/sdk/typescript"
declare -A sdk_worker_command=(
  [C++]="$(printf '%q' "${build_dir}/bench/bench_cpp_worker")"
  [Python]="${STEPFLOW_SDK_PYTHON:-/usr/bin/python3} $(printf '%q' "${bench_dir}/sdk/python_worker.py")"
  [TypeScript]="node $(printf '%q %q' "${bench_dir}/sdk/typescript_worker.mjs" "${ts_sdk_dir}")"
)
sdk_workers=()
if wants W2 || wants W3; then
  for sdk in ${SDK_WORKERS:-C++ Python TypeScript}; do
    case "${sdk}" in
      C++) ready="${build_dir}/bench/bench_cpp_worker" ;;
      Python) ready="${py_sdk_dir}/stepflow/__init__.py" ;;
      TypeScript) ready="${ts_sdk_dir}/dist/src/index.js" ;;
      *) echo "$0: SDK_WORKERS: unknown SDK '${sdk}' (C++, Python, TypeScript)" >&2; exit 2 ;;
    esac
    if [[ -e "${ready}" ]]; then
      sdk_workers+=("${sdk}")
    else
      echo "warning: ${sdk} SDK not built (${ready} missing): its W3 worker row is skipped" >&2
    fi
  done
fi

w1_counts=(--pass-chain "${w1_pass10}" --pass-chain-100 "${w1_pass100}" --map "${w1_map}" --warmup 5
  --only pass_chain_10 --only pass_chain_100 --only map_1000)
throughput_flags=(--inflight 1,64 --seconds "${seconds_per}" --warmup "${warmup}")
node_common=(--modules "${modules}" --scratch "${run_dir}")

for ((run = 1; side_by_side && run <= repeat; run++)); do
  say "run ${run} of ${repeat}"
  if wants W1; then
    step "W1 stepflow" "${build_dir}/bench/stepflow_bench" "${w1_counts[@]}"
    if wants_peer aws-local-stepfunctions; then
      step "W1 aws-local-stepfunctions" node "${peer_dir}/bench.mjs" --modules "${modules}" "${w1_counts[@]}"
    fi
  fi
  if wants W2; then
    step "W2 stepflow" "${build_dir}/bench/server_bench" --mode throughput "${throughput_flags[@]}"
    step "W2 stepflow (10 Task states)" "${build_dir}/bench/task_bench" --workload w2tasks "${throughput_flags[@]}"
    step "W2 stepflow (10 Task states, batched worker calls)" "${build_dir}/bench/task_bench" --workload w2tasks \
      --batched "${throughput_flags[@]}"
    # The same with the C++ SDK's Worker process (it uses the batched calls), where it is built.
    if [[ " ${sdk_workers[*]} " == *" C++ "* ]]; then
      step "W2 stepflow (10 Task states, C++ SDK worker)" "${build_dir}/bench/task_bench" --workload w2tasks \
        --worker-name cpp-sdk --worker-command "${sdk_worker_command[C++]}" "${throughput_flags[@]}"
    fi
    if wants_peer restate; then
      step "W2 restate" node "${peer_dir}/restate_bench.mjs" "${node_common[@]}" --workload w2 "${throughput_flags[@]}"
    fi
  fi
  if wants W3; then
    step "W3 stepflow" "${build_dir}/bench/task_bench" --workload w3 "${throughput_flags[@]}"
    step "W3 stepflow (batched worker calls)" "${build_dir}/bench/task_bench" --workload w3 --batched \
      "${throughput_flags[@]}"
    # The same W3 with each SDK's no-op Worker as its own process (bench/sdk/), where that SDK is built.
    for sdk in "${sdk_workers[@]}"; do
      step "W3 stepflow (${sdk} SDK worker)" env "PYTHONPATH=${py_sdk_dir}" "${build_dir}/bench/task_bench" \
        --workload w3 --worker-name "$(tr 'A-Z+' 'a-zp' <<< "${sdk}")-sdk" \
        --worker-command "${sdk_worker_command[${sdk}]}" "${throughput_flags[@]}"
    done
    if wants_peer bullmq; then
      step "W3 bullmq (AOF always)" node "${peer_dir}/bullmq_bench.mjs" "${node_common[@]}" --workload w3 \
        --persistence aof-always "${throughput_flags[@]}"
      step "W3 bullmq (no persistence)" node "${peer_dir}/bullmq_bench.mjs" "${node_common[@]}" --workload w3 \
        --persistence none "${throughput_flags[@]}"
    fi
    if wants_peer restate; then
      step "W3 restate" node "${peer_dir}/restate_bench.mjs" "${node_common[@]}" --workload w3 "${throughput_flags[@]}"
    fi
  fi
  if wants W4; then
    step "W4 stepflow" "${build_dir}/bench/task_bench" --workload w4 --executions "${w4_executions}"
    step "W4 stepflow (batched worker calls)" "${build_dir}/bench/task_bench" --workload w4 --batched \
      --executions "${w4_executions}"
    # The same with the C++ SDK's Worker process (concurrency 64, the batched calls), where it is built.
    if [[ " ${sdk_workers[*]} " == *" C++ "* ]]; then
      step "W4 stepflow (C++ SDK worker)" "${build_dir}/bench/task_bench" --workload w4 \
        --executions "${w4_executions}" --worker-name cpp-sdk --worker-command "${sdk_worker_command[C++]}"
    fi
    if wants_peer bullmq; then
      step "W4 bullmq (AOF always)" node "${peer_dir}/bullmq_bench.mjs" "${node_common[@]}" --workload w4 \
        --persistence aof-always --executions "${w4_executions}"
      step "W4 bullmq (no persistence)" node "${peer_dir}/bullmq_bench.mjs" "${node_common[@]}" --workload w4 \
        --persistence none --executions "${w4_executions}"
    fi
  fi
  if wants W5; then
    # The Wait lasts until 5 s + 1 s per 2,000 executions after the first start: enough to start them all.
    step "W5 stepflow" "${build_dir}/bench/server_bench" --mode restart --restart-executions "${recovery_n}" \
      --restart-hold-seconds "$((5 + recovery_n / 2000))"
    if wants_peer restate; then
      step "W5 restate" node "${peer_dir}/restate_bench.mjs" "${node_common[@]}" --workload w5 \
        --recovery-n "${recovery_n}"
    fi
  fi
done
if wants footprint; then
  say "footprint (once)"
  step "footprint stepflow (${footprint_n})" "${build_dir}/bench/server_bench" --mode footprint \
    --footprint-executions "${footprint_n}"
  if wants_peer restate; then
    step "footprint restate (${peer_footprint_n})" node "${peer_dir}/restate_bench.mjs" "${node_common[@]}" \
      --workload footprint --footprint-n "${peer_footprint_n}"
  fi
fi
# Several nodes over PostgreSQL (issue 14): W2 (10 Pass states, durable, 64 in flight) and W3 (task round trip,
# 1 and 64 in flight) against 1, 2 and 3 `stepflow server` nodes over one private PostgreSQL (fsync on; run as an
# unprivileged user, as the tests run it), the clients' calls spread over the nodes, a worker per node (a node
# hands out the tasks of its own partitions). No peer: report.py's table shows them as cluster-W2 and cluster-W3,
# server CPU summed over the nodes, the database's beside it. Skipped with a message when PostgreSQL is not
# installed. On a machine with few CPUs every node shares them: see docs/performance.md for what that shows.
for ((run = 1; run <= repeat; run++)); do
  wants cluster || break
  say "cluster run ${run} of ${repeat}"
  for nodes in ${cluster_nodes}; do
    step "cluster W2 ${nodes} node(s)" "${build_dir}/bench/server_bench" --mode throughput --store postgres \
      --nodes "${nodes}" --inflight 64 --seconds "${seconds_per}" --warmup "${warmup}"
    step "cluster W3 ${nodes} node(s)" "${build_dir}/bench/task_bench" --workload w3 --store postgres \
      --nodes "${nodes}" "${throughput_flags[@]}"
  done
done
echo "# finished $(date -u +%Y-%m-%dT%H:%M:%SZ) after $((SECONDS - start_time)) s, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "${raw}"

if [[ ${side_by_side} == 1 ]] || wants cluster; then
  grep -E '^(stepflow W[0-9]: skipped|# .*warning)' "${raw}" >&2
  python3 "${bench_dir}/report.py" --raw "${raw}" --out "${results_dir}" --repeat "${repeat}" \
    --seconds-total "$((SECONDS - start_time))"
fi

# JSONata (issue 10): the evaluator beside jsonata-js 2.0.6, and a 10-state JSONata Pass chain beside the same
# chain in JSONPath on the embedded engine. Printed here (not part of report.py's table: no peer engine runs
# the chains). docs/performance.md records the figures.
if wants JSONata; then
  say "JSONata (once)"
  "${bench_dir}/jsonata/jsonata_bench.sh" "${build_dir}" || echo "warning: the JSONata benchmark failed" >&2
  "${build_dir}/bench/stepflow_bench" --only jsonata_chain_10 --only jsonpath_chain_10 --warmup 100 |
    grep -v '^RESULT' || echo "warning: the JSONata chain workload failed" >&2
fi

# The ops console (issue 11): REST describe/list/counts latency with CONSOLE_EXECUTIONS executions stored, the
# gRPC API's throughput without and with 200 SSE history followers, and the first render of the execution page
# of a ~25,000-event history in Chromium. No peer runs these (the issue names none for them); printed here, not
# in report.py's table. docs/performance.md records the figures.
if wants console; then
  say "console (once)"
  python3 -u "${bench_dir}/console/rest_bench.py" --stepflow "${build_dir}/stepflow" \
    --server-bench "${build_dir}/bench/server_bench" --executions "${console_executions}" \
    --seconds "${seconds_per}" --warmup "${warmup}" --repeat "${repeat}" | grep -v '^RESULT' ||
    echo "warning: the REST benchmark failed" >&2
  if [[ -f "${build_dir}/console/index.html" ]] && command -v node > /dev/null; then
    node "${bench_dir}/console/first_render.mjs" "${build_dir}/stepflow" "${build_dir}/console" \
      "${bench_dir}/../console" "${repeat}" | grep -v '^RESULT' || echo "warning: the first-render benchmark failed" >&2
  else
    echo "warning: no console build in ${build_dir}/console (make bench builds it) or no node: first render skipped" >&2
  fi
fi
