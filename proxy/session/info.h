// INFO: the proxy's own fields computed here, the data's fields asked of every server of the
// pool (one INFO per server, each on a connection of its own with a bounded wait, so that a busy
// or dead server delays INFO by at most that bound and fails only its own fields), combined by
// ComposeInfo (proxy/route/info_merge.h). Used by RunLocalCommand for Handler::kInfo.
// Thread safety: runs on the client's worker thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proxy/io/request.h"

namespace rl::proxy {

class ClientConn;
class PoolRouter;

// The Redis version ringleader reports (INFO, HELLO), so that clients' feature checks pass.
inline constexpr std::string_view kRedisVersion = "7.0.15";

// How long one server's INFO may take before INFO answers without it (the pool's `timeout`
// instead, when the pool has one).
inline constexpr uint64_t kInfoServerWaitMs = 1000;

// Answers INFO `argv` (sections as arguments) for `client`: at once when every field wanted is
// the proxy's (or no server is in the topology), else when the last server answered or failed.
void RunInfo(PoolRouter* pool, ClientConn* client, Request* r,
             std::span<const std::string_view> argv);

// The proxy's fields of `sections` (InfoSection bits), "name:value\r\n" lines.
std::string ProxyInfoFields(PoolRouter* pool, uint32_t sections);

}  // namespace rl::proxy
