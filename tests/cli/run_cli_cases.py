#!/usr/bin/env python3
"""Runs `stepflow run` / `stepflow validate` / `stepflow test-state` on hostile definitions and inputs.

Every case states the exit code it expects and a text that stderr (or stdout) must contain. Whatever
the outcome, the stdout of `run` must be valid JSON lines (never `i.nfE0`, `Infinity` or `NaN`) and the process must
not die on a signal (a crash shows as a negative return code).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def machine(state):
    return {"StartAt": "S", "States": {"S": dict(state, End=True)}}


def nested_parallel(levels):
    state = {"Type": "Pass", "End": True}
    for _ in range(levels):
        state = {"Type": "Parallel", "End": True,
                 "Branches": [{"StartAt": "In", "States": {"In": state}}]}
    return {"StartAt": "In", "States": {"In": state}}


# (name, verb, definition text, input text or None, expected exit code, expected text in stderr+stdout)
CASES = [
    ("input_1e400_refused", "run", json.dumps(PASS), '{"big": 1e400}', 2,
     "number 1e400 at line 1, column 9 (offset 8) is outside the range of a double"),
    ("definition_1e400_refused", "run",
     '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"x":-1e400},"End":true}}}', None, 2,
     "outside the range of a double"),
    ("validate_1e400_refused", "validate",
     '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1e999,"End":true}}}', None, 1,
     "outside the range of a double"),
    ("string_to_json_1e400_fails_state", "run",
     json.dumps(machine({"Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.s)"}})),
     '{"s": "[1e400]"}', 1, "States.Runtime"),
    # A 30-level input and a path whose deep scans multiply: fails the execution, not the process.
    ("exploding_input_path_fails_execution", "run",
     json.dumps(machine({"Type": "Pass", "InputPath": "$..*..*..*..*..*..*..*..*..*..*"})),
     "1".join(['{"a":' * 30, "}" * 30]), 1, "The JSONPath '$..*..*..*..*..*..*..*..*..*..*'"),
    # std::regex recursed per character here and died with SIGSEGV.
    ("regex_filter_over_long_string_does_not_crash", "run",
     json.dumps(machine({"Type": "Pass", "InputPath": "$.items[?(@.s =~ /(a|b)*c/)]"})),
     json.dumps({"items": [{"s": "ab" * 100000}]}), 0, "SUCCEEDED"),
    ("hostile_regex_fails_execution", "run",
     json.dumps(machine({"Type": "Pass", "InputPath": "$.items[?(@.s =~ /(a|aa)+/)]"})),
     json.dumps({"items": [{"s": "a" * 40 + "!"}]}), 1, "match limit"),
    ("huge_wait_seconds_path_fails", "run",
     json.dumps(machine({"Type": "Wait", "SecondsPath": "$.d"})), '{"d": 9223372036854775}', 1,
     "references a value larger than 99999999"),
    # Validate and run accept the same nesting (Create refused 33 levels that Validate accepted).
    ("nested_parallel_33_levels_validates", "validate", json.dumps(nested_parallel(33)), None, 0, ""),
    ("nested_parallel_33_levels_runs", "run", json.dumps(nested_parallel(33)), "{}", 0, "SUCCEEDED"),
    ("duplicate_key_refused_with_location", "validate",
     '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"End":false}}}', None, 1,
     "/States/P/End: INVALID_JSON_DESCRIPTION: Duplicate key"),
    ("duplicate_key_refused_by_run", "run",
     '{"StartAt":"P","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}', None, 2, "/StartAt"),
    # `stepflow test-state DEF S` (the state S, or the StartAt state of a machine without one): the same bounds.
    ("test_state_input_1e400_refused", "test-state", json.dumps(machine({"Type": "Pass"})), '{"big": 1e400}', 2,
     "InvalidExecutionInput: the input: number 1e400"),
    ("test_state_string_to_json_1e400_fails_state", "test-state",
     json.dumps(machine({"Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.s)"}})),
     '{"s": "[1e400]"}', 1, "States.Runtime"),
    ("test_state_exploding_input_path_fails", "test-state",
     json.dumps(machine({"Type": "Pass", "InputPath": "$..*..*..*..*..*..*..*..*..*..*"})),
     "1".join(['{"a":' * 30, "}" * 30]), 1, "The JSONPath '$..*..*..*..*..*..*..*..*..*..*'"),
    ("test_state_nested_parallel_needs_a_mock", "test-state", json.dumps(nested_parallel(33)), "{}", 2,
     "ValidationException: a Parallel state needs a mock"),
    ("test_state_duplicate_key_refused", "test-state",
     '{"StartAt":"S","States":{"S":{"Type":"Pass","End":true,"End":false}}}', None, 2,
     "InvalidDefinition: /States/S/End: INVALID_JSON_DESCRIPTION: Duplicate key"),
]


def run_case(cli, tmp, case):
    name, verb, definition, input_text, want_code, want_text = case
    def_path = os.path.join(tmp, name + ".asl.json")
    with open(def_path, "w") as f:
        f.write(definition)
    args = [cli, verb, def_path]
    if verb == "test-state":
        try:
            args.append(json.loads(definition).get("StartAt", "S"))
        except ValueError:
            args.append("S")
    if input_text is not None:
        in_path = os.path.join(tmp, name + ".input.json")
        with open(in_path, "w") as f:
            f.write(input_text)
        args += ["--input-file" if verb == "test-state" else "--input", in_path]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    problems = []
    if p.returncode < 0:
        problems.append(f"killed by signal {-p.returncode}")
    if p.returncode != want_code:
        problems.append(f"exit code {p.returncode}, expected {want_code}")
    if want_text not in p.stderr + p.stdout:
        problems.append(f"expected {want_text!r} in the output")
    for line in (p.stdout.splitlines() if verb in ("run", "test-state") else []):  # validate prints text
        try:
            json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError as e:
            problems.append(f"stdout line is not valid JSON ({e}): {line[:200]}")
    if problems:
        print(f"FAIL {name}: " + "; ".join(problems))
        print("  stdout: " + p.stdout[:500])
        print("  stderr: " + p.stderr[:500])
        return False
    print(f"ok   {name}")
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if args.only and args.only not in case[0]:
                continue
            ok = run_case(args.cli, tmp, case) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
