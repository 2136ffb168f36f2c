#!/usr/bin/python3
"""nutcracker's stats port (-s/-a/-i), served by ringleader: the same JSON structure and field
names as the real nutcracker 0.5.0 serves on the same configuration (compared key by key, so
that twemproxy exporters and dashboards keep working), and counters that follow the traffic:
requests and bytes per server, fragments of split commands, open client connections, client
EOFs, and a dead server's errors and forward errors."""
import json
import hashlib
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, free_port, resp  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")
INTERVAL_MS = 100


def read_reply(sock):
    """One short reply (status, integer, error, or a bulk/array small enough for one read)."""
    sock.settimeout(10)
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def stats(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def wait_for(condition, bound=10.0):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)  # polling interval of a bounded wait (the document is rebuilt every 100 ms)
    return condition()


class StatsPortTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(BINARY, servers=3)
        c = cls.cluster.__enter__()
        p = c.backend_ports
        cls.conf = os.path.join(c.dir, "stats.yml")

        def yaml(alpha, beta):
            return (f"alpha:\n  listen: 127.0.0.1:{alpha}\n  redis: true\n  hash: fnv1a_64\n"
                    f"  distribution: ketama\n  servers:\n    - 127.0.0.1:{p[0]}:1 s1\n"
                    f"    - 127.0.0.1:{p[1]}:1\n"
                    f"beta:\n  listen: 127.0.0.1:{beta}\n  redis: true\n  servers:\n"
                    f"    - 127.0.0.1:{p[2]}:1 b1\n")

        def start(binary, name):
            stats_port = free_port()

            def argv(port):
                path = os.path.join(c.dir, f"{name}.yml")
                with open(path, "w") as f:
                    f.write(yaml(port, free_port()))
                return [binary, "-c", path, "-s", str(stats_port), "-a", "127.0.0.1",
                        "-i", str(INTERVAL_MS), "-o", os.path.join(c.dir, f"{name}.log")]
            proc, port = c._spawn(argv, os.path.join(c.dir, f"{name}.out"))
            return proc, port, stats_port

        def start_nutcracker():
            # nutcracker answers no INFO (cluster.py's readiness check): it is ready once its
            # own stats port answers; on new ports when a chosen one turns out taken.
            for _ in range(5):
                stats_port = free_port()
                path = os.path.join(c.dir, "nutcracker.yml")
                with open(path, "w") as f:
                    f.write(yaml(free_port(), free_port()))
                proc = subprocess.Popen(
                    ["nutcracker", "-c", path, "-s", str(stats_port), "-a", "127.0.0.1",
                     "-i", str(INTERVAL_MS), "-o", os.path.join(c.dir, "nutcracker.log")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                c.procs.append(proc)
                if wait_for(lambda: proc.poll() is None and _answers(stats_port)):
                    return proc, stats_port
                Cluster._stop(proc)
            raise RuntimeError("nutcracker's stats port did not answer")

        cls.rl, cls.rl_port, cls.rl_stats = start(BINARY, "ringleader")
        cls.nc, cls.nc_stats = start_nutcracker()
        if not wait_for(lambda: _answers(cls.rl_stats)):
            raise RuntimeError("ringleader's stats port did not answer")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def test_1_same_fields_as_nutcracker(self):
        ours, theirs = stats(self.rl_stats), stats(self.nc_stats)
        self.assertEqual(set(ours), set(theirs))
        for pool in ("alpha", "beta"):
            self.assertIsInstance(ours[pool], dict)
            self.assertEqual(set(ours[pool]), set(theirs[pool]), pool)
            servers = [k for k, v in theirs[pool].items() if isinstance(v, dict)]
            self.assertTrue(servers)
            for server in servers:
                self.assertEqual(set(ours[pool][server]), set(theirs[pool][server]),
                                 f"{pool} {server}")
        for key in ("uptime", "timestamp", "total_connections", "curr_connections"):
            self.assertIsInstance(ours[key], int, key)
        self.assertEqual(ours["service"], "ringleader")

    def test_2_counters_follow_the_traffic(self):
        before = stats(self.rl_stats)["alpha"]
        # Ten keys on each of alpha's servers (the ring depends on the unnamed server's port):
        # the SETs reach both and the MGET is split in two. Hex digests, not k0..k199:
        # twemproxy's fnv1a_64 (32-bit state, truncated prime) can put every look-alike key on
        # one server.
        candidates = [hashlib.sha1(str(i).encode()).hexdigest()[:12] for i in range(200)]
        where = subprocess.run(
            [BINARY, "-c", os.path.join(self.cluster.dir, "ringleader.yml"), "--where"]
            + candidates, capture_output=True, text=True, check=True)
        by_server = {}
        for line in where.stdout.splitlines():
            key, pool, server, _ = line.split("\t")
            if pool == "alpha":
                by_server.setdefault(server, []).append(key)
        self.assertEqual(len(by_server), 2, where.stdout)
        keys = [k for ks in by_server.values() for k in ks[:10]]
        with socket.create_connection(("127.0.0.1", self.rl_port)) as s:
            for key in keys:
                s.sendall(resp("SET", key, "v"))
                self.assertEqual(read_reply(s), b"+OK\r\n")
            s.sendall(resp("MGET", *keys))
            reply = b""
            s.settimeout(10)
            while reply.count(b"$1\r\nv\r\n") < 20:
                reply += s.recv(65536)

        def grown():
            a = stats(self.rl_stats)["alpha"]
            servers = [v for v in a.values() if isinstance(v, dict)]
            done = sum(v["responses"] for v in servers) - sum(
                v["responses"] for v in before.values() if isinstance(v, dict))
            return a if done >= 21 and a["fragments"] - before["fragments"] >= 2 else None
        after = wait_for(grown)
        self.assertTrue(after, "requests, responses and fragments did not grow: before "
                        f"{before}, now {stats(self.rl_stats)['alpha']}")
        servers = {k: v for k, v in after.items() if isinstance(v, dict)}
        self.assertEqual(set(servers), {"s1", f"127.0.0.1:{self.cluster.backend_ports[1]}"})
        for name, v in servers.items():
            self.assertGreater(v["requests"], 0, name)  # 20 keys and a split MGET reach both
            self.assertGreater(v["request_bytes"], v["requests"], name)
            self.assertGreaterEqual(v["response_bytes"], 5 * v["responses"], name)
            self.assertEqual(v["server_connections"], 1, name)
            self.assertEqual(v["in_queue"] + v["out_queue"], 0, name)

    def test_3_client_connections_and_eof(self):
        base = stats(self.rl_stats)["alpha"]["client_eof"]
        socks = [socket.create_connection(("127.0.0.1", self.rl_port)) for _ in range(3)]
        for s in socks:
            s.sendall(b"PING\r\n")
            self.assertEqual(read_reply(s), b"+PONG\r\n")
        self.assertTrue(wait_for(lambda: stats(self.rl_stats)["alpha"]["client_connections"] == 3))
        for s in socks:
            s.close()
        self.assertTrue(wait_for(
            lambda: (lambda a: a["client_connections"] == 0 and a["client_eof"] >= base + 3)(
                stats(self.rl_stats)["alpha"])))

    def test_4_a_dead_server_counts_errors(self):
        dead_port = self.cluster.backend_ports[1]
        for proc in self.cluster.procs:
            if f"--port {dead_port} " in " ".join(proc.args) + " ":
                Cluster._stop(proc)
        name = f"127.0.0.1:{dead_port}"
        with socket.create_connection(("127.0.0.1", self.rl_port)) as s:
            errors = 0
            # Hex digests spread over both servers (k0..k19 may all sit on the live one).
            for i in range(40):
                s.sendall(resp("GET", hashlib.sha1(str(i).encode()).hexdigest()[:12]))
                errors += read_reply(s).startswith(b"-")
        self.assertGreater(errors, 0)

        def counted():
            a = stats(self.rl_stats)["alpha"]
            v = a[name]
            return a["forward_error"] >= errors and v["server_eof"] + v["server_err"] >= 1 and \
                v["server_connections"] == 0
        self.assertTrue(wait_for(counted), stats(self.rl_stats)["alpha"])


def _answers(port):
    try:
        stats(port)
        return True
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
