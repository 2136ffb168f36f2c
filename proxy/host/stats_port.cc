#include "proxy/host/stats_port.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "fmt/format.h"
#include "proxy/base/log.h"
#include "proxy/host/control_loop.h"
#include "proxy/host/shared_state.h"
#include "proxy/host/worker.h"

#ifndef RL_VERSION
#error "RL_VERSION must be defined by the build (the CMake project version)"
#endif

namespace rl::proxy {

namespace {

void AddServer(ServerSample& into, const ServerSample& s) {
  ServerCounters& a = into.counters;
  const ServerCounters& b = s.counters;
  a.server_eof += b.server_eof;
  a.server_err += b.server_err;
  a.server_timedout += b.server_timedout;
  a.server_connections += b.server_connections;
  a.server_ejected_at = std::max(a.server_ejected_at, b.server_ejected_at);
  a.requests += b.requests;
  a.request_bytes += b.request_bytes;
  a.responses += b.responses;
  a.response_bytes += b.response_bytes;
  a.latency.Add(b.latency);
  into.in_queue += s.in_queue;
  into.in_queue_bytes += s.in_queue_bytes;
  into.out_queue += s.out_queue;
  into.out_queue_bytes += s.out_queue_bytes;
}

void AddPool(PoolSample& into, const PoolSample& p) {
  PoolCounters& a = into.counters;
  const PoolCounters& b = p.counters;
  a.client_eof += b.client_eof;
  a.client_err += b.client_err;
  a.client_connections += b.client_connections;
  a.server_ejects += b.server_ejects;
  a.forward_error += b.forward_error;
  a.fragments += b.fragments;
  a.latency.Add(b.latency);
  for (const ServerSample& s : p.servers) {
    auto it = std::find_if(into.servers.begin(), into.servers.end(),
                           [&](const ServerSample& x) { return x.name == s.name; });
    if (it == into.servers.end()) {
      into.servers.push_back(s);
    } else {
      AddServer(*it, s);
    }
  }
}

// A JSON string literal (names come from the YAML file: quotes and control bytes escaped).
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

uint64_t NowSeconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

struct StatsReply {
  uv_tcp_t tcp;
  uv_write_t write;
  std::string body;
};

}  // namespace

std::vector<PoolSample> MergeSamples(const std::vector<std::vector<PoolSample>>& per_worker) {
  std::vector<PoolSample> pools;
  for (const auto& worker : per_worker) {
    for (const PoolSample& p : worker) {
      auto it = std::find_if(pools.begin(), pools.end(),
                             [&](const PoolSample& x) { return x.name == p.name; });
      if (it == pools.end()) {
        PoolSample fresh;
        fresh.name = p.name;
        pools.push_back(std::move(fresh));
        it = pools.end() - 1;
      }
      AddPool(*it, p);
    }
  }
  return pools;
}

std::string RenderStats(const StatsHeader& h, const std::vector<PoolSample>& pools) {
  std::string out = fmt::format(
      "{{\"service\":\"ringleader\", \"source\":{}, \"version\":{}, \"uptime\":{}, "
      "\"timestamp\":{}, \"total_connections\":{}, \"curr_connections\":{}",
      Quote(h.source), Quote(h.version), h.uptime_s, h.timestamp_s, h.total_connections,
      h.curr_connections);
  for (const PoolSample& p : pools) {
    const PoolCounters& c = p.counters;
    out += fmt::format(
        ", {}: {{\"client_eof\":{}, \"client_err\":{}, \"client_connections\":{}, "
        "\"server_ejects\":{}, \"forward_error\":{}, \"fragments\":{}",
        Quote(p.name), c.client_eof, c.client_err, c.client_connections, c.server_ejects,
        c.forward_error, c.fragments);
    for (const ServerSample& s : p.servers) {
      const ServerCounters& k = s.counters;
      out += fmt::format(
          ", {}: {{\"server_eof\":{}, \"server_err\":{}, \"server_timedout\":{}, "
          "\"server_connections\":{}, \"server_ejected_at\":{}, \"requests\":{}, "
          "\"request_bytes\":{}, \"responses\":{}, \"response_bytes\":{}, \"in_queue\":{}, "
          "\"in_queue_bytes\":{}, \"out_queue\":{}, \"out_queue_bytes\":{}}}",
          Quote(s.name), k.server_eof, k.server_err, k.server_timedout, k.server_connections,
          k.server_ejected_at, k.requests, k.request_bytes, k.responses, k.response_bytes,
          s.in_queue, s.in_queue_bytes, s.out_queue, s.out_queue_bytes);
    }
    out += "}";
  }
  return out + "}\n";
}

std::expected<std::unique_ptr<StatsPort>, std::string> StatsPort::Start(
    ControlLoop* control, std::vector<Worker*> workers, const SharedState* shared,
    const StatsPortOptions& options) {
  std::unique_ptr<StatsPort> port(new StatsPort);
  port->control_ = control;
  port->workers_ = std::move(workers);
  port->shared_ = shared;
  port->source_ = HostName();
  uv_loop_t* loop = control->loop();
  sockaddr_storage addr{};
  if (uv_ip4_addr(options.address.c_str(), options.port, reinterpret_cast<sockaddr_in*>(&addr)) !=
          0 &&
      uv_ip6_addr(options.address.c_str(), options.port, reinterpret_cast<sockaddr_in6*>(&addr)) !=
          0) {
    return std::unexpected(
        fmt::format("stats address '{}' is not an IPv4 or IPv6 address", options.address));
  }
  int rc = port->listener_.Init([&](uv_tcp_t* t) { return uv_tcp_init(loop, t); }, port.get());
  if (rc == 0) rc = uv_tcp_bind(port->listener_.get(), reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(port->listener_.get()), 64, OnConnection);
  }
  if (rc != 0) {
    return std::unexpected(
        fmt::format("stats port {}:{}: {}", options.address, options.port, uv_strerror(rc)));
  }
  rc = port->timer_.Init([&](uv_timer_t* t) { return uv_timer_init(loop, t); }, port.get());
  if (rc != 0) return std::unexpected(fmt::format("stats timer: {}", uv_strerror(rc)));
  // The first round at once, so that the port answers with counters from the start.
  uv_timer_start(
      port->timer_.get(), [](uv_timer_t* t) { static_cast<StatsPort*>(t->data)->Collect(); }, 0,
      static_cast<uint64_t>(options.interval_ms));
  StatsHeader header;
  header.source = port->source_;
  header.version = RL_VERSION;
  port->document_ = RenderStats(header, {});
  Log(kLogNotice, "stats port on {}:{}, every {} ms", options.address, options.port,
      options.interval_ms);
  return port;
}

StatsPort::~StatsPort() { *alive_ = false; }

void StatsPort::Close() {
  listener_.Close();
  timer_.Close();
}

void SampleWorkers(ControlLoop* control, const std::vector<Worker*>& workers,
                   std::function<void(std::vector<std::vector<PoolSample>>)> done) {
  struct Round {
    size_t pending = 0;
    std::vector<std::vector<PoolSample>> samples;
    std::function<void(std::vector<std::vector<PoolSample>>)> done;
  };
  auto round = std::make_shared<Round>();
  round->pending = workers.size();
  round->samples.resize(workers.size());
  round->done = std::move(done);
  if (workers.empty()) return round->done({});
  for (size_t i = 0; i < workers.size(); ++i) {
    Worker* w = workers[i];
    w->Post([w, i, control, round] {
      std::vector<PoolSample> sample = w->SampleStats();
      control->Post([i, round, sample = std::move(sample)]() mutable {
        round->samples[i] = std::move(sample);
        if (--round->pending == 0) round->done(std::move(round->samples));
      });
    });
  }
}

void StatsPort::Collect() {
  // A round still short of a worker's sample when the next begins (a worker busy or stopping)
  // is abandoned.
  uint64_t round = ++round_;
  std::weak_ptr<bool> alive = alive_;
  SampleWorkers(control_, workers_,
                [this, round, alive](std::vector<std::vector<PoolSample>> samples) {
                  if (alive.lock()) OnSamples(round, std::move(samples));
                });
}

void StatsPort::OnSamples(uint64_t round, std::vector<std::vector<PoolSample>> samples) {
  if (round != round_) return;
  StatsHeader h;
  h.source = source_;
  h.version = RL_VERSION;
  h.uptime_s = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::steady_clock::now() - shared_->started)
                                         .count());
  h.timestamp_s = NowSeconds();
  std::vector<PoolSample> pools = MergeSamples(samples);
  uint64_t server_conns = 0;
  for (const PoolSample& p : pools) {
    for (const ServerSample& s : p.servers) server_conns += s.counters.server_connections;
  }
  for (const auto& s : shared_->stats) {
    h.total_connections += Read(s->connections_received) + Read(s->backend_connections);
    h.curr_connections += static_cast<uint64_t>(
        std::max<int64_t>(0, s->connected_clients.load(std::memory_order_relaxed)));
  }
  h.curr_connections += server_conns;
  document_ = RenderStats(h, pools);
}

void StatsPort::OnConnection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* port = static_cast<StatsPort*>(server->data);
  auto* reply = new StatsReply;
  reply->body = port->document_;
  uv_tcp_init(server->loop, &reply->tcp);
  reply->tcp.data = reply;
  auto close = [](uv_handle_t* h) { delete static_cast<StatsReply*>(h->data); };
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&reply->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&reply->tcp), close);
    return;
  }
  uv_buf_t buf = uv_buf_init(reply->body.data(), static_cast<unsigned>(reply->body.size()));
  reply->write.data = reply;
  int rc = uv_write(&reply->write, reinterpret_cast<uv_stream_t*>(&reply->tcp), &buf, 1,
                    [](uv_write_t* w, int) {
                      auto* r = static_cast<StatsReply*>(w->data);
                      uv_close(reinterpret_cast<uv_handle_t*>(&r->tcp),
                               [](uv_handle_t* h) { delete static_cast<StatsReply*>(h->data); });
                    });
  if (rc != 0) uv_close(reinterpret_cast<uv_handle_t*>(&reply->tcp), close);
}

}  // namespace rl::proxy
