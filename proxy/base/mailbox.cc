#include "proxy/base/mailbox.h"

#include <utility>

namespace rl::proxy {

Mailbox::~Mailbox() = default;

int Mailbox::Open(uv_loop_t* loop) {
  return async_.Init([&](uv_async_t* a) { return uv_async_init(loop, a, OnWake); }, this);
}

void Mailbox::Close() {
  std::deque<Closure> dropped;
  {
    std::lock_guard lock(mu_);
    async_.Close();
    dropped.swap(queue_);
  }
  // Destroyed outside the lock: a closure's captures may post again (and find it closed).
}

bool Mailbox::Post(Closure fn) {
  std::lock_guard lock(mu_);
  if (!async_) return false;
  queue_.push_back(std::move(fn));
  // uv_async_send coalesces wakeups; RunPosted takes everything queued at once.
  uv_async_send(async_.get());
  return true;
}

void Mailbox::OnWake(uv_async_t* a) { static_cast<Mailbox*>(a->data)->RunPosted(); }

void Mailbox::RunPosted() {
  std::deque<Closure> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(queue_);
  }
  // A closure may Close() the mailbox (shutdown): the rest of the batch still runs, as it was
  // posted before the close.
  for (Closure& fn : batch) fn();
}

}  // namespace rl::proxy
