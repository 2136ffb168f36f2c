#!/usr/bin/python3
"""The Raft part of scripts/bench (`scripts/bench --raft`): a three-node ringleader cluster and a
three-member etcd 3.4 cluster (Debian's etcd-server), both on loopback free ports with data
directories side by side, both at their default timing (heartbeat 100 ms, election 1000 ms),
measured in one run by the same Python client, their trials interleaved:

- failover: kill -9 of the leader, then the time until a change commits through a survivor
  (ringleader: RINGLEADER CLUSTER BARRIER, which commits an entry; etcd: a put), retried every
  2 ms on errors over one kept-open connection; then the killed node is restarted and the
  cluster waited for before the next trial;
- commit latency of one change, sequentially on the leader (BARRIER / put), p50 and p99 per
  round, and the sequential rate;
- throughput of concurrent changes: N client threads, each with its own connection, for a few
  seconds (ringleader batches what arrives together into one Raft entry per proposal, one
  fsync per Ready; etcd batches likewise).

Prints a Markdown table (median over trials or rounds, with the range) and the conditions.

    /usr/bin/python3 scripts/lib/raft_bench.py --ringleader build/proxy/ringleader --trials 20
"""
import argparse
import base64
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "raft", "process"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "clients"))
from cluster import resp  # noqa: E402
from raft_cluster import RaftCluster, free_port, read_reply  # noqa: E402

RETRY_S = 0.002  # between failed attempts while no leader commits
ATTEMPT_S = 0.1  # the bound on one attempt during a failover


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


# --- ringleader --------------------------------------------------------------------------------
class RespConn:
    """One kept-open RESP connection; call() returns the reply (errors as RuntimeError values)."""

    def __init__(self, port, timeout=3.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")

    def call(self, *argv):
        self.sock.sendall(resp(*argv))
        return read_reply(self.f)

    def close(self):
        self.sock.close()


class Ringleader:
    name = "ringleader"

    def __init__(self, binary, base_dir):
        self.c = RaftCluster(binary, nodes=3, heartbeat_ms=100, election_ms=1000, verbosity=5,
                             base_dir=base_dir)

    def __enter__(self):
        self.c.__enter__()
        return self

    def __exit__(self, *exc):
        return self.c.__exit__(*exc)

    def leader(self):
        return self.c.wait_leader(bound=30)

    def nodes(self):
        return [1, 2, 3]

    def connect(self, node, timeout=3.0):
        return RespConn(self.c.client_port[node], timeout)

    @staticmethod
    def change(conn):
        """One committed change; True when it committed."""
        reply = conn.call("RINGLEADER", "CLUSTER", "BARRIER")
        return isinstance(reply, int)

    def kill(self, node):
        self.c.kill(node)

    def restart(self, node):
        self.c.start(node)
        self.c.wait_leader(bound=30)


# --- etcd --------------------------------------------------------------------------------------
class HttpConn:
    """A kept-open HTTP/1.1 connection to etcd's JSON gateway (the v3 API, as etcdctl's)."""

    def __init__(self, port, timeout=3.0):
        self.port = port
        self.timeout = timeout
        self.h = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def post(self, path, body):
        self.h.request("POST", path, body=json.dumps(body),
                       headers={"Content-Type": "application/json"})
        r = self.h.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else {})

    def close(self):
        self.h.close()


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Etcd:
    name = "etcd"

    def __init__(self, binary, base_dir):
        self.binary = binary
        self.base_dir = base_dir
        self.procs = {}
        self.client = {}
        self.peer = {}
        self.seq = 0

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="etcd-bench-", dir=self.base_dir)
        for n in self.nodes():
            self.client[n] = free_port()
            self.peer[n] = free_port()
        for n in self.nodes():
            self.start(n)
        self.wait(lambda: self.find_leader() is not None, "an etcd leader", 30)
        return self

    def __exit__(self, *exc):
        for n in list(self.procs):
            p = self.procs.pop(n)
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def nodes(self):
        return [1, 2, 3]

    def start(self, n):
        cluster = ",".join(f"e{m}=http://127.0.0.1:{self.peer[m]}" for m in self.nodes())
        log = open(os.path.join(self.dir, f"e{n}.log"), "ab")
        self.procs[n] = subprocess.Popen(
            [self.binary, "--name", f"e{n}", "--data-dir", os.path.join(self.dir, f"e{n}"),
             "--listen-client-urls", f"http://127.0.0.1:{self.client[n]}",
             "--advertise-client-urls", f"http://127.0.0.1:{self.client[n]}",
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer[n]}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer[n]}",
             "--initial-cluster", cluster, "--initial-cluster-token", "rl-bench",
             "--initial-cluster-state", "new", "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    @staticmethod
    def wait(pred, what, bound):
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.02)  # polling interval of a bounded wait
        raise AssertionError(f"timed out after {bound}s waiting for: {what}")

    def status(self, n):
        try:
            c = HttpConn(self.client[n], timeout=1.0)
            code, body = c.post("/v3/maintenance/status", {})
            c.close()
        except (OSError, http.client.HTTPException, ValueError):
            return None
        return body if code == 200 else None

    def find_leader(self):
        """The member every running member names as leader, or None."""
        leaders = set()
        ids = {}
        for n in self.procs:
            st = self.status(n)
            if st is None or "leader" not in st:
                return None
            leaders.add(str(st["leader"]))
            ids[str(st["header"]["member_id"])] = n
        if len(leaders) != 1:
            return None
        return ids.get(leaders.pop())

    def leader(self):
        return self.wait(self.find_leader, "one etcd leader", 30)

    def connect(self, n, timeout=3.0):
        return HttpConn(self.client[n], timeout)

    def change(self, conn):
        self.seq += 1
        code, body = conn.post("/v3/kv/put", {"key": b64("bench"), "value": b64(str(self.seq))})
        return code == 200 and "header" in body

    def kill(self, n):
        p = self.procs.pop(n)
        p.kill()
        p.wait()

    def restart(self, n):
        self.start(n)
        self.wait(lambda: len(self.procs) == 3 and self.find_leader() is not None,
                  "etcd back to three members", 30)


# --- measurements ------------------------------------------------------------------------------
def failover_trial(system):
    """Kill -9 the leader; ms until a change commits through a survivor: attempts on one kept
    connection, each bounded by ATTEMPT_S (etcd holds a put sent to a follower whose leader died
    until its own request timeout; a client that wants the new leader soon retries sooner),
    reopened after a failure, 2 ms between attempts."""
    lead = system.leader()
    survivor = next(n for n in system.nodes() if n != lead)
    conn = system.connect(survivor, timeout=ATTEMPT_S)
    t0 = time.monotonic()
    system.kill(lead)
    while True:
        try:
            if system.change(conn):
                break
        except (OSError, http.client.HTTPException, ValueError):
            conn.close()
            try:
                conn = system.connect(survivor, timeout=ATTEMPT_S)
            except OSError:
                pass
        time.sleep(RETRY_S)
    elapsed = (time.monotonic() - t0) * 1000
    conn.close()
    system.restart(lead)
    return elapsed, lead


def latency_round(system, ops):
    """`ops` sequential changes on the leader: per-change ms."""
    conn = system.connect(system.leader())
    out = []
    for _ in range(ops):
        t0 = time.perf_counter()
        if not system.change(conn):
            raise RuntimeError(f"{system.name}: a change failed during the latency round")
        out.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return out


def throughput_round(system, clients, seconds):
    """Changes per second with `clients` threads, each on its own connection to the leader."""
    lead = system.leader()
    counts = [0] * clients
    failures = [0] * clients
    stop = time.monotonic() + seconds
    start_gate = threading.Barrier(clients + 1)

    def run(i):
        conn = system.connect(lead)
        start_gate.wait()
        while time.monotonic() < stop:
            if system.change(conn):
                counts[i] += 1
            else:
                failures[i] += 1
        conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start_gate.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0), sum(failures)


def fmt_range(values, unit="ms", digits=0):
    med = statistics.median(values)
    return f"{med:,.{digits}f} {unit} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringleader", required=True)
    ap.add_argument("--etcd", default=shutil.which("etcd") or "/usr/bin/etcd")
    ap.add_argument("--trials", type=int, default=20, help="failover trials per system")
    ap.add_argument("--rounds", type=int, default=3, help="latency and throughput rounds")
    ap.add_argument("--ops", type=int, default=500, help="sequential changes per latency round")
    ap.add_argument("--clients", type=int, default=16, help="threads in a throughput round")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of a throughput round")
    ap.add_argument("--dir", default=None, help="where both clusters' data directories go")
    args = ap.parse_args()
    if not os.access(args.etcd, os.X_OK):
        sys.exit(f"error: no etcd binary at {args.etcd} (Debian: apt-get install etcd-server)")
    etcd_version = subprocess.run([args.etcd, "--version"], capture_output=True,
                                  text=True).stdout.splitlines()[0]

    fail = {"ringleader": [], "etcd": []}
    lat = {"ringleader": [], "etcd": []}
    p50 = {"ringleader": [], "etcd": []}
    p99 = {"ringleader": [], "etcd": []}
    seq = {"ringleader": [], "etcd": []}
    thr = {"ringleader": [], "etcd": []}
    with Ringleader(args.ringleader, args.dir) as rl, Etcd(args.etcd, args.dir) as et:
        systems = (rl, et)
        for trial in range(args.trials):
            for s in systems:
                ms, killed = failover_trial(s)
                fail[s.name].append(ms)
                print(f"failover trial {trial + 1} {s.name}: {ms:.0f} ms (killed {killed})",
                      flush=True)
        for r in range(args.rounds):
            for s in systems:
                ms = latency_round(s, args.ops)
                lat[s.name] += ms
                p50[s.name].append(percentile(ms, 50))
                p99[s.name].append(percentile(ms, 99))
                seq[s.name].append(len(ms) / (sum(ms) / 1000))
                print(f"latency round {r + 1} {s.name}: p50 {p50[s.name][-1]:.2f} ms, "
                      f"p99 {p99[s.name][-1]:.2f} ms", flush=True)
            for s in systems:
                rate, failures = throughput_round(s, args.clients, args.seconds)
                thr[s.name].append(rate)
                print(f"throughput round {r + 1} {s.name}: {rate:.0f} changes/s "
                      f"({failures} failed)", flush=True)

    print()
    print(f"| Raft, 3 nodes on loopback | ringleader | {etcd_version} |")
    print("|---|---|---|")
    print(f"| failover: kill -9 of the leader → a change committed through a survivor, median "
          f"(min–max) over {args.trials} trials | {fmt_range(fail['ringleader'])} | "
          f"{fmt_range(fail['etcd'])} |")
    print(f"| failover max | {max(fail['ringleader']):,.0f} ms | {max(fail['etcd']):,.0f} ms |")
    print(f"| commit latency of one change, p50, median (range) over {args.rounds} rounds of "
          f"{args.ops} | {fmt_range(p50['ringleader'], digits=2)} | "
          f"{fmt_range(p50['etcd'], digits=2)} |")
    print(f"| commit latency p99 | {fmt_range(p99['ringleader'], digits=2)} | "
          f"{fmt_range(p99['etcd'], digits=2)} |")
    print(f"| sequential changes/s (one client) | {fmt_range(seq['ringleader'], '/s')} | "
          f"{fmt_range(seq['etcd'], '/s')} |")
    print(f"| concurrent changes/s ({args.clients} clients, {args.seconds:g} s rounds) | "
          f"{fmt_range(thr['ringleader'], '/s')} | {fmt_range(thr['etcd'], '/s')} |")
    print()
    print(f"Conditions: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
          f"Linux {platform.release()}; data directories under "
          f"{args.dir or tempfile.gettempdir()} (both clusters side by side); defaults of both "
          "(heartbeat 100 ms, election timeout 1000 ms; ringleader PreVote+CheckQuorum and its "
          "fast failover on a closed leader connection, etcd 3.4 without pre-vote); one Python "
          "client for both (kept-open connections: RESP for ringleader, etcd's v3 JSON gateway "
          "over HTTP/1.1 for etcd); a ringleader change is RINGLEADER CLUSTER BARRIER (one "
          "committed no-op entry, answered once applied), an etcd change a put; failover "
          "retries every 2 ms through one survivor, each attempt bounded by 100 ms; trials interleaved; each killed node is "
          "restarted and the cluster waited for before the next trial.")


if __name__ == "__main__":
    main()
