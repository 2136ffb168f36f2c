// Runs a program to completion with a bound and captures its stdout and stderr separately.
// Used by the tests that drive the ringleader and nutcracker binaries (-t, --where).
// Thread safety: one call per thread; the child is waited for (or killed) before returning.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace rl::testing {

struct RunResult {
  int exit_code = -1;  // the exit status, or -1 when the child was killed or did not exit
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH) with stdin from /dev/null. If it has not exited after `bound`
// it is killed (SIGKILL) and exit_code is -1.
RunResult RunBinary(const std::vector<std::string>& argv,
                    std::chrono::milliseconds bound = std::chrono::seconds(30));

// $RL_BINARY_DIR/proxy/ringleader (set by rl_integration_test); aborts the test run if unset.
std::string RingleaderPath();

}  // namespace rl::testing
