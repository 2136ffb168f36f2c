// Node: proposals. Commands and membership changes on the leader (answered once applied here),
// forwarding from a follower, leadership transfer, timeouts, and the words of every refusal.
#include <utility>

#include "fmt/format.h"
#include "raft/node/node.h"

namespace rl::raft {
namespace {

// A learner may be promoted once it is this close to the leader's last index (the core also
// requires it to hold everything committed).
constexpr Index kCatchUpSlack = 8;

ProposalResult Fail(std::string why) { return std::unexpected(std::move(why)); }

}  // namespace

void Node::Propose(Proposal proposal, ProposalDone done) {
  if (stopping_) return done(Fail("TRYAGAIN shutting down"));
  if (!core_ || failed_) return done(Fail("TRYAGAIN no leader"));
  if (core_->role() == Role::kLeader) return ProposeAsLeader(std::move(proposal), std::move(done));
  NodeId leader = core_->leader();
  if (leader == kNoNode || leader == settings_.id) return done(Fail("TRYAGAIN no leader"));
  transport_->Forward(leader, std::move(proposal), std::move(done));
}

void Node::ProposeAsLeader(Proposal proposal, ProposalDone done) {
  switch (proposal.kind) {
    case Proposal::Kind::kCommand:
      if (proposal.data.empty()) return done(Fail("ERR empty command"));
      return ProposeCommand(std::move(proposal.data), std::move(done));
    case Proposal::Kind::kTransfer:
      return StartTransfer(proposal.id, std::move(done));
    case Proposal::Kind::kBarrier:
      // An entry with no data, applied as nothing (like a new leader's no-op).
      return ProposeCommand(std::string(), std::move(done));
    case Proposal::Kind::kAddLearner:
    case Proposal::Kind::kPromote:
    case Proposal::Kind::kRemove:
      return ProposeMembership(std::move(proposal), std::move(done));
  }
  done(Fail("ERR unknown proposal kind"));
}

uint64_t Node::Deadline() const {
  return uv_now(loop_) + static_cast<uint64_t>(settings_.propose_timeout.count());
}

void Node::ProposeCommand(std::string data, ProposalDone done) {
  auto index = core_->Propose(std::move(data));
  if (!index) return done(Fail(RefusalText(index.error(), nullptr)));
  if (auto old = pending_.find(*index); old != pending_.end()) {
    // An entry of an earlier term of ours at this index was overwritten before we saw it.
    ProposalDone lost = std::move(old->second.done);
    pending_.erase(old);
    lost(Fail("TRYAGAIN leadership changed"));
  }
  pending_[*index] = Pending{core_->term(), Deadline(), std::move(done)};
  Schedule();
}

void Node::ProposeMembership(Proposal proposal, ProposalDone done) {
  if (membership_busy_) return done(Fail("ERR one membership change at a time"));
  const ConfState& conf = core_->conf();
  const NodeId id = proposal.id;
  const bool voter = IsVoter(conf, id);
  const bool learner = IsLearner(conf, id);
  if (id == kNoNode) return done(Fail("ERR node id 0 is not allowed"));
  ConfChange change{ConfChangeType::kRemoveNode, id};
  switch (proposal.kind) {
    case Proposal::Kind::kAddLearner:
      if (voter || learner) return done(Fail(fmt::format("ERR node {} is already a member", id)));
      if (proposal.addr.empty()) return done(Fail(fmt::format("ERR node {} needs an address", id)));
      change.type = ConfChangeType::kAddLearner;
      break;
    case Proposal::Kind::kPromote: {
      if (voter) return done(Fail(fmt::format("ERR node {} is already a voter", id)));
      if (!learner) return done(Fail(fmt::format("ERR unknown node {}", id)));
      raft::Status st = core_->GetStatus();
      Index match = st.progress.contains(id) ? st.progress.at(id).match : 0;
      if (match + kCatchUpSlack < st.last_index) {
        return done(Fail(RefusalText(Error::kLearnerNotCaughtUp, &proposal)));
      }
      change.type = ConfChangeType::kPromoteLearner;
      break;
    }
    default:  // kRemove
      if (!voter && !learner) return done(Fail(fmt::format("ERR unknown node {}", id)));
      break;
  }
  membership_busy_ = true;
  ProposalDone finish = [this, done = std::move(done)](ProposalResult r) mutable {
    membership_busy_ = false;
    done(std::move(r));
  };
  if (change.type != ConfChangeType::kAddLearner) return ProposeConf(change, std::move(finish));
  // The address goes first, as a command, so it is in the member list when the change applies.
  MemberInfo member{id, proposal.addr, /*learner=*/true, /*joined=*/false};
  ProposeCommand(EncodeCommand(PutMember{member}),
                 [this, change, finish = std::move(finish)](ProposalResult r) mutable {
                   if (!r) return finish(std::move(r));
                   if (!r->error.empty()) return finish(Fail("ERR " + r->error));
                   if (stopping_ || failed_ || core_->role() != Role::kLeader) {
                     return finish(Fail("TRYAGAIN leadership changed"));
                   }
                   ProposeConf(change, std::move(finish));
                 });
}

void Node::ProposeConf(ConfChange change, ProposalDone done) {
  Proposal what{Proposal::Kind::kPromote, "", change.node, ""};
  auto index = core_->ProposeConfChange(change);
  if (!index) return done(Fail(RefusalText(index.error(), &what)));
  pending_[*index] = Pending{core_->term(), Deadline(), std::move(done)};
  Schedule();
}

void Node::StartTransfer(NodeId target, ProposalDone done) {
  if (target == settings_.id) return done(ProposalOutcome{});
  if (transfer_) return done(Fail("ERR a leadership transfer is already in progress"));
  if (!IsVoter(core_->conf(), target)) {
    return done(Fail(fmt::format("ERR node {} is not a voter", target)));
  }
  if (auto ok = core_->TransferLeader(target); !ok) {
    return done(Fail(RefusalText(ok.error(), nullptr)));
  }
  transfer_ = Transfer{target, Deadline(), std::move(done)};
  Schedule();
}

// A transfer is answered when this node learns the outcome: the target leads (done), someone
// else does, or this leader gave up (the core abandons a transfer after an election timeout).
void Node::CheckTransfer() {
  if (!transfer_) return;
  const NodeId target = transfer_->target;
  std::optional<ProposalResult> result;
  if (core_->role() == Role::kLeader) {
    if (core_->GetStatus().transferee != target) {
      result = Fail(fmt::format("ERR leadership transfer to {} did not complete", target));
    }
  } else if (core_->leader() == target) {
    result = ProposalOutcome{};
  } else if (core_->leader() != kNoNode) {
    result = Fail(fmt::format("ERR leadership moved to {}, not {}", core_->leader(), target));
  }
  if (!result && uv_now(loop_) >= transfer_->deadline_ms) {
    result = Fail(fmt::format("TIMEOUT leadership transfer to {}", target));
  }
  if (!result) return;
  ProposalDone done = std::move(transfer_->done);
  transfer_.reset();
  done(std::move(*result));
}

void Node::ExpireProposals() {
  const uint64_t now = uv_now(loop_);
  std::vector<std::pair<Index, ProposalDone>> expired;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline_ms > now) {
      ++it;
      continue;
    }
    expired.emplace_back(it->first, std::move(it->second.done));
    it = pending_.erase(it);
  }
  std::vector<ReadDone> reads;
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.first > now) {
      ++it;
      continue;
    }
    reads.push_back(std::move(it->second.second));
    it = reads_.erase(it);
  }
  for (ReadDone& done : reads) {
    done(std::unexpected(fmt::format("TIMEOUT no quorum confirmed the read within {} ms",
                                     settings_.propose_timeout.count())));
  }
  for (auto& [index, done] : expired) {
    done(Fail(fmt::format("TIMEOUT the change at index {} was not applied within {} ms", index,
                          settings_.propose_timeout.count())));
  }
}

void Node::ReadBarrier(ReadDone done) {
  if (stopping_) return done(std::unexpected("TRYAGAIN shutting down"));
  if (!core_ || failed_) return done(std::unexpected("TRYAGAIN no leader"));
  std::string context = fmt::format("{}", ++read_seq_);
  if (auto ok = core_->ReadIndex(context); !ok) {
    return done(std::unexpected(RefusalText(ok.error(), nullptr)));
  }
  reads_.emplace(std::move(context), std::pair{Deadline(), std::move(done)});
  Schedule();
}

// A read state says "once you have applied this index, you may read": the ones whose index is
// applied are answered now, the others when the entries up to theirs are.
void Node::ServeReads(const std::vector<ReadState>& read_states) {
  for (const ReadState& rs : read_states) {
    auto it = reads_.find(rs.context);
    if (it == reads_.end()) continue;  // timed out meanwhile
    reads_confirmed_.emplace(rs.index, std::move(it->second.second));
    reads_.erase(it);
  }
  std::vector<ReadDone> ready;
  const Index applied = sm_.applied_index();
  while (!reads_confirmed_.empty() && reads_confirmed_.begin()->first <= applied) {
    ready.push_back(std::move(reads_confirmed_.begin()->second));
    reads_confirmed_.erase(reads_confirmed_.begin());
  }
  for (ReadDone& done : ready) done(applied);
}

std::string Node::RefusalText(Error error, const Proposal* proposal) const {
  const NodeId id = proposal != nullptr ? proposal->id : kNoNode;
  switch (error) {
    case Error::kNotLeader:
      if (core_->leader() != kNoNode && core_->leader() != settings_.id) {
        return fmt::format("TRYAGAIN not the leader, leader is {}", core_->leader());
      }
      return "TRYAGAIN no leader";
    case Error::kTransferInProgress:
      return "TRYAGAIN a leadership transfer is in progress";
    case Error::kConfChangePending:
      return "ERR one membership change at a time (the previous one is not applied yet)";
    case Error::kNotCommittedInTerm:
      return "TRYAGAIN the leader has not committed an entry of its term yet";
    case Error::kInvalidConfChange:
      return fmt::format("ERR the membership change for node {} does not apply", id);
    case Error::kLearnerNotCaughtUp: {
      raft::Status st = core_->GetStatus();
      Index match = st.progress.contains(id) ? st.progress.at(id).match : 0;
      return fmt::format("ERR node {} has not caught up (match {} of {})", id, match,
                         st.last_index);
    }
    case Error::kUncommittedLimit:
      return "TRYAGAIN too many uncommitted changes (is a quorum reachable?)";
    default:
      return fmt::format("ERR {}", ErrorName(error));
  }
}

}  // namespace rl::raft
