#!/usr/bin/python3
"""scripts/bench --locks: ringleader's lock service beside node-redlock 4.2 over the same three
redis-servers (the masters) and etcd 3.4's lock (three members on loopback), in interleaved
rounds of scripts/lib/lock_bench/lock_bench.js on this machine. Reports the median and the range
over the rounds of every figure as a Markdown table (and JSON in --out)."""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "clients"))
from cluster import Cluster, free_port  # noqa: E402

LOCKS = "ringleader:\n  locks:\n    data_dir: {dir}/locks\n"


class Etcd:
    """Three etcd members on free loopback ports, stopped by pid on exit."""

    def __init__(self, members=3):
        self.members = members
        self.procs = []
        self.dir = None
        self.endpoints = []

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="rl-lock-bench-etcd-")
        peers = [free_port() for _ in range(self.members)]
        clients = [free_port() for _ in range(self.members)]
        initial = ",".join(f"e{i}=http://127.0.0.1:{p}" for i, p in enumerate(peers))
        for i in range(self.members):
            log = open(os.path.join(self.dir, f"e{i}.log"), "w")
            self.procs.append(subprocess.Popen(
                ["etcd", "--name", f"e{i}", "--data-dir", os.path.join(self.dir, f"e{i}"),
                 "--listen-peer-urls", f"http://127.0.0.1:{peers[i]}",
                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{peers[i]}",
                 "--listen-client-urls", f"http://127.0.0.1:{clients[i]}",
                 "--advertise-client-urls", f"http://127.0.0.1:{clients[i]}",
                 "--initial-cluster", initial, "--initial-cluster-state", "new"],
                stdout=log, stderr=subprocess.STDOUT))
        self.endpoints = [f"127.0.0.1:{p}" for p in clients]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok = subprocess.run(["etcdctl", "--endpoints", ",".join(self.endpoints), "put",
                                 "bench-ready", "1"], env=dict(os.environ, ETCDCTL_API="3"),
                                capture_output=True).returncode == 0
            if ok:
                return self
            time.sleep(0.2)  # polling interval of a bounded wait
        raise RuntimeError(f"etcd did not become ready; logs in {self.dir}")

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def rounds_table(results):
    """Rows of (system, case, figure) -> 'median (min–max)' over the rounds."""
    cells = {}
    for r in results:
        for system, cases in r.items():
            for case, figures in cases.items():
                for figure, value in figures.items():
                    if isinstance(value, dict):
                        for sub, v in value.items():
                            cells.setdefault((system, f"{case} {figure}", sub), []).append(v)
                    elif value is not None:
                        cells.setdefault((system, case, figure), []).append(value)
    return cells


def fmt(values, figure):
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    if figure == "per_s":
        return f"{med:,.0f} ({lo:,.0f}–{hi:,.0f})"
    return f"{med:.3f} ({lo:.3f}–{hi:.3f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True, help="the ringleader to measure")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3, help="per case and system")
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--hot", type=int, default=20, help="clients contending on one lock")
    ap.add_argument("--no-etcd", action="store_true")
    ap.add_argument("--out", default="bench-results")
    args = ap.parse_args()
    node_dir = os.path.join(HERE, "lock_bench")
    use_etcd = not args.no_etcd and shutil.which("etcd") is not None
    if not args.no_etcd and not use_etcd:
        print("note: etcd is not installed; measuring without it", file=sys.stderr)
    results = []
    with Cluster(args.binary, servers=3, top_extra=LOCKS) as c:
        etcd = Etcd() if use_etcd else None
        try:
            if etcd:
                etcd.__enter__()
            for i in range(args.rounds):
                # Interleaved: each round runs every system, in an order that rotates.
                order = ["ringleader", "redlock"] + (["etcd"] if etcd else [])
                order = order[i % len(order):] + order[:i % len(order)]
                merged = {}
                for system in order:
                    env = dict(os.environ, RL_PORT=str(c.port),
                               MASTER_PORTS=",".join(map(str, c.backend_ports)),
                               ETCD_ENDPOINTS=",".join(etcd.endpoints) if etcd else "",
                               SECONDS_PER_CASE=str(args.seconds), WORKERS=str(args.workers),
                               HOT=str(args.hot), ONLY=system)
                    out = subprocess.run(["node", os.path.join(node_dir, "lock_bench.js")],
                                         env=env, capture_output=True, text=True)
                    if out.returncode != 0:
                        raise RuntimeError(f"{system}, round {i + 1}: lock_bench.js failed:\n"
                                           f"{out.stderr}")
                    merged.update(json.loads(out.stdout))
                results.append(merged)
                print(f"round {i + 1}/{args.rounds} done", file=sys.stderr)
        finally:
            if etcd:
                etcd.__exit__(None, None, None)
    cells = rounds_table(results)
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(args.out, f"locks-{stamp}.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"\n### Locks: acquire+release, {args.rounds} rounds of {args.seconds:g} s per case "
          f"({platform.node()}, {os.cpu_count()} cores, {datetime.date.today()})\n")
    print("Median (range over rounds). sequential: one client, rotating names; concurrent: "
          f"{args.workers} clients on distinct names; handoff: {args.hot} clients on one lock; "
          "fenced_set: SET vs FENCED … SET through ringleader, one client.\n")
    print("| system | case | p50 ms | p99 ms | per second |")
    print("|---|---|---|---|---|")
    keys = sorted({(s, case) for (s, case, _) in cells})
    for system, case in keys:
        def cell(figure):
            v = cells.get((system, case, figure))
            return fmt(v, figure) if v else "–"
        print(f"| {system} | {case} | {cell('p50_ms')} | {cell('p99_ms')} | {cell('per_s')} |")


if __name__ == "__main__":
    main()
