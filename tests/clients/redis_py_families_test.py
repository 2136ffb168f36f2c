#!/usr/bin/python3
"""redis-py (Debian's python3-redis) against a real ringleader in front of three redis-servers:
transactions through its pipeline and WATCH APIs, blocking pops, and its PubSub object."""
import os
import sys
import threading
import time
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_py_cluster import ClusterTestCase  # noqa: E402


class RedisPyFamiliesTest(ClusterTestCase):
    def server_of(self, key):
        """Index of the backend that holds `key` (set through the proxy first)."""
        self.r.set(key, "probe")
        owners = [i for i, b in enumerate(self.backends) if b.exists(key)]
        self.r.delete(key)
        self.assertEqual(len(owners), 1)
        return owners[0]

    def keys_on(self, server, n, prefix):
        keys, i = [], 0
        while len(keys) < n:
            key = f"{prefix}{i}"
            if self.server_of(key) == server:
                keys.append(key)
            i += 1
        return keys

    def test_pipeline_transaction(self):
        a, b = self.keys_on(0, 2, "py:tx")
        p = self.r.pipeline(transaction=True)
        p.set(a, 1).incr(a).lpush(b, "x", "y").lrange(b, 0, -1)
        self.assertEqual(p.execute(), [True, 2, 2, [b"y", b"x"]])

    def test_transaction_across_servers_is_refused(self):
        a = self.keys_on(0, 1, "py:x0")[0]
        b = self.keys_on(1, 1, "py:x1")[0]
        p = self.r.pipeline(transaction=True)
        p.set(a, 1).set(b, 2)
        with self.assertRaises(redis.ResponseError) as ctx:
            p.execute()
        self.assertIn("CROSSSLOT", str(ctx.exception))
        self.assertIsNone(self.r.get(a))  # nothing ran
        self.assertTrue(self.r.ping())  # the connection is still usable

    def test_watch_conflict_raises_watch_error(self):
        key = self.keys_on(2, 1, "py:w")[0]
        self.r.set(key, 1)
        with self.r.pipeline() as p:
            p.watch(key)
            self.assertEqual(p.get(key), b"1")
            self.r.set(key, 5)  # another connection changes it
            p.multi()
            p.set(key, 2)
            with self.assertRaises(redis.WatchError):
                p.execute()
        self.assertEqual(self.r.get(key), b"5")

    def test_optimistic_increments_from_racing_threads(self):
        key = self.keys_on(1, 1, "py:race")[0]
        self.r.set(key, 0)
        per_thread = 60

        def increment(pipe):
            value = int(pipe.get(key))
            pipe.multi()
            pipe.set(key, value + 1)

        def worker():
            client = redis.Redis(host="127.0.0.1", port=self.cluster.port, socket_timeout=10)
            for _ in range(per_thread):
                client.transaction(increment, key)

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(int(self.r.get(key)), 3 * per_thread)

    def test_blocking_pop(self):
        key = "py:queue"
        self.assertIsNone(self.r.blpop(key, timeout=0.2))

        blocked = []

        def blocked_on_servers():
            return sum(b.info("clients")["blocked_clients"] for b in self.backends)

        def push():
            # Once the pop is blocked on a server (bounded wait), push; whether it was blocked
            # is checked below, so a pop that never blocked fails instead of passing.
            deadline = time.monotonic() + 5
            while blocked_on_servers() == 0 and time.monotonic() < deadline:
                time.sleep(0.01)  # polling interval
            blocked.append(blocked_on_servers())
            redis.Redis(host="127.0.0.1", port=self.cluster.port).rpush(key, "job")

        pusher = threading.Thread(target=push)
        pusher.start()
        self.assertEqual(self.r.blpop(key, timeout=5), (key.encode(), b"job"))
        pusher.join()
        self.assertEqual(blocked, [1], "the pop was not blocked on a server before the push")

    def read_messages(self, p, n, bound=5.0):
        got, deadline = [], time.monotonic() + bound
        while len(got) < n and time.monotonic() < deadline:
            m = p.get_message(timeout=0.1)
            if m is not None:
                got.append(m)
        return got

    def test_pubsub(self):
        p = self.r.pubsub()
        channels = [self.keys_on(i, 1, "py:ch")[0] for i in range(3)]
        p.subscribe(*channels)
        p.psubscribe("py:pat.*")
        confirmations = self.read_messages(p, 4)
        self.assertEqual([m["type"] for m in confirmations], ["subscribe"] * 3 + ["psubscribe"])
        self.assertEqual([m["data"] for m in confirmations], [1, 2, 3, 4])
        for ch in channels:
            self.assertEqual(self.r.publish(ch, f"hello {ch}"), 1)
        # A pattern subscriber hears every server (published straight to each backend too).
        for i, b in enumerate(self.backends):
            self.assertEqual(b.publish(f"py:pat.{i}", "direct"), 1)
        messages = self.read_messages(p, 6)
        self.assertEqual(sorted((m["type"], m["channel"], m["data"]) for m in messages),
                         sorted([("message", ch.encode(), f"hello {ch}".encode())
                                 for ch in channels] +
                                [("pmessage", f"py:pat.{i}".encode(), b"direct")
                                 for i in range(3)]))
        p.unsubscribe(channels[0])
        p.punsubscribe()
        left = self.read_messages(p, 2)
        self.assertEqual([(m["type"], m["data"]) for m in left],
                         [("unsubscribe", 3), ("punsubscribe", 2)])
        self.assertEqual(self.r.publish(channels[0], "gone"), 0)
        self.assertEqual(self.r.pubsub_numsub(channels[1]), [(channels[1].encode(), 1)])
        p.close()
        deadline = time.monotonic() + 5
        while self.r.pubsub_numsub(channels[1])[0][1] != 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling interval of a bounded wait for the close to reach redis
        self.assertEqual(self.r.pubsub_numsub(channels[1]), [(channels[1].encode(), 0)])

    def test_pubsub_thread_and_ping(self):
        received = []
        event = threading.Event()

        def handler(message):
            received.append(message["data"])
            event.set()

        p = self.r.pubsub()
        p.subscribe(**{"py:thread": handler})
        worker = p.run_in_thread(sleep_time=0.05)
        try:
            deadline = time.monotonic() + 5
            while self.r.publish("py:thread", "hi") == 0 and time.monotonic() < deadline:
                time.sleep(0.01)  # until the subscription is confirmed
            self.assertTrue(event.wait(5))
            self.assertEqual(received[0], b"hi")
            p.ping()  # PING in subscribed mode
        finally:
            worker.stop()
            worker.join(5)
            p.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
