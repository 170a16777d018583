#!/usr/bin/env python3
"""REST latency: describe and list p50/p99 with N executions stored (issue 11's benchmark, small form).

Usage: bench/rest_latency.py HTTP_ADDRESS [EXECUTIONS] [SAMPLES]
Against a running `stepflow server` (e.g. with --durability relaxed for the seeding; say so with the figures).
Seeds EXECUTIONS executions of a one-state Pass machine through POST /api/v1/executions on one keep-alive
connection, then times SAMPLES describes (random stored executions) and SAMPLES list pages (pageSize=100).
"""
import http.client
import json
import random
import sys
import time
import urllib.parse


def request(conn, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data)


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    conn = http.client.HTTPConnection(host, int(port))
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    try:
        request(conn, "POST", "/api/v1/state-machines", {"name": "bench", "definition": definition})
    except SystemExit:
        pass  # already there
    arns = []
    t0 = time.monotonic()
    for i in range(count):
        arns.append(request(conn, "POST", "/api/v1/executions", {"stateMachine": "bench", "input": {"i": i}})["arn"])
    seeded = time.monotonic() - t0
    describe, listing = [], []
    for _ in range(samples):
        arn = urllib.parse.quote(random.choice(arns), safe="")
        t = time.monotonic()
        request(conn, "GET", f"/api/v1/executions/{arn}")
        describe.append((time.monotonic() - t) * 1000)
        t = time.monotonic()
        request(conn, "GET", "/api/v1/executions?stateMachine=bench&pageSize=100")
        listing.append((time.monotonic() - t) * 1000)
    print(f"seeded {count} executions in {seeded:.1f} s ({count / seeded:.0f}/s, one connection)")
    for name, values in (("describe", describe), ("list (100 per page)", listing)):
        print(f"{name}: p50 {percentile(values, 50):.2f} ms, p99 {percentile(values, 99):.2f} ms ({samples} samples)")


if __name__ == "__main__":
    main()
