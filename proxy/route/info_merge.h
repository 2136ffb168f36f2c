// INFO through ringleader: which sections a request asks for, and the one text built from the
// proxy's own fields and the pool's servers' INFO replies, in Redis 7's section and field order.
// Each field of Redis's list says where its value comes from (the proxy, or the servers: summed,
// the largest, the smallest, the first, the worst status); see proxy/README.md "INFO".
// Used by proxy/session/info.cc (dispatch) and MergeFragments (proxy/route/merge.cc).
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/io/request.h"

namespace rl::proxy {

// One bit per section, in the order INFO prints them.
enum InfoSection : uint32_t {
  kInfoServer = 1u << 0,
  kInfoClients = 1u << 1,
  kInfoMemory = 1u << 2,
  kInfoPersistence = 1u << 3,
  kInfoStats = 1u << 4,
  kInfoReplication = 1u << 5,
  kInfoCpu = 1u << 6,
  kInfoModules = 1u << 7,
  kInfoErrorstats = 1u << 8,
  kInfoCluster = 1u << 9,
  kInfoKeyspace = 1u << 10,
  kInfoCommandstats = 1u << 11,
  kInfoLatencystats = 1u << 12,
  kInfoRingleader = 1u << 13,
};

// The sections of INFO's arguments (no argument: "default"), case-insensitively: a section's
// name, "default" (Redis's default sections, and ringleader's), "all" (those and commandstats,
// latencystats), "everything" (the same: ringleader has no modules). Unknown names add nothing.
uint32_t ParseInfoSections(std::span<const std::string_view> args);

// The sections of the servers' INFO that `sections` needs ("memory stats keyspace"), empty when
// every field wanted is the proxy's.
std::string ServerInfoSections(uint32_t sections);

// One server's INFO reply as INFO gives it.
struct ServerInfo {
  std::string_view text;  // the bulk string's payload
};

struct InfoInputs {
  uint32_t sections = 0;
  // The proxy's fields, "name:value\r\n" lines (section headers, if any, are ignored).
  std::string_view proxy;
  // Whether the servers were asked (some field wanted is theirs): pool_servers_answered and
  // pool_servers_failed are written only then.
  bool asked_servers = false;
  std::vector<std::string_view> servers;  // the payloads of the servers that answered
  // "label: error" of each server asked that did not answer.
  std::vector<std::string> failures;
};

// The INFO payload: for each wanted section, "# Title\r\n" and its fields, a blank line between
// sections. A proxy field missing from `proxy` and a server field no server gave are left out.
std::string ComposeInfo(const InfoInputs& in);

// Redis's bytesToHuman: 1023B, 1.50K, 2.00M, ...
std::string BytesToHuman(double bytes);

// MergeFragments for Merge::kInfo: parent->reply_own holds the proxy's fields (stashed there at
// dispatch) and parent->merge_arg the sections; each fragment is one server's INFO. A server
// that failed is named in the Server section's pool_servers_failed, not an error of the whole.
void MergeInfoFragments(Request* parent);

}  // namespace rl::proxy
