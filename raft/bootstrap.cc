#include "raft/bootstrap.h"

#include "raft/codec.h"

namespace rl::raft {

MemoryLogSource BootstrapState(std::span<const NodeId> voters) {
  MemoryLogSource state;
  Index index = 0;
  for (NodeId id : voters) {
    Entry e;
    e.term = 1;
    e.index = ++index;
    e.type = EntryType::kConfChange;
    e.data = EncodeConfChange({ConfChangeType::kAddVoter, id});
    state.entries.push_back(std::move(e));
  }
  state.hard_state = {.term = 1, .vote = kNoNode, .commit = index};
  return state;
}

}  // namespace rl::raft
