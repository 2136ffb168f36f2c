// A simulated node's durable storage, behind one small interface with two implementations: the
// simulator's own model of the storage contract (sim_disk.h: fast, used by most seeds) and
// raft/storage's real FileStorage code running on its fault-injecting simulated disk
// (tests/raft/fault_storage.h), whose power the simulator can also cut at an arbitrary write point.
// Used by sim_cluster.cc. Thread safety: none.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include "raft/log_source.h"
#include "raft/ready.h"

namespace rl::raft::sim {

class NodeStorage {
 public:
  virtual ~NodeStorage() = default;
  // Each write returns true when done, false when the machine lost power during it (the node
  // is dead from that moment), or an error (a storage bug or corruption: the run fails).
  using Result = std::expected<bool, std::string>;

  // Issues (without syncing) what a Ready asks to persist: snapshot, entries, hard state.
  virtual Result Write(const Ready& ready) = 0;
  virtual Result Sync() = 0;
  // The application's own snapshot (compaction); durable when it returns.
  virtual Result SaveSnapshot(const Snapshot& snapshot) = 0;
  // Power fails now; `random` picks what survives.
  virtual void Crash(uint64_t random) = 0;
  // Power will fail after `writes` more write points (only where the storage has them).
  virtual void CrashLater(uint64_t writes, uint64_t random) = 0;
  // Powers on and reads what survived, as a restarting node does.
  virtual std::expected<MemoryLogSource, std::string> Load() = 0;
  virtual const char* name() const = 0;
};

std::unique_ptr<NodeStorage> MakeModelStorage();
std::unique_ptr<NodeStorage> MakeFileStorage(uint64_t seed);

}  // namespace rl::raft::sim
