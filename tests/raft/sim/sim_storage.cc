#include "tests/raft/sim/sim_storage.h"

#include <array>

#include "raft/durable_source.h"
#include "tests/raft/fault_storage.h"
#include "tests/raft/sim/sim_disk.h"

namespace rl::raft::sim {
namespace {

class ModelStorage final : public NodeStorage {
 public:
  Result Write(const Ready& ready) override {
    disk_.Write(ready);
    return true;
  }
  Result Sync() override {
    disk_.Sync();
    return true;
  }
  Result SaveSnapshot(const Snapshot& snapshot) override {
    disk_.SaveSnapshot(snapshot);
    return true;
  }
  void Crash(uint64_t random) override {
    disk_.Crash(random % 2 == 0 ? CrashMode::kLoseUnsynced : CrashMode::kTornTail, random >> 1);
  }
  void CrashLater(uint64_t, uint64_t random) override { Crash(random); }
  std::expected<MemoryLogSource, std::string> Load() override { return disk_.durable(); }
  const char* name() const override { return "model"; }

 private:
  SimDisk disk_;
};

// raft/storage's FileStorage on its simulated disk. Segments are kept tiny so that rotation and
// compaction (removing whole segments) happen all the time.
class FileBackedStorage final : public NodeStorage {
 public:
  explicit FileBackedStorage(uint64_t seed)
      : storage_(seed, FileStorageOptions{.segment_bytes = 512}) {}

  Result Write(const Ready& ready) override {
    if (ready.snapshot) {
      if (auto r = Check(storage_.SaveSnapshot(*ready.snapshot)); !r || !*r) return r;
    }
    if (!ready.entries.empty()) {
      if (auto r = Check(storage_.Append(ready.entries)); !r || !*r) return r;
    }
    if (ready.hard_state) return Check(storage_.SaveHardState(*ready.hard_state));
    return true;
  }
  Result Sync() override { return Check(storage_.Sync()); }
  Result SaveSnapshot(const Snapshot& snapshot) override {
    return Check(storage_.SaveSnapshot(snapshot));
  }
  void Crash(uint64_t random) override { storage_.Crash(Mode(random)); }
  void CrashLater(uint64_t writes, uint64_t random) override {
    storage_.disk().CrashAfter(writes, Mode(random));
  }
  std::expected<MemoryLogSource, std::string> Load() override {
    auto state = storage_.Load();
    if (!state) return std::unexpected("storage refused to start: " + state.error().message);
    return DurableSource(std::move(*state));
  }
  const char* name() const override { return "file"; }

 private:
  static raft::CrashMode Mode(uint64_t random) {
    using M = raft::CrashMode;
    return std::array<M, 3>{M::kLoseUnsynced, M::kTearLastWrite, M::kScramble}[random % 3];
  }
  Result Check(const StorageResult<>& r) {
    if (!storage_.disk().powered()) return false;  // the machine died during the call
    if (!r) return std::unexpected("storage: " + r.error().message);
    return true;
  }

  FaultStorage storage_;
};

}  // namespace

std::unique_ptr<NodeStorage> MakeModelStorage() { return std::make_unique<ModelStorage>(); }

std::unique_ptr<NodeStorage> MakeFileStorage(uint64_t seed) {
  return std::make_unique<FileBackedStorage>(seed);
}

}  // namespace rl::raft::sim
