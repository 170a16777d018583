#!/usr/bin/env python3
"""Runs the shared conformance corpus (run.py) and checks it against known_failures.txt.

run.py's own --known-failures option cuts each line at the first '#', which also cuts the 512 case ids
that contain '#' (e.g. "...::test_array_partition#exec0"). This wrapper reads the list itself: one id a line,
then two spaces, '#' and the reason. It exits 0 when every case not listed passes, and names listed cases that
now pass so the list only shrinks.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def read_known(path):
    known = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            case_id, sep, reason = line.rpartition("  # ")
            if not sep or not reason.strip():
                sys.exit(f"{path}:{n}: expected '<case id>  # <reason>'")
            known[case_id.strip()] = reason.strip()
    return known


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runner", required=True, help="the shared run.py")
    parser.add_argument("--cli", required=True)
    parser.add_argument("--known-failures", required=True)
    parser.add_argument("--jobs", default="2")
    args = parser.parse_args()
    if not os.path.exists(args.runner):
        sys.exit(f"conformance: {args.runner} not found: the shared folder must sit beside the checkout "
                 "(or pass -DSTEPFLOW_SHARED_DIR=...)")
    known = read_known(args.known_failures)
    with tempfile.TemporaryDirectory(prefix="stepflow-conformance-") as tmp:
        report_path = os.path.join(tmp, "report.json")
        proc = subprocess.run([sys.executable, args.runner, "--cli", args.cli, "--jobs", args.jobs,
                               "--report", report_path], capture_output=True, text=True)
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
    unexpected = sorted(cid for cid, r in report.items() if not r["passed"] and cid not in known)
    fixed = sorted(cid for cid, r in report.items() if r["passed"] and cid in known)
    stale = sorted(cid for cid in known if cid not in report)
    for cid in unexpected:
        print(f"unexpected failure: {cid}: {report[cid]['reason']}")
    for cid in fixed:
        print(f"now passes (remove from known failures): {cid}")
    for cid in stale:
        print(f"listed but not in the corpus (remove from known failures): {cid}")
    # run.py's per-category table and its closing line "conformance: N passed, N failed" (its own
    # "unexpected failure" lines are left out: they ignore known_failures.txt, checked above).
    for line in proc.stdout.splitlines():
        if line.startswith("  ") or line.startswith("conformance:"):
            print(line)
    sys.stderr.write(proc.stderr)
    return 1 if unexpected or stale else 0


if __name__ == "__main__":
    sys.exit(main())
