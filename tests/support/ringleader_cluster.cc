#include "tests/support/ringleader_cluster.h"

#include <cstdlib>

#include "fmt/format.h"

namespace rl::testing {

std::string RingleaderCluster::BinaryPath() {
  if (const char* p = std::getenv("RL_RINGLEADER"); p && *p) return p;
  if (const char* d = std::getenv("RL_BINARY_DIR"); d && *d)
    return std::string(d) + "/proxy/ringleader";
  return "ringleader";
}

std::expected<std::unique_ptr<RingleaderCluster>, std::string> RingleaderCluster::Start(
    ClusterOptions options) {
  std::unique_ptr<RingleaderCluster> c(new RingleaderCluster());
  for (int i = 0; i < options.servers; ++i) {
    auto s = RedisServer::Start();
    if (!s) return std::unexpected(s.error());
    c->backends_.push_back(std::move(*s));
  }
  // The proxy's port can be taken between FreePort() and its bind(): retry a few times.
  for (int attempt = 0; attempt < 3; ++attempt) {
    c->port_ = FreePort();
    std::string yaml =
        fmt::format("{}:\n  listen: 127.0.0.1:{}\n  redis: true\n", options.pool_name, c->port_);
    for (const auto& line : options.pool_keys) yaml += "  " + line + "\n";
    yaml += "  servers:\n";
    for (size_t i = 0; i < c->backends_.size(); ++i) {
      yaml += fmt::format("    - 127.0.0.1:{}:1 r{}\n", c->backends_[i]->port(), i + 1);
    }
    c->config_ = c->dir_.Write("ringleader.yml", yaml);
    c->log_ = c->dir_.File("ringleader.log");
    std::vector<std::string> argv = {BinaryPath(), "-c", c->config_, "-o", c->log_};
    argv.insert(argv.end(), options.ringleader_args.begin(), options.ringleader_args.end());
    auto proxy = ChildProcess::Spawn(argv, c->dir_.File("ringleader.stderr"));
    if (!proxy) return std::unexpected(proxy.error());
    c->proxy_ = std::move(*proxy);
    if (WaitForPort(c->port_)) return c;
    c->proxy_.Stop();
  }
  return std::unexpected(fmt::format("ringleader did not listen; see {}", c->log_));
}

}  // namespace rl::testing
