// PeerServer: the listener, and PeerConn's reading, parsing and in-order reply writing. The
// commands themselves are in peer_commands.cc.
//
//   socket ──read──> in_ ──RequestParser──> Execute ──> replies_ [ready|ready|pending|ready]
//   socket <──one write at a time── the ready prefix of replies_
#include "raft/node/peer_server.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "proxy/base/log.h"
#include "proxy/resp/reply_writer.h"
#include "raft/node/peer_auth.h"
#include "raft/node/peer_conn.h"

namespace rl::raft {

using proxy::Log;

namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

// --- PeerServer ---

std::expected<std::unique_ptr<PeerServer>, std::string> PeerServer::Start(uv_loop_t* loop,
                                                                          PeerSettings settings,
                                                                          PeerHandler* handler) {
  if (settings.secret.size() < kMinPeerSecretLength) {
    return std::unexpected(
        fmt::format("the cluster secret must have at least {} bytes", kMinPeerSecretLength));
  }
  std::unique_ptr<PeerServer> server(new PeerServer(loop, std::move(settings), handler));
  if (auto ok = server->Listen(); !ok) return std::unexpected(ok.error());
  const uint64_t timeout = static_cast<uint64_t>(server->settings_.auth_timeout.count());
  if (timeout > 0) {
    // A sweep a few times per timeout closes a connection at most a quarter late.
    const uint64_t period = std::clamp<uint64_t>(timeout / 4, 10, 1000);
    PeerServer* s = server.get();
    s->auth_sweep_.Init([&](uv_timer_t* t) { return uv_timer_init(loop, t); }, s);
    uv_timer_start(
        s->auth_sweep_.get(),
        [](uv_timer_t* t) { static_cast<PeerServer*>(t->data)->SweepUnauthenticated(); }, period,
        period);
  }
  return server;
}

void PeerServer::SweepUnauthenticated() {
  const uint64_t now = uv_now(loop_);
  const uint64_t timeout = static_cast<uint64_t>(settings_.auth_timeout.count());
  std::vector<PeerConn*> conns;  // closing one erases it from conns_
  conns.reserve(conns_.size());
  for (auto& [id, conn] : conns_) conns.push_back(conn);
  for (PeerConn* conn : conns) {
    if (conn->CloseIfUnauthenticated(now, timeout)) ++stats_.auth_timeouts;
  }
}

PeerServer::PeerServer(uv_loop_t* loop, PeerSettings settings, PeerHandler* handler)
    : loop_(loop), settings_(std::move(settings)), handler_(handler) {}

PeerServer::~PeerServer() {
  // Detach() erases nothing from conns_ (the server is going), so iterating is safe.
  for (auto& [id, conn] : conns_) conn->Detach();
  conns_.clear();
}

std::expected<void, std::string> PeerServer::Listen() {
  sockaddr_storage addr{};
  const char* host = settings_.listen_host.c_str();
  if (uv_ip4_addr(host, settings_.listen_port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host, settings_.listen_port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    return std::unexpected(
        fmt::format("peer listen address '{}' is not a numeric IP address", settings_.listen_host));
  }
  int rc = listener_.Init([&](uv_tcp_t* t) { return uv_tcp_init(loop_, t); }, this);
  if (rc == 0) rc = uv_tcp_bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), 128,
                   [](uv_stream_t* s, int status) {
                     static_cast<PeerServer*>(s->data)->OnConnection(status);
                   });
  }
  if (rc != 0) {
    return std::unexpected(fmt::format("cannot listen on {}:{}: {}", settings_.listen_host,
                                       settings_.listen_port, uv_strerror(rc)));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return {};
}

void PeerServer::OnConnection(int status) {
  if (status < 0) {
    Log(proxy::kLogWarn, "peer port: accept failed: {}", uv_strerror(status));
    return;
  }
  uint64_t id = next_conn_id_++;
  auto* conn = new PeerConn(this, id);
  if (!conn->Accept(reinterpret_cast<uv_stream_t*>(listener_.get()))) return;
  if (conns_.size() >= settings_.max_connections) {
    ++stats_.refused_connections;
    Log(proxy::kLogWarn, "peer port: {} connections open, refusing one more", conns_.size());
    conn->Detach();
    return;
  }
  conns_.emplace(id, conn);
  ++stats_.connections;
  ++stats_.open_connections;
}

// --- PeerConn: I/O ---

PeerConn::PeerConn(PeerServer* server, uint64_t id)
    : server_(server), id_(id), parser_(limits_), ref_(std::make_shared<Ref>(Ref{this})) {
  limits_.max_bulk_length = server->settings_.max_bulk_length;
  limits_.max_request_length = server->settings_.max_request_length;
  // Until RAFT.AUTH, Redis's unauthenticated bounds (10 arguments of 16 KiB at most): a
  // stranger cannot make the node buffer a snapshot's worth of bytes.
  parser_.set_unauthenticated(true);
  tcp_.data = this;
}

bool PeerConn::Accept(uv_stream_t* listener) {
  uv_tcp_init(server_->loop_, &tcp_);
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  int rc = uv_accept(listener, stream);
  accepted_ms_ = uv_now(server_->loop_);
  if (rc == 0) {
    uv_tcp_nodelay(&tcp_, 1);
    rc = uv_read_start(
        stream,
        [](uv_handle_t* h, size_t, uv_buf_t* buf) { static_cast<PeerConn*>(h->data)->Alloc(buf); },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
          static_cast<PeerConn*>(s->data)->OnRead(n, buf);
        });
  }
  if (rc != 0) {
    Log(proxy::kLogWarn, "peer port: cannot accept a connection: {}", uv_strerror(rc));
    server_ = nullptr;  // never registered
    Close();
    return false;
  }
  return true;
}

bool PeerConn::CloseIfUnauthenticated(uint64_t now_ms, uint64_t timeout_ms) {
  if (authed_ || closing_ || now_ms < accepted_ms_ + timeout_ms) return false;
  Log(proxy::kLogWarn, "peer port: closing a connection that did not authenticate within {} ms",
      timeout_ms);
  Close();
  return true;
}

void PeerConn::Detach() {
  server_ = nullptr;
  Close();
}

void PeerConn::Close() {
  if (closing_) return;
  closing_ = true;
  ref_->conn = nullptr;
  if (server_ != nullptr) {
    --server_->stats_.open_connections;
    server_->Forget(id_);
    server_ = nullptr;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_),
           [](uv_handle_t* h) { delete static_cast<PeerConn*>(h->data); });
}

void PeerConn::Alloc(uv_buf_t* buf) {
  size_t want = std::max(kReadChunk, parser_.needed() > in_used_ ? parser_.needed() - in_used_ : 0);
  if (in_.size() < in_used_ + want) in_.resize(in_used_ + want);
  *buf = uv_buf_init(in_.data() + in_used_, static_cast<unsigned>(in_.size() - in_used_));
}

void PeerConn::OnRead(ssize_t nread, const uv_buf_t*) {
  if (nread < 0) {
    Close();
    return;
  }
  if (nread == 0 || closing_) return;
  in_used_ += static_cast<size_t>(nread);
  server_->stats_.bytes_in += static_cast<uint64_t>(nread);
  ParseInput();
}

void PeerConn::ParseInput() {
  size_t pos = 0;
  std::vector<std::string_view> args;
  while (pos < in_used_ && !closing_ && !close_after_replies_) {
    const char* data = in_.data() + pos;
    auto result = parser_.Parse(data, in_used_ - pos);
    if (result == proxy::RequestParser::Result::kIncomplete) break;
    if (result == proxy::RequestParser::Result::kError) {
      ++server_->stats_.protocol_errors;
      Log(proxy::kLogWarn, "peer port: closing a connection (peer {}): {}", peer_, parser_.error());
      ReplyError(fmt::format("ERR {}", parser_.error()));
      CloseAfterReplies();
      break;
    }
    args.clear();
    for (size_t i = 0; i < parser_.args().size(); ++i) args.push_back(parser_.ArgView(data, i));
    size_t length = parser_.length();
    if (!args.empty()) Execute(args);
    parser_.Reset();
    pos += length;
  }
  if (closing_) return;
  in_.erase(0, pos);
  in_used_ -= pos;
  // A connection that went quiet gives back the buffer a large request grew.
  if (in_used_ == 0 && in_.size() > 4 * kReadChunk) std::string().swap(in_);
}

// --- PeerConn: replies in request order ---

void PeerConn::Reply(std::string bytes) {
  pending_bytes_ += bytes.size();
  replies_.push_back(Slot{true, std::move(bytes)});
  Flush();
}

void PeerConn::ReplyError(std::string_view text) {
  std::string out;
  proxy::AppendError(&out, text);
  Reply(std::move(out));
}

uint64_t PeerConn::Reserve() {
  replies_.push_back(Slot{});
  return first_seq_ + replies_.size() - 1;
}

void PeerConn::Fill(uint64_t seq, std::string bytes) {
  // A `done` called twice (a bug in the handler) must not overwrite or shift replies.
  if (seq < first_seq_ || replies_[seq - first_seq_].ready) return;
  Slot& slot = replies_[seq - first_seq_];
  pending_bytes_ += bytes.size();
  slot.bytes = std::move(bytes);
  slot.ready = true;
  Flush();
}

void PeerConn::CloseAfterReplies() {
  close_after_replies_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  Flush();
}

void PeerConn::Flush() {
  if (closing_ || write_in_flight_) return;
  if (server_ != nullptr && pending_bytes_ > server_->settings_.max_pending_reply_bytes) {
    Log(proxy::kLogWarn, "peer port: peer {} does not read its replies ({} bytes): closing", peer_,
        pending_bytes_);
    Close();
    return;
  }
  writing_.clear();
  while (!replies_.empty() && replies_.front().ready) {
    writing_ += replies_.front().bytes;
    pending_bytes_ -= replies_.front().bytes.size();
    replies_.pop_front();
    ++first_seq_;
  }
  if (writing_.empty()) {
    if (close_after_replies_) Close();
    return;
  }
  uv_buf_t buf = uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
  write_req_.data = this;
  int rc = uv_write(
      &write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
      [](uv_write_t* req, int status) { static_cast<PeerConn*>(req->data)->OnWritten(status); });
  if (rc != 0) {
    Close();
    return;
  }
  write_in_flight_ = true;
}

void PeerConn::OnWritten(int status) {
  write_in_flight_ = false;
  if (status < 0) {
    Close();
    return;
  }
  Flush();
}

}  // namespace rl::raft
