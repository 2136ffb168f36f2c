// The control loop: the loop for cluster-wide work (today: publishing topology snapshots,
// signals and shutdown; later the Raft node, the migrator, the lock coordinator and the admin
// listener). It runs on the main thread under Serve(), or on a thread of its own for an
// in-process Proxy (tests). Workers never block on it: they get work through their mailboxes
// and post results back through this loop's. Thread safety: Post() and Quit() from any thread;
// everything else from the thread that owns the ControlLoop, before Run()/Start().
#pragma once

#include <uv.h>

#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/base/mailbox.h"
#include "proxy/base/uv_handle.h"

namespace rl::proxy {

class ControlLoop {
 public:
  ControlLoop() = default;
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;
  ~ControlLoop();  // Quit(), Join(), then closes the loop

  // Creates the loop and its mailbox. On failure returns a message.
  std::expected<void, std::string> Init();
  // Calls `fn(signum)` on the loop for `signum` (uv_signal), from now until Quit().
  void OnSignal(int signum, std::function<void(int)> fn);

  // Runs the loop on the calling thread until Quit() has been processed.
  void Run();
  // Run() on a new thread; Join() waits for it.
  void Start();
  void Join();

  // Thread-safe: runs `fn` on the loop's thread. Returns false (dropping fn) once quitting.
  bool Post(Mailbox::Closure fn) { return mailbox_.Post(std::move(fn)); }
  // Thread-safe, idempotent: closes the loop's handles (closures already posted run first)
  // so that Run() returns.
  void Quit();
  // Runs `fn` on the loop's thread when Quit() is processed, to close handles of the loop's
  // other users (the stats port's). Before Run()/Start().
  void OnQuit(std::function<void()> fn) { on_quit_.push_back(std::move(fn)); }

  uv_loop_t* loop() { return &loop_; }

 private:
  uv_loop_t loop_{};
  bool initialized_ = false;
  Mailbox mailbox_;
  std::vector<UvHandle<uv_signal_t>> signals_;
  std::vector<std::unique_ptr<std::function<void(int)>>> signal_fns_;
  std::vector<std::function<void()>> on_quit_;
  std::thread thread_;
};

}  // namespace rl::proxy
