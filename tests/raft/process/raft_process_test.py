#!/usr/bin/python3
"""A ringleader cluster of real processes (tests/raft/process/raft_cluster.py): election,
kill -9 and SIGSTOP of the leader, a full restart, membership changes, and a node whose data
directory was lost. Run by ctest as raft.processes with RL_RINGLEADER set to the binary."""
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from raft_cluster import RaftCluster  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")


def epochs(c, nodes):
    return {n: (c.status(n) or {}).get("rl_pool_main_epoch") for n in nodes}


class RaftProcessTest(unittest.TestCase):
    def test_elects_one_leader_and_commits_the_files_topology(self):
        with RaftCluster(BINARY, nodes=3) as c:
            lead = c.wait_leader()
            c.wait(lambda: set(epochs(c, [1, 2, 3]).values()) == {"1"},
                   "pool main committed at epoch 1 on every node")
            for n in (1, 2, 3):
                st = c.status(n)
                self.assertEqual(st["rl_leader_id"], str(lead))
                self.assertEqual(st["rl_pool_main_file"], "same")
                self.assertEqual(st["rl_node_id"], str(n))
                self.assertEqual(st["rl_role"], "leader" if n == lead else "follower")
                for m in (1, 2, 3):
                    self.assertIn(f"{m}@127.0.0.1:{c.peer_port[m]}", st["rl_members"])
            # The data path serves through every member.
            self.assertEqual(c.command(1, "SET", "k", "v"), "OK")
            self.assertEqual(c.command(2, "GET", "k"), b"v")
            # The peer port answers PING without authentication.
            import socket
            with socket.create_connection(("127.0.0.1", c.peer_port[lead]), timeout=2) as s:
                s.sendall(b"PING\r\n")
                self.assertEqual(s.recv(16), b"+PONG\r\n")

    def test_barrier_commits_through_any_member_and_replies_its_index(self):
        with RaftCluster(BINARY, nodes=3) as c:
            lead = c.wait_leader()
            follower = next(n for n in (1, 2, 3) if n != lead)
            first = c.command(follower, "RINGLEADER", "CLUSTER", "BARRIER")
            self.assertIsInstance(first, int, first)
            second = c.command(lead, "RINGLEADER", "CLUSTER", "BARRIER")
            self.assertGreater(second, first)
            # Committed: every member's commit index reaches it.
            c.wait(lambda: all(int((c.status(n) or {}).get("rl_commit_index", 0)) >= second
                               for n in (1, 2, 3)), "every member commits the barrier")
            self.assertIsInstance(c.command(lead, "RINGLEADER", "CLUSTER", "BARRIER", "x"),
                                  RuntimeError)

    def test_kill_leader_then_a_new_leader_and_the_old_one_rejoins(self):
        with RaftCluster(BINARY, nodes=3) as c:
            lead = c.wait_leader()
            term = int(c.status(lead)["rl_term"])
            c.wait(lambda: set(epochs(c, [1, 2, 3]).values()) == {"1"}, "epoch 1 everywhere")
            c.kill(lead)
            rest = [n for n in (1, 2, 3) if n != lead]
            new = c.wait_leader(among=rest, newer_than=term)
            self.assertNotEqual(new, lead)
            # A change commits through the survivors.
            self.assertEqual(c.command(rest[0], "RINGLEADER", "CLUSTER", "ADD", "9",
                                       "127.0.0.1:1"), "OK")
            c.start(lead)
            again = c.wait_leader()
            self.assertEqual(again, new)
            c.wait(lambda: "9@127.0.0.1:1" in (c.status(lead) or {}).get("rl_members", ""),
                   "the restarted node learns the change committed without it")
            self.assertEqual(c.status(lead)["rl_pool_main_epoch"], "1")

    def test_restarted_node_routes_by_the_committed_topology_from_its_first_request(self):
        # The committed pool lists r1 and r2; node 3 comes back with a file that lists only r2.
        # Its log replay takes milliseconds, so the proof is the order of its log: the committed
        # topology is published before the workers start (the host logs "cluster: node 3 on"
        # at the end of its start, before any worker runs), and the first routed request reads
        # a marker only r1 holds.
        with RaftCluster(BINARY, nodes=3) as c:
            c.wait_leader()
            c.wait(lambda: set(epochs(c, [1, 2, 3]).values()) == {"1"}, "epoch 1 everywhere")
            for i, value in ((0, b"r1"), (1, b"r2")):
                for k in range(200):
                    self.assertEqual(c.redis_command(i, "SET", f"marker:{k}", value), "OK")
            on_r1 = next(f"marker:{k}" for k in range(200)
                         if c.command(3, "GET", f"marker:{k}") == b"r1")
            c.stop(3)
            c.write_config(3, servers=[1])
            with open(c.log_path(3), "rb") as f:
                before = len(f.read())
            c.start(3, wait=False)
            first = c.wait(lambda: self._try_get(c, 3, on_r1), "node 3 answers GET", 15)
            self.assertEqual(first, b"r1", "the first request must route by the committed ring")
            log = c.log(3)[before:]
            published = log.find("pool 'main' now routes by committed epoch 1")
            started = log.find("cluster: node 3 on")
            self.assertGreaterEqual(published, 0, log)
            self.assertLess(published, started, log)
            self.assertEqual(c.status(3)["rl_pool_main_file"], "differs")

    @staticmethod
    def _try_get(c, node, key):
        try:
            return c.command(node, "GET", key, timeout=1.0)
        except OSError:
            return None

    def test_paused_leader_steps_down_and_no_two_leaders_share_a_term(self):
        with RaftCluster(BINARY, nodes=3) as c:
            lead = c.wait_leader()
            term = int(c.status(lead)["rl_term"])
            c.pause(lead)
            rest = [n for n in (1, 2, 3) if n != lead]
            new = c.wait_leader(among=rest, newer_than=term)
            c.resume(lead)
            c.wait(lambda: (c.status(lead) or {}).get("rl_role") == "follower",
                   "the deposed leader steps down")
            # Each term has at most one leader: sample every node until all agree.
            final = c.wait_leader()
            self.assertEqual(final, new)
            terms = {}
            for n in (1, 2, 3):
                st = c.status(n)
                if st["rl_role"] == "leader":
                    self.assertNotIn(st["rl_term"], terms)
                    terms[st["rl_term"]] = n
            # A change sent to the deposed leader is forwarded and commits once.
            self.assertEqual(c.command(lead, "RINGLEADER", "CLUSTER", "ADD", "9",
                                       "127.0.0.1:1"), "OK")

    def test_restart_every_process_keeps_the_committed_state(self):
        with RaftCluster(BINARY, nodes=3) as c:
            c.wait_leader()
            self.assertEqual(c.command(1, "RINGLEADER", "CLUSTER", "ADD", "9",
                                       "127.0.0.1:1"), "OK")
            c.wait(lambda: set(epochs(c, [1, 2, 3]).values()) == {"1"}, "epoch 1 everywhere")
            for n in (1, 2, 3):
                self.assertEqual(c.stop(n), 0, c.log(n))
            for n in (1, 2, 3):
                c.start(n)
            c.wait_leader()
            for n in (1, 2, 3):
                st = c.status(n)
                self.assertEqual(st["rl_pool_main_epoch"], "1")
                self.assertIn("9@127.0.0.1:1", st["rl_members"])

    def test_add_a_learner_promote_it_and_remove_a_node(self):
        with RaftCluster(BINARY, nodes=3) as c:
            lead = c.wait_leader()
            c.add_node(4)
            c.start(4)
            self.assertEqual(c.command(1, "RINGLEADER", "CLUSTER", "ADD", "4",
                                       f"127.0.0.1:{c.peer_port[4]}"), "OK")
            c.wait(lambda: (c.status(4) or {}).get("rl_role") == "learner", "4 is a learner")
            c.wait(lambda: (c.status(4) or {}).get("rl_pool_main_epoch") == "1",
                   "the learner caught up")

            def promoted():
                return c.command(2, "RINGLEADER", "CLUSTER", "PROMOTE", "4") == "OK"
            c.wait(promoted, "4 promoted once caught up")
            c.wait(lambda: (c.status(4) or {}).get("rl_role") == "follower", "4 votes")
            victim = next(n for n in (1, 2, 3) if n != lead)
            self.assertEqual(c.command(lead, "RINGLEADER", "CLUSTER", "REMOVE", str(victim)),
                             "OK")
            c.wait(lambda: f"{victim}@" not in c.status(lead)["rl_members"], "victim removed")
            # Refusals say why.
            err = c.command(lead, "RINGLEADER", "CLUSTER", "PROMOTE", "77")
            self.assertIsInstance(err, RuntimeError)

    def test_a_node_whose_data_directory_was_lost_refuses_to_start(self):
        with RaftCluster(BINARY, nodes=3) as c:
            c.wait_leader()
            c.wait(lambda: set(epochs(c, [1, 2, 3]).values()) == {"1"}, "epoch 1 everywhere")
            victim = 3
            self.assertEqual(c.stop(victim), 0)
            shutil.rmtree(c.data_dir(victim))
            p = c.start(victim, wait=False)
            p.wait(timeout=30)
            c.procs.pop(victim)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("already joined", c.log(victim))

    def test_lock_tokens_grow_through_every_member_across_a_leader_kill(self):
        with RaftCluster(BINARY, nodes=3, servers=3, locks=True) as c:
            lead = c.wait_leader()
            tokens = []

            def acquire_release(node):
                def once():
                    try:
                        r = c.command(node, "LOCK.ACQUIRE", "L", f"owner-{node}", "PX", "10000")
                    except OSError:
                        return None
                    if not isinstance(r, list):  # -TRYAGAIN while the cluster elects
                        return None
                    return r
                token, validity = c.wait(once, f"LOCK.ACQUIRE through node {node}", 30)
                self.assertGreater(validity, 0)
                self.assertEqual(c.command(node, "LOCK.RELEASE", "L", f"owner-{node}",
                                           str(token)), 1)
                tokens.append((node, token))

            for _ in range(2):
                for n in (1, 2, 3):
                    acquire_release(n)
            c.kill(lead)
            rest = [n for n in (1, 2, 3) if n != lead]
            c.wait_leader(among=rest)
            for n in rest + rest:
                acquire_release(n)
            c.start(lead)
            c.wait_leader()
            for n in (1, 2, 3):
                acquire_release(n)
            print(f"tokens (node, token): {tokens}", flush=True)
            values = [t for _, t in tokens]
            self.assertEqual(values, sorted(set(values)),
                             f"tokens not strictly increasing: {tokens}")
            # Minted by the cluster: its replicated counter covers every token handed out.
            # (Each member reserves a block, so tokens jump between members.)
            self.assertGreaterEqual(len({n for n, _ in tokens}), 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
