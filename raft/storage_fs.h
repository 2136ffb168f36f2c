// The few file system calls FileStorage makes, behind an interface so the same storage code runs
// on the real disk (PosixFs) and on a simulated one that can lose power (SimDisk, in
// tests/raft/fault_storage_disk.h). Files are only ever appended to, truncated, renamed and
// removed.
// Thread safety: PosixFs is stateless and may be shared; each FsFile has one user.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "raft/storage.h"

namespace rl::raft {

// An open file, written only at its end.
class FsFile {
 public:
  virtual ~FsFile() = default;
  virtual StorageResult<> Append(std::string_view data) = 0;
  // Cuts the file to `size` bytes (<= its size); later appends go after them.
  virtual StorageResult<> Truncate(uint64_t size) = 0;
  // fsync: the file's data and size are durable when this succeeds. The caller treats a failure
  // as fatal.
  virtual StorageResult<> Sync() = 0;
};

class Fs {
 public:
  virtual ~Fs() = default;
  // Creates `dir` and its missing parents; succeeds if it exists.
  virtual StorageResult<> CreateDir(const std::string& dir) = 0;
  // Names (not paths) of the entries of `dir`, without "." and "..", in no particular order.
  virtual StorageResult<std::vector<std::string>> List(const std::string& dir) = 0;
  virtual StorageResult<std::string> ReadAll(const std::string& path) = 0;
  // Creates `path` empty (truncating an existing file) and opens it.
  virtual StorageResult<std::unique_ptr<FsFile>> Create(const std::string& path) = 0;
  // Opens the existing file `path` to append to it.
  virtual StorageResult<std::unique_ptr<FsFile>> OpenAppend(const std::string& path) = 0;
  // rename(2): atomically replaces `to`.
  virtual StorageResult<> Rename(const std::string& from, const std::string& to) = 0;
  virtual StorageResult<> Remove(const std::string& path) = 0;
  // fsync of the directory: creations, renames and removals in it are durable on success. The
  // caller treats a failure as fatal.
  virtual StorageResult<> SyncDir(const std::string& dir) = 0;
};

// The real file system. `fsync` is the call used for files and directories (::fsync unless a
// test injects a failing one); it returns 0 or -1 with errno set, like fsync(2).
class PosixFs final : public Fs {
 public:
  using FsyncFn = std::function<int(int fd)>;
  PosixFs();
  explicit PosixFs(FsyncFn fsync);

  StorageResult<> CreateDir(const std::string& dir) override;
  StorageResult<std::vector<std::string>> List(const std::string& dir) override;
  StorageResult<std::string> ReadAll(const std::string& path) override;
  StorageResult<std::unique_ptr<FsFile>> Create(const std::string& path) override;
  StorageResult<std::unique_ptr<FsFile>> OpenAppend(const std::string& path) override;
  StorageResult<> Rename(const std::string& from, const std::string& to) override;
  StorageResult<> Remove(const std::string& path) override;
  StorageResult<> SyncDir(const std::string& dir) override;

 private:
  StorageResult<std::unique_ptr<FsFile>> Open(const std::string& path, int flags);
  std::shared_ptr<const FsyncFn> fsync_;  // shared with the files this opens
};

// A process-wide PosixFs using ::fsync.
Fs* DefaultFs();

}  // namespace rl::raft
