// The lock service of a process: the Redlock coordinator (lock/coordinator.h) over the
// `ringleader: locks:` masters, hosted on the control loop. Fencing tokens come from the
// FileTokenSource in its data_dir when the process is standalone, and from the cluster's Raft
// group (lock/raft_token_source.h over the node's proposals) when it has a `ringleader: cluster:`
// section. Workers never touch the coordinator: they Post() a closure that
// runs on the control loop and posts its result back to the worker's own mailbox
// (proxy/session/lock_commands.cc). Used by Proxy (server.cc), which closes it at quit.
// Thread safety: Post() from any thread; Start() before the control loop runs; Close() and the
// posted closures on the control loop's thread.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "conf/config.h"
#include "lock/coordinator.h"
#include "lock/token_source.h"

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

 private:
  LockService() = default;
  ControlLoop* control_ = nullptr;
  std::unique_ptr<lock::TokenSource> tokens_;
  std::unique_ptr<lock::Coordinator> coordinator_;  // null after Close()
};

}  // namespace rl::proxy
