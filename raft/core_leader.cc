// The leader side: heartbeats and CheckQuorum, replication with per-peer flow control,
// commitment, ReadIndex and the end of a leadership transfer.
#include <algorithm>

#include "raft/core.h"
#include "raft/quorum.h"

namespace rl::raft {

void Core::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  for (auto& [id, pr] : progress_) {
    // A snapshot lost in transit would leave the peer paused forever; retry after a while.
    if (pr.state == ProgressState::kSnapshot && ++pr.snapshot_ticks >= config_.election_ticks) {
      pr.BecomeProbe();
    }
  }
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      const bool active = HasQuorum(conf_.voters, [&](NodeId id) {
        if (id == config_.id) return true;
        auto it = progress_.find(id);
        return it != progress_.end() && it->second.recent_active;
      });
      if (!active) {
        // A minority leader steps down so its clients look for the real one, and it stops
        // serving anything that looks like leadership.
        BecomeFollower(term_, kNoNode);
        return;
      }
      for (auto& [id, pr] : progress_) pr.recent_active = id == config_.id;
    }
    AbortLeaderTransfer();  // a transfer that has not finished in an election timeout failed
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat();
  }
}

void Core::StepLeader(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;  // not (or no longer) a member
  Progress& pr = it->second;
  switch (m.type) {
    case MessageType::kAppResp:
      pr.recent_active = true;
      pr.commit = std::max(pr.commit, m.commit);
      HandleAppendResponse(m, pr);
      FinishLeaving();
      break;
    case MessageType::kHeartbeatResp:
      pr.recent_active = true;
      pr.commit = std::max(pr.commit, m.commit);
      HandleHeartbeatResponse(m, pr);
      FinishLeaving();
      break;
    default:
      break;  // another leader in our term cannot exist; anything else is stale
  }
}

void Core::HandleAppendResponse(const Message& m, Progress& pr) {
  if (m.reject) {
    Index hint = m.reject_hint;
    if (m.log_term > 0) hint = log_.FindConflictByTerm(m.reject_hint, m.log_term);
    if (pr.MaybeDecrTo(m.index, hint)) {
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      SendAppend(m.from, /*send_if_empty=*/true);
    }
    return;
  }
  const bool was_paused = pr.IsPaused();
  if (!pr.MaybeUpdate(m.index)) return;
  switch (pr.state) {
    case ProgressState::kProbe:
      pr.BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match >= pr.pending_snapshot) {
        pr.BecomeProbe();
        pr.BecomeReplicate();
      }
      break;
    case ProgressState::kReplicate:
      pr.inflights.FreeUpTo(m.index);
      break;
  }
  if (MaybeCommit()) {
    broadcast_pending_ = true;
  } else if (was_paused) {
    SendAppend(m.from, /*send_if_empty=*/true);
  }
  while (SendAppend(m.from, /*send_if_empty=*/false)) {
  }
  if (m.from == lead_transferee_ && pr.match == log_.LastIndex()) {
    Send({.type = MessageType::kTimeoutNow, .to = m.from});
  }
}

void Core::HandleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.probe_sent = false;
  // The peer is alive; if a kApp was lost, free one slot so the stream can resume (the peer
  // will reject the gap and we fall back to probing).
  if (pr.state == ProgressState::kReplicate && pr.inflights.Full()) pr.inflights.FreeFirst();
  if (pr.match < log_.LastIndex() || pr.state == ProgressState::kProbe) {
    SendAppend(m.from, /*send_if_empty=*/true);
  }
  if (m.context == 0) return;
  for (PendingRead& r : pending_reads_) {
    // An answer to the heartbeat for read `context` confirms every read registered before it.
    if (r.seq <= m.context) r.acks.insert(m.from);
  }
  ReleaseReads();
}

std::expected<Index, Error> Core::AppendLocal(std::vector<Entry> entries) {
  uint64_t bytes = 0;
  for (const Entry& e : entries) bytes += e.data.size();
  if (config_.max_uncommitted_bytes != 0 && uncommitted_bytes_ > 0 &&
      uncommitted_bytes_ + bytes > config_.max_uncommitted_bytes) {
    return std::unexpected(Error::kUncommittedLimit);
  }
  Index index = log_.LastIndex();
  for (Entry& e : entries) {
    e.term = term_;
    e.index = ++index;
  }
  log_.Append(entries);
  uncommitted_bytes_ += bytes;
  if (auto it = progress_.find(config_.id); it != progress_.end()) it->second.next = index + 1;
  broadcast_pending_ = true;  // sent in one kApp per peer at GetReady: proposals batch up
  return index;
}

bool Core::SendAppend(NodeId to, bool send_if_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end() || to == config_.id) return false;
  Progress& pr = it->second;
  if (pr.IsPaused()) return false;
  pr.next = std::clamp<Index>(pr.next, 1, log_.LastIndex() + 1);
  const Index prev = pr.next - 1;
  const auto prev_term = log_.TermAt(prev);
  if (!prev_term) return SendSnapshot(to, pr);  // the entries it needs were compacted
  std::vector<Entry> entries;
  if (pr.next <= log_.LastIndex()) {
    entries = log_.Slice(pr.next, log_.LastIndex() + 1, config_.max_msg_bytes);
  }
  if (entries.empty() && !send_if_empty) return false;
  const size_t count = entries.size();
  const Index last = count > 0 ? entries.back().index : prev;
  Send({.type = MessageType::kApp,
        .to = to,
        .log_term = *prev_term,
        .index = prev,
        .commit = log_.committed(),
        .entries = std::move(entries)});
  pr.SentAppend(count, last);
  return true;
}

bool Core::SendSnapshot(NodeId to, Progress& pr) {
  // A snapshot is large; send it only to a peer we know is there.
  if (!pr.recent_active) return false;
  Send({.type = MessageType::kSnap, .to = to, .snapshot = log_.snapshot()});
  pr.BecomeSnapshot(log_.snapshot().meta.index);
  return true;
}

void Core::BroadcastAppend() {
  for (const auto& [id, pr] : progress_) SendAppend(id, /*send_if_empty=*/true);
}

void Core::BroadcastHeartbeat() {
  const uint64_t context = pending_reads_.empty() ? 0 : pending_reads_.back().seq;
  for (const auto& [id, pr] : progress_) {
    if (id == config_.id) continue;
    Send({.type = MessageType::kHeartbeat,
          .to = id,
          .commit = std::min(pr.match, log_.committed()),
          .context = context});
  }
}

bool Core::MaybeCommit() {
  const Index index = MajorityIndex(conf_.voters, [&](NodeId id) -> Index {
    auto it = progress_.find(id);
    return it == progress_.end() ? 0 : it->second.match;
  });
  // Only an entry of the current term is committed by counting (Figure 8); earlier ones follow.
  if (!log_.MaybeCommit(index, term_)) return false;
  uncommitted_bytes_ = 0;
  for (Index i = log_.committed() + 1; i <= log_.LastIndex(); ++i) {
    uncommitted_bytes_ += log_.At(i).data.size();
  }
  // Held reads wait for an entry of this term, not just any commit: the commit rule above makes
  // the two the same, but the read guard must not rest on it (each guard stands on its own).
  if (!held_reads_.empty() && CommittedInCurrentTerm()) {
    std::vector<std::string> held = std::move(held_reads_);
    held_reads_.clear();
    for (std::string& context : held) AddPendingRead(std::move(context));
  }
  return true;
}

bool Core::CommittedInCurrentTerm() const { return log_.TermAt(log_.committed()) == term_; }

void Core::AddPendingRead(std::string context) {
  pending_reads_.push_back({std::move(context), log_.committed(), ++read_seq_, {config_.id}});
  heartbeat_pending_ = true;
  ReleaseReads();  // a single voter confirms itself
}

void Core::ReleaseReads() {
  while (!pending_reads_.empty()) {
    const PendingRead& r = pending_reads_.front();
    if (!HasQuorum(conf_.voters, [&](NodeId id) { return r.acks.contains(id); })) break;
    read_states_.push_back({r.index, r.context});
    pending_reads_.pop_front();
  }
}

}  // namespace rl::raft
