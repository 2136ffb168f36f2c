// Storage on files: the durable store of a real Raft node (raft/node) and, over a simulated disk,
// of the cluster simulator's nodes (tests/raft/fault_storage.h). Thread safety: none; one owner.
//
// Layout of `dir`:
//   00000000000000000001.log …  log segments, each named by its first index (segment.h has the
//                               record format); a segment is closed at segment_bytes and fsynced
//                               before the next one is created, so only the last can be torn
//   hardstate                   term, vote, commit: one record, replaced atomically
//   snapshot                    the latest snapshot: one record, replaced atomically
//   *.tmp                       an atomic replacement in progress (temp, fsync, rename, fsync dir)
// Load refuses to start (kCorruption, naming the file and the offset) on a bad record anywhere but
// at the end of the last segment, a missing segment or a gap between the snapshot and the log. A
// failed fsync aborts the process with a message on stderr.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/storage.h"
#include "raft/storage_check.h"
#include "raft/storage_fs.h"

namespace rl::raft {

struct FileStorageOptions {
  // A segment that has reached this size is closed and the next entry starts a new one.
  uint64_t segment_bytes = uint64_t{64} << 20;
};

class FileStorage final : public Storage {
 public:
  // Keeps everything under `dir` (created by Load if missing), reached through `fs`, which must
  // outlive this object.
  explicit FileStorage(std::string dir, FileStorageOptions options = {}, Fs* fs = DefaultFs());
  ~FileStorage() override;
  FileStorage(const FileStorage&) = delete;
  FileStorage& operator=(const FileStorage&) = delete;

  StorageResult<DurableState> Load() override;
  StorageResult<> Append(std::span<const Entry> entries) override;
  StorageResult<> SaveHardState(const HardState& state) override;
  StorageResult<> SaveSnapshot(const Snapshot& snapshot) override;
  StorageResult<> Sync() override;

  const std::string& dir() const { return dir_; }
  // Paths of the current log segments, in index order (for tests and status output).
  std::vector<std::string> SegmentPaths() const;

  static constexpr const char* kHardStateFile = "hardstate";
  static constexpr const char* kSnapshotFile = "snapshot";

 private:
  // A log segment; entries at or below the snapshot index may remain at the front of the first.
  struct Segment {
    Index first = 0;
    uint64_t bytes = 0;             // file size as written
    std::vector<uint64_t> offsets;  // offsets[k]: file offset of entry first+k's record
    std::vector<Term> terms;        // terms[k]: term of entry first+k
    Index last() const { return first + offsets.size() - 1; }  // first-1 when empty
  };

  StorageResult<DurableState> Recover();  // file_storage_load.cc
  StorageResult<> Usable() const;
  StorageResult<> Fail(StorageError error);
  LogBounds Bounds() const;
  Term TermAt(Index index) const;
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string SegmentPath(Index first) const;

  // Writes `buf` at the end of the active segment and clears it.
  StorageResult<> Flush(std::string* buf);
  // Seals the active segment (fsync) and starts a new one at `first`; its header goes to `buf`.
  StorageResult<> Rotate(Index first, std::string* buf);
  // Removes entries >= `index`, durably.
  StorageResult<> TruncateFrom(Index index);
  // Removes the newest segment durably and reopens the one before it (if any) as the active one.
  StorageResult<> RemoveNewestSegment();
  // temp file, fsync, rename over `name`, fsync of the directory.
  StorageResult<> WriteAtomically(const std::string& name, const std::string& bytes);

  std::string dir_;
  FileStorageOptions options_;
  Fs* fs_;

  bool loaded_ = false;
  std::optional<StorageError> failed_;  // set by the first I/O error; every later call returns it

  SnapshotMeta snapshot_;
  HardState hard_state_;          // as last saved
  HardState durable_hard_state_;  // as last written to kHardStateFile
  std::vector<Segment> segments_;
  Index last_index_ = 0;            // == snapshot_.index when the log is empty
  std::unique_ptr<FsFile> active_;  // open on segments_.back(); null iff segments_ is empty
  bool active_dirty_ = false;       // the active segment has writes not yet fsynced
  bool dir_dirty_ = false;          // Load: removals in dir_ not yet fsynced
};

}  // namespace rl::raft
