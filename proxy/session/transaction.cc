#include "proxy/session/transaction.h"

#include <utility>

#include "fmt/format.h"
#include "proxy/commands/command_table.h"
#include "proxy/host/worker.h"
#include "proxy/io/client_conn.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/errors.h"
#include "proxy/route/pool_router.h"
#include "proxy/session/client_session.h"
#include "proxy/session/reserved_conn.h"

namespace rl::proxy {

namespace {

constexpr std::string_view kMulti = "*1\r\n$5\r\nMULTI\r\n";
constexpr std::string_view kExec = "*1\r\n$4\r\nEXEC\r\n";

std::string Error(std::string_view text) {
  std::string out;
  AppendError(&out, text);
  return out;
}

std::string Label(ClientSession* s, uint32_t backend) {
  Backend* b = s->pool()->BackendById(backend);
  return b != nullptr ? b->label() : fmt::format("server id {} (it left the pool)", backend);
}

// Whether a command may be queued, by how ringleader routes it. On refusal, the error text.
std::string QueueRefusal(const CommandInfo& info, std::span<const std::string_view> argv) {
  switch (info.route) {
    case Route::kForwardByKey:
    case Route::kColocated:
    case Route::kSplitMerge:
    case Route::kAnyServer:
    case Route::kBlocking:     // a blocking command inside MULTI does not block, as in Redis
    case Route::kTransaction:  // UNWATCH: queued, as Redis does
      return {};
    case Route::kLocal:
      // The server answers these two the same; the others are ringleader's own state.
      if (info.handler == Handler::kPing || info.handler == Handler::kEcho) return {};
      return Error(fmt::format(
          "ERR '{}' inside MULTI is not supported by ringleader: ringleader answers it itself",
          info.name));
    case Route::kPubsub:
      if (info.handler == Handler::kPublish) return {};
      return Error(fmt::format(
          "ERR '{}' inside MULTI is not supported by ringleader: subscriptions are ringleader's "
          "own per-client state",
          info.name));
    case Route::kBroadcast:
      return Error(fmt::format(
          "ERR '{}' inside MULTI is not supported by ringleader: it runs on every server",
          info.name));
    case Route::kLock:
      return Error(fmt::format(
          "ERR '{}' inside MULTI is not supported by ringleader: the lock service answers it "
          "itself (send FENCED writes outside MULTI)",
          info.name));
    case Route::kRefused:
    case Route::kSpecial:
      return NotSupportedError(info, argv);
    default:
      return NotSupportedError(info, argv);
  }
}

}  // namespace

Transaction::~Transaction() { Reset(); }

void Transaction::Run(Request* r, const ParsedRequest& req, const CommandInfo& info) {
  Handler handler = info.handler;
  if (handler == Handler::kMulti) {
    if (in_multi_) {
      session_->Reply(r, "-ERR MULTI calls can not be nested\r\n");
      return;
    }
    in_multi_ = true;
    aborted_ = false;
    abort_reason_.clear();
    target_ = watching_;
    session_->Reply(r, "+OK\r\n");
  } else if (handler == Handler::kExec) {
    if (!in_multi_) {
      session_->Reply(r, "-ERR EXEC without MULTI\r\n");
      return;
    }
    Exec(r);
  } else if (handler == Handler::kDiscard) {
    if (!in_multi_) {
      session_->Reply(r, "-ERR DISCARD without MULTI\r\n");
      return;
    }
    EndMulti();
    DropWatches();
    session_->Reply(r, "+OK\r\n");
  } else if (handler == Handler::kWatch) {
    if (in_multi_) {
      session_->Reply(r, "-ERR WATCH inside MULTI is not allowed\r\n");
      return;
    }
    Watch(r, req, info);
  } else {
    Unwatch(r);
  }
}

void Transaction::Refuse(Request* r, std::string_view error) {
  aborted_ = true;
  session_->Reply(r, error);
}

void Transaction::Queue(Request* r, const ParsedRequest& req, const CommandInfo& info) {
  if (std::string refusal = QueueRefusal(info, req.argv); !refusal.empty()) {
    Refuse(r, refusal);
    return;
  }
  // (A random pool keeps the whole transaction on the server it started on, or on the watched one.)
  auto owner =
      KeysOwner(session_->pool(), info, req.argv, target_ != kAnyBackend ? target_ : watching_);
  if (!owner) {
    Refuse(r, owner.error());
    return;
  }
  if (*owner != kAnyBackend) {
    if (target_ == kAnyBackend) {
      target_ = *owner;
    } else if (*owner != target_) {
      if (abort_reason_.empty()) {
        abort_reason_ = fmt::format(
            " ringleader runs a transaction on one server, and its keys live on {} and {}",
            Label(session_, target_), Label(session_, *owner));
      }
      Refuse(r, CrossSlotError(fmt::format(" as the transaction's other keys (on {})",
                                           Label(session_, target_))));
      return;
    }
  }
  Request* slot = session_->worker()->requests().New(Request::Kind::kOwned);
  AppendRequestBytes(&slot->own, req);
  slot->pieces.push_back(uv_buf_init(slot->own.data(), static_cast<unsigned>(slot->own.size())));
  slot->pending = 1;
  queued_.push_back(slot);
  session_->Reply(r, "+QUEUED\r\n");
}

void Transaction::Exec(Request* r) {
  bool aborted = aborted_;
  std::string reason = std::move(abort_reason_);
  uint32_t target = target_;
  uint32_t watched = watching_;
  bool lost = watch_lost_;
  std::vector<Request*> queued = std::exchange(queued_, {});
  in_multi_ = false;
  aborted_ = false;
  target_ = kAnyBackend;
  // EXEC always ends WATCH, whatever its outcome.
  watching_ = kAnyBackend;
  watch_lost_ = false;
  Worker* worker = session_->worker();
  auto drop_queued = [&] {
    for (Request* q : queued) worker->Release(q);
  };
  if (aborted) {
    drop_queued();
    if (watched != kAnyBackend && !lost) {
      watching_ = watched;
      DropWatches();
    }
    std::string text = "-EXECABORT Transaction discarded because of previous errors.";
    if (!reason.empty()) text += reason;
    text += "\r\n";
    session_->Reply(r, text);
    return;
  }
  if (lost) {
    drop_queued();
    session_->Reply(
        r, Error(fmt::format("EXECABORT Transaction discarded: the connection to {} closed "
                             "while keys were watched, so a change to them may have been missed",
                             Label(session_, watched))));
    return;
  }
  if (queued.empty() && watched == kAnyBackend) {
    session_->Reply(r, "*0\r\n");
    return;
  }
  PoolRouter* pool = session_->pool();
  if (target == kAnyBackend) {
    Backend* any = pool->AnyBackend();
    if (any == nullptr) {
      drop_queued();
      session_->Reply(r, NoServerError(pool->conf().name));
      return;
    }
    target = any->id();
  }
  // MULTI rides in front of the first queued command's bytes; each queued command still gets
  // its own slot, as each gets its own reply (+QUEUED) from the server.
  Request* multi = worker->requests().New(Request::Kind::kOwned);
  multi->own.assign(kMulti);
  multi->pieces.push_back(uv_buf_init(multi->own.data(), static_cast<unsigned>(multi->own.size())));
  multi->pending = 1;
  queued.insert(queued.begin(), multi);
  r->own.assign(kExec);
  r->pieces.push_back(uv_buf_init(r->own.data(), static_cast<unsigned>(r->own.size())));
  session_->client()->state().last_write_server = target;
  if (watched != kAnyBackend) {
    uint64_t deadline = session_->PoolDeadline();
    session_->RunExclusive(r, target, std::move(queued), deadline, deadline);
    return;
  }
  Backend* backend = pool->BackendById(target);
  uint64_t affinity = session_->client()->state().id;
  for (Request* q : queued) SendOrFail(worker, q, backend, affinity);
  SendOrFail(worker, r, backend, affinity);
}

void Transaction::Watch(Request* r, const ParsedRequest& req, const CommandInfo& info) {
  auto owner = KeysOwner(session_->pool(), info, req.argv, watching_);
  if (!owner) {
    session_->Reply(r, owner.error());
    return;
  }
  if (watching_ != kAnyBackend && *owner != watching_) {
    session_->Reply(r, CrossSlotError(fmt::format(" as the keys this client already watches (on {})",
                                                  Label(session_, watching_))));
    return;
  }
  if (watching_ == kAnyBackend) watch_lost_ = false;
  watching_ = *owner;
  CopyRequestBytes(r, req);
  // Behind the barrier: a read the client sends after WATCH must see the watched state.
  uint64_t deadline = session_->PoolDeadline();
  session_->RunExclusive(r, *owner, {}, deadline, deadline);
}

void Transaction::Unwatch(Request* r) {
  uint32_t watched = std::exchange(watching_, kAnyBackend);
  watch_lost_ = false;
  ServerConn* conn = watched == kAnyBackend
                         ? nullptr
                         : session_->conns().Find(watched, ReservedConns::Kind::kCommand);
  if (conn == nullptr) {
    session_->Reply(r, "+OK\r\n");
    return;
  }
  r->own = "*1\r\n$7\r\nUNWATCH\r\n";
  r->pieces.push_back(uv_buf_init(r->own.data(), static_cast<unsigned>(r->own.size())));
  ReservedConns::Send(conn, r, session_->PoolDeadline());
}

void Transaction::DropWatches() {
  uint32_t watched = std::exchange(watching_, kAnyBackend);
  watch_lost_ = false;
  if (watched == kAnyBackend) return;
  ServerConn* conn = session_->conns().Find(watched, ReservedConns::Kind::kCommand);
  if (conn != nullptr) {
    ReservedConns::Send(conn, NewOwnedCommand(session_->worker(), {"UNWATCH"}),
                        session_->PoolDeadline());
  }
}

void Transaction::OnConnLost(uint32_t backend) {
  if (watching_ == backend) watch_lost_ = true;
}

void Transaction::EndMulti() {
  for (Request* q : queued_) session_->worker()->Release(q);
  queued_.clear();
  in_multi_ = false;
  aborted_ = false;
  abort_reason_.clear();
  target_ = kAnyBackend;
}

void Transaction::Reset() {
  EndMulti();
  watching_ = kAnyBackend;
  watch_lost_ = false;
}

}  // namespace rl::proxy
