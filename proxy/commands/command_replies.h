// Redis's own COMMAND INFO and COMMAND DOCS reply bytes for each command of the table, captured
// from redis-server by scripts/gen_command_table (proxy/commands/command_replies_gen.inc), so that
// ringleader can answer COMMAND, COMMAND INFO and COMMAND DOCS itself, exactly as Redis would.
// Thread safety: immutable static data.
#pragma once

#include <string_view>

#include "proxy/commands/command_table.h"

namespace rl::proxy {

// The RESP2 bytes of `info`'s element in a COMMAND or COMMAND INFO reply: an array of 10 (name,
// arity, flags, first, last, step, ACL categories, tips, key specs, subcommands), with a
// container's subcommands nested inside. Empty for ringleader's own commands (kNotInRedis).
std::string_view CommandInfoReply(const CommandInfo& info);

// The RESP2 bytes of `info`'s value in a COMMAND DOCS reply (a flat map: summary, since,
// group, ...); the caller writes the name as a bulk string before it. Empty for kNotInRedis.
std::string_view CommandDocsReply(const CommandInfo& info);

}  // namespace rl::proxy
