#include "proxy/host/http_admin.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "proxy/base/log.h"
#include "proxy/host/cluster_service.h"
#include "proxy/host/control_loop.h"
#include "proxy/host/lock_service.h"
#include "proxy/host/metrics.h"
#include "proxy/host/shared_state.h"
#include "proxy/host/stats_port.h"
#include "proxy/host/worker.h"
#include "proxy/session/admin_commands.h"

namespace rl::proxy {

namespace {

constexpr size_t kMaxHead = 8192;  // a request head larger than this is refused (431)
constexpr std::chrono::milliseconds kPingTimeout{1000};

std::string_view Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

std::expected<std::optional<HttpRequestLine>, std::string> ParseHttpHead(std::string_view bytes) {
  size_t end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) end = bytes.find("\n\n");
  if (end == std::string_view::npos) {
    if (bytes.size() > kMaxHead) return std::unexpected("request head too large");
    return std::nullopt;
  }
  std::string_view line = bytes.substr(0, bytes.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
    return std::unexpected("not an HTTP/1.x request line");
  }
  HttpRequestLine out;
  out.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  out.path = std::string(target.substr(0, target.find('?')));
  return out;
}

std::string FormatHttpResponse(const HttpResponse& r, bool head_only) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
      r.status, Reason(r.status), r.content_type, r.body.size());
  if (!head_only) out += r.body;
  return out;
}

// One accepted connection: reads the request head, answers once, closes.
struct HttpAdmin::Conn {
  uv_tcp_t tcp{};
  uv_write_t write{};
  HttpAdmin* admin = nullptr;
  std::string in;
  std::string out;
  bool answered = false;
  bool head_only = false;
  std::shared_ptr<bool> open = std::make_shared<bool>(true);

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp); }
  void Close() {
    *open = false;
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&tcp);
    if (!uv_is_closing(h)) {
      uv_close(h, [](uv_handle_t* closed) { delete static_cast<Conn*>(closed->data); });
    }
  }
  void Answer(const HttpResponse& response) {
    answered = true;
    uv_read_stop(stream());
    out = FormatHttpResponse(response, head_only);
    uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    write.data = this;
    if (uv_write(&write, stream(), &buf, 1,
                 [](uv_write_t* w, int) { static_cast<Conn*>(w->data)->Close(); }) != 0) {
      Close();
    }
  }
};

std::expected<std::unique_ptr<HttpAdmin>, std::string> HttpAdmin::Start(
    ControlLoop* control, std::vector<Worker*> workers, const SharedState* shared,
    const conf::Address& listen, DataServers data_servers) {
  std::unique_ptr<HttpAdmin> admin(new HttpAdmin);
  admin->control_ = control;
  admin->workers_ = std::move(workers);
  admin->shared_ = shared;
  admin->data_servers_ = std::move(data_servers);
  uv_loop_t* loop = control->loop();
  sockaddr_storage addr{};
  if (uv_ip4_addr(listen.host.c_str(), listen.port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(listen.host.c_str(), listen.port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    return std::unexpected(
        fmt::format("http_listen '{}' is not an IPv4 or IPv6 address", listen.ToString()));
  }
  int rc = admin->listener_.Init([&](uv_tcp_t* t) { return uv_tcp_init(loop, t); }, admin.get());
  if (rc == 0) rc = uv_tcp_bind(admin->listener_.get(), reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(admin->listener_.get()), 64, OnConnection);
  }
  if (rc != 0) {
    return std::unexpected(fmt::format("http_listen {}: {}", listen.ToString(), uv_strerror(rc)));
  }
  Log(kLogNotice, "admin HTTP listener on {} (/metrics, /healthz, /readyz)", listen.ToString());
  return admin;
}

HttpAdmin::~HttpAdmin() { *alive_ = false; }

void HttpAdmin::Close() {
  listener_.Close();
  ping_clients_.clear();
}

void HttpAdmin::OnConnection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* admin = static_cast<HttpAdmin*>(server->data);
  auto* conn = new Conn;
  conn->admin = admin;
  uv_tcp_init(server->loop, &conn->tcp);
  conn->tcp.data = conn;
  if (uv_accept(server, conn->stream()) != 0) return conn->Close();
  uv_read_start(
      conn->stream(),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* c = static_cast<Conn*>(h->data);
        size_t old = c->in.size();
        c->in.resize(old + 4096);
        *buf = uv_buf_init(c->in.data() + old, 4096);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* c = static_cast<Conn*>(s->data);
        size_t used = static_cast<size_t>(buf->base - c->in.data()) + (n > 0 ? n : 0);
        c->in.resize(used);
        if (n < 0) return c->Close();  // EOF or an error before a complete request
        if (c->answered) return;
        auto head = ParseHttpHead(c->in);
        if (!head) {
          return c->Answer(Text(c->in.size() > kMaxHead ? 431 : 400, head.error() + "\n"));
        }
        if (*head) c->admin->Serve(c, **head);
      });
}

void HttpAdmin::Serve(Conn* conn, const HttpRequestLine& request) {
  conn->answered = true;
  uv_read_stop(conn->stream());
  if (request.method != "GET" && request.method != "HEAD") {
    return conn->Answer(Text(405, "only GET and HEAD\n"));
  }
  conn->head_only = request.method == "HEAD";
  std::weak_ptr<bool> open = conn->open;
  auto reply = [conn, open](HttpResponse response) {
    if (open.lock() && *open.lock()) conn->Answer(response);
  };
  if (request.path == "/metrics") return Metrics(reply);
  if (request.path == "/healthz") return reply(Text(200, "ok\n"));
  if (request.path == "/readyz") return Ready(reply);
  reply(Text(404, "not found: try /metrics, /healthz or /readyz\n"));
}

void HttpAdmin::Metrics(std::function<void(HttpResponse)> reply) {
  std::weak_ptr<bool> alive = alive_;
  SampleWorkers(
      control_, workers_, [this, alive, reply](std::vector<std::vector<PoolSample>> samples) {
        if (!alive.lock()) return;
        MetricsInput in;
        in.version = RL_VERSION;
        in.pools = MergeSamples(samples);
        ProcessCounters& p = in.process;
        p.uptime_s = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::steady_clock::now() - shared_->started)
                                               .count());
        for (const auto& s : shared_->stats) {
          p.connections_received += Read(s->connections_received);
          p.connected_clients += static_cast<uint64_t>(
              std::max<int64_t>(0, s->connected_clients.load(std::memory_order_relaxed)));
          p.commands_processed += Read(s->commands_processed);
          p.net_input_bytes += Read(s->net_input_bytes);
          p.net_output_bytes += Read(s->net_output_bytes);
          p.protocol_errors += Read(s->protocol_errors);
          p.rejected_connections += Read(s->rejected_connections);
          p.output_limit_closes += Read(s->output_limit_closes);
          p.evicted_clients += Read(s->evicted_clients);
          p.backend_connections += Read(s->backend_connections);
          p.fenced_writes += Read(s->fenced_writes);
          p.fenced_refused += Read(s->fenced_refused);
        }
        in.ringleader_fields = RingleaderInfoFields(*shared_);
        if (shared_->locks != nullptr) in.locks = &shared_->locks->stats();
        HttpResponse r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = RenderMetrics(in);
        reply(std::move(r));
      });
}

std::string HttpAdmin::UnknownTopologies() const {
  if (shared_->cluster == nullptr) return "";  // standalone: the file is the topology
  std::shared_ptr<const std::string> fields = shared_->cluster->InfoFields();
  std::string missing;
  for (const conf::Pool& pool : shared_->config->pools) {
    std::string key = fmt::format("rl_pool_{}_epoch:", pool.name);
    size_t at = fields != nullptr ? fields->find(key) : std::string::npos;
    bool known = at != std::string::npos && fields->compare(at + key.size(), 1, "0") != 0;
    if (!known) missing += fmt::format("{}{}", missing.empty() ? "" : ", ", pool.name);
  }
  return missing;
}

void HttpAdmin::Ready(std::function<void(HttpResponse)> reply) {
  struct Check {
    size_t pending = 0;
    std::vector<std::string> problems;
    std::function<void(HttpResponse)> reply;
  };
  auto check = std::make_shared<Check>();
  check->reply = std::move(reply);
  if (std::string unknown = UnknownTopologies(); !unknown.empty()) {
    check->problems.push_back(fmt::format("topology not committed yet: {}", unknown));
  }
  std::vector<RespClientOptions> servers =
      data_servers_ ? data_servers_() : std::vector<RespClientOptions>{};
  auto finish = [check] {
    if (check->problems.empty()) return check->reply(Text(200, "ready\n"));
    std::string body = "not ready:\n";
    for (const std::string& p : check->problems) body += "  " + p + "\n";
    check->reply(Text(503, std::move(body)));
  };
  check->pending = servers.size();
  if (servers.empty()) return finish();
  for (RespClientOptions& options : servers) {
    std::string address = options.unix_path.empty()
                              ? fmt::format("{}:{}", options.host, options.port)
                              : options.unix_path;
    options.request_timeout = kPingTimeout;
    options.connect_timeout = kPingTimeout;
    RespClientPtr& client = ping_clients_[address];
    if (client == nullptr || client->closed()) {
      client = RespClient::Create(control_->loop(), std::move(options));
    }
    std::string_view ping[] = {"PING"};
    client->Send(ping, [check, address, finish](RespResult r) {
      if (!r) {
        check->problems.push_back(fmt::format("server {}: {}", address, r.error().message));
      } else if (r->is_error()) {
        check->problems.push_back(fmt::format("server {}: {}", address, r->str));
      }
      if (--check->pending == 0) finish();
    });
  }
}

}  // namespace rl::proxy
