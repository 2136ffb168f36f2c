#include "tests/proxy/served_process.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fmt/format.h"

namespace rl::testing {

std::string RingleaderBinary() {
  const char* dir = std::getenv("RL_BINARY_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/proxy/ringleader";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Served> Serve(const std::string& extra, const std::vector<std::string>& flags,
                              const std::string& section,
                              const std::vector<std::string>& launcher) {
  auto s = std::make_unique<Served>();
  auto redis = RedisServer::Start();
  if (!redis) return nullptr;
  s->redis = std::move(*redis);
  s->log = s->dir.File("ringleader.log");
  s->pid = s->dir.File("ringleader.pid");
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port = FreePort();
    std::string conf = s->dir.Write(
        "rl.yml", fmt::format("{}pool:\n  listen: 127.0.0.1:{}\n  redis: true\n{}  servers:\n"
                              "    - 127.0.0.1:{}:1 r1\n",
                              section, s->port, extra, s->redis->port()));
    std::vector<std::string> argv = launcher;  // e.g. prlimit and its options
    for (const std::string& a : {RingleaderBinary(), std::string("-c"), conf, std::string("-o"),
                                 s->log, std::string("-p"), s->pid}) {
      argv.push_back(a);
    }
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto child = ChildProcess::Spawn(argv);
    if (!child) return nullptr;
    if (WaitForPort(s->port)) {
      s->proxy = std::make_unique<ChildProcess>(std::move(*child));
      return s;
    }
    child->Stop();
  }
  return nullptr;
}

}  // namespace rl::testing
