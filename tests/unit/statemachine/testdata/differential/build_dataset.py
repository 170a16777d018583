#!/usr/bin/env python3
"""Joins gen.py's calls and oracle.js's answers into the test's data file.

Left out, on purpose: calls where jsonata-js 2.0.6 fails with a JavaScript exception instead of a JSONata
error (a TypeError for pictures with an empty sub-picture, stack overflow for huge roman numerals), and
$parseInteger of non-letters with a letter picture (the result depends on the last bit of Math.pow).
"""
import json
import sys

calls = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
answers = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8")]
for call, answer in zip(calls, answers):
    error = answer.get("error", "")
    if isinstance(error, str) and error.startswith("JS:"):
        continue
    if call["fn"] == "parseInteger" and call["args"][1] in ("a", "A"):
        continue
    record = {"fn": call["fn"], "args": call["args"], "expected": {k: v for k, v in answer.items() if k != "now"}}
    if "now" in answer and call["fn"] in ("toMillisPic", "roundtrip"):
        record["now"] = answer["now"]
    print(json.dumps(record, ensure_ascii=False))
