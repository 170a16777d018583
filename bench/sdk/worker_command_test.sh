#!/bin/sh
# worker_command_test.sh TASK_BENCH WORKER_NAME WORKER_COMMAND: task_bench --worker-command runs W3 with the
# external worker (a short run at 1 and 2 in flight) and prints a RESULT line per level with engine
# "stepflow-WORKER_NAME", no failures, tasks done and the worker's CPU counted; a worker that exits before
# its "ready" line is a named error (exit 1); a bad --worker-name is a usage error (exit 2). The C++ SDK's
# worker (cpp-sdk) also runs W4 (10 executions, ~13 s): every retry counted, the one dead letter, its CPU.
set -u
bench=$1 name=$2 command=$3
out=$("$bench" --workload w3 --inflight 1,2 --seconds 0.5 --warmup 0.2 --worker-command "$command" \
  --worker-name "$name") || { echo "FAIL: task_bench exited $?: $out"; exit 1; }
echo "$out"
for k in 1 2; do
  line=$(echo "$out" | grep "^RESULT {\"engine\":\"stepflow-$name\",\"workload\":\"W3\",\"case\":\"inflight=$k\"")
  [ -n "$line" ] || { echo "FAIL: no RESULT line of stepflow-$name at inflight=$k"; exit 1; }
  echo "$line" | grep -q '"failures":0,' || { echo "FAIL: failures at inflight=$k: $line"; exit 1; }
  echo "$line" | grep -q '"tasks_per_s":0\.0,' && { echo "FAIL: no task done at inflight=$k: $line"; exit 1; }
  echo "$line" | grep -q '"worker_cpu_ms_per_task":0\.000}' && { echo "FAIL: no worker CPU at inflight=$k: $line"; exit 1; }
done
if [ "$name" = cpp-sdk ]; then
  out=$("$bench" --workload w4 --executions 10 --worker-command "$command" --worker-name "$name") ||
    { echo "FAIL: task_bench w4 exited $?: $out"; exit 1; }
  echo "$out"
  line=$(echo "$out" | grep "^RESULT {\"engine\":\"stepflow-$name\",\"workload\":\"W4\",\"case\":\"executions=10\"")
  [ -n "$line" ] || { echo "FAIL: no W4 RESULT line of stepflow-$name"; exit 1; }
  # 10 tasks per execution, each failing once, and T9 of execution 9 failing its three attempts: 101 retries.
  for want in '"succeeded":9,' '"dead_letters":1,' '"retries":101,'; do
    echo "$line" | grep -q "$want" || { echo "FAIL: W4 wants $want: $line"; exit 1; }
  done
  echo "$line" | grep -q '"cpu_ms_per_attempt":0\.000,' && { echo "FAIL: W4 counted no CPU: $line"; exit 1; }
  echo "$line" | grep -q '"retry1_delay_p50_ms":0,' && { echo "FAIL: W4 measured no retry delay: $line"; exit 1; }
fi
err=$("$bench" --workload w3 --inflight 1 --seconds 0.2 --warmup 0 --worker-command "sh -c 'exit 3'" 2>&1 >/dev/null)
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: a worker that exits early: exit $rc, want 1"; exit 1; }
echo "$err" | grep -q 'exited before it printed "ready"' || { echo "FAIL: unnamed error: $err"; exit 1; }
"$bench" --workload w3 --worker-command true --worker-name "Bad Name" 2>/dev/null
rc=$?
[ $rc -eq 2 ] || { echo "FAIL: bad --worker-name: exit $rc, want 2"; exit 1; }
echo "PASS"
