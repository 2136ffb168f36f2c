// The commands ringleader answers itself (Route::kLocal): PING, ECHO, QUIT, SELECT, AUTH,
// HELLO, RESET, READONLY/READWRITE, CLIENT GETNAME/SETNAME/ID/INFO/SETINFO, INFO, COMMAND and
// its subcommands, CONFIG GET. Replies match Redis 7.0's bytes where Redis would answer the same.
// Thread safety: runs on the client's worker thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/io/request.h"

namespace rl::proxy {

class ClientConn;
class PoolRouter;
struct CommandInfo;

// Answers `r` (a request of `client` whose command is `info`) and completes it.
// REQUIRES: info.route == Route::kLocal and the arity was checked.
void RunLocalCommand(PoolRouter* pool, ClientConn* client, Request* r, const CommandInfo& info,
                     std::span<const std::string_view> argv);

}  // namespace rl::proxy
