// The lock service of a process: the Redlock coordinator (lock/coordinator.h) over the
// `ringleader: locks:` masters, hosted on the control loop. Fencing tokens come from the
// FileTokenSource in its data_dir when the process is standalone, and from the cluster's Raft
// group (lock/raft_token_source.h over the node's proposals) when it has a `ringleader: cluster:`
// section. Workers never touch the coordinator: they Post() a closure that
// runs on the control loop and posts its result back to the worker's own mailbox
// (proxy/session/lock_commands.cc). LOCK.FORCERELEASE also raises the fence on the data
// servers (connections of its own, made on first use). Used by Proxy (server.cc), which closes it
// at quit. Thread safety: Post() from any thread; Start() before the control loop runs; Close() and
// the posted closures on the control loop's thread.
#pragma once

#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "lock/coordinator.h"
#include "lock/token_source.h"
#include "proxy/resp/client.h"

namespace rl::raft {
class Node;
}  // namespace rl::raft

namespace rl::proxy {

class ControlLoop;

class LockService {
 public:
  // Makes a coordinator over settings.masters on control's loop. Its tokens: with `cluster`
  // (the process's Raft node, on the same loop, outliving the service's use of it) minted through
  // the node; else the token file in settings.data_dir, opened (the directory created if need
  // be) here. On failure (an unreadable or foreign token file) returns a message naming the file.
  static std::expected<std::unique_ptr<LockService>, std::string> Start(
      ControlLoop* control, const conf::LockSettings& settings, raft::Node* cluster = nullptr);
  ~LockService();

  // Thread-safe: runs fn(coordinator) on the control loop. false (fn dropped) once the loop is
  // quitting or Close() ran.
  bool Post(std::function<void(lock::Coordinator&)> fn);
  // Control loop: drops the coordinator (its pending completions with it) and its connections.
  void Close();

  // The coordinator's counters (INFO's rl_lock_* fields). Any thread; valid after Close().
  const lock::LockStats& stats() const { return stats_; }

  // Where the fenced data lives: every server of every pool this process serves, as they are
  // when asked (the topology may change). Set before the control loop runs; called there.
  void SetDataServers(std::function<std::vector<RespClientOptions>()> data_servers) {
    data_servers_ = std::move(data_servers);
  }
  // LOCK.FORCERELEASE, on the control loop: the coordinator's ForceRelease, then the fence F it
  // minted raised on every data server's mark for the lock, so the evicted holder's fenced writes
  // fail from now on. true when a holder was deleted. When some data server did not take the
  // mark: kUnfenced naming it (the masters are released; the command may be sent again).
  void ForceRelease(std::string name,
                    std::move_only_function<void(std::expected<bool, lock::Error>)> done);

 private:
  LockService() = default;
  ControlLoop* control_ = nullptr;
  lock::LockStats stats_;
  std::unique_ptr<lock::TokenSource> tokens_;
  std::unique_ptr<lock::Coordinator> coordinator_;  // null after Close()
  std::function<std::vector<RespClientOptions>()> data_servers_;
  std::chrono::milliseconds request_timeout_{200};
  // Connections to data servers for ForceRelease, made on first use, by address and credentials.
  std::map<std::string, RespClientPtr> data_clients_;
};

}  // namespace rl::proxy
