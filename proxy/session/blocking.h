// Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP,
// XREAD/XREADGROUP with BLOCK, WAIT) for one client (part of its ClientSession).
//
// Each runs on the client's own command connection to the server that owns its keys (keys on
// several servers: -CROSSSLOT), so it blocks that client alone and never the clients sharing
// the pipelined connections. The client's later requests wait behind it, as behind a blocked
// Redis client. Its deadline is the command's own timeout plus the pool's `timeout` (none when
// it blocks forever or the pool has no timeout). A client that disconnects while blocked has
// its connection closed, which unblocks it on the server; a server that fails while the client
// is blocked answers it with an error naming the server.
// WAIT runs on the connection to the server the client last wrote to, after a write of its own
// there (an SPUBLISH nobody hears) that makes the server count that client's writes.
// Thread safety: runs on the client's worker thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "proxy/io/request.h"

namespace rl::proxy {

class ClientSession;
struct CommandInfo;
struct ParsedRequest;

struct BlockTimeout {
  bool blocks = false;   // false: XREAD/XREADGROUP without BLOCK (an ordinary read)
  bool valid = false;    // the timeout parsed (Redis refuses a malformed one at once)
  bool forever = false;  // timeout 0
  uint64_t ms = 0;
};

// Where and how long `argv` (a kBlocking command) may block.
BlockTimeout ParseBlockTimeout(const CommandInfo& info, std::span<const std::string_view> argv);

// Runs a kBlocking command `r` of the session's client.
void RunBlocking(ClientSession* session, Request* r, const ParsedRequest& req,
                 const CommandInfo& info);

// The channel WAIT's own write publishes to (shard channel: no pattern subscriber hears it).
inline constexpr std::string_view kWaitChannel = "__ringleader__:wait";

}  // namespace rl::proxy
