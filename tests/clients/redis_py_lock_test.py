#!/usr/bin/python3
"""redis-py (Debian's python3-redis) against ringleader's lock service, through execute_command
as an application would: a lock taken and released, a waiter handed the lock on release (in a
thread; the order shown by LOCK.INFO's waiters), and a stale fenced write refused after another
client took the lock. The pool's servers are the lock masters and the data shards."""
import os
import sys
import threading
import time
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")
LOCKS = "ringleader:\n  locks:\n    data_dir: {dir}/locks\n"


def info(r, name):
    """LOCK.INFO as a dict of str -> value."""
    flat = r.execute_command("LOCK.INFO", name)
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}


def wait_until(condition, bound=10.0):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)  # polling interval of a bounded wait
    return False


class LockTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(BINARY, servers=3, pool_extra="  admin_commands: true\n",
                              top_extra=LOCKS).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.cluster.port, socket_timeout=30)

    def test_acquire_extend_release(self):
        r = self.client()
        token, validity = r.execute_command("LOCK.ACQUIRE", "report", "worker-1", "PX", 10000)
        self.assertGreater(token, 0)
        self.assertTrue(0 < validity <= 10000)
        self.assertIsNone(r.execute_command("LOCK.ACQUIRE", "report", "worker-2", "PX", 10000))
        self.assertGreater(r.execute_command("LOCK.EXTEND", "report", "worker-1", token, "PX",
                                             20000), 10000)
        self.assertEqual(r.execute_command("LOCK.CHECK", "report", token), 1)
        with self.assertRaises(redis.ResponseError) as e:
            r.execute_command("LOCK.EXTEND", "report", "worker-2", token, "PX", 1000)
        self.assertTrue(str(e.exception).startswith("NOTOWNER"), str(e.exception))
        self.assertEqual(r.execute_command("LOCK.RELEASE", "report", "worker-1", token), 1)
        self.assertIsNone(info(r, "report")["owner"])

    def test_waiter_gets_the_lock_on_release(self):
        holder, waiter, watcher = self.client(), self.client(), self.client()
        token, _ = holder.execute_command("LOCK.ACQUIRE", "queue", "a", "PX", 60000)
        got = []
        t = threading.Thread(target=lambda: got.append(waiter.execute_command(
            "LOCK.ACQUIRE", "queue", "b", "PX", 10000, "WAIT", 30000)))
        t.start()
        self.assertTrue(wait_until(lambda: info(watcher, "queue")["waiters"] == 1))
        self.assertEqual(holder.execute_command("LOCK.RELEASE", "queue", "a", token), 1)
        t.join(30)
        self.assertEqual(len(got), 1)
        self.assertGreater(got[0][0], token)
        self.assertEqual(info(watcher, "queue")["owner"], b"b")

    def test_stale_fenced_write_is_refused(self):
        old, new = self.client(), self.client()
        t1, _ = old.execute_command("LOCK.ACQUIRE", "inventory", "old", "PX", 60000)
        self.assertEqual(old.execute_command("FENCED", "inventory", t1, "SET", "stock", 10), b"OK")
        self.assertEqual(new.execute_command("LOCK.FORCERELEASE", "inventory"), 1)
        t2, _ = new.execute_command("LOCK.ACQUIRE", "inventory", "new", "PX", 60000)
        self.assertGreater(t2, t1)
        self.assertEqual(new.execute_command("FENCED", "inventory", t2, "DECRBY", "stock", 3), 7)
        with self.assertRaises(redis.ResponseError) as e:
            old.execute_command("FENCED", "inventory", t1, "SET", "stock", 0)
        self.assertEqual(str(e.exception), f"FENCED stale token {t1} < {t2} for lock inventory")
        self.assertEqual(old.get("stock"), b"7")
        # LOCK.FENCE binds every later write of the connection.
        old.execute_command("LOCK.FENCE", "inventory", t1)
        with self.assertRaises(redis.ResponseError):
            old.set("stock", 0)
        self.assertEqual(old.get("stock"), b"7")


if __name__ == "__main__":
    unittest.main(verbosity=2)
