#!/usr/bin/python3
"""redis-py's INFO through ringleader: what redis-py's own test fixtures (its conftest) read at
start-up (redis_version, arch_bits, cluster_enabled, an unknown command answered as an error),
INFO's sections parsed by redis-py into dicts (keyspace, commandstats), several sections in
one call, and the data's fields summed over the three servers."""
import os
import sys
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_py_cluster import ClusterTestCase  # noqa: E402


class RedisPyInfoTest(ClusterTestCase):
    def test_what_redis_pys_conftest_reads(self):
        info = self.r.info()
        self.assertEqual(info["redis_version"], "7.0.15")
        self.assertEqual(info["arch_bits"], 64)
        self.assertEqual(info["cluster_enabled"], 0)
        self.assertEqual(info["redis_mode"], "standalone")
        self.assertEqual(info["role"], "master")
        # conftest probes for Redis Enterprise with DPING: an error, not a dropped connection.
        with self.assertRaises(redis.ResponseError):
            self.r.execute_command("DPING")
        self.assertTrue(self.r.ping())

    def test_tools_fields(self):
        info = self.r.info("everything")
        for name in ("used_memory", "used_memory_human", "used_memory_peak", "mem_allocator",
                     "maxmemory", "blocked_clients", "connected_clients",
                     "rdb_changes_since_last_save", "used_cpu_sys", "used_cpu_user",
                     "instantaneous_ops_per_sec", "total_commands_processed",
                     "keyspace_hits", "keyspace_misses", "uptime_in_seconds"):
            self.assertIn(name, info, name)
        self.assertIsInstance(info["used_cpu_sys"], float)
        self.assertGreater(info["used_memory"], max(b.info("memory")["used_memory"]
                                                    for b in self.backends))

    def test_keyspace_is_summed_over_the_servers(self):
        for b in self.backends:
            b.flushdb()
        self.r.mset({f"info:k{i}": i for i in range(60)})
        for i in range(10):
            self.r.expire(f"info:k{i}", 1000)
        keyspace = self.r.info("keyspace")
        self.assertEqual(keyspace["db0"]["keys"], 60)
        self.assertEqual(keyspace["db0"]["expires"], 10)
        self.assertEqual(sum(b.dbsize() for b in self.backends), 60)

    def test_several_sections_and_commandstats(self):
        info = self.r.info("server", "clients")
        self.assertIn("redis_version", info)
        self.assertIn("connected_clients", info)
        self.assertNotIn("used_memory", info)
        self.r.get("info:x")
        stats = self.r.info("commandstats")
        self.assertGreaterEqual(stats["cmdstat_get"]["calls"], 1)
        self.assertIn("usec_per_call", stats["cmdstat_get"])


if __name__ == "__main__":
    unittest.main()
