#!/bin/sh
# Runs every fuzz target built in BUILD_DIR for SECONDS each, starting from its committed seed corpus
# (tests/fuzz/corpus/<target>/), which it does not modify: new inputs go to a scratch copy. Exits non-zero
# when a fuzzer finds a crash, a leak, undefined behaviour or a broken invariant (the reproducer is left
# in BUILD_DIR/fuzz-artifacts/).
# Usage: run_fuzzers.sh BUILD_DIR [SECONDS] [TARGET...]
set -eu
build=$1
seconds=${2:-20}
shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "$0")" && pwd)
targets=${*:-$(cd "$here/corpus" && ls)}
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
status=0
for target in $targets; do
  finding=$(grep "^$target: " "$here/known_findings.txt" 2>/dev/null || true)
  if [ -n "$finding" ]; then
    echo "fuzz: $target skipped, open finding (tests/fuzz/known_findings.txt): ${finding#*: }"
    continue
  fi
  binary="$build/tests/fuzz/$target"
  if [ ! -x "$binary" ]; then
    echo "fuzz: $binary not built" >&2
    status=1
    continue
  fi
  work=$(mktemp -d)
  cp -r "$here/corpus/$target/." "$work/"
  echo "fuzz: $target for ${seconds}s"
  if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$work" >"$artifacts/$target.log" 2>&1; then
    echo "fuzz: $target FAILED (log: $artifacts/$target.log)" >&2
    tail -n 40 "$artifacts/$target.log" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^#[0-9]+ *DONE" "$artifacts/$target.log" | tail -n 2 || true
  fi
  rm -rf "$work"
done
exit $status
