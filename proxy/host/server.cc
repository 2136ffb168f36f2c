#include "proxy/host/server.h"

#include <execinfo.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "fmt/format.h"
#include "proxy/base/log.h"
#include "proxy/host/cluster_host.h"
#include "proxy/host/http_admin.h"
#include "proxy/host/lock_service.h"
#include "proxy/host/migration_driver.h"
#include "proxy/host/reloader.h"
#include "proxy/host/stats_port.h"
#include "proxy/host/worker.h"
#include "proxy/io/address.h"
#include "proxy/io/listener.h"
#include "proxy/route/pool_router.h"
#include "proxy/route/topology.h"

namespace rl::proxy {

namespace {

std::string RandomRunId() {
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 40; ++i) id += "0123456789abcdef"[rd() % 16];
  return id;
}

// Raises the soft open-file limit to the hard one (as Redis does for maxclients) and returns
// how many clients the process may then hold: the limit less the descriptors its server
// connections, listeners and loops need.
uint32_t ClientCapacity(const conf::Config& config) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
      Log(kLogNotice, "raised the open-file limit from {} to {}", before, limit.rlim_cur);
    } else {
      getrlimit(RLIMIT_NOFILE, &limit);
    }
  }
  if (limit.rlim_cur == RLIM_INFINITY) return 0;
  uint64_t reserved = 64;  // the log, loops, mailboxes, signal pipes, stdio, resolver
  for (const conf::Pool& pool : config.pools) {
    uint64_t workers = static_cast<uint64_t>(std::max(1, pool.workers));
    // Per worker: the listener, the shared connections and the one subscriber connection per
    // server that every pub/sub client of the worker shares (session/pubsub_hub.h).
    reserved +=
        workers * (1 + pool.servers.size() *
                           (static_cast<uint64_t>(std::max(1, pool.server_connections)) + 1));
  }
  uint64_t capacity = limit.rlim_cur > reserved ? limit.rlim_cur - reserved : 16;
  return static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(capacity, 16), UINT32_MAX));
}

// nutcracker's fatal-signal handler: the stack to the log, then the default action (a core).
void OnFatalSignal(int signum) {
  LogFatalSignal(signum == SIGSEGV ? "signal 11 (SIGSEGV) received, core dumping"
                                   : "fatal signal received, core dumping");
  raise(signum);  // SA_RESETHAND restored the default action
}

}  // namespace

void Proxy::HandleSignals() {
  // Every signal nutcracker handles (nc_signal.c), handled and logged as it does them:
  // "signal 21 (SIGTTIN) received, up logging level". SIGUSR1 and SIGUSR2 are only logged
  // (their default action would kill the process); TTIN and TTOU step the verbosity (their
  // default would stop a process run from a shell); HUP reopens the log. INT, and TERM (left at
  // its default by nutcracker), stop after the in-flight requests finish. PIPE is ignored
  // (Start). SEGV logs the stack and dumps core.
  struct Handled {
    int signum;
    const char* name;
    const char* action;
  };
  static constexpr Handled kSignals[] = {
      {SIGUSR1, "SIGUSR1", ""},
      {SIGUSR2, "SIGUSR2", ""},
      {SIGTTIN, "SIGTTIN", ", up logging level"},
      {SIGTTOU, "SIGTTOU", ", down logging level"},
      {SIGHUP, "SIGHUP", ", reopening log file"},
      {SIGINT, "SIGINT", ", exiting after the in-flight requests"},
      {SIGTERM, "SIGTERM", ", exiting after the in-flight requests"},
  };
  for (const Handled& h : kSignals) {
    control_.OnSignal(h.signum, [this, h](int) {
      Log(kLogAlways, "signal {} ({}) received{}", h.signum, h.name, h.action);
      switch (h.signum) {
        case SIGTTIN:
          if (auto level = RaiseLogLevel()) Log(kLogAlways, "up log level to {}", *level);
          break;
        case SIGTTOU:
          if (auto level = LowerLogLevel()) Log(kLogAlways, "down log level to {}", *level);
          break;
        case SIGHUP:
          if (std::string error = ReopenLog(); !error.empty()) {
            Log(kLogError, "{}", error);
          } else {
            Log(kLogAlways, "log file reopened");
          }
          break;
        case SIGINT:
        case SIGTERM:
          if (!stopping_) Stop();
          break;
        default:
          break;
      }
    });
  }
  void* warm[1];
  backtrace(warm, 1);  // loads the unwinder now: the first call may allocate, a handler must not
  struct sigaction sa {};
  sa.sa_handler = OnFatalSignal;
  sa.sa_flags = static_cast<int>(SA_RESETHAND);
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
}

std::expected<std::unique_ptr<Proxy>, std::string> Proxy::Start(const conf::Config& config,
                                                                const ProxyOptions& options,
                                                                StartOptions start) {
  // A client that goes away mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Proxy> proxy(new Proxy);
  proxy->config_ = config;
  proxy->shared_ = std::make_unique<SharedState>();
  SharedState& shared = *proxy->shared_;
  shared.config = &proxy->config_;
  shared.options = options;
  shared.run_id = RandomRunId();
  shared.max_clients = ClientCapacity(proxy->config_);
  if (auto ok = proxy->control_.Init(); !ok) return std::unexpected(ok.error());
  // Installed before the workers exist, so that no signal is missed.
  if (start.handle_signals) proxy->HandleSignals();
  // Standalone, the lock service starts here (its token file is checked before anything
  // listens); in a cluster once the node exists, below.
  if (proxy->config_.ringleader.locks && !proxy->config_.ringleader.cluster) {
    if (auto ok = proxy->StartLocks(nullptr); !ok) return std::unexpected(ok.error());
  }

  int worker_count = 1;
  for (const conf::Pool& pool : proxy->config_.pools) {
    worker_count = std::max(worker_count, pool.workers);
  }
  std::vector<std::vector<PoolSetup>> setups(static_cast<size_t>(worker_count));
  // Close the fds of what was opened if a later step fails.
  auto close_all = [&] {
    for (auto& list : setups) {
      for (PoolSetup& s : list) {
        if (s.listen_fd >= 0) close(s.listen_fd);
      }
    }
  };
  // In a cluster the file's topology is epoch 0: served until the committed one (epoch >= 1)
  // is applied, which replaces it.
  const uint64_t first_epoch = proxy->config_.ringleader.cluster ? 0 : 1;
  for (const conf::Pool& pool : proxy->config_.pools) {
    auto topology = Topology::Build(pool, first_epoch);
    if (!topology) {
      close_all();
      return std::unexpected(topology.error());
    }
    proxy->topologies_.emplace(pool.name, *topology);
    bool is_unix = pool.listen.kind == conf::Address::Kind::kUnix;
    int listeners = is_unix ? 1 : std::max(1, pool.workers);
    auto clients = std::make_shared<std::atomic<uint32_t>>(0);  // for client_connections
    std::optional<ResolvedAddress> listen;
    if (!is_unix) {
      auto resolved = Resolve(pool.listen);
      if (!resolved) {
        close_all();
        return std::unexpected(fmt::format("pool '{}': listen {}", pool.name, resolved.error()));
      }
      listen = std::move(*resolved);
    }
    for (int w = 0; w < listeners; ++w) {
      auto fd = is_unix ? Listener::OpenUnix(pool.listen)
                        : Listener::OpenTcp(*listen, pool.reuseport || listeners > 1);
      if (!fd) {
        close_all();
        return std::unexpected(fmt::format("pool '{}': {}", pool.name, fd.error()));
      }
      PoolSetup setup;
      setup.topology = *topology;
      setup.listen_fd = *fd;
      setup.listen_unix = is_unix;
      setup.client_password = pool.ClientPassword();
      setup.clients = clients;
      setups[static_cast<size_t>(w)].push_back(std::move(setup));
    }
  }
  for (int w = 0; w < worker_count; ++w) {
    shared.stats.push_back(std::make_unique<WorkerStats>());
  }
  for (int w = 0; w < worker_count; ++w) {
    auto worker = std::make_unique<Worker>(w, &shared);
    auto ok = worker->Init(std::move(setups[static_cast<size_t>(w)]));
    proxy->workers_.push_back(std::move(worker));
    if (!ok) {
      for (size_t rest = static_cast<size_t>(w) + 1; rest < setups.size(); ++rest) {
        for (PoolSetup& s : setups[rest]) {
          if (s.listen_fd >= 0) close(s.listen_fd);
        }
      }
      proxy->workers_.clear();  // closes what the initialised workers opened
      proxy->waited_ = true;
      return std::unexpected(ok.error());
    }
  }
  if (options.stats_port != 0) {  // bound before the workers start, so failing stops nothing
    std::vector<Worker*> workers;
    for (auto& worker : proxy->workers_) workers.push_back(worker.get());
    auto port = StatsPort::Start(&proxy->control_, std::move(workers), &shared,
                                 {.address = options.stats_addr,
                                  .port = options.stats_port,
                                  .interval_ms = options.stats_interval_ms});
    if (!port) {
      proxy->workers_.clear();
      proxy->waited_ = true;
      return std::unexpected(port.error());
    }
    proxy->stats_port_ = std::move(*port);
    StatsPort* stats = proxy->stats_port_.get();
    proxy->control_.OnQuit([stats] { stats->Close(); });
  }
  if (const auto& listen = proxy->config_.ringleader.http_listen) {
    std::vector<Worker*> workers;
    for (auto& worker : proxy->workers_) workers.push_back(worker.get());
    Proxy* self = proxy.get();
    auto admin = HttpAdmin::Start(&proxy->control_, std::move(workers), &shared, *listen,
                                  [self] { return self->DataServers(); });
    if (!admin) {
      proxy->workers_.clear();
      proxy->waited_ = true;
      return std::unexpected(admin.error());
    }
    proxy->http_admin_ = std::move(*admin);
    HttpAdmin* http = proxy->http_admin_.get();
    proxy->control_.OnQuit([http] { http->Close(); });
  }
  shared.control = &proxy->control_;
  if (proxy->config_.ringleader.cluster) {
    Proxy* self = proxy.get();
    auto cluster = ClusterHost::Start(self, proxy->config_,
                                      [self](std::string why) { self->Fail(std::move(why)); });
    if (!cluster) {
      proxy->workers_.clear();
      proxy->waited_ = true;
      return std::unexpected(cluster.error());
    }
    proxy->cluster_ = std::move(*cluster);
    shared.cluster = proxy->cluster_.get();
    ClusterHost* host = proxy->cluster_.get();
    proxy->control_.OnQuit([host] { host->Close(); });
    if (proxy->config_.ringleader.locks) {
      // Tokens minted through the node: there is no file to open, so this does not fail.
      if (auto ok = proxy->StartLocks(host->node()); !ok) {
        proxy->workers_.clear();
        proxy->waited_ = true;
        return std::unexpected(ok.error());
      }
    }
  }
  proxy->reloader_ =
      std::make_unique<Reloader>(proxy.get(), &proxy->config_, proxy->cluster_.get());
  shared.reloader = proxy->reloader_.get();
  Reloader* reloader = shared.reloader;
  proxy->control_.OnQuit([reloader] { reloader->Close(); });
  if (!proxy->config_.ringleader.cluster) {
    proxy->migration_ = std::make_unique<MigrationDriver>(proxy.get(), proxy->control_.loop(),
                                                          proxy->config_.ringleader);
    shared.migration = proxy->migration_.get();
    reloader->set_migration(proxy->migration_.get());
    MigrationDriver* driver = proxy->migration_.get();
    for (const conf::Pool& pool : proxy->config_.pools) driver->AddPool(pool.name);
    proxy->control_.OnQuit([driver] { driver->Close(); });
  }
  proxy->workers_running_ = proxy->workers_.size();
  proxy->workers_started_ = true;
  Proxy* p = proxy.get();
  for (auto& worker : proxy->workers_) {
    worker->Start([p] { p->control_.Post([p] { p->OnWorkerFinished(); }); });
  }
  if (!start.control_on_caller) proxy->control_.Start();
  return proxy;
}

Proxy::~Proxy() {
  Stop();
  Wait();
}

void Proxy::Stop() {
  // If the control loop already quit, every worker has finished: nothing to stop.
  control_.Post([this] {
    if (stopping_) return;
    stopping_ = true;
    for (auto& worker : workers_) worker->Stop();
  });
}

std::expected<void, std::string> Proxy::StartLocks(raft::Node* cluster) {
  auto service = LockService::Start(&control_, *config_.ringleader.locks, cluster);
  if (!service) return std::unexpected(service.error());
  lock_service_ = std::move(*service);
  shared_->locks = lock_service_.get();
  LockService* l = shared_->locks;
  control_.OnQuit([l] { l->Close(); });
  l->SetDataServers([this] { return DataServers(); });
  return {};
}

void Proxy::Fail(std::string why) {
  if (failure_.empty()) failure_ = std::move(why);
  Stop();
}

void Proxy::OnWorkerFinished() {
  if (--workers_running_ == 0) control_.Quit();
}

void Proxy::RunControlLoop() { control_.Run(); }

void Proxy::Wait() {
  if (waited_) return;
  waited_ = true;
  control_.Join();
  for (auto& worker : workers_) worker->Join();
  workers_.clear();
}

std::vector<RespClientOptions> Proxy::DataServers() const {
  std::vector<RespClientOptions> out;
  for (const conf::Pool& pool : config_.pools) {
    std::shared_ptr<const Topology> topology = CurrentTopology(pool.name);
    if (topology == nullptr) continue;
    for (const TopologyServer& server : topology->servers()) {
      RespClientOptions options;
      const conf::Address& a = server.conf.address;
      if (a.kind == conf::Address::Kind::kUnix) {
        options.unix_path = a.path;
      } else {
        options.host = a.host;
        options.port = a.port;
      }
      options.password = topology->pool().redis_auth;
      options.db = topology->pool().redis_db;
      out.push_back(std::move(options));
    }
  }
  return out;
}

std::shared_ptr<const Topology> Proxy::CurrentTopology(std::string_view name) const {
  std::lock_guard lock(topology_mu_);
  auto it = topologies_.find(name);
  return it == topologies_.end() ? nullptr : it->second;
}

std::expected<void, std::string> Proxy::Publish(std::shared_ptr<const Topology> topology,
                                                std::function<void()> done) {
  return PublishAt(std::move(topology), std::move(done), /*same_epoch=*/false);
}

std::expected<void, std::string> Proxy::PublishSettings(std::shared_ptr<const Topology> topology,
                                                        std::function<void()> done) {
  return PublishAt(std::move(topology), std::move(done), /*same_epoch=*/true);
}

void Proxy::PublishMigration(const std::string& pool, std::shared_ptr<const MigrationRoute> route,
                             std::function<void()> done) {
  // As in PublishAt: `done` runs once the last worker's closure is gone.
  std::shared_ptr<void> all_applied(nullptr, [this, done = std::move(done)](void*) {
    if (done) control_.Post(done);
  });
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->Post([w, pool, route, all_applied] {
      // The worker's acknowledgment waits for its plans under the previous route to finish.
      if (PoolRouter* p = w->FindPool(pool); p != nullptr) p->SetMigration(route, all_applied);
    });
  }
}

namespace {

bool SameServers(const Topology& a, const Topology& b) {
  if (a.servers().size() != b.servers().size()) return false;
  const conf::Pool& pa = a.pool();
  const conf::Pool& pb = b.pool();
  if (pa.hash != pb.hash || pa.distribution != pb.distribution || pa.hash_tag != pb.hash_tag) {
    return false;
  }
  for (size_t i = 0; i < a.servers().size(); ++i) {
    const conf::Server& x = a.servers()[i].conf;
    const conf::Server& y = b.servers()[i].conf;
    if (x.identity != y.identity || x.weight != y.weight || !x.address.SameEndpoint(y.address)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::expected<void, std::string> Proxy::PublishAt(std::shared_ptr<const Topology> topology,
                                                  std::function<void()> done, bool same_epoch) {
  const conf::Pool& next = topology->pool();
  {
    std::lock_guard lock(topology_mu_);
    auto it = topologies_.find(next.name);
    if (it == topologies_.end()) {
      return std::unexpected(fmt::format("no pool '{}' is served", next.name));
    }
    const Topology& current = *it->second;
    if (same_epoch && (topology->epoch() != current.epoch() || !SameServers(*topology, current))) {
      return std::unexpected(fmt::format(
          "pool '{}' is at epoch {}: a change of settings only keeps the epoch and the servers",
          next.name, current.epoch()));
    }
    if (!same_epoch && topology->epoch() <= current.epoch()) {
      return std::unexpected(fmt::format("pool '{}' is at epoch {}: epoch {} is not newer",
                                         next.name, current.epoch(), topology->epoch()));
    }
    const conf::Pool& now = current.pool();
    // server_connections too: a client's requests to a server stay on one connection (chosen
    // by client id modulo the count) so that they run in order; a new count would move them.
    if (!next.listen.SameEndpoint(now.listen) || next.backlog != now.backlog ||
        next.workers != now.workers || next.ClientPassword() != now.ClientPassword() ||
        next.server_connections != now.server_connections) {
      return std::unexpected(
          fmt::format("pool '{}': listen, backlog, workers, the client password (client_auth, "
                      "or redis_auth without it) and server_connections change only with a "
                      "restart",
                      next.name));
    }
    it->second = topology;
  }
  // `all_applied` runs `done` on the control loop once the last worker's closure is gone (run
  // or, for a worker that finished meanwhile, dropped).
  std::shared_ptr<void> all_applied(nullptr, [this, done = std::move(done)](void*) {
    if (done) control_.Post(done);
  });
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    auto apply = [w, topology, all_applied] {
      if (PoolRouter* pool = w->FindPool(topology->pool().name); pool != nullptr) {
        pool->Apply(topology);
      }
    };
    // No worker thread yet: applied here, so a posted closure cannot lose a race with the
    // listener's first accept. (Starting the thread orders this before everything it runs.)
    if (workers_started_) {
      w->Post(std::move(apply));
    } else {
      apply();
    }
  }
  return {};
}

namespace {

// The signals whose default action would stop (TTIN, TTOU) or end (USR1, USR2, HUP) a serving
// process although nutcracker only logs them or acts on its log: ignored while the control loop
// does not handle them (before its handlers are installed, and after Quit closes them, which
// gives the default back), so that none kills or freezes the process in those windows either.
void IgnoreLoggedSignals() {
  for (int signum : {SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU, SIGHUP}) signal(signum, SIG_IGN);
}

}  // namespace

int Serve(const conf::Config& config, const ServeOptions& options) {
  IgnoreLoggedSignals();
  if (std::string error = InitLog(options.log_level, options.log_file); !error.empty()) {
    std::fprintf(stderr, "ringleader: %s\n", error.c_str());
    return 1;
  }
  // As nutcracker does, the pid file exists before the listeners do.
  if (!options.pid_file.empty()) {
    std::ofstream pid(options.pid_file, std::ios::trunc);
    pid << getpid() << "\n";
    if (!pid) {
      Log(kLogError, "cannot write pid file '{}'", options.pid_file);
      std::fprintf(stderr, "ringleader: cannot write pid file '%s'\n", options.pid_file.c_str());
      return 1;
    }
  }
  auto proxy =
      Proxy::Start(config, options.proxy, {.control_on_caller = true, .handle_signals = true});
  if (!proxy) {
    if (!options.pid_file.empty()) unlink(options.pid_file.c_str());
    Log(kLogError, "{}", proxy.error());
    std::fprintf(stderr, "ringleader: %s\n", proxy.error().c_str());
    return 1;
  }
  for (const conf::Pool& pool : config.pools) {
    Log(kLogNotice, "pool '{}' listening on {} with {} servers", pool.name, pool.listen.ToString(),
        pool.servers.size());
  }
  // The main thread is the control loop's until every worker has drained.
  (*proxy)->RunControlLoop();
  IgnoreLoggedSignals();
  (*proxy)->Wait();
  std::string failure = (*proxy)->failure();
  proxy->reset();
  if (!options.pid_file.empty()) unlink(options.pid_file.c_str());
  if (!failure.empty()) {
    std::fprintf(stderr, "ringleader: %s\n", failure.c_str());
    Log(kLogError, "stopped: {}", failure);
    return 1;
  }
  Log(kLogNotice, "stopped");
  return 0;
}

}  // namespace rl::proxy
