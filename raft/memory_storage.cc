#include "raft/memory_storage.h"

namespace rl::raft {

Index MemoryStorage::LastIndex() const {
  return state_.entries.empty() ? state_.snapshot.meta.index : state_.entries.back().index;
}

LogBounds MemoryStorage::Bounds() const {
  return {state_.snapshot.meta.index, state_.snapshot.meta.term, LastIndex(),
          state_.hard_state.commit};
}

Term MemoryStorage::TermAt(Index index) const {
  return state_.entries[index - state_.snapshot.meta.index - 1].term;
}

StorageResult<> MemoryStorage::Append(std::span<const Entry> entries) {
  if (auto ok = CheckAppend(Bounds(), entries, [this](Index i) { return TermAt(i); }); !ok) {
    return ok;
  }
  if (entries.empty()) return {};
  state_.entries.resize(entries.front().index - state_.snapshot.meta.index - 1);
  state_.entries.insert(state_.entries.end(), entries.begin(), entries.end());
  return {};
}

StorageResult<> MemoryStorage::SaveHardState(const HardState& state) {
  state_.hard_state = state;
  return {};
}

StorageResult<> MemoryStorage::SaveSnapshot(const Snapshot& snapshot) {
  auto keep = CheckSnapshot(Bounds(), snapshot.meta, [this](Index i) { return TermAt(i); });
  if (!keep) return std::unexpected(keep.error());
  const Index old_index = state_.snapshot.meta.index;
  if (!*keep) {
    state_.entries.clear();
  } else {
    size_t drop = snapshot.meta.index - old_index;  // entries old_index+1 .. new index
    state_.entries.erase(state_.entries.begin(),
                         state_.entries.begin() + static_cast<ptrdiff_t>(drop));
  }
  state_.snapshot = snapshot;
  return {};
}

}  // namespace rl::raft
