#!/bin/sh
# pip_install.sh PYTHON SRC DIR: installs the Python SDK from SRC into DIR (fresh), as a user would with
# `pip install clients/python`, but offline: no build isolation, no index, no dependencies (Debian has them).
# The in-tree build's leftovers (build/, *.egg-info) are removed so that the source tree stays clean.
set -e
python=$1 src=$2 dir=$3
rm -rf "$dir"
"$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-build-isolation \
  --no-deps --no-index --target "$dir" "$src"
rm -rf "$src/build" "$src"/*.egg-info
"$python" -c "import sys; sys.path.insert(0, '$dir'); import stepflow, stepflow.aio, stepflow.v1.stepflow_pb2_grpc"
echo "installed the stepflow package into $dir"
