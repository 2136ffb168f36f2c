// Message dispatch, elections (with PreVote and the CheckQuorum lease) and the follower side of
// replication: AppendEntries, heartbeats and InstallSnapshot.
#include <algorithm>

#include "raft/core.h"
#include "raft/quorum.h"

namespace rl::raft {
namespace {

bool IsVoteRequest(MessageType t) { return t == MessageType::kVote || t == MessageType::kPreVote; }

MessageType ResponseTo(MessageType t) {
  return t == MessageType::kVote ? MessageType::kVoteResp : MessageType::kPreVoteResp;
}

}  // namespace

void Core::Step(const Message& m) {
  if (m.to != config_.id || m.from == kNoNode || m.from == config_.id || m.term == 0) return;

  if (m.term > term_) {
    if (IsVoteRequest(m.type)) {
      // The lease that CheckQuorum gives: a node that heard from a live leader within the
      // election timeout ignores campaigns, so a node cut off and back cannot depose a healthy
      // leader. A transfer (kTimeoutNow) asked for this election, so it overrides the lease.
      const bool in_lease =
          config_.check_quorum && lead_ != kNoNode && election_elapsed_ < config_.election_ticks;
      if (in_lease && !m.leader_transfer) return;
    }
    if (m.type == MessageType::kPreVote) {
      // Pre-votes never change anyone's term.
    } else if (m.type == MessageType::kPreVoteResp && !m.reject) {
      // A granted pre-vote carries the term we will campaign at, not a newer term we missed.
    } else if (m.type == MessageType::kApp || m.type == MessageType::kHeartbeat ||
               m.type == MessageType::kSnap) {
      BecomeFollower(m.term, m.from);
    } else if (m.type == MessageType::kVote) {
      // Figure 2 restarts the election timer only on hearing from the leader or granting a vote
      // (HandleVoteRequest): a candidate whose log is stale must not keep the up-to-date nodes
      // from ever timing out just by raising the term (without PreVote this is a livelock).
      const int elapsed = election_elapsed_;
      BecomeFollower(m.term, kNoNode);
      election_elapsed_ = elapsed;
    } else {
      BecomeFollower(m.term, kNoNode);
    }
  } else if (m.term < term_) {
    // Figure 2: a request with a stale term is rejected, and the reply carries the current term
    // so the sender catches up. A leader from an older term that never heard of the newer one
    // would keep its followers (whose lease then refuses every pre-vote) forever; a candidate
    // whose vote requests never reach anyone of a newer term (say, members that still use an
    // older configuration and campaign among themselves) could keep losing the race of terms.
    if (m.type == MessageType::kHeartbeat || m.type == MessageType::kApp) {
      Send({.type = MessageType::kAppResp, .to = m.from});
    } else if (m.type == MessageType::kPreVote || m.type == MessageType::kVote) {
      Send({.type = ResponseTo(m.type), .to = m.from, .reject = true});
    }
    return;
  }

  if (IsVoteRequest(m.type)) {
    HandleVoteRequest(m);
    return;
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
}

void Core::HandleVoteRequest(const Message& m) {
  // We may vote for whom we already voted for, for anyone if we have neither voted nor know a
  // leader in this term, and pre-vote for any later term.
  const bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) ||
                        (m.type == MessageType::kPreVote && m.term > term_);
  if (can_vote && log_.IsUpToDate(m.index, m.log_term)) {
    // The grant reaches the candidate only with the next Ready, after the vote is durable.
    Send({.type = ResponseTo(m.type), .to = m.from, .term = m.term});
    if (m.type == MessageType::kVote) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    Send({.type = ResponseTo(m.type), .to = m.from, .term = term_, .reject = true});
  }
}

void Core::TickElection() {
  ++election_elapsed_;
  if (Promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    Hup(config_.pre_vote ? CampaignKind::kPreElection : CampaignKind::kElection);
  }
}

void Core::LeaderLost(NodeId peer) {
  if (role_ != Role::kFollower || peer == kNoNode || lead_ != peer) return;
  lead_ = kNoNode;
  if (!config_.pre_vote || config_.lost_leader_ticks <= 0) return;
  // A random delay, so that followers that all saw the leader go do not split the vote.
  const int delay =
      1 + static_cast<int>(rng_.Below(static_cast<uint64_t>(config_.lost_leader_ticks)));
  const int remaining = randomized_election_timeout_ - election_elapsed_;
  if (delay >= remaining) return;
  election_elapsed_ = 0;
  randomized_election_timeout_ = delay;
}

bool Core::HasUnappliedConfChange() const {
  for (Index i = std::max(log_.applied() + 1, log_.FirstIndex()); i <= log_.committed(); ++i) {
    if (log_.At(i).type == EntryType::kConfChange) return true;
  }
  return false;
}

void Core::Hup(CampaignKind kind) {
  if (role_ == Role::kLeader || !Promotable()) return;
  // A committed but unapplied change may remove us or change the quorum; campaigning under the
  // old configuration could elect a leader a majority of the new one never heard of.
  if (HasUnappliedConfChange()) return;
  StartCampaign(kind);
}

void Core::StartCampaign(CampaignKind kind) {
  Term vote_term;
  MessageType type;
  if (kind == CampaignKind::kPreElection) {
    BecomePreCandidate();
    vote_term = term_ + 1;
    type = MessageType::kPreVote;
  } else {
    BecomeCandidate();
    vote_term = term_;
    type = MessageType::kVote;
  }
  votes_[config_.id] = true;
  if (TallyVotes(conf_.voters, votes_) == VoteResult::kWon) {
    // A single voter wins on its own vote.
    if (kind == CampaignKind::kPreElection) {
      StartCampaign(CampaignKind::kElection);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId id : conf_.voters) {
    if (id == config_.id) continue;
    Send({.type = type,
          .to = id,
          .term = vote_term,
          .log_term = log_.LastTerm(),
          .index = log_.LastIndex(),
          .leader_transfer = kind == CampaignKind::kTransfer});
  }
}

void Core::StepCandidate(const Message& m) {
  const MessageType my_response =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  switch (m.type) {
    case MessageType::kApp:
      BecomeFollower(term_, m.from);
      HandleAppend(m);
      return;
    case MessageType::kHeartbeat:
      BecomeFollower(term_, m.from);
      HandleHeartbeat(m);
      return;
    case MessageType::kSnap:
      BecomeFollower(term_, m.from);
      HandleSnapshot(m);
      return;
    default:
      break;
  }
  if (m.type != my_response) return;
  votes_.try_emplace(m.from, !m.reject);
  switch (TallyVotes(conf_.voters, votes_)) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        StartCampaign(CampaignKind::kElection);
      } else {
        BecomeLeader();
      }
      break;
    case VoteResult::kLost:
      BecomeFollower(term_, kNoNode);
      break;
    case VoteResult::kPending:
      break;
  }
}

void Core::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kApp:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppend(m);
      break;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      break;
    case MessageType::kSnap:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshot(m);
      break;
    case MessageType::kTimeoutNow:
      Hup(CampaignKind::kTransfer);
      break;
    default:
      break;
  }
}

void Core::HandleAppend(const Message& m) {
  if (m.index < log_.committed()) {
    // Everything up to our commit index matches any leader's log; say how far we are.
    Send({.type = MessageType::kAppResp, .to = m.from, .index = log_.committed()});
    return;
  }
  if (auto last = log_.MaybeAppend(m.index, m.log_term, m.commit, m.entries)) {
    Send({.type = MessageType::kAppResp, .to = m.from, .index = *last});
    return;
  }
  // Fast back-off: point the leader at the last index whose term is no larger than the one it
  // expected, skipping whole terms of conflicting entries in one round trip.
  const Index hint = log_.FindConflictByTerm(std::min(m.index, log_.LastIndex()), m.log_term);
  Send({.type = MessageType::kAppResp,
        .to = m.from,
        .log_term = log_.TermAt(hint).value_or(0),
        .index = m.index,
        .reject = true,
        .reject_hint = hint});
}

void Core::HandleHeartbeat(const Message& m) {
  // The leader sends min(its commit, our match), so this never commits past what we hold.
  log_.CommitTo(std::min(m.commit, log_.LastIndex()));
  Send({.type = MessageType::kHeartbeatResp, .to = m.from, .context = m.context});
}

void Core::HandleSnapshot(const Message& m) {
  if (!m.snapshot) return;
  const SnapshotMeta& meta = m.snapshot->meta;
  if (meta.index <= log_.committed()) {
    Send({.type = MessageType::kAppResp, .to = m.from, .index = log_.committed()});
    return;
  }
  if (log_.MatchTerm(meta.index, meta.term)) {
    // We already hold the snapshot's last entry, so everything up to it matches: just commit.
    log_.CommitTo(meta.index);
    Send({.type = MessageType::kAppResp, .to = m.from, .index = log_.committed()});
    return;
  }
  log_.Restore(*m.snapshot);
  conf_ = meta.conf;
  SyncProgress();
  // Sent with the Ready that carries the snapshot, so only once it is durable.
  Send({.type = MessageType::kAppResp, .to = m.from, .index = log_.LastIndex()});
}

}  // namespace rl::raft
