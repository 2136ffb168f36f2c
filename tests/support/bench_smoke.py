#!/usr/bin/python3
"""scripts/bench end to end, small: one short round against direct Redis, nutcracker and the
given ringleader (1 worker, 200 connections for RSS), then checks that every output exists and
holds a positive result for every workload, pipeline depth and target. With --ab, one short round
of the A/B mode with the given ringleader as both old and new, then checks that ab.md, ab.csv and
ab_rounds.csv exist and are well-formed. With --only set,get, the plain round with only those
workloads (its summary must cope with the ones left out). Guards the benchmark script itself; it
measures nothing (performance is read from a full scripts/bench run).

    bench_smoke.py [--ab | --only set,get] RINGLEADER"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ab = sys.argv[1] == "--ab"
only = sys.argv[2] if sys.argv[1] == "--only" else ""
ringleader = sys.argv[-1]
out = tempfile.mkdtemp(prefix="ringleader-bench-smoke-")


def run_engine(script, *args):
    run = subprocess.run(["/usr/bin/python3", os.path.join(root, "scripts", "lib", script),
                          "--ringleader", ringleader, "--quick", "--out", out, *args],
                         capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        sys.exit(f"{script} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")


def finish(failures, summary):
    if failures:
        sys.exit("\n".join(failures) + f"\n(outputs kept in {out})")
    shutil.rmtree(out)
    print(summary)


def ab_smoke():
    """Old and new are the same binary: every ratio is noise, so only the form is checked."""
    run_engine("bench_ab.py", "--baseline-binary", ringleader)
    failures = []
    with open(os.path.join(out, "ab.csv")) as f:
        rows = list(csv.DictReader(f))
    cells = {(r["workload"], r["pipeline"]) for r in rows}
    expected = {(w, p) for w in ("SET", "GET", "MSET (10 keys)", "MGET (100 keys)")
                for p in ("1", "16")}
    if len(rows) != len(expected) or cells != expected:
        failures.append(f"ab.csv rows: {sorted(cells)}, expected {sorted(expected)}")
    for r in rows:
        cell = f"{r['workload']} -P {r['pipeline']}"
        old, new, ratio = float(r["old_rps"]), float(r["new_rps"]), float(r["ratio"])
        if old <= 0 or new <= 0:
            failures.append(f"{cell}: rps old {old} new {new}")
            continue
        if abs(ratio - new / old) > 1e-3 * ratio + 1e-3:
            failures.append(f"{cell}: ratio {ratio} is not new/old {new / old:.4f}")
        # One round: the per-round range is that round's ratio, the same as the medians'.
        if not float(r["ratio_min"]) <= ratio <= float(r["ratio_max"]) or r["rounds"] != "1":
            failures.append(f"{cell}: ratio {ratio} outside {r['ratio_min']}–{r['ratio_max']} "
                            f"over {r['rounds']} rounds")
        expected_verdict = "meets" if ratio >= float(r["threshold"]) else "below"
        if r["verdict"] != expected_verdict or float(r["threshold"]) != 0.97:
            failures.append(f"{cell}: verdict {r['verdict']} for {ratio} against "
                            f"{r['threshold']}")
        for k in ("old_p50_ms", "new_p50_ms", "old_p99_ms", "new_p99_ms",
                  "old_cpu_us_proxy", "new_cpu_us_proxy"):
            if not float(r[k]) > 0:
                failures.append(f"{cell}: {k} {r[k]}")
    with open(os.path.join(out, "ab_rounds.csv")) as f:
        rounds = list(csv.DictReader(f))
    targets = {(r["workload"], r["pipeline"], r["target"]) for r in rounds}
    if len(rounds) != 2 * len(expected) or targets != {c + (t,) for c in expected
                                                         for t in ("old-w1", "new-w1")}:
        failures.append(f"ab_rounds.csv: {len(rounds)} rows for {sorted(targets)}")
    with open(os.path.join(out, "ab.md")) as f:
        text = f.read()
    verdicts = [line for line in text.splitlines()
                if line.startswith("- ") and (": meets — " in line or ": below — " in line)]
    if len(verdicts) != len(expected):
        failures.append(f"ab.md has {len(verdicts)} verdict lines, expected {len(expected)}")
    for needle in ("cores", "load average", "1 round", "ringleader with 1 worker",
                   "| workload | -P | old rps | new rps | new/old |", "| MGET (100 keys) | 16 |",
                   f"- old: {ringleader}", "Verdict, new/old of the medians against 0.97"):
        if needle not in text:
            failures.append(f"ab.md lacks {needle!r}")
    finish(failures, f"bench A/B smoke: {len(rows)} rows, {len(rounds)} runs, "
           f"{len(verdicts)} verdicts")


if ab:
    ab_smoke()
    sys.exit(0)
run_engine("bench.py", "--workers", "1", "--connections", "200", "--subscribers", "200", *(["--only", only] if only else []))

failures = []
with open(os.path.join(out, "latest.csv")) as f:
    rows = list(csv.DictReader(f))
targets = {"direct", "nutcracker", "ringleader-w1"}
workloads = {r["workload"] for r in rows}
expected_workloads = 6 if not only else len(only.split(","))
if len(workloads) != expected_workloads:
    failures.append(f"expected {expected_workloads} workloads in latest.csv, got {sorted(workloads)}")
for w in workloads:
    for p in ("1", "16"):
        got = {r["target"]: r for r in rows if r["workload"] == w and r["pipeline"] == p}
        if set(got) != targets:
            failures.append(f"{w} -P {p}: targets {sorted(got)}")
            continue
        for t, r in got.items():
            if float(r["rps"]) <= 0 or float(r["p99_ms"]) <= 0:
                failures.append(f"{w} -P {p} {t}: rps {r['rps']} p99 {r['p99_ms']}")
            if t != "direct" and float(r["cpu_us_proxy"]) <= 0:
                failures.append(f"{w} -P {p} {t}: no proxy CPU measured")
with open(os.path.join(out, "latest_rss.csv")) as f:
    rss = {r["process"]: r for r in csv.DictReader(f)}
if set(rss) != {"nutcracker", "ringleader-w1"}:
    failures.append(f"latest_rss.csv processes: {sorted(rss)}")
for name, r in rss.items():
    if not float(r["after_get_mb"]) > float(r["started_mb"]) > 0:
        failures.append(f"RSS of {name} did not grow with 200 connections: {r}")
with open(os.path.join(out, "latest_big_value.csv")) as f:
    big = {r["process"]: r for r in csv.DictReader(f)}
if set(big) != {"nutcracker", "ringleader-w1"}:
    failures.append(f"latest_big_value.csv processes: {sorted(big)}")
for name, r in big.items():
    if not float(r["peak_after_mb"]) >= float(r["peak_before_mb"]) > 0:
        failures.append(f"peak RSS of {name} not measured: {r}")
with open(os.path.join(out, "latest_subscribers.csv")) as f:
    subs = {r["target"]: r for r in csv.DictReader(f)}
if set(subs) != {"direct", "ringleader-w1"}:
    failures.append(f"latest_subscribers.csv targets: {sorted(subs)}")
for name, r in subs.items():
    if not (float(r["process_after_mb"]) > 0 and float(r["redis_after_mb"]) > 0
            and r["subscribers"] == "200"):
        failures.append(f"subscriber RSS of {name} not measured: {r}")
with open(os.path.join(out, "latest.md")) as f:
    table = f.read()
for needle in ("ringleader with 1 worker", "Where the CPU went", "Targets", "Peak RSS",
               "PSUBSCRIBEd to one pattern",
               "| GET | 16 |" if only else "| MGET (100 keys) | 16 |", "throughput targets"):
    if needle not in table:
        failures.append(f"latest.md lacks {needle!r}")
if not os.path.getsize(os.path.join(out, "latest.png")) > 0:
    failures.append("latest.png is empty")
finish(failures, f"bench smoke: {len(rows)} results, RSS for {len(rss)} processes, chart written")
