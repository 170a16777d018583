#!/usr/bin/env bash
# Stepflow's JSONata evaluator beside jsonata-js 2.0.6 (the version AWS Step Functions runs) on the expressions
# of bench/jsonata/cases.json: a predicate path over 10,000 objects, $map/$filter/$reduce over 10,000
# numbers, string building, grouping, sorting, a small ASL-like state expression, and the cost of taking a
# 10,000-object input alone. Prints one line per case with both figures and the ratio jsonata-js/Stepflow
# (how many times faster Stepflow is), by wall clock and by CPU time (each process's own CPU time per
# evaluation: on a shared machine the wall clock also counts the time other processes held the CPU), and
# checks that both produced results of the same JSON length.
#
# jsonata is installed with npm once under SCRATCH (default ~/.cache/stepflow-bench/jsonata-2.0.6), outside
# the source tree, as bench/bench.sh installs its peers. Needs node and npm.
#
# Usage: bench/jsonata/jsonata_bench.sh BUILD_DIR     (builds nothing: `make bench` builds jsonata_bench)
# Environment: MIN_SECONDS per case and engine (default 1); ONLY (space-separated case names);
#              SCRATCH (where jsonata is installed).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir="$(cd "$1" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
min_seconds="${MIN_SECONDS:-1}"
JSONATA_VERSION="2.0.6"
scratch="${SCRATCH:-${XDG_CACHE_HOME:-${HOME}/.cache}/stepflow-bench}/jsonata-${JSONATA_VERSION}"
bench_bin="${build_dir}/bench/jsonata_bench"
if [[ ! -x "${bench_bin}" ]]; then
  echo "$0: ${bench_bin} not found; build the jsonata_bench target first" >&2
  exit 1
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "$0: node and npm are needed for the jsonata-js side" >&2
  exit 1
fi
mkdir -p "${scratch}"
if [[ ! -f "${scratch}/node_modules/jsonata/package.json" ]]; then
  (cd "${scratch}" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent "jsonata@${JSONATA_VERSION}")
fi
data="$(mktemp "${scratch}/data.XXXXXX.json")"
trap 'rm -f "${data}"' EXIT
python3 "${here}/make_data.py" > "${data}"

only_flags=()
for name in ${ONLY:-}; do
  only_flags+=(--only "${name}")
done
ours="$("${bench_bin}" --cases "${here}/cases.json" --data "${data}" --min-seconds "${min_seconds}" "${only_flags[@]}")"
theirs="$(node "${here}/jsonata_bench.mjs" --modules "${scratch}" --cases "${here}/cases.json" --data "${data}" \
  --min-seconds "${min_seconds}" "${only_flags[@]}")"
python3 - "${ours}" "${theirs}" <<'PY'
import sys

def parse(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        fields = dict(p.split("=", 1) for p in parts[2:])
        out[parts[1]] = fields
    return out

ours, theirs = parse(sys.argv[1]), parse(sys.argv[2])
print(f"{'case':<24} {'stepflow ns':>12} {'jsonata-js ns':>14} {'speedup':>8} {'stepflow cpu ns':>16} "
      f"{'jsonata-js cpu ns':>18} {'cpu speedup':>12}  result")
worst = worst_cpu = None
for name, mine in ours.items():
    peer = theirs.get(name)
    if peer is None:
        continue
    ratio = float(peer["ns_per_eval"]) / float(mine["ns_per_eval"])
    cpu_ratio = float(peer["cpu_ns_per_eval"]) / max(float(mine["cpu_ns_per_eval"]), 1.0)
    same = "same length" if mine["result_bytes"] == peer["result_bytes"] else (
        f"DIFFERENT ({mine['result_bytes']} vs {peer['result_bytes']} bytes)")
    print(f"{name:<24} {float(mine['ns_per_eval']):>12.0f} {float(peer['ns_per_eval']):>14.0f} {ratio:>7.1f}x "
          f"{float(mine['cpu_ns_per_eval']):>16.0f} {float(peer['cpu_ns_per_eval']):>18.0f} {cpu_ratio:>11.1f}x  {same}")
    worst = ratio if worst is None else min(worst, ratio)
    worst_cpu = cpu_ratio if worst_cpu is None else min(worst_cpu, cpu_ratio)
if worst is not None:
    print(f"slowest case: {worst:.1f}x jsonata-js (wall clock), {worst_cpu:.1f}x (CPU time)")
PY
