// The ProxyOptions the ringleader process serves with: the configuration's `ringleader:` section
// (conf::RingleaderSettings), then the command-line flags that set the same values, which win
// over the file. main.cc calls it; conf/ stays free of proxy/ types, so this is where the two
// meet. Thread safety: pure functions (of the process's limits, for the memory default).
#pragma once

#include "conf/config.h"
#include "proxy/host/cli.h"
#include "proxy/host/proxy_options.h"

namespace rl::proxy {

// Every field of `settings` onto its ProxyOptions field, then --client-output-limit and
// --shutdown-grace from `cli` where given. Fields with no setting keep ProxyOptions' defaults
// (today: none besides what RequestLimits does not expose, max_inline_length).
// client_memory_limit_mb absent: the memory budget is half of the least of the machine's
// memory, the cgroup's memory.max and RLIMIT_AS (0 when none is known).
ProxyOptions ProcessProxyOptions(const conf::RingleaderSettings& settings, const CliOptions& cli);
size_t DefaultClientMemoryLimit();

}  // namespace rl::proxy
