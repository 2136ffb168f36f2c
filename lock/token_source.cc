// Token sources (see token_source.h). The file format is one line, "rl-lock-tokens 1 CEILING\n",
// replaced atomically (temporary file, fsync, rename, fsync of the directory).
// Thread safety: see token_source.h.
#include "lock/token_source.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/base/decimal.h"

namespace rl::lock {
namespace {

constexpr std::string_view kMagic = "rl-lock-tokens 1 ";

Error Storage(std::string message) { return Error{Error::Code::kStorage, std::move(message)}; }

Error Invalid(std::string message) { return Error{Error::Code::kInvalid, std::move(message)}; }

std::string Errno(std::string_view what, const std::string& path) {
  return fmt::format("{} {}: {}", what, path, std::strerror(errno));
}

// The tokens n past next, or an error when they would pass kMaxToken.
std::expected<uint64_t, Error> LastOf(uint64_t next, uint64_t n) {
  if (n == 0) return std::unexpected(Invalid("a token block needs at least one token"));
  if (n > kMaxToken || next > kMaxToken - n + 1) {
    return std::unexpected(
        Invalid(fmt::format("{} tokens from {} pass the largest token", n, next)));
  }
  return next + n - 1;
}

}  // namespace

void MemoryTokenSource::Reserve(uint64_t n, ReserveDone done) {
  auto last = LastOf(next_, n);
  if (!last) return done(std::unexpected(last.error()));
  TokenBlock block{next_, n};
  next_ = *last + 1;
  done(block);
}

void MemoryTokenSource::AdvancePast(uint64_t token, AdvanceDone done) {
  if (token >= kMaxToken) return done(std::unexpected(Invalid("token past the largest")));
  if (token >= next_) next_ = token + 1;
  done({});
}

FileTokenSource::FileTokenSource(Options options, uint64_t ceiling)
    : options_(std::move(options)), ceiling_(ceiling), next_(ceiling + 1) {
  if (!options_.fsync) options_.fsync = [](int fd) { return ::fsync(fd); };
  if (options_.block == 0) options_.block = 1;
}

std::expected<std::unique_ptr<FileTokenSource>, Error> FileTokenSource::Open(Options options) {
  std::string path = options.data_dir + "/" + std::string(kFileName);
  uint64_t ceiling = 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) return std::unexpected(Storage(Errno("cannot open", path)));
  if (fd >= 0) {
    std::string s;
    char buf[256];
    ssize_t got;
    while ((got = ::read(fd, buf, sizeof buf)) > 0 && s.size() < 4096) s.append(buf, got);
    int read_errno = errno;
    ::close(fd);
    if (got < 0) {
      errno = read_errno;
      return std::unexpected(Storage(Errno("cannot read", path)));
    }
    int64_t value = 0;
    std::string_view digits = std::string_view(s).substr(std::min(s.size(), kMagic.size()));
    if (!digits.empty()) digits.remove_suffix(1);
    if (!s.starts_with(kMagic) || !s.ends_with('\n') || !proxy::ParseStrictInt(digits, &value) ||
        value < 0) {
      return std::unexpected(Storage(
          fmt::format("{} is not a lock token file (\"{}CEILING\" expected); refusing to guess",
                      path, kMagic)));
    }
    ceiling = static_cast<uint64_t>(value);
  }
  return std::unique_ptr<FileTokenSource>(new FileTokenSource(std::move(options), ceiling));
}

std::expected<void, Error> FileTokenSource::WriteCeiling(uint64_t ceiling) {
  if (!failed_.empty()) return std::unexpected(Storage(failed_));
  const std::string& dir = options_.data_dir;
  std::string path = dir + "/" + std::string(kFileName);
  std::string tmp = path + ".tmp";
  std::string line = fmt::format("{}{}\n", kMagic, ceiling);
  auto fail = [this](std::string reason) -> std::expected<void, Error> {
    failed_ = fmt::format("lock token file: {} (no token is handed out after this)", reason);
    return std::unexpected(Storage(failed_));
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(Errno("cannot create", tmp));
  ssize_t wrote = ::write(fd, line.data(), line.size());
  if (wrote != static_cast<ssize_t>(line.size())) {
    std::string reason = Errno("cannot write", tmp);
    ::close(fd);
    return fail(reason);
  }
  if (options_.fsync(fd) != 0) {
    std::string reason = Errno("cannot fsync", tmp);
    ::close(fd);
    return fail(reason);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(Errno("cannot rename", tmp));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail(Errno("cannot open", dir));
  int synced = options_.fsync(dfd);
  std::string reason = synced != 0 ? Errno("cannot fsync", dir) : "";
  ::close(dfd);
  if (synced != 0) return fail(reason);
  ++writes_;
  ceiling_ = ceiling;
  return {};
}

std::expected<void, Error> FileTokenSource::Cover(uint64_t last) {
  if (!failed_.empty()) return std::unexpected(Storage(failed_));
  if (last <= ceiling_) return {};
  uint64_t target = ceiling_ > kMaxToken - options_.block ? kMaxToken : ceiling_ + options_.block;
  return WriteCeiling(std::max(last, target));
}

void FileTokenSource::Reserve(uint64_t n, ReserveDone done) {
  auto last = LastOf(next_, n);
  if (!last) return done(std::unexpected(last.error()));
  if (auto covered = Cover(*last); !covered) return done(std::unexpected(covered.error()));
  TokenBlock block{next_, n};
  next_ = *last + 1;
  done(block);
}

void FileTokenSource::AdvancePast(uint64_t token, AdvanceDone done) {
  if (token >= kMaxToken) return done(std::unexpected(Invalid("token past the largest")));
  if (token < next_) return done({});
  // Durable first: after a restart the file alone must keep later tokens past `token`.
  if (auto covered = Cover(token); !covered) return done(std::unexpected(covered.error()));
  next_ = token + 1;
  done({});
}

}  // namespace rl::lock
