#include "proxy/session/reserved_conn.h"

#include <utility>

#include "proxy/host/worker.h"
#include "proxy/io/server_conn.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/pool_router.h"

namespace rl::proxy {

ReservedConns::ReservedConns(PoolRouter* pool, DedicatedOwner* owner)
    : pool_(pool), owner_(owner) {}

ReservedConns::~ReservedConns() { CloseAll(); }

ServerConn* ReservedConns::Find(uint32_t backend, Kind kind) const {
  const std::vector<ServerConn*>& table = kind == Kind::kCommand ? command_ : subscriber_;
  return backend < table.size() ? table[backend] : nullptr;
}

ServerConn* ReservedConns::Get(uint32_t backend, Kind kind, std::string_view name) {
  if (command_.size() <= backend) {  // servers joined the pool since
    command_.resize(backend + 1, nullptr);
    subscriber_.resize(backend + 1, nullptr);
  }
  ServerConn*& slot = Table(kind)[backend];
  if (slot != nullptr) return slot;
  Backend* b = pool_->BackendById(backend);
  if (b == nullptr) {
    last_error_.assign("the server left the pool");
    return nullptr;
  }
  ServerConn* conn =
      ServerConn::ConnectDedicated(pool_->worker(), b, owner_, kind == Kind::kSubscriber);
  if (conn->closed()) return nullptr;  // failed at once: Forget() recorded why
  slot = conn;
  if (!name.empty()) Send(conn, NewOwnedCommand(pool_->worker(), {"CLIENT", "SETNAME", name}), 0);
  return conn;
}

void ReservedConns::Close(uint32_t backend, Kind kind) {
  if (backend >= command_.size()) return;
  ServerConn* conn = std::exchange(Table(kind)[backend], nullptr);
  if (conn != nullptr) conn->Close("closed by ringleader for its client", /*failure=*/false);
}

void ReservedConns::CloseAll() {
  for (uint32_t i = 0; i < command_.size(); ++i) {
    Close(i, Kind::kCommand);
    Close(i, Kind::kSubscriber);
  }
}

bool ReservedConns::Which(const ServerConn* conn, uint32_t* backend, Kind* kind) const {
  for (uint32_t i = 0; i < command_.size(); ++i) {
    if (command_[i] == conn) {
      *backend = i;
      *kind = Kind::kCommand;
      return true;
    }
    if (subscriber_[i] == conn) {
      *backend = i;
      *kind = Kind::kSubscriber;
      return true;
    }
  }
  return false;
}

bool ReservedConns::Forget(const ServerConn* conn, std::string_view reason, uint32_t* backend,
                           Kind* kind) {
  last_error_.assign(reason);
  if (!Which(conn, backend, kind)) return false;
  Table(*kind)[*backend] = nullptr;
  return true;
}

void ReservedConns::Rename(std::string_view name) {
  for (ServerConn* conn : command_) {
    if (conn != nullptr) {
      Send(conn, NewOwnedCommand(pool_->worker(), {"CLIENT", "SETNAME", name}), 0);
    }
  }
}

bool ReservedConns::any_open() const {
  for (uint32_t i = 0; i < command_.size(); ++i) {
    if (command_[i] != nullptr || subscriber_[i] != nullptr) return true;
  }
  return false;
}

void ReservedConns::Send(ServerConn* conn, Request* r, uint64_t deadline_ms) {
  r->backend_label = &conn->backend()->label();
  r->deadline_ms = deadline_ms;
  conn->Enqueue(r);
}

Request* NewOwnedCommand(Worker* worker, std::span<const std::string_view> argv, uint32_t replies,
                         Request* waiting) {
  Request* r = worker->requests().New(Request::Kind::kOwned);
  AppendCommand(&r->own, argv);
  r->pieces.push_back(uv_buf_init(r->own.data(), static_cast<unsigned>(r->own.size())));
  r->pending = replies;
  r->parent = waiting;
  if (waiting != nullptr) ++waiting->pending;
  return r;
}

Request* NewOwnedCommand(Worker* worker, std::initializer_list<std::string_view> argv) {
  return NewOwnedCommand(worker, std::span<const std::string_view>(argv.begin(), argv.size()));
}

}  // namespace rl::proxy
