#!/usr/bin/python3
"""The history checker of jepsen.py on crafted histories: each bad one must be caught, and the
good ones (indeterminate ops, concurrent ops in any token order, tokens of other locks out of
order) must pass. Run by ctest as raft.jepsen_checker; starts no process."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from jepsen import check_history, check_resources, schedule  # noqa: E402


class Builder:
    """Events with explicit times: op(f, invoke, complete, type, value, **fields)."""

    def __init__(self):
        self.events = []
        self.n = 0

    def op(self, f, invoke, complete, type_="ok", value=None, **fields):
        op = self.n
        self.n += 1
        base = {"op": op, "process": op, "f": f, **fields}
        self.events.append(dict(base, type="invoke", time=invoke))
        if complete is not None:
            self.events.append(dict(base, type=type_, value=value, time=complete))
        return self

    def grant(self, lock, invoke, complete, token, validity_ms=1000):
        return self.op("acquire", invoke, complete, "ok", (token, validity_ms), lock=lock)

    def release(self, lock, invoke, complete, token):
        return self.op("release", invoke, complete, "ok", 1, lock=lock, token=token)

    def fenced(self, lock, invoke, complete, token, command, type_="ok", error=None):
        b = self.op("fenced", invoke, complete, type_, 1 if type_ == "ok" else None, lock=lock,
                    token=token, command=command)
        if error:
            self.events[-1]["error"] = error
        return b

    def status(self, node, invoke, complete, role, term):
        return self.op("status", invoke, complete, "ok", (role, term), node=node)

    def check(self):
        events = sorted(self.events, key=lambda e: e["time"])
        return check_history(events)


class CheckerTest(unittest.TestCase):
    def assertCaught(self, b, words):
        violations, _ = b.check()
        self.assertTrue(violations, "a bad history passed")
        self.assertTrue(any(words in v for v in violations), violations)

    def assertClean(self, b):
        violations, counts = b.check()
        self.assertEqual(violations, [])
        return counts

    def test_a_good_history_passes_and_is_counted(self):
        b = Builder()
        b.grant("a", 0.0, 0.1, 5).release("a", 0.2, 0.3, 5)
        b.grant("a", 0.4, 0.5, 9).release("a", 0.6, 0.7, 9)
        b.op("acquire", 0.8, 0.9, "ok", None, lock="a")          # held elsewhere: nil
        b.op("acquire", 0.8, 0.9, "fail", None, lock="a")        # -TRYAGAIN
        b.status(1, 0.0, 0.1, "leader", 2).status(2, 0.0, 0.1, "follower", 2)
        counts = self.assertClean(b)
        self.assertEqual(counts["grants"], 2)
        self.assertEqual(counts["acquire_ok"], 3)
        self.assertEqual(counts["acquire_fail"], 1)
        self.assertEqual(counts["status_reads"], 2)

    def test_a_token_granted_twice_is_caught(self):
        b = Builder()
        b.grant("a", 0.0, 0.1, 5).release("a", 0.2, 0.3, 5)
        b.grant("b", 0.4, 0.5, 5)
        self.assertCaught(b, "token 5 granted twice")

    def test_a_smaller_token_after_a_completed_grant_is_caught(self):
        b = Builder()
        b.grant("a", 0.0, 0.1, 10).release("a", 0.2, 0.3, 10)
        b.grant("a", 0.4, 0.5, 7)
        self.assertCaught(b, "which got the smaller token 7")

    def test_the_order_violation_is_found_against_the_largest_earlier_token(self):
        b = Builder()
        b.grant("a", 0.0, 0.1, 3).release("a", 0.1, 0.11, 3)
        b.grant("a", 0.2, 0.3, 20).release("a", 0.3, 0.31, 20)
        b.grant("a", 0.4, 0.5, 8).release("a", 0.5, 0.51, 8)  # above 3, below 20
        self.assertCaught(b, "got token 20")

    def test_concurrent_grants_may_carry_tokens_in_any_order(self):
        b = Builder()
        # Overlapping in real time (b invoked before a completed), tokens reversed: linearizable
        # (b took effect first). Their windows do not overlap: a's starts when b's ended.
        b.grant("a", 0.0, 0.5, 10, validity_ms=200).release("a", 0.55, 0.6, 10)
        b.grant("a", 0.1, 0.2, 4, validity_ms=250)
        self.assertClean(b)

    def test_tokens_of_different_locks_are_not_ordered(self):
        b = Builder()
        b.grant("a", 0.0, 0.1, 1001)
        b.grant("b", 0.2, 0.3, 7)
        self.assertClean(b)

    def test_indeterminate_ops_constrain_nothing(self):
        b = Builder()
        b.op("acquire", 0.0, None, lock="a")                     # never completed
        b.op("acquire", 0.0, 0.1, "info", None, lock="a")        # timed out
        b.grant("a", 0.2, 0.3, 2)
        self.assertClean(b)

    def test_overlapping_grants_of_one_lock_are_caught(self):
        b = Builder()
        b.grant("a", 0.0, 0.1, 5, validity_ms=1000)
        b.grant("a", 0.3, 0.4, 6, validity_ms=1000)   # a still held until 1.0
        self.assertCaught(b, "lock a: op 0 (token 5) held it")

    def test_a_release_or_the_validity_ends_the_window(self):
        b = Builder()
        b.grant("a", 0.0, 0.1, 5, validity_ms=1000).release("a", 0.2, 0.25, 5)
        b.grant("a", 0.3, 0.4, 6, validity_ms=100)    # surely held in [0.4, 0.4): empty
        b.grant("a", 0.45, 0.5, 7, validity_ms=1000)
        self.assertClean(b)
        b.grant("b", 0.0, 0.1, 8, validity_ms=500)
        b.grant("b", 0.6, 0.7, 9, validity_ms=500)    # after b's 8 expired
        self.assertClean(b)
        b.grant("b", 0.65, 0.75, 10, validity_ms=500)  # overlaps 9
        self.assertCaught(b, "lock b:")

    def test_two_leaders_in_one_term_are_caught(self):
        b = Builder()
        b.status(1, 0.0, 0.1, "leader", 3)
        b.status(2, 0.5, 0.6, "leader", 3)
        self.assertCaught(b, "term 3 has two leaders")

    def test_a_term_going_backwards_is_caught(self):
        b = Builder()
        b.status(1, 0.0, 0.1, "follower", 5)
        b.status(1, 0.2, 0.3, "follower", 4)
        self.assertCaught(b, "node 1: term went from 5")
        ok = Builder()
        ok.status(1, 0.0, 0.3, "follower", 5)
        ok.status(1, 0.1, 0.2, "follower", 4)  # overlapping reads: either order
        self.assertClean(ok)
        # kill -9 may lose a term the node reported before it was durable: a new incarnation.
        killed = Builder()
        killed.status(1, 0.0, 0.1, "candidate", 6)
        killed.op("kill", 0.2, 0.5, "ok", None, node=1)
        killed.status(1, 0.6, 0.7, "follower", 5)
        killed.status(2, 0.6, 0.7, "follower", 5)
        self.assertClean(killed)
        killed.status(1, 0.8, 0.9, "follower", 4)  # back again within the new incarnation
        self.assertCaught(killed, "node 1: term went from 5")

    def test_the_schedule_depends_on_the_seed_alone(self):
        self.assertEqual(schedule(7, [1, 2, 3], 60), schedule(7, [1, 2, 3], 60))
        self.assertNotEqual(schedule(7, [1, 2, 3], 60), schedule(8, [1, 2, 3], 60))
        kinds = {k for _, k, _, _ in schedule(7, [1, 2, 3], 600)}
        self.assertEqual(kinds, {"kill", "pause", "partition", "partition-in", "partition-out"})



class ClockJumpTest(unittest.TestCase):
    def test_overlap_is_allowed_only_across_a_clock_jump(self):
        b = Builder()
        b.grant("a", 0.0, 0.1, 5, validity_ms=1000).grant("a", 0.5, 0.6, 9)
        violations, _ = b.check()
        self.assertTrue(any("held it in" in v for v in violations), violations)
        b.op("jump-clock", 0.3, 0.31, "ok", None, node=0)
        violations, _ = b.check()
        self.assertEqual(violations, [])
        # A jump outside the earlier grant's window excuses nothing.
        b2 = Builder()
        b2.grant("a", 0.0, 0.1, 5, validity_ms=1000).grant("a", 0.5, 0.6, 9)
        b2.op("jump-clock", 2.0, 2.01, "ok", None, node=0)
        violations, _ = b2.check()
        self.assertTrue(any("held it in" in v for v in violations), violations)


class BarrierTest(unittest.TestCase):
    def test_log_indexes_unique_and_in_real_time_order(self):
        b = Builder()
        b.op("barrier", 0.0, 0.1, "ok", 7).op("barrier", 0.2, 0.3, "ok", 9)
        b.op("barrier", 0.05, 0.4, "ok", 8)  # concurrent with both: any order
        b.op("barrier", 0.5, None)           # unknown: constrains nothing
        violations, counts = b.check()
        self.assertEqual(violations, [])
        self.assertEqual(counts["barriers"], 3)
        stale = Builder()
        stale.op("barrier", 0.0, 0.1, "ok", 9).op("barrier", 0.2, 0.3, "ok", 8)
        self.assertTrue(any("lower index" in v for v in stale.check()[0]))
        twice = Builder()
        twice.op("barrier", 0.0, 0.1, "ok", 9).op("barrier", 0.0, 0.1, "ok", 9)
        self.assertTrue(any("two barriers" in v for v in twice.check()[0]))


class ResourcesTest(unittest.TestCase):
    """check_resources: the fenced counter and log each lock guards."""

    def history(self):
        b = Builder()
        b.grant("a", 0.0, 0.1, 5).fenced("a", 0.1, 0.2, 5, ["INCR", "n"])
        b.fenced("a", 0.2, 0.3, 5, ["RPUSH", "log", "1:5"])
        b.grant("a", 1.0, 1.1, 9).fenced("a", 1.1, 1.2, 9, ["INCR", "n"])
        b.fenced("a", 1.2, 1.3, 9, ["RPUSH", "log", "2:9"])
        # The first holder, paused, writes late: refused.
        b.fenced("a", 1.4, 1.5, 5, ["INCR", "n"], "fail", "FENCED stale token 5 < 9 for lock a")
        # An INCR whose outcome is unknown (the proxy was killed).
        b.fenced("a", 1.6, None, 9, ["INCR", "n"])
        return sorted(b.events, key=lambda e: e["time"])

    def test_a_good_outcome_passes_and_is_counted(self):
        for counter in (2, 3):  # the unknown INCR may or may not have happened
            violations, counts = check_resources(self.history(), {"a": (counter, ["1:5", "2:9"])})
            self.assertEqual(violations, [])
        self.assertEqual(counts["fenced_ok"], 4)
        self.assertEqual(counts["fenced_refused"], 1)
        self.assertEqual(counts["fenced_unknown"], 1)

    def test_a_stale_write_accepted_is_caught(self):
        violations, _ = check_resources(self.history(), {"a": (2, ["1:5", "2:9", "1:5"])})
        self.assertTrue(any("a stale holder's write was accepted" in v for v in violations),
                        violations)

    def test_a_lost_or_made_up_increment_is_caught(self):
        for counter in (1, 4):
            violations, _ = check_resources(self.history(), {"a": (counter, ["1:5", "2:9"])})
            self.assertTrue(any("INCRs were acknowledged" in v for v in violations), violations)

    def test_a_token_never_granted_is_caught(self):
        violations, _ = check_resources(self.history(), {"a": (2, ["1:5", "3:7", "2:9"])})
        self.assertTrue(any("never granted" in v for v in violations), violations)

if __name__ == "__main__":
    unittest.main(verbosity=2)
