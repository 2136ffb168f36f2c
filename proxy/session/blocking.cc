#include "proxy/session/blocking.h"

#include <charconv>
#include <cmath>
#include <vector>

#include "proxy/base/ascii.h"
#include "proxy/base/decimal.h"
#include "proxy/commands/command_table.h"
#include "proxy/host/worker.h"
#include "proxy/io/client_conn.h"
#include "proxy/route/backend.h"
#include "proxy/route/pool_router.h"
#include "proxy/session/client_session.h"
#include "proxy/session/reserved_conn.h"

namespace rl::proxy {

namespace {

// Seconds as Redis reads them (a non-negative decimal, fractions allowed).
BlockTimeout Seconds(std::string_view text) {
  BlockTimeout t;
  t.blocks = true;
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(seconds) ||
      seconds < 0) {
    return t;
  }
  t.valid = true;
  t.ms = static_cast<uint64_t>(seconds * 1000);
  t.forever = t.ms == 0 && seconds == 0;
  return t;
}

BlockTimeout Milliseconds(std::string_view text) {
  BlockTimeout t;
  t.blocks = true;
  int64_t ms = 0;
  // Redis reads a millisecond timeout as an integer (string2ll): "+5" and "007" are errors.
  if (!ParseStrictInt(text, &ms) || ms < 0) return t;
  t.valid = true;
  t.ms = static_cast<uint64_t>(ms);
  t.forever = ms == 0;
  return t;
}

void RunWait(ClientSession* s, Request* r, const ParsedRequest& req) {
  PoolRouter* pool = s->pool();
  BlockTimeout timeout = Milliseconds(req.argv[2]);
  uint32_t target = s->client()->state().last_write_server;
  std::vector<Request*> prefix;
  if (target == kAnyBackend || pool->BackendById(target) == nullptr) {
    // No write yet (or to a server that left since): nothing to wait for, as in Redis.
    Backend* any = pool->AnyBackend();
    target = any == nullptr ? 0 : any->id();
  } else {
    // Redis counts replicas that have this connection's last write; the client's writes went
    // on a shared connection, so make one here, after them (the barrier orders it).
    prefix.push_back(NewOwnedCommand(s->worker(), {"SPUBLISH", kWaitChannel, ""}));
  }
  CopyRequestBytes(r, req);
  uint64_t deadline = s->PoolDeadline();
  uint64_t r_deadline = (timeout.valid && !timeout.forever && deadline != 0)
                            ? deadline + timeout.ms
                            : (timeout.valid ? 0 : deadline);
  s->RunExclusive(r, target, std::move(prefix), deadline, r_deadline);
}

}  // namespace

BlockTimeout ParseBlockTimeout(const CommandInfo& info, std::span<const std::string_view> argv) {
  switch (info.handler) {
    case Handler::kBlockOptionMs:
      break;
    case Handler::kWait:
      return Milliseconds(argv[2]);
    case Handler::kBlockFirstArgSeconds:
      return Seconds(argv[1]);
    default:  // kBlockLastArgSeconds
      return Seconds(argv.back());
  }
  // XREAD/XREADGROUP: options before STREAMS are COUNT n, BLOCK ms, NOACK (XREADGROUP's GROUP
  // g c come before rule_index).
  for (size_t i = static_cast<size_t>(info.rule_index); i < argv.size(); ++i) {
    if (EqualsIgnoreCase(argv[i], "streams")) break;
    if (EqualsIgnoreCase(argv[i], "block") && i + 1 < argv.size()) {
      return Milliseconds(argv[i + 1]);
    }
    if (EqualsIgnoreCase(argv[i], "count")) ++i;
  }
  return BlockTimeout{};
}

void RunBlocking(ClientSession* s, Request* r, const ParsedRequest& req, const CommandInfo& info) {
  if (info.handler == Handler::kWait) {
    RunWait(s, r, req);
    return;
  }
  PoolRouter* pool = s->pool();
  auto owner = KeysOwner(pool, info, req.argv);
  if (!owner) {
    s->Reply(r, owner.error());
    return;
  }
  BlockTimeout timeout = ParseBlockTimeout(info, req.argv);
  if (!timeout.blocks || *owner == kAnyBackend) {
    // An XREAD without BLOCK, or arguments Redis rejects at once: an ordinary request.
    pool->Forward(s->client(), r, req,
                  *owner == kAnyBackend ? pool->AnyBackend() : pool->BackendById(*owner));
    return;
  }
  if ((info.flags & kWrite) != 0) s->client()->state().last_write_server = *owner;
  CopyRequestBytes(r, req);
  uint64_t deadline = s->PoolDeadline();
  uint64_t r_deadline = 0;  // blocks forever, or the pool has no timeout: no deadline
  if (!timeout.valid) {
    r_deadline = deadline;  // refused by Redis at once
  } else if (!timeout.forever && deadline != 0) {
    r_deadline = deadline + timeout.ms;
  }
  s->MarkBlocking(r);
  s->RunExclusive(r, *owner, {}, deadline, r_deadline);
}

}  // namespace rl::proxy
