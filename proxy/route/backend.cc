#include "proxy/route/backend.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "fmt/format.h"
#include "proxy/base/log.h"
#include "proxy/io/server_conn.h"
#include "proxy/route/errors.h"
#include "proxy/route/pool_router.h"

namespace rl::proxy {

namespace {

void FailWithLabel(Worker* worker, Request* r, std::string_view label, std::string_view reason) {
  Add(worker->stats().backend_errors);
  r->reply_own = BackendError(label, reason);
  r->UseOwnReply();
  r->reply_chunk.Reset();
  r->reply_is_error = true;
  r->done = true;
  worker->Complete(r);
}

}  // namespace

Backend::Backend(Worker* worker, PoolRouter* pool, const TopologyServer& server)
    : worker_(worker), pool_(pool), server_(server), label_(server.label) {
  conns_.assign(static_cast<size_t>(std::max(1, pool->conf().server_connections)), nullptr);
}

Backend::~Backend() = default;

void Backend::Send(Request* r, uint64_t affinity) {
  r->backend_label = &label_;
  if (retired_) {
    Fail(r, "the server left the pool");
    return;
  }
  if (!held_.empty()) {  // behind the ones already waiting, in order
    held_.push_back({r, affinity});
    return;
  }
  ServerConn*& slot = conns_[affinity % conns_.size()];
  if (slot == nullptr) {
    if (worker_->now_ms() < reconnect_at_ms_) {
      Hold(r, affinity);
      return;
    }
    ServerConn* conn = ServerConn::Connect(worker_, this);
    if (conn->closed()) {  // failed synchronously; OnClosed recorded why
      Fail(r, last_error_);
      return;
    }
    slot = conn;
  }
  if (const auto& timeout = pool_->conf().timeout; timeout && timeout->count() > 0) {
    r->deadline_ms = worker_->now_ms() + static_cast<uint64_t>(timeout->count());
  }
  slot->Enqueue(r);
}

void Backend::SendAlone(Request* r) {
  r->backend_label = &label_;
  if (retired_) {
    Fail(r, "the server left the pool");
    return;
  }
  if (worker_->now_ms() < reconnect_at_ms_) {
    FailFast(r);
    return;
  }
  ServerConn* conn = ServerConn::Connect(worker_, this, /*one_shot=*/true);
  if (conn->closed()) {
    Fail(r, last_error_);
    return;
  }
  alone_.push_back(conn);
  if (const auto& timeout = pool_->conf().timeout; timeout && timeout->count() > 0) {
    r->deadline_ms = worker_->now_ms() + static_cast<uint64_t>(timeout->count());
  }
  conn->Enqueue(r);
}

void Backend::Preconnect() {
  for (ServerConn*& slot : conns_) {
    if (slot != nullptr) continue;
    ServerConn* conn = ServerConn::Connect(worker_, this);
    if (!conn->closed()) slot = conn;
  }
}

void Backend::Shutdown() {
  FailHeld(/*counted=*/false, "proxy shutting down");
  retry_timer_.Close();
  for (ServerConn*& slot : conns_) {
    if (slot != nullptr) {
      ServerConn* conn = slot;
      slot = nullptr;
      conn->Close("proxy shutting down", /*failure=*/false);
    }
  }
  while (!alone_.empty()) alone_.back()->Close("proxy shutting down", /*failure=*/false);
}

void Backend::Update(const TopologyServer& server) {
  bool moved = !server.address.SameAs(server_.address);
  server_ = server;
  label_.assign(server.label);
  if (moved) {
    DrainShared();
    // A new address deserves a fresh start: no back-off or failures carried over.
    connect_failures_ = 0;
    reconnect_at_ms_ = 0;
    failure_count_ = 0;
    Log(kLogNotice, "pool '{}': backend {} moved; old connections close once drained",
        pool_->conf().name, label_);
    SendHeld();
  }
}

void Backend::Retire() {
  retired_ = true;
  ejected_ = false;
  FailHeld(/*counted=*/false, "the server left the pool");
  DrainShared();
  Log(kLogNotice, "pool '{}': backend {} left the pool; its connections close once drained",
      pool_->conf().name, label_);
}

void Backend::DrainShared() {
  for (ServerConn*& slot : conns_) {
    if (slot != nullptr) std::exchange(slot, nullptr)->CloseWhenIdle();
  }
}

void Backend::Fail(Request* r, std::string_view reason) {
  ++pool_->counters().forward_error;
  FailWithLabel(worker_, r, label_, reason);
}

void FailRequest(Worker* worker, Request* r, Backend* backend, std::string_view reason) {
  if (backend != nullptr) {
    backend->Fail(r, reason);
  } else {
    FailWithLabel(worker, r, "left the pool", reason);
  }
}

void SendOrFail(Worker* worker, Request* r, Backend* backend, uint64_t affinity) {
  if (backend != nullptr) {
    backend->Send(r, affinity);
  } else {
    FailRequest(worker, r, nullptr, "its server is no longer in the pool's topology");
  }
}

ServerSample Backend::Sample() const {
  ServerSample s;
  s.name = server_.conf.name.empty() ? label_ : server_.conf.name;
  s.counters = counters_;
  for (const ServerConn* conn : conns_) {
    if (conn != nullptr) conn->AddQueues(&s);
  }
  for (const ServerConn* conn : alone_) conn->AddQueues(&s);
  return s;
}

void Backend::OnConnected(ServerConn*) {
  ++counters_.server_connections;
  connect_failures_ = 0;
  reconnect_at_ms_ = 0;
  SendHeld();
}

void Backend::OnClosed(ServerConn* conn, std::string_view reason, bool failure,
                       bool was_connected) {
  if (was_connected && counters_.server_connections > 0) --counters_.server_connections;
  bool shared = false;
  for (ServerConn*& slot : conns_) {
    if (slot == conn) {
      slot = nullptr;
      shared = true;
    }
  }
  std::erase(alone_, conn);
  if (!failure && !shared) return;  // a SendAlone connection done with its request
  last_error_.assign(reason);
  if (!failure || retired_) return;
  Log(kLogWarn, "pool '{}': backend {}: {}", pool_->conf().name, label_, reason);
  uint64_t now = worker_->now_ms();
  if (!was_connected) {
    // Connect failed: back off before the next attempt; meanwhile requests fail fast.
    Add(worker_->stats().backend_connect_failures);
    ++connect_failures_;
    uint64_t min = static_cast<uint64_t>(worker_->options().reconnect_min.count());
    uint64_t max = static_cast<uint64_t>(worker_->options().reconnect_max.count());
    uint64_t delay = min << std::min<uint32_t>(connect_failures_ - 1, 20);
    reconnect_at_ms_ = now + std::min(delay, max);
  }
  CountFailure();
  // The attempt the held requests waited for failed (or the connection they would have used).
  FailHeld(/*counted=*/true, last_error_);
}

void Backend::FailFast(Request* r) {
  Fail(r, last_error_);
  CountFailure();
}

void Backend::Hold(Request* r, uint64_t affinity) {
  held_.push_back({r, affinity});
  if (held_.size() > 1) return;  // the timer (or an attempt) is already on its way
  if (!retry_timer_) {
    retry_timer_.Init([&](uv_timer_t* t) { return uv_timer_init(worker_->loop(), t); }, this);
  }
  uint64_t now = worker_->now_ms();
  uv_timer_start(retry_timer_.get(), OnRetryTimer,
                 reconnect_at_ms_ > now ? reconnect_at_ms_ - now : 0, 0);
}

void Backend::OnRetryTimer(uv_timer_t* t) { static_cast<Backend*>(t->data)->Probe(); }

// One connect attempt for every held request: the slot of the oldest. Its outcome
// (OnConnected or OnClosed) sends or fails them all.
void Backend::Probe() {
  if (held_.empty()) return;
  ServerConn*& slot = conns_[held_.front().affinity % conns_.size()];
  if (slot != nullptr) {
    SendHeld();
    return;
  }
  ServerConn* conn = ServerConn::Connect(worker_, this);
  if (!conn->closed()) slot = conn;  // else OnClosed failed the held requests already
}

void Backend::SendHeld() {
  if (held_.empty()) return;
  std::vector<Held> held = std::exchange(held_, {});
  // Sending can fail a request at once, and its client may send more meanwhile: those queue
  // behind the rest of `held` only if a new back-off began (Send holds them again).
  for (size_t i = 0; i < held.size(); ++i) {
    if (!held_.empty()) {
      held_.insert(held_.begin(), held.begin() + static_cast<ptrdiff_t>(i), held.end());
      return;
    }
    Send(held[i].r, held[i].affinity);
  }
}

void Backend::FailHeld(bool counted, std::string_view reason) {
  if (held_.empty()) return;
  std::vector<Held> held = std::exchange(held_, {});
  std::string why(reason);  // `reason` may be last_error_, which a failure can rewrite
  for (const Held& h : held) {
    if (counted) {
      FailFast(h.r);
    } else {
      Fail(h.r, why);
    }
  }
}

void Backend::CountFailure() {
  // nutcracker: every failure counts; at server_failure_limit consecutive ones, an
  // auto_eject_hosts pool takes the server out of the ring until server_retry_timeout passes.
  // So a dead server costs at most server_failure_limit errors per retry period (per worker).
  const conf::Pool& pool = pool_->conf();
  if (++failure_count_ < pool.server_failure_limit || !pool.auto_eject_hosts || ejected_) return;
  failure_count_ = 0;
  ejected_ = true;
  retry_at_ms_ = worker_->now_ms() + static_cast<uint64_t>(pool.server_retry_timeout.count());
  Add(worker_->stats().ejections);
  ++pool_->counters().server_ejects;
  counters_.server_ejected_at =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  Log(kLogNotice, "pool '{}': ejecting backend {} for {} ms", pool.name, label_,
      pool.server_retry_timeout.count());
  pool_->RebuildRing();
}

}  // namespace rl::proxy
