// nutcracker's per-pool and per-server counters (its stats port's fields), kept by each
// worker for its own pools and backends, and the samples a worker takes of them for the stats
// port (proxy/host/stats_port.h), which sums the workers' samples.
// Thread safety: counters are plain fields of one worker's objects, touched only on its thread;
// a sample is a copy, handed to the control loop through its mailbox.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rl::proxy {

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
};

struct PoolCounters {
  uint64_t client_eof = 0;          // clients that closed (or shut down their writing side)
  uint64_t client_err = 0;          // clients lost to an error (reset, protocol error, eviction)
  uint64_t client_connections = 0;  // open now (a gauge)
  uint64_t server_ejects = 0;
  uint64_t forward_error = 0;  // requests failed because of a server
  uint64_t fragments = 0;      // sub-requests of split multi-key commands
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
