#include "raft/storage_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "raft/storage_check.h"

namespace rl::raft {
namespace {

StorageError Errno(std::string_view what, const std::string& path) {
  return IoError(fmt::format("raft storage: {} {}: {}", what, path, std::strerror(errno)));
}

class PosixFile final : public FsFile {
 public:
  PosixFile(int fd, std::string path, std::shared_ptr<const PosixFs::FsyncFn> fsync)
      : fd_(fd), path_(std::move(path)), fsync_(std::move(fsync)) {}
  ~PosixFile() override { ::close(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  StorageResult<> Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return std::unexpected(Errno("write", path_));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
  }

  StorageResult<> Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return std::unexpected(Errno("ftruncate", path_));
    }
    return {};  // O_APPEND: the next write lands at the new end
  }

  StorageResult<> Sync() override {
    if ((*fsync_)(fd_) != 0) return std::unexpected(Errno("fsync", path_));
    return {};
  }

 private:
  int fd_;
  std::string path_;
  std::shared_ptr<const PosixFs::FsyncFn> fsync_;
};

}  // namespace

PosixFs::PosixFs() : PosixFs([](int fd) { return ::fsync(fd); }) {}
PosixFs::PosixFs(FsyncFn fsync) : fsync_(std::make_shared<const FsyncFn>(std::move(fsync))) {}

StorageResult<> PosixFs::CreateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return std::unexpected(
        IoError(fmt::format("raft storage: cannot create directory {}: {}", dir, ec.message())));
  }
  return {};
}

StorageResult<std::vector<std::string>> PosixFs::List(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return std::unexpected(Errno("opendir", dir));
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (e == nullptr) break;
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) {
    errno = err;
    return std::unexpected(Errno("readdir", dir));
  }
  return names;
}

StorageResult<std::string> PosixFs::ReadAll(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(Errno("open", path));
  std::string out;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto err = Errno("read", path);
      ::close(fd);
      return std::unexpected(err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

StorageResult<std::unique_ptr<FsFile>> PosixFs::Open(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(Errno("open", path));
  return std::make_unique<PosixFile>(fd, path, fsync_);
}

StorageResult<std::unique_ptr<FsFile>> PosixFs::Create(const std::string& path) {
  return Open(path, O_CREAT | O_TRUNC);
}

StorageResult<std::unique_ptr<FsFile>> PosixFs::OpenAppend(const std::string& path) {
  return Open(path, 0);
}

StorageResult<> PosixFs::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return std::unexpected(Errno("rename", from));
  return {};
}

StorageResult<> PosixFs::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return std::unexpected(Errno("unlink", path));
  return {};
}

StorageResult<> PosixFs::SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(Errno("open directory", dir));
  int rc = (*fsync_)(fd);
  auto err = rc != 0 ? Errno("fsync", dir) : StorageError{};
  ::close(fd);
  if (rc != 0) return std::unexpected(err);
  return {};
}

Fs* DefaultFs() {
  static PosixFs* fs = new PosixFs();
  return fs;
}

}  // namespace rl::raft
