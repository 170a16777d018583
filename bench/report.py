#!/usr/bin/env python3
"""Reads the RESULT lines of a bench/bench.sh run and prints one table of medians and ranges with the ratio
Stepflow/peer; writes OUT/results.json, OUT/table.md and (with gnuplot) OUT/chart.png.

A RESULT line is `RESULT {"engine":..., "workload":..., "case":..., "durability":..., "metrics":{...}}`;
the same (workload, case, engine) seen in several runs gives a median and a range [min-max] per metric.

Usage: report.py --raw RAW_LOG --out DIR [--repeat N] [--seconds-total S]
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ENGINES = ["stepflow", "stepflow-tasks", "aws-local-stepfunctions", "restate", "bullmq-aof", "bullmq-mem"]
# Stepflow's own variants: each is compared with every peer of the same (workload, case).
# stepflow-*-sdk: W3 with an SDK's no-op Worker process instead of task_bench's worker threads (bench/sdk/).
# *-batched: task_bench's worker threads on the batched calls (Tasks.PollBatch/ReportBatch).
OURS = ["stepflow", "stepflow-tasks", "stepflow-batched", "stepflow-tasks-batched", "stepflow-cpp-sdk",
        "stepflow-python-sdk", "stepflow-typescript-sdk"]
OURS_NOTE = {"stepflow-tasks": "10 Task states + worker", "stepflow-batched": "batched worker calls",
             "stepflow-tasks-batched": "10 Task states + batched worker calls", "stepflow-cpp-sdk": "C++ SDK worker",
             "stepflow-python-sdk": "Python SDK worker", "stepflow-typescript-sdk": "TypeScript SDK worker"}
ENGINE_LABEL = {
    "stepflow": "Stepflow",
    "stepflow-tasks": "Stepflow, 10 Task states + worker",
    "stepflow-batched": "Stepflow, batched worker calls",
    "stepflow-tasks-batched": "Stepflow, 10 Task states + batched worker calls",
    "stepflow-cpp-sdk": "Stepflow, C++ SDK worker",
    "stepflow-python-sdk": "Stepflow, Python SDK worker",
    "stepflow-typescript-sdk": "Stepflow, TypeScript SDK worker",
    "aws-local-stepfunctions": "aws-local-stepfunctions",
    "restate": "Restate",
    "bullmq-aof": "BullMQ (AOF always)",
    "bullmq-mem": "BullMQ (no persistence)",
}
WORKLOAD_LABEL = {
    "W1": "W1 interpreter, in memory",
    "W2": "W2 durable steps (10)",
    "W3": "W3 task round trip",
    "W4": "W4 retries + DLQ",
    "W5": "W5 recovery (kill -9)",
    "footprint": "footprint",
    "cluster-W2": "W2 on 1-3 nodes over PostgreSQL",
    "cluster-W3": "W3 on 1-3 nodes over PostgreSQL",
}
# Per workload: (metric, label, better) where better is "higher", "lower" or "" (no direction: a count).
METRICS = {
    "W1": [("transitions_per_s", "transitions/s", "higher"), ("exec_per_s", "executions/s", "higher")],
    "W2": [("exec_per_s", "executions/s", "higher"), ("p50_ms", "p50 ms", "lower"), ("p99_ms", "p99 ms", "lower")],
    "W3": [("tasks_per_s", "tasks/s", "higher"), ("p50_ms", "p50 ms", "lower"), ("p99_ms", "p99 ms", "lower"),
           ("worker_cpu_ms_per_task", "worker CPU ms/task", "lower")],
    "W4": [
        ("exec_per_s", "executions/s", "higher"),
        ("baseline_exec_per_s", "executions/s without failures", "higher"),
        ("cpu_ms_per_retry", "CPU ms per retry", "lower"),
        ("retry1_delay_p50_ms", "retry 1 delay p50 ms (expect 1000)", ""),
        ("retry1_delay_p99_ms", "retry 1 delay p99 ms (expect 1000)", ""),
        ("retry2_delay_p50_ms", "retry 2 delay p50 ms (expect 2000)", ""),
        ("dead_letters", "dead letters", ""),
    ],
    "W5": [
        ("listening_ms", "process start -> API listening ms", "lower"),
        ("ready_ms", "-> new execution accepted ms", "lower"),
        ("all_complete_ms", "-> all complete ms", "lower"),
        ("lost", "lost", ""),
        ("duplicated", "duplicated", ""),
    ],
    # Several nodes over one PostgreSQL (bench.sh ONLY=cluster): server CPU summed over the nodes.
    "cluster-W2": [("exec_per_s", "executions/s", "higher"), ("p50_ms", "p50 ms", "lower"),
                   ("p99_ms", "p99 ms", "lower"), ("server_cpu_ms_per_exec", "server CPU ms/exec (all nodes)", "lower"),
                   ("db_cpu_ms_per_exec", "PostgreSQL CPU ms/exec", "lower")],
    "cluster-W3": [("tasks_per_s", "tasks/s", "higher"), ("p50_ms", "p50 ms", "lower"), ("p99_ms", "p99 ms", "lower"),
                   ("server_cpu_ms_per_exec", "server CPU ms/task (all nodes)", "lower"),
                   ("db_cpu_ms_per_exec", "PostgreSQL CPU ms/task", "lower")],
    "footprint": [
        ("executions", "N finished executions (scaled down; see bench/README.md)", ""),
        ("disk_bytes_per_exec", "bytes on disk per execution", "lower"),
        ("rss_mib", "server RSS MiB", "lower"),
    ],
}


def parse(raw_path):
    results = {}  # (workload, case, engine) -> {"durability": str, "runs": [metrics...]}
    skipped = []
    header = []
    for line in open(raw_path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("RESULT "):
            try:
                r = json.loads(line[len("RESULT "):])
            except json.JSONDecodeError:
                continue
            key = (r["workload"], r["case"], r["engine"])
            entry = results.setdefault(key, {"durability": r.get("durability", ""), "runs": []})
            entry["runs"].append(r.get("metrics", {}))
        elif re.match(r"^stepflow W\d: skipped", line) or re.match(r"^# step .* failed", line):
            if line not in skipped:
                skipped.append(line)
        elif line.startswith("# stepflow bench:") or line.startswith("# settings") or line.startswith("# finished") \
                or line.startswith("# peers:"):
            header.append(line[2:])
    return results, skipped, header


def summarize(values):
    vals = [v for v in values if isinstance(v, (int, float))]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "runs": vals}


def fmt(v):
    if v is None:
        return "n/a"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a == int(a):
        return f"{v:.0f}"
    return f"{v:.2f}"


def fmt_summary(s):
    if s is None:
        return "n/a"
    if len(s["runs"]) == 1 or s["min"] == s["max"]:
        return f"{fmt(s['median'])} (n={len(s['runs'])})"
    return f"{fmt(s['median'])} [{fmt(s['min'])}-{fmt(s['max'])}]"


def case_sort_key(case):
    # By the text without numbers, then by every number in turn ("nodes=2 inflight=64" after "nodes=2 inflight=1").
    return (re.sub(r"\d+", "", case), [int(n) for n in re.findall(r"\d+", case)])


def machine_info():
    info = {"cpus": os.cpu_count(), "kernel": platform.release()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                info["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    try:
        virt = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True, timeout=5).stdout.strip()
        if virt:
            info["virtualization"] = virt
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def git_commit(repo_dir):
    try:
        rev = subprocess.run(["git", "-C", repo_dir, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", repo_dir, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build_rows(results):
    """One row per (workload, case, metric, peer), with Stepflow's figure beside each peer's."""
    rows = []
    cases = sorted({(w, c) for (w, c, _e) in results}, key=lambda wc: (list(METRICS).index(wc[0])
                                                                       if wc[0] in METRICS else 99,
                                                                       case_sort_key(wc[1])))
    for workload, case in cases:
        engines = [e for e in ENGINES if (workload, case, e) in results]
        engines += sorted(e for (w, c, e) in results if w == workload and c == case and e not in ENGINES)
        peers = [e for e in engines if e not in OURS] or [None]
        variants = [e for e in OURS if (workload, case, e) in results] or ["stepflow"]
        for metric, label, better in METRICS.get(workload, []):
            for variant in variants:
                ours = results.get((workload, case, variant))
                s_ours = summarize([r.get(metric) for r in ours["runs"]]) if ours else None
                for peer in peers:
                    theirs = results.get((workload, case, peer)) if peer else None
                    s_peer = summarize([r.get(metric) for r in theirs["runs"]]) if theirs else None
                    if s_ours is None and s_peer is None:
                        continue
                    ratio = None
                    if s_ours is not None and s_peer is not None and s_peer["median"] not in (0, None) \
                            and better != "":
                        ratio = s_ours["median"] / s_peer["median"]
                    shown_case = f"{case} ({OURS_NOTE[variant]})" if variant in OURS_NOTE else case
                    rows.append({
                        "workload": workload, "case": shown_case, "metric": metric, "label": label,
                        "better": better, "variant": variant, "stepflow": s_ours, "peer": peer,
                        "peer_summary": s_peer, "ratio": ratio,
                    })
    return rows


def ratio_text(row):
    r = row["ratio"]
    if r is None:
        return "-"
    return f"{r:.2f}x"


def text_table(rows):
    head = ["workload", "case", "metric", "Stepflow median [range]", "peer", "peer median [range]",
            "Stepflow/peer"]
    body = [[WORKLOAD_LABEL.get(r["workload"], r["workload"]), r["case"],
             r["label"] + {"higher": " (higher=better)", "lower": " (lower=better)", "": ""}[r["better"]],
             fmt_summary(r["stepflow"]), ENGINE_LABEL.get(r["peer"], r["peer"] or "-"),
             fmt_summary(r["peer_summary"]), ratio_text(r)] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)] if body else [len(h) for h in head]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines.append("  ".join("-" * w for w in widths))
    prev = None
    for r, b in zip(rows, body):
        if prev is not None and r["workload"] != prev:
            lines.append("")
        prev = r["workload"]
        lines.append("  ".join(x.ljust(w) for x, w in zip(b, widths)))
    return "\n".join(lines)


def markdown_table(rows):
    out = ["| workload | case | metric | Stepflow median [range] | peer | peer median [range] | Stepflow/peer |",
           "|---|---|---|--:|---|--:|--:|"]
    for r in rows:
        arrow = {"higher": " ↑", "lower": " ↓", "": ""}[r["better"]]
        out.append(f"| {WORKLOAD_LABEL.get(r['workload'], r['workload'])} | {r['case']} | {r['label']}{arrow} | "
                   f"{fmt_summary(r['stepflow'])} | {ENGINE_LABEL.get(r['peer'], r['peer'] or '-')} | "
                   f"{fmt_summary(r['peer_summary'])} | {ratio_text(r)} |")
    return "\n".join(out)


def durability_lines(results):
    seen = {}
    for (w, _c, e), entry in sorted(results.items()):
        seen.setdefault((w, e), entry["durability"])
    return [f"{w} {ENGINE_LABEL.get(e, e)}: {d}" for (w, e), d in sorted(seen.items())]


def chart(results, out_dir):
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        return "gnuplot not found (install gnuplot-nox): no chart"
    # Panel 1: throughput per case (log scale); panel 2: W5 recovery times.
    cases = [("W1", "pass_chain_10", "transitions_per_s", "W1 pass x10\\ntransitions/s"),
             ("W1", "pass_chain_100", "transitions_per_s", "W1 pass x100\\ntransitions/s"),
             ("W1", "map_1000", "transitions_per_s", "W1 Map 1000\\ntransitions/s"),
             ("W2", "inflight=1", "exec_per_s", "W2 1 in flight\\nexec/s"),
             ("W2", "inflight=64", "exec_per_s", "W2 64 in flight\\nexec/s"),
             ("W3", "inflight=1", "tasks_per_s", "W3 1 in flight\\ntasks/s"),
             ("W3", "inflight=64", "tasks_per_s", "W3 64 in flight\\ntasks/s")]
    engines = [e for e in ENGINES if any(k[2] == e for k in results)]
    if not any((w, c, e) in results for w, c, _m, _l in cases for e in engines):
        return "no side-by-side throughput figures (e.g. ONLY=cluster): no chart"
    tmp = tempfile.mkdtemp(prefix="stepflow-chart.")
    tput = os.path.join(tmp, "throughput.dat")
    with open(tput, "w") as f:
        for w, c, m, label in cases:
            cols = []
            for e in engines:
                entry = results.get((w, c, e))
                s = summarize([r.get(m) for r in entry["runs"]]) if entry else None
                cols += [f"{s['median']:.6g}", f"{s['min']:.6g}", f"{s['max']:.6g}"] if s and s["median"] > 0 \
                    else ["-", "-", "-"]
            f.write(f"\"{label}\" " + " ".join(cols) + "\n")
    w5 = os.path.join(tmp, "w5.dat")
    w5_engines = [e for e in engines if any(k[0] == "W5" and k[2] == e for k in results)]
    with open(w5, "w") as f:
        for m, label in [("listening_ms", "API listening"), ("ready_ms", "new execution accepted"),
                         ("all_complete_ms", "all complete")]:
            cols = []
            for e in w5_engines:
                entry = next((v for (w, _c, en), v in results.items() if w == "W5" and en == e), None)
                s = summarize([r.get(m) for r in entry["runs"]]) if entry else None
                cols += [f"{s['median'] / 1000:.6g}", f"{s['min'] / 1000:.6g}", f"{s['max'] / 1000:.6g}"] if s \
                    else ["-", "-", "-"]
            f.write(f"\"{label}\" " + " ".join(cols) + "\n")
    colors = {"stepflow": "#1f77b4", "stepflow-tasks": "#aec7e8", "aws-local-stepfunctions": "#9467bd", "restate": "#d62728",
              "bullmq-aof": "#2ca02c", "bullmq-mem": "#98df8a"}
    png = os.path.join(out_dir, "chart.png")
    plots1 = ", ".join(
        f"'{tput}' using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}{':xtic(1)' if i == 0 else ''} "
        f"title '{ENGINE_LABEL[e]}' lc rgb '{colors.get(e, '#7f7f7f')}'" for i, e in enumerate(engines))
    plots2 = ", ".join(
        f"'{w5}' using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}{':xtic(1)' if i == 0 else ''} "
        f"title '{ENGINE_LABEL[e]}' lc rgb '{colors.get(e, '#7f7f7f')}'" for i, e in enumerate(w5_engines))
    script = f"""
set terminal pngcairo size 1400,1000 font 'sans,10'
set output '{png}'
set datafile missing '-'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set grid ytics
set key top right
set multiplot layout 2,1 title 'Stepflow and its peers (median of runs; bars show min-max)'
set title 'Throughput (log scale): W1 in memory; W2, W3 durable except BullMQ (no persistence), light green'
set logscale y
set yrange [1:*]
set xtics font 'sans,9'
plot {plots1}
unset logscale y
set yrange [0:*]
set title 'W5: kill -9 with executions in flight, then restart: seconds from the new process start'
set ylabel 'seconds'
"""
    script += f"plot {plots2}\n" if w5_engines else "plot 0 notitle\n"
    script += "unset multiplot\n"
    p = subprocess.run([gnuplot], input=script, capture_output=True, text=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if p.returncode != 0:
        return f"gnuplot failed: {p.stderr.strip()[-500:]}"
    return f"chart: {png}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeat", type=int, default=0)
    ap.add_argument("--seconds-total", type=int, default=0)
    args = ap.parse_args()
    results, skipped, header = parse(args.raw)
    rows = build_rows(results)
    os.makedirs(args.out, exist_ok=True)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    info = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(repo),
        "machine": machine_info(),
        "run": header,
        "repeat": args.repeat,
        "seconds_total": args.seconds_total,
        "skipped": skipped,
    }
    table = text_table(rows)
    print()
    for h in header:
        print(f"# {h}")
    print(f"# machine: {json.dumps(info['machine'])}; commit {info['git_commit']}")
    print()
    print(table)
    print()
    print("Durability of each engine in each workload:")
    for line in durability_lines(results):
        print(f"  {line}")
    if skipped:
        print("Skipped or failed:")
        for s in skipped:
            print(f"  {s}")
    print("Ratios are Stepflow/peer of the medians; for 'lower=better' metrics a ratio below 1 favours Stepflow.")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({
            **info,
            "durability": durability_lines(results),
            "results": [{"workload": w, "case": c, "engine": e, "durability": v["durability"],
                         "metrics": {m: summarize([r.get(m) for r in v["runs"]])
                                     for m in sorted({k for r in v["runs"] for k in r})}}
                        for (w, c, e), v in sorted(results.items())],
            "comparisons": [{k: r[k] for k in ("workload", "case", "metric", "better", "variant", "peer", "ratio")} |
                            {"stepflow": r["stepflow"], "peer_figure": r["peer_summary"]} for r in rows],
        }, f, indent=1)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(f"Generated {info['generated']} at commit {info['git_commit']}; "
                f"machine: {json.dumps(info['machine'])}.\n\n")
        for h in header:
            f.write(f"    {h}\n")
        f.write("\n" + markdown_table(rows) + "\n\nDurability:\n\n")
        for line in durability_lines(results):
            f.write(f"- {line}\n")
        if skipped:
            f.write("\nSkipped or failed:\n\n")
            for s in skipped:
                f.write(f"- `{s}`\n")
    print(chart(results, args.out))
    print(f"results: {os.path.join(args.out, 'results.json')}, {os.path.join(args.out, 'table.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
