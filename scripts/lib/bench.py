#!/usr/bin/python3
"""The engine of scripts/bench: starts three redis-servers, nutcracker and one ringleader per
`--workers` count (same YAML, loopback, free ports), runs redis-benchmark against direct Redis,
nutcracker and each ringleader in interleaved rounds, measures RSS with many connections that each
sent one GET, and reports medians as a Markdown table, CSV and a gnuplot PNG."""
import argparse
import csv
import datetime
import io
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "clients"))
from cluster import free_port  # noqa: E402

MGET_KEYS = 100
PIPELINES = (1, 16)


def workloads():
    """(name, redis-benchmark arguments after the common ones)."""
    mget = ["MGET"] + ["key:__rand_int__"] * MGET_KEYS
    return [
        ("SET", ["-t", "set"]),
        ("GET", ["-t", "get"]),
        ("MSET (10 keys)", ["-t", "mset"]),
        ("MGET (100 keys)", mget),
        ("INCR", ["-t", "incr"]),
        ("LRANGE_100", ["-t", "lrange_100"]),
    ]


def select_workloads(only):
    """workloads() whose names start with one of the comma-separated prefixes in `only` (case
    folded; "get" is GET, not MGET); all of them when `only` is empty."""
    prefixes = [p.strip().lower() for p in only.split(",") if p.strip()]
    return [w for w in workloads()
            if not prefixes or any(w[0].lower().startswith(p) for p in prefixes)]


def wait_for_port(port, proc, bound=10.0):
    """True once something accepts on port while proc runs (nutcracker answers no INFO, so
    cluster.py's pid check cannot be used), False if proc exits or the bound passes."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.01)  # polling interval of a bounded wait for listen()
    return False


class Procs:
    def __init__(self):
        self.procs = []

    def spawn(self, argv, log, port):
        with open(log, "ab") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        self.procs.append(p)
        if not wait_for_port(port, p):
            raise RuntimeError(f"{argv[0]} did not listen on {port}; see {log}")
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p)


def redis_benchmark(port, args, requests, pipeline, clients):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
           "-n", str(requests), "-r", "100000", "-P", str(pipeline), "--csv", "-q"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr}")
    rows = [r for r in csv.reader(io.StringIO(out.stdout)) if r and r[0] != "test"]
    if not rows:
        raise RuntimeError(f"{' '.join(cmd)} printed no result: {out.stdout} {out.stderr}")
    # -t lrange_100 also runs the LPUSH that fills the list: keep the last row (the one asked for).
    row = rows[-1]
    return {"rps": float(row[1]), "p50": float(row[4]), "p99": float(row[6])}


def cpu_seconds(pid):
    """User + system CPU time a process has used so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    """CPU time of the waited-for children: the redis-benchmark runs (servers are reaped only
    when stopped, after every measurement)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def measured_run(port, args, requests, pipeline, clients, redis_pids, proxy_pid):
    """redis_benchmark() plus where the CPU went: microseconds of CPU per request spent by the
    load generator, by the redis-servers together and by the proxy (0 for direct Redis), and how
    busy the machine was (all of them together, % of every core)."""
    t0, c0 = time.monotonic(), children_cpu_seconds()
    r0 = sum(cpu_seconds(p) for p in redis_pids)
    p0 = cpu_seconds(proxy_pid) if proxy_pid else 0.0
    r = redis_benchmark(port, args, requests, pipeline, clients)
    p1 = cpu_seconds(proxy_pid) if proxy_pid else 0.0
    r1 = sum(cpu_seconds(p) for p in redis_pids)
    t1, c1 = time.monotonic(), children_cpu_seconds()
    us = 1e6 / requests
    r["cpu_client"] = (c1 - c0) * us
    r["cpu_redis"] = (r1 - r0) * us
    r["cpu_proxy"] = (p1 - p0) * us
    r["busy"] = 100.0 * ((c1 - c0) + (r1 - r0) + (p1 - p0)) / ((t1 - t0) * os.cpu_count())
    return r


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def rss_with_connections(pid, port, count):
    """Opens `count` connections, then sends one GET on each and reads every reply (a burst, as
    when many clients ask at once). Returns the RSS in MB of `pid` with the connections open and
    idle before the GETs, and after the GETs were answered (the connections still open)."""
    socks = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(("127.0.0.1", port)))
        connected = rss_mb(pid)
        for i, s in enumerate(socks):
            key = b"key:%d" % i
            s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
        for s in socks:
            s.settimeout(10)
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    raise RuntimeError("connection closed before the GET reply")
                data += chunk
        return connected, rss_mb(pid)
    finally:
        for s in socks:
            s.close()


def peak_rss_mb(pid):
    """The process's peak resident set (VmHWM) in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_rss_with_big_set(pid, port, size):
    """Sends one SET of a `size`-byte value and waits for its reply. Returns the peak RSS in MB of
    `pid` before and after: what holding (and forwarding) one big value costs the process."""
    before = peak_rss_mb(pid)
    header = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % size
    piece = b"v" * (1 << 20)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(header)
        for sent in range(0, size, len(piece)):
            s.sendall(piece[:min(len(piece), size - sent)])
        s.sendall(b"\r\n")
        s.settimeout(120)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("connection closed before the SET reply")
            reply += chunk
        if reply != b"+OK\r\n":
            raise RuntimeError(f"the big SET got {reply!r}")
    return before, peak_rss_mb(pid)


def read_replies(sock, n):
    """Reads until `n` complete RESP2 replies of the pub/sub shapes used here arrived: arrays
    of bulks and integers, and integers. Returns the bytes."""
    sock.settimeout(30)
    data = b""

    def complete(buf):
        count, pos = 0, 0
        while pos < len(buf):
            end = buf.find(b"\r\n", pos)
            if end < 0:
                return count
            head = buf[pos:end]
            pos = end + 2
            if head[:1] == b"*":
                items = int(head[1:])
                for _ in range(items):
                    end = buf.find(b"\r\n", pos)
                    if end < 0:
                        return count
                    item = buf[pos:end]
                    pos = end + 2
                    if item[:1] == b"$":
                        pos += int(item[1:]) + 2
                        if pos > len(buf):
                            return count
            count += 1
        return count
    while complete(data) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before the pub/sub replies")
        data += chunk
    return data


def rss_with_subscribers(pid, port, count, server_pid):
    """Opens `count` connections to `port`, each PSUBSCRIBE bench.*, then PUBLISHes one message
    and reads it on every connection. Returns the RSS in MB of `pid` and of the redis-server
    `server_pid` before and after (the subscribers still connected)."""
    before = (rss_mb(pid), rss_mb(server_pid))
    socks = []
    subscribe = b"*2\r\n$10\r\nPSUBSCRIBE\r\n$7\r\nbench.*\r\n"
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(subscribe)
            socks.append(s)
        for s in socks:
            if not read_replies(s, 1).startswith(b"*3\r\n$10\r\npsubscribe"):
                raise RuntimeError("a PSUBSCRIBE was not confirmed")
        with socket.create_connection(("127.0.0.1", port)) as pub:
            pub.sendall(b"*3\r\n$7\r\nPUBLISH\r\n$7\r\nbench.1\r\n$5\r\nhello\r\n")
            read_replies(pub, 1)
        for s in socks:
            if b"hello" not in read_replies(s, 1):
                raise RuntimeError("a subscriber missed the message")
        return before + (rss_mb(pid), rss_mb(server_pid))
    finally:
        for s in socks:
            s.close()


def cpu_cells(m, proxy=True):
    """'client + redis + proxy' µs of CPU per request, for the CPU table."""
    cells = [m["cpu_client"], m["cpu_redis"]] + ([m["cpu_proxy"]] if proxy else [])
    return " + ".join(f"{c:.1f}" for c in cells)


METRICS = ("rps", "p50", "p99", "cpu_client", "cpu_redis", "cpu_proxy", "busy")


def median_result(results):
    return {m: statistics.median(r[m] for r in results) for m in METRICS}


class Rig:
    """Three redis-servers on free loopback ports and the proxies started in front of them, every
    proxy on the same YAML but for its listen port; all stopped by pid, and the scratch directory
    removed, when the `with` block ends."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="ringleader-bench-")
        self.procs = Procs()
        self.backends = []  # ports
        self.redis_pids = []

    def __enter__(self):
        try:
            for i in range(3):
                port = free_port()
                p = self.procs.spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", self.work,
                                      "--dbfilename", f"d{i}.rdb",
                                      # room for the direct pub/sub measurement's subscribers
                                      "--maxclients", "15000"],
                                     os.path.join(self.work, f"redis{i}.log"), port)
                self.redis_pids.append(p.pid)
                self.backends.append(port)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.procs.stop_all()
        shutil.rmtree(self.work, ignore_errors=True)

    def conf(self, name, listen, extra=""):
        servers = "".join(f"    - 127.0.0.1:{p}:1 r{i + 1}\n" for i, p in enumerate(self.backends))
        path = os.path.join(self.work, f"{name}.yml")
        with open(path, "w") as f:
            f.write(f"bench:\n  listen: 127.0.0.1:{listen}\n  hash: fnv1a_64\n"
                    f"  distribution: ketama\n  redis: true\n  auto_eject_hosts: false\n"
                    f"  server_connections: 1\n{extra}  servers:\n{servers}")
        return path

    def start_nutcracker(self):
        port, stats = free_port(), free_port()
        p = self.procs.spawn(["nutcracker", "-c", self.conf("nutcracker", port), "-s", str(stats),
                              "-a", "127.0.0.1", "-o", os.path.join(self.work, "nutcracker.log")],
                             os.path.join(self.work, "nutcracker.out"), port)
        return p, port

    def start_ringleader(self, binary, name, workers):
        """`name` names its YAML and logs in the scratch directory (one per process started)."""
        port = free_port()
        p = self.procs.spawn([binary, "-c", self.conf(name, port, f"  workers: {workers}\n"),
                              "-o", os.path.join(self.work, f"{name}.log")],
                             os.path.join(self.work, f"{name}.out"), port)
        return p, port

    def stop(self, p):
        self.procs.stop(p)


def size_requests(loads, targets, seconds, clients):
    """The warm-up round (not counted): fills the LRANGE lists and the proxies' pools, and sizes
    -n so that each counted run lasts about `seconds` on the slowest target. Returns
    {(workload, pipeline): requests}."""
    requests = {}
    for name, wargs in loads:
        for pipeline in PIPELINES:
            probe = 2000 * (8 if pipeline > 1 else 1)
            if name.startswith("MGET"):
                probe //= 10
            slowest = min(redis_benchmark(port, wargs, probe, pipeline, clients)["rps"]
                          for _, port, _ in targets)
            requests[(name, pipeline)] = max(1000, int(slowest * seconds))
    return requests


def run_rounds(loads, targets, requests, rounds, clients, redis_pids):
    """`rounds` counted rounds over (name, port, pid) `targets`, each running every workload and
    pipeline depth on every target back to back. Returns {(workload, pipeline, target): [result
    of round 1, round 2, ...]}: the i-th results of two targets come from the same round."""
    samples = {}
    for rnd in range(rounds):
        for name, wargs in loads:
            for pipeline in PIPELINES:
                n = requests[(name, pipeline)]
                # Odd rounds run the targets in reverse order, so that a machine speeding up or
                # slowing down during a round favours no target.
                for target, port, pid in (targets if rnd % 2 == 0 else targets[::-1]):
                    r = measured_run(port, wargs, n, pipeline, clients, redis_pids, pid)
                    samples.setdefault((name, pipeline, target), []).append(r)
                    print(f"round {rnd + 1} {name:16} -P {pipeline:<2} {target:14} "
                          f"{r['rps']:>11.0f} rps  p50 {r['p50']:.3f}  p99 {r['p99']:.3f} ms",
                          file=sys.stderr, flush=True)
    return samples


def add_run_args(ap, workers, only):
    """The options both modes take; `workers` and `only` are the mode's defaults."""
    ap.add_argument("--ringleader", required=True)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=1.0,
                    help="target duration of one redis-benchmark run (sizes -n)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", default=workers,
                    help=f"comma-separated ringleader worker counts (default {workers})")
    ap.add_argument("--only", default=only,
                    help="comma-separated workload name prefixes to run (default: "
                    f"{only or 'all'})")
    ap.add_argument("--quick", action="store_true",
                    help="one short round, to check the script")


def machine():
    """The machine, for a report's first line."""
    return f"{os.cpu_count()} cores ({platform.machine()}, Linux {platform.release()})"


def main():
    ap = argparse.ArgumentParser()
    add_run_args(ap, workers="1,2", only="")
    ap.add_argument("--connections", type=int, default=None,
                    help="connections for the RSS measurement (default 10000; 1000 with --quick)")
    ap.add_argument("--subscribers", type=int, default=None,
                    help="pattern subscribers for the pub/sub RSS measurement (default 10000; "
                         "1000 with --quick)")
    ap.add_argument("--big-value-mb", type=int, default=None,
                    help="MiB of the one SET whose peak RSS is measured (default 512; 32 with "
                         "--quick)")
    args = ap.parse_args()
    if args.quick:
        args.rounds = 1
        args.seconds = 0.3
    if args.connections is None:
        args.connections = 1000 if args.quick else 10000
    if args.big_value_mb is None:
        args.big_value_mb = 32 if args.quick else 512
    if args.subscribers is None:
        args.subscribers = 1000 if args.quick else 10000
    big_value = args.big_value_mb << 20
    worker_counts = [int(w) for w in args.workers.split(",") if w]
    loads = select_workloads(args.only)

    started = time.monotonic()
    load_before = os.getloadavg()
    with Rig() as rig:
        nc, nc_port = rig.start_nutcracker()
        targets = [("direct", rig.backends[0], None), ("nutcracker", nc_port, nc.pid)]
        ringleaders = {}
        for w in worker_counts:
            p, port = rig.start_ringleader(args.ringleader, f"ringleader-w{w}", w)
            ringleaders[w] = p
            targets.append((f"ringleader-w{w}", port, p.pid))
        rl_names = [f"ringleader-w{w}" for w in worker_counts]

        requests = size_requests(loads, targets, args.seconds, args.clients)
        samples = run_rounds(loads, targets, requests, args.rounds, args.clients, rig.redis_pids)

        # RSS on fresh processes, so memory kept from the throughput runs does not count.
        for p in [nc] + list(ringleaders.values()):
            rig.stop(p)
        rss = {}
        nc, nc_port = rig.start_nutcracker()
        rss["nutcracker"] = (rss_mb(nc.pid),) + rss_with_connections(nc.pid, nc_port,
                                                                     args.connections)
        rig.stop(nc)
        for w in worker_counts:
            p, port = rig.start_ringleader(args.ringleader, f"ringleader-w{w}", w)
            rss[f"ringleader-w{w}"] = (rss_mb(p.pid),) + rss_with_connections(
                p.pid, port, args.connections)
            rig.stop(p)
        # RSS per pattern subscriber: directly on a redis-server, and through fresh ringleaders
        # (whose worker shares one subscriber connection per server among them).
        subs = {}
        subs["direct"] = rss_with_subscribers(rig.redis_pids[0], rig.backends[0],
                                              args.subscribers, rig.redis_pids[0])
        for w in worker_counts:
            p, port = rig.start_ringleader(args.ringleader, f"ringleader-w{w}", w)
            subs[f"ringleader-w{w}"] = rss_with_subscribers(p.pid, port, args.subscribers,
                                                            rig.redis_pids[0])
            rig.stop(p)
        # Peak RSS around one big SET, each on a fresh process.
        big = {}
        nc, nc_port = rig.start_nutcracker()
        big["nutcracker"] = peak_rss_with_big_set(nc.pid, nc_port, big_value)
        rig.stop(nc)
        for w in worker_counts:
            p, port = rig.start_ringleader(args.ringleader, f"ringleader-w{w}", w)
            big[f"ringleader-w{w}"] = peak_rss_with_big_set(p.pid, port, big_value)
            rig.stop(p)
    load_after = os.getloadavg()
    elapsed = time.monotonic() - started

    med = {k: median_result(v) for k, v in samples.items()}
    os.makedirs(args.out, exist_ok=True)
    date = datetime.date.today().isoformat()
    lines = [
        f"`{' '.join(['scripts/bench'] + sys.argv[3:])}` on {date}: {machine()}, "
        f"redis-benchmark -c {args.clients} -r 100000, about {args.seconds:g} s per run, "
        f"medians of {args.rounds} interleaved rounds (order reversed every other round); "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
        f"took {elapsed:.0f} s.",
    ]
    for rl in rl_names:
        workers = rl.split("-w")[1]
        lines += [
            "",
            f"ringleader with {workers} worker{'s' if workers != '1' else ''}:",
            "",
            "| workload | -P | direct rps | nutcracker rps | ringleader rps | rl/nc "
            "| rl/nc per round (min–max) | rl/direct "
            "| p50 ms d / nc / rl | p99 ms d / nc / rl |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, _ in loads:
            for pipeline in PIPELINES:
                d, n, r = (med[(name, pipeline, t)] for t in ("direct", "nutcracker", rl))
                # Round i's ringleader against round i's nutcracker (run back to back).
                per_round = [a["rps"] / b["rps"] for a, b in
                             zip(samples[(name, pipeline, rl)], samples[(name, pipeline, "nutcracker")])]
                lines.append(
                    f"| {name} | {pipeline} | {d['rps']:.0f} | {n['rps']:.0f} | {r['rps']:.0f} "
                    f"| {r['rps'] / n['rps']:.2f}× "
                    f"| {min(per_round):.2f}–{max(per_round):.2f}× | {r['rps'] / d['rps']:.2f}× "
                    f"| {d['p50']:.3f} / {n['p50']:.3f} / {r['p50']:.3f} "
                    f"| {d['p99']:.3f} / {n['p99']:.3f} / {r['p99']:.3f} |")
    lines += [
        "",
        "Where the CPU went: microseconds of CPU per request (medians), spent by the load "
        "generator (redis-benchmark), by the three redis-servers together and by the proxy; "
        "busy is all of them together as a share of the machine's cores. When busy is near "
        "100 %, requests/s is at most cores / (the three together), so even a proxy that cost "
        "nothing could not beat nutcracker by more than nutcracker's total over ringleader's "
        "client + redis: the last column.",
    ]
    for rl in rl_names:
        lines += [
            "",
            f"| workload | -P | direct: client + redis | nutcracker: client + redis + proxy "
            f"| {rl}: client + redis + proxy | busy % d / nc / rl | zero-cost bound vs nc |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, _ in loads:
            for pipeline in PIPELINES:
                d, n, r = (med[(name, pipeline, t)] for t in ("direct", "nutcracker", rl))
                nc_total = n["cpu_client"] + n["cpu_redis"] + n["cpu_proxy"]
                bound = nc_total / max(r["cpu_client"] + r["cpu_redis"], 1e-9)
                lines.append(
                    f"| {name} | {pipeline} | {cpu_cells(d, proxy=False)} | {cpu_cells(n)} "
                    f"| {cpu_cells(r)} "
                    f"| {d['busy']:.0f} / {n['busy']:.0f} / {r['busy']:.0f} | {bound:.2f}× |")
    lines.append("")
    lines += [
        f"RSS in MB of fresh processes: started; with {args.connections} connections open; "
        "after each of them sent one GET (all at once) and got its reply:",
        "",
        "| process | started | connected | after one GET each |",
        "|---|---:|---:|---:|",
    ]
    for t in ["nutcracker"] + rl_names:
        lines.append(f"| {t} | {rss[t][0]:.1f} | {rss[t][1]:.1f} | {rss[t][2]:.1f} |")
    lines += [
        "",
        f"Peak RSS in MB (VmHWM) of fresh processes before and after one SET of a "
        f"{args.big_value_mb} MiB value:",
        "",
        "| process | peak before | peak after | growth / value size |",
        "|---|---:|---:|---:|",
    ]
    for t in ["nutcracker"] + rl_names:
        before, after = big[t]
        lines.append(f"| {t} | {before:.1f} | {after:.1f} "
                     f"| {(after - before) / (big_value / 1048576):.2f}× |")
    lines += [
        "",
        f"RSS in MB with {args.subscribers} connections each PSUBSCRIBEd to one pattern, after one "
        "PUBLISH reached all of them (nutcracker has no pub/sub; \"direct\" subscribes on the "
        "first redis-server itself):",
        "",
        "| target | process before | process after | KB per subscriber | redis-server before "
        "| redis-server after |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t, (p0, r0, p1, r1) in subs.items():
        lines.append(f"| {t} | {p0:.1f} | {p1:.1f} | {(p1 - p0) * 1024 / args.subscribers:.2f} "
                     f"| {r0:.1f} | {r1:.1f} |")
    lines += ["", "Targets, per ringleader (ratios of medians; p99 and RSS must not exceed "
              "nutcracker's):", ""]
    for rl in rl_names:
        def ratio(name, pipeline, base):
            return med[(name, pipeline, rl)]["rps"] / med[(name, pipeline, base)]["rps"]
        checks = []
        ran = {name for name, _ in loads}  # --only may leave workloads out
        for name in ("SET", "GET"):
            if name not in ran:
                continue
            checks.append((f"{name} -P 16 ≥ 1.5× nutcracker", ratio(name, 16, "nutcracker"), 1.5))
            checks.append((f"{name} -P 1 ≥ 1.0× nutcracker", ratio(name, 1, "nutcracker"), 1.0))
            checks.append((f"{name} -P 1 ≥ 0.9× direct (aim)", ratio(name, 1, "direct"), 0.9))
        for name in ("MGET (100 keys)", "MSET (10 keys)"):
            if name not in ran:
                continue
            for pipeline in PIPELINES:
                checks.append((f"{name} -P {pipeline} ≥ 2× nutcracker",
                               ratio(name, pipeline, "nutcracker"), 2.0))
        worse = [f"{name} -P {pipeline}" for name, _ in loads for pipeline in PIPELINES
                 if med[(name, pipeline, rl)]["p99"] > med[(name, pipeline, "nutcracker")]["p99"]]
        missed = [f"{label}: {value:.2f}×" for label, value, goal in checks if value < goal]
        lines.append(f"- {rl}: met {len(checks) - len(missed)} of {len(checks)} throughput targets"
                     + (f"; missed {'; '.join(missed)}" if missed else "")
                     + (f". p99 above nutcracker's at {', '.join(worse)}" if worse
                        else ". p99 at or below nutcracker's at every point")
                     + f". RSS after one GET on each of {args.connections} connections "
                     f"{rss[rl][2]:.1f} MB vs nutcracker {rss['nutcracker'][2]:.1f} MB.")
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(args.out, "latest.md"), "w") as f:
        f.write(table + "\n")

    names = ["direct", "nutcracker"] + rl_names
    csv_path = os.path.join(args.out, "latest.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "pipeline", "target", "rps", "p50_ms", "p99_ms",
                    "cpu_us_client", "cpu_us_redis", "cpu_us_proxy", "busy_pct"])
        for name, _ in loads:
            for pipeline in PIPELINES:
                for t in names:
                    m = med[(name, pipeline, t)]
                    w.writerow([name, pipeline, t, f"{m['rps']:.0f}", m["p50"], m["p99"],
                                f"{m['cpu_client']:.2f}", f"{m['cpu_redis']:.2f}",
                                f"{m['cpu_proxy']:.2f}", f"{m['busy']:.0f}"])
    with open(os.path.join(args.out, "latest_rss.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["process", "connections", "started_mb", "connected_mb", "after_get_mb"])
        for t, (started_mb, connected_mb, busy_mb) in rss.items():
            w.writerow([t, args.connections, f"{started_mb:.1f}", f"{connected_mb:.1f}",
                        f"{busy_mb:.1f}"])
    with open(os.path.join(args.out, "latest_big_value.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["process", "value_bytes", "peak_before_mb", "peak_after_mb"])
        for t, (before, after) in big.items():
            w.writerow([t, big_value, f"{before:.1f}", f"{after:.1f}"])
    with open(os.path.join(args.out, "latest_subscribers.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["target", "subscribers", "process_before_mb", "redis_before_mb",
                    "process_after_mb", "redis_after_mb"])
        for t, values in subs.items():
            w.writerow([t, args.subscribers] + [f"{v:.1f}" for v in values])
    dat = os.path.join(args.out, "latest.dat")
    with open(dat, "w") as f:
        for name, _ in loads:
            for pipeline in PIPELINES:
                values = " ".join(f"{med[(name, pipeline, t)]['rps']:.0f}" for t in names)
                f.write(f"\"{name} P{pipeline}\" {values}\n")
    if shutil.which("gnuplot"):
        png = os.path.join(args.out, "latest.png")
        plots = ", ".join(f"'{dat if i == 0 else ''}' using {i + 2}"
                          f"{':xtic(1)' if i == 0 else ''} title '{t}'"
                          for i, t in enumerate(names))
        script = (f"set terminal png size 1400,650 noenhanced; set output '{png}';"
                  "set style data histogram;"
                  "set style histogram clustered gap 1; set style fill solid border -1;"
                  "set logscale y; set ylabel 'requests/s (log scale)'; set xtics rotate by -30;"
                  "set key top right;"
                  f"set title 'redis-benchmark -c {args.clients}: direct Redis, nutcracker, "
                  f"ringleader ({date})'; plot {plots}")
        subprocess.run(["gnuplot", "-e", script], check=True)
    print(f"\n(wrote {args.out}/latest.md, latest.csv, latest_rss.csv, latest_big_value.csv, latest_subscribers.csv and latest.png; took {elapsed:.0f} s)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
