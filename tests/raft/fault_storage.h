// FaultStorage: the real FileStorage code running on a SimDisk, so a test or the cluster
// simulator can pull the power at any moment and restart the node from what survived. Seeded and
// deterministic; no real I/O, no clocks. Thread safety: none; one owner.
//
//   FaultStorage s(seed);            s.Load();  s.Append(...);  s.Sync();
//   s.Crash(CrashMode::kTearLastWrite);          // power loss: unsynced writes lost or torn
//   auto state = s.Load();                       // the node restarts from what survived
// A scheduled crash (s.disk().CrashAfter(n, mode)) fires inside a later call; the calls after it
// succeed without effect, as they would on a machine that is already dead, until Load.
#pragma once

#include <memory>

#include "raft/file_storage.h"
#include "tests/raft/fault_storage_disk.h"

namespace rl::raft {

class FaultStorage final : public Storage {
 public:
  explicit FaultStorage(uint64_t seed, FileStorageOptions options = {});

  // (Re)starts the node: powers the disk back on if a crash turned it off, opens a new
  // FileStorage on it and loads. Without a crash before it, this is a process restart: every
  // write survives (the OS had it), but a hard state saved without a Sync is gone.
  StorageResult<DurableState> Load() override;
  // REQUIRES: Load succeeded since the last Crash (else kInvalidArgument).
  StorageResult<> Append(std::span<const Entry> entries) override;
  StorageResult<> SaveHardState(const HardState& state) override;
  StorageResult<> SaveSnapshot(const Snapshot& snapshot) override;
  StorageResult<> Sync() override;

  // Power loss now. The next call must be Load.
  void Crash(CrashMode mode);
  SimDisk& disk() { return disk_; }

  static constexpr const char* kDir = "/raft";

 private:
  StorageResult<FileStorage*> Open();

  SimDisk disk_;
  FileStorageOptions options_;
  std::unique_ptr<FileStorage> storage_;
};

}  // namespace rl::raft
