// RINGLEADER STATUS | RELOAD [DRYRUN] | CLUSTER ... | FAULT ...: ringleader's own administration.
// The worker hands the command to the control loop, where the cluster membership
// (proxy/host/cluster_service.h) answers it, or, for RELOAD in every process, the reloader
// (proxy/host/reloader.h); the reply is delivered in the client's order when it comes back. A
// standalone process answers STATUS here and refuses CLUSTER and FAULT, naming the missing section.
// Thread safety: runs on the client's worker thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/io/request.h"

namespace rl::proxy {

class ClientConn;
class PoolRouter;
struct SharedState;

// Completes `r` now (standalone, or an error) or once the control loop answered.
void RunRingleaderCommand(PoolRouter* pool, ClientConn* client, Request* r,
                          std::span<const std::string_view> argv);

// The rl_* fields of INFO ringleader ("key:value\r\n" lines).
std::string RingleaderInfoFields(const SharedState& shared);

}  // namespace rl::proxy
