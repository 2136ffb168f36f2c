// A local ringleader in front of N real redis-servers, for integration tests: every process on a
// free loopback port, started here and stopped by its pid. The ringleader binary is found through
// RL_BINARY_DIR (set by rl_integration_test) or RL_RINGLEADER. Thread safety: one owner thread.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {

struct ClusterOptions {
  int servers = 3;
  std::string pool_name = "test";
  // Extra pool keys, each a complete YAML line without indentation, e.g. "timeout: 500".
  std::vector<std::string> pool_keys;
  std::vector<std::string> ringleader_args;  // appended to "ringleader -c FILE"
};

class RingleaderCluster {
 public:
  static std::expected<std::unique_ptr<RingleaderCluster>, std::string> Start(
      ClusterOptions options = {});

  uint16_t port() const { return port_; }
  std::vector<std::unique_ptr<RedisServer>>& backends() { return backends_; }
  ChildProcess& proxy() { return proxy_; }
  const std::string& config_path() const { return config_; }
  const std::string& log_path() const { return log_; }
  std::expected<RedisClient, std::string> Connect() const { return RedisClient::Connect(port_); }

  // Path of the ringleader executable used by Start().
  static std::string BinaryPath();

 private:
  RingleaderCluster() = default;
  TempDir dir_;
  std::vector<std::unique_ptr<RedisServer>> backends_;
  ChildProcess proxy_;
  uint16_t port_ = 0;
  std::string config_;
  std::string log_;
};

}  // namespace rl::testing
