// The grammar of nutcracker's scalar values: numbers, booleans, `listen` addresses and `servers`
// entries, read from the raw YAML text exactly as nutcracker 0.5.0 (nc_conf.c) reads them, plus
// the checks ringleader adds. Internal to conf/ (tests use it directly).
// Thread safety: pure functions.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace rl::conf {

// A non-negative decimal integer written with ASCII digits only (no sign, no spaces, no 0x), as
// nutcracker's nc_atoi reads it; ringleader also rejects values above INT32_MAX, where nc_atoi
// silently overflows. On failure returns the reason, e.g. "is not a number".
std::expected<int, std::string> ParseNumber(std::string_view text);

// Exactly "true" or "false" (nutcracker accepts no other spelling: not yes/no, not True).
std::optional<bool> ParseBool(std::string_view text);

// A host as ringleader accepts it: an IPv4 or (bare, unbracketed) IPv6 literal, or a host name
// made of letters, digits, '-', '_' and '.'.
bool IsValidHost(std::string_view host);

// `listen:` — "host:port" (split at the last ':', so "::1:6380" is IPv6) or
// "/path/to/socket [octal permissions]". On failure returns a complete message.
std::expected<Address, std::string> ParseListen(std::string_view text);

// One `servers:` entry — "host:port:weight [name]" or "/path/to/socket:weight [name]", split from
// the end as nutcracker does. Fills address, weight, name and identity (ring::
// ServerIdentityFromText, with the port as written), not line/column.
// On failure returns a complete message.
std::expected<Server, std::string> ParseServer(std::string_view text);

}  // namespace rl::conf
