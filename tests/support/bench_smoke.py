#!/usr/bin/python3
"""scripts/bench end to end, small: one short round against direct Redis, nutcracker and the
given ringleader (1 worker, 200 connections for RSS), then checks that every output exists and
holds a positive result for every workload, pipeline depth and target. Guards the benchmark
script itself; it measures nothing (performance is read from a full scripts/bench run)."""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ringleader = sys.argv[1]
out = tempfile.mkdtemp(prefix="ringleader-bench-smoke-")
run = subprocess.run(["/usr/bin/python3", os.path.join(root, "scripts", "lib", "bench.py"),
                      "--ringleader", ringleader, "--quick", "--workers", "1",
                      "--connections", "200", "--out", out],
                     capture_output=True, text=True, timeout=600)
if run.returncode != 0:
    sys.exit(f"bench.py failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")

failures = []
with open(os.path.join(out, "latest.csv")) as f:
    rows = list(csv.DictReader(f))
targets = {"direct", "nutcracker", "ringleader-w1"}
workloads = {r["workload"] for r in rows}
if len(workloads) != 6:
    failures.append(f"expected 6 workloads in latest.csv, got {sorted(workloads)}")
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
with open(os.path.join(out, "latest.md")) as f:
    table = f.read()
for needle in ("ringleader with 1 worker", "Where the CPU went", "Targets",
               "| MGET (100 keys) | 16 |"):
    if needle not in table:
        failures.append(f"latest.md lacks {needle!r}")
if not os.path.getsize(os.path.join(out, "latest.png")) > 0:
    failures.append("latest.png is empty")
if failures:
    sys.exit("\n".join(failures) + f"\n(outputs kept in {out})")
shutil.rmtree(out)
print(f"bench smoke: {len(rows)} results, RSS for {len(rss)} processes, chart written")
