#!/usr/bin/env bash
# Peer benchmark: runs bench/workloads/ with the npm package aws-local-stepfunctions (see bench.mjs for
# what is measured). Installs the package into a fresh scratch directory under ${TMPDIR:-/tmp}, so
# nothing lands in the repository, runs bench.mjs, and removes the directory (KEEP_SCRATCH=1 keeps it).
#
# Usage: bench/peer/run_aws_local_stepfunctions.sh [bench.mjs flags]
#   e.g. --pass-chain 200 --map 5 --choice 50 --concurrency 1 --warmup 0 --only map_1000
# Environment:
#   AWS_LOCAL_SFN_VERSION  npm version to install. Default: 3.0.0 (the version these scripts were checked
#                          with; it declares node >= 22 but runs on Node 20 with bench.mjs's polyfill).
#   NODE                   node binary. Default: node on PATH.
#   KEEP_SCRATCH           1 keeps the scratch directory and prints its path.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${AWS_LOCAL_SFN_VERSION:-3.0.0}"
node_bin="${NODE:-node}"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/stepflow-peer-aws-local-sfn.XXXXXX")"
cleanup() {
  if [[ "${KEEP_SCRATCH:-0}" == "1" ]]; then
    echo "# scratch directory kept: ${scratch}" >&2
  else
    rm -rf "${scratch}"
  fi
}
trap cleanup EXIT

cd "${scratch}"
printf '{ "name": "stepflow-peer-bench", "private": true, "type": "module" }\n' > package.json
# No install scripts are needed (--ignore-scripts); engine-strict stays off because the package asks for
# Node 22 and we run it on Node 20.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error --engine-strict=false \
  "aws-local-stepfunctions@${version}" >&2

"${node_bin}" "${script_dir}/bench.mjs" --modules "${scratch}" --workloads "${script_dir}/../workloads" "$@"
