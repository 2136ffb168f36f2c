// Serving a configuration: Proxy builds each pool's first topology snapshot, starts one worker
// thread per configured worker (each with its own loop, listeners and backend connections) and
// the control loop (host/control_loop.h), publishes new snapshots to the workers, and stops them
// gracefully through the control loop. Serve() adds what the process needs around it (log, pid
// file, signals) and runs the control loop on the main thread. Used by main.cc, and by tests
// in-process. Thread safety: Start/Wait/~Proxy from one controlling thread; Stop, Publish and
// CurrentTopology from any thread.
#pragma once

#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "proxy/host/control_loop.h"
#include "proxy/host/shared_state.h"
#include "proxy/resp/client.h"

namespace rl::raft {
class Node;
}  // namespace rl::raft

namespace rl::proxy {

class ClusterHost;
class LockService;
class HttpAdmin;
class MigrationDriver;
struct MigrationRoute;
class Reloader;
class StatsPort;
class Topology;
class Worker;

struct ServeOptions {
  int log_level = 5;     // nutcracker's -v scale: 0..11, 5 = notice
  std::string log_file;  // -o; empty: stderr. Reopened on SIGHUP.
  std::string pid_file;  // -p; empty: none. Removed at exit.
  ProxyOptions proxy;    // limits and the shutdown bound
};

// How Proxy::Start runs the control loop.
struct StartOptions {
  // false: on a thread of the Proxy's own (in-process use, tests). true: the caller runs it
  // with Proxy::RunControlLoop() (Serve, on the main thread).
  bool control_on_caller = false;
  // SIGTERM/SIGINT stop (drain), SIGHUP reopens the log, handled on the control loop from
  // before the workers start.
  bool handle_signals = false;
};

class Proxy {
 public:
  // Builds every pool's first snapshot (epoch 1; resolving every server address), binds every
  // listener, starts the control loop and the workers. workers = the largest `workers:` of any
  // pool; a TCP pool listens in its first `workers` workers (SO_REUSEPORT), a unix-socket pool in
  // worker 0 only. On failure returns a message (nothing keeps running).
  static std::expected<std::unique_ptr<Proxy>, std::string> Start(const conf::Config& config,
                                                                  const ProxyOptions& options,
                                                                  StartOptions start = {});
  ~Proxy();  // Stop() and Wait()

  // Thread-safe, idempotent: through the control loop, every worker stops accepting, finishes
  // in-flight requests within options.shutdown_grace, then closes everything; the control loop
  // ends once every worker has.
  void Stop();
  // REQUIRES: StartOptions::control_on_caller. Runs the control loop until the proxy stopped;
  // Wait() and the destructor need it to have returned.
  void RunControlLoop();
  // Blocks until every worker and the control loop have finished.
  void Wait();

  // The last snapshot published for pool `name`, or nullptr for a pool it does not serve.
  std::shared_ptr<const Topology> CurrentTopology(std::string_view name) const;
  // How to reach every server of every served pool in its current snapshot (credentials and db
  // included), for the lock service's fence marks. Any thread.
  std::vector<RespClientOptions> DataServers() const;
  // Publishes `topology`, the next snapshot of one of the served pools (Topology::Build from
  // CurrentTopology, with a higher epoch), to every worker serving the pool; each swaps it in
  // between requests (PoolRouter::Apply). `done` runs on the control loop once every worker has
  // it. Refused with a message: an unknown pool, an epoch not above the current one, or a
  // change of what is bound at start (listen, backlog, workers, client_auth, and
  // server_connections, which places each client's requests on one connection: they need a
  // restart). Before the workers start (a cluster node publishing its recovered state), each
  // has it at once, before it serves its first request.
  std::expected<void, std::string> Publish(std::shared_ptr<const Topology> topology,
                                           std::function<void()> done = {});
  // Like Publish, but at the current epoch, for a change of settings only (RINGLEADER RELOAD in
  // a cluster, where epochs are the committed ones): refused unless `topology` has the current
  // epoch and places and addresses every server as the current snapshot does.
  std::expected<void, std::string> PublishSettings(std::shared_ptr<const Topology> topology,
                                                   std::function<void()> done = {});

  // Publishes a ring change's data path for pool `pool` (nullptr: the change is over) to every
  // worker serving it (PoolRouter::SetMigration); `done` runs on the control loop once every
  // worker has it and has finished the plans it started under the previous route: the
  // acknowledgment (and drain) a migration's PREPARE waits for.
  void PublishMigration(const std::string& pool, std::shared_ptr<const MigrationRoute> route,
                        std::function<void()> done);

  size_t worker_count() const { return workers_.size(); }
  ControlLoop& control() { return control_; }
  // Why the proxy stopped itself (the cluster node's fatal error), or empty. After Wait().
  const std::string& failure() const { return failure_; }

 private:
  // StartOptions::handle_signals: nutcracker's signals on the control loop (see server.cc).
  void HandleSignals();
  // Starts the `ringleader: locks:` service; its tokens minted through `cluster` when not null.
  std::expected<void, std::string> StartLocks(raft::Node* cluster);
  Proxy() = default;
  std::expected<void, std::string> PublishAt(std::shared_ptr<const Topology> topology,
                                             std::function<void()> done, bool same_epoch);
  void OnWorkerFinished();
  // On the control loop: logs `why`, remembers it for failure() and stops the proxy.
  void Fail(std::string why);

  conf::Config config_;
  std::unique_ptr<SharedState> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  size_t workers_running_ = 0;    // control loop thread only
  bool workers_started_ = false;  // set by Start, before the worker threads exist
  bool stopping_ = false;         // control loop thread only
  mutable std::mutex topology_mu_;
  std::map<std::string, std::shared_ptr<const Topology>, std::less<>> topologies_;
  bool waited_ = false;
  // Last, so destroyed first: closures still posted to it (Stop's) may touch the members above.
  ControlLoop control_;
  // After control_ in declaration, so destroyed before it; closed by the control loop's quit.
  std::unique_ptr<StatsPort> stats_port_;
  std::unique_ptr<HttpAdmin> http_admin_;
  std::unique_ptr<ClusterHost> cluster_;  // a `ringleader: cluster:` section; closed likewise
  std::string failure_;
  // The same for the lock coordinator (`ringleader: locks:`); null without it.
  std::unique_ptr<LockService> lock_service_;
  std::unique_ptr<Reloader> reloader_;  // RINGLEADER RELOAD; closed likewise
  // Online key migration (standalone only; null in a cluster); closed likewise.
  std::unique_ptr<MigrationDriver> migration_;
};

// Serves `config` until SIGTERM or SIGINT, then drains and returns 0. SIGHUP reopens the log
// file. Returns 1 (after logging why) if the proxy cannot start, or stopped itself (a cluster
// node that must not run: see ClusterHost).
int Serve(const conf::Config& config, const ServeOptions& options);

}  // namespace rl::proxy
