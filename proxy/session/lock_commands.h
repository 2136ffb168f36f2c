// The lock service's commands (Route::kLock): LOCK.ACQUIRE/EXTEND/RELEASE/INFO/CHECK/
// FORCERELEASE run on the control loop's coordinator (host/lock_service.h) and their replies come
// back through the worker's mailbox, so a worker never waits (a WAIT acquire holds only its own
// client, as a blocked Redis client does); FENCED and the writes of a connection bound by
// LOCK.FENCE run on the server that owns their key through lock/fence.h's script.
// Thread safety: runs on the client's worker thread.
#pragma once

#include "proxy/io/client_conn.h"
#include "proxy/io/request.h"

namespace rl::proxy {

class PoolRouter;
struct CommandInfo;

// Serves `r` (a request of `client` whose row is `info`, arity already checked) and completes it,
// now or once the coordinator answered. REQUIRES: info.route == Route::kLock.
void RunLockCommand(PoolRouter* pool, ClientConn* client, Request* r, const ParsedRequest& req,
                    const CommandInfo& info);

// For a client with a LOCK.FENCE binding: a write is sent fenced with the bound token (a command
// the fence script cannot run is refused), MULTI is refused while the binding holds. Returns
// false for everything else, which the caller routes as usual.
bool RunFenceBound(PoolRouter* pool, ClientConn* client, Request* r, const ParsedRequest& req,
                   const CommandInfo& info);

}  // namespace rl::proxy
