// Per-client state for the command families that cannot run on a shared, pipelined server
// connection: transactions (transaction.h), blocking commands (blocking.h) and pub/sub
// (pubsub.h). A client gets one on its first such command; plain GET/SET clients never do.
//
// It owns the client's dedicated connections (reserved_conn.h) and the ordering barrier for
// commands run on them: such a command is sent only once every earlier request of the client
// has its reply, and the client's later requests are not dispatched until its own reply is
// ready. So one client's commands still run in the order it sent them although they travel on
// two connections, and a blocked command holds back its client, as Redis does, and no other.
// Thread safety: owned by the client's worker thread.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/io/request.h"
#include "proxy/io/server_conn.h"
#include "proxy/session/reserved_conn.h"

namespace rl::proxy {

class ClientConn;
class PoolRouter;
class Subscriptions;
class Transaction;
class Worker;
struct CommandInfo;
struct ParsedRequest;

// A request that names no key (any server will do), as opposed to a backend index.
inline constexpr uint32_t kAnyBackend = UINT32_MAX;

class ClientSession final : public DedicatedOwner {
 public:
  explicit ClientSession(ClientConn* client);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // --- hooks of ClientConn, PoolRouter and the local commands ---

  // Whether `info` is dispatched by the session instead of routed as usual: every command of a
  // client in MULTI (queued) but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET, and every command
  // of a subscribed client (RESP2 allows it only a few).
  bool Intercepts(const CommandInfo& info) const;
  // An intercepted request, or a kTransaction, kBlocking or kPubsub one.
  void Dispatch(Request* r, const ParsedRequest& req, const CommandInfo& info);
  // A request was refused before routing (unknown command, arity, NOAUTH): an open
  // transaction will fail at EXEC, as in Redis.
  void OnRejected();
  // r's reply is final (the barrier's bookkeeping).
  void OnReplyReady(Request* r);
  // CLIENT SETNAME / HELLO SETNAME: carried onto the open command connections.
  void OnNameChanged();
  // RESET: ends a transaction (and WATCH), every subscription, and closes the dedicated
  // connections.
  void Reset();
  // The client closed: close every dedicated connection now. The object is deleted later.
  void Teardown();

  // --- for the command families ---

  ClientConn* client() const { return client_; }
  PoolRouter* pool() const;
  Worker* worker() const;
  ReservedConns& conns() { return conns_; }
  const std::string& name() const;
  bool torn_down() const { return torn_down_; }
  // Subscribed to a channel, pattern or shard channel (RESP2's subscribed mode).
  bool subscribed() const;
  // A blocking command (BLPOP, XREAD BLOCK, ...) of the client's waits for its reply, sent or
  // still held behind earlier requests. MarkBlocking(r) says r is one, until r's reply.
  bool blocked() const { return blocking_ != nullptr; }
  // `r` blocks the client on its server (INFO's blocked_clients counts it until answered).
  void MarkBlocking(Request* r);

  // Runs `r` on the client's command connection to backend index `backend` behind the barrier
  // (see above): `prefix` (kOwned slots, e.g. MULTI and the queued commands) goes just before
  // it, all with `deadline_ms` (0: none) but r, which gets `r_deadline_ms`. If the connection
  // cannot be opened, r fails with an error naming the backend.
  void RunExclusive(Request* r, uint32_t backend, std::vector<Request*> prefix,
                    uint64_t deadline_ms, uint64_t r_deadline_ms);
  // Completes r with `bytes` as its reply.
  void Reply(Request* r, std::string_view bytes);
  // The pool's `timeout` from now, or 0 when it has none.
  uint64_t PoolDeadline() const;

  // DedicatedOwner.
  bool OnPush(ServerConn* conn, Chunk* chunk, std::string_view reply) override;
  void OnDedicatedClosed(ServerConn* conn, std::string_view reason) override;

 private:
  void SendHeld();
  void ClearBlocking();

  ClientConn* client_;
  ReservedConns conns_;
  std::unique_ptr<Transaction> transaction_;
  std::unique_ptr<Subscriptions> subscriptions_;
  bool torn_down_ = false;
  // The barrier: `held_` waits for `held_waiting_` earlier replies; `exclusive_` was sent and
  // holds back the client's later requests until its reply.
  Request* held_ = nullptr;
  uint32_t held_backend_ = 0;
  std::vector<Request*> held_prefix_;
  uint64_t held_deadline_ = 0;
  uint64_t held_r_deadline_ = 0;
  uint32_t held_waiting_ = 0;
  Request* exclusive_ = nullptr;
  Request* blocking_ = nullptr;  // see blocked()
};

// The server that owns every key of a request whose keys must live together (PUBLISH's
// channel counts as its key). On success a backend index, or kAnyBackend for a request without
// keys (or with arguments Redis itself rejects). On failure the error reply to send: keys on
// several servers (-CROSSSLOT), or no server in the ring. In a pool with `distribution: random`
// the keys have no home: one server drawn for the request, or `pinned` when it names one (the
// server a transaction already runs on).
std::expected<uint32_t, std::string> KeysOwner(PoolRouter* pool, const CommandInfo& info,
                                               std::span<const std::string_view> argv,
                                               uint32_t pinned = kAnyBackend);

// "ERR 'NAME' is not supported by ringleader: reason" for a kRefused or kSpecial command.
std::string NotSupportedError(const CommandInfo& info, std::span<const std::string_view> argv);

}  // namespace rl::proxy
