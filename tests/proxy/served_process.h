// A ringleader binary run as a child process over one redis-server, for tests of the serving
// process itself (signals, limits set with prlimit, the ringleader: section).
// Thread safety: one test thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {

// The binary built beside the tests (RL_BINARY_DIR, set by ctest).
std::string RingleaderBinary();

std::string ReadFile(const std::string& path);

struct Served {
  TempDir dir;
  std::unique_ptr<RedisServer> redis;
  std::unique_ptr<ChildProcess> proxy;
  uint16_t port = 0;
  std::string log, pid;
};

// Starts a redis-server and ringleader over it with `extra` pool keys, `flags` on the command
// line, `section` (e.g. "ringleader:\n  shutdown_grace: 300\n") before the pool, and
// `launcher` before the binary (e.g. {"prlimit", "--as=1500000000"}). nullptr on failure.
std::unique_ptr<Served> Serve(const std::string& extra = "",
                              const std::vector<std::string>& flags = {},
                              const std::string& section = "",
                              const std::vector<std::string>& launcher = {});

}  // namespace rl::testing
