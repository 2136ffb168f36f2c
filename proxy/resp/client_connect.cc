// RespClient: resolving, connecting (each resolved address in turn), the AUTH / SELECT / HELLO
// handshake, the connect timeout and the back-off timer.
#include <fmt/format.h>

#include <cstring>

#include "proxy/resp/client.h"
#include "proxy/resp/client_internal.h"

namespace rl::proxy {

namespace resp_client_internal {

std::string AddressLabel(const RespClientOptions& options) {
  if (!options.unix_path.empty()) return "unix:" + options.unix_path;
  if (options.host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", options.host, options.port);
  }
  return fmt::format("{}:{}", options.host, options.port);
}

}  // namespace resp_client_internal

void RespClient::Conn::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  // Reads stop when the handle is closed, so a reading Conn is always attached.
  RespClient* self = static_cast<Conn*>(h->data)->client;
  std::span<char> space = self->parser_.PrepareAppend(64 * 1024);
  *buf = uv_buf_init(space.data(), static_cast<unsigned>(std::min<size_t>(space.size(), 1 << 30)));
}

void RespClient::Conn::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  RespClient* self = static_cast<Conn*>(s->data)->client;
  if (self != nullptr) self->OnRead(nread);
}

void RespClient::Conn::OnConnect(uv_connect_t* req, int status) {
  RespClient* self = static_cast<Conn*>(req->data)->client;
  if (self != nullptr) self->OnConnected(status);
}

void RespClient::DropConn() {
  if (conn_ == nullptr) return;
  conn_->Close();
  conn_ = nullptr;
}

void RespClient::DetachConn() {
  DropConn();
  if (resolve_ != nullptr) {
    resolve_->client = nullptr;  // its callback frees it
    uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_->req));
    resolve_ = nullptr;
  }
  parser_.Reset();
  out_.clear();
  handshake_.clear();
}

void RespClient::OnConnTimer() {
  if (starting_) {
    starting_ = false;
    StartConnect();
  } else if (state_ == State::kConnecting) {
    std::string waiting =
        handshake_.empty() ? "" : fmt::format(" (waiting for the {} reply)", handshake_.front());
    FailConnection(RespError{RespError::Code::kConnect,
                             fmt::format("connecting to {} timed out after {} ms{}", address_,
                                         options_.connect_timeout.count(), waiting)});
  } else if (state_ == State::kBackoff) {
    StartConnect();
  }
}

void RespClient::StartConnect() {
  state_ = State::kConnecting;
  uv_timer_start(
      &conn_timer_, [](uv_timer_t* t) { static_cast<RespClient*>(t->data)->OnConnTimer(); },
      static_cast<uint64_t>(options_.connect_timeout.count()), 0);
  addresses_.clear();
  next_address_ = 0;
  last_connect_error_ = "no address";
  if (!options_.unix_path.empty()) {
    auto* c = new Conn;
    c->handle.data = c;
    c->connect_req.data = c;
    c->tcp_socket = false;
    if (int rc = uv_pipe_init(loop_, &c->pipe, 0); rc < 0) {
      delete c;
      FailConnection(RespError{RespError::Code::kConnect,
                               fmt::format("connect to {} failed: {}", address_, uv_strerror(rc))});
      return;
    }
    c->client = this;
    conn_ = c;
    uv_pipe_connect(&c->connect_req, &c->pipe, options_.unix_path.c_str(), Conn::OnConnect);
    return;
  }
  sockaddr_storage numeric{};
  const char* host = options_.host.c_str();
  if (uv_ip4_addr(host, options_.port, reinterpret_cast<sockaddr_in*>(&numeric)) == 0 ||
      uv_ip6_addr(host, options_.port, reinterpret_cast<sockaddr_in6*>(&numeric)) == 0) {
    addresses_.push_back(numeric);
    ConnectNext();
    return;
  }
  // A name: resolved again on every attempt, so a moved server is found.
  auto* r = new Resolve;
  r->req.data = r;
  r->client = this;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(options_.port);
  int rc = uv_getaddrinfo(loop_, &r->req, OnResolved, host, port.c_str(), &hints);
  if (rc < 0) {
    delete r;
    FailConnection(
        RespError{RespError::Code::kConnect,
                  fmt::format("resolving {} failed: {}", options_.host, uv_strerror(rc))});
    return;
  }
  resolve_ = r;
}

void RespClient::OnResolved(uv_getaddrinfo_t* req, int status, addrinfo* result) {
  auto* r = static_cast<Resolve*>(req->data);
  RespClient* self = r->client;
  delete r;
  if (self == nullptr) {  // given up on (closed, or the attempt failed)
    uv_freeaddrinfo(result);
    return;
  }
  self->resolve_ = nullptr;
  if (status < 0) {
    uv_freeaddrinfo(result);
    self->FailConnection(RespError{
        RespError::Code::kConnect,
        fmt::format("resolving {} failed: {}", self->options_.host, uv_strerror(status))});
    return;
  }
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    sockaddr_storage address{};
    std::memcpy(&address, ai->ai_addr, std::min<size_t>(ai->ai_addrlen, sizeof(address)));
    self->addresses_.push_back(address);
  }
  uv_freeaddrinfo(result);
  self->ConnectNext();
}

// Tries the next address of this attempt; the attempt fails once none is left.
void RespClient::ConnectNext() {
  while (next_address_ < addresses_.size()) {
    const sockaddr* address = reinterpret_cast<const sockaddr*>(&addresses_[next_address_++]);
    auto* c = new Conn;
    c->handle.data = c;
    c->connect_req.data = c;
    if (int rc = uv_tcp_init(loop_, &c->tcp); rc < 0) {
      delete c;
      last_connect_error_ = uv_strerror(rc);
      continue;
    }
    c->client = this;
    if (int rc = uv_tcp_connect(&c->connect_req, &c->tcp, address, Conn::OnConnect); rc < 0) {
      c->Close();
      last_connect_error_ = uv_strerror(rc);
      continue;
    }
    conn_ = c;
    return;
  }
  FailConnection(RespError{RespError::Code::kConnect,
                           fmt::format("connect to {} failed: {}", address_, last_connect_error_)});
}

void RespClient::OnConnected(int status) {
  if (status < 0) {
    last_connect_error_ = uv_strerror(status);
    DropConn();
    ConnectNext();  // for a unix socket there is no other address: the attempt fails
    return;
  }
  conn_->connected = true;
  if (conn_->tcp_socket) {
    uv_tcp_nodelay(&conn_->tcp, 1);
    if (options_.keepalive_s > 0) uv_tcp_keepalive(&conn_->tcp, 1, options_.keepalive_s);
  }
  if (int rc = uv_read_start(&conn_->stream, Conn::OnAlloc, Conn::OnRead); rc < 0) {
    FailConnection(RespError{RespError::Code::kConnect,
                             fmt::format("reading from {} failed: {}", address_, uv_strerror(rc))});
    return;
  }
  StartHandshake();
}

// AUTH and SELECT (or HELLO) go first and alone: commands waiting in unsent_ are written only
// once every handshake reply is OK, so none can run unauthenticated or on the wrong database.
void RespClient::StartHandshake() {
  const RespClientOptions& o = options_;
  if (o.protocol == 3) {
    std::vector<std::string_view> hello = {"HELLO", "3"};
    if (!o.password.empty()) {
      std::string_view user = o.user.empty() ? std::string_view("default") : o.user;
      hello.insert(hello.end(), {"AUTH", user, o.password});
    }
    AppendCommand(&out_, hello);
    handshake_.push_back("HELLO");
  } else if (!o.password.empty()) {
    std::vector<std::string_view> auth = {"AUTH"};
    if (!o.user.empty()) auth.push_back(o.user);
    auth.push_back(o.password);
    AppendCommand(&out_, auth);
    handshake_.push_back("AUTH");
  }
  if (o.db != 0) {
    std::string db = std::to_string(o.db);
    std::string_view select[] = {"SELECT", db};
    AppendCommand(&out_, select);
    handshake_.push_back("SELECT");
  }
  if (handshake_.empty()) {
    BecomeReady();
    return;
  }
  Flush();
}

// Returns false when the connection failed (or became ready and was closed by on_connected).
bool RespClient::OnHandshakeReply(const RespReply& reply) {
  std::string name = std::move(handshake_.front());
  handshake_.erase(handshake_.begin());
  if (reply.is_error()) {
    FailConnection(RespError{RespError::Code::kHandshake,
                             fmt::format("{} on {} failed: {}", name, address_, reply.str)});
    return false;
  }
  if (handshake_.empty()) BecomeReady();
  return state_ == State::kReady || !handshake_.empty();
}

void RespClient::BecomeReady() {
  state_ = State::kReady;
  uv_timer_stop(&conn_timer_);
  backoff_ = options_.reconnect_min;
  out_.append(unsent_);
  unsent_.clear();
  sent_ = requests_.size();
  ScheduleFlush();
  if (options_.on_connected) options_.on_connected();
}

}  // namespace rl::proxy
