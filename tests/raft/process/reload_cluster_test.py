#!/usr/bin/python3
"""RINGLEADER RELOAD in a cluster of three real ringleader processes (raft_cluster.py): a reload
of a follower's edited file is the proposal, commits, and every member then serves the new
topology (while the members whose files were not edited say rl_pool_main_file:differs); a
key-moving change is refused; two reloads computed from the same epoch race and exactly one
commits, the other failing with the epoch that won. Run by ctest as raft.reload."""
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from raft_cluster import RaftCluster, free_port, read_reply  # noqa: E402
from cluster import resp, wait_for_port  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")


def epochs(c):
    return {n: (c.status(n) or {}).get("rl_pool_main_epoch") for n in list(c.procs)}


def set_servers(c, node, servers):
    """Rewrites node's file with `servers` [(port, name)] in place of its server list."""
    path = c.config_path(node)
    with open(path) as f:
        text = f.read()
    head = text[:text.index("  servers:\n")]
    with open(path, "w") as f:
        f.write(head + "  servers:\n"
                + "".join(f"    - 127.0.0.1:{p}:1 {n}\n" for p, n in servers))


def redis_call(port, *argv):
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(resp(*argv))
        return read_reply(s.makefile("rb"))


def text(reply):
    return reply.decode() if isinstance(reply, bytes) else reply


class ReloadClusterTest(unittest.TestCase):
    def start_redis(self, c):
        port = free_port()
        p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", c.dir],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c.redis.append((p, port))  # stopped with the cluster
        wait_for_port(port, p)
        return port

    def copy_keys(self, src, dst):
        for k in redis_call(src, "KEYS", "*"):
            self.assertEqual(redis_call(dst, "RESTORE", k, "0", redis_call(src, "DUMP", k),
                                        "REPLACE"), "OK")

    def owned_by(self, c, node, name, count=3):
        """Keys that node's file places on server `name`."""
        keys = [os.urandom(8).hex() for _ in range(60)]
        out = subprocess.run([BINARY, "-c", c.config_path(node), "--where"] + keys,
                             capture_output=True, text=True, check=True).stdout
        found = [line.split("\t")[0] for line in out.splitlines() if line.split("\t")[2] == name]
        self.assertGreaterEqual(len(found), count)
        return found[:count]

    def test_reload_on_a_follower_commits_and_every_member_serves_it(self):
        with RaftCluster(BINARY, nodes=3) as c:
            lead = c.wait_leader()
            c.wait(lambda: set(epochs(c).values()) == {"1"}, "epoch 1 everywhere")
            data = {f"k{os.urandom(6).hex()}": f"v{i}".encode() for i in range(150)}
            for k, v in data.items():
                self.assertEqual(c.command(1, "SET", k, v), "OK")
            follower = next(n for n in (1, 2, 3) if n != lead)
            r1, r2 = c.redis[0][1], c.redis[1][1]
            new = self.start_redis(c)
            self.copy_keys(r2, new)
            set_servers(c, follower, [(r1, "r1"), (new, "r2")])
            plan = text(c.command(follower, "RINGLEADER", "RELOAD", "DRYRUN"))
            self.assertIn(f"address of r2: 127.0.0.1:{r2} -> 127.0.0.1:{new}", plan)
            self.assertIn("pool 'main' (served epoch 1):", plan)
            self.assertIn("keys moving: none", plan)
            reply = text(c.command(follower, "RINGLEADER", "RELOAD", timeout=20))
            self.assertIn("applied: pool 'main' committed at epoch 2", reply)
            c.wait(lambda: set(epochs(c).values()) == {"2"}, "epoch 2 everywhere")
            c.wait(lambda: c.status(follower)["rl_pool_main_file"] == "same", "follower same")
            for n in (1, 2, 3):
                if n != follower:
                    c.wait(lambda: c.status(n)["rl_pool_main_file"] == "differs",
                           f"node {n}'s file differs")
            # The old r2 is gone: every member reads every key, and writes r2's keys to `new`.
            old = c.redis[1][0]
            old.kill()
            old.wait()
            for n in (1, 2, 3):
                for k, v in data.items():
                    self.assertEqual(c.command(n, "GET", k), v, (n, k))
                for k in self.owned_by(c, follower, "r2"):
                    self.assertEqual(c.command(n, "SET", k, f"from{n}"), "OK")
                    self.assertEqual(redis_call(new, "GET", k), f"from{n}".encode())
            # A change of settings only applies on this member at the committed epoch.
            path = c.config_path(follower)
            with open(path) as f:
                edited = f.read().replace("timeout: 2000", "timeout: 1500")
            with open(path, "w") as f:
                f.write(edited)
            self.assertIn("setting timeout: 2000 ms -> 1500 ms (applies at once)",
                          text(c.command(follower, "RINGLEADER", "RELOAD", "DRYRUN")))
            self.assertIn("applied: pool 'main' settings at epoch 2",
                          text(c.command(follower, "RINGLEADER", "RELOAD", timeout=20)))
            self.assertIn("unchanged", text(c.command(follower, "RINGLEADER", "RELOAD", "DRYRUN")))
            self.assertEqual(set(epochs(c).values()), {"2"})
            # A change that moves keys is refused, and nothing changes.
            extra = self.start_redis(c)
            set_servers(c, follower, [(r1, "r1"), (new, "r2"), (extra, "r3")])
            reply = c.command(follower, "RINGLEADER", "RELOAD", timeout=20)
            self.assertIsInstance(reply, RuntimeError)
            self.assertIn("online key migration runs only in a standalone process", str(reply))
            self.assertRegex(str(reply), r"moves [0-9.]+% of the hash space")
            self.assertEqual(set(epochs(c).values()), {"2"})

    def test_concurrent_reloads_one_commits_the_other_names_the_epoch(self):
        # A long election timeout, so that the leader's delayed messages start no election.
        with RaftCluster(BINARY, nodes=3, heartbeat_ms=50, election_ms=5000) as c:
            lead = c.wait_leader(bound=30)
            c.wait(lambda: set(epochs(c).values()) == {"1"}, "epoch 1 everywhere")
            other = next(n for n in (1, 2, 3) if n != lead)
            r1, r2 = c.redis[0][1], c.redis[1][1]
            y, z = self.start_redis(c), self.start_redis(c)
            set_servers(c, other, [(y, "r1"), (r2, "r2")])
            set_servers(c, lead, [(r1, "r1"), (z, "r2")])
            # Commits now take 1.5 s: both reloads are computed from epoch 1.
            self.assertEqual(c.command(lead, "RINGLEADER", "FAULT", "delay=1500"), "OK")
            replies = {}
            t = threading.Thread(target=lambda: replies.__setitem__(
                other, c.command(other, "RINGLEADER", "RELOAD", timeout=30)))
            t.start()
            c.wait(lambda: "reload: proposing pool 'main' epoch 2 from epoch 1" in c.log(other),
                   "the first reload proposed")
            replies[lead] = c.command(lead, "RINGLEADER", "RELOAD", timeout=30)
            t.join(timeout=30)
            self.assertEqual(c.command(lead, "RINGLEADER", "FAULT", "OFF"), "OK")
            ok = [n for n, r in replies.items() if not isinstance(r, Exception)]
            failed = [n for n, r in replies.items() if isinstance(r, Exception)]
            self.assertEqual(len(ok), 1, replies)
            self.assertEqual(len(failed), 1, replies)
            self.assertIn("applied: pool 'main' committed at epoch 2", text(replies[ok[0]]))
            why = str(replies[failed[0]])
            self.assertIn("computed from epoch 1 was not committed", why)
            self.assertIn("pool 'main' is at epoch 2, not 1", why)
            c.wait(lambda: set(epochs(c).values()) == {"2"}, "epoch 2 everywhere")
            c.wait(lambda: c.status(ok[0])["rl_pool_main_file"] == "same", "winner same")
            c.wait(lambda: c.status(failed[0])["rl_pool_main_file"] == "differs", "loser differs")


if __name__ == "__main__":
    unittest.main(verbosity=2)
