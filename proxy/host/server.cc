#include "proxy/host/server.h"

#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "fmt/format.h"
#include "proxy/io/listener.h"
#include "proxy/base/log.h"
#include "proxy/host/worker.h"

namespace rl::proxy {

namespace {

std::expected<ResolvedAddress, std::string> Resolve(const conf::Address& address) {
  ResolvedAddress out;
  out.text = address.ToString();
  if (address.kind == conf::Address::Kind::kUnix) {
    out.is_unix = true;
    out.path = address.path;
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  std::string port = std::to_string(address.port);
  int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    return std::unexpected(fmt::format("cannot resolve '{}': {}", address.host, gai_strerror(rc)));
  }
  std::memcpy(&out.tcp, result->ai_addr, result->ai_addrlen);
  freeaddrinfo(result);
  return out;
}

std::string RandomRunId() {
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 40; ++i) id += "0123456789abcdef"[rd() % 16];
  return id;
}

}  // namespace

std::expected<std::unique_ptr<Proxy>, std::string> Proxy::Start(const conf::Config& config,
                                                                const ProxyOptions& options) {
  // A client that goes away mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Proxy> proxy(new Proxy);
  proxy->config_ = config;
  proxy->shared_ = std::make_unique<SharedState>();
  SharedState& shared = *proxy->shared_;
  shared.config = &proxy->config_;
  shared.options = options;
  shared.run_id = RandomRunId();

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
  for (const conf::Pool& pool : proxy->config_.pools) {
    std::vector<ResolvedAddress> servers;
    for (const conf::Server& server : pool.servers) {
      auto resolved = Resolve(server.address);
      if (!resolved) {
        close_all();
        return std::unexpected(fmt::format("pool '{}': server {}", pool.name, resolved.error()));
      }
      servers.push_back(std::move(*resolved));
    }
    const std::string& password = pool.client_auth;
    bool is_unix = pool.listen.kind == conf::Address::Kind::kUnix;
    int listeners = is_unix ? 1 : std::max(1, pool.workers);
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
      setup.pool = &pool;
      setup.servers = servers;
      setup.listen_fd = *fd;
      setup.listen_unix = is_unix;
      setup.client_password = password;
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
  for (auto& worker : proxy->workers_) worker->Start();
  return proxy;
}

Proxy::~Proxy() {
  Stop();
  Wait();
}

void Proxy::Stop() {
  for (auto& worker : workers_) worker->Stop();
}

void Proxy::Wait() {
  if (waited_) return;
  waited_ = true;
  for (auto& worker : workers_) worker->Join();
  workers_.clear();
}

namespace {

struct ServeLoop {
  uv_loop_t loop{};
  uv_signal_t term{}, intr{}, hup{};
  uv_async_t done{};
  Proxy* proxy = nullptr;
  bool stopping = false;
};

void OnStopSignal(uv_signal_t* h, int signum) {
  auto* s = static_cast<ServeLoop*>(h->data);
  if (s->stopping) return;
  s->stopping = true;
  Log(kLogNotice, "signal {} received, stopping: finishing in-flight requests", signum);
  s->proxy->Stop();
}

void OnHup(uv_signal_t*, int) {
  std::string error = ReopenLog();
  if (!error.empty()) Log(kLogError, "{}", error);
  Log(kLogNotice, "log file reopened");
}

}  // namespace

int Serve(const conf::Config& config, const ServeOptions& options) {
  if (std::string error = InitLog(options.log_level, options.log_file); !error.empty()) {
    std::fprintf(stderr, "ringleader: %s\n", error.c_str());
    return 1;
  }
  ServeLoop s;
  uv_loop_init(&s.loop);
  // Install the handlers before the workers exist, so that no signal is missed.
  for (uv_signal_t* h : {&s.term, &s.intr, &s.hup}) {
    uv_signal_init(&s.loop, h);
    h->data = &s;
  }
  uv_signal_start(&s.term, OnStopSignal, SIGTERM);
  uv_signal_start(&s.intr, OnStopSignal, SIGINT);
  uv_signal_start(&s.hup, OnHup, SIGHUP);
  uv_async_init(&s.loop, &s.done, [](uv_async_t* a) {
    auto* sl = static_cast<ServeLoop*>(a->data);
    for (uv_handle_t* h :
         {reinterpret_cast<uv_handle_t*>(&sl->term), reinterpret_cast<uv_handle_t*>(&sl->intr),
          reinterpret_cast<uv_handle_t*>(&sl->hup), reinterpret_cast<uv_handle_t*>(&sl->done)}) {
      uv_close(h, nullptr);
    }
  });
  s.done.data = &s;

  // As nutcracker does, the pid file exists before the listeners do.
  int status = 0;
  if (!options.pid_file.empty()) {
    std::ofstream pid(options.pid_file, std::ios::trunc);
    pid << getpid() << "\n";
    if (!pid) {
      Log(kLogError, "cannot write pid file '{}'", options.pid_file);
      std::fprintf(stderr, "ringleader: cannot write pid file '%s'\n", options.pid_file.c_str());
      status = 1;
    }
  }
  auto proxy = status == 0 ? Proxy::Start(config, options.proxy)
                           : std::unexpected(std::string("not started"));
  if (!proxy) {
    if (!options.pid_file.empty() && status == 0) unlink(options.pid_file.c_str());
    if (status == 0) {
      Log(kLogError, "{}", proxy.error());
      std::fprintf(stderr, "ringleader: %s\n", proxy.error().c_str());
    }
    status = 1;
    uv_async_send(&s.done);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    uv_loop_close(&s.loop);
    return status;
  }
  for (const conf::Pool& pool : config.pools) {
    Log(kLogNotice, "pool '{}' listening on {} with {} servers", pool.name, pool.listen.ToString(),
        pool.servers.size());
  }
  s.proxy = proxy->get();
  std::thread waiter([&] {
    (*proxy)->Wait();
    uv_async_send(&s.done);
  });
  uv_run(&s.loop, UV_RUN_DEFAULT);
  waiter.join();
  uv_loop_close(&s.loop);
  proxy->reset();
  if (!options.pid_file.empty()) unlink(options.pid_file.c_str());
  Log(kLogNotice, "stopped");
  return status;
}

}  // namespace rl::proxy
