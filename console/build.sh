#!/bin/sh
# Builds the console into OUT_DIR (the `stepflow server` serves OUT_DIR at /; `make console` and the CTest
# fixture console_build use OUT_DIR = BUILD_DIR/console, beside the binary). Runs `npm ci` first when
# node_modules is missing or older than package-lock.json, then type-checks (tsc) and bundles (vite).
#
# usage: console/build.sh OUT_DIR
set -eu
out=${1:?usage: console/build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build -- --outDir "$out" --emptyOutDir --logLevel warn
