// Child processes for integration tests: spawn by argv, wait for a TCP port with a bound,
// stop by pid (SIGTERM, then SIGKILL after a bound). Only processes a test started are ever
// signalled. Thread safety: a ChildProcess is owned by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace rl::testing {

// Returns a TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released).
uint16_t FreePort();

// A loopback TCP port that refuses connections for as long as this object lives: a socket is
// bound to it (without SO_REUSEADDR) and never listens, so no other process can take the port
// meanwhile, as one could take a FreePort() that was released (a "dead server" in a test).
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// Returns true once a TCP connect to 127.0.0.1:port succeeds, false after `bound`.
bool WaitForPort(uint16_t port, std::chrono::milliseconds bound = std::chrono::seconds(10));

class ChildProcess {
 public:
  // Starts argv[0] (searched in PATH) with stdout and stderr appended to `log_path`
  // (or /dev/null when empty). On failure returns a message.
  static std::expected<ChildProcess, std::string> Spawn(const std::vector<std::string>& argv,
                                                        const std::string& log_path = "");

  ChildProcess() = default;  // not running
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // Stop()

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Sends `signal` to the child (if it is still ours and running).
  void Signal(int signal);
  // Waits up to `bound` for the child to exit; returns its wait status, or -1 on time-out.
  int WaitExit(std::chrono::milliseconds bound);
  // SIGTERM, wait up to 5 s, then SIGKILL and reap. Returns the wait status.
  int Stop();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

}  // namespace rl::testing
