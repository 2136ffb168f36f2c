#!/usr/bin/python3
"""redis-cli and redis-benchmark against a real ringleader in front of three redis-servers:
one-shot commands, the interactive mode (driven through a pseudo-terminal, as a person types),
and redis-benchmark's default suite with no errors."""
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")


class Terminal:
    """redis-cli on a pty; expect() waits, with a bound, for a pattern in what it printed."""

    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm"
            os.execvp(argv[0], argv)
        # A 24x80 window, as a terminal emulator would set.
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.out = b""

    def send(self, line):
        os.write(self.fd, line.encode() + b"\r")

    def expect(self, pattern, bound=10.0):
        deadline = time.monotonic() + bound
        rx = re.compile(pattern.encode())
        while True:
            m = rx.search(self.out)
            if m:
                self.out = self.out[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; got {self.out!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.out += os.read(self.fd, 65536)
                except OSError:
                    raise AssertionError(f"redis-cli exited; output {self.out!r}")
                # redis-cli's line editor asks where the cursor is; answer as a terminal does.
                while b"\x1b[6n" in self.out:
                    self.out = self.out.replace(b"\x1b[6n", b"", 1)
                    os.write(self.fd, b"\x1b[1;1R")

    def close(self):
        try:
            os.kill(self.pid, 15)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


class RedisCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(BINARY).__enter__()
        cls.port = str(cls.cluster.port)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", self.port, *args], capture_output=True,
                              text=True, timeout=30)

    def test_one_shot(self):
        self.assertEqual(self.cli("PING").stdout.strip(), "PONG")
        self.assertEqual(self.cli("SET", "cli:a", "1").stdout.strip(), "OK")
        self.assertEqual(self.cli("INCRBY", "cli:a", "41").stdout.strip(), "42")
        self.assertEqual(self.cli("MSET", "cli:x", "1", "cli:y", "2", "cli:z", "3").stdout.strip(),
                         "OK")
        self.assertEqual(self.cli("MGET", "cli:x", "cli:y", "cli:z", "cli:none").stdout.split("\n"),
                         ["1", "2", "3", "", ""])
        self.assertIn("unknown command", self.cli("NOSUCHCOMMAND").stdout)

    def test_interactive(self):
        prompt = r"127\.0\.0\.1:\d+> "
        term = Terminal(["redis-cli", "-p", self.port])
        try:
            term.expect(prompt)
            # Type a line only once the prompt is back, as a person does: type-ahead would be
            # read by the line editor as the terminal's answer to its cursor query.
            for line, reply in [("set cli:i hello", r"\r\nOK\r\n"),
                                ("get cli:i", r'\r\n"hello"\r\n'),
                                ("mget cli:i cli:none", r'1\) "hello"\r\n2\) \(nil\)\r\n'),
                                ("nosuchcommand", r"ERR unknown command"),
                                ("ping", r"\r\nPONG\r\n")]:
                term.send(line)
                term.expect(reply)
                term.expect(prompt)
        finally:
            term.close()

    def test_benchmark_default_suite(self):
        run = subprocess.run(["redis-benchmark", "-p", self.port, "-q", "-n", "2000", "-c", "20"],
                             capture_output=True, text=True, timeout=300)
        out = run.stdout + run.stderr
        self.assertEqual(run.returncode, 0, out)
        results = re.findall(r"^(\S[^:\n]*): ([\d.]+) requests per second", out, re.M)
        names = [n.strip() for n, _ in results]
        for expected in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH",
                         "LPOP", "RPOP", "SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN",
                         "LRANGE_100 (first 100 elements)", "LRANGE_600 (first 600 elements)",
                         "MSET (10 keys)"]:
            self.assertIn(expected, names, out)
        self.assertNotRegex(out, r"(?m)^(ERR|Error|WRONGTYPE)|-ERR", out)
        # redis-benchmark warns when CONFIG GET save/appendonly go unanswered.
        self.assertNotIn("WARNING", out)
        self.assertTrue(all(float(rps) > 0 for _, rps in results), out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
