// LOCK.ACQUIRE ... WAIT: callers queued per lock on the coordinator's loop (see coordinator.h).
// A waiter retries (a whole Redlock round, with a fresh token) when this coordinator releases the
// lock, or on its timer: when the blocking leases end plus a little jitter (so that waiters of
// several proxies do not retry in lockstep), never past its deadline. At the deadline it answers
// nil. Waiting holds no master connection and blocks no one.
// Thread safety: the loop's thread only.
#include <algorithm>

#include "lock/coordinator.h"
#include "lock/coordinator_internal.h"

namespace rl::lock {

Coordinator::~Coordinator() {
  *alive_ = false;
  for (const auto& [name, list] : waiters_) {
    for (const auto& w : list) {
      if (w->queued) Bump(stats_->waiting, int64_t{-1});
    }
  }
  waiters_.clear();  // closes their timers; their completions are dropped
}

size_t Coordinator::waiters(const std::string& name) const {
  auto it = waiters_.find(name);
  return it == waiters_.end() ? 0 : it->second.size();
}

void Coordinator::AcquireWait(std::string name, std::string owner, uint64_t ttl_ms, bool reentrant,
                              uint64_t wait_ms, AcquireDone done) {
  auto w = std::make_unique<Waiter>();
  w->coordinator = this;
  w->name = name;
  w->owner = std::move(owner);
  w->ttl_ms = ttl_ms;
  w->reentrant = reentrant;
  w->deadline_ms = options_.now_ms() + wait_ms;
  w->done = Counted(name, std::move(done));
  w->timer.Init([this](uv_timer_t* t) { return uv_timer_init(loop_, t); }, w.get());
  Waiter* raw = w.get();
  waiters_[name].push_back(std::move(w));
  Retry(raw);
}

void Coordinator::Retry(Waiter* w) {
  w->in_flight = true;
  w->woken = false;
  uv_timer_stop(w->timer.get());
  auto free_in = std::make_shared<int64_t>(-1);
  StartAcquire(
      w->name, w->owner, w->ttl_ms, w->reentrant,
      [this, w, free_in](std::expected<std::optional<Grant>, Error> r) {
        w->in_flight = false;
        uint64_t now = options_.now_ms();
        if (!r || r->has_value() || now >= w->deadline_ms) {
          AcquireDone done = std::move(w->done);
          Remove(w);  // frees w
          return done(std::move(r));
        }
        if (!w->queued) {
          w->queued = true;
          Bump(stats_->waits);
          Bump(stats_->waiting);
        }
        if (w->woken) return Retry(w);
        // Jitter: up to a tenth of the wait, at least 1 ms.
        jitter_state_ = jitter_state_ * 6364136223846793005ull + 1442695040888963407ull;
        int64_t base = std::max<int64_t>(*free_in, 0);
        int64_t jitter = static_cast<int64_t>((jitter_state_ >> 33) % (base / 10 + 2));
        Schedule(w, base + jitter);
      },
      [free_in](int64_t ms) { *free_in = ms; });
}

void Coordinator::Schedule(Waiter* w, int64_t delay_ms) {
  uint64_t now = options_.now_ms();
  uint64_t left = w->deadline_ms > now ? w->deadline_ms - now : 0;
  uint64_t delay = std::min<uint64_t>(static_cast<uint64_t>(delay_ms), left);
  uv_timer_start(
      w->timer.get(),
      [](uv_timer_t* t) {
        auto* w = static_cast<Waiter*>(t->data);
        // The deadline passed without a release: one last round decides (grant or nil).
        w->coordinator->Retry(w);
      },
      delay, 0);
}

void Coordinator::Wake(const std::string& name) {
  auto it = waiters_.find(name);
  if (it == waiters_.end() || it->second.empty()) return;
  Waiter* head = it->second.front().get();
  if (head->in_flight) {
    head->woken = true;
  } else {
    Retry(head);
  }
}

void Coordinator::Remove(Waiter* w) {
  auto it = waiters_.find(w->name);
  if (it == waiters_.end()) return;
  if (w->queued) Bump(stats_->waiting, int64_t{-1});
  it->second.remove_if([w](const std::unique_ptr<Waiter>& one) { return one.get() == w; });
  if (it->second.empty()) waiters_.erase(it);
}

}  // namespace rl::lock
