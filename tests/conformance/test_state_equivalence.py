#!/usr/bin/env python3
"""TestState agrees with `stepflow run` over the conformance corpus (issue 12).

For every corpus case whose first state is a Pass, Choice or Fail state, or a Task state the case mocks, the
first state S is tested two ways:
  - `stepflow test-state DEF.json S` on the case's whole definition (a Task gets the case's first mocked
    response as its mock);
  - `stepflow run` on a one-state definition: S, and a Pass state ending the machine for each state S may go
    to, with the same mock.
TestState's output (SUCCEEDED, CAUGHT_ERROR) must equal the run's output, its error and cause (FAILED) the
run's, and its nextState the state the run entered after S. Values the corpus masks (its `normalize`
pointers: ARNs, times, random values) are compared for presence only. A Task whose mocked error a retrier
takes is RETRIABLE for TestState while the run retries, and an EXPRESS case's context object is not
TestState's (a standard execution's): those are skipped, and counted.

The cases are loaded with the corpus runner's own loader (run.py), and its mock-config writer and JSON
comparison are reused.
"""
import argparse
import concurrent.futures
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

TESTED_TYPES = ("Pass", "Choice", "Fail", "Task")
# The fewest cases that must be compared: fewer means the corpus or this script broke, not that all is well.
MIN_COMPARED = 100


def load_runner(shared_dir):
    path = os.path.join(shared_dir, "conformance", "run.py")
    spec = importlib.util.spec_from_file_location("conformance_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def targets_of(state):
    targets = [state.get("Next"), state.get("Default")]
    targets += [c.get("Next") for c in state.get("Choices", []) if isinstance(c, dict)]
    targets += [c.get("Next") for c in state.get("Catch", []) if isinstance(c, dict)]
    return [t for t in targets if isinstance(t, str)]


def one_state_definition(definition, name):
    state = definition["States"][name]
    states = {name: state}
    for target in targets_of(state):
        states.setdefault(target, {"Type": "Pass", "End": True})
    machine = {"StartAt": name, "States": states}
    if "QueryLanguage" in definition:
        machine["QueryLanguage"] = definition["QueryLanguage"]
    return machine


def last_json_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    return json.loads(lines[-1]) if lines else None


def compare(runner, cli, case, timeout):
    """(outcome, message): outcome is "compared", "skipped" or "failed"."""
    definition = case["definition"]
    if isinstance(definition, str):
        definition = json.loads(definition)
    name = definition["StartAt"]
    state = definition["States"][name]
    kind = state.get("Type")
    mocks = (case.get("mocks") or {}).get(name)
    if kind not in TESTED_TYPES or (kind == "Task" and not mocks):
        return "ignored", ""
    if name in targets_of(state):
        return "skipped", "the state goes to itself"
    if case.get("state_machine_type") == "EXPRESS":
        # TestState runs outside any state machine: its context object is a standard execution's.
        return "skipped", "an EXPRESS machine's context object"
    with tempfile.TemporaryDirectory(prefix="teststate-") as tmp:
        whole = os.path.join(tmp, "whole.json")
        one = os.path.join(tmp, "one.json")
        input_path = os.path.join(tmp, "input.json")
        for path, value in ((whole, definition), (one, one_state_definition(definition, name)),
                            (input_path, case.get("input", {}))):
            with open(path, "w", encoding="utf-8") as f:
                json.dump(value, f)
        run_cmd = [cli, "run", one, "--input", input_path, "--time-skip", "--history"]
        test_cmd = [cli, "test-state", whole, name, "--input-file", input_path]
        if mocks:
            mocks_path = os.path.join(tmp, "mocks.json")
            with open(mocks_path, "w", encoding="utf-8") as f:
                json.dump(runner.mock_config("conformance", {name: mocks}), f)
            run_cmd += ["--name", "conformance", "--mock-config", mocks_path, "--test-case", "default"]
            first = mocks[0]
            if "Return" in first:
                test_cmd += ["--mock-result", json.dumps(first["Return"])]
            else:
                thrown = first.get("Throw", {})
                test_cmd += ["--mock-error", thrown.get("Error", ""), "--mock-cause", thrown.get("Cause", "")]
        try:
            ran = subprocess.run(run_cmd, capture_output=True, text=True, timeout=timeout)
            tested = subprocess.run(test_cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "failed", "timed out"
    try:
        run_lines = [json.loads(l) for l in ran.stdout.splitlines() if l.strip()]
        got = last_json_line(tested.stdout)
    except ValueError:
        return "failed", f"stdout is not JSON lines: run={ran.stdout[-300:]!r} test-state={tested.stdout[-300:]!r}"
    if not run_lines or got is None:
        return "failed", f"no answer: run: {ran.stderr.strip()[:300]} test-state: {tested.stderr.strip()[:300]}"
    run_result = run_lines[-1]
    if got["status"] == "RETRIABLE":
        return "skipped", "a retrier takes the mocked error"
    entered = [e for e in run_lines[:-1] if str(e.get("type", "")).endswith("StateEntered")]
    run_next = None
    if len(entered) > 1:
        details = entered[1].get("stateEnteredEventDetails", {})
        run_next = details.get("name")
    if run_result["status"] == "SUCCEEDED":
        if got["status"] not in ("SUCCEEDED", "CAUGHT_ERROR"):
            return "failed", f"test-state {got} but run SUCCEEDED with {json.dumps(run_result.get('output'))[:300]}"
        want, have = {"output": run_result.get("output")}, {"output": got.get("output")}
        if got.get("nextState") != run_next:
            return "failed", f"nextState {got.get('nextState')!r}, run entered {run_next!r}"
    else:
        if got["status"] != "FAILED":
            return "failed", f"test-state {got['status']} but run {run_result}"
        want = {"error": run_result.get("error"), "cause": run_result.get("cause")}
        have = {"error": got.get("error"), "cause": got.get("cause")}
    for pointer in case.get("normalize", []):
        want, _ = runner.strip_pointer(want, runner.pointer_tokens(pointer))
        have, _ = runner.strip_pointer(have, runner.pointer_tokens(pointer))
    if not runner.same_json(want, have):
        return "failed", f"test-state {json.dumps(have)[:400]} != run {json.dumps(want)[:400]}"
    return "compared", ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True, help="the stepflow binary")
    parser.add_argument("--shared-dir", required=True, help="the directory holding conformance/")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    runner = load_runner(args.shared_dir)
    cases = [c for c in runner.load_cases([os.path.join(args.shared_dir, "conformance", "cases.jsonl")])
             if "status" in c.get("expected", {})]
    counts = {"compared": 0, "skipped": 0, "failed": 0, "ignored": 0}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(compare, runner, args.cli, c, args.timeout): c["id"] for c in cases}
        for future in concurrent.futures.as_completed(futures):
            outcome, message = future.result()
            counts[outcome] += 1
            if outcome == "failed" or (args.verbose and outcome == "skipped"):
                print(f"{outcome.upper()} {futures[future]}: {message}")
    print(f"test-state equivalence: {counts['compared']} compared, {counts['failed']} failed, "
          f"{counts['skipped']} skipped, {counts['ignored']} not of the tested kinds")
    if counts["compared"] < MIN_COMPARED:
        print(f"fewer than {MIN_COMPARED} cases compared")
        return 1
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
