"""The set-up the redis-py tests share: one ringleader (the binary in $RL_RINGLEADER) in front of
three redis-servers for the whole test class, a redis-py client on the proxy (`r`) and one on
each backend (`backends`), all stopped when the class is done."""
import os
import sys
import unittest

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")


class ClusterTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(BINARY).__enter__()
        cls.r = redis.Redis(host="127.0.0.1", port=cls.cluster.port, socket_timeout=10)
        cls.backends = [redis.Redis(host="127.0.0.1", port=p, socket_timeout=10)
                        for p in cls.cluster.backend_ports]

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)
