// SimDisk: an in-memory file system that can lose power. It keeps, per file, what has been
// fsynced and what has only been written, and per directory, which names have been fsynced; a
// crash keeps the durable part plus, depending on the mode, some of the rest. FaultStorage runs
// FileStorage on it; the cluster simulator gives each node one. Deterministic: every choice comes
// from the seed; no real I/O, no clocks. Thread safety: none; one owner.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "raft/splitmix64.h"
#include "raft/storage_fs.h"

namespace rl::raft {

enum class CrashMode : uint8_t {
  // Everything not yet fsynced is lost: file contents and directory changes.
  kLoseUnsynced,
  // The unsynced operations reached the disk in the order they were made, and power failed in the
  // middle of the last write: a prefix of it survives, nothing after it does.
  kTearLastWrite,
  // Each file keeps a random prefix of its unsynced writes (the one at the boundary torn) and each
  // unsynced directory change survives or not on its own: what POSIX allows, at its worst.
  kScramble,
};

class SimDisk final : public Fs {
 public:
  explicit SimDisk(uint64_t seed);
  ~SimDisk() override;
  SimDisk(const SimDisk&) = delete;
  SimDisk& operator=(const SimDisk&) = delete;

  // Fs. Directories are implicit: CreateDir always succeeds, List shows the files under a path.
  // While the power is off, reads fail with kIo, and mutations and opens succeed without effect
  // (the process that made them is dead; it only has not noticed).
  StorageResult<> CreateDir(const std::string& dir) override;
  StorageResult<std::vector<std::string>> List(const std::string& dir) override;
  StorageResult<std::string> ReadAll(const std::string& path) override;
  StorageResult<std::unique_ptr<FsFile>> Create(const std::string& path) override;
  StorageResult<std::unique_ptr<FsFile>> OpenAppend(const std::string& path) override;
  StorageResult<> Rename(const std::string& from, const std::string& to) override;
  StorageResult<> Remove(const std::string& path) override;
  StorageResult<> SyncDir(const std::string& dir) override;

  // Power fails now; what survives follows `mode`. Files opened before stay dead for good.
  void Crash(CrashMode mode);
  // kTearLastWrite keeping exactly min(keep, size-1) bytes of the last write (tests that need
  // one exact outcome).
  void CrashTearing(uint64_t keep);
  // Power fails right after the `n`-th mutating call from now completes (n >= 1).
  void CrashAfter(uint64_t n, CrashMode mode);
  void PowerOn() { powered_ = true; }
  bool powered() const { return powered_; }
  // Mutating calls made so far (Create, Append, Truncate, file Sync, Rename, Remove, SyncDir):
  // the "write points" a test can crash at.
  uint64_t mutations() const { return mutations_; }
  // Bytes written but not yet fsynced, over all files (0 right after a full Sync).
  uint64_t UnsyncedBytes() const;

 private:
  class File;
  struct DataOp {
    uint64_t seq = 0;
    bool truncate = false;
    std::string bytes;  // append
    uint64_t size = 0;  // truncate
  };
  struct Inode {
    std::string durable;
    std::string current;
    std::vector<DataOp> pending;  // applied to `durable`, they give `current`
  };
  struct DirOp {
    enum class Kind : uint8_t { kLink, kUnlink, kRename };
    uint64_t seq = 0;
    Kind kind = Kind::kLink;
    std::string path, to;
    uint64_t inode = 0;
  };

  DataOp TruncateOp(uint64_t size);
  DirOp MakeDirOp(DirOp::Kind kind, const std::string& path, const std::string& to, uint64_t inode);
  // Counts a mutation that just took effect and fires a scheduled crash.
  void AfterMutation();
  void CrashWith(CrashMode mode, std::optional<uint64_t> keep);
  bool Alive(uint64_t epoch) const { return powered_ && epoch == epoch_; }
  void FileAppend(uint64_t inode, uint64_t epoch, std::string_view data);
  void FileTruncate(uint64_t inode, uint64_t epoch, uint64_t size);
  void FileSync(uint64_t inode, uint64_t epoch);
  static void ApplyData(std::string* to, const DataOp& op, std::optional<uint64_t> keep);
  static void ApplyDir(std::map<std::string, uint64_t>* names, const DirOp& op);
  uint64_t Random(uint64_t n);  // uniform-ish in [0, n), n > 0

  SplitMix64 rng_;
  bool powered_ = true;
  uint64_t epoch_ = 0;  // bumped by every crash: older file handles are dead
  uint64_t mutations_ = 0;
  std::optional<uint64_t> crash_at_;  // mutation count that fires a scheduled crash
  CrashMode crash_mode_ = CrashMode::kLoseUnsynced;
  uint64_t next_seq_ = 1;
  uint64_t next_inode_ = 1;
  std::map<uint64_t, Inode> inodes_;
  std::map<std::string, uint64_t> names_;          // as the process sees them
  std::map<std::string, uint64_t> durable_names_;  // as they survive a crash
  std::vector<DirOp> pending_dir_;
};

}  // namespace rl::raft
