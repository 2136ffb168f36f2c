#!/usr/bin/python3
"""A Jepsen-style history of operations on a ringleader cluster, the nemesis that disturbs it,
and the checker of the history (used by raft_jepsen_test.py; the checker's own tests are
jepsen_checker_test.py).

History: every operation is an `invoke` event and then exactly one of `ok` (it happened, with
its result), `fail` (it certainly did not happen: refused before it could, or never sent) or
`info` (unknown: the connection broke or timed out after the request went out). Times are
time.monotonic() in seconds, taken by the client around the request.

Operations: `acquire` (LOCK.ACQUIRE name owner PX ttl: ok with value (token, validity_ms) or
None when the lock is held elsewhere), `release`, and `status` (RINGLEADER STATUS of one node:
ok with value (role, term)).

Checks (check_history): every token granted is unique; per lock, tokens respect real-time order
(an acquire that completed before another was invoked has the smaller token: a linearizable
counter per lock; ops whose outcome is unknown carry no token and so constrain nothing, and a
failed op is not a grant); no two grants of one lock hold it at the same time, where a grant
surely holds from its ok until its invoke time + validity (the coordinator measures validity
from a start no earlier than the invoke) or until its release was invoked, whichever is first;
no two nodes lead in one term; and a node's term never goes backwards between reads that do not
overlap, within one incarnation (the nemesis records its kills in the history). Tokens are not
compared across locks: each member mints from its own block of the cluster's counter, and only
the lock masters' marks order one lock's grants (lock/README.md).
"""
import random
import signal
import socket
import threading
import time

from raft_cluster import parse_fields, read_reply, resp


class History:
    """Thread-safe list of events (dicts)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.events = []
        self._next = 0

    def _add(self, event):
        with self._lock:
            self.events.append(event)

    def invoke(self, process, f, **args):
        with self._lock:
            op = self._next
            self._next += 1
        event = {"op": op, "process": process, "type": "invoke", "f": f,
                 "time": time.monotonic(), **args}
        self._add(event)
        return event

    def complete(self, invoked, type_, value=None, error=None):
        assert type_ in ("ok", "fail", "info")
        event = {k: v for k, v in invoked.items() if k not in ("type", "time")}
        event.update(type=type_, value=value, error=error, time=time.monotonic())
        self._add(event)
        return event


def pair_ops(events):
    """Operations as dicts: the invoke's fields, `invoke` and `complete` times, `type` of the
    completion (`info` for an op that never completed) and `value`."""
    ops = {}
    for e in events:
        if e["type"] == "invoke":
            ops[e["op"]] = dict(e, invoke=e["time"], complete=None, type="info", value=None)
        else:
            op = ops[e["op"]]
            op.update(type=e["type"], value=e.get("value"), error=e.get("error"),
                      complete=e["time"])
    return list(ops.values())


def check_history(events):
    """The violations found (a list of strings; empty: the history is fine) and counts."""
    ops = pair_ops(events)
    violations = []
    counts = {}
    for op in ops:
        key = f"{op['f']}_{op['type']}"
        counts[key] = counts.get(key, 0) + 1
    grants = [op for op in ops if op["f"] == "acquire" and op["type"] == "ok" and op["value"]]
    counts["grants"] = len(grants)
    violations += check_unique_tokens(grants)
    by_lock = {}
    for g in grants:
        by_lock.setdefault(g["lock"], []).append(g)
    releases = {}
    for op in ops:
        if op["f"] == "release":
            releases.setdefault((op["lock"], op["token"]), []).append(op)
    # Mutual exclusion of leases holds only while the masters' clocks behave: a jump ahead on a
    # master that was part of a bare quorum lets another quorum form (Kleppmann's point; the
    # fencing checks do not need this allowance).
    jumps = [op["invoke"] for op in ops if op["f"] == "jump-clock"]
    for name, gs in by_lock.items():
        violations += check_real_time_order(name, gs)
        violations += check_exclusion(name, gs, releases, jumps)
    barriers = [op for op in ops if op["f"] == "barrier" and op["type"] == "ok"]
    counts["barriers"] = len(barriers)
    violations += check_log_indexes(barriers)
    statuses = [op for op in ops if op["f"] == "status" and op["type"] == "ok"]
    counts["status_reads"] = len(statuses)
    kills = [op for op in ops if op["f"] == "kill"]
    violations += check_leaders(statuses, kills)
    return violations, counts


def check_unique_tokens(grants):
    seen = {}
    out = []
    for g in grants:
        token = g["value"][0]
        if token in seen:
            out.append(f"token {token} granted twice: op {seen[token]['op']} "
                       f"({seen[token]['lock']}) and op {g['op']} ({g['lock']})")
        else:
            seen[token] = g
    return out


def check_real_time_order(name, grants):
    """For each grant B: every grant that completed before B was invoked has a smaller token."""
    out = []
    by_complete = sorted(grants, key=lambda g: g["complete"])
    by_invoke = sorted(grants, key=lambda g: g["invoke"])
    best = None  # the grant with the largest token among those completed so far
    i = 0
    for b in by_invoke:
        while i < len(by_complete) and by_complete[i]["complete"] < b["invoke"]:
            a = by_complete[i]
            if best is None or a["value"][0] > best["value"][0]:
                best = a
            i += 1
        if best is not None and best["value"][0] >= b["value"][0]:
            out.append(f"lock {name}: op {best['op']} got token {best['value'][0]} and completed "
                       f"at {best['complete']:.3f}, before op {b['op']} was invoked at "
                       f"{b['invoke']:.3f}, which got the smaller token {b['value'][0]}")
    return out


def check_log_indexes(barriers):
    """RINGLEADER CLUSTER BARRIER answers the log index its entry committed at: a linearizable
    counter of the replicated log. Each index is answered once, and a barrier that completed
    before another was invoked has the smaller index."""
    out = []
    seen = {}
    for b in barriers:
        if b["value"] in seen:
            out.append(f"log index {b['value']} answered to two barriers: ops "
                       f"{seen[b['value']]['op']} and {b['op']}")
        seen[b["value"]] = b
    by_complete = sorted(barriers, key=lambda b: b["complete"])
    best = None
    i = 0
    for b in sorted(barriers, key=lambda b: b["invoke"]):
        while i < len(by_complete) and by_complete[i]["complete"] < b["invoke"]:
            if best is None or by_complete[i]["value"] > best["value"]:
                best = by_complete[i]
            i += 1
        if best is not None and best["value"] >= b["value"]:
            out.append(f"barrier op {best['op']} committed at index {best['value']} and completed "
                       f"before op {b['op']} was invoked, which committed at the lower index "
                       f"{b['value']}")
    return out


def sure_window(grant, releases):
    """[start, end) in which the grant surely held its lock (may be empty)."""
    token, validity_ms = grant["value"]
    end = grant["invoke"] + validity_ms / 1000.0
    for r in releases.get((grant["lock"], token), []):
        end = min(end, r["invoke"])
    return grant["complete"], end


def check_exclusion(name, grants, releases, jumps=()):
    """No two sure windows of one lock overlap, except where a master's clock jumped while the
    earlier one held (those pairs are not checked)."""
    out = []
    windows = sorted((sure_window(g, releases), g) for g in grants)
    windows = [(w, g) for w, g in windows if w[0] < w[1]]
    last = None
    for (start, end), g in windows:
        if last is not None and start < last[0][1]:
            (ls, le), lg = last
            if any(ls <= j < le for j in jumps):
                continue
            out.append(f"lock {name}: op {lg['op']} (token {lg['value'][0]}) held it in "
                       f"[{ls:.3f}, {le:.3f}) and op {g['op']} (token {g['value'][0]}) in "
                       f"[{start:.3f}, {end:.3f})")
        if last is None or end > last[0][1]:
            last = ((start, end), g)
    return out


def check_leaders(statuses, kills=()):
    """One leader per term; and per incarnation of a node (a kill starts a new one: a term the
    node reported but had not yet made durable may be gone after kill -9), terms only grow."""
    out = []
    leader_of = {}
    for s in statuses:
        role, term = s["value"]
        if role == "leader":
            other = leader_of.setdefault(term, s["node"])
            if other != s["node"]:
                out.append(f"term {term} has two leaders: nodes {other} and {s['node']}")
    by_node = {}
    for s in statuses:
        incarnation = sum(1 for k in kills if k["node"] == s["node"] and k["invoke"] < s["invoke"])
        by_node.setdefault((s["node"], incarnation), []).append(s)
    for (node, _), reads in by_node.items():
        # A read invoked after an earlier one completed must not see a lower term.
        by_complete = sorted(reads, key=lambda s: s["complete"])
        highest = None
        i = 0
        for r in sorted(reads, key=lambda s: s["invoke"]):
            while i < len(by_complete) and by_complete[i]["complete"] < r["invoke"]:
                if highest is None or by_complete[i]["value"][1] > highest["value"][1]:
                    highest = by_complete[i]
                i += 1
            if highest is not None and r["value"][1] < highest["value"][1]:
                out.append(f"node {node}: term went from {highest['value'][1]} (op "
                           f"{highest['op']}) back to {r['value'][1]} (op {r['op']})")
    return out


def check_resources(events, finals):
    """What the fenced writes left, against the history. `finals`: per lock (counter value,
    [log entries as "process:token"]) read after the run. Each lock guards a counter (FENCED
    INCR) and a log (FENCED RPUSH process:token): the log's tokens never decrease (a stale
    holder's late append was refused), every logged token was granted for that lock, and the
    counter lies between the INCRs acknowledged and those plus the ones whose outcome is unknown
    (none is lost, none is made up)."""
    ops = pair_ops(events)
    out = []
    granted = {}
    for op in ops:
        if op["f"] == "acquire" and op["type"] == "ok" and op["value"]:
            granted.setdefault(op["lock"], set()).add(op["value"][0])
    counts = {"fenced_ok": 0, "fenced_refused": 0, "fenced_unknown": 0}
    for name, (counter, log) in finals.items():
        incr = [op for op in ops if op["f"] == "fenced" and op["lock"] == name
                and op["command"][0] == "INCR"]
        acked = sum(1 for op in incr if op["type"] == "ok")
        unknown = sum(1 for op in incr if op["type"] == "info")
        if not acked <= counter <= acked + unknown:
            out.append(f"lock {name}: counter is {counter}, but {acked} INCRs were acknowledged "
                       f"and {unknown} have an unknown outcome")
        last = None
        for i, entry in enumerate(log):
            token = int(entry.rsplit(":", 1)[1])
            if token not in granted.get(name, ()):
                out.append(f"lock {name}: log entry {i} ({entry}) has a token never granted")
            if last is not None and token < last:
                out.append(f"lock {name}: log entry {i} ({entry}) has token {token} after "
                           f"token {last}: a stale holder's write was accepted")
            last = token if last is None else max(last, token)
    for op in ops:
        if op["f"] != "fenced":
            continue
        if op["type"] == "ok":
            counts["fenced_ok"] += 1
        elif op["type"] == "fail":
            counts["fenced_refused"] += 1
        elif op["type"] == "info":
            counts["fenced_unknown"] += 1
    return out, counts


# --- the clients -------------------------------------------------------------------------------

class Client:
    """One client thread's connection to one node at a time; requests time out into `info`."""

    def __init__(self, cluster, history, process, timeout=3.0):
        self.c = cluster
        self.h = history
        self.process = process
        self.timeout = timeout

    def call(self, node, f, argv, **fields):
        """Runs argv on node's client port, recording the op; returns (type, reply)."""
        inv = self.h.invoke(self.process, f, node=node, **fields)
        try:
            s = socket.create_connection(("127.0.0.1", self.c.client_port[node]),
                                         timeout=self.timeout)
        except OSError as e:  # nothing was sent
            self.h.complete(inv, "fail", error=str(e))
            return "fail", None
        try:
            with s:
                s.sendall(resp(*argv))
                reply = read_reply(s.makefile("rb"))
        except (OSError, ValueError) as e:
            self.h.complete(inv, "info", error=str(e))
            return "info", None
        return "reply", (inv, reply)


def acquire(client, node, name, owner, ttl_ms):
    kind, got = client.call(node, "acquire", ["LOCK.ACQUIRE", name, owner, "PX", str(ttl_ms)],
                            lock=name, owner=owner)
    if kind != "reply":
        return None
    inv, reply = got
    if isinstance(reply, RuntimeError):
        client.h.complete(inv, "fail", error=str(reply))
        return None
    if reply is None:
        client.h.complete(inv, "ok", value=None)
        return None
    token, validity = int(reply[0]), int(reply[1])
    client.h.complete(inv, "ok", value=(token, validity))
    return token


def release(client, node, name, owner, token):
    kind, got = client.call(node, "release", ["LOCK.RELEASE", name, owner, str(token)],
                            lock=name, owner=owner, token=token)
    if kind != "reply":
        return
    inv, reply = got
    if isinstance(reply, RuntimeError):
        client.h.complete(inv, "fail", error=str(reply))
    else:
        client.h.complete(inv, "ok", value=reply)


def fenced(client, node, name, token, *command):
    """FENCED name token command...: ok with the reply, fail when the fence refused it (the
    script wrote nothing), info for any other error or a broken connection: the proxy's "timed
    out" or "connection lost" may answer a write the server still ran (a paused server runs it
    when it resumes)."""
    kind, got = client.call(node, "fenced", ["FENCED", name, str(token), *command],
                            lock=name, token=token, command=list(command))
    if kind != "reply":
        return None
    inv, reply = got
    if isinstance(reply, RuntimeError):
        refused = str(reply).startswith("FENCED ")
        client.h.complete(inv, "fail" if refused else "info", error=str(reply))
        return None
    client.h.complete(inv, "ok", value=reply)
    return reply


def barrier(client, node):
    """RINGLEADER CLUSTER BARRIER through `node`: ok with the committed log index."""
    kind, got = client.call(node, "barrier", ["RINGLEADER", "CLUSTER", "BARRIER"])
    if kind != "reply":
        return
    inv, reply = got
    if isinstance(reply, int):
        client.h.complete(inv, "ok", value=reply)
    elif isinstance(reply, RuntimeError) and str(reply).startswith("TRYAGAIN no leader"):
        client.h.complete(inv, "fail", error=str(reply))  # refused before it was proposed
    else:
        # Other errors (a forward that timed out, leadership changed) may follow a proposal
        # that still commits.
        client.h.complete(inv, "info", error=str(reply))


def status(client, node):
    kind, got = client.call(node, "status", ["RINGLEADER", "STATUS"])
    if kind != "reply":
        return
    inv, reply = got
    if not isinstance(reply, bytes):
        client.h.complete(inv, "fail", error=str(reply))
        return
    fields = parse_fields(reply)
    client.h.complete(inv, "ok", value=(fields.get("rl_role"), int(fields.get("rl_term", 0))))


# --- the nemesis -------------------------------------------------------------------------------

NODE_FAULTS = ["kill", "pause", "partition", "partition-in", "partition-out"]
# Faults of the redis-servers (lock masters and data shards): the target is a server index.
SERVER_FAULTS = ["kill-server", "pause-server", "jump-clock-server"]


def schedule(seed, nodes, duration, gap=(1.0, 3.0), hold=(1.0, 4.0), kinds=None, servers=()):
    """The nemesis's plan from one seed alone: (start offset s, kind, target, hold s), one fault
    at a time, each healed before the next. The target is a node, or for SERVER_FAULTS a
    server index of `servers`; "kill-leader" kills whichever node leads when it starts."""
    rng = random.Random(seed)
    kinds = kinds or NODE_FAULTS
    plan = []
    t = rng.uniform(*gap)
    while t < duration:
        kind = rng.choice(kinds)
        node = rng.choice(list(servers) if kind in SERVER_FAULTS else nodes)
        d = rng.uniform(*hold)
        plan.append((round(t, 3), kind, node, round(d, 3)))
        t += d + rng.uniform(*gap)
    return plan


class Nemesis(threading.Thread):
    def __init__(self, cluster, plan, history=None, log=print):
        super().__init__(daemon=True)
        self.c = cluster
        self.history = history  # kills are recorded: a restarted node is a new incarnation
        self.plan = plan
        self.log = log
        self.done = threading.Event()
        self.error = None
        self.applied = {}

    def run(self):
        try:
            t0 = time.monotonic()
            for start, kind, node, hold in self.plan:
                self.done.wait(max(0.0, t0 + start - time.monotonic()))
                if self.done.is_set():
                    return
                self.log(f"nemesis +{time.monotonic() - t0:.1f}s {kind} node {node} for {hold}s")
                self.applied[kind] = self.applied.get(kind, 0) + 1
                self.fault(kind, node, hold)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def fault(self, kind, node, hold):
        c = self.c
        if kind == "kill-leader":
            leaders = c.leaders()
            kind, node = "kill", (next(iter(leaders)) if leaders else node)
            self.log(f"nemesis: the leader is node {node}")
        if kind == "kill-server":
            c.kill_server(node)
            self.done.wait(hold)
            c.start_server(node)
        elif kind == "pause-server":
            c.pause_server(node)
            self.done.wait(hold)
            c.resume_server(node)
        elif kind == "jump-clock-server":
            inv = self.history.invoke("nemesis", "jump-clock", node=node) if self.history else None
            # The server's clock jumps ahead past every lease it holds: each lock holder key
            # (rl:lock:{NAME}; not the marks, rl:lock:{NAME}:fence) expires now. What faketime
            # would do to a master's clock, which Debian's jemalloc-linked redis-server cannot
            # run under (libfaketime's known clash with jemalloc).
            expired = 0
            for key in c.redis_command(node, "KEYS", "rl:lock:*") or []:
                if not key.endswith(b":fence"):
                    expired += c.redis_command(node, "PEXPIRE", key, "1") or 0
            self.log(f"nemesis: {expired} leases on server {node} expired early")
            if inv:
                self.history.complete(inv, "ok")
            self.done.wait(hold)
        elif kind == "kill":
            inv = self.history.invoke("nemesis", "kill", node=node) if self.history else None
            c.kill(node)
            self.done.wait(hold)
            c.start(node)
            if inv:
                self.history.complete(inv, "ok")
        elif kind == "pause":
            c.procs[node].send_signal(signal.SIGSTOP)
            self.done.wait(hold)
            c.procs[node].send_signal(signal.SIGCONT)
        else:
            with c.partition() as p:
                p.isolate(node, outbound=kind != "partition-in",
                          inbound=kind != "partition-out")
                self.done.wait(hold)


def run_under_nemesis(test, c, history, threads, stop, plan, seconds):
    """Runs the client threads while a Nemesis plays `plan`; once every fault is healed, waits
    until the cluster grants locks again, then stops the clients (`stop`). `test` is the
    unittest.TestCase that asserts. Returns the nemesis (its `applied` counts)."""
    nemesis = Nemesis(c, plan, history)
    for t in threads:
        t.start()
    nemesis.start()
    nemesis.join(timeout=seconds + 90)  # each fault is healed within a bound
    nemesis.done.set()
    test.assertFalse(nemesis.is_alive(), "the nemesis did not finish its plan")
    test.assertIsNone(nemesis.error, f"nemesis failed: {nemesis.error!r}")
    c.wait_leader(bound=30)

    def grants():
        return sum(1 for e in list(history.events)
                   if e["f"] == "acquire" and e["type"] == "ok" and e["value"])
    before = grants()
    c.wait(lambda: grants() > before + 10, "grants after the faults healed", 30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    return nemesis
