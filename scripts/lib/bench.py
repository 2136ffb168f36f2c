#!/usr/bin/python3
"""The engine of scripts/bench: starts three redis-servers, nutcracker and ringleader (same YAML,
loopback, free ports), runs redis-benchmark against direct Redis, nutcracker and ringleader in
interleaved rounds, and reports medians as a Markdown table, CSV and a gnuplot PNG."""
import argparse
import csv
import io
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "clients"))
from cluster import free_port, wait_for_port  # noqa: E402

MGET_KEYS = 100

# (name, redis-benchmark arguments after the common ones, requests per pipeline depth)
def workloads(quick):
    scale = 0.1 if quick else 1.0
    mget = ["MGET"] + ["key:__rand_int__"] * MGET_KEYS
    return [
        ("SET", ["-t", "set"], 200000),
        ("GET", ["-t", "get"], 200000),
        ("MSET (10 keys)", ["-t", "mset"], 60000),
        ("MGET (100 keys)", mget, 20000),
        ("INCR", ["-t", "incr"], 200000),
        ("LRANGE_100", ["-t", "lrange_100"], 20000),
    ], scale


class Procs:
    def __init__(self):
        self.procs = []

    def spawn(self, argv, log, port):
        out = open(log, "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        if not wait_for_port(port, p):
            raise RuntimeError(f"{argv[0]} did not listen on {port}; see {log}")
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def redis_benchmark(port, args, requests, pipeline, clients):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
           "-n", str(requests), "-r", "100000", "-P", str(pipeline), "--csv", "-q"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr}")
    rows = [r for r in csv.reader(io.StringIO(out.stdout)) if r and r[0] != "test"]
    # -t lrange_100 also runs the LPUSH that fills the list: keep the last row (the one asked for).
    row = rows[-1]
    return {"rps": float(row[1]), "p50": float(row[4]), "p99": float(row[6])}


def rss_with_connections(pid, port, count):
    """Opens `count` connections that each send one GET and read the reply; returns RSS in MB of
    `pid` while they are all open."""
    socks = []
    try:
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\nkey:%d\r\n" % (len(b"key:%d" % i), i))
            socks.append(s)
        for s in socks:
            s.settimeout(10)
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    raise RuntimeError("connection closed before the GET reply")
                data += chunk
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    finally:
        for s in socks:
            s.close()
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringleader", required=True)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.rounds = 1
        args.connections = 1000

    work = tempfile.mkdtemp(prefix="ringleader-bench-")
    procs = Procs()
    started = time.monotonic()
    try:
        backends = []
        for i in range(3):
            port = free_port()
            procs.spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--dir", work, "--dbfilename", f"d{i}.rdb"],
                        os.path.join(work, f"redis{i}.log"), port)
            backends.append(port)
        servers = "".join(f"    - 127.0.0.1:{p}:1 r{i + 1}\n" for i, p in enumerate(backends))

        def conf(name, listen, extra=""):
            path = os.path.join(work, f"{name}.yml")
            with open(path, "w") as f:
                f.write(f"bench:\n  listen: 127.0.0.1:{listen}\n  hash: fnv1a_64\n"
                        f"  distribution: ketama\n  redis: true\n  auto_eject_hosts: false\n"
                        f"  server_connections: 1\n{extra}  servers:\n{servers}")
            return path

        nc_port, rl_port, stats_port = free_port(), free_port(), free_port()
        nc = procs.spawn(["nutcracker", "-c", conf("nutcracker", nc_port), "-s", str(stats_port),
                          "-a", "127.0.0.1", "-o", os.path.join(work, "nutcracker.log"),
                          "-p", os.path.join(work, "nutcracker.pid")],
                         os.path.join(work, "nutcracker.out"), nc_port)
        rl = procs.spawn([args.ringleader, "-c",
                          conf("ringleader", rl_port, f"  workers: {args.workers}\n"),
                          "-o", os.path.join(work, "ringleader.log")],
                         os.path.join(work, "ringleader.out"), rl_port)
        targets = [("direct", backends[0]), ("nutcracker", nc_port), ("ringleader", rl_port)]

        loads, scale = workloads(args.quick)
        samples = {}  # (workload, pipeline, target) -> [result]
        for rnd in range(args.rounds):
            for name, wargs, n in loads:
                for pipeline in (1, 16):
                    requests = max(1000, int(n * scale * (4 if pipeline == 16 else 1)))
                    for target, port in targets:
                        r = redis_benchmark(port, wargs, requests, pipeline, args.clients)
                        samples.setdefault((name, pipeline, target), []).append(r)
                        print(f"round {rnd + 1} {name:16} -P {pipeline:<2} {target:10} "
                              f"{r['rps']:>11.0f} rps  p50 {r['p50']:.3f}  p99 {r['p99']:.3f} ms",
                              file=sys.stderr, flush=True)

        rss = {t: rss_with_connections(p.pid, port, args.connections)
               for t, p, port in (("nutcracker", nc, nc_port), ("ringleader", rl, rl_port))}
    finally:
        procs.stop()
        shutil.rmtree(work, ignore_errors=True)

    med = {k: {m: statistics.median(s[m] for s in v) for m in ("rps", "p50", "p99")}
           for k, v in samples.items()}
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name, _, _ in loads:
        for pipeline in (1, 16):
            d, n, r = (med[(name, pipeline, t)] for t in ("direct", "nutcracker", "ringleader"))
            rows.append((name, pipeline, d, n, r))

    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}; "
        f"redis-benchmark -c {args.clients} -r 100000, medians of {args.rounds} interleaved rounds; "
        f"ringleader workers: {args.workers}.",
        "",
        "| workload | -P | direct rps | nutcracker rps | ringleader rps | rl/nc | rl/direct "
        "| p50 ms d / nc / rl | p99 ms d / nc / rl |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, pipeline, d, n, r in rows:
        lines.append(f"| {name} | {pipeline} | {d['rps']:.0f} | {n['rps']:.0f} | {r['rps']:.0f} "
                     f"| {r['rps'] / n['rps']:.2f}× | {r['rps'] / d['rps']:.2f}× "
                     f"| {d['p50']:.3f} / {n['p50']:.3f} / {r['p50']:.3f} "
                     f"| {d['p99']:.3f} / {n['p99']:.3f} / {r['p99']:.3f} |")
    lines.append("")
    lines.append(f"RSS with {args.connections} connections that each sent one GET: nutcracker "
                 f"{rss['nutcracker']:.1f} MB, ringleader {rss['ringleader']:.1f} MB.")
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(args.out, "latest.md"), "w") as f:
        f.write(table + "\n")

    csv_path = os.path.join(args.out, "latest.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "pipeline", "target", "rps", "p50_ms", "p99_ms"])
        for name, pipeline, *_ in rows:
            for t in ("direct", "nutcracker", "ringleader"):
                m = med[(name, pipeline, t)]
                w.writerow([name, pipeline, t, f"{m['rps']:.0f}", m["p50"], m["p99"]])
    dat = os.path.join(args.out, "latest.dat")
    with open(dat, "w") as f:
        for name, pipeline, d, n, r in rows:
            f.write(f"\"{name} P{pipeline}\" {d['rps']:.0f} {n['rps']:.0f} {r['rps']:.0f}\n")
    if shutil.which("gnuplot"):
        png = os.path.join(args.out, "latest.png")
        script = (f"set terminal png size 1200,600; set output '{png}'; set style data histogram;"
                  "set style histogram clustered gap 1; set style fill solid border -1;"
                  "set ylabel 'requests/s'; set xtics rotate by -30; set key top left;"
                  "set title 'redis-benchmark -c 50: direct Redis vs nutcracker vs ringleader';"
                  f"plot '{dat}' using 2:xtic(1) title 'direct', '' using 3 title 'nutcracker',"
                  " '' using 4 title 'ringleader'")
        subprocess.run(["gnuplot", "-e", script], check=True)
    print(f"\n(wrote {csv_path} and the chart in {args.out}/; took "
          f"{time.monotonic() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
