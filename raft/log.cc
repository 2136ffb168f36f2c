#include "raft/log.h"

#include <algorithm>

#include "raft/invariant.h"

namespace rl::raft {

RaftLog::RaftLog(Snapshot snapshot, std::vector<Entry> entries, Index committed)
    : snapshot_(std::move(snapshot)), entries_(std::move(entries)) {
  stable_ = LastIndex();
  committed_ = std::clamp(committed, snapshot_.meta.index, LastIndex());
  applied_ = snapshot_.meta.index;
}

Term RaftLog::LastTerm() const {
  return entries_.empty() ? snapshot_.meta.term : entries_.back().term;
}

std::optional<Term> RaftLog::TermAt(Index index) const {
  if (index == snapshot_.meta.index) return snapshot_.meta.term;
  if (index < snapshot_.meta.index || index > LastIndex()) return std::nullopt;
  return At(index).term;
}

bool RaftLog::MatchTerm(Index index, Term term) const {
  auto t = TermAt(index);
  return t && *t == term;
}

const Entry& RaftLog::At(Index index) const {
  RL_RAFT_CHECK(index >= FirstIndex() && index <= LastIndex(), "entry {} out of range [{}, {}]",
                index, FirstIndex(), LastIndex());
  return entries_[index - FirstIndex()];
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  return last_term > LastTerm() || (last_term == LastTerm() && last_index >= LastIndex());
}

std::optional<Index> RaftLog::MaybeAppend(Index prev_index, Term prev_term, Index commit,
                                          std::span<const Entry> entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  const Index last_new = prev_index + entries.size();
  const Index conflict = FindConflict(entries);
  if (conflict != 0) {
    RL_RAFT_CHECK(conflict > committed_, "conflict at {} with a committed entry (commit {})",
                  conflict, committed_);
    Append(entries.subspan(conflict - prev_index - 1));
  }
  CommitTo(std::min(commit, last_new));
  return last_new;
}

Index RaftLog::Append(std::span<const Entry> entries) {
  if (entries.empty()) return LastIndex();
  const Index first = entries.front().index;
  RL_RAFT_CHECK(first > committed_, "append at {} would overwrite committed entries (commit {})",
                first, committed_);
  RL_RAFT_CHECK(first <= LastIndex() + 1, "append at {} leaves a gap after {}", first, LastIndex());
  entries_.resize(first - FirstIndex());
  stable_ = std::min(stable_, first - 1);
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  return LastIndex();
}

Index RaftLog::FindConflict(std::span<const Entry> entries) const {
  for (const Entry& e : entries) {
    // Entries at or below the snapshot are committed, hence identical: not a conflict.
    if (e.index <= snapshot_.meta.index) continue;
    if (!MatchTerm(e.index, e.term)) return e.index;
  }
  return 0;
}

Index RaftLog::FindConflictByTerm(Index index, Term term) const {
  index = std::min(index, LastIndex());
  for (; index > 0; --index) {
    auto t = TermAt(index);
    if (!t || *t <= term) return index;
  }
  return 0;
}

std::vector<Entry> RaftLog::Slice(Index lo, Index hi, uint64_t max_bytes) const {
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = At(i);
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

bool RaftLog::MaybeCommit(Index index, Term term) {
  if (index > committed_ && MatchTerm(index, term)) {
    CommitTo(index);
    return true;
  }
  return false;
}

void RaftLog::CommitTo(Index index) {
  if (index <= committed_) return;
  RL_RAFT_CHECK(index <= LastIndex(), "commit {} past the last index {}", index, LastIndex());
  committed_ = index;
}

void RaftLog::Restore(Snapshot snapshot) {
  snapshot_ = std::move(snapshot);
  snapshot_stable_ = false;
  entries_.clear();
  stable_ = snapshot_.meta.index;
  committed_ = snapshot_.meta.index;
}

void RaftLog::Compact(Snapshot snapshot) {
  const Index index = snapshot.meta.index;
  RL_RAFT_CHECK(index >= FirstIndex() && index <= applied_,
                "compaction at {} out of range [{}, {}]", index, FirstIndex(), applied_);
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<std::ptrdiff_t>(index + 1 - FirstIndex()));
  snapshot_ = std::move(snapshot);
  snapshot_stable_ = true;
}

std::vector<Entry> RaftLog::UnstableEntries() const {
  if (stable_ >= LastIndex()) return {};
  return {entries_.begin() + static_cast<std::ptrdiff_t>(stable_ + 1 - FirstIndex()),
          entries_.end()};
}

void RaftLog::StableTo(Index index, Term term) {
  if (index > stable_ && MatchTerm(index, term)) stable_ = index;
}

void RaftLog::StableSnapTo(Index index) {
  if (snapshot_stable_ || snapshot_.meta.index != index) return;
  snapshot_stable_ = true;
  applied_ = std::max(applied_, index);
}

std::vector<Entry> RaftLog::NextCommittedEntries(uint64_t max_bytes) const {
  if (!HasNextCommittedEntries()) return {};
  return Slice(applied_ + 1, committed_ + 1, max_bytes);
}

bool RaftLog::HasNextCommittedEntries() const {
  return snapshot_stable_ && committed_ > applied_ && applied_ + 1 >= FirstIndex();
}

void RaftLog::AppliedTo(Index index) {
  RL_RAFT_CHECK(index >= applied_ && index <= committed_, "applied {} out of range [{}, {}]", index,
                applied_, committed_);
  applied_ = index;
}

}  // namespace rl::raft
