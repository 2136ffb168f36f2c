// nutcracker's stats port (-s PORT -a ADDR -i MS): a TCP listener on the control loop that
// answers every connection with one JSON document, nutcracker's fields and structure (top-level
// service, source, version, uptime, timestamp, total_connections, curr_connections; per pool
// client_eof, client_err, client_connections, server_ejects, forward_error, fragments; per server
// server_eof, server_err, server_timedout, server_connections, server_ejected_at, requests,
// request_bytes, responses, response_bytes, in_queue, in_queue_bytes, out_queue,
// out_queue_bytes), then closes it. As in nutcracker the document is rebuilt every interval:
// the control loop asks each worker, through its mailbox, for a sample of its counters and
// queues (route_stats.h), sums them, and serves the last complete round.
// Thread safety: everything on the control loop's thread; workers are reached by Post only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/base/uv_handle.h"
#include "proxy/route/route_stats.h"

namespace rl::proxy {

class ControlLoop;
class Worker;
struct SharedState;

struct StatsPortOptions {
  std::string address = "0.0.0.0";  // -a
  uint16_t port = 0;                // -s; 0: no stats port
  int interval_ms = 30000;          // -i
};

// The top-level fields of the document.
struct StatsHeader {
  std::string source;  // the host name
  std::string version;
  uint64_t uptime_s = 0;
  uint64_t timestamp_s = 0;
  uint64_t total_connections = 0;
  uint64_t curr_connections = 0;
};

// Sums the workers' samples of each pool (matched by name) and server (by name); a server's
// server_ejected_at is the latest of them.
std::vector<PoolSample> MergeSamples(const std::vector<std::vector<PoolSample>>& per_worker);
// The JSON document nutcracker serves.
std::string RenderStats(const StatsHeader& header, const std::vector<PoolSample>& pools);

// Asks every worker, through its mailbox, for a sample of its counters and queues, and calls
// `done` on the control loop with them all once each answered (never, if one never does: a
// worker that is stopping). Also used by the admin HTTP listener's /metrics.
void SampleWorkers(ControlLoop* control, const std::vector<Worker*>& workers,
                   std::function<void(std::vector<std::vector<PoolSample>>)> done);

class StatsPort {
 public:
  // Binds the listener and starts the interval timer on `control`'s loop (before it runs, or
  // on its thread). On failure returns a message.
  static std::expected<std::unique_ptr<StatsPort>, std::string> Start(
      ControlLoop* control, std::vector<Worker*> workers, const SharedState* shared,
      const StatsPortOptions& options);
  ~StatsPort();
  // Closes the listener and the timer (on the loop's thread).
  void Close();

 private:
  StatsPort() = default;
  static void OnConnection(uv_stream_t* server, int status);
  void Collect();
  void OnSamples(uint64_t round, std::vector<std::vector<PoolSample>> samples);

  ControlLoop* control_ = nullptr;
  std::vector<Worker*> workers_;
  const SharedState* shared_ = nullptr;
  std::string source_;
  UvHandle<uv_tcp_t> listener_;
  UvHandle<uv_timer_t> timer_;
  uint64_t round_ = 0;
  std::string document_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rl::proxy
