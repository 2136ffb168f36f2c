// Redlock rounds over N masters (see coordinator.h). One round is an Attempt shared by the N
// script callbacks (a shared_ptr: whichever reply comes last finishes it); it finishes once
// every master answered or failed, each bounded by the client's request timeout.
// Thread safety: the loop's thread only.
#include "lock/coordinator.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "lock/coordinator_internal.h"
#include "lock/scripts.h"

namespace rl::lock {

struct Coordinator::Attempt {
  std::string name;
  std::string owner;
  uint64_t ttl_ms = 0;
  bool reentrant = false;
  int stale_retries = 0;
  AcquireDone done;
  // Called before done(nullopt) with the ms until enough leases end for a quorum (WAIT).
  std::move_only_function<void(int64_t free_in_ms)> on_held;

  uint64_t token = 0;
  uint64_t started_ms = 0;
  size_t answered = 0;
  std::vector<bool> granted_new;      // granted with `token` (what a failure must release)
  std::map<uint64_t, size_t> grants;  // token granted -> masters (reentrant: the held token)
  size_t held = 0;                    // masters held by another owner
  std::vector<int64_t> held_leases;   // their leases left
  size_t failed = 0;                  // masters that did not answer
  std::string last_failure;           // the last of their errors, for the TRYAGAIN detail
  uint64_t highest_mark = 0;          // the highest mark among stale refusals
  bool stale = false;
};

namespace {
size_t Granted(const Coordinator::Attempt& a) {
  size_t n = 0;
  for (const auto& [token, count] : a.grants) n += count;
  return n;
}
Error NoQuorum(std::string_view detail) {
  return Error{Error::Code::kNoQuorum, fmt::format("{} ({})", kNoQuorum, detail)};
}
}  // namespace

Coordinator::Coordinator(uv_loop_t* loop, TokenSource* tokens, CoordinatorOptions options)
    : loop_(loop), tokens_(tokens), options_(std::move(options)) {
  if (!options_.now_ms) options_.now_ms = [] { return uv_hrtime() / 1000000; };
  if (options_.token_block == 0) options_.token_block = 1;
  for (proxy::RespClientOptions& o : options_.masters) {
    if (o.request_timeout.count() == 0) o.request_timeout = options_.master_timeout;
    clients_.push_back(proxy::RespClient::Create(loop_, std::move(o)));
  }
  options_.masters.clear();  // moved into the clients
  if (options_.stats != nullptr) stats_ = options_.stats;
  sweep_timer_.Init([this](uv_timer_t* t) { return uv_timer_init(loop_, t); }, this);
  if (sweep_timer_) {
    uv_timer_start(
        sweep_timer_.get(),
        [](uv_timer_t* t) { static_cast<Coordinator*>(t->data)->SweepLeases(); }, 1000, 1000);
    uv_unref(reinterpret_cast<uv_handle_t*>(sweep_timer_.get()));  // never keeps the loop alive
  }
}

void Coordinator::SweepLeases() {
  const uint64_t now = options_.now_ms();
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    it = leases_.erase(it);
    Bump(stats_->expiries);
  }
  stats_->held.store(static_cast<int64_t>(leases_.size()), std::memory_order_relaxed);
}

Coordinator::AcquireDone Coordinator::Counted(std::string name, AcquireDone done) {
  Bump(stats_->acquires);
  return [this, alive = alive_, name = std::move(name),
          done = std::move(done)](std::expected<std::optional<Grant>, Error> r) mutable {
    if (*alive) {
      if (!r) {
        Bump(stats_->acquire_errors);
      } else if (!r->has_value()) {
        Bump(stats_->not_granted);
      } else {
        Bump(stats_->grants);
        leases_[{name, (*r)->token}] = options_.now_ms() + (*r)->validity_ms;
        stats_->held.store(static_cast<int64_t>(leases_.size()), std::memory_order_relaxed);
      }
    }
    done(std::move(r));
  };
}

void Coordinator::Forget(const std::string& name, uint64_t token) {
  if (leases_.erase({name, token}) > 0) {
    stats_->held.store(static_cast<int64_t>(leases_.size()), std::memory_order_relaxed);
  }
}

uint64_t Coordinator::DriftMs(uint64_t ttl_ms) const {
  return static_cast<uint64_t>(static_cast<double>(ttl_ms) * options_.drift_factor) +
         options_.drift_fixed_ms;
}

void Coordinator::NextToken(std::move_only_function<void(std::expected<uint64_t, Error>)> done) {
  if (next_token_ < end_token_) return done(next_token_++);
  tokens_->Reserve(options_.token_block, [this, alive = alive_, done = std::move(done)](
                                             std::expected<TokenBlock, Error> block) mutable {
    if (!*alive) return;
    if (!block) return done(std::unexpected(block.error()));
    next_token_ = block->first;
    end_token_ = block->first + block->count;
    done(next_token_++);
  });
}

void Coordinator::Acquire(std::string name, std::string owner, uint64_t ttl_ms, bool reentrant,
                          AcquireDone done) {
  AcquireDone counted = Counted(name, std::move(done));
  StartAcquire(std::move(name), std::move(owner), ttl_ms, reentrant, std::move(counted), nullptr);
}

void Coordinator::StartAcquire(std::string name, std::string owner, uint64_t ttl_ms, bool reentrant,
                               AcquireDone done, std::move_only_function<void(int64_t)> on_held) {
  auto a = std::make_shared<Attempt>();
  a->on_held = std::move(on_held);
  a->name = std::move(name);
  a->owner = std::move(owner);
  a->ttl_ms = ttl_ms;
  a->reentrant = reentrant;
  a->done = std::move(done);
  Start(std::move(a));
}

// Token first (the masters are locked only with a token already minted), then every master.
void Coordinator::Start(std::shared_ptr<Attempt> a) {
  NextToken([this, a](std::expected<uint64_t, Error> token) mutable {
    if (!token) return a->done(std::unexpected(token.error()));
    a->token = *token;
    a->started_ms = options_.now_ms();
    a->answered = a->held = a->failed = 0;
    a->held_leases.clear();
    a->grants.clear();
    a->stale = false;
    a->granted_new.assign(clients_.size(), false);
    for (size_t i = 0; i < clients_.size(); ++i) {
      lock::Acquire(*clients_[i], a->name, a->owner, a->token, a->ttl_ms, a->reentrant,
                    [this, a, i](std::expected<AcquireReply, Error> r) {
                      if (!r) {
                        ++a->failed;
                        a->last_failure = r.error().message;
                      } else if (r->outcome == AcquireReply::Outcome::kGranted) {
                        ++a->grants[r->token];
                        a->granted_new[i] = r->token == a->token;
                      } else if (r->outcome == AcquireReply::Outcome::kHeld) {
                        ++a->held;
                        a->held_leases.push_back(r->lease_ms);
                      } else {
                        a->stale = true;
                        a->highest_mark = std::max(a->highest_mark, r->token);
                      }
                      if (++a->answered == clients_.size()) Finish(a);
                    });
    }
  });
}

void Coordinator::Finish(std::shared_ptr<Attempt> a) {
  uint64_t elapsed = options_.now_ms() - a->started_ms;
  uint64_t spent = elapsed + DriftMs(a->ttl_ms);
  uint64_t validity = a->ttl_ms > spent ? a->ttl_ms - spent : 0;
  for (const auto& [token, count] : a->grants) {
    if (count >= quorum() && validity > 0) return a->done(Grant{token, validity});
  }
  // Failed: undo what this attempt got, wherever it got it (a reentrant hold that was already
  // there is left alone).
  ReleaseOn(a->name, a->owner, a->token, a->granted_new);
  if (a->stale && a->stale_retries < options_.max_stale_retries) {
    // A master has seen a token at or above ours: the source fell behind it (lost or restored
    // state). Move the source past it and try once more with a fresh token.
    ++a->stale_retries;
    Bump(stats_->stale_retries);
    next_token_ = end_token_ = 0;
    tokens_->AdvancePast(a->highest_mark,
                         [this, a, alive = alive_](std::expected<void, Error> r) mutable {
                           if (!*alive) return;
                           if (!r) return a->done(std::unexpected(r.error()));
                           Start(std::move(a));
                         });
    return;
  }
  if (a->held >= clients_.size() - quorum() + 1) {
    if (a->on_held) {
      // A quorum can form once fewer than N - quorum + 1 masters are held: when the
      // (N - quorum + 1)-th longest lease ends.
      std::sort(a->held_leases.begin(), a->held_leases.end(), std::greater<>());
      a->on_held(std::max<int64_t>(0, a->held_leases[clients_.size() - quorum()]));
    }
    return a->done(std::nullopt);  // other owners hold it on enough masters to block any quorum
  }
  if (validity == 0 && !a->grants.empty()) {
    return a->done(std::unexpected(NoQuorum("the attempt outlived its ttl")));
  }
  a->done(std::unexpected(NoQuorum(fmt::format("{} of {} granted, {} held, {} unreachable{}{}",
                                               Granted(*a), clients_.size(), a->held, a->failed,
                                               a->failed > 0 ? ": " : "", a->last_failure))));
}

void Coordinator::ReleaseOn(const std::string& name, const std::string& owner, uint64_t token,
                            const std::vector<bool>& where) {
  for (size_t i = 0; i < clients_.size(); ++i) {
    if (where[i]) lock::Release(*clients_[i], name, owner, token, [](auto) {});
  }
}

void Coordinator::Release(std::string name, std::string owner, uint64_t token, ReleaseDone done) {
  struct State {
    size_t answered = 0, released = 0, failed = 0;
    std::string name;
    uint64_t token = 0;
    ReleaseDone done;
  };
  auto s = std::make_shared<State>();
  s->done = std::move(done);
  s->name = name;
  s->token = token;
  for (auto& client : clients_) {
    lock::Release(*client, name, owner, token, [this, s](std::expected<bool, Error> r) {
      if (!r)
        ++s->failed;
      else if (*r)
        ++s->released;
      if (++s->answered < clients_.size()) return;
      if (s->released == 0 && s->failed >= quorum()) {
        return s->done(std::unexpected(NoQuorum("release reached too few masters")));
      }
      if (s->released > 0) {
        Bump(stats_->releases);
        Forget(s->name, s->token);
      } else {
        Bump(stats_->releases_not_held);
      }
      s->done(s->released > 0);
      if (s->released > 0) Wake(s->name);
    });
  }
}

void Coordinator::Extend(std::string name, std::string owner, uint64_t token, uint64_t ttl_ms,
                         ExtendDone done) {
  struct State {
    size_t answered = 0, extended = 0, failed = 0;
    uint64_t started_ms = 0;
    std::string name;
    uint64_t token = 0;
    ExtendDone done;
  };
  auto s = std::make_shared<State>();
  s->done = std::move(done);
  s->started_ms = options_.now_ms();
  s->name = name;
  s->token = token;
  for (auto& client : clients_) {
    lock::Extend(*client, name, owner, token, ttl_ms,
                 [this, s, ttl_ms](std::expected<bool, Error> r) {
                   if (!r)
                     ++s->failed;
                   else if (*r)
                     ++s->extended;
                   if (++s->answered < clients_.size()) return;
                   uint64_t spent = options_.now_ms() - s->started_ms + DriftMs(ttl_ms);
                   uint64_t validity = ttl_ms > spent ? ttl_ms - spent : 0;
                   if (s->extended >= quorum() && validity > 0) {
                     Bump(stats_->extends);
                     // A lease remembered here now ends later (one granted elsewhere is not).
                     auto lease = leases_.find({s->name, s->token});
                     if (lease != leases_.end()) lease->second = options_.now_ms() + validity;
                     return s->done(validity);
                   }
                   Bump(stats_->extend_refusals);
                   if (s->failed >= quorum()) {
                     return s->done(std::unexpected(NoQuorum("extend reached too few masters")));
                   }
                   s->done(std::unexpected(Error{Error::Code::kNotOwner, std::string(kNotOwner)}));
                 });
  }
}

}  // namespace rl::lock
