#!/usr/bin/python3
"""A ringleader Raft cluster of real processes on loopback, for the multi-process tests and the
failover benchmark: R redis-servers and N ringleader nodes, each with its own YAML (one pool in
front of the same servers, a `ringleader: cluster:` section), data directory and log, on free
ports. Every process is stopped by its pid when the cluster is closed.

    with RaftCluster(binary, nodes=3) as c:
        leader = c.wait_leader()
        c.kill(leader)                       # SIGKILL
        c.command(2, "RINGLEADER", "STATUS")

    with RaftCluster(binary, nodes=3, own_uids=True) as c:   # root: one uid per node
        with c.partition() as p:             # iptables DROP rules, removed on leaving
            p.isolate(c.wait_leader())
"""
import atexit
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients"))
from cluster import read_reply, resp  # noqa: E402,F401 (read_reply: importers take it here)

SECRET = "test-secret-0123456789"
IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"
# Node n runs as uid UID_BASE + n when the cluster has own_uids: iptables' owner match is what
# tells one node's packets from another's, since every node's sockets share 127.0.0.1.
UID_BASE = 47000
RULE_TAG = f"rl-test-{os.getpid()}"


def _iptables(*args):
    return subprocess.run([IPTABLES, "-w", *args], capture_output=True, text=True)


_tagged = False  # a rule with RULE_TAG may have been added by this process


def remove_tagged_rules():
    """Deletes every OUTPUT rule carrying this process's RULE_TAG (atexit, and after each
    partition as a sweep behind the rules the Partition recorded)."""
    if not _tagged:
        return
    try:
        listing = _iptables("-S", "OUTPUT")
    except OSError:
        return
    if listing.returncode != 0:
        return
    for line in listing.stdout.splitlines():
        if f"--comment {RULE_TAG}" in line and line.startswith("-A OUTPUT "):
            _iptables("-D", "OUTPUT", *line.split()[2:])


atexit.register(remove_tagged_rules)


def require_iptables():
    """Raises AssertionError saying why when partitions cannot be made here: a test that needs
    them fails in CI rather than skipping silently."""
    if os.geteuid() != 0:
        raise AssertionError("network partitions need root (iptables rules and one uid per node)")
    if not os.path.exists(IPTABLES):
        raise AssertionError(f"network partitions need iptables ({IPTABLES} is missing; "
                             "apt-get install iptables)")
    global _tagged
    _tagged = True
    probe = ["OUTPUT", "-o", "lo", "-p", "tcp", "--dport", "9", "-m", "owner", "--uid-owner",
             str(UID_BASE), "-m", "comment", "--comment", RULE_TAG, "-j", "DROP"]
    added = _iptables("-I", *probe)
    if added.returncode != 0:
        raise AssertionError("iptables cannot add an owner/comment DROP rule on loopback: "
                             + added.stderr.strip())
    _iptables("-D", *probe)


class Partition:
    """DROP rules between nodes' peer traffic, added by drop()/isolate()/split() and all removed
    by heal() (the context manager's exit, also when the test fails). A rule drops what node
    `src` sends to the peer port of node `dst`: src's messages to dst travel on src's own
    connection to dst's peer port (the replies on it are only acknowledgements). One at a time
    per test process: heal() also sweeps every rule with this process's tag."""

    def __init__(self, cluster):
        require_iptables()
        if not cluster.own_uids:
            raise AssertionError("partitions need RaftCluster(own_uids=True)")
        self.c = cluster
        self.rules = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.heal()
        return False

    def _rule(self, src, dst):
        return ["OUTPUT", "-o", "lo", "-p", "tcp", "--dport", str(self.c.peer_port[dst]), "-m",
                "owner", "--uid-owner", str(self.c.uid(src)), "-m", "comment", "--comment",
                RULE_TAG, "-j", "DROP"]

    def drop(self, src, dst):
        """One way: what src sends to dst is lost; dst to src still arrives."""
        rule = self._rule(src, dst)
        if rule in self.rules:
            return
        result = _iptables("-I", *rule)
        if result.returncode != 0:
            raise AssertionError(f"iptables -I {' '.join(rule)}: {result.stderr.strip()}")
        self.rules.append(rule)

    def cut(self, a, b):
        """Both ways between a and b."""
        self.drop(a, b)
        self.drop(b, a)

    def isolate(self, node, outbound=True, inbound=True):
        """node alone: its messages to every other node lost (outbound) and theirs to it
        (inbound)."""
        for other in self.c.peer_port:
            if other == node:
                continue
            if outbound:
                self.drop(node, other)
            if inbound:
                self.drop(other, node)

    def split(self, side_a, side_b):
        for a in side_a:
            for b in side_b:
                self.cut(a, b)

    def heal(self):
        try:
            while self.rules:
                rule = self.rules.pop()
                _iptables("-D", *rule)
        finally:
            remove_tagged_rules()


def run_seed():
    """$RL_TEST_SEED when set (to replay a run), else one drawn now; printed either way, like
    TestSeed() of tests/support/test_seed.h."""
    env = os.environ.get("RL_TEST_SEED", "")
    seed = int(env) if env else int.from_bytes(os.urandom(4), "little")
    print(f"RL_TEST_SEED={seed}", flush=True)
    return seed


_handed_out = set()


def free_port():
    """A free port below the kernel's ephemeral range (32768 and up here): a port bind(0) picks
    is one of those, and the nodes' reconnecting peer links take a new source port there on every
    attempt, which could take a port chosen for a node that has not started yet."""
    low, high = 20000, 32767
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            high = min(high, int(f.read().split()[0]) - 1)
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(1000):
        port = random.randint(low, high)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise OSError("no free port below the ephemeral range")


def parse_fields(text):
    out = {}
    for line in text.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


class RaftCluster:
    def __init__(self, binary, nodes=3, servers=2, heartbeat_ms=50, election_ms=500,
                 own_uids=False, extra_cluster="", locks=False, redis_args=(), redis_prefix=None,
                 verbosity=6, base_dir=None):
        self.binary = binary
        self.locks = locks  # a `ringleader: locks:` section (the pool's servers are the masters)
        self.own_uids = own_uids
        self.extra_cluster = extra_cluster  # more `ringleader: cluster:` lines, indented
        self.verbosity = verbosity  # ringleader's -v (6: debug, for the tests' logs)
        self.base_dir = base_dir    # where the temporary directory goes (default: $TMPDIR)
        self.n = nodes
        self.nservers = servers
        # More redis-server arguments for every server (e.g. ["--appendonly", "yes"]), and per
        # server index a command to run it under (e.g. {2: ["faketime", "-f", "+0 x1.5"]}).
        self.redis_args = list(redis_args)
        self.redis_prefix = redis_prefix or {}
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        self.procs = {}      # node id -> Popen
        self.redis = []
        self.client_port = {}
        self.peer_port = {}
        self.dir = None

    # --- set-up -----------------------------------------------------------------------------
    def __enter__(self):
        if self.own_uids:
            require_iptables()
        self.dir = tempfile.mkdtemp(prefix="ringleader-raft-", dir=self.base_dir)
        if self.own_uids:
            os.chmod(self.dir, 0o777)  # nodes of other uids create their data directories here
        try:
            for i in range(self.nservers):
                self.redis.append((None, free_port()))
                self.start_server(i)
            for i in range(1, self.n + 1):
                self.client_port[i] = free_port()
                self.peer_port[i] = free_port()
            self.initial = list(range(1, self.n + 1))
            for i in self.initial:
                self.write_config(i)
                self.start(i)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for node in list(self.procs):
            self.stop(node)
        for p, _ in self.redis:
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait()
        if self.dir and not os.environ.get("RL_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def data_dir(self, node):
        return os.path.join(self.dir, f"node{node}")

    def config_path(self, node):
        return os.path.join(self.dir, f"node{node}.yml")

    def log_path(self, node):
        return os.path.join(self.dir, f"node{node}.log")

    def write_config(self, node, join=False, members=None, servers=None):
        """servers: the indexes (0-based) of the redis-servers the file lists; default all."""
        members = members or self.initial
        member_lines = "".join(f"     - {m}@127.0.0.1:{self.peer_port[m]}\n" for m in members)
        listed = range(len(self.redis)) if servers is None else servers
        servers = "".join(f"    - 127.0.0.1:{self.redis[i][1]}:1 r{i + 1}\n" for i in listed)
        with open(self.config_path(node), "w") as f:
            f.write("ringleader:\n  cluster:\n"
                    f"    node_id: {node}\n"
                    f"    peer_listen: 127.0.0.1:{self.peer_port[node]}\n"
                    f"    members:\n{member_lines}"
                    f"    data_dir: {self.data_dir(node)}\n"
                    f"    secret: {SECRET}\n"
                    f"    heartbeat_ms: {self.heartbeat_ms}\n"
                    f"    election_timeout_ms: {self.election_ms}\n"
                    + ("    join: true\n" if join else "") + self.extra_cluster
                    + (f"  locks:\n    data_dir: {self.data_dir(node)}-locks\n"
                       if self.locks else "") +
                    f"main:\n  listen: 127.0.0.1:{self.client_port[node]}\n"
                    "  hash: fnv1a_64\n  distribution: ketama\n  redis: true\n"
                    "  timeout: 2000\n  admin_commands: true\n"
                    f"  servers:\n{servers}")

    def add_node(self, node):
        """Ports and a `join: true` configuration for a node added later."""
        self.client_port[node] = free_port()
        self.peer_port[node] = free_port()
        self.write_config(node, join=True, members=self.initial + [node])

    def uid(self, node):
        return UID_BASE + node

    def partition(self):
        """A Partition of this cluster's nodes (a context manager that heals on exit)."""
        return Partition(self)

    # --- processes --------------------------------------------------------------------------
    def start(self, node, wait=True):
        log = open(self.log_path(node), "ab")
        extra = {}
        if self.own_uids:
            extra = {"user": self.uid(node), "group": self.uid(node), "extra_groups": []}
            if os.path.isdir(self.data_dir(node)):
                for root, dirs, files in os.walk(self.data_dir(node)):
                    for name in [root] + [os.path.join(root, x) for x in dirs + files]:
                        os.chown(name, self.uid(node), self.uid(node))
        p = subprocess.Popen([self.binary, "-c", self.config_path(node), "-v", str(self.verbosity)],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             **extra)
        log.close()
        self.procs[node] = p
        if wait:
            self.wait(lambda: self.status(node) is not None, f"node {node} answers", 15)
        return p

    def stop(self, node):
        p = self.procs.pop(node, None)
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def kill(self, node):
        p = self.procs.pop(node)
        p.kill()
        p.wait()

    def pause(self, node):
        self.procs[node].send_signal(signal.SIGSTOP)

    def resume(self, node):
        self.procs[node].send_signal(signal.SIGCONT)

    # --- the redis-servers (data shards and lock masters) -------------------------------------
    def start_server(self, i):
        """(Re)starts redis-server i on its port, in its own directory (its AOF, if the
        arguments enable one, survives a restart); waits until it answers PING."""
        port = self.redis[i][1]
        d = os.path.join(self.dir, f"redis{i}")
        os.makedirs(d, exist_ok=True)
        argv = (self.redis_prefix.get(i, [])
                + ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", d] + self.redis_args)
        with open(os.path.join(d, "redis.log"), "ab") as log:
            p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.redis[i] = (p, port)

        def answers():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(resp("PING"))
                    return read_reply(sock.makefile("rb")) == "PONG"
            except OSError:
                return False
        self.wait(answers, f"redis-server {i} answers", 15)
        return p

    def redis_command(self, i, *argv):
        """One command straight to redis-server i, bypassing ringleader."""
        with socket.create_connection(("127.0.0.1", self.redis[i][1]), timeout=5) as sock:
            sock.sendall(resp(*argv))
            return read_reply(sock.makefile("rb"))

    def kill_server(self, i):
        p = self.redis[i][0]
        p.kill()
        p.wait()

    def pause_server(self, i):
        self.redis[i][0].send_signal(signal.SIGSTOP)

    def resume_server(self, i):
        self.redis[i][0].send_signal(signal.SIGCONT)

    def log(self, node):
        with open(self.log_path(node), "rb") as f:
            return f.read().decode(errors="replace")

    # --- talking to nodes -------------------------------------------------------------------
    def command(self, node, *argv, timeout=5.0):
        """One command on node's client port; the reply (errors as RuntimeError values)."""
        with socket.create_connection(("127.0.0.1", self.client_port[node]),
                                      timeout=timeout) as s:
            s.sendall(resp(*argv))
            return read_reply(s.makefile("rb"))

    def status(self, node):
        """RINGLEADER STATUS as a dict, or None when the node does not answer."""
        try:
            reply = self.command(node, "RINGLEADER", "STATUS", timeout=1.0)
        except OSError:
            return None
        return parse_fields(reply) if isinstance(reply, bytes) else None

    def statuses(self):
        return {n: self.status(n) for n in list(self.procs)}

    @staticmethod
    def wait(pred, what, bound=15.0):
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            value = pred()
            if value:
                return value
            time.sleep(0.02)  # polling interval of a bounded wait
        raise AssertionError(f"timed out after {bound}s waiting for: {what}")

    def leaders(self, nodes=None):
        out = {}
        for n in nodes or list(self.procs):
            st = self.status(n)
            if st and st.get("rl_role") == "leader":
                out[n] = int(st["rl_term"])
        return out

    def wait_leader(self, among=None, bound=15.0, newer_than=0):
        """The one node (of `among`, default: all running) that is leader and whose term is
        above newer_than, once every other of them follows it."""
        among = among or list(self.procs)

        def agreed():
            sts = {n: self.status(n) for n in among}
            if any(s is None for s in sts.values()):
                return None
            leaders = [n for n, s in sts.items() if s["rl_role"] == "leader"]
            if len(leaders) != 1 or int(sts[leaders[0]]["rl_term"]) <= newer_than:
                return None
            lead = leaders[0]
            if all(s["rl_leader_id"] == str(lead) for s in sts.values()):
                return lead
            return None
        return self.wait(agreed, f"one leader among {among}", bound)
