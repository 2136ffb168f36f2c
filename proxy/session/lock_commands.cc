// LOCK.* and FENCED. A LOCK.* request pauses its client (its later requests wait, as behind a
// blocked Redis client, so a client's commands still run in the order it sent them), is posted
// to the control loop, and its reply is posted back to the worker, which completes the request
// and resumes the client. A client that went away meanwhile leaves an orphan request: its reply
// is dropped, and a grant it carried is released at once, so a disconnected WAIT leaves no lock
// behind.

#include "proxy/session/lock_commands.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "lock/coordinator.h"
#include "lock/fence.h"
#include "proxy/base/ascii.h"
#include "proxy/base/decimal.h"
#include "proxy/commands/command_table.h"
#include "proxy/host/lock_service.h"
#include "proxy/host/worker.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/errors.h"
#include "proxy/route/pool_router.h"

namespace rl::proxy {
namespace {

// The one place for the lock service's own error texts (the coordinator's are lock/'s).
constexpr std::string_view kNotConfigured =
    "ERR locks are not configured (ringleader: locks: in {})";
constexpr std::string_view kSyntax = "ERR syntax error";
constexpr std::string_view kBadTtl = "ERR invalid expire time in '{}' command";
constexpr std::string_view kBadToken = "ERR token is not a positive integer";
constexpr std::string_view kBadWait = "ERR WAIT is not a non-negative integer";

void Reply(ClientConn* client, Request* r, std::string_view bytes) {
  r->SetOwnReply(bytes);
  r->done = true;
  client->OnReplyReady(r);
}

void ReplyError(ClientConn* client, Request* r, std::string_view text) {
  std::string out;
  AppendError(&out, text);
  Reply(client, r, out);
}

// A lock error as the client sees it: the coordinator's TRYAGAIN and NOTOWNER texts as they
// are, anything else as an ERR naming the lock service.
std::string ErrorReply(const lock::Error& e) {
  std::string out;
  if (e.code == lock::Error::Code::kNoQuorum || e.code == lock::Error::Code::kNotOwner ||
      e.code == lock::Error::Code::kUnfenced) {
    AppendError(&out, e.message);
  } else {
    AppendError(&out, fmt::format("ERR lock service: {}", e.message));
  }
  return out;
}

std::optional<uint64_t> PositiveInt(std::string_view s) {
  int64_t v = 0;
  if (!ParseStrictInt(s, &v) || v <= 0) return std::nullopt;
  return static_cast<uint64_t>(v);
}

// What to do on the coordinator when a reply finds nobody to take it (a grant's release).
using Undo = std::function<void(lock::Coordinator&)>;

// On r's worker: completes r (an orphan is freed) and lets its client's next requests run.
void Complete(Worker* w, Request* r, std::string_view bytes) {
  ClientConn* client = r->client;  // null: the client went away (r is an orphan)
  if (client != nullptr) client->state().lock_waiting = false;
  r->SetOwnReply(bytes);
  r->done = true;
  w->Complete(r);  // frees an orphan
  if (client != nullptr && !client->closed()) client->Resume();
}

// On the control loop: hands `bytes` to r's worker, which completes r there. `undo` runs on the
// coordinator instead when r's client has gone away, or when the worker has finished.
void Return(LockService* service, Worker* w, Request* r, std::string bytes, Undo undo = {}) {
  auto run_undo = [service, undo] {
    if (undo) service->Post(undo);
  };
  bool posted = w->Post([w, r, bytes = std::move(bytes), run_undo] {
    if (r->client == nullptr) run_undo();
    Complete(w, r, bytes);
  });
  if (!posted) run_undo();
}

// Posts `fn` to the coordinator; fn answers with Return(). The client waits meanwhile.
void Submit(PoolRouter* pool, ClientConn* client, Request* r,
            std::function<void(lock::Coordinator&, LockService*, Worker*)> fn) {
  LockService* service = pool->worker()->shared().locks;
  Worker* w = pool->worker();
  client->Pause();
  bool posted =
      service->Post([fn = std::move(fn), service, w](lock::Coordinator& c) { fn(c, service, w); });
  if (!posted) {
    client->state().lock_waiting = false;
    client->Resume();
    ReplyError(client, r, "ERR lock service: shutting down");
  }
}

void Acquire(PoolRouter* pool, ClientConn* client, Request* r,
             std::span<const std::string_view> argv) {
  // LOCK.ACQUIRE name owner PX ms [WAIT ms] [REENTRANT]
  if (!EqualsIgnoreCase(argv[3], "px")) return ReplyError(client, r, kSyntax);
  std::optional<uint64_t> ttl = PositiveInt(argv[4]);
  if (!ttl) return ReplyError(client, r, fmt::format(kBadTtl, "lock.acquire"));
  std::optional<uint64_t> wait;
  bool reentrant = false;
  for (size_t i = 5; i < argv.size(); ++i) {
    if (EqualsIgnoreCase(argv[i], "wait") && i + 1 < argv.size() && !wait) {
      int64_t ms = 0;
      if (!ParseStrictInt(argv[++i], &ms) || ms < 0) return ReplyError(client, r, kBadWait);
      wait = static_cast<uint64_t>(ms);
    } else if (EqualsIgnoreCase(argv[i], "reentrant") && !reentrant) {
      reentrant = true;
    } else {
      return ReplyError(client, r, kSyntax);
    }
  }
  std::string name(argv[1]), owner(argv[2]);
  // Blocked: an EOF from the client now closes it (ClientConn::OnPeerShutdown), as Redis
  // does for a blocked client, so the grant that may still come is released, not kept.
  if (wait && *wait > 0) client->state().lock_waiting = true;
  Submit(pool, client, r,
         [r, name, owner, ttl = *ttl, wait, reentrant](lock::Coordinator& c, LockService* service,
                                                       Worker* w) {
           auto done = [r, name, owner, service,
                        w](std::expected<std::optional<lock::Grant>, lock::Error> result) {
             if (!result) return Return(service, w, r, ErrorReply(result.error()));
             if (!result->has_value()) return Return(service, w, r, "$-1\r\n");
             const lock::Grant g = **result;
             std::string out;
             AppendArrayHeader(&out, 2);
             AppendInteger(&out, static_cast<int64_t>(g.token));
             AppendInteger(&out, static_cast<int64_t>(g.validity_ms));
             Return(service, w, r, std::move(out), [name, owner, token = g.token](auto& coord) {
               coord.Release(name, owner, token, [](auto) {});
             });
           };
           if (wait && *wait > 0) {
             c.AcquireWait(name, owner, ttl, reentrant, *wait, std::move(done));
           } else {
             c.Acquire(name, owner, ttl, reentrant, std::move(done));
           }
         });
}

// Replies 1/0 for a bool, or the error.
auto BoolReply(Request* r, LockService* service, Worker* w) {
  return [r, service, w](std::expected<bool, lock::Error> result) {
    if (!result) return Return(service, w, r, ErrorReply(result.error()));
    Return(service, w, r, *result ? ":1\r\n" : ":0\r\n");
  };
}

void Info(PoolRouter* pool, ClientConn* client, Request* r, std::string name) {
  Submit(pool, client, r, [r, name](lock::Coordinator& c, LockService* service, Worker* w) {
    size_t waiters = c.waiters(name);
    c.Info(name,
           [r, service, w, waiters](std::expected<lock::Coordinator::LockInfo, lock::Error> info) {
             if (!info) return Return(service, w, r, ErrorReply(info.error()));
             std::string out;
             AppendArrayHeader(&out, 10);
             AppendBulk(&out, "owner");
             if (info->holder) {
               AppendBulk(&out, info->holder->owner);
             } else {
               AppendNullBulk(&out);
             }
             AppendBulk(&out, "token");
             if (info->holder) {
               AppendInteger(&out, static_cast<int64_t>(info->holder->token));
             } else {
               AppendNullBulk(&out);
             }
             AppendBulk(&out, "remaining_ms");
             AppendInteger(&out, info->holder ? info->holder->pttl_ms : 0);
             AppendBulk(&out, "waiters");
             AppendInteger(&out, static_cast<int64_t>(waiters));
             AppendBulk(&out, "last_token");
             AppendInteger(&out, static_cast<int64_t>(info->last_token));
             Return(service, w, r, std::move(out));
           });
  });
}

// --- fenced writes ---

constexpr std::string_view kWhyUnfenceable =
    "a fenced write runs inside a script on the server of its keys, so blocking, pub/sub, "
    "transaction, keyless and script commands are refused";

// Why `inner` cannot run inside the fence script, or empty when it can.
std::string Unfenceable(const CommandInfo& inner) {
  const bool scriptable = (inner.flags & (kNoscript | kBlocking | kPubsub)) == 0;
  const bool keyed = inner.route == Route::kForwardByKey || inner.route == Route::kColocated ||
                     inner.route == Route::kSplitMerge;
  if (scriptable && keyed) return {};
  return fmt::format("ERR '{}' cannot be fenced: {}", AsciiUppercase(inner.name), kWhyUnfenceable);
}

// Sends `argv` (a write whose row is `inner`) fenced by (lock, token) to the server of its keys.
void SendFenced(PoolRouter* pool, ClientConn* client, Request* r, std::string_view lock_name,
                uint64_t token, std::span<const std::string_view> argv, const CommandInfo& inner) {
  if (std::string why = Unfenceable(inner); !why.empty()) return ReplyError(client, r, why);
  std::vector<uint32_t> key_index(argv.size());
  KeyError key_error = KeyError::kNone;
  int nkeys = ExtractKeys(inner, argv, key_index, &key_error);
  if (nkeys < 0) {
    return ReplyError(
        client, r,
        key_error == KeyError::kWrongArgCount
            ? fmt::format("ERR wrong number of arguments for '{}' command", inner.name)
            : std::string(KeyErrorMessage(key_error)));
  }
  if (nkeys == 0) {
    return ReplyError(client, r,
                      fmt::format("ERR '{}' cannot be fenced: it names no key; {}",
                                  AsciiUppercase(inner.name), kWhyUnfenceable));
  }
  std::span<const uint32_t> keys(key_index.data(), static_cast<size_t>(nkeys));
  Backend* backend = pool->BackendFor(argv[keys[0]]);
  if (backend != nullptr && !pool->random_placement()) {
    std::vector<ServerId> owners;
    if (!pool->PlaceKeys(argv, keys, &owners)) return Reply(client, r, CrossSlotError());
    backend = pool->BackendById(owners[0]);
  }
  if (backend == nullptr) return Reply(client, r, NoServerError(pool->conf().name));
  if ((inner.flags & kPatternKeys) != 0) {
    if (std::string refusal = pool->PatternKeysRefusal(argv, backend->id()); !refusal.empty()) {
      return Reply(client, r, refusal);
    }
  }
  std::vector<std::string> command(argv.begin(), argv.end());
  std::vector<std::string> key_values;
  for (uint32_t k : keys) key_values.emplace_back(argv[k]);
  // EVAL with the source, not EVALSHA: the reply goes to the client as the server sends it, so
  // there is no place to retry a NOSCRIPT; Redis finds the compiled script by its hash anyway.
  std::vector<std::string> eval =
      lock::FencedWriteArgv(false, lock_name, token, command, key_values);
  std::vector<std::string_view> views(eval.begin(), eval.end());
  AppendCommand(&r->own, views);
  r->pieces.push_back(uv_buf_init(r->own.data(), static_cast<unsigned>(r->own.size())));
  client->state().last_write_server = backend->id();  // WAIT
  r->fenced = true;
  backend->Send(r, client->state().id);
}

// FENCED name token command...: a write is fenced, a read runs as it is.
void Fenced(PoolRouter* pool, ClientConn* client, Request* r, const ParsedRequest& req) {
  std::span<const std::string_view> argv = req.argv;
  std::optional<uint64_t> token = PositiveInt(argv[2]);
  if (!token) return ReplyError(client, r, kBadToken);
  std::span<const std::string_view> inner_argv = argv.subspan(3);
  const CommandInfo* inner =
      FindCommand(inner_argv[0], inner_argv.size() > 1 ? inner_argv[1] : std::string_view{});
  if (inner == nullptr) {
    return ReplyError(client, r,
                      fmt::format("ERR unknown command '{}' after FENCED", inner_argv[0]));
  }
  if ((inner->flags & kHasSubcommands) != 0 && inner_argv.size() > 1) {
    return ReplyError(client, r,
                      fmt::format("ERR unknown subcommand '{}'. Try {} HELP.", inner_argv[1],
                                  AsciiUppercase(inner_argv[0])));
  }
  if (!ArityOk(*inner, inner_argv.size())) {
    return ReplyError(client, r,
                      fmt::format("ERR wrong number of arguments for '{}' command", inner->name));
  }
  if (inner->route == Route::kLock) {
    return ReplyError(client, r,
                      fmt::format("ERR FENCED cannot wrap '{}'", AsciiUppercase(inner->name)));
  }
  if ((inner->flags & kNoscript) != 0) {
    // MULTI, EVAL, SUBSCRIBE...: neither a plain read nor a write the script can run.
    return ReplyError(client, r, Unfenceable(*inner));
  }
  if ((inner->flags & kWrite) == 0) {
    // A read needs no fence: routed exactly as if sent alone (its bytes re-encoded from argv).
    ParsedRequest alone{req.chunk, req.data, req.length, /*is_inline=*/true, req.spans.subspan(3),
                        inner_argv};
    pool->Dispatch(client, r, alone);
    return;
  }
  SendFenced(pool, client, r, argv[1], *token, inner_argv, *inner);
}

void Fence(ClientConn* client, Request* r, std::span<const std::string_view> argv) {
  ClientState& st = client->state();
  if (argv.size() == 2 && EqualsIgnoreCase(argv[1], "off")) {
    st.fence.reset();
    return Reply(client, r, "+OK\r\n");
  }
  if (argv.size() != 3) {
    return ReplyError(client, r, "ERR wrong number of arguments for 'lock.fence' command");
  }
  std::optional<uint64_t> token = PositiveInt(argv[2]);
  if (!token) return ReplyError(client, r, kBadToken);
  st.fence = std::make_unique<FenceBinding>(FenceBinding{std::string(argv[1]), *token});
  Reply(client, r, "+OK\r\n");
}

}  // namespace

void RunLockCommand(PoolRouter* pool, ClientConn* client, Request* r, const ParsedRequest& req,
                    const CommandInfo& info) {
  std::span<const std::string_view> argv = req.argv;
  if (info.handler == Handler::kFenced) return Fenced(pool, client, r, req);
  if (pool->worker()->shared().locks == nullptr) {
    return ReplyError(client, r,
                      fmt::format(kNotConfigured, pool->worker()->shared().config->path));
  }
  switch (info.handler) {
    case Handler::kLockAcquire:
      return Acquire(pool, client, r, argv);
    case Handler::kLockExtend: {
      // LOCK.EXTEND name owner token PX ms
      std::optional<uint64_t> token = PositiveInt(argv[3]);
      if (!token) return ReplyError(client, r, kBadToken);
      if (!EqualsIgnoreCase(argv[4], "px")) return ReplyError(client, r, kSyntax);
      std::optional<uint64_t> ttl = PositiveInt(argv[5]);
      if (!ttl) return ReplyError(client, r, fmt::format(kBadTtl, "lock.extend"));
      return Submit(pool, client, r,
                    [r, name = std::string(argv[1]), owner = std::string(argv[2]), token = *token,
                     ttl = *ttl](lock::Coordinator& c, LockService* service, Worker* w) {
                      c.Extend(name, owner, token, ttl,
                               [r, service, w](std::expected<uint64_t, lock::Error> result) {
                                 if (!result) {
                                   return Return(service, w, r, ErrorReply(result.error()));
                                 }
                                 Return(service, w, r, fmt::format(":{}\r\n", *result));
                               });
                    });
    }
    case Handler::kLockRelease: {
      std::optional<uint64_t> token = PositiveInt(argv[3]);
      if (!token) return ReplyError(client, r, kBadToken);
      return Submit(pool, client, r,
                    [r, name = std::string(argv[1]), owner = std::string(argv[2]), token = *token](
                        lock::Coordinator& c, LockService* service, Worker* w) {
                      c.Release(name, owner, token, BoolReply(r, service, w));
                    });
    }
    case Handler::kLockInfo:
      return Info(pool, client, r, std::string(argv[1]));
    case Handler::kLockCheck: {
      std::optional<uint64_t> token = PositiveInt(argv[2]);
      if (!token) return ReplyError(client, r, kBadToken);
      return Submit(pool, client, r,
                    [r, name = std::string(argv[1]), token = *token](
                        lock::Coordinator& c, LockService* service, Worker* w) {
                      c.Check(name, token, BoolReply(r, service, w));
                    });
    }
    case Handler::kLockForceRelease:
      if (!pool->conf().admin_commands) {
        return ReplyError(client, r,
                          fmt::format("ERR 'LOCK.FORCERELEASE' is not allowed in pool '{}': it "
                                      "evicts another client's lock; set admin_commands: true "
                                      "in the pool to allow it",
                                      pool->conf().name));
      }
      return Submit(
          pool, client, r,
          [r, name = std::string(argv[1])](lock::Coordinator&, LockService* service, Worker* w) {
            service->ForceRelease(name, BoolReply(r, service, w));
          });
    case Handler::kLockFence:
      return Fence(client, r, argv);
    default:
      return ReplyError(client, r, fmt::format("ERR '{}' is not a lock command", info.name));
  }
}

bool RunFenceBound(PoolRouter* pool, ClientConn* client, Request* r, const ParsedRequest& req,
                   const CommandInfo& info) {
  if (info.handler == Handler::kMulti) {
    ReplyError(client, r,
               "ERR MULTI is not supported while LOCK.FENCE is bound: send LOCK.FENCE OFF first, "
               "or send each write with FENCED outside a transaction");
    return true;
  }
  if ((info.flags & kWrite) == 0 || info.route == Route::kLock) return false;
  const FenceBinding& fence = *client->state().fence;
  SendFenced(pool, client, r, fence.lock, fence.token, req.argv, info);
  return true;
}

}  // namespace rl::proxy
