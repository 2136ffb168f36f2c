#include "proxy/host/process_settings.h"

namespace rl::proxy {

ProxyOptions ProcessProxyOptions(const conf::RingleaderSettings& settings, const CliOptions& cli) {
  ProxyOptions options;
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
  if (cli.shutdown_grace_ms)
    options.shutdown_grace = std::chrono::milliseconds(*cli.shutdown_grace_ms);
  return options;
}

}  // namespace rl::proxy
