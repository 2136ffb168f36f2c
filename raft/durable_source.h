// Adapts what raft/storage's Storage::Load returns (DurableState) to the LogSource a core starts
// from, so a node restarts with Core::Create(config, DurableSource(storage.Load().value())).
// Used by the node and by the simulator. Thread safety: plain value.
#pragma once

#include "raft/log_source.h"
#include "raft/storage.h"

namespace rl::raft {

inline MemoryLogSource DurableSource(DurableState state) {
  MemoryLogSource s;
  s.hard_state = state.hard_state;
  s.snapshot = std::move(state.snapshot);
  s.entries = std::move(state.entries);
  return s;
}

}  // namespace rl::raft
