#include "raft/progress.h"

#include <algorithm>

#include "raft/invariant.h"

namespace rl::raft {

std::string_view ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  return "unknown";
}

void Inflights::Add(Index last) {
  RL_RAFT_CHECK(!Full(), "inflight window full ({} appends)", Count());
  buffer_.push_back(last);
}

void Inflights::FreeUpTo(Index index) {
  while (start_ < buffer_.size() && buffer_[start_] <= index) ++start_;
  if (start_ == buffer_.size() || start_ > 64) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
}

void Inflights::FreeFirst() {
  if (Count() > 0) FreeUpTo(buffer_[start_]);
}

void Inflights::Reset() {
  buffer_.clear();
  start_ = 0;
}

void Progress::BecomeProbe() {
  // After a snapshot the peer has at least the snapshot, so probing resumes just past it.
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
}

void Progress::BecomeReplicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.Reset();
}

void Progress::BecomeSnapshot(Index snapshot_index) {
  state = ProgressState::kSnapshot;
  pending_snapshot = snapshot_index;
  snapshot_ticks = 0;
  probe_sent = false;
  inflights.Reset();
}

bool Progress::MaybeUpdate(Index index) {
  bool updated = false;
  if (match < index) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

bool Progress::MaybeDecrTo(Index rejected, Index match_hint) {
  if (state == ProgressState::kReplicate) {
    // A rejection of something already matched is a reordered, stale answer.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // In probe (and snapshot) state only one message is outstanding: the one with prev == next-1.
  // A rejection at or below match would mean the peer lost entries it acknowledged as durable;
  // backing off cannot repair that (next stays at match+1), and answering every such rejection
  // with a new probe turns duplicated messages into a storm, so it is ignored too.
  if (next == 0 || next - 1 != rejected || rejected <= match) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

void Progress::SentAppend(size_t entries, Index last) {
  switch (state) {
    case ProgressState::kReplicate:
      if (entries > 0) {
        next = last + 1;
        inflights.Add(last);
      }
      break;
    case ProgressState::kProbe:
      probe_sent = true;
      break;
    case ProgressState::kSnapshot:
      break;
  }
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.Full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

}  // namespace rl::raft
