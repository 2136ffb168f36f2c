#!/usr/bin/python3
"""redis-py (Debian's python3-redis) on the places where ringleader must behave as the nutcracker
it replaces, or refuse: a pool's redis_auth is the password every client must AUTH with (the same
requests go to nutcracker 0.5.0 over the same servers, and get the same kind of reply), and SORT
with BY/GET patterns gives Redis's answer when a hash tag keeps the pattern's keys on the sorted
key's server, or an error, never an answer read from one server's part of the data."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import PORT_TRIES, Cluster, free_port, resp  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")
PASSWORD = "s3cret"


def read_reply(f):
    """One RESP reply from file `f` as bytes (nested arrays included)."""
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    if line[:1] == b"$":
        n = int(line[1:])
        return line if n < 0 else line + f.read(n + 2)
    if line[:1] == b"*":
        n = int(line[1:])
        return line + b"".join(read_reply(f) for _ in range(max(n, 0)))
    return line


def replies(port, requests):
    """Sends every request in one write (a pipeline) and reads one reply for each."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"".join(resp(*r) for r in requests))
        f = s.makefile("rb")
        return [read_reply(f) for _ in requests]


class RedisAuthTest(unittest.TestCase):
    """redis_auth without client_auth: nutcracker 0.5.0 makes clients AUTH with it first."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(BINARY, servers=2, pool_extra=f"  redis_auth: {PASSWORD}\n",
                              redis_args=["--requirepass", PASSWORD]).__enter__()
        # nutcracker over the same two servers, for the side-by-side cases; on a new port when
        # the chosen one turns out taken (nutcracker then exits).
        cls.nc_dir = tempfile.mkdtemp(prefix="ringleader-nc-")
        servers = "".join(f"    - 127.0.0.1:{p}:1 r{i + 1}\n"
                          for i, p in enumerate(cls.cluster.backend_ports))
        conf = os.path.join(cls.nc_dir, "nc.yml")
        cls.nc = None
        for _ in range(PORT_TRIES):
            if cls.nc is not None:
                cls.stop_nutcracker()
            cls.nc_port = free_port()
            with open(conf, "w") as f:
                f.write(f"pool:\n  listen: 127.0.0.1:{cls.nc_port}\n  hash: murmur\n"
                        f"  distribution: ketama\n  redis: true\n  redis_auth: {PASSWORD}\n"
                        f"  servers:\n{servers}")
            cls.nc = subprocess.Popen(["nutcracker", "-c", conf, "-s", str(free_port()),
                                       "-a", "127.0.0.1", "-o",
                                       os.path.join(cls.nc_dir, "nc.log")],
                                      stdin=subprocess.DEVNULL)
            if cls.nutcracker_answers():
                return
        cls.tearDownClass()
        raise RuntimeError("nutcracker did not listen")

    @classmethod
    def nutcracker_answers(cls, bound=10.0):
        """True once nutcracker (still running) answers a PING on nc_port, with -NOAUTH as a
        pool with redis_auth does; nutcracker speaks no inline INFO, so cluster.py's check of
        the pid does not apply."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline and cls.nc.poll() is None:
            try:
                if replies(cls.nc_port, [("PING",)])[0].startswith(b"-NOAUTH"):
                    return cls.nc.poll() is None
            except (OSError, EOFError):
                pass
            time.sleep(0.01)  # polling interval of a bounded wait for listen()
        return False

    @classmethod
    def stop_nutcracker(cls):
        if cls.nc.poll() is None:
            cls.nc.terminate()
            cls.nc.wait(timeout=10)

    @classmethod
    def tearDownClass(cls):
        if cls.nc is not None:
            cls.stop_nutcracker()
        shutil.rmtree(cls.nc_dir, ignore_errors=True)
        cls.cluster.__exit__(None, None, None)

    def client(self, **kw):
        return redis.Redis(host="127.0.0.1", port=self.cluster.port, socket_timeout=10, **kw)

    def test_a_client_without_the_password_is_refused(self):
        with self.assertRaises(redis.exceptions.AuthenticationError) as ctx:
            self.client().set("auth:k", "v")
        self.assertIn("Authentication required", str(ctx.exception))
        with self.assertRaises(redis.exceptions.AuthenticationError):
            self.client().ping()

    def test_a_wrong_password_is_refused(self):
        # WRONGPASS, as from Redis 7 (redis-py raises it as a ResponseError).
        with self.assertRaises(redis.ResponseError) as ctx:
            self.client(password="wrong").get("auth:k")
        self.assertIn("WRONGPASS", str(ctx.exception))

    def test_the_redis_auth_password_lets_the_client_in(self):
        r = self.client(password=PASSWORD)
        self.assertTrue(r.set("auth:k", "v"))
        self.assertEqual(r.get("auth:k"), b"v")
        self.assertTrue(r.ping())

    def test_same_reply_kinds_as_nutcracker(self):
        # After a wrong AUTH, nutcracker logs the connection out again: the GET that follows is
        # refused there, and must be here too.
        requests = [("GET", "auth:n"), ("AUTH", "wrong"), ("AUTH", PASSWORD),
                    ("SET", "auth:n", "1"), ("GET", "auth:n"), ("AUTH", "wrong"),
                    ("GET", "auth:n"), ("AUTH", PASSWORD), ("GET", "auth:n")]
        ours = replies(self.cluster.port, requests)
        theirs = replies(self.nc_port, requests)
        kinds = {0: b"-NOAUTH", 1: b"-", 2: b"+OK", 3: b"+OK", 4: b"$1\r\n1\r\n",
                 5: b"-", 6: b"-NOAUTH", 7: b"+OK", 8: b"$1\r\n1\r\n"}
        for i, prefix in kinds.items():
            self.assertTrue(theirs[i].startswith(prefix), (i, requests[i], theirs[i]))
            self.assertTrue(ours[i].startswith(prefix), (i, requests[i], ours[i]))


class SortPatternTest(unittest.TestCase):
    """The issue's case: SORT a BY w_* is 2 3 1 in Redis; 1 2 3 is a partial view."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(BINARY, servers=3, pool_extra='  hash_tag: "{}"\n').__enter__()
        cls.r = redis.Redis(host="127.0.0.1", port=cls.cluster.port, socket_timeout=10)
        cls.backends = [redis.Redis(host="127.0.0.1", port=p, socket_timeout=10)
                        for p in cls.cluster.backend_ports]

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def owner(self, key):
        held = [i for i, b in enumerate(self.backends) if b.exists(key)]
        self.assertEqual(len(held), 1, key)
        return held[0]

    def test_patterns_reaching_other_servers_are_refused(self):
        self.r.rpush("sort:a", 1, 2, 3)
        for element, weight in ((1, 30), (2, 10), (3, 20)):
            self.r.set(f"sort:w_{element}", weight)
        home = self.owner("sort:a")
        self.assertTrue(any(self.owner(f"sort:w_{e}") != home for e in (1, 2, 3)),
                        "the case needs a weight on another server than the list")
        for kw in ({"by": "sort:w_*"}, {"get": "sort:w_*"}, {"by": "nosort", "get": ["#", "x_*"]}):
            with self.assertRaises(redis.ResponseError) as ctx:
                self.r.sort("sort:a", **kw)
            self.assertIn("CROSSSLOT", str(ctx.exception))
        # Patterns that name no key need nothing from another server.
        self.assertEqual(self.r.sort("sort:a", desc=True), [b"3", b"2", b"1"])

    def test_a_hash_tag_before_the_star_gives_redis_answer(self):
        self.r.rpush("{s}a", 1, 2, 3)
        for element, weight, name in ((1, 30, "one"), (2, 10, "two"), (3, 20, "three")):
            self.r.set(f"{{s}}w_{element}", weight)
            self.r.hset(f"{{s}}h_{element}", "name", name)
        self.assertEqual(self.r.sort("{s}a", by="{s}w_*"), [b"2", b"3", b"1"])
        self.assertEqual(self.r.sort("{s}a", by="{s}w_*", get=["#", "{s}h_*->name"]),
                         [b"2", b"two", b"3", b"three", b"1", b"one"])
        self.assertEqual(self.r.sort("{s}a", by="{s}w_*", store="{s}sorted"), 3)
        self.assertEqual(self.r.lrange("{s}sorted", 0, -1), [b"2", b"3", b"1"])
        home = self.backends[self.owner("{s}a")]
        self.assertEqual(home.sort("{s}a", by="{s}w_*"), [b"2", b"3", b"1"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
