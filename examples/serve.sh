#!/bin/sh
# `make run`: starts `stepflow server` (data in ./data, gRPC on 127.0.0.1:7233), registers every
# examples/*.asl.json as a state machine named after its file, prints how to start an execution, and keeps
# the server in the foreground until Ctrl-C (SIGINT/SIGTERM: graceful shutdown).
#
# usage: examples/serve.sh BUILD_DIR [DATA_DIR] [GRPC_ADDRESS]
set -eu

build=${1:?usage: examples/serve.sh BUILD_DIR [DATA_DIR] [GRPC_ADDRESS]}
data=${2:-data}
address=${3:-127.0.0.1:7233}
bin=$build/stepflow
startup_timeout_s=30

out=$(mktemp)
errors=$(mktemp)
"$bin" server --data-dir "$data" --grpc-address "$address" >"$out" &
pid=$!
stop() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out" "$errors"
}
trap 'stop; exit 0' INT TERM
trap 'rm -f "$out" "$errors"' EXIT

# Wait for "stepflow server listening on ADDR".
waited=0
while ! grep -q '^stepflow server listening on ' "$out"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "make run: the server exited before listening (is another one using $data or $address?)" >&2
    exit 1
  fi
  if [ "$waited" -ge $((startup_timeout_s * 10)) ]; then
    echo "make run: the server did not listen within ${startup_timeout_s} s" >&2
    stop
    exit 1
  fi
  sleep 0.1
  waited=$((waited + 1))
done
listening=$(sed -n 's/^stepflow server listening on //p' "$out")
http_listening=$(sed -n 's/^stepflow server http on //p' "$out")
server_flag=""
if [ "$listening" != "127.0.0.1:7233" ]; then
  server_flag=" --server $listening"
fi

registered=""
for def in examples/*.asl.json; do
  name=$(basename "$def" .asl.json)
  if "$bin" sm create "$name" "$def" --server "$listening" --output json >/dev/null 2>"$errors"; then
    registered="$registered $name"
  elif grep -q StateMachineAlreadyExists "$errors"; then
    # Registered by an earlier run with another definition: bring it up to date.
    "$bin" sm update "$name" "$def" --server "$listening" --output json >/dev/null
    registered="$registered $name(updated)"
  else
    cat "$errors" >&2
    stop
    exit 1
  fi
done

cat <<MSG

Stepflow server listening on $listening (gRPC; data in $data/). State machines:$registered
Ops console (when built: make console): http://$http_listening/
Start an execution from another terminal:

  $bin exec start hello --input examples/hello.input.json$server_flag

then watch it with '$bin exec history EXECUTION_ARN --follow$server_flag' (hello waits an hour
in its Pause state; 'exec stop EXECUTION_ARN' ends it), or list them with '$bin exec list$server_flag'.

order's Task states wait for workers; run one per queue (charge-card, ship, email), e.g.

  $bin worker --queue charge-card$server_flag -- python3 examples/workers/order_worker.py
  $bin exec start order --input examples/order.input.json --sync$server_flag

Ctrl-C stops the server.

MSG
wait "$pid"
