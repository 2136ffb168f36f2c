#!/usr/bin/python3
"""A Jepsen-style test of the lock service on a real cluster (issue 15): 3 ringleader nodes in
front of 3 redis-servers that are both the lock masters and the data shards (AOF with
`appendfsync always`, so a restarted server loses nothing). 20 clients contend for 3 hot locks through random members and,
while holding one, do a fenced INCR of the lock's counter and a fenced RPUSH of
`process:token` to its log; 2 of them pause past their lease before writing (a GC pause, as in
Kleppmann's critique of Redlock), so their late writes must be refused. A nemesis on a
schedule drawn from one seed ($RL_TEST_SEED, printed) kills -9 and restarts nodes (the Raft
leader among them), SIGSTOPs them, partitions them with iptables, kills or SIGSTOPs lock
masters, and makes a master's clock jump ahead past its leases (they expire early there:
Debian's redis-server, linked with jemalloc, does not run under faketime). Checked: unique tokens, per-lock real-time order of tokens, no two grants of a lock
holding it at once while the clocks behave (a clock jump on a master of a bare quorum can let
another quorum form: pairs across a jump are not checked), one leader per term; each log's
tokens never decrease, each counter equals the acknowledged INCRs (up to those whose outcome is
unknown). Run by ctest as lock.jepsen (RL_JEPSEN_SECONDS, default 45). Needs root and iptables
(fails, never skips, without them)."""
import os
import random
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import jepsen  # noqa: E402
from raft_cluster import RaftCluster, run_seed  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")
SECONDS = float(os.environ.get("RL_JEPSEN_SECONDS", "45"))
LOCKS = ["acct-a", "acct-b", "acct-c"]
CLIENTS = 20
PAUSERS = 2  # of the clients
TTL_MS = 1500
PAUSER_TTL_MS = 300


def counter_key(name):
    return f"res:{name}:n"


def log_key(name):
    return f"res:{name}:log"


def lock_worker(c, history, process, seed, stop, pauser):
    rng = random.Random(seed)
    client = jepsen.Client(c, history, process)
    n = 0
    while not stop.is_set():
        node = rng.choice(list(c.client_port))
        name = rng.choice(LOCKS)
        owner = f"c{process}-{n}"
        n += 1
        token = jepsen.acquire(client, node, name, owner, PAUSER_TTL_MS if pauser else TTL_MS)
        if token is None:
            stop.wait(rng.uniform(0, 0.02))  # back-off before contending again
            continue
        if pauser:
            stop.wait(rng.uniform(0.4, 0.8))  # past the lease: others may hold it now
        node = rng.choice(list(c.client_port))
        jepsen.fenced(client, node, name, token, "INCR", counter_key(name))
        jepsen.fenced(client, node, name, token, "RPUSH", log_key(name), f"{process}:{token}")
        jepsen.release(client, rng.choice(list(c.client_port)), name, owner, token)


def read_finals(c):
    """Per lock (counter, log) read through the cluster once it serves again."""
    finals = {}
    for name in LOCKS:
        def read():
            for node in list(c.procs):
                try:
                    n = c.command(node, "GET", counter_key(name))
                    log = c.command(node, "LRANGE", log_key(name), "0", "-1")
                except OSError:
                    continue
                if isinstance(n, RuntimeError) or isinstance(log, RuntimeError):
                    continue
                return int(n or 0), [e.decode() for e in log]
            return None
        finals[name] = c.wait(read, f"the counter and log of {name}", 30)
    return finals


class LockJepsenTest(unittest.TestCase):
    def test_fenced_writes_under_node_master_and_clock_faults(self):
        seed = run_seed()
        with RaftCluster(BINARY, nodes=3, servers=3, locks=True, own_uids=True,
                         redis_args=["--appendonly", "yes", "--appendfsync", "always"]) as c:
            c.wait_leader()
            kinds = jepsen.NODE_FAULTS + ["kill-leader"] + jepsen.SERVER_FAULTS
            plan = jepsen.schedule(seed, [1, 2, 3], SECONDS - 5, kinds=kinds, servers=[0, 1, 2],
                                   hold=(0.5, 2.5))
            print(f"nemesis schedule ({len(plan)} faults): {plan}", flush=True)
            history = jepsen.History()
            stop = threading.Event()
            threads = [threading.Thread(target=lock_worker, daemon=True,
                                        args=(c, history, i, seed * 100 + i, stop, i < PAUSERS))
                       for i in range(CLIENTS)]
            nemesis = jepsen.run_under_nemesis(self, c, history, threads, stop, plan, SECONDS)
            finals = read_finals(c)
            events = sorted(history.events, key=lambda e: e["time"])
            violations, counts = jepsen.check_history(events)
            more, fenced_counts = jepsen.check_resources(events, finals)
            violations += more
            counts.update(fenced_counts)
            counts.update({f"nemesis_{k}": v for k, v in nemesis.applied.items()})
            counts.update({f"counter_{k}": v[0] for k, v in finals.items()})
            print(f"RL_TEST_SEED={seed} history: {len(events)} events; "
                  + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())), flush=True)
            self.assertEqual(violations, [], f"RL_TEST_SEED={seed}: " + "\n".join(violations[:20]))
            self.assertGreater(counts["grants"], 50, "too few grants for a meaningful check")
            self.assertGreater(counts["fenced_ok"], 50)
            self.assertGreater(sum(nemesis.applied.values()), 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
