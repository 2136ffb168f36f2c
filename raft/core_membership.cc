// Single-server membership changes: proposing one (with the guards that make single-server
// changes safe) and applying one when the application has applied its entry.

#include "raft/codec.h"
#include "raft/core.h"
#include "raft/quorum.h"

namespace rl::raft {

std::expected<Index, Error> Core::ProposeConfChange(const ConfChange& change) {
  if (role_ != Role::kLeader || leaving_index_ != 0) return std::unexpected(Error::kNotLeader);
  if (lead_transferee_ != kNoNode) return std::unexpected(Error::kTransferInProgress);
  // One at a time: the previous change must be applied (so conf_ reflects it) before the next
  // is validated against conf_.
  if (pending_conf_index_ > log_.applied()) return std::unexpected(Error::kConfChangePending);
  // The single-server-change bug (Ongaro, raft-dev 2015): a new leader whose predecessor's
  // change is uncommitted could add a second change whose majority does not overlap the
  // uncommitted one's. Committing an entry of its own term first settles the predecessor's.
  if (!CommittedInCurrentTerm()) return std::unexpected(Error::kNotCommittedInTerm);
  if (!ApplyConfChange(conf_, change)) return std::unexpected(Error::kInvalidConfChange);
  if (change.type == ConfChangeType::kPromoteLearner &&
      progress_.at(change.node).match < log_.committed()) {
    return std::unexpected(Error::kLearnerNotCaughtUp);
  }
  Entry e;
  e.type = EntryType::kConfChange;
  e.data = EncodeConfChange(change);
  auto index = AppendLocal({std::move(e)});
  if (!index) return index;
  pending_conf_index_ = *index;
  if (change.type == ConfChangeType::kRemoveNode && change.node == config_.id) {
    // A leader removing itself appends nothing after its removal: the survivors must be able to
    // hold a log as up to date as its own, or it could refuse them the vote they still need from
    // it (see ApplyConfChangeEntry).
    leaving_index_ = *index;
  }
  return index;
}

void Core::ApplyConfChangeEntry(const Entry& entry) {
  auto change = DecodeConfChange(entry.data);
  if (!change) return;  // every node skips the same undecodable entry
  auto next = ApplyConfChange(conf_, *change);
  if (!next) return;  // likewise for a change that does not apply
  conf_ = std::move(*next);
  SyncProgress();
  if (change->type == ConfChangeType::kRemoveNode && change->node == config_.id) removed_ = true;
  if (role_ != Role::kLeader) return;
  if (lead_transferee_ != kNoNode && !IsVoter(conf_, lead_transferee_)) AbortLeaderTransfer();
  if (!IsVoter(conf_, config_.id)) {
    // This leader was removed. Followers apply a change only once they learn it committed, and
    // until then they keep the old configuration, in which this node's vote may be needed; if
    // it stepped down now, a survivor that missed the commit could wait forever for a vote
    // (e.g. in a two-node cluster). So it keeps leading the new configuration, without counting
    // itself and without taking requests, until a quorum of it reports the removal committed;
    // then it hands over. (If it loses leadership first, its log ends at the removal, so the
    // survivors can still win its vote.)
    if (leaving_index_ == 0) leaving_index_ = entry.index;
    pending_reads_.clear();
    held_reads_.clear();
  }
  // A smaller quorum may commit or confirm reads already; new members need their first kApp.
  MaybeCommit();
  ReleaseReads();
  broadcast_pending_ = true;
  FinishLeaving();
}

void Core::FinishLeaving() {
  if (role_ != Role::kLeader || leaving_index_ == 0 || IsVoter(conf_, config_.id)) return;
  const bool known = HasQuorum(conf_.voters, [&](NodeId id) {
    auto it = progress_.find(id);
    return it != progress_.end() && it->second.commit >= leaving_index_;
  });
  if (!known) return;
  // Hand over to the most up-to-date voter so the cluster need not wait for a timeout.
  NodeId best = kNoNode;
  Index best_match = 0;
  for (NodeId id : conf_.voters) {
    const Progress& pr = progress_.at(id);
    if (best == kNoNode || pr.match > best_match) {
      best = id;
      best_match = pr.match;
    }
  }
  if (best != kNoNode && best_match == log_.LastIndex()) {
    Send({.type = MessageType::kTimeoutNow, .to = best});
  }
  BecomeFollower(term_, kNoNode);
}

void Core::SyncProgress() {
  std::erase_if(progress_, [&](const auto& kv) {
    return !IsVoter(conf_, kv.first) && !IsLearner(conf_, kv.first);
  });
  auto add = [&](NodeId id, bool learner) {
    auto [it, inserted] = progress_.try_emplace(id, config_.max_inflight_msgs);
    Progress& pr = it->second;
    pr.is_learner = learner;
    if (!inserted) return;
    pr.next = log_.LastIndex() + 1;
    pr.match = id == config_.id ? log_.stable() : 0;
    // Counted as active so CheckQuorum does not depose the leader before a new member answers.
    pr.recent_active = true;
  };
  for (NodeId id : conf_.voters) add(id, false);
  for (NodeId id : conf_.learners) add(id, true);
}

}  // namespace rl::raft
