// RespClient: commands, replies, time-outs, failure and close. Connecting, the handshake and
// back-off are in client_connect.cc; the pieces both share are in client_internal.h.
//
//   Send ──> requests_ [ written (sent_) ........ | waiting for the connection ]
//              out_ ──(one write per loop iteration)──> server
//   replies ──> parser_ ──> handshake_ first, then requests_.front() (FIFO)
#include "proxy/resp/client.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "proxy/resp/client_internal.h"
#include "proxy/resp/reply_writer.h"

namespace rl::proxy {

namespace {

[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "RespClient: %s\n", what);
  std::abort();
}

}  // namespace

std::string_view CodeName(RespError::Code code) {
  switch (code) {
    case RespError::Code::kConnect:
      return "connect";
    case RespError::Code::kHandshake:
      return "handshake";
    case RespError::Code::kDisconnected:
      return "disconnected";
    case RespError::Code::kConnectionLost:
      return "connection lost";
    case RespError::Code::kTimeout:
      return "timeout";
    case RespError::Code::kProtocol:
      return "protocol";
    case RespError::Code::kOverloaded:
      return "overloaded";
    case RespError::Code::kClosed:
      return "closed";
  }
  return "?";
}

void RespClientCloser::operator()(RespClient* client) const { client->Release(); }

RespClientPtr RespClient::Create(uv_loop_t* loop, RespClientOptions options) {
  return RespClientPtr(new RespClient(loop, std::move(options)));
}

RespClient::RespClient(uv_loop_t* loop, RespClientOptions options)
    : loop_(loop),
      options_(std::move(options)),
      address_(resp_client_internal::AddressLabel(options_)),
      backoff_(options_.reconnect_min),
      parser_(options_.limits) {
  if (uv_timer_init(loop, &conn_timer_) < 0 || uv_timer_init(loop, &request_timer_) < 0 ||
      uv_idle_init(loop, &flush_idle_) < 0) {
    Fatal("cannot initialise libuv handles");
  }
  conn_timer_.data = request_timer_.data = flush_idle_.data = this;
  open_handles_ = 3;
  // The first attempt starts on the loop, so that no callback runs inside Create().
  uv_timer_start(
      &conn_timer_, [](uv_timer_t* t) { static_cast<RespClient*>(t->data)->OnConnTimer(); }, 0, 0);
}

void RespClient::Release() {
  released_ = true;
  Close(CloseMode::kDropPending);
  if (open_handles_ == 0) delete this;
}

void RespClient::OnHandleClosed(uv_handle_t* handle) {
  auto* self = static_cast<RespClient*>(handle->data);
  if (--self->open_handles_ == 0 && self->released_) delete self;
}

void RespClient::Close(CloseMode mode) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  dropping_ = mode == CloseMode::kDropPending;
  DetachConn();
  uv_close(reinterpret_cast<uv_handle_t*>(&conn_timer_), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&request_timer_), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&flush_idle_), OnHandleClosed);
  Drain(RespError{RespError::Code::kClosed, fmt::format("client for {} closed", address_)},
        !dropping_);
}

// Fails (or, when !call, destroys) every pending callback. Callbacks run here may call Close()
// (a no-op by now) but not Send().
void RespClient::Drain(const RespError& reason, bool call) {
  while (!requests_.empty()) {
    RespCallback done = std::move(requests_.front().done);
    requests_.pop_front();
    if (call) done(std::unexpected(reason));
  }
  while (!deferred_.empty()) {
    RespCallback done = std::move(deferred_.front().done);
    deferred_.pop_front();
    if (call) done(std::unexpected(reason));
  }
  sent_ = 0;
  unsent_.clear();
}

// ---- sending ----

void RespClient::Send(std::span<const std::string_view> argv, RespCallback done) {
  if (argv.empty()) Fatal("Send() with no arguments (Redis would not reply)");
  std::string* target = Admit(&done);
  if (target == nullptr) return;
  size_t before = target->size();
  AppendCommand(target, argv);
  Admitted(std::move(done), target->size() - before);
}

void RespClient::SendEncoded(std::string_view command, RespCallback done) {
  std::string* target = Admit(&done);
  if (target == nullptr) return;
  target->append(command);
  Admitted(std::move(done), command.size());
}

std::string* RespClient::Admit(RespCallback* done) {
  switch (state_) {
    case State::kClosed:
      Fatal("Send() after Close()");
    case State::kBackoff:
      Defer(std::move(*done),
            RespError{RespError::Code::kDisconnected,
                      fmt::format("not connected to {} ({})", address_, last_failure_.message)});
      return nullptr;
    case State::kConnecting:
      if (requests_.size() >= options_.max_queued) {
        Defer(std::move(*done),
              RespError{RespError::Code::kOverloaded,
                        fmt::format("{} commands already wait for the connection to {}",
                                    requests_.size(), address_)});
        return nullptr;
      }
      return &unsent_;
    case State::kReady:
      return &out_;
  }
  return nullptr;
}

void RespClient::Admitted(RespCallback done, size_t length) {
  uint64_t timeout = static_cast<uint64_t>(options_.request_timeout.count());
  uint64_t deadline = timeout > 0 ? uv_now(loop_) + timeout : UINT64_MAX;
  requests_.push_back(Request{std::move(done), deadline, length});
  if (state_ == State::kReady) {
    ++sent_;
    ScheduleFlush();
  }
  if (timeout > 0 && !uv_is_active(reinterpret_cast<uv_handle_t*>(&request_timer_))) {
    uv_timer_start(
        &request_timer_, [](uv_timer_t* t) { static_cast<RespClient*>(t->data)->OnRequestTimer(); },
        timeout, 0);
  }
}

void RespClient::Defer(RespCallback done, RespError error) {
  deferred_.push_back(Deferred{std::move(done), std::move(error)});
  ScheduleFlush();
}

// An active idle handle makes the loop poll without blocking, so the flush happens on the next
// iteration wherever Send() was called from (any callback, or before uv_run).
void RespClient::ScheduleFlush() {
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&flush_idle_))) {
    uv_idle_start(&flush_idle_, OnIdle);
  }
}

void RespClient::OnIdle(uv_idle_t* idle) {
  auto* self = static_cast<RespClient*>(idle->data);
  uv_idle_stop(idle);
  self->Flush();
  while (!self->deferred_.empty() && self->state_ != State::kClosed) {
    Deferred d = std::move(self->deferred_.front());
    self->deferred_.pop_front();
    d.done(std::unexpected(std::move(d.error)));
  }
}

void RespClient::Flush() {
  if (conn_ == nullptr || !conn_->connected || conn_->writing || out_.empty()) return;
  auto* w = new Write;
  w->bytes.swap(out_);
  w->conn = conn_;
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  int rc = uv_write(&w->req, &conn_->stream, &buf, 1, OnWritten);
  if (rc < 0) {
    delete w;
    FailConnection(RespError{RespError::Code::kConnectionLost,
                             fmt::format("writing to {} failed: {}", address_, uv_strerror(rc))});
    return;
  }
  conn_->writing = true;
}

void RespClient::OnWritten(uv_write_t* req, int status) {
  auto* w = static_cast<Write*>(req->data);
  Conn* conn = w->conn;
  delete w;
  conn->writing = false;
  RespClient* self = conn->client;
  if (self == nullptr) return;  // the connection is closing (status is UV_ECANCELED)
  if (status < 0) {
    self->FailConnection(
        RespError{RespError::Code::kConnectionLost,
                  fmt::format("writing to {} failed: {}", self->address_, uv_strerror(status))});
    return;
  }
  self->Flush();
}

// ---- replies ----

void RespClient::OnRead(ssize_t nread) {
  if (nread > 0) {
    parser_.CommitAppend(static_cast<size_t>(nread));
    ProcessReplies();
    return;
  }
  if (nread == 0) return;
  std::string what = nread == UV_EOF ? "connection closed by the server"
                                     : fmt::format("read failed: {}", uv_strerror(nread));
  RespError::Code code =
      state_ == State::kReady ? RespError::Code::kConnectionLost : RespError::Code::kConnect;
  FailConnection(RespError{code, fmt::format("{}: {}", address_, what), static_cast<int>(nread)});
}

void RespClient::ProcessReplies() {
  Conn* conn = conn_;
  for (;;) {
    RespReply reply;
    RespReplyParser::Result r = parser_.Next(&reply);
    if (r == RespReplyParser::Result::kIncomplete) return;
    if (r == RespReplyParser::Result::kError) {
      FailConnection(RespError{RespError::Code::kProtocol, fmt::format("protocol error from {}: {}",
                                                                       address_, parser_.error())});
      return;
    }
    if (reply.type == RespReply::Type::kPush) {
      if (options_.on_push) options_.on_push(std::move(reply));
      if (conn_ != conn) return;
      continue;
    }
    if (!handshake_.empty()) {
      if (!OnHandshakeReply(reply)) return;
      if (conn_ != conn) return;
      continue;
    }
    if (sent_ == 0) {
      FailConnection(RespError{RespError::Code::kProtocol,
                               fmt::format("protocol error from {}: a reply to no command ({})",
                                           address_, reply.ToString().substr(0, 100))});
      return;
    }
    RespCallback done = std::move(requests_.front().done);
    requests_.pop_front();
    --sent_;
    if (requests_.empty()) uv_timer_stop(&request_timer_);
    done(std::move(reply));
    if (conn_ != conn) return;  // the callback closed the client
  }
}

// The oldest request has the earliest deadline (one timeout for all, FIFO), so one timer
// armed for it is enough; it is re-armed lazily when it fires early.
void RespClient::OnRequestTimer() {
  uint64_t timeout = static_cast<uint64_t>(options_.request_timeout.count());
  while (!requests_.empty() && state_ != State::kClosed) {
    uint64_t now = uv_now(loop_);
    if (requests_.front().deadline_ms > now) {
      uv_timer_start(
          &request_timer_,
          [](uv_timer_t* t) { static_cast<RespClient*>(t->data)->OnRequestTimer(); },
          requests_.front().deadline_ms - now, 0);
      return;
    }
    RespError timed_out{RespError::Code::kTimeout,
                        fmt::format("no reply from {} within {} ms", address_, timeout)};
    if (sent_ > 0) {
      RespError rest{RespError::Code::kConnectionLost,
                     fmt::format("connection to {} closed: an earlier command got no reply "
                                 "within {} ms, so later replies could not be matched",
                                 address_, timeout)};
      FailConnection(rest, &timed_out);
      return;
    }
    // Not written yet (the connection is not ready): only this command is affected.
    timed_out.message += " (still connecting)";
    Request r = std::move(requests_.front());
    requests_.pop_front();
    unsent_.erase(0, r.length);
    r.done(std::unexpected(std::move(timed_out)));
  }
}

// ---- failure ----

void RespClient::FailConnection(const RespError& reason, const RespError* first) {
  if (state_ == State::kClosed) return;
  DetachConn();
  unsent_.clear();
  sent_ = 0;
  last_failure_ = reason;
  state_ = State::kBackoff;
  uv_timer_stop(&request_timer_);
  uv_timer_start(
      &conn_timer_, [](uv_timer_t* t) { static_cast<RespClient*>(t->data)->OnConnTimer(); },
      static_cast<uint64_t>(backoff_.count()), 0);
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
  // Callbacks run one at a time from requests_, so a Close() inside one fails the rest.
  if (first != nullptr && !requests_.empty()) {
    RespCallback done = std::move(requests_.front().done);
    requests_.pop_front();
    done(std::unexpected(*first));
  }
  while (!requests_.empty() && state_ != State::kClosed) {
    RespCallback done = std::move(requests_.front().done);
    requests_.pop_front();
    done(std::unexpected(reason));
  }
  if (state_ != State::kClosed && options_.on_disconnected) options_.on_disconnected(reason);
}

}  // namespace rl::proxy
