#include "proxy/session/client_session.h"

#include <utility>

#include "fmt/format.h"
#include "proxy/base/ascii.h"
#include "proxy/commands/command_table.h"
#include "proxy/host/worker.h"
#include "proxy/io/client_conn.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/errors.h"
#include "proxy/route/pool_router.h"
#include "proxy/session/blocking.h"
#include "proxy/session/local_commands.h"
#include "proxy/session/pubsub.h"
#include "proxy/session/transaction.h"

namespace rl::proxy {

ClientSession::ClientSession(ClientConn* client)
    : client_(client),
      conns_(client->pool(), this),
      transaction_(std::make_unique<Transaction>(this)),
      subscriptions_(std::make_unique<Subscriptions>(this)) {}

ClientSession::~ClientSession() { Teardown(); }

PoolRouter* ClientSession::pool() const { return client_->pool(); }
Worker* ClientSession::worker() const { return client_->worker(); }
const std::string& ClientSession::name() const { return client_->state().name; }

bool ClientSession::subscribed() const { return subscriptions_->active(); }

bool ClientSession::Intercepts(const CommandInfo& info) const {
  if (subscriptions_->active()) return true;
  if (!transaction_->in_multi()) return false;
  switch (info.handler) {
    case Handler::kExec:
    case Handler::kDiscard:
    case Handler::kMulti:
    case Handler::kWatch:
    case Handler::kQuit:
    case Handler::kReset:
      return false;
    default:
      return true;
  }
}

void ClientSession::Dispatch(Request* r, const ParsedRequest& req, const CommandInfo& info) {
  std::span<const std::string_view> argv = req.argv;
  if (subscriptions_->active()) {
    // RESP2 subscribed mode: Redis allows only these.
    if (info.route == Route::kPubsub && info.handler != Handler::kPublish) {
      subscriptions_->Run(r, req, info);
    } else if (info.handler == Handler::kPing) {
      subscriptions_->Ping(r, argv);
    } else if (info.handler == Handler::kQuit || info.handler == Handler::kReset) {
      RunLocalCommand(pool(), client_, r, info, argv);
    } else {
      std::string error;
      AppendError(&error, fmt::format("ERR Can't execute '{}': only (P|S)SUBSCRIBE / "
                                      "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
                                      "this context",
                                      info.name));
      Reply(r, error);
    }
    return;
  }
  if (Intercepts(info)) {
    transaction_->Queue(r, req, info);
    return;
  }
  switch (info.route) {
    case Route::kTransaction:
      transaction_->Run(r, req, info);
      return;
    case Route::kBlocking:
      RunBlocking(this, r, req, info);
      return;
    case Route::kPubsub:
      subscriptions_->Run(r, req, info);
      return;
    default:
      Reply(r, "-ERR internal: not a per-client command\r\n");
      return;
  }
}

void ClientSession::OnRejected() { transaction_->Flag(); }

void ClientSession::MarkBlocking(Request* r) {
  if (blocking_ == nullptr) Add(worker()->stats().blocked_clients);
  blocking_ = r;
}

void ClientSession::ClearBlocking() {
  if (blocking_ == nullptr) return;
  blocking_ = nullptr;
  Add(worker()->stats().blocked_clients, -1);
}

void ClientSession::OnReplyReady(Request* r) {
  if (r == blocking_) ClearBlocking();
  if (r == exclusive_) {
    exclusive_ = nullptr;
    client_->Resume();
    return;
  }
  if (held_ == nullptr || held_waiting_ == 0) return;
  if (--held_waiting_ == 0) {
    // Recount rather than trust the count alone: cheap, once per exclusive command.
    held_waiting_ = client_->PendingBefore(held_);
    if (held_waiting_ == 0) SendHeld();
  }
}

void ClientSession::OnNameChanged() { conns_.Rename(name()); }

void ClientSession::Reset() {
  transaction_->Reset();
  subscriptions_->Reset();
  conns_.CloseAll();
}

void ClientSession::Teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  // ClientConn::Close made every request still on its queue an orphan; the held one was on no
  // server queue, so it is ours to free.
  if (held_ != nullptr) {
    for (Request* p : held_prefix_) worker()->Release(p);
    held_prefix_.clear();
    worker()->Release(std::exchange(held_, nullptr));
  }
  exclusive_ = nullptr;
  ClearBlocking();
  transaction_->Reset();
  subscriptions_->Reset();
  conns_.CloseAll();
}

void ClientSession::RunExclusive(Request* r, uint32_t backend, std::vector<Request*> prefix,
                                 uint64_t deadline_ms, uint64_t r_deadline_ms) {
  client_->Pause();
  exclusive_ = r;
  held_ = r;
  held_backend_ = backend;
  held_prefix_ = std::move(prefix);
  held_deadline_ = deadline_ms;
  held_r_deadline_ = r_deadline_ms;
  held_waiting_ = client_->PendingBefore(r);
  if (held_waiting_ == 0) SendHeld();
}

void ClientSession::SendHeld() {
  Request* r = std::exchange(held_, nullptr);
  std::vector<Request*> prefix = std::move(held_prefix_);
  held_prefix_.clear();
  ServerConn* conn = conns_.Get(held_backend_, ReservedConns::Kind::kCommand, name());
  if (conn == nullptr) {
    std::string why = conns_.last_error();
    Backend* backend = pool()->BackendById(held_backend_);
    for (Request* p : prefix) FailRequest(worker(), p, backend, why);
    FailRequest(worker(), r, backend, why);  // completes r: the client resumes
    return;
  }
  for (Request* p : prefix) ReservedConns::Send(conn, p, held_deadline_);
  ReservedConns::Send(conn, r, held_r_deadline_);
}

void ClientSession::Reply(Request* r, std::string_view bytes) {
  r->SetOwnReply(bytes);
  r->done = true;
  client_->OnReplyReady(r);
}

uint64_t ClientSession::PoolDeadline() const {
  const auto& timeout = client_->pool()->conf().timeout;
  if (!timeout || timeout->count() <= 0) return 0;
  return client_->worker()->now_ms() + static_cast<uint64_t>(timeout->count());
}

bool ClientSession::OnPush(ServerConn*, Chunk*, std::string_view) {
  // Never called: the session opens command connections only (not in push mode); subscriber
  // connections belong to the pool's PubsubHub.
  return true;
}

void ClientSession::OnDedicatedClosed(ServerConn* conn, std::string_view reason) {
  uint32_t backend;
  ReservedConns::Kind kind;
  if (!conns_.Forget(conn, reason, &backend, &kind) || torn_down_) return;
  if (kind == ReservedConns::Kind::kCommand) transaction_->OnConnLost(backend);
}

std::expected<uint32_t, std::string> KeysOwner(PoolRouter* pool, const CommandInfo& info,
                                               std::span<const std::string_view> argv,
                                               uint32_t pinned) {
  thread_local std::vector<uint32_t> keys;
  keys.resize(argv.size());
  int n;
  if (info.handler == Handler::kPublish) {  // the channel is placed like a key
    keys[0] = 1;
    n = 1;
  } else {
    n = ExtractKeys(info, argv, keys);
  }
  if (n <= 0) return kAnyBackend;
  if (pool->AnyBackend() == nullptr) return std::unexpected(NoServerError(pool->conf().name));
  if (info.handler == Handler::kPublish) return pool->ChannelBackend(argv[1])->id();
  thread_local std::vector<ServerId> owners;
  if (pool->random_placement()) {
    // No key has a home: the pinned server, or one drawn for all the keys.
    owners.assign(1, pinned != kAnyBackend ? pinned : pool->BackendFor(argv[keys[0]])->id());
  } else if (!pool->PlaceKeys(argv, std::span(keys).first(static_cast<size_t>(n)), &owners)) {
    return std::unexpected(CrossSlotError());
  }
  if ((info.flags & kPatternKeys) != 0) {
    if (std::string refusal = pool->PatternKeysRefusal(argv, owners[0]); !refusal.empty()) {
      return std::unexpected(refusal);
    }
  }
  return owners[0];
}

std::string NotSupportedError(const CommandInfo& info, std::span<const std::string_view> argv) {
  std::string name = AsciiUppercase(argv[0]);
  if (info.name.find('|') != std::string_view::npos && argv.size() > 1) {
    // Two appends, not `" " + AsciiUppercase(...)`: g++ 12 -O3 warns falsely (-Wrestrict).
    name += ' ';
    name += AsciiUppercase(argv[1]);
  }
  std::string error;
  AppendError(&error, fmt::format("ERR '{}' is not supported by ringleader: {}", name,
                                  info.reason.empty() ? "not inside MULTI" : info.reason));
  return error;
}

}  // namespace rl::proxy
