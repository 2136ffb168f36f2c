#include "tests/raft/sim/sim_checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace rl::raft::sim {

uint64_t Fnv(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

namespace {

uint64_t EntryHash(const Entry& e) {
  uint64_t h = Fnv(e.data);
  h ^= e.term * 0x9e3779b97f4a7c15ULL + e.index + (static_cast<uint64_t>(e.type) << 56);
  return h * 0xff51afd7ed558ccdULL;
}

}  // namespace

uint64_t MixEntry(uint64_t digest, const Entry& e) {
  return (digest ^ EntryHash(e)) * 0xc4ceb9fe1a85ec53ULL + e.index;
}

void Checker::Fail(std::string why) {
  if (failure_.empty()) failure_ = std::move(why);
}

void Checker::RecordCommitted(NodeId node, Index index, const Entry& e, Term observer_term) {
  if (committed_.size() <= index) committed_.resize(index + 1);
  Committed& c = committed_[index];
  const uint64_t h = Fnv(e.data);
  if (!c.known) {
    c = {true, e.term, e.type, h, observer_term};
    return;
  }
  if (c.term != e.term || c.type != e.type || c.data_hash != h) {
    Fail(
        fmt::format("state machine safety: node {} holds committed entry {} with term {}, "
                    "others committed term {}",
                    node, index, e.term, c.term));
  }
  c.commit_term = std::min(c.commit_term, observer_term);
}

void Checker::Check(const std::vector<NodeView>& nodes) {
  std::vector<const NodeView*> changed;
  for (const NodeView& v : nodes) {
    if (v.core == nullptr) continue;
    const Core& core = *v.core;
    const RaftLog& log = core.log();
    PerNode& pn = nodes_[v.id];

    if (core.role() == Role::kLeader && v.durable_term.value_or(core.term()) >= core.term()) {
      auto [it, inserted] = leaders_.emplace(core.term(), v.id);
      if (!inserted && it->second != v.id) {
        Fail(fmt::format("election safety: nodes {} and {} both lead term {}", it->second, v.id,
                         core.term()));
      }
    }

    if (log.committed() < pn.last_commit) {
      Fail(fmt::format("commit index of node {} went back from {} to {}", v.id, pn.last_commit,
                       log.committed()));
    }
    pn.last_commit = log.committed();
    for (Index i = std::max(pn.checked_commit, log.snapshot().meta.index) + 1; i <= log.committed();
         ++i) {
      RecordCommitted(v.id, i, log.At(i), core.term());
    }
    pn.checked_commit = std::max(pn.checked_commit, log.committed());

    const Index last = log.LastIndex();
    const uint64_t last_hash =
        last == log.snapshot().meta.index ? log.snapshot().meta.term : EntryHash(log.At(last));
    if (core.role() == Role::kLeader) {
      if (pn.leader && pn.leader_term == core.term()) {
        // A leader only appends: what it held at its last index is still there, unchanged.
        bool same = last >= pn.leader_last;
        if (same && pn.leader_last >= log.FirstIndex()) {
          same = EntryHash(log.At(pn.leader_last)) == pn.leader_last_hash;
        }
        if (!same) {
          Fail(fmt::format("leader append-only: leader {} of term {} changed or dropped entry {}",
                           v.id, core.term(), pn.leader_last));
        }
      }
      pn.leader = true;
      pn.leader_term = core.term();
      pn.leader_last = last;
      pn.leader_last_hash = last_hash;
      CheckLeaderCompleteness(v);
    } else {
      pn.leader = false;
    }

    Fingerprint fp{log.FirstIndex(), last, log.LastTerm(), last_hash};
    if (!(fp == pn.fingerprint)) {
      pn.fingerprint = fp;
      changed.push_back(&v);
    }
  }
  // Log matching, re-checked for every pair in which a log changed.
  std::set<std::pair<NodeId, NodeId>> done;
  for (const NodeView* a : changed) {
    for (const NodeView& b : nodes) {
      if (b.core == nullptr || b.id == a->id) continue;
      auto key = std::minmax(a->id, b.id);
      if (!done.insert(key).second) continue;
      CheckPair(*a, b);
    }
  }
}

void Checker::CheckPair(const NodeView& a, const NodeView& b) {
  const RaftLog& la = a.core->log();
  const RaftLog& lb = b.core->log();
  const Index lo = std::max(la.FirstIndex(), lb.FirstIndex());
  Index i = std::min(la.LastIndex(), lb.LastIndex());
  // From the highest index where both hold the same term, everything below must be identical.
  while (i >= lo && la.At(i).term != lb.At(i).term) --i;
  for (; i >= lo; --i) {
    if (!(la.At(i) == lb.At(i))) {
      Fail(
          fmt::format("log matching: nodes {} and {} agree on the term at some index but differ "
                      "at index {}",
                      a.id, b.id, i));
      return;
    }
  }
}

void Checker::CheckLeaderCompleteness(const NodeView& v) {
  const RaftLog& log = v.core->log();
  const Term term = v.core->term();
  for (Index i = std::max(log.committed(), log.snapshot().meta.index) + 1; i < committed_.size();
       ++i) {
    const Committed& c = committed_[i];
    if (!c.known || c.commit_term >= term) continue;
    const bool has =
        i <= log.LastIndex() && log.At(i).term == c.term && Fnv(log.At(i).data) == c.data_hash;
    if (!has) {
      Fail(
          fmt::format("leader completeness: leader {} of term {} lacks entry {} committed in "
                      "term {}",
                      v.id, term, i, c.commit_term));
      return;
    }
  }
}

void Checker::OnVoteGranted(NodeId voter, Term term, NodeId candidate) {
  auto [it, inserted] = votes_.emplace(std::pair{voter, term}, candidate);
  if (!inserted && it->second != candidate) {
    Fail(fmt::format("node {} voted for both {} and {} in term {}", voter, it->second, candidate,
                     term));
  }
}

void Checker::OnApplied(NodeId node, const Entry& e, uint64_t digest_after) {
  PerNode& pn = nodes_[node];
  if (e.index != pn.applied + 1) {
    Fail(fmt::format("node {} applied index {} after {}", node, e.index, pn.applied));
  }
  pn.applied = e.index;
  if (e.index < committed_.size() && committed_[e.index].known) {
    const Committed& c = committed_[e.index];
    if (c.term != e.term || c.data_hash != Fnv(e.data)) {
      Fail(fmt::format("node {} applied an entry at {} that is not the committed one", node,
                       e.index));
    }
  }
  if (digests_.size() <= e.index) digests_.resize(e.index + 1, 0);
  if (digests_[e.index] == 0) {
    digests_[e.index] = digest_after;
  } else if (digests_[e.index] != digest_after) {
    Fail(fmt::format("state machine safety: node {} reached a different state at index {}", node,
                     e.index));
  }
}

void Checker::OnSnapshotInstalled(NodeId node, Index index, uint64_t digest) {
  PerNode& pn = nodes_[node];
  if (index < pn.applied) {
    Fail(fmt::format("node {} installed snapshot {} below applied {}", node, index, pn.applied));
  }
  pn.applied = index;
  if (index == 0) return;
  if (digests_.size() <= index) digests_.resize(index + 1, 0);
  if (digests_[index] == 0) {
    digests_[index] = digest;
  } else if (digests_[index] != digest) {
    Fail(fmt::format("node {} installed a snapshot at {} with a state nobody else had", node,
                     index));
  }
}

void Checker::OnRestart(NodeId node, Index applied) {
  PerNode& pn = nodes_[node];
  pn = PerNode{};
  pn.applied = applied;
}

void Checker::OnReadServed(NodeId node, Index read_index, Index min_index, Index served_at) {
  if (read_index < min_index || served_at < read_index) {
    Fail(
        fmt::format("stale read on node {}: read index {} (served at {}) but a write at {} was "
                    "acknowledged before the read began",
                    node, read_index, served_at, min_index));
  }
}

}  // namespace rl::raft::sim
