#include "tests/raft/fault_storage.h"

#include "raft/storage_check.h"

namespace rl::raft {

FaultStorage::FaultStorage(uint64_t seed, FileStorageOptions options)
    : disk_(seed), options_(options) {}

StorageResult<DurableState> FaultStorage::Load() {
  storage_.reset();
  disk_.PowerOn();
  storage_ = std::make_unique<FileStorage>(kDir, options_, &disk_);
  return storage_->Load();
}

StorageResult<FileStorage*> FaultStorage::Open() {
  if (!storage_) return std::unexpected(InvalidArgument("fault storage: Load after the crash"));
  return storage_.get();
}

StorageResult<> FaultStorage::Append(std::span<const Entry> entries) {
  auto s = Open();
  if (!s) return std::unexpected(s.error());
  return (*s)->Append(entries);
}

StorageResult<> FaultStorage::SaveHardState(const HardState& state) {
  auto s = Open();
  if (!s) return std::unexpected(s.error());
  return (*s)->SaveHardState(state);
}

StorageResult<> FaultStorage::SaveSnapshot(const Snapshot& snapshot) {
  auto s = Open();
  if (!s) return std::unexpected(s.error());
  return (*s)->SaveSnapshot(snapshot);
}

StorageResult<> FaultStorage::Sync() {
  auto s = Open();
  if (!s) return std::unexpected(s.error());
  return (*s)->Sync();
}

void FaultStorage::Crash(CrashMode mode) {
  storage_.reset();
  disk_.Crash(mode);
}

}  // namespace rl::raft
