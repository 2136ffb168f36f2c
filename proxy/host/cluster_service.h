// What the data path asks of the process's cluster membership: the `RINGLEADER ...` admin
// commands, answered on the control loop, and the `# Ringleader` section of INFO, read from any
// worker. Implemented by ClusterHost (proxy/host/cluster_host.h) when the configuration has a
// `ringleader: cluster:` section; absent (nullptr in SharedState) for a standalone process.
// Thread safety: Call() on the control loop; InfoFields() from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rl::proxy {

class ClusterService {
 public:
  virtual ~ClusterService() = default;
  // argv[0] is "RINGLEADER"; `admin` says whether the client's pool allows admin commands.
  // `done` gets the complete RESP reply, on the control loop, exactly once.
  virtual void Call(std::vector<std::string> argv, bool admin,
                    std::move_only_function<void(std::string reply)> done) = 0;
  // The rl_* lines of INFO ringleader ("key:value\r\n" each), as of the last change.
  virtual std::shared_ptr<const std::string> InfoFields() const = 0;
};

}  // namespace rl::proxy
