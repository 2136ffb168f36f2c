#!/usr/bin/python3
"""redis-py (Debian's python3-redis) against a real ringleader in front of three redis-servers:
connect, pipelines, cross-server MGET/MSET, errors raised as exceptions, no desync afterwards,
scan_iter over every server, and Script objects whose keys land on every server."""
import os
import sys
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_py_cluster import ClusterTestCase  # noqa: E402


class RedisPyTest(ClusterTestCase):
    def test_ping_and_set_get(self):
        self.assertTrue(self.r.ping())
        self.assertTrue(self.r.set("py:a", b"\x00\xffbinary"))
        self.assertEqual(self.r.get("py:a"), b"\x00\xffbinary")
        self.assertIsNone(self.r.get("py:missing"))

    def test_mset_mget_across_servers_keep_order(self):
        keys = [f"py:k{i}" for i in range(200)]
        self.r.mset({k: k.upper() for k in keys})
        owners = set()
        for i, b in enumerate(self.backends):
            if any(b.exists(k) for k in keys):
                owners.add(i)
        self.assertEqual(len(owners), 3, "200 keys should spread over all three servers")
        got = self.r.mget(keys + ["py:nope"])
        self.assertEqual(got, [k.upper().encode() for k in keys] + [None])
        self.assertEqual(self.r.delete(*keys[:50]), 50)
        self.assertEqual(self.r.exists(*keys), 150)

    def test_pipeline(self):
        p = self.r.pipeline(transaction=False)
        for i in range(1000):
            p.set(f"py:p{i}", i)
        for i in range(1000):
            p.incr(f"py:p{i}")
        results = p.execute()
        self.assertEqual(results[:1000], [True] * 1000)
        self.assertEqual(results[1000:], list(range(1, 1001)))

    def test_errors_are_exceptions_and_no_desync(self):
        with self.assertRaises(redis.ResponseError) as ctx:
            self.r.execute_command("NOSUCHCOMMAND", "x")
        self.assertIn("unknown command", str(ctx.exception))
        self.r.set("py:str", "v")
        with self.assertRaises(redis.ResponseError) as ctx:
            self.r.lpush("py:str", "x")
        self.assertIn("WRONGTYPE", str(ctx.exception))
        with self.assertRaises(redis.ResponseError):
            self.r.execute_command("GET")
        # A pipeline with an error in the middle: the others still succeed, in order.
        p = self.r.pipeline(transaction=False)
        p.set("py:e1", 1)
        p.lpush("py:str", "x")
        p.get("py:e1")
        res = p.execute(raise_on_error=False)
        self.assertTrue(res[0])
        self.assertIsInstance(res[1], redis.ResponseError)
        self.assertEqual(res[2], b"1")
        self.assertEqual(self.r.get("py:str"), b"v")

    def test_info_and_client_name(self):
        info = self.r.info()
        self.assertIn("redis_version", info)
        self.r.client_setname("pytest")
        self.assertEqual(self.r.client_getname(), "pytest")

    def test_scan_iter_returns_each_key_once(self):
        keys = {f"py:scan:{i}".encode() for i in range(3000)}
        p = self.r.pipeline(transaction=False)
        for k in keys:
            p.set(k, 1)
        for i in range(50):
            p.hset(f"py:scanh:{i}", "f", "v")
        p.execute()
        for count in (None, 10, 1000):
            got = list(self.r.scan_iter(match="py:scan:*", count=count))
            self.assertEqual(len(got), len(keys), f"count={count}")
            self.assertEqual(set(got), keys)
        hashes = list(self.r.scan_iter(match="py:scan*", _type="HASH"))
        self.assertEqual(sorted(hashes), sorted(f"py:scanh:{i}".encode() for i in range(50)))
        self.assertEqual(set(self.r.keys("py:scan:*")), keys)
        with self.assertRaises(redis.ResponseError) as ctx:
            self.r.scan(cursor=3)  # a server index past the pool's three
        self.assertIn("invalid cursor", str(ctx.exception))

    def test_register_script_on_every_server(self):
        # redis-py's Script runs EVALSHA and, on NOSCRIPT, SCRIPT LOAD then EVALSHA again.
        self.r.script_flush()
        incr = self.r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        keys = [f"py:script:{i}" for i in range(60)]
        for k in keys:
            self.assertEqual(incr(keys=[k], args=[5]), 5)
        self.assertEqual(self.r.script_exists(incr.sha), [True])
        for b in self.backends:
            self.assertEqual(b.script_exists(incr.sha), [True])
        self.assertEqual(self.r.eval("return #KEYS + #ARGV", 0, "a", "b"), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
