// Construction, role transitions, the public request API and Ready/Advance. The message handlers
// live in core_step.cc (elections, follower side), core_leader.cc (replication, reads, transfer)
// and core_membership.cc.
#include "raft/core.h"

#include <fmt/format.h>

#include <algorithm>

#include "raft/codec.h"

namespace rl::raft {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

std::expected<Core, std::string> Core::Create(const Config& config, const LogSource& source) {
  if (config.id == kNoNode) return std::unexpected("node id 0 is reserved");
  if (config.heartbeat_ticks <= 0 || config.election_ticks <= config.heartbeat_ticks) {
    return std::unexpected("need 0 < heartbeat_ticks < election_ticks");
  }
  if (config.max_inflight_msgs == 0) return std::unexpected("max_inflight_msgs must be > 0");
  HardState hs = source.GetHardState();
  Snapshot snapshot = source.GetSnapshot();
  std::vector<Entry> entries = source.GetEntries();
  Index expect = snapshot.meta.index + 1;
  Term last_term = snapshot.meta.term;
  for (const Entry& e : entries) {
    if (e.index != expect) {
      return std::unexpected(
          fmt::format("log not contiguous: entry {} where {} expected", e.index, expect));
    }
    if (e.term < last_term) {
      return std::unexpected(fmt::format("term goes backwards at index {}", e.index));
    }
    last_term = e.term;
    ++expect;
  }
  if (hs.term < last_term) {
    // Entries were made durable but the hard state written with them was not (a crash between
    // the two writes). Nothing was promised in the newer term: replies are sent only after the
    // whole Ready is durable. So adopting the term with no vote is safe.
    hs.term = last_term;
    hs.vote = kNoNode;
  }
  RaftLog log(std::move(snapshot), std::move(entries), hs.commit);
  return Core(config, std::move(log), hs);
}

Core::Core(const Config& config, RaftLog log, HardState hard_state)
    : config_(config), log_(std::move(log)), persisted_hard_state_(hard_state) {
  // Mixing in the id keeps nodes that were given the same seed from timing out in lockstep.
  rng_ = SplitMix64(config_.random_seed ^ (config_.id * 0x9e3779b97f4a7c15ULL));
  conf_ = log_.snapshot().meta.conf;
  SyncProgress();
  BecomeFollower(hard_state.term, kNoNode);
  vote_ = hard_state.vote;
}

void Core::ResetRandomizedElectionTimeout() {
  const auto span = static_cast<uint64_t>(config_.election_ticks);
  randomized_election_timeout_ = config_.election_ticks + static_cast<int>(rng_.Below(span));
}

void Core::Send(Message m) {
  m.from = config_.id;
  if (m.term == 0) m.term = term_;
  // Responses report how far this node knows the log is committed; a leader that removed
  // itself waits for that before it steps down (see FinishLeaving).
  if (m.type == MessageType::kAppResp || m.type == MessageType::kHeartbeatResp) {
    m.commit = log_.committed();
  }
  msgs_.push_back(std::move(m));
}

bool Core::Promotable() const {
  // A removed node may still campaign among the new configuration's voters (not counting
  // itself), only to hand over: see BecomeLeader.
  const bool member = IsVoter(conf_, config_.id) || (removed_ && !conf_.voters.empty());
  return member && log_.UnstableSnapshot() == nullptr;
}

void Core::Reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  votes_.clear();
  for (auto& [id, pr] : progress_) {
    const bool learner = pr.is_learner;
    pr = Progress(config_.max_inflight_msgs);
    pr.is_learner = learner;
    pr.next = log_.LastIndex() + 1;
    if (id == config_.id) pr.match = log_.stable();
  }
  pending_conf_index_ = 0;
  leaving_index_ = 0;
  uncommitted_bytes_ = 0;
  broadcast_pending_ = false;
  heartbeat_pending_ = false;
  pending_reads_.clear();
  held_reads_.clear();
}

void Core::BecomeFollower(Term term, NodeId leader) {
  Reset(term);
  role_ = Role::kFollower;
  lead_ = leader;
}

void Core::BecomePreCandidate() {
  // A pre-candidate keeps its term and vote: it is only asking.
  role_ = Role::kPreCandidate;
  votes_.clear();
  lead_ = kNoNode;
}

void Core::BecomeCandidate() {
  Reset(term_ + 1);
  vote_ = config_.id;
  role_ = Role::kCandidate;
}

void Core::BecomeLeader() {
  Reset(term_);
  role_ = Role::kLeader;
  lead_ = config_.id;
  if (auto it = progress_.find(config_.id); it != progress_.end()) it->second.BecomeReplicate();
  // Conf changes already in the log may be unapplied; wait for them before accepting another.
  pending_conf_index_ = log_.LastIndex();
  // If one of them removes this node, take no requests: nothing but the no-op may follow it
  // (see ProposeConfChange).
  for (Index i = std::max(log_.applied() + 1, log_.FirstIndex()); i <= log_.LastIndex(); ++i) {
    const Entry& e = log_.At(i);
    if (e.type != EntryType::kConfChange) continue;
    auto change = DecodeConfChange(e.data);
    if (change && change->type == ConfChangeType::kRemoveNode && change->node == config_.id) {
      leaving_index_ = i;
    }
  }
  if (!IsVoter(conf_, config_.id)) {
    // A removed node that won the new configuration's votes (its log is the most up to date:
    // it may hold entries the survivors lack, and they may still need its vote) leads only to
    // bring them up to date, its no-op included, and then hands over (FinishLeaving).
    leaving_index_ = log_.LastIndex() + 1;
  }
  // The no-op (§8): committing it commits every earlier entry, which a leader may not do by
  // counting replicas of an earlier term's entry (Figure 8), and enables ReadIndex.
  (void)AppendLocal({Entry{}});
}

std::expected<Index, Error> Core::Propose(std::string data) {
  if (role_ != Role::kLeader || leaving_index_ != 0) return std::unexpected(Error::kNotLeader);
  if (lead_transferee_ != kNoNode) return std::unexpected(Error::kTransferInProgress);
  Entry e;
  e.data = std::move(data);
  return AppendLocal({std::move(e)});
}

std::expected<void, Error> Core::ReadIndex(std::string context) {
  if (role_ != Role::kLeader || leaving_index_ != 0) return std::unexpected(Error::kNotLeader);
  if (!CommittedInCurrentTerm()) {
    // Until then the leader's commit index may lag entries committed by its predecessors, so a
    // read at it could miss acknowledged writes.
    held_reads_.push_back(std::move(context));
    return {};
  }
  AddPendingRead(std::move(context));
  return {};
}

std::expected<void, Error> Core::TransferLeader(NodeId to) {
  if (role_ != Role::kLeader || leaving_index_ != 0) return std::unexpected(Error::kNotLeader);
  if (to == config_.id || !IsVoter(conf_, to)) return std::unexpected(Error::kInvalidArgument);
  if (lead_transferee_ == to) return {};
  lead_transferee_ = to;
  // The transfer must finish within one election timeout or it is abandoned.
  election_elapsed_ = 0;
  if (progress_.at(to).match == log_.LastIndex()) {
    Send({.type = MessageType::kTimeoutNow, .to = to});
  } else {
    SendAppend(to, /*send_if_empty=*/true);
  }
  return {};
}

void Core::Campaign() {
  Hup(config_.pre_vote ? CampaignKind::kPreElection : CampaignKind::kElection);
}

void Core::Tick() {
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

bool Core::HasReady() const {
  if (in_flight_) return false;
  const HardState hs{term_, vote_, log_.committed()};
  return (role_ == Role::kLeader && (broadcast_pending_ || heartbeat_pending_)) ||
         hs != persisted_hard_state_ || log_.UnstableSnapshot() != nullptr ||
         log_.stable() < log_.LastIndex() || !msgs_.empty() || log_.HasNextCommittedEntries() ||
         !read_states_.empty();
}

Ready Core::GetReady() {
  if (role_ == Role::kLeader) {
    if (broadcast_pending_) BroadcastAppend();
    if (heartbeat_pending_) BroadcastHeartbeat();
  }
  broadcast_pending_ = false;
  heartbeat_pending_ = false;

  Ready ready;
  InFlight f;
  const HardState hs{term_, vote_, log_.committed()};
  if (hs != persisted_hard_state_) ready.hard_state = f.hard_state = hs;
  ready.new_term_or_vote =
      hs.term != persisted_hard_state_.term || hs.vote != persisted_hard_state_.vote;
  if (const Snapshot* s = log_.UnstableSnapshot()) {
    ready.snapshot = *s;
    f.snapshot_index = s->meta.index;
  }
  ready.entries = log_.UnstableEntries();
  if (!ready.entries.empty()) {
    f.last_index = ready.entries.back().index;
    f.last_term = ready.entries.back().term;
  }
  ready.committed_entries = log_.NextCommittedEntries(config_.max_committed_bytes_per_ready);
  if (!ready.committed_entries.empty()) f.applied_to = ready.committed_entries.back().index;
  for (const Entry& e : ready.committed_entries) {
    if (e.type == EntryType::kConfChange) f.conf_changes.push_back(e);
  }
  ready.messages = std::move(msgs_);
  msgs_.clear();
  ready.read_states = std::move(read_states_);
  read_states_.clear();
  in_flight_ = std::move(f);
  return ready;
}

void Core::Advance() {
  if (!in_flight_) return;
  InFlight f = std::move(*in_flight_);
  in_flight_.reset();
  if (f.hard_state) persisted_hard_state_ = *f.hard_state;
  if (f.last_index != 0) log_.StableTo(f.last_index, f.last_term);
  if (f.applied_to != 0) {
    // A snapshot restored meanwhile already carries the configuration these entries made.
    for (const Entry& e : f.conf_changes) {
      if (e.index > log_.snapshot().meta.index) ApplyConfChangeEntry(e);
    }
    log_.AppliedTo(std::max(f.applied_to, log_.applied()));
  }
  if (f.snapshot_index != 0) log_.StableSnapTo(f.snapshot_index);
  if (role_ == Role::kLeader) {
    // The leader counts itself only for what it has made durable.
    if (auto it = progress_.find(config_.id); it != progress_.end()) {
      it->second.MaybeUpdate(log_.stable());
    }
    if (MaybeCommit()) broadcast_pending_ = true;
  }
}

std::expected<SnapshotMeta, Error> Core::Compact(Index index, std::string data) {
  if (index != log_.applied() || index <= log_.snapshot().meta.index ||
      log_.UnstableSnapshot() != nullptr) {
    return std::unexpected(Error::kSnapshotOutOfDate);
  }
  Snapshot s;
  s.meta.index = index;
  s.meta.term = *log_.TermAt(index);
  s.meta.conf = conf_;
  s.data = std::move(data);
  SnapshotMeta meta = s.meta;
  log_.Compact(std::move(s));
  return meta;
}

Status Core::GetStatus() const {
  Status s;
  s.id = config_.id;
  s.term = term_;
  s.vote = vote_;
  s.role = role_;
  s.leader = lead_;
  s.commit = log_.committed();
  s.applied = log_.applied();
  s.last_index = log_.LastIndex();
  s.snapshot_index = log_.snapshot().meta.index;
  s.conf = conf_;
  s.transferee = lead_transferee_;
  if (role_ == Role::kLeader) {
    for (const auto& [id, pr] : progress_) {
      s.progress[id] = {pr.match,         pr.next,       pr.state,
                        pr.recent_active, pr.is_learner, pr.inflights.Count()};
    }
  }
  return s;
}

}  // namespace rl::raft
