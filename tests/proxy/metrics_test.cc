// The /metrics renderer (proxy/host/metrics.h) and the admin listener's HTTP parsing
// (proxy/host/http_admin.h), as pure functions: families with HELP and TYPE, labels escaped,
// histograms cumulative with +Inf equal to the count, Raft fields only in a cluster, the lock
// counters only with a lock service; request heads complete, partial and malformed.
#include "proxy/host/metrics.h"

#include <string>

#include "gtest/gtest.h"
#include "proxy/host/http_admin.h"

namespace rl::proxy {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

MetricsInput OnePool() {
  MetricsInput in;
  in.version = "9.9.9";
  in.process.commands_processed = 42;
  PoolSample pool;
  pool.name = "al\"pha";
  pool.counters.client_connections = 3;
  pool.counters.latency.Record(30'000);          // 30 µs
  pool.counters.latency.Record(700'000);         // 700 µs
  pool.counters.latency.Record(20'000'000'000);  // 20 s: above every bound
  ServerSample server;
  server.name = "r1";
  server.counters.requests = 7;
  server.counters.server_timedout = 2;
  server.counters.latency.Record(120'000);
  server.in_queue = 4;
  pool.servers.push_back(server);
  in.pools.push_back(pool);
  in.ringleader_fields = "rl_node_id:0\r\nrl_role:standalone\r\n";
  return in;
}

TEST(MetricsTest, FamiliesLabelsAndCounters) {
  std::string text = RenderMetrics(OnePool());
  EXPECT_TRUE(Has(text, "# TYPE ringleader_commands_processed_total counter")) << text;
  EXPECT_TRUE(Has(text, "ringleader_commands_processed_total 42"));
  EXPECT_TRUE(Has(text, "ringleader_build_info{version=\"9.9.9\"} 1"));
  EXPECT_TRUE(Has(text, "ringleader_pool_client_connections{pool=\"al\\\"pha\"} 3"));
  EXPECT_TRUE(Has(text, "ringleader_server_requests_total{pool=\"al\\\"pha\",server=\"r1\"} 7"));
  EXPECT_TRUE(Has(
      text, "ringleader_server_errors_total{pool=\"al\\\"pha\",server=\"r1\",kind=\"timeout\"} 2"));
  EXPECT_TRUE(Has(
      text, "ringleader_server_queued_requests{pool=\"al\\\"pha\",server=\"r1\",queue=\"in\"} 4"));
  // Standalone: no Raft families; no lock service: no lock families.
  EXPECT_EQ(text.find("ringleader_raft_"), std::string::npos);
  EXPECT_EQ(text.find("ringleader_lock_"), std::string::npos);
}

TEST(MetricsTest, HistogramsAreCumulativeInSeconds) {
  std::string text = RenderMetrics(OnePool());
  const std::string p = "ringleader_request_duration_seconds";
  EXPECT_TRUE(Has(text, "# TYPE " + p + " histogram"));
  EXPECT_TRUE(Has(text, p + "_bucket{pool=\"al\\\"pha\",le=\"5e-05\"} 1")) << text;
  EXPECT_TRUE(Has(text, p + "_bucket{pool=\"al\\\"pha\",le=\"0.0005\"} 1"));
  EXPECT_TRUE(Has(text, p + "_bucket{pool=\"al\\\"pha\",le=\"0.001\"} 2"));
  EXPECT_TRUE(Has(text, p + "_bucket{pool=\"al\\\"pha\",le=\"10\"} 2"));
  EXPECT_TRUE(Has(text, p + "_bucket{pool=\"al\\\"pha\",le=\"+Inf\"} 3"));
  EXPECT_TRUE(Has(text, p + "_count{pool=\"al\\\"pha\"} 3"));
  EXPECT_TRUE(Has(text, p + "_sum{pool=\"al\\\"pha\"} 20.00073"));
  EXPECT_TRUE(Has(text,
                  "ringleader_server_duration_seconds_bucket{pool=\"al\\\"pha\",server=\"r1\",le="
                  "\"0.00025\"} 1"));
}

TEST(MetricsTest, RaftFieldsInAClusterAndLockCounters) {
  MetricsInput in = OnePool();
  in.ringleader_fields =
      "rl_node_id:2\r\nrl_role:follower\r\nrl_leader_id:1\r\nrl_term:7\r\nrl_commit_index:31\r\n"
      "rl_applied_index:30\r\nrl_members:1@a:1,2@b:2\r\nrl_pool_alpha_epoch:4\r\n"
      "rl_pool_alpha_file:same\r\n";
  lock::LockStats locks;
  locks.grants.store(5);
  locks.waiting.store(2);
  in.locks = &locks;
  std::string text = RenderMetrics(in);
  EXPECT_TRUE(Has(text, "ringleader_raft_role{role=\"follower\"} 1")) << text;
  EXPECT_TRUE(Has(text, "ringleader_raft_role{role=\"leader\"} 0"));
  EXPECT_TRUE(Has(text, "ringleader_raft_term 7"));
  EXPECT_TRUE(Has(text, "ringleader_raft_commit_index 31"));
  EXPECT_TRUE(Has(text, "ringleader_raft_applied_index 30"));
  EXPECT_TRUE(Has(text, "ringleader_raft_leader_id 1"));
  EXPECT_TRUE(Has(text, "ringleader_pool_epoch{pool=\"alpha\"} 4"));
  EXPECT_TRUE(Has(text, "ringleader_lock_grants_total 5"));
  EXPECT_TRUE(Has(text, "ringleader_lock_waiting 2"));
}

TEST(MetricsTest, EscapeLabel) {
  EXPECT_EQ(EscapeLabel("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabel("plain"), "plain");
}

TEST(HttpHeadTest, CompletePartialAndMalformed) {
  auto partial = ParseHttpHead("GET /metrics HTTP/1.1\r\nHost: x\r\n");
  ASSERT_TRUE(partial.has_value());
  EXPECT_FALSE(partial->has_value());
  auto full = ParseHttpHead("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(full.has_value() && full->has_value());
  EXPECT_EQ((*full)->method, "GET");
  EXPECT_EQ((*full)->path, "/metrics");
  auto bare = ParseHttpHead("HEAD /readyz HTTP/1.0\n\n");
  ASSERT_TRUE(bare.has_value() && bare->has_value());
  EXPECT_EQ((*bare)->method, "HEAD");
  EXPECT_FALSE(ParseHttpHead("PING\r\n\r\n").has_value());
  EXPECT_FALSE(ParseHttpHead(std::string(9000, 'a')).has_value());
}

TEST(HttpHeadTest, ResponseHasLengthAndClose) {
  HttpResponse r;
  r.status = 503;
  r.body = "not ready\n";
  EXPECT_EQ(FormatHttpResponse(r, false),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 10\r\nConnection: close\r\n\r\nnot ready\n");
  EXPECT_EQ(FormatHttpResponse(r, true).find("not ready\n"), std::string::npos);
}

}  // namespace
}  // namespace rl::proxy
