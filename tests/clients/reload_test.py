#!/usr/bin/python3
"""RINGLEADER RELOAD [DRYRUN] and `ringleader --reload` on one real ringleader process in front
of real redis-servers (no cluster section): the dry run's plan, an address change under the same
name (keys stay readable, new writes land on the new server), a timeout change that takes effect,
a key-moving change migrated online (every key readable after, on its new owner), an invalid file refused with file:line, the CLI's
exit status, and SIGHUP reopening the log as nutcracker does."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import free_port, read_reply, resp, wait_for_port  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")
PASSWORD = "reload-test-pw"


class Conn:
    def __init__(self, port, password=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        if password:
            assert self.call("AUTH", password) == "OK"

    def call(self, *argv):
        self.sock.sendall(resp(*argv))
        return read_reply(self.f)

    def close(self):
        self.f.close()
        self.sock.close()


def wait(pred, what, bound=10.0):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)  # polling interval of a bounded wait
    raise AssertionError(f"timed out after {bound}s waiting for: {what}")


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ringleader-reload-")
        self.redis = {}  # port -> Popen
        self.r = [self.start_redis() for _ in range(2)]
        self.port = free_port()
        self.conf = os.path.join(self.dir, "ringleader.yml")
        self.log = os.path.join(self.dir, "ringleader.log")
        self.timeout_ms = 2000
        self.write_conf(self.r)
        self.proc = subprocess.Popen([BINARY, "-c", self.conf, "-o", self.log, "-v", "6"],
                                     stdin=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc)
        self.c = Conn(self.port, PASSWORD)

    def tearDown(self):
        self.c.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        for p in self.redis.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        if not os.environ.get("RL_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def start_redis(self):
        port = free_port()
        p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", self.dir],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port, p)
        self.redis[port] = p
        return port

    def write_conf(self, ports, names=None, extra=""):
        names = names or [f"r{i + 1}" for i in range(len(ports))]
        servers = "".join(f"    - 127.0.0.1:{p}:1 {n}\n" for p, n in zip(ports, names))
        with open(self.conf, "w") as f:
            f.write(f"main:\n  listen: 127.0.0.1:{self.port}\n  hash: fnv1a_64\n"
                    f"  distribution: ketama\n  redis: true\n  timeout: {self.timeout_ms}\n"
                    f"  admin_commands: true\n  client_auth: {PASSWORD}\n{extra}"
                    f"  servers:\n{servers}")

    def reload(self, *extra):
        reply = self.c.call("RINGLEADER", "RELOAD", *extra)
        return reply.decode() if isinstance(reply, bytes) else reply

    def keys_on(self, port):
        c = Conn(port)
        try:
            return {k.decode() for k in c.call("KEYS", "*")}
        finally:
            c.close()

    def fill(self, n=300):
        for i in range(n):
            self.assertEqual(self.c.call("SET", f"key:{i:04x}{i * 7919:x}", f"v{i}"), "OK")
        return {f"key:{i:04x}{i * 7919:x}": f"v{i}".encode() for i in range(n)}

    def copy_keys(self, src, dst):
        """Every key of src onto dst (DUMP/RESTORE), as an operator would replicate a server."""
        a, b = Conn(src), Conn(dst)
        try:
            for k in self.keys_on(src):
                self.assertEqual(b.call("RESTORE", k, "0", a.call("DUMP", k), "REPLACE"), "OK")
        finally:
            a.close()
            b.close()

    # --- the tests ------------------------------------------------------------------------------
    def test_dry_run_of_an_unchanged_file(self):
        plan = self.reload("DRYRUN")
        self.assertIn(f"reload plan for {self.conf}", plan)
        self.assertIn("pool 'main' (served epoch 1):", plan)
        self.assertIn("unchanged", plan)
        self.assertIn("RELOAD has nothing to apply", plan)
        self.assertIn("RELOAD [DRYRUN]", str(self.c.call("RINGLEADER", "HELP")))

    def test_address_change_under_the_same_name_keeps_keys_readable(self):
        data = self.fill()
        on_r2 = self.keys_on(self.r[1])
        self.assertTrue(on_r2)
        new = self.start_redis()
        self.copy_keys(self.r[1], new)
        self.write_conf([self.r[0], new])
        plan = self.reload("DRYRUN")
        self.assertIn(f"server address of r2: 127.0.0.1:{self.r[1]} -> 127.0.0.1:{new} "
                      "(same name: no key moves)", plan)
        self.assertIn("keys moving: none", plan)
        self.assertIn("applied: pool 'main' now at epoch 2", self.reload())
        # The old server is gone: every key is read from r1 or r2's new address.
        old = self.redis.pop(self.r[1])
        old.kill()
        old.wait()
        for k, v in data.items():
            self.assertEqual(self.c.call("GET", k), v, k)
        # A new write of a key r2 owns lands on r2's new address.
        where = subprocess.run([BINARY, "-c", self.conf, "--where"]
                               + [os.urandom(8).hex() for _ in range(40)],
                               capture_output=True, text=True, check=True).stdout
        key = next(line.split("\t")[0] for line in where.splitlines()
                   if line.split("\t")[2] == "r2")
        self.assertEqual(self.c.call("SET", key, "x"), "OK")
        self.assertIn(key, self.keys_on(new))
        self.assertIn("served epoch 2", self.reload("DRYRUN"))

    def test_timeout_change_applies_at_once(self):
        self.fill(50)
        k = next(iter(self.keys_on(self.r[0])))

        def get_during_pause(ms):
            """GET of k while r1 serves no other client for ms milliseconds."""
            pauser = Conn(self.r[0])
            try:
                self.assertEqual(pauser.call("CLIENT", "PAUSE", str(ms), "ALL"), "OK")
                return self.c.call("GET", k)
            finally:
                pauser.call("CLIENT", "UNPAUSE")
                pauser.close()
        self.assertIsInstance(get_during_pause(400), bytes)  # 2000 ms timeout: waits it out
        self.timeout_ms = 100
        self.write_conf(self.r)
        plan = self.reload("DRYRUN")
        self.assertIn("setting timeout: 2000 ms -> 100 ms (applies at once)", plan)
        self.assertIn("applied: pool 'main' now at epoch 2", self.reload())
        reply = get_during_pause(1500)
        self.assertIsInstance(reply, RuntimeError)
        self.assertIn("time", str(reply).lower())

    def test_key_moving_change_migrates(self):
        values = self.fill()
        extra = self.start_redis()
        self.write_conf(self.r + [extra])
        plan = self.reload("DRYRUN")
        self.assertIn("server added r3", plan)
        m = re.search(r"keys moving: ([0-9.]+)% of the hash space", plan)
        self.assertIsNotNone(m, plan)
        self.assertRegex(plan, r"r1 -> r3: [0-9.]+%, about \d+ keys \(estimate: DBSIZE \d+ x")
        self.assertIn("RELOAD migrates the moving keys online", plan)
        reply = self.reload()
        self.assertIn(f"migrating: pool 'main' from epoch 1 to epoch 2 ({m.group(1)}%", reply)
        wait(lambda: "rl_pool_main_migration:stable" in self.c.call("INFO", "ringleader").decode(),
             "the migration to end", bound=60)
        self.assertIn("served epoch 2", self.reload("DRYRUN"))
        for k, v in values.items():
            self.assertEqual(self.c.call("GET", k), v, k)
        self.assertNotEqual(self.keys_on(extra), set())

    def test_invalid_file_is_refused_with_its_location(self):
        with open(self.conf, "a") as f:
            f.write("  no_such_key: 1\n")
        reply = self.reload("DRYRUN")
        self.assertIsInstance(reply, RuntimeError)
        self.assertRegex(str(reply), re.escape(self.conf) + r":\d+:\d+: ")
        self.assertIn("nothing changed", str(reply))
        # A server address that does not resolve is refused as at start.
        with open(self.conf) as f:
            good = f.read().replace("  no_such_key: 1\n", "")
        with open(self.conf, "w") as f:
            f.write(good.replace(f"127.0.0.1:{self.r[1]}:1 r2", "no-such-host.invalid:6379:1 r2"))
        reply = self.reload()
        self.assertIsInstance(reply, RuntimeError)
        self.assertIn("no-such-host.invalid", str(reply))
        self.assertIn("nothing changed", str(reply))
        self.assertIn("served epoch 1", self.reload("DRYRUN"))

    def test_reload_command_line(self):
        self.timeout_ms = 300
        self.write_conf(self.r)
        out = subprocess.run([BINARY, "--reload", "-c", self.conf], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("applied: pool 'main' now at epoch 2", out.stdout)
        self.write_conf(self.r + [self.start_redis()])
        out = subprocess.run([BINARY, "--reload", "-c", self.conf], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("migrating: pool 'main' from epoch 2 to epoch 3", out.stdout)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        out = subprocess.run([BINARY, "--reload", "-c", self.conf], capture_output=True,
                             text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("cannot reach pool 'main'", out.stderr)

    def test_sighup_reopens_the_log(self):
        moved = self.log + ".1"
        wait(lambda: os.path.exists(self.log), "the log file")
        os.rename(self.log, moved)
        self.proc.send_signal(signal.SIGHUP)
        def reopened():
            if not os.path.exists(self.log):
                return False
            with open(self.log) as f:
                return "log file reopened" in f.read()
        wait(reopened, "a new log file after SIGHUP")
        with open(moved) as old, open(self.log) as new:
            self.assertIn("signal 1 (SIGHUP) received, reopening log file",
                          old.read() + new.read())
        self.assertEqual(self.c.call("PING"), "PONG")


if __name__ == "__main__":
    unittest.main(verbosity=2)
