// The leader's view of one peer's log (the paper's nextIndex/matchIndex plus flow control), as in
// etcd-io/raft: a peer is probed one message at a time until its log position is known, then
// entries are streamed to it with at most `max_inflight` unacknowledged messages, or it is sent a
// snapshot when the entries it needs were compacted. Used only by raft/core.h.
// Thread safety: plain value; owned by one core.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "raft/types.h"

namespace rl::raft {

enum class ProgressState : uint8_t {
  kProbe,      // position unknown: one kApp at a time, then wait for an answer or a heartbeat
  kReplicate,  // position known: stream entries, bounded by the inflight window
  kSnapshot,   // a snapshot was sent; wait until the peer reports it installed (or time out)
};

std::string_view ProgressStateName(ProgressState state);

// A bounded FIFO of the last index of each unacknowledged kApp.
class Inflights {
 public:
  explicit Inflights(size_t capacity) : capacity_(capacity) {}
  bool Full() const { return buffer_.size() - start_ >= capacity_; }
  size_t Count() const { return buffer_.size() - start_; }
  // REQUIRES: !Full() and `last` larger than every index already added.
  void Add(Index last);
  // Acknowledges every message whose last index is <= `index`.
  void FreeUpTo(Index index);
  void FreeFirst();
  void Reset();

 private:
  size_t capacity_;
  std::vector<Index> buffer_;
  size_t start_ = 0;  // buffer_[start_..] are in flight; the prefix is garbage, compacted lazily
};

struct Progress {
  explicit Progress(size_t max_inflight) : inflights(max_inflight) {}

  Index match = 0;
  Index next = 1;
  ProgressState state = ProgressState::kProbe;
  bool probe_sent = false;     // kProbe: a probe is outstanding; wait for an answer or heartbeat
  Index pending_snapshot = 0;  // kSnapshot: the index of the snapshot sent
  int snapshot_ticks = 0;      // kSnapshot: ticks since it was sent (resend after a timeout)
  bool recent_active = false;  // heard from since the last CheckQuorum round
  Index commit = 0;            // the peer's commit index, as it last reported it
  bool is_learner = false;
  Inflights inflights;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(Index snapshot_index);

  // The peer acknowledged entries up to `index`. Returns true if match advanced.
  bool MaybeUpdate(Index index);

  // The peer rejected a kApp whose previous index was `rejected`, hinting that its log may match
  // ours up to `match_hint`. Returns false if the rejection is stale (for a message we no longer
  // care about); otherwise moves next back and returns true.
  bool MaybeDecrTo(Index rejected, Index match_hint);

  // Records that a kApp carrying entries up to `last` (or none, when `entries` is 0) was sent.
  void SentAppend(size_t entries, Index last);

  // True when no kApp should be sent now.
  bool IsPaused() const;
};

}  // namespace rl::raft
