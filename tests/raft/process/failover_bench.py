#!/usr/bin/python3
"""Failover figure for issue 13 (a benchmark, not a test): a 3-node ringleader cluster at the
default timing (heartbeat 100 ms, election timeout 1000 ms); per trial, kill -9 the leader and
time until a change (RINGLEADER CLUSTER ADD of a learner) commits through a survivor, then
restart the killed node and remove the learner. Prints median and max over --trials.

    /usr/bin/python3 tests/raft/process/failover_bench.py --binary build/proxy/ringleader
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from raft_cluster import RaftCluster  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/proxy/ringleader")
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args()
    times = []
    with RaftCluster(args.binary, nodes=3, heartbeat_ms=100, election_ms=1000) as c:
        for trial in range(args.trials):
            lead = c.wait_leader(bound=30)
            survivor = next(n for n in (1, 2, 3) if n != lead)
            learner = str(100 + trial)
            t0 = time.monotonic()
            c.kill(lead)
            while True:
                try:
                    reply = c.command(survivor, "RINGLEADER", "CLUSTER", "ADD", learner,
                                      "127.0.0.1:1", timeout=10)
                except OSError:
                    reply = None
                if reply == "OK":
                    break
                time.sleep(0.005)  # retry interval while no leader commits
            elapsed = (time.monotonic() - t0) * 1000
            times.append(elapsed)
            print(f"trial {trial + 1}: {elapsed:.0f} ms (killed node {lead})", flush=True)
            c.start(lead)
            c.wait(lambda: c.command(survivor, "RINGLEADER", "CLUSTER", "REMOVE",
                                     learner) == "OK", "learner removed", 30)
    print(f"failover (kill -9 of the leader -> a change committed), {len(times)} trials: "
          f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms, "
          f"min {min(times):.0f} ms")


if __name__ == "__main__":
    main()
