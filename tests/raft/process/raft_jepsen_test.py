#!/usr/bin/python3
"""A Jepsen-style test on a real ringleader cluster (3 nodes, 3 lock masters): client threads
LOCK.ACQUIRE / LOCK.RELEASE a few hot locks through random members, commit RINGLEADER CLUSTER
BARRIER entries through random members (each answers its log index: a linearizable counter of
the replicated log), and read RINGLEADER STATUS of random members, while a nemesis kills -9 and restarts, SIGSTOPs and SIGCONTs, and partitions
(iptables, one way or both) the ringleader processes on a schedule drawn from one seed
($RL_TEST_SEED replays it; printed). The history is checked by jepsen.py's checker: unique
tokens, per-lock real-time order of tokens, mutual exclusion of grants, unique log indexes in
real-time order, one leader per term.
Run by ctest as raft.jepsen (RL_JEPSEN_SECONDS, default 60; RL_RINGLEADER the binary). Needs
root and iptables (fails, never skips, without them)."""
import os
import random
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import jepsen  # noqa: E402
from raft_cluster import RaftCluster, run_seed  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")
SECONDS = float(os.environ.get("RL_JEPSEN_SECONDS", "60"))
LOCKS = ["hot-a", "hot-b", "hot-c"]
LOCK_CLIENTS = 6
TTL_MS = 1500


def lock_worker(c, history, process, seed, stop):
    rng = random.Random(seed)
    client = jepsen.Client(c, history, process)
    n = 0
    while not stop.is_set():
        node = rng.choice(list(c.client_port))
        name = rng.choice(LOCKS)
        owner = f"c{process}-{n}"
        n += 1
        token = jepsen.acquire(client, node, name, owner, TTL_MS)
        if token is not None:
            stop.wait(rng.uniform(0, 0.05))  # the work done under the lock
            jepsen.release(client, rng.choice(list(c.client_port)), name, owner, token)
        else:
            stop.wait(rng.uniform(0, 0.02))  # back-off before contending again


def barrier_worker(c, history, process, seed, stop):
    rng = random.Random(seed)
    client = jepsen.Client(c, history, process, timeout=3.0)
    while not stop.is_set():
        jepsen.barrier(client, rng.choice(list(c.client_port)))
        stop.wait(0.005)


def status_worker(c, history, process, seed, stop):
    rng = random.Random(seed)
    client = jepsen.Client(c, history, process, timeout=1.0)
    while not stop.is_set():
        jepsen.status(client, rng.choice(list(c.client_port)))
        stop.wait(0.02)


class JepsenTest(unittest.TestCase):
    def test_locks_and_status_under_kills_pauses_and_partitions(self):
        seed = run_seed()
        with RaftCluster(BINARY, nodes=3, servers=3, locks=True, own_uids=True) as c:
            c.wait_leader()
            plan = jepsen.schedule(seed, [1, 2, 3], SECONDS - 5)
            print(f"nemesis schedule ({len(plan)} faults): {plan}", flush=True)
            history = jepsen.History()
            stop = threading.Event()
            threads = [threading.Thread(target=lock_worker, daemon=True,
                                        args=(c, history, i, seed * 100 + i, stop))
                       for i in range(LOCK_CLIENTS)]
            threads += [threading.Thread(target=status_worker, daemon=True,
                                         args=(c, history, 100 + i, seed * 100 + 50 + i, stop))
                        for i in range(2)]
            threads += [threading.Thread(target=barrier_worker, daemon=True,
                                         args=(c, history, 200 + i, seed * 100 + 70 + i, stop))
                        for i in range(3)]
            nemesis = jepsen.run_under_nemesis(self, c, history, threads, stop, plan, SECONDS)
            events = sorted(history.events, key=lambda e: e["time"])
            violations, counts = jepsen.check_history(events)
            counts.update({f"nemesis_{k}": v for k, v in nemesis.applied.items()})
            print(f"RL_TEST_SEED={seed} history: {len(events)} events; "
                  + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())), flush=True)
            self.assertEqual(violations, [], f"RL_TEST_SEED={seed}: " + "\n".join(violations[:20]))
            self.assertGreater(counts["grants"], 50, "too few grants for a meaningful check")
            self.assertGreater(counts["status_reads"], 50)
            self.assertGreater(counts["barriers"], 50)
            self.assertGreater(sum(nemesis.applied.values()), 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
