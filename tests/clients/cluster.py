#!/usr/bin/python3
"""Starts a local ringleader cluster for client tests: N redis-servers and one ringleader on free
loopback ports, all stopped by pid when done.

As a library:   with Cluster(binary, servers=3) as c: c.port, c.backend_ports
As a launcher:  cluster.py --binary build/proxy/ringleader -- CMD ARGS...
                runs CMD with RL_PORT, RL_HOST and RL_BACKEND_PORTS (comma-separated) set and
                exits with its status.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, bound=10.0):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.01)  # polling interval of a bounded wait for listen()
    return False


class Cluster:
    def __init__(self, binary, servers=3, pool_extra="", redis_args=()):
        self.binary = binary
        self.nservers = servers
        self.pool_extra = pool_extra
        self.redis_args = list(redis_args)  # e.g. ["--requirepass", "pw"], for every server
        self.procs = []
        self.dir = None

    def _spawn(self, argv, log, port):
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        if not wait_for_port(port, proc):
            with open(log, "rb") as f:
                sys.stderr.write(f.read().decode(errors="replace"))
            raise RuntimeError(f"{argv[0]} did not listen on {port}")
        return proc

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ringleader-clients-")
        self.backend_ports = []
        try:
            for i in range(self.nservers):
                port = free_port()
                self._spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", self.dir,
                             "--dbfilename", f"dump{i}.rdb"] + self.redis_args,
                            os.path.join(self.dir, f"redis{i}.log"), port)
                self.backend_ports.append(port)
            self.port = free_port()
            self.conf = os.path.join(self.dir, "ringleader.yml")
            servers = "".join(f"    - 127.0.0.1:{p}:1 r{i + 1}\n"
                              for i, p in enumerate(self.backend_ports))
            with open(self.conf, "w") as f:
                f.write(f"clients:\n  listen: 127.0.0.1:{self.port}\n  hash: murmur\n"
                        f"  distribution: ketama\n  redis: true\n  timeout: 2000\n"
                        f"{self.pool_extra}  servers:\n{servers}")
            self.log = os.path.join(self.dir, "ringleader.log")
            self.proxy = self._spawn([self.binary, "-c", self.conf, "-o", self.log],
                                     self.log, self.port)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    with Cluster(args.binary, args.servers) as c:
        env = dict(os.environ, RL_HOST="127.0.0.1", RL_PORT=str(c.port),
                   RL_BACKEND_PORTS=",".join(map(str, c.backend_ports)))
        rc = subprocess.call(cmd, env=env)
    sys.exit(rc)


if __name__ == "__main__":
    main()
