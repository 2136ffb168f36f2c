#include "tests/raft/sim/sim_disk.h"

#include <algorithm>

namespace rl::raft::sim {

void SimDisk::Write(const Ready& ready) {
  if (ready.snapshot) log_ops_.push_back({.is_snapshot = true, .snapshot = *ready.snapshot});
  if (!ready.entries.empty()) {
    // Like raft/storage's Append: dropping a conflicting suffix is durable at once, so an old
    // suffix never reappears after a crash; the new entries are durable only after Sync.
    const Index first = ready.entries.front().index;
    std::erase_if(durable_.entries, [&](const Entry& e) { return e.index >= first; });
    log_ops_.push_back({.entries = ready.entries});
  }
  if (ready.hard_state) hard_states_.push_back(*ready.hard_state);
}

void SimDisk::Apply(const LogOp& op, size_t entry_limit) {
  if (op.is_snapshot) {
    // A snapshot from the leader replaces the whole log.
    durable_.snapshot = op.snapshot;
    durable_.entries.clear();
    return;
  }
  const size_t n = std::min(entry_limit, op.entries.size());
  if (n == 0) return;
  const Index first = op.entries.front().index;
  std::erase_if(durable_.entries, [&](const Entry& e) { return e.index >= first; });
  for (size_t i = 0; i < n; ++i) {
    if (op.entries[i].index > durable_.snapshot.meta.index) {
      durable_.entries.push_back(op.entries[i]);
    }
  }
}

void SimDisk::Sync() {
  for (const LogOp& op : log_ops_) Apply(op, op.entries.size());
  if (!hard_states_.empty()) durable_.hard_state = hard_states_.back();
  log_ops_.clear();
  hard_states_.clear();
}

void SimDisk::SaveSnapshot(const Snapshot& snapshot) {
  durable_.snapshot = snapshot;
  std::erase_if(durable_.entries, [&](const Entry& e) { return e.index <= snapshot.meta.index; });
}

void SimDisk::Crash(CrashMode mode, uint64_t random) {
  if (mode == CrashMode::kTornTail) {
    // Log writes land in order up to a cut point: whole ops before it, a prefix of the entries
    // of the op it falls in (the entry at the cut itself is the torn record).
    size_t units = 0;
    for (const LogOp& op : log_ops_) units += op.is_snapshot ? 1 : op.entries.size();
    const size_t landed = units == 0 ? 0 : random % (units + 1);
    size_t cut = landed;
    for (const LogOp& op : log_ops_) {
      const size_t size = op.is_snapshot ? 1 : op.entries.size();
      if (cut == 0) break;
      Apply(op, std::min(cut, size));
      cut -= std::min(cut, size);
    }
    // The hard state is written (by rename) only once the log is durable, so a durable commit
    // index never points past the durable log; if the log landed, one of the written versions
    // (or none) survives.
    if (landed == units && !hard_states_.empty()) {
      const size_t keep = (random >> 32) % (hard_states_.size() + 1);
      if (keep > 0) durable_.hard_state = hard_states_[keep - 1];
    }
  }
  log_ops_.clear();
  hard_states_.clear();
}

}  // namespace rl::raft::sim
