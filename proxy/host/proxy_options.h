// Run-time options of the data path (limits, drain bound; main.cc fills them from the YAML's
// `ringleader:` section and the command line, see process_settings.h), and the read-only state
// every worker shares (configuration, counters, identity for INFO).
// Thread safety: SharedState is built before the workers start and is immutable afterwards,
// except the atomics it holds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/host/stats.h"
#include "proxy/resp/resp_parser.h"

namespace rl::proxy {

struct ProxyOptions {
  RequestLimits request_limits;
  // A client whose replies waiting to be written exceed this is closed (it pipelines and does
  // not read). Redis's default for normal clients is unlimited; a proxy must bound it.
  size_t client_output_limit = 256u << 20;
  // A client with this many requests in flight is not read from until half of them are
  // answered (backpressure instead of unbounded queues).
  uint32_t client_max_inflight = 16384;
  // On SIGTERM/SIGINT, how long in-flight requests may take before connections are cut.
  std::chrono::milliseconds shutdown_grace{5000};
  // Reconnect back-off after a failed connect to a backend: doubles from min to max.
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{1000};
};

struct SharedState {
  const conf::Config* config = nullptr;
  ProxyOptions options;
  std::vector<std::unique_ptr<WorkerStats>> stats;  // one per worker
  std::atomic<uint64_t> next_client_id{1};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::string run_id;  // 40 hex characters, as Redis's
};

}  // namespace rl::proxy
