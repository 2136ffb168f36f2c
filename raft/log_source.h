// The read-only view of a node's durable Raft state that raft/core.h reads once, at start: the
// hard state, the latest snapshot (its ConfState is the configuration at its index) and every
// log entry after it. raft/storage's Storage is adapted to it by the node; tests use
// MemoryLogSource. Thread safety: called from the core's thread only, during Core::Create.
#pragma once

#include <vector>

#include "raft/types.h"

namespace rl::raft {

class LogSource {
 public:
  virtual ~LogSource() = default;
  virtual HardState GetHardState() const = 0;
  // The latest snapshot; meta.index == 0 (and empty data) when there is none.
  virtual Snapshot GetSnapshot() const = 0;
  // Every entry after the snapshot, contiguous, in index order.
  virtual std::vector<Entry> GetEntries() const = 0;
};

// A LogSource over plain values, for tests and for the simulator.
struct MemoryLogSource : LogSource {
  HardState hard_state;
  Snapshot snapshot;
  std::vector<Entry> entries;

  HardState GetHardState() const override { return hard_state; }
  Snapshot GetSnapshot() const override { return snapshot; }
  std::vector<Entry> GetEntries() const override { return entries; }
};

}  // namespace rl::raft
