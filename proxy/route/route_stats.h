// nutcracker's per-pool and per-server counters (its stats port's fields), kept by each
// worker for its own pools and backends, and the samples a worker takes of them for the stats
// port (proxy/host/stats_port.h), which sums the workers' samples.
// Thread safety: counters are plain fields of one worker's objects, touched only on its thread;
// a sample is a copy, handed to the control loop through its mailbox.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rl::proxy {

// A latency distribution with fixed bucket bounds (Prometheus's cumulative `le` buckets are made
// from it when rendered): counts per bucket, the total count and the sum, in nanoseconds.
struct LatencyHistogram {
  // Upper bounds in microseconds, from 50 µs to 10 s; a last bucket holds what lies above.
  static constexpr std::array<uint64_t, 17> kBoundsUs = {
      50,    100,    250,    500,    1000,    2500,    5000,    10000,   25000,
      50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
  std::array<uint64_t, kBoundsUs.size() + 1> buckets{};
  uint64_t count = 0;
  uint64_t sum_ns = 0;

  void Record(uint64_t ns) {
    const uint64_t us = ns / 1000;
    size_t i = 0;
    while (i < kBoundsUs.size() && us >= kBoundsUs[i]) ++i;
    ++buckets[i];
    ++count;
    sum_ns += ns;
  }
  void Add(const LatencyHistogram& other) {
    for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
    count += other.count;
    sum_ns += other.sum_ns;
  }
};

struct ServerCounters {
  uint64_t server_eof = 0;          // the server closed a connection
  uint64_t server_err = 0;          // a connection failed (connect, read, write, bad reply)
  uint64_t server_timedout = 0;     // requests that timed out
  uint64_t server_connections = 0;  // open now (a gauge)
  uint64_t server_ejected_at = 0;   // µs since the epoch of the last ejection, 0: never
  uint64_t requests = 0;
  uint64_t request_bytes = 0;
  uint64_t responses = 0;
  uint64_t response_bytes = 0;
  LatencyHistogram latency;  // from handing a request to a connection until its reply
};

struct PoolCounters {
  uint64_t client_eof = 0;          // clients that closed (or shut down their writing side)
  uint64_t client_err = 0;          // clients lost to an error (reset, protocol error, eviction)
  uint64_t client_connections = 0;  // open now (a gauge)
  uint64_t server_ejects = 0;
  uint64_t forward_error = 0;  // requests failed because of a server
  uint64_t fragments = 0;      // sub-requests of split multi-key commands
  LatencyHistogram latency;    // from a client's request parsed until its reply is ready
};

struct ServerSample {
  std::string name;  // the server's YAML name, else host:port (as nutcracker names it)
  ServerCounters counters;
  uint64_t in_queue = 0;  // requests queued, not yet written
  uint64_t in_queue_bytes = 0;
  uint64_t out_queue = 0;  // written, waiting for their replies
  uint64_t out_queue_bytes = 0;
};

struct PoolSample {
  std::string name;
  PoolCounters counters;
  std::vector<ServerSample> servers;  // in the topology's order
};

}  // namespace rl::proxy
