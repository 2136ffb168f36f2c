// /metrics: what the process knows about itself, in Prometheus's text exposition format
// (version 0.0.4): per pool and server the counters of route_stats.h (requests, bytes, errors by
// kind, connections, ejections) with latency histograms of proxy time and backend time; the
// process's own counters (WorkerStats); the Raft node's role, term and indexes (from the fields
// of INFO ringleader); the lock service's counters. Pure: the admin HTTP listener
// (http_admin.h) gathers the input. Thread safety: a function of its arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lock/stats.h"
#include "proxy/route/route_stats.h"

namespace rl::proxy {

struct ProcessCounters {
  uint64_t uptime_s = 0;
  uint64_t connections_received = 0;
  uint64_t connected_clients = 0;
  uint64_t commands_processed = 0;
  uint64_t net_input_bytes = 0;
  uint64_t net_output_bytes = 0;
  uint64_t protocol_errors = 0;
  uint64_t rejected_connections = 0;
  uint64_t output_limit_closes = 0;
  uint64_t evicted_clients = 0;
  uint64_t backend_connections = 0;
  uint64_t fenced_writes = 0;
  uint64_t fenced_refused = 0;
};

struct MetricsInput {
  std::string version;
  ProcessCounters process;
  std::vector<PoolSample> pools;  // merged over the workers (MergeSamples)
  // The `rl_*` lines of INFO ringleader ("key:value\r\n"); a standalone process has
  // rl_role:standalone and no Raft fields.
  std::string ringleader_fields;
  const lock::LockStats* locks = nullptr;  // null without `ringleader: locks:`
};

std::string RenderMetrics(const MetricsInput& input);

// A label value escaped as the format wants it (backslash, double quote, newline).
std::string EscapeLabel(std::string_view value);

}  // namespace rl::proxy
