// The coordinator's LOCK.INFO, LOCK.CHECK and LOCK.FORCERELEASE: one script on every master,
// answers combined once all have answered (each bounded by the client's request timeout).
// Thread safety: the loop's thread only.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "lock/coordinator.h"

namespace rl::lock {
namespace {

Error NoQuorum(std::string_view what) {
  return Error{Error::Code::kNoQuorum,
               fmt::format("{} ({} reached too few masters)", kNoQuorum, what)};
}

}  // namespace

void Coordinator::Info(std::string name, InfoDone done) {
  struct State {
    size_t answered = 0;
    std::vector<InfoReply> replies;
    InfoDone done;
  };
  auto s = std::make_shared<State>();
  s->done = std::move(done);
  for (auto& client : clients_) {
    lock::Info(*client, name, [this, s](std::expected<InfoReply, Error> r) {
      if (r) s->replies.push_back(std::move(*r));
      if (++s->answered < clients_.size()) return;
      if (s->replies.size() < quorum()) return s->done(std::unexpected(NoQuorum("info")));
      LockInfo info;
      info.masters_answered = s->replies.size();
      // Group the holders by (token, owner); the lease of a quorum is the quorum-th longest.
      std::map<std::pair<uint64_t, std::string>, std::vector<int64_t>> holders;
      for (const InfoReply& one : s->replies) {
        info.last_token = std::max(info.last_token, one.high_water);
        if (one.holder)
          holders[{one.holder->token, one.holder->owner}].push_back(one.holder->pttl_ms);
      }
      for (auto& [who, leases] : holders) {
        if (leases.size() < quorum()) continue;
        std::sort(leases.begin(), leases.end(), std::greater<>());
        info.holder = InfoReply::Holder{who.first, who.second, leases[quorum() - 1]};
      }
      s->done(std::move(info));
    });
  }
}

void Coordinator::Check(std::string name, uint64_t token, ReleaseDone done) {
  Info(std::move(name), [token, done = std::move(done)](std::expected<LockInfo, Error> r) mutable {
    if (!r) return done(std::unexpected(r.error()));
    done(r->holder && r->holder->token == token && r->holder->pttl_ms > 0);
  });
}

void Coordinator::ForceRelease(std::string name, ForceReleaseDone done) {
  NextToken([this, name = std::move(name),
             done = std::move(done)](std::expected<uint64_t, Error> fence) mutable {
    if (!fence) return done(std::unexpected(fence.error()));
    struct State {
      size_t answered = 0, ok = 0, deleted = 0;
      uint64_t fence = 0;
      std::string name;
      ForceReleaseDone done;
    };
    auto s = std::make_shared<State>();
    s->done = std::move(done);
    s->name = name;
    s->fence = *fence;
    for (auto& client : clients_) {
      lock::ForceRelease(*client, name, *fence, [this, s](std::expected<bool, Error> r) {
        if (r) {
          ++s->ok;
          if (*r) ++s->deleted;
        }
        if (++s->answered < clients_.size()) return;
        if (s->ok < quorum()) return s->done(std::unexpected(NoQuorum("forcerelease")));
        Bump(stats_->force_releases);
        for (auto it = leases_.lower_bound({s->name, 0});
             it != leases_.end() && it->first.first == s->name;) {
          it = leases_.erase(it);
        }
        stats_->held.store(static_cast<int64_t>(leases_.size()), std::memory_order_relaxed);
        s->done(ForceReleased{s->deleted > 0, s->fence});
        Wake(s->name);
      });
    }
  });
}

}  // namespace rl::lock
