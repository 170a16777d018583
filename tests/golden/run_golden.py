#!/usr/bin/env python3
"""Golden history cases: run each case through `stepflow run --history --time-skip` and compare the
normalized history with the case's expected_history.jsonl.

A case is a folder with definition.json, input.json, optionally mocks.json (an AWS Step Functions Local
mock config whose state machine is "golden" and test case "default") and expected_history.jsonl (one
normalized event per line).

Normalization keeps what must not change and drops what may:
  - "timestamp" becomes "elapsedMs", milliseconds since ExecutionStarted (virtual time under --time-skip),
    so Wait and retry intervals stay visible;
  - execution ARNs, role ARNs and UUIDs become placeholders;
  - "previousEventId" is dropped: AWS links events inside Parallel and Map states in ways that depend on
    its own scheduling; the unit tests (execution_history_test.cc) check the links of sequential histories.

Usage: run_golden.py --cli build/stepflow [--update] [CASE_DIR ...]
--update rewrites expected_history.jsonl from the current output; review the result before committing it.
"""
import argparse
import datetime
import difflib
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXECUTION_ARN = re.compile(r"arn:aws:states:[a-z0-9-]+:\d{12}:(?:execution|express):[^\"\\\s]+")
ROLE_ARN = re.compile(r"arn:aws:iam::\d{12}:role/[^\"\\\s]+")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def millis(timestamp):
    t = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(t.timestamp() * 1000)


def scrub(value):
    if isinstance(value, str):
        return UUID.sub("<uuid>", ROLE_ARN.sub("<role-arn>", EXECUTION_ARN.sub("<execution-arn>", value)))
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def normalize(events):
    start = millis(events[0]["timestamp"]) if events else 0
    out = []
    for e in events:
        n = {"id": e["id"], "type": e["type"], "elapsedMs": millis(e["timestamp"]) - start}
        for key, value in e.items():
            if key not in ("id", "type", "timestamp", "previousEventId"):
                n[key] = scrub(value)
        out.append(n)
    return out


def run_case(cli, case_dir):
    cmd = [cli, "run", os.path.join(case_dir, "definition.json"), "--input", os.path.join(case_dir, "input.json"),
           "--history", "--time-skip"]
    mocks = os.path.join(case_dir, "mocks.json")
    if os.path.exists(mocks):
        cmd += ["--name", "golden", "--mock-config", mocks, "--test-case", "default"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    if proc.returncode not in (0, 1) or not lines:
        raise RuntimeError(f"stepflow run exited {proc.returncode}: {proc.stderr.strip()[:500]}")
    events = [json.loads(l) for l in lines[:-1]]  # the last line is the result summary
    return [json.dumps(e, sort_keys=False, separators=(",", ":")) for e in normalize(events)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--update", action="store_true")
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    cases = args.cases or sorted(os.path.join(HERE, d) for d in os.listdir(HERE)
                                 if os.path.exists(os.path.join(HERE, d, "definition.json")))
    failed = 0
    for case_dir in cases:
        name = os.path.basename(os.path.normpath(case_dir))
        expected_path = os.path.join(case_dir, "expected_history.jsonl")
        try:
            got = run_case(args.cli, case_dir)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            print(f"FAIL {name}: {e}")
            failed += 1
            continue
        if args.update:
            with open(expected_path, "w", encoding="utf-8") as f:
                f.write("\n".join(got) + "\n")
            print(f"updated {name} ({len(got)} events)")
            continue
        with open(expected_path, encoding="utf-8") as f:
            want = [l.rstrip("\n") for l in f if l.strip()]
        if [json.loads(l) for l in got] != [json.loads(l) for l in want]:
            failed += 1
            print(f"FAIL {name}")
            sys.stdout.writelines(difflib.unified_diff([l + "\n" for l in want], [l + "\n" for l in got],
                                                       "expected_history.jsonl", "stepflow run"))
        else:
            print(f"ok   {name} ({len(got)} events)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
