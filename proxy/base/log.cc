#include "proxy/base/log.h"

#include <execinfo.h>
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

namespace rl::proxy {

namespace log_internal {
std::atomic<int> level{kLogNotice};
}  // namespace log_internal

namespace {

std::mutex mu;
int fd = STDERR_FILENO;  // guarded by mu
std::string path;        // guarded by mu

std::string OpenLocked(const std::string& new_path) {
  if (new_path.empty()) {
    if (fd != STDERR_FILENO) close(fd);
    fd = STDERR_FILENO;
    path.clear();
    return {};
  }
  int new_fd = open(new_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (new_fd < 0) return fmt::format("cannot open log file '{}': {}", new_path, strerror(errno));
  if (fd != STDERR_FILENO) close(fd);
  fd = new_fd;
  path = new_path;
  return {};
}

}  // namespace

std::string InitLog(int new_level, const std::string& new_path) {
  log_internal::level.store(new_level, std::memory_order_relaxed);
  std::lock_guard lock(mu);
  return OpenLocked(new_path);
}

std::optional<int> RaiseLogLevel() {
  int now = log_internal::level.load(std::memory_order_relaxed);
  if (now >= kLogMax) return std::nullopt;
  log_internal::level.store(now + 1, std::memory_order_relaxed);
  return now + 1;
}

std::optional<int> LowerLogLevel() {
  int now = log_internal::level.load(std::memory_order_relaxed);
  if (now <= kLogMin) return std::nullopt;
  log_internal::level.store(now - 1, std::memory_order_relaxed);
  return now - 1;
}

int CurrentLogLevel() { return log_internal::level.load(std::memory_order_relaxed); }

void LogFatalSignal(const char* text) {
  // No lock (the crashed thread may hold it) and nothing that allocates: fd is read as it is.
  const int out = fd;
  auto put = [out](const char* s) {
    size_t left = strlen(s);
    while (left > 0) {
      ssize_t n = write(out, s, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      s += n;
      left -= static_cast<size_t>(n);
    }
  };
  put("[.......................] ");
  put(text);
  put("\n");
  void* frames[64];
  int count = backtrace(frames, 64);
  backtrace_symbols_fd(frames, count, out);
}

std::string ReopenLog() {
  std::lock_guard lock(mu);
  if (path.empty()) return {};
  std::string p = path;
  return OpenLocked(p);
}

void log_internal::Write(int level, std::string_view message) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm local;
  localtime_r(&tv.tv_sec, &local);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &local);
  static constexpr const char* kNames[] = {"EMERG", "ALERT", "CRIT", "ERROR", "WARN",   "NOTICE",
                                           "INFO",  "DEBUG", "VERB", "VVERB", "VVVERB", "PVERB"};
  const char* name = level >= 0 && level <= 11 ? kNames[level] : "LOG";
  std::string line =
      fmt::format("[{}.{:03d}] {} {}\n", stamp, static_cast<int>(tv.tv_usec / 1000), name, message);
  std::lock_guard lock(mu);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace rl::proxy
