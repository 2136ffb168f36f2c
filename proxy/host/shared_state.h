// The read-only state every worker of a Proxy shares: the configuration it started with, the
// options, per-worker counters (for INFO), the client id counter and the identity INFO reports.
// Thread safety: built before the workers start and immutable afterwards, except the atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/host/proxy_options.h"
#include "proxy/host/stats.h"

namespace rl::proxy {

class ClusterService;
class ControlLoop;
class LockService;
class MigrationDriver;
class Reloader;

struct SharedState {
  const conf::Config* config = nullptr;
  ProxyOptions options;
  std::vector<std::unique_ptr<WorkerStats>> stats;  // one per worker
  std::atomic<uint64_t> next_client_id{1};
  // Client connections open in the whole process, and the most it admits before refusing with
  // "max number of clients reached" (0: no limit): the open-file limit less what the server
  // connections and listeners need, so that a client is refused with a reply rather than
  // dropped by a failed accept (Redis sizes maxclients the same way).
  std::atomic<uint32_t> clients{0};
  uint32_t max_clients = 0;
  // Bytes of buffers (chunks) every worker holds: clients' requests and replies in flight.
  std::atomic<int64_t> buffered_bytes{0};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::string run_id;    // 40 hex characters, as Redis's
  InfoRates info_rates;  // INFO's instantaneous_ops_per_sec and kbps
  // The control loop, for work a worker hands over (RINGLEADER ...), and the cluster membership
  // it hosts (nullptr: a standalone process). Set before the workers start.
  ControlLoop* control = nullptr;
  ClusterService* cluster = nullptr;
  // `ringleader: locks:`'s service on the control loop (host/lock_service.h); null without it.
  LockService* locks = nullptr;
  // RINGLEADER RELOAD, answered on the control loop (host/reloader.h). Set before the workers
  // start.
  Reloader* reloader = nullptr;
  // Online key migration (host/migration_driver.h), standalone only: null in a cluster. Set
  // before the workers start; InfoFields() and Call() are its any-thread and control-loop entries.
  MigrationDriver* migration = nullptr;
};

}  // namespace rl::proxy
