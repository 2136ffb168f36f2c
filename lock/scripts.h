// The Lua scripts each lock master runs, and typed async calls that run them through a RespClient
// (EVALSHA, falling back to EVAL when the master answers NOSCRIPT). Used by the coordinator, once
// per master per operation; tests call them directly against a real redis-server.
// Thread safety: calls run on the client's loop thread; the script table is immutable.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "lock/error.h"
#include "proxy/resp/client.h"

namespace rl::lock {

// Key layout on a lock master (documented in lock/README.md). The lock name is hash-tagged so that
// both keys of one lock share a Redis Cluster slot:
//   rl:lock:{NAME}        the holder: "TOKEN OWNER", with the lease as its PX expiry
//   rl:lock:{NAME}:fence  the high-water mark: the highest token this master granted (no expiry)
inline constexpr std::string_view kKeyPrefix = "rl:lock:";
std::string HolderKey(std::string_view name);
std::string FenceKey(std::string_view name);

struct Script {
  std::string_view name;    // for messages: "acquire", "release", ...
  std::string_view source;  // Lua
  std::string sha1;         // lower-case hex of the source's SHA1, as EVALSHA takes it
};

// Lower-case hex SHA1 of a script's source, as EVALSHA takes it.
std::string ScriptSha1(std::string_view source);
// Lua defining below(a, b): a < b for canonical decimal token strings (length first). Scripts
// elsewhere (fence.cc) start with it.
extern const std::string_view kTokenComparePrelude;

enum class ScriptId : uint8_t { kAcquire, kRelease, kExtend, kInfo, kForceRelease };
const Script& GetScript(ScriptId id);

// Runs `script` with `keys` and `args` on the master behind `client`: EVALSHA first; when the
// master answers NOSCRIPT (restarted, SCRIPT FLUSH), EVAL with the source, which also caches it.
// `done` gets the reply (a script error is a reply of type kError) or the client's RespError.
// REQUIRES: on the client's loop; the client is open and outlives the call (or is destroyed,
// in which case `done` is dropped, as RespClient drops it).
void RunScript(proxy::RespClient& client, const Script& script, std::span<const std::string> keys,
               std::span<const std::string> args, proxy::RespCallback done);

// --- typed calls: each maps the script's reply (or a transport failure) to a value or an Error.

struct AcquireReply {
  enum class Outcome : uint8_t {
    kGranted,  // this owner holds the lock on this master with `token` (reentrant: the old token)
    kHeld,     // another grant holds it: `token`, `owner` and `lease_ms` are the holder's
    kStale,    // free, but `token` (the master's high-water mark) >= the token offered
  };
  Outcome outcome = Outcome::kGranted;
  uint64_t token = 0;
  std::string owner;     // kHeld only
  int64_t lease_ms = 0;  // kHeld only: the holder's lease left on this master (PTTL)
};
using AcquireDone = std::move_only_function<void(std::expected<AcquireReply, Error>)>;

// SET NX PX guarded by the high-water mark: grants when the lock is free and token > mark (then
// mark = token). When `owner` already holds it with the same token (a retried attempt), or with
// any token and `reentrant`, it refreshes the lease to ttl_ms and answers kGranted with the
// token it holds. REQUIRES: token > 0, ttl_ms > 0, owner non-empty.
void Acquire(proxy::RespClient& client, std::string_view name, std::string_view owner,
             uint64_t token, uint64_t ttl_ms, bool reentrant, AcquireDone done);

// Compare-and-act on the holder value: true when (owner, token) held the lock and it was deleted
// (Release) or its lease set to ttl_ms from now (Extend); false when it did not hold it.
using BoolDone = std::move_only_function<void(std::expected<bool, Error>)>;
void Release(proxy::RespClient& client, std::string_view name, std::string_view owner,
             uint64_t token, BoolDone done);
void Extend(proxy::RespClient& client, std::string_view name, std::string_view owner,
            uint64_t token, uint64_t ttl_ms, BoolDone done);

struct InfoReply {
  struct Holder {
    uint64_t token = 0;
    std::string owner;
    int64_t pttl_ms = 0;  // the lease left on this master
  };
  std::optional<Holder> holder;  // empty when free on this master
  uint64_t high_water = 0;       // 0 when this master never granted the lock
};
using InfoDone = std::move_only_function<void(std::expected<InfoReply, Error>)>;
void Info(proxy::RespClient& client, std::string_view name, InfoDone done);

// Deletes the holder whoever it is and raises the mark to at least `fence` (so that no token up to
// `fence` is granted here again). true when a holder was deleted.
void ForceRelease(proxy::RespClient& client, std::string_view name, uint64_t fence, BoolDone done);

}  // namespace rl::lock
