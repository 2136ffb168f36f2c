// RaftLog: one node's log as the core sees it, the latest snapshot followed by every later entry,
// with three cursors: stable (persisted), committed and applied. Entries past `stable` and a
// snapshot received from the leader are "unstable": handed to the application in a Ready to
// persist, and marked stable when it calls Advance. The whole suffix after the snapshot lives in
// memory: the application bounds it by compacting (Core::Compact). Used only by raft/core.h.
// Thread safety: plain value; owned by one core.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "raft/types.h"

namespace rl::raft {

class RaftLog {
 public:
  // REQUIRES: `entries` contiguous, starting at snapshot.meta.index + 1. Everything given is
  // stable (it came from storage); committed is clamped to the last index.
  RaftLog(Snapshot snapshot, std::vector<Entry> entries, Index committed);

  Index FirstIndex() const { return snapshot_.meta.index + 1; }
  Index LastIndex() const { return snapshot_.meta.index + entries_.size(); }
  Term LastTerm() const;
  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  Index stable() const { return stable_; }
  const Snapshot& snapshot() const { return snapshot_; }

  // The term of entry `index`: the snapshot's term at its index, nullopt when compacted away or
  // past the end.
  std::optional<Term> TermAt(Index index) const;
  bool MatchTerm(Index index, Term term) const;
  // REQUIRES: FirstIndex() <= index <= LastIndex().
  const Entry& At(Index index) const;

  // The election restriction (§5.4.1): is a log ending at (last_index, last_term) at least as
  // up to date as this one?
  bool IsUpToDate(Index last_index, Term last_term) const;

  // A follower's AppendEntries (§5.3). If this log matches (prev_index, prev_term), drops any
  // conflicting suffix, appends the new entries, advances commit to min(commit, last new index)
  // and returns the last new index; otherwise returns nullopt and changes nothing.
  // REQUIRES: prev_index >= committed() (a conflict below commit is a broken invariant: abort).
  std::optional<Index> MaybeAppend(Index prev_index, Term prev_term, Index commit,
                                   std::span<const Entry> entries);

  // Appends entries, replacing any suffix from entries[0].index on. Returns the last index.
  // REQUIRES: entries contiguous; committed() < entries[0].index <= LastIndex() + 1.
  Index Append(std::span<const Entry> entries);

  // The index of the first entry that is not in this log (missing or a different term), or 0
  // when all are present.
  Index FindConflict(std::span<const Entry> entries) const;

  // The largest index <= `index` whose term is <= `term` (fast back-off hint); an index whose
  // term is unknown (compacted) is returned as is.
  Index FindConflictByTerm(Index index, Term term) const;

  // Entries [lo, hi) totalling at most `max_bytes` of data, but always at least one.
  // REQUIRES: FirstIndex() <= lo <= hi <= LastIndex() + 1.
  std::vector<Entry> Slice(Index lo, Index hi, uint64_t max_bytes) const;

  // Commits up to `index` if the entry there has term `term` (a leader commits only entries of
  // its own term by counting, §5.4.2). Returns true if commit advanced.
  bool MaybeCommit(Index index, Term term);
  // REQUIRES: index <= LastIndex(). Never moves commit backwards.
  void CommitTo(Index index);

  // Replaces the whole log with a snapshot from the leader; it stays unstable until persisted.
  void Restore(Snapshot snapshot);
  // Discards entries up to the application's snapshot. REQUIRES: FirstIndex() <= index <=
  // applied(); the caller has persisted the snapshot.
  void Compact(Snapshot snapshot);

  // What the application must persist next.
  std::vector<Entry> UnstableEntries() const;
  const Snapshot* UnstableSnapshot() const { return snapshot_stable_ ? nullptr : &snapshot_; }
  // The application persisted entries up to `index`, the last of which had `term` (ignored if
  // that entry has since been replaced).
  void StableTo(Index index, Term term);
  // The application persisted and installed the snapshot at `index` (ignored if superseded).
  void StableSnapTo(Index index);

  // Committed, unapplied entries (none while a snapshot is waiting to be installed), totalling
  // at most `max_bytes` of data but at least one. Some may still be unstable: the Ready that
  // hands them out also hands those out to persist first.
  std::vector<Entry> NextCommittedEntries(uint64_t max_bytes) const;
  bool HasNextCommittedEntries() const;
  // REQUIRES: applied() <= index <= committed().
  void AppliedTo(Index index);

 private:
  Snapshot snapshot_;
  bool snapshot_stable_ = true;
  std::vector<Entry> entries_;  // entries_[i].index == snapshot_.meta.index + 1 + i
  Index stable_ = 0;
  Index committed_ = 0;
  Index applied_ = 0;
};

}  // namespace rl::raft
