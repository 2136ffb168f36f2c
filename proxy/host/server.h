// Serving a configuration: Proxy starts one worker thread per configured worker (each with its
// own loop, listeners and backend connections) and stops them gracefully; Serve() adds what the
// process needs around it (log, pid file, signals). Used by main.cc, and by tests in-process.
// Thread safety: Proxy's methods are called from one controlling thread.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/host/proxy_options.h"

namespace rl::proxy {

class Worker;

struct ServeOptions {
  int log_level = 5;     // nutcracker's -v scale: 0..11, 5 = notice
  std::string log_file;  // -o; empty: stderr. Reopened on SIGHUP.
  std::string pid_file;  // -p; empty: none. Removed at exit.
  ProxyOptions proxy;    // limits and the shutdown bound
};

class Proxy {
 public:
  // Resolves every address, binds every listener and starts the workers. workers = the largest
  // `workers:` of any pool; a TCP pool listens in its first `workers` workers (SO_REUSEPORT), a
  // unix-socket pool in worker 0 only. On failure returns a message (nothing keeps running).
  static std::expected<std::unique_ptr<Proxy>, std::string> Start(const conf::Config& config,
                                                                  const ProxyOptions& options);
  ~Proxy();  // Stop() and Wait()

  // Thread-safe, idempotent: stop accepting, finish in-flight requests within
  // options.shutdown_grace, then close everything.
  void Stop();
  // Blocks until every worker has finished.
  void Wait();

  size_t worker_count() const { return workers_.size(); }

 private:
  Proxy() = default;
  conf::Config config_;
  std::unique_ptr<SharedState> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool waited_ = false;
};

// Serves `config` until SIGTERM or SIGINT, then drains and returns 0. SIGHUP reopens the log
// file. Returns 1 (after logging why) if the proxy cannot start.
int Serve(const conf::Config& config, const ServeOptions& options);

}  // namespace rl::proxy
