#!/usr/bin/env python3
"""The ops console's server-side benchmarks (issue 11), on the real `stepflow server`:

1. REST latency with N executions stored (default 100,000): describe, history page, list pages (no filter, by
   state machine, by status, by name prefix matching few), counts (exact, and narrowed by a name prefix),
   p50/p99 over SAMPLES requests each, on one keep-alive connection.
2. 200 history followers (Server-Sent Events over REST) while starts continue: the gRPC API's throughput
   (bench/server_bench --mode throughput --server, pass_chain_10 by StartSync at 1 and 64 in flight) without
   and with the followers connected, alternating, --repeat times; the followers follow executions that keep
   producing events (a Wait 1 s loop), and the events they received are counted.

Starts its own server (a fresh data directory under $TMPDIR, 127.0.0.1, port 0) and stops it by PID. Prints
human lines and `RESULT {json}` lines (workload "REST"/"SSE"), like the other benchmarks of bench/.

Usage: rest_bench.py --stepflow BIN --server-bench BIN [--executions 100000] [--samples 1000] [--followers 200]
                     [--seconds 3] [--warmup 1] [--repeat 2] [--durability sync|async] [--partitions N]
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

TICKER = {
    "Comment": "Produces 6 history events a second for as long as it runs (a Wait 1 s loop).",
    "StartAt": "Tick",
    "States": {
        "Tick": {"Type": "Wait", "Seconds": 1, "Next": "Count"},
        "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Again"},
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 100000, "Next": "Stop"}],
                  "Default": "Tick"},
        "Stop": {"Type": "Succeed"},
    },
}
ONE_PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


class Rest:
    """One keep-alive connection to the REST API; raises on any answer but 200."""

    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.conn.request(method, "/api/v1" + path, body=json.dumps(body) if body is not None else None,
                          headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return json.loads(data)


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def start_server(binary, data_dir, durability, partitions):
    log = open(os.path.join(data_dir, "server.log"), "w")
    args = [binary, "server", "--data-dir", os.path.join(data_dir, "data"), "--grpc-address", "127.0.0.1:0",
            "--http-address", "127.0.0.1:0", "--durability", durability, "--log-level", "warn"]
    if partitions:
        args += ["--partitions", str(partitions)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
    addresses = {}
    deadline = time.monotonic() + 60
    while len(addresses) < 2:
        line = proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"the server did not start (see {data_dir}/server.log)")
        m = re.match(r"^stepflow server (listening|http) on (\S+)", line)
        if m:
            addresses[m.group(1)] = m.group(2)
    # Keep reading its stdout so that it never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, addresses["listening"], addresses["http"]


def seed(http_address, count, threads):
    """Starts `count` executions of the one-Pass machine "bench", named e-000000..., over REST."""
    Rest(http_address).call("POST", "/state-machines", {"name": "bench", "definition": ONE_PASS})
    arns = [None] * count
    errors = []

    def work(first):
        rest = Rest(http_address)
        try:
            for i in range(first, count, threads):
                arns[i] = rest.call("POST", "/executions", {"stateMachine": "bench", "name": f"e-{i:06d}",
                                                             "input": {"i": i}})["arn"]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t0 = time.monotonic()
    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise SystemExit(f"seeding failed: {errors[0]}")
    return arns, time.monotonic() - t0


def latency(http_address, arns, samples, durability):
    rest = Rest(http_address)
    quote = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    count = len(arns)
    cases = [
        ("describe", lambda: f"/executions/{quote(random.choice(arns))}"),
        ("history page", lambda: f"/executions/{quote(random.choice(arns))}/history"),
        ("list, no filter (100)", lambda: "/executions?pageSize=100"),
        ("list, state machine (100)", lambda: "/executions?stateMachine=bench&pageSize=100"),
        ("list, state machine, SUCCEEDED (100)", lambda: "/executions?stateMachine=bench&status=SUCCEEDED&pageSize=100"),
        # A prefix that ~10 of the executions have: the list walks the state machine's index to find them.
        ("list, name prefix matching 10", lambda: f"/executions?stateMachine=bench&namePrefix=e-{random.randrange(count) // 10:05d}"),
        ("list, page 10 by cursor (100)", None),
        ("counts (exact)", lambda: "/executions:counts?stateMachine=bench"),
        ("counts, name prefix", lambda: "/executions:counts?stateMachine=bench&namePrefix=e-0"),
    ]
    results = []
    for name, path_of in cases:
        times = []
        n = samples if "prefix" not in name else max(20, samples // 10)
        for _ in range(n):
            if path_of is None:  # the 10th page: nine pages walked first, the tenth timed
                token = ""
                for _ in range(9):
                    token = rest.call("GET", f"/executions?stateMachine=bench&pageSize=100&nextToken={quote(token)}"
                                      if token else "/executions?stateMachine=bench&pageSize=100")["nextPageToken"]
                path = f"/executions?stateMachine=bench&pageSize=100&nextToken={quote(token)}"
            else:
                path = path_of()
            t = time.monotonic()
            rest.call("GET", path)
            times.append((time.monotonic() - t) * 1000)
        p50, p99 = percentile(times, 50), percentile(times, 99)
        print(f"REST {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({n} samples, {count} executions stored)")
        results.append({"engine": "stepflow", "workload": "REST", "case": name, "durability": durability,
                        "metrics": {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "samples": n,
                                    "executions_stored": count}})
    return results


class Followers:
    """`n` SSE followers of `n` ticker executions, each on its own connection and thread."""

    def __init__(self, http_address, arns):
        self.address = http_address
        self.arns = arns
        self.events = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.connected = threading.Semaphore(0)
        self.failures = []
        self.threads = [threading.Thread(target=self.follow, args=(arn,), daemon=True) for arn in arns]

    def follow(self, arn):
        host, port = self.address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request("GET", f"/api/v1/executions/{urllib.parse.quote(arn, safe='')}/history:follow",
                         headers={"Accept": "text/event-stream"})
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(f"follow: {response.status}")
            self.connected.release()
            while not self.stop.is_set():
                line = response.fp.readline()
                if not line:
                    raise RuntimeError("the stream ended")
                if line.startswith(b"id: "):
                    with self.lock:
                        self.events += 1
        except Exception as e:  # noqa: BLE001 - counted and reported
            if not self.stop.is_set():
                self.failures.append(str(e))
                self.connected.release()
        finally:
            conn.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        for _ in self.threads:
            self.connected.acquire()
        if self.failures:
            raise SystemExit(f"followers failed: {self.failures[0]}")
        return self

    def __exit__(self, *exc):
        self.stop.set()


def throughput(server_bench, grpc_address, seconds, warmup, durability):
    """pass_chain_10 executions/s by StartSync at 1 and 64 in flight: {inflight: exec_per_s}."""
    out = subprocess.run([server_bench, "--mode", "throughput", "--server", grpc_address, "--inflight", "1,64",
                          "--seconds", str(seconds), "--warmup", str(warmup), "--durability", durability],
                         capture_output=True, text=True, check=True).stdout
    figures = {}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[len("RESULT "):])
            figures[r["case"]] = r["metrics"]["exec_per_s"]
    return figures


def followers_bench(args, grpc_address, http_address):
    rest = Rest(http_address)
    rest.call("POST", "/state-machines", {"name": "ticker", "definition": TICKER})
    arns = [rest.call("POST", "/executions", {"stateMachine": "ticker", "input": {"n": 0}})["arn"]
            for _ in range(args.followers)]
    runs = {"without": [], "with": []}
    received = []
    for _ in range(args.repeat):
        runs["without"].append(throughput(args.server_bench, grpc_address, args.seconds, args.warmup, args.durability))
        with Followers(http_address, arns) as followers:
            t0, before = time.monotonic(), followers.events
            runs["with"].append(throughput(args.server_bench, grpc_address, args.seconds, args.warmup,
                                           args.durability))
            received.append((followers.events - before) / (time.monotonic() - t0))
            if followers.failures:
                raise SystemExit(f"a follower failed: {followers.failures[0]}")
    for arn in arns:
        rest.call("POST", f"/executions/{urllib.parse.quote(arn, safe='')}:stop", {})
    results = []
    for case in sorted(runs["without"][0]):
        without = statistics.median(r[case] for r in runs["without"])
        with_ = statistics.median(r[case] for r in runs["with"])
        change = 100 * (with_ - without) / without
        print(f"SSE gRPC StartSync pass_chain_10 {case}: {without:.0f} exec/s without followers, {with_:.0f} with "
              f"{args.followers} followers ({change:+.1f}%); runs without {[round(r[case]) for r in runs['without']]}, "
              f"with {[round(r[case]) for r in runs['with']]}")
        results.append({"engine": "stepflow", "workload": "SSE", "case": f"{args.followers} followers, {case}",
                        "durability": args.durability,
                        "metrics": {"exec_per_s_without": round(without, 1), "exec_per_s_with": round(with_, 1),
                                    "change_percent": round(change, 1),
                                    "events_per_s_to_followers": round(statistics.median(received), 1)}})
    print(f"SSE followers received {statistics.median(received):.0f} events/s in all (median over runs)")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stepflow", required=True)
    parser.add_argument("--server-bench", required=True)
    parser.add_argument("--executions", type=int, default=100000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--followers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed-threads", type=int, default=8)
    parser.add_argument("--durability", choices=["sync", "async"], default="sync")
    parser.add_argument("--partitions", type=int, default=0)
    parser.add_argument("--only", choices=["latency", "followers"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["latency", "followers"])
    scratch = tempfile.mkdtemp(prefix="stepflow-rest-bench-")
    proc, grpc_address, http_address = start_server(args.stepflow, scratch, args.durability, args.partitions)
    try:
        print(f"# rest_bench: {os.cpu_count()} CPUs, durability={args.durability}, load {os.getloadavg()[0]:.2f}")
        results = []
        if "latency" in only:
            arns, seconds = seed(http_address, args.executions, args.seed_threads)
            print(f"REST seeded {args.executions} executions in {seconds:.1f} s ({args.executions / seconds:.0f}/s, "
                  f"{args.seed_threads} connections)")
            results += latency(http_address, arns, args.samples, args.durability)
        if "followers" in only:
            results += followers_bench(args, grpc_address, http_address)
        for r in results:
            print("RESULT " + json.dumps(r))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
