// A loop's mailbox: any thread posts a closure, the loop's thread runs it. The control loop posts
// work to workers through theirs (a new topology, a question for INFO), and workers post results
// back to the control loop's. Used by proxy/host (workers, the control loop), and by raft/ and
// lock/ later. Thread safety: Post() from any thread; Open/Close on the loop's thread.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <mutex>

#include "proxy/base/uv_handle.h"

namespace rl::proxy {

class Mailbox {
 public:
  using Closure = std::function<void()>;

  Mailbox() = default;
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;
  ~Mailbox();  // REQUIRES: Close() was called, or Open() never was

  // Starts taking mail on `loop`. On failure returns libuv's error code (< 0).
  int Open(uv_loop_t* loop);
  // Stops taking mail: closures posted afterwards are dropped (Post returns false); the ones
  // already posted and not run yet are dropped too, without running. Loop thread only.
  void Close();

  // Queues `fn` to run on the loop's thread, in posting order, from a later loop iteration.
  // Returns false (and drops `fn`) when the mailbox is not open.
  bool Post(Closure fn);

 private:
  static void OnWake(uv_async_t* a);
  void RunPosted();

  std::mutex mu_;  // guards queue_, and async_ against Close() while Post() sends
  std::deque<Closure> queue_;
  UvHandle<uv_async_t> async_;
};

}  // namespace rl::proxy
