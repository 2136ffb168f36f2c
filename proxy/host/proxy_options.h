// Run-time options of the data path that are not pool settings (limits, drain bound, reconnect
// back-off); main.cc fills them from the YAML's `ringleader:` section and the command line (see
// process_settings.h). Thread safety: a plain value, copied into SharedState before the
// workers start.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "conf/config.h"
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
  // Bytes of buffers the process's clients may hold together (their requests and replies in
  // flight) before the largest are evicted, as Redis's maxmemory-clients; 0: no limit. The
  // default (process_settings.h) is half the memory the process may use.
  size_t client_memory_limit = 0;
  // On SIGTERM/SIGINT, how long in-flight requests may take before connections are cut.
  std::chrono::milliseconds shutdown_grace{5000};
  // Reconnect back-off after a failed connect to a backend: doubles from min to max.
  std::chrono::milliseconds reconnect_min{5};
  std::chrono::milliseconds reconnect_max{25};
  // nutcracker's stats port (-s, -a, -i): served only when -s is given (stats_port != 0).
  std::string stats_addr = "0.0.0.0";
  uint16_t stats_port = 0;
  int stats_interval_ms = 30000;
};

}  // namespace rl::proxy
