// Node: the Ready loop (persist on the disk thread, then send, apply, Advance), the membership
// bookkeeping of applied conf changes, compaction and the joined markers.
#include <utility>

#include "fmt/format.h"
#include "raft/codec.h"
#include "raft/node/node.h"
#include "raft/node/node_handles.h"

namespace rl::raft {
namespace {

bool OnlyLeaderTraffic(const std::vector<Message>& messages) {
  for (const Message& m : messages) {
    switch (m.type) {
      case MessageType::kApp:
      case MessageType::kHeartbeat:
      case MessageType::kSnap:
      case MessageType::kTimeoutNow:
        break;
      default:
        return false;
    }
  }
  return !messages.empty();
}

}  // namespace

void Node::Schedule() {
  if (handles_ != nullptr && !failed_ && !stopping_) handles_->Wake();
}

void Node::OnTick() {
  if (!core_ || failed_ || stopping_) return;
  core_->Tick();
  ExpireProposals();
  CheckTransfer();
  MaybeMarkJoined();
  Schedule();
}

// One Ready at a time: the core hands out no other before Advance, and Tick/Step/Propose go on
// meanwhile, so everything that arrives while a write is on disk is coalesced into the next one.
void Node::ProcessReady() {
  if (!core_ || failed_ || stopping_ || ready_in_flight_) return;
  CheckTransfer();
  if (!core_->HasReady()) return;
  auto ready = std::make_shared<Ready>(core_->GetReady());
  ready_in_flight_ = true;
  if (!ready->snapshot && ready->entries.empty() && !ready->hard_state) {
    return OnDurable(*ready, {});  // nothing to make durable: no fsync to wait for
  }
  if (!ready->snapshot && ready->entries.empty() && !ready->new_term_or_vote) {
    // Only the commit index changed. Raft keeps it in volatile state (a restarted node learns
    // it again from the leader), so applying waits for no fsync; the write follows, in order.
    DiskJob job{std::nullopt, {}, ready->hard_state, /*hard_state_lazy=*/true};
    disk_->Submit(std::move(job), [this](const StorageResult<>& r) {
      if (!r && !stopping_) Fatal("raft storage: " + r.error().message);
    });
    return OnDurable(*ready, {});
  }
  if (!ready->new_term_or_vote && OnlyLeaderTraffic(ready->messages)) {
    // Replication overlaps the leader's own fsync (thesis §10.2.1): these carry its log, not a
    // promise about its disk, and the core counts the leader's own copy only once durable.
    transport_->Send(std::move(ready->messages));
    ready->messages.clear();
  }
  DiskJob job{ready->snapshot, std::move(ready->entries), ready->hard_state,
              /*hard_state_lazy=*/!ready->new_term_or_vote && !ready->snapshot};
  disk_->Submit(std::move(job),
                [this, ready](const StorageResult<>& result) { OnDurable(*ready, result); });
}

void Node::OnDurable(Ready& ready, const StorageResult<>& result) {
  if (stopping_ || failed_) return;
  if (!result) return Fatal("raft storage: " + result.error().message);
  // Only now: the votes and acknowledgments in these messages promise durable state.
  transport_->Send(std::move(ready.messages));
  bool changed = false;
  if (ready.snapshot) {
    if (!RestoreSnapshot(*ready.snapshot)) return;
    FailPendingUpTo(ready.snapshot->meta.index, "TRYAGAIN leadership changed");
    changed = true;
  }
  answers_.clear();
  changed = ApplyEntries(ready.committed_entries) || changed;
  core_->Advance();
  ready_in_flight_ = false;
  ServeReads(ready.read_states);
  MaybeCompact();
  if (changed) {
    UpdatePeers();
    if (on_applied_) on_applied_(sm_.state());
  }
  // Answered after Advance, so that a caller's next membership change sees this one applied.
  auto answers = std::move(answers_);
  answers_.clear();
  for (auto& [done, result] : answers) {
    done(std::move(result));
    if (stopping_ || failed_) return;
  }
  Schedule();
}

bool Node::RestoreSnapshot(const Snapshot& snapshot) {
  if (auto ok = sm_.Restore(snapshot.data); !ok) {
    Fatal(fmt::format("raft snapshot at index {}: {}", snapshot.meta.index, ok.error()));
    return false;
  }
  snapshot_index_ = snapshot.meta.index;
  return true;
}

bool Node::ApplyEntries(const std::vector<Entry>& entries) {
  // The configuration as each entry finds it: the core applies this batch's changes at Advance.
  ConfState conf = core_->conf();
  bool changed = false;
  for (const Entry& e : entries) {
    if (e.index <= sm_.applied_index()) continue;  // already in the restored snapshot
    ApplyResult result;
    if (e.type == EntryType::kConfChange) {
      auto change = DecodeConfChange(e.data);
      auto next = change ? ApplyConfChange(conf, *change)
                         : std::expected<ConfState, std::string>(std::unexpected(change.error()));
      if (next) {
        conf = std::move(*next);
        ApplyMembership(e.index, *change);
        changed = true;
      } else {
        sm_.Skip(e.index);
        result = {false, next.error()};
      }
    } else if (e.data.empty()) {
      sm_.Skip(e.index);  // a new leader's no-op
    } else {
      result = sm_.Apply(e.index, e.data);
      changed = changed || result.ok;
    }
    Resolve(e, result);
  }
  return changed;
}

// The replicated member list follows the configuration: every node applies the same change at
// the same index to the same list, so this bookkeeping is as deterministic as a command. (The
// addresses came earlier, in PutMember entries: a conf change carries none.)
void Node::ApplyMembership(Index index, const ConfChange& change) {
  const auto& members = sm_.state().members;
  auto it = members.find(change.node);
  if (it == members.end()) return sm_.Skip(index);
  MemberInfo m = it->second;
  switch (change.type) {
    case ConfChangeType::kAddVoter:
    case ConfChangeType::kPromoteLearner:
      m.learner = false;
      break;
    case ConfChangeType::kAddLearner:
      m.learner = true;
      break;
    case ConfChangeType::kRemoveNode:
      sm_.Apply(index, EncodeCommand(RemoveMember{change.node}));
      return;
  }
  if (m == it->second) return sm_.Skip(index);
  sm_.Apply(index, EncodeCommand(PutMember{m}));
}

void Node::Resolve(const Entry& entry, const ApplyResult& result) {
  // Anything below this index that is still waiting was lost with a snapshot jump.
  while (!pending_.empty() && pending_.begin()->first < entry.index) {
    answers_.emplace_back(std::move(pending_.begin()->second.done),
                          std::unexpected(std::string("TRYAGAIN leadership changed")));
    pending_.erase(pending_.begin());
  }
  auto it = pending_.find(entry.index);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (p.term != entry.term) {  // another leader's entry took this index
    answers_.emplace_back(std::move(p.done),
                          std::unexpected(std::string("TRYAGAIN leadership changed")));
    return;
  }
  answers_.emplace_back(std::move(p.done),
                        ProposalOutcome{entry.index, result.ok ? "" : result.error, result.value});
}

void Node::FailPendingUpTo(Index index, const std::string& why) {
  std::vector<ProposalDone> failed;
  while (!pending_.empty() && pending_.begin()->first <= index) {
    failed.push_back(std::move(pending_.begin()->second.done));
    pending_.erase(pending_.begin());
  }
  std::vector<ReadDone> reads;
  if (index == UINT64_MAX) {
    if (transfer_) failed.push_back(std::move(transfer_->done));
    transfer_.reset();
    for (auto& [context, read] : reads_) reads.push_back(std::move(read.second));
    for (auto& [at, done] : reads_confirmed_) reads.push_back(std::move(done));
    reads_.clear();
    reads_confirmed_.clear();
  }
  for (ProposalDone& done : failed) done(std::unexpected(why));
  for (ReadDone& done : reads) done(std::unexpected(why));
}

void Node::MaybeCompact() {
  const Index applied = sm_.applied_index();
  if (applied < snapshot_index_ + settings_.snapshot_entries) return;
  std::string data = sm_.Snapshot();
  auto meta = core_->Compact(applied, data);
  if (!meta) return;  // e.g. a received snapshot is not installed yet: next time
  snapshot_index_ = applied;
  ++compactions_;
  DiskJob job;
  job.snapshot = Snapshot{*meta, std::move(data)};
  disk_->Submit(std::move(job), [this](const StorageResult<>& result) {
    if (!result && !stopping_) Fatal("raft storage: compaction: " + result.error().message);
  });
}

// The leader marks each member it has heard from (match > 0), itself included, once per term at
// most: a member marked joined that comes back empty is refused (node.cc, AskThenBootstrap).
void Node::MaybeMarkJoined() {
  if (core_->role() != Role::kLeader) return;
  if (core_->term() != joined_term_) {
    joined_term_ = core_->term();
    joined_proposed_.clear();
  }
  const auto& members = sm_.state().members;
  for (const auto& [id, pr] : core_->GetStatus().progress) {
    if (id != settings_.id && pr.match == 0) continue;
    auto it = members.find(id);
    if (it == members.end() || it->second.joined || joined_proposed_.contains(id)) continue;
    joined_proposed_.insert(id);
    ProposeCommand(EncodeCommand(MarkJoined{id}), [this, id](ProposalResult r) {
      if (!r || !r->error.empty()) joined_proposed_.erase(id);
    });
  }
}

void Node::UpdatePeers() {
  std::map<NodeId, std::string> peers;
  const auto& members = sm_.state().members;
  // Before the log has told a joining (or restarting) node the members, the configured ones are
  // where it can answer the leader.
  if (members.empty()) {
    for (const MemberInfo& m : settings_.initial_members) peers[m.id] = m.addr;
  }
  for (const auto& [id, m] : members) peers[id] = m.addr;
  peers.erase(settings_.id);
  if (peers == peers_) return;
  peers_ = peers;
  transport_->SetPeers(std::move(peers));
}

}  // namespace rl::raft
