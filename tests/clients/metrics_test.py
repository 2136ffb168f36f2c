#!/usr/bin/python3
"""The admin HTTP listener (`ringleader: http_listen:`) of a real ringleader over real
redis-servers: /healthz, /readyz (503 naming a server that went away), /metrics passing Debian's
`promtool check metrics`, and a real Prometheus server scraping it and answering PromQL queries
about the traffic sent through the proxy."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, free_port  # noqa: E402

BINARY = os.environ.get("RL_RINGLEADER", "build/proxy/ringleader")


def get(url):
    """(status, body) of a GET, 4xx/5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def get_or_none(url):
    """The status of a GET, or None while nothing answers."""
    try:
        return get(url)[0]
    except (urllib.error.URLError, ConnectionError):
        return None


def wait_until(condition, bound=60.0):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)  # polling interval of a bounded wait
    return None


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.http = free_port()
        cls.cluster = Cluster(BINARY, servers=2,
                              top_extra=f"ringleader:\n  http_listen: 127.0.0.1:{cls.http}\n"
                              ).__enter__()
        cls.base = f"http://127.0.0.1:{cls.http}"
        r = redis.Redis(host="127.0.0.1", port=cls.cluster.port)
        for i in range(100):
            r.set(f"m:{i}", i)
            r.get(f"m:{i}")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def metric_sum(self, text, name):
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def test_1_health_and_readiness(self):
        self.assertEqual(get(self.base + "/healthz"), (200, "ok\n"))
        self.assertEqual(get(self.base + "/readyz"), (200, "ready\n"))
        status, body = get(self.base + "/nope")
        self.assertEqual(status, 404)

    def test_2_metrics_pass_promtool_and_count_the_traffic(self):
        status, text = get(self.base + "/metrics")
        self.assertEqual(status, 200)
        check = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                               capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertGreaterEqual(self.metric_sum(text, "ringleader_server_requests_total"), 200)
        self.assertGreaterEqual(
            self.metric_sum(text, "ringleader_request_duration_seconds_count"), 200)
        self.assertGreaterEqual(self.metric_sum(text, "ringleader_commands_processed_total"), 200)

    def test_3_a_real_prometheus_scrapes_it(self):
        tmp = tempfile.mkdtemp(prefix="rl-prometheus-")
        prom = None
        try:
            config = os.path.join(tmp, "prometheus.yml")
            with open(config, "w") as f:
                f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                        "  - job_name: ringleader\n    static_configs:\n"
                        f"      - targets: ['127.0.0.1:{self.http}']\n")
            port = free_port()
            with open(os.path.join(tmp, "prometheus.log"), "w") as log:
                prom = subprocess.Popen(
                    ["prometheus", f"--config.file={config}",
                     f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                     f"--web.listen-address=127.0.0.1:{port}"],
                    stdout=log, stderr=subprocess.STDOUT)
            ready = wait_until(lambda: prom.poll() is None
                               and get_or_none(f"http://127.0.0.1:{port}/-/ready") == 200)
            self.assertTrue(ready, "prometheus did not become ready")

            def query(q):
                url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
                status, body = get(url)
                if status != 200:
                    return None
                result = json.loads(body)["data"]["result"]
                return float(result[0]["value"][1]) if result else None

            up = wait_until(lambda: query('up{job="ringleader"}'))
            self.assertEqual(up, 1.0, "prometheus never scraped ringleader successfully")
            requests = wait_until(lambda: query("sum(ringleader_server_requests_total)"))
            self.assertIsNotNone(requests)
            self.assertGreaterEqual(requests, 200)
            count = query("sum(ringleader_request_duration_seconds_count)")
            self.assertGreaterEqual(count, 200)
        finally:
            if prom is not None:
                prom.kill()
                prom.wait()
            shutil.rmtree(tmp, ignore_errors=True)

    def test_4_readyz_names_a_server_that_went_away(self):
        backend = self.cluster.procs[1]  # the second redis-server
        backend.kill()
        backend.wait()
        gone = self.cluster.backend_ports[1]
        status, body = get(self.base + "/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn(f"server 127.0.0.1:{gone}", body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
