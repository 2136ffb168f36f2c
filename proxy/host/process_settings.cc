#include "proxy/host/process_settings.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace rl::proxy {

size_t DefaultClientMemoryLimit() {
  uint64_t limit = UINT64_MAX;
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) limit = static_cast<uint64_t>(pages) * page_size;
  if (rlimit as{}; getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    limit = std::min<uint64_t>(limit, as.rlim_cur);
  }
  // cgroup v2: "max" or a byte count.
  if (std::FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
    unsigned long long bytes = 0;
    if (std::fscanf(f, "%llu", &bytes) == 1 && bytes > 0) limit = std::min<uint64_t>(limit, bytes);
    std::fclose(f);
  }
  return limit == UINT64_MAX ? 0 : static_cast<size_t>(limit / 2);
}

ProxyOptions ProcessProxyOptions(const conf::RingleaderSettings& settings, const CliOptions& cli) {
  ProxyOptions options;
  options.client_memory_limit = settings.client_memory_limit_mb
                                    ? static_cast<size_t>(*settings.client_memory_limit_mb << 20)
                                    : DefaultClientMemoryLimit();
  options.client_output_limit = settings.client_output_limit;
  options.client_max_inflight = settings.client_max_inflight;
  options.shutdown_grace = settings.shutdown_grace;
  options.reconnect_min = settings.reconnect_backoff_min;
  options.reconnect_max = settings.reconnect_backoff_max;
  options.request_limits.max_bulk_length = settings.proto_max_bulk_len;
  options.request_limits.max_multibulk_length = settings.proto_max_multibulk_len;
  options.request_limits.max_request_length = settings.client_query_buffer_limit;
  // A flag is the one-off override of the file's lasting setting.
  if (cli.client_output_limit) options.client_output_limit = *cli.client_output_limit;
  if (cli.stats_port) {
    options.stats_port = *cli.stats_port;
    options.stats_addr = cli.stats_addr;
    options.stats_interval_ms = cli.stats_interval_ms;
  }
  if (cli.shutdown_grace_ms)
    options.shutdown_grace = std::chrono::milliseconds(*cli.shutdown_grace_ms);
  return options;
}

}  // namespace rl::proxy
