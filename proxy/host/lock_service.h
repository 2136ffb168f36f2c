// The lock service of a standalone process: the Redlock coordinator (lock/coordinator.h) over
// the `ringleader: locks:` masters, with fencing tokens from the FileTokenSource in its data_dir,
// hosted on the control loop. Workers never touch the coordinator: they Post() a closure that
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

namespace rl::proxy {

class ControlLoop;

class LockService {
 public:
  // Opens (creating the directory if need be) the token file in settings.data_dir and makes a
  // coordinator over settings.masters on control's loop. On failure (an unreadable or foreign
  // token file) returns a message naming the file.
  static std::expected<std::unique_ptr<LockService>, std::string> Start(
      ControlLoop* control, const conf::LockSettings& settings);
  ~LockService();

  // Thread-safe: runs fn(coordinator) on the control loop. false (fn dropped) once the loop is
  // quitting or Close() ran.
  bool Post(std::function<void(lock::Coordinator&)> fn);
  // Control loop: drops the coordinator (its pending completions with it) and its connections.
  void Close();

 private:
  LockService() = default;
  ControlLoop* control_ = nullptr;
  std::unique_ptr<lock::FileTokenSource> tokens_;
  std::unique_ptr<lock::Coordinator> coordinator_;  // null after Close()
};

}  // namespace rl::proxy
