#!/bin/sh
# ts_build.sh SRC DIR: builds the TypeScript SDK from SRC in DIR (a fresh copy, so that the source tree gets no
# node_modules, dist or generated files): npm ci (exact versions from package-lock.json), then npm run build
# (proto copy + proto-loader-gen-types + tsc in strict mode).
set -e
src=$1 dir=$2
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are needed (make deps installs Debian's nodejs and npm)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
  echo "node $major is too old: the TypeScript SDK needs node 18 or newer" >&2
  exit 1
fi
mkdir -p "$dir"
rm -rf "$dir/src" "$dir/test" "$dir/examples" "$dir/scripts" "$dir/dist" "$dir/proto"
cp -R "$src/package.json" "$src/package-lock.json" "$src/tsconfig.json" "$src/scripts" "$src/src" "$src/test" "$src/examples" "$dir/"
rm -rf "$dir/src/gen"
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
echo "built the TypeScript SDK in $dir"
