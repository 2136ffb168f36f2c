// Fenced writes: the script run on the data shard that owns a write's key. It compares the
// caller's token with that shard's high-water mark for the lock and either refuses the write
// (-FENCED stale token T < H for lock NAME) or raises the mark to T and runs the write, in one
// atomic server-side step. Used by the proxy's FENCED prefix and LOCK.FENCE binding.
// Thread safety: the script is immutable; FencedWrite runs on the client's loop thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lock/scripts.h"
#include "proxy/resp/client.h"

namespace rl::lock {

// The mark on a data shard, one per lock name (no expiry): rl:fence:{NAME}. Distinct from the
// lock masters' rl:lock:{NAME}:fence, so a data shard may also be a lock master.
std::string ShardMarkKey(std::string_view name);

// KEYS: mark key, then the write's own keys (declared, not used by the check).
// ARGV: token, lock name, then the write's argv (command name first).
// Reply: the write's own reply (errors included), or the FENCED error; nothing is written when
// refused. A token equal to the mark passes (the holder writing again).
const Script& FencedWriteScript();

// Raises the shard's mark for lock `name` to `fence`, never lowering it. LOCK.FORCERELEASE runs
// it on every data shard, so the evicted holder's fenced writes fail at once rather than only
// after the next holder's first fenced write there. `done` gets true once the mark is at least
// `fence`; a transport failure or an error reply is an Error naming the server.
// REQUIRES: as RunScript.
void RaiseShardMark(proxy::RespClient& client, std::string_view name, uint64_t fence,
                    BoolDone done);

// The EVALSHA argv (or EVAL with the source when `by_sha` is false) for one fenced write, for
// callers with their own connections (the proxy's backends).
std::vector<std::string> FencedWriteArgv(bool by_sha, std::string_view name, uint64_t token,
                                         std::span<const std::string> command,
                                         std::span<const std::string> keys);

// Runs one fenced write through `client` (EVALSHA, EVAL on NOSCRIPT). REQUIRES: as RunScript.
void FencedWrite(proxy::RespClient& client, std::string_view name, uint64_t token,
                 std::span<const std::string> command, std::span<const std::string> keys,
                 proxy::RespCallback done);

}  // namespace rl::lock
