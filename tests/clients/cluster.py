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
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def resp(*argv):
    """argv (str or bytes) as one RESP command."""
    out = b"*%d\r\n" % len(argv)
    for a in argv:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(f):
    """One RESP2 reply from a buffered socket file: str, int, bytes, list, or an Exception."""
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        return RuntimeError(body.decode())
    if kind == b":":
        return int(body)
    if kind == b"$":
        n = int(body)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(body)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ValueError(f"not RESP: {line!r}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A chosen port can be taken by another process between free_port() and the server's bind:
# the server then exits (or another process answers), and the cluster retries on a new port.
PORT_TRIES = 5


def pid_at(port):
    """The process_id that the Redis-speaking server on port gives in INFO server; "auth" when
    it wants AUTH first (a pool_extra with a password); None when nothing answers."""
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"INFO server\r\n")
            while not re.search(rb"process_id:(\d+)\r\n", data) and not data.startswith(b"-"):
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
    except OSError:
        return None
    if data.startswith(b"-"):
        return "auth" if b"NOAUTH" in data else None
    return int(re.search(rb"process_id:(\d+)\r\n", data).group(1))


def wait_for_port(port, proc, bound=10.0):
    """True once proc itself answers on port (its pid in INFO), False if it exits or the bound
    passes."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        answer = pid_at(port)
        if answer == proc.pid or (answer == "auth" and proc.poll() is None):
            return True
        time.sleep(0.01)  # polling interval of a bounded wait for listen()
    return False


class Cluster:
    def __init__(self, binary, servers=3, pool_extra="", redis_args=(), top_extra=""):
        self.binary = binary
        self.nservers = servers
        self.pool_extra = pool_extra
        # YAML after the pool (e.g. a `ringleader:` section); "{dir}" becomes the cluster's
        # temporary directory.
        self.top_extra = top_extra
        self.redis_args = list(redis_args)  # e.g. ["--requirepass", "pw"], for every server
        self.procs = []
        self.dir = None

    def _spawn(self, make_argv, log):
        """Starts make_argv(port) on a free port, and on a new one when that port turns out
        taken (the process exits or is not the one answering); returns (proc, port)."""
        for attempt in range(PORT_TRIES):
            port = free_port()
            argv = make_argv(port)
            with open(log, "ab") as out:
                proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
            self.procs.append(proc)
            if wait_for_port(port, proc):
                return proc, port
            self._stop(proc)
            sys.stderr.write(f"cluster.py: {argv[0]} did not listen on {port} "
                             f"(try {attempt + 1} of {PORT_TRIES})\n")
        with open(log, "rb") as f:
            sys.stderr.write(f.read().decode(errors="replace"))
        raise RuntimeError(f"{argv[0]} did not listen on any of {PORT_TRIES} ports")

    @staticmethod
    def _stop(proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ringleader-clients-")
        self.backend_ports = []
        try:
            for i in range(self.nservers):
                _, port = self._spawn(
                    lambda port, i=i: ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", self.dir,
                                       "--dbfilename", f"dump{i}.rdb"] + self.redis_args,
                    os.path.join(self.dir, f"redis{i}.log"))
                self.backend_ports.append(port)
            self.conf = os.path.join(self.dir, "ringleader.yml")
            servers = "".join(f"    - 127.0.0.1:{p}:1 r{i + 1}\n"
                              for i, p in enumerate(self.backend_ports))
            self.log = os.path.join(self.dir, "ringleader.log")

            def ringleader_argv(port):
                with open(self.conf, "w") as f:
                    f.write(f"clients:\n  listen: 127.0.0.1:{port}\n  hash: murmur\n"
                            f"  distribution: ketama\n  redis: true\n  timeout: 2000\n"
                            f"{self.pool_extra}  servers:\n{servers}"
                            + self.top_extra.replace("{dir}", self.dir))
                return [self.binary, "-c", self.conf, "-o", self.log]

            self.proxy, self.port = self._spawn(ringleader_argv, self.log)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            self._stop(proc)
        self.procs = []
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("--locks", action="store_true",
                    help="a lock service over the pool's servers, and admin_commands: true")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    extra = {}
    if args.locks:
        extra = dict(pool_extra="  admin_commands: true\n",
                     top_extra="ringleader:\n  locks:\n    data_dir: {dir}/locks\n")
    with Cluster(args.binary, args.servers, **extra) as c:
        env = dict(os.environ, RL_HOST="127.0.0.1", RL_PORT=str(c.port),
                   RL_BACKEND_PORTS=",".join(map(str, c.backend_ports)))
        rc = subprocess.call(cmd, env=env)
    sys.exit(rc)


if __name__ == "__main__":
    main()
