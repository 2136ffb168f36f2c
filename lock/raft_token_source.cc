#include "lock/raft_token_source.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"
#include "raft/node/state_machine.h"

namespace rl::lock {

struct RaftTokenSource::State {
  struct Waiter {
    uint64_t n;
    ReserveDone done;
  };

  Propose propose;
  Options options;
  Stats stats;
  uint64_t next = 0;  // the block being handed out: [next, end)
  uint64_t end = 0;
  uint64_t floor = 0;  // AdvancePast's largest mark: no token at or below it is handed out
  bool in_flight = false;
  std::deque<Waiter> waiters;

  // Serves waiters in order from the block; reserves another when the first does not fit.
  void Serve(const std::shared_ptr<State>& self) {
    next = std::max(next, floor + 1);
    while (!waiters.empty() && next < end && waiters.front().n <= end - next) {
      Waiter w = std::move(waiters.front());
      waiters.pop_front();
      TokenBlock block{next, w.n};
      next += w.n;
      w.done(block);  // may call Reserve again: it queues behind the remaining waiters
    }
    if (!waiters.empty() && !in_flight) ProposeReserve(self);
  }

  void ProposeReserve(const std::shared_ptr<State>& self) {
    uint64_t want = options.block;
    uint64_t sum = 0;
    for (const Waiter& w : waiters) sum = std::min(kMaxToken, sum + w.n);
    want = std::max(want, sum);
    in_flight = true;
    ++stats.proposals;
    raft::Proposal p{raft::Proposal::Kind::kCommand, raft::EncodeCommand(raft::ReserveTokens{want}),
                     raft::kNoNode, ""};
    propose(std::move(p), [weak = std::weak_ptr<State>(self), want](raft::ProposalResult r) {
      if (auto s = weak.lock()) s->OnReserved(s, want, std::move(r));
    });
  }

  void OnReserved(const std::shared_ptr<State>& self, uint64_t want, raft::ProposalResult r) {
    in_flight = false;
    if (!r || !r->error.empty() || r->value == 0) {
      ++stats.failures;
      Error e = !r ? Error{Error::Code::kNoQuorum,
                           fmt::format("TRYAGAIN the cluster did not mint tokens: {}", r.error())}
                   : Error{Error::Code::kInvalid,
                           fmt::format("the cluster refused to mint tokens: {}",
                                       r->error.empty() ? "no block granted" : r->error)};
      FailAll(e);
      return;
    }
    // Later than every block before it (the counter only grows), so the rest of the old block
    // is dropped: handing it out now would go below tokens already given.
    next = r->value;
    end = r->value + want;
    Serve(self);
  }

  void FailAll(const Error& e) {
    std::deque<Waiter> failed;
    failed.swap(waiters);
    for (Waiter& w : failed) w.done(std::unexpected(e));
  }
};

RaftTokenSource::RaftTokenSource(Propose propose, Options options)
    : state_(std::make_shared<State>()) {
  state_->propose = std::move(propose);
  state_->options = options;
  state_->options.block = std::clamp<uint64_t>(options.block, 1, kMaxToken);
}

RaftTokenSource::~RaftTokenSource() = default;

void RaftTokenSource::Reserve(uint64_t n, ReserveDone done) {
  if (n == 0 || n > kMaxToken) {
    return done(
        std::unexpected(Error{Error::Code::kInvalid, fmt::format("cannot reserve {} tokens", n)}));
  }
  state_->waiters.push_back({n, std::move(done)});
  auto self = state_;  // a completion may destroy this object
  self->Serve(self);
}

void RaftTokenSource::AdvancePast(uint64_t token, AdvanceDone done) {
  if (token > kMaxToken) {
    return done(
        std::unexpected(Error{Error::Code::kInvalid, fmt::format("token {} is too large", token)}));
  }
  auto self = state_;  // a completion inside propose may destroy this object
  State& s = *self;
  s.floor = std::max(s.floor, token);
  ++s.stats.advances;
  raft::Proposal p{raft::Proposal::Kind::kCommand, raft::EncodeCommand(raft::AdvanceTokens{token}),
                   raft::kNoNode, ""};
  s.propose(std::move(p), [weak = std::weak_ptr<State>(self),
                           done = std::move(done)](raft::ProposalResult r) mutable {
    auto s = weak.lock();
    if (!s) return;
    if (!r) {
      ++s->stats.failures;
      return done(std::unexpected(
          Error{Error::Code::kNoQuorum,
                fmt::format("TRYAGAIN the cluster did not advance its tokens: {}", r.error())}));
    }
    if (!r->error.empty()) {
      ++s->stats.failures;
      return done(std::unexpected(Error{Error::Code::kInvalid, r->error}));
    }
    done({});
  });
}

const RaftTokenSource::Stats& RaftTokenSource::stats() const { return state_->stats; }
uint64_t RaftTokenSource::next() const { return state_->next; }
uint64_t RaftTokenSource::end() const { return state_->end; }

}  // namespace rl::lock
