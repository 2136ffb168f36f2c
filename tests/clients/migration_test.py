#!/usr/bin/python3
"""Online key migration end to end: one standalone ringleader in front of 3 real redis-servers
holding ~20k keys (strings, hashes, strings with TTLs), writer, reader and deleter threads going
through ringleader and recording every acknowledged operation, then RINGLEADER RELOAD adding a
4th server. Once INFO ringleader shows the pool stable at epoch 2: every acknowledged write reads
back its last value, deleted keys are absent, TTLs are kept, every key lives on exactly one server,
its owner on the new ring (`ringleader --where`), and no engine key is left. Then MIGRATION
PAUSE/RESUME/STATUS, and ABORT part-way (back to the old ring as epoch 3, the same checks)."""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import free_port, resp, wait_for_port  # noqa: E402
from reload_test import Conn, read_reply, wait  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")
SEED = int(os.environ.get("RL_TEST_SEED") or random.SystemRandom().randrange(2**32))
TTL_MS = 600000
N_STATIC = 12000   # s:* strings and sh:* hashes, never written: the reader checks them
N_WRITTEN = 3000   # w:* strings and wh:* hashes, rewritten by the writer
N_DELETED = 3000   # d:* strings, deleted one by one by the deleter
N_TTL = 2000       # t:* strings with a TTL


def pipeline(conn, commands, batch=500):
    out = []
    for i in range(0, len(commands), batch):
        chunk = commands[i:i + batch]
        conn.sock.sendall(b"".join(resp(*c) for c in chunk))
        out.extend(read_reply(conn.f) for _ in chunk)
    return out


class Workload:
    """Threads through ringleader, each over keys of its own, recording what was acknowledged.
    A command answered with an error may or may not have run: its value is kept as possible."""

    def __init__(self, port, rng):
        self.port = port
        self.rng = rng
        self.stop = threading.Event()
        self.errors = []           # (thread, command, reply) of error replies
        self.last = {}             # key -> last acknowledged value (bytes)
        self.possible = {}         # key -> values of writes that failed (may have run)
        self.deleted = set()       # keys whose DEL was acknowledged
        self.maybe_deleted = set()
        self.mismatches = []       # reader: (key, expected, got)
        self.ops = {"write": 0, "read": 0, "delete": 0}
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self.writer, self.reader, self.deleter)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def writer(self):
        c = Conn(self.port, timeout=30)
        rng = random.Random(self.rng.random())
        n = 0
        while not self.stop.is_set():
            n += 1
            i = rng.randrange(N_WRITTEN)
            if i % 4 == 0:
                key, value = f"wh:{i}", f"wh{i}:{n}".encode()
                reply = c.call("HSET", key, "f", value)
                ok = isinstance(reply, int)
            else:
                key, value = f"w:{i}", f"w{i}:{n}".encode()
                reply = c.call("SET", key, value)
                ok = reply == "OK"
            if ok:
                self.last[key] = value
                self.possible.pop(key, None)
            else:
                self.errors.append(("writer", key, reply))
                self.possible.setdefault(key, set()).add(value)
            self.ops["write"] += 1
        c.close()

    def reader(self):
        c = Conn(self.port, timeout=30)
        rng = random.Random(self.rng.random())
        while not self.stop.is_set():
            i = rng.randrange(N_STATIC)
            if i % 5 == 0:
                key, expected, reply = f"sh:{i}", f"sh{i}".encode(), c.call("HGET", f"sh:{i}", "f")
            else:
                key, expected, reply = f"s:{i}", f"s{i}".encode(), c.call("GET", f"s:{i}")
            if isinstance(reply, RuntimeError):
                self.errors.append(("reader", key, reply))
            elif reply != expected:
                self.mismatches.append((key, expected, reply))
            self.ops["read"] += 1
        c.close()

    def deleter(self):
        c = Conn(self.port, timeout=30)
        for i in range(N_DELETED):
            if self.stop.is_set():
                break
            key = f"d:{i}"
            reply = c.call("DEL", key)
            if reply == 1:
                self.deleted.add(key)
            else:
                self.errors.append(("deleter", key, reply))
                self.maybe_deleted.add(key)
            self.ops["delete"] += 1
        c.close()


class MigrationTest(unittest.TestCase):
    def setUp(self):
        print(f"RL_TEST_SEED={SEED}", flush=True)
        self.rng = random.Random(SEED)
        self.dir = tempfile.mkdtemp(prefix="ringleader-migration-")
        self.redis = {}
        self.ports = [self.start_redis() for _ in range(3)]
        self.port = free_port()
        self.conf = os.path.join(self.dir, "ringleader.yml")
        self.log = os.path.join(self.dir, "ringleader.log")
        self.proc = None

    def tearDown(self):
        if getattr(self, "c", None) is not None:
            self.c.close()
        if self.proc is not None and self.proc.poll() is None:
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

    def write_conf(self, ports, path=None, keys_per_second=0):
        servers = "".join(f"    - 127.0.0.1:{p}:1 r{i + 1}\n" for i, p in enumerate(ports))
        with open(path or self.conf, "w") as f:
            f.write(f"main:\n  listen: 127.0.0.1:{self.port}\n  hash: fnv1a_64\n"
                    f"  distribution: ketama\n  redis: true\n  timeout: 5000\n"
                    f"  admin_commands: true\n  servers:\n{servers}"
                    f"ringleader:\n  migration_keys_per_second: {keys_per_second}\n")

    def start_proxy(self, keys_per_second=0):
        self.write_conf(self.ports, keys_per_second=keys_per_second)
        self.proc = subprocess.Popen([BINARY, "-c", self.conf, "-o", self.log, "-v", "6"],
                                     stdin=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc)
        self.c = Conn(self.port, timeout=30)

    def load(self):
        """The keys, through ringleader; returns {key: expected TTL deadline (monotonic s)}."""
        cmds = [("SET", f"s:{i}", f"s{i}") if i % 5 else ("HSET", f"sh:{i}", "f", f"sh{i}")
                for i in range(N_STATIC)]
        cmds += [("SET", f"w:{i}", f"w{i}:0") if i % 4 else ("HSET", f"wh:{i}", "f", f"wh{i}:0")
                 for i in range(N_WRITTEN)]
        cmds += [("SET", f"d:{i}", "x") for i in range(N_DELETED)]
        for reply in pipeline(self.c, cmds):
            self.assertNotIsInstance(reply, RuntimeError)
        start = time.monotonic()
        for reply in pipeline(self.c, [("SET", f"t:{i}", "t", "PX", str(TTL_MS))
                                       for i in range(N_TTL)]):
            self.assertEqual(reply, "OK")
        self.ttl_set_at = start
        self.initial = {f"w:{i}": f"w{i}:0".encode() for i in range(N_WRITTEN) if i % 4}
        self.initial.update({f"wh:{i}": f"wh{i}:0".encode() for i in range(N_WRITTEN)
                             if i % 4 == 0})

    def info(self):
        text = self.c.call("INFO", "ringleader").decode()
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def wait_stable(self, epoch, bound=120):
        def stable():
            if self.info().get("rl_pool_main_migration") != "stable":
                return False
            return f"served epoch {epoch}" in self.c.call("RINGLEADER", "RELOAD", "DRYRUN").decode()
        wait(stable, f"pool main stable at epoch {epoch}", bound=bound)

    def owners(self, ports):
        """Every key's owner by `ringleader --where` over a file naming `ports`."""
        path = os.path.join(self.dir, "where.yml")
        self.write_conf(ports, path=path)
        keys = self.all_keys()
        out = subprocess.run([BINARY, "--where", "-c", path, "-"], input="\n".join(keys) + "\n",
                             capture_output=True, text=True, timeout=120, check=True)
        owner = {}
        for line in out.stdout.splitlines():
            key, _, _, address = line.split("\t")
            owner[key] = int(address.rsplit(":", 1)[1])
        return owner

    def keys_of(self, port):
        c = Conn(port, timeout=30)
        try:
            keys, cursor = [], b"0"
            while True:
                cursor, page = c.call("SCAN", cursor, "COUNT", "1000")
                keys.extend(k.decode() for k in page)
                if cursor == b"0":
                    return keys
        finally:
            c.close()

    def all_keys(self):
        keys = set()
        for port in self.redis:
            keys.update(self.keys_of(port))
        return sorted(keys)

    def check(self, w, ring_ports):
        self.assertEqual(w.mismatches, [], "stale or invented reads")
        errors = [e for e in w.errors if e[0] != "writer" or "TRYAGAIN" not in str(e[2])]
        self.assertEqual(errors, [], "error replies other than a writer's TRYAGAIN")
        where = {}  # key -> servers holding it
        for port in self.redis:
            for k in self.keys_of(port):
                where.setdefault(k, []).append(port)
        self.assertEqual([k for k in where if k.startswith("__rl_mig:")], [], "engine keys left")
        self.assertEqual({k: p for k, p in where.items() if len(p) > 1}, {},
                         "keys on more than one server")
        owner = self.owners(ring_ports)
        misplaced = {k: (p[0], owner[k]) for k, p in where.items() if owner[k] != p[0]}
        self.assertEqual(misplaced, {}, "keys not on their owner")
        loaded = set(self.initial) | {f"s:{i}" if i % 5 else f"sh:{i}" for i in range(N_STATIC)}
        loaded |= {f"d:{i}" for i in range(N_DELETED)} | {f"t:{i}" for i in range(N_TTL)}
        self.assertEqual(set(where) - loaded, set(), "keys nobody wrote")
        self.assertEqual(loaded - w.deleted - w.maybe_deleted - set(where), set(), "lost keys")
        self.assertEqual(w.deleted & set(where), set(), "deleted keys came back")
        # Every acknowledged write reads back its last value (or a later one that failed).
        c = self.c
        keys = sorted(set(self.initial) | set(w.last))
        cmds = [("HGET", k, "f") if k.startswith("wh:") else ("GET", k) for k in keys]
        for k, got in zip(keys, pipeline(c, cmds)):
            want = {w.last.get(k, self.initial.get(k))} | w.possible.get(k, set())
            self.assertIn(got, want, k)
        statics = [("HGET", f"sh:{i}", "f") if i % 5 == 0 else ("GET", f"s:{i}")
                   for i in range(N_STATIC)]
        for i, got in enumerate(pipeline(c, statics)):
            self.assertEqual(got, (f"sh{i}" if i % 5 == 0 else f"s{i}").encode())
        # TTLs kept: at most TTL_MS, at least TTL_MS less the time since they were set.
        elapsed_ms = (time.monotonic() - self.ttl_set_at) * 1000
        for i, pttl in enumerate(pipeline(c, [("PTTL", f"t:{i}") for i in range(N_TTL)])):
            self.assertLessEqual(pttl, TTL_MS, f"t:{i}")
            self.assertGreaterEqual(pttl, TTL_MS - elapsed_ms - 50, f"t:{i}")

    def test_add_a_server(self):
        self.start_proxy(keys_per_second=4000)  # a second or so, with the workload running
        self.load()
        w = Workload(self.port, self.rng)
        w.start()
        wait(lambda: all(n > 50 for n in w.ops.values()), "the workload running", bound=30)
        extra = self.start_redis()
        self.write_conf(self.ports + [extra], keys_per_second=4000)
        reply = self.c.call("RINGLEADER", "RELOAD")
        self.assertIn("migrating: pool 'main' from epoch 1 to epoch 2", reply.decode())
        status = self.c.call("RINGLEADER", "MIGRATION", "STATUS").decode()
        self.assertIn("pool: main", status)
        self.wait_stable(2)
        w.finish()
        info = self.info()
        self.assertGreater(int(info["rl_pool_main_keys_moved"]), 1000)
        self.assertGreaterEqual(int(info["rl_pool_main_keys_scanned"]),
                                int(info["rl_pool_main_keys_moved"]))
        self.assertGreater(int(info["rl_pool_main_bytes_moved"]), 0)
        self.assertGreater(int(info["rl_pool_main_started_at"]), 0)
        self.assertGreater(len(self.keys_of(extra)), 1000)
        self.check(w, self.ports + [extra])
        print(f"ops {w.ops}, errors {len(w.errors)}, moved {info['rl_pool_main_keys_moved']}",
              flush=True)

    def test_pause_resume_and_abort(self):
        self.start_proxy(keys_per_second=1500)  # slow enough to pause and abort part-way
        self.load()
        w = Workload(self.port, self.rng)
        w.start()
        extra = self.start_redis()
        self.write_conf(self.ports + [extra], keys_per_second=1500)
        self.assertIn("migrating:", self.c.call("RINGLEADER", "RELOAD").decode())
        wait(lambda: int(self.info().get("rl_pool_main_keys_moved", 0)) > 0, "keys moving")
        self.assertEqual(self.c.call("RINGLEADER", "MIGRATION", "PAUSE"),
                         "OK paused (between pages and batches)")
        self.assertIn("paused: yes", self.c.call("RINGLEADER", "MIGRATION", "STATUS").decode())
        self.assertEqual(self.info()["rl_pool_main_migration"], "migrating_paused")
        # Clients keep being served while the migrator is paused; what cannot be served safely
        # during a change is refused with an error saying why.
        wait(lambda: w.ops["write"] > 200, "writes while paused")
        old, new = self.owners(self.ports), self.owners(self.ports + [extra])
        moving = [k for k in old if k.startswith("s:") and old[k] != new[k]]
        self.assertTrue(moving)
        k1 = moving[0]
        k2 = next(k for k in old if k.startswith("s:") and old[k] != old[k1])
        self.assertEqual(self.c.call("GET", k1), k1.replace(":", "").encode())
        multi = self.c.call("MULTI")
        self.assertIsInstance(multi, RuntimeError)
        self.assertIn("TRYAGAIN MULTI/EXEC and blocking commands", str(multi))
        blocked = self.c.call("BLPOP", k1, "0.1")
        self.assertIsInstance(blocked, RuntimeError)
        self.assertIn("TRYAGAIN MULTI/EXEC and blocking commands", str(blocked))
        cross = self.c.call("MGET", k1, k2)
        self.assertIsInstance(cross, RuntimeError)
        self.assertIn("CROSSSLOT Keys in request are moving between servers", str(cross))
        self.assertEqual(self.c.call("RINGLEADER", "MIGRATION", "RESUME"), "OK resumed")
        self.assertIn("paused: no", self.c.call("RINGLEADER", "MIGRATION", "STATUS").decode())
        moved = int(self.info()["rl_pool_main_keys_moved"])
        wait(lambda: int(self.info()["rl_pool_main_keys_moved"]) > moved, "moving again")
        reply = self.c.call("RINGLEADER", "MIGRATION", "ABORT")
        self.assertEqual(reply, "OK aborting: pool 'main' returns to its servers of epoch 1 as "
                                "epoch 3")
        self.assertIn("(abort)", self.c.call("RINGLEADER", "MIGRATION", "STATUS").decode())
        self.wait_stable(3, bound=180)
        w.finish()
        self.assertEqual(self.keys_of(extra), [], "keys left on the server the abort removed")
        self.check(w, self.ports)


if __name__ == "__main__":
    unittest.main(verbosity=2)
