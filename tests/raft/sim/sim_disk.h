// A simulated disk for one simulated Raft node: what has been synced (survives a crash) and the
// writes issued since the last sync (which a crash loses, entirely or as a torn tail). Models
// the storage contract the core relies on without touching a file. Used by sim_cluster.cc.
// Thread safety: none (the simulator is single-threaded).
#pragma once

#include <cstdint>
#include <vector>

#include "raft/log_source.h"
#include "raft/ready.h"

namespace rl::raft::sim {

enum class CrashMode : uint8_t {
  kLoseUnsynced,  // every write since the last sync vanishes
  kTornTail,      // a prefix of the log writes landed, the next one was torn (and is dropped by
                  // recovery's CRC check); the hard state is new only if the whole log landed
};

class SimDisk {
 public:
  // The durable state, as a restarted node reads it.
  const MemoryLogSource& durable() const { return durable_; }

  // Issues (without syncing) the writes a Ready asks for: snapshot, entries, hard state.
  void Write(const Ready& ready);
  void Sync();
  bool HasUnsynced() const { return !log_ops_.empty() || !hard_states_.empty(); }

  // The application's own snapshot (compaction): written and synced at once.
  void SaveSnapshot(const Snapshot& snapshot);

  // The machine stops. `random` picks how much of the unsynced tail survives in kTornTail.
  void Crash(CrashMode mode, uint64_t random);

 private:
  struct LogOp {
    bool is_snapshot = false;
    Snapshot snapshot = {};
    std::vector<Entry> entries = {};
  };
  void Apply(const LogOp& op, size_t entry_limit);

  MemoryLogSource durable_;
  std::vector<LogOp> log_ops_;
  std::vector<HardState> hard_states_;
};

}  // namespace rl::raft::sim
