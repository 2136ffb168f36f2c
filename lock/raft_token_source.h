// The fencing-token source of a cluster member: tokens are minted by the Raft group, as blocks
// granted by the replicated state machine's ReserveTokens (raft/node/state_machine.h), so every
// block any member (and any earlier leader or incarnation) ever received lies below every later
// one, and no token is handed out twice. Reserve is served from the last block while it lasts;
// otherwise one proposal reserves max(block, what the waiting Reserves need), and Reserves that
// arrive meanwhile wait for it (coalesced). AdvancePast proposes AdvanceTokens and never serves a
// token at or below the mark afterwards. A proposal that fails or whose outcome is unknown
// (timeout, lost leader) fails the waiting Reserves; its tokens, if it committed, are skipped.
// Used by proxy/host/lock_service.cc when the process has a `ringleader: cluster:` section (the
// proposer is raft::Node::Propose). Thread safety: one thread (the loop the node runs on);
// completions run there, possibly inside the call. Completions after destruction are dropped.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "lock/token_source.h"
#include "raft/node/transport.h"

namespace rl::lock {

class RaftTokenSource final : public TokenSource {
 public:
  using Propose = std::function<void(raft::Proposal, raft::ProposalDone)>;
  struct Options {
    uint64_t block = 1000;  // tokens reserved per proposal (at least)
  };
  struct Stats {
    uint64_t proposals = 0;  // ReserveTokens proposed
    uint64_t advances = 0;   // AdvanceTokens proposed
    uint64_t failures = 0;   // proposals that failed
  };

  RaftTokenSource(Propose propose, Options options);
  ~RaftTokenSource() override;
  RaftTokenSource(RaftTokenSource&&) = default;
  RaftTokenSource(const RaftTokenSource&) = delete;
  RaftTokenSource& operator=(const RaftTokenSource&) = delete;

  void Reserve(uint64_t n, ReserveDone done) override;
  void AdvancePast(uint64_t token, AdvanceDone done) override;

  const Stats& stats() const;
  // The next token the current block would hand out, and its end (tests).
  uint64_t next() const;
  uint64_t end() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace rl::lock
