// Storage kept in memory: for core unit tests that need a Storage but no disk, and the reference
// model the file and fault storages are compared against in tests. Every call is "durable" at
// once (Sync does nothing) and Load may be called any time: it returns the current state.
// Thread safety: none; one owner.
#pragma once

#include "raft/storage.h"
#include "raft/storage_check.h"

namespace rl::raft {

class MemoryStorage final : public Storage {
 public:
  MemoryStorage() = default;
  // Starts from `state` (e.g. a snapshot holding the initial configuration).
  explicit MemoryStorage(DurableState state) : state_(std::move(state)) {}

  StorageResult<DurableState> Load() override { return state_; }
  StorageResult<> Append(std::span<const Entry> entries) override;
  StorageResult<> SaveHardState(const HardState& state) override;
  StorageResult<> SaveSnapshot(const Snapshot& snapshot) override;
  StorageResult<> Sync() override { return {}; }

  // The current state, without copying.
  const DurableState& state() const { return state_; }
  Index LastIndex() const;

 private:
  LogBounds Bounds() const;
  Term TermAt(Index index) const;

  DurableState state_;
};

}  // namespace rl::raft
