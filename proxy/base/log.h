// The proxy's log: nutcracker's verbosity scale (-v 0..11, default 5 = notice), written to
// stderr or a file (-o) that SIGHUP reopens. Lines are formatted with fmt and written with one
// write(2) each. Thread safety: every function may be called from any thread.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <optional>
#include <string>

namespace rl::proxy {

enum LogLevel : int {
  kLogAlways = -1,  // written at every verbosity, as nutcracker's loga: signals, level changes
  kLogMin = 0,      // the verbosity scale's ends (-v 0 .. -v 11)
  kLogMax = 11,
  kLogError = 3,
  kLogWarn = 4,
  kLogNotice = 5,
  kLogInfo = 6,
  kLogDebug = 7,
};

namespace log_internal {
extern std::atomic<int> level;
void Write(int level, std::string_view message);
}  // namespace log_internal

// Sets the verbosity and the output (empty: stderr). On failure to open the file returns its
// error text and keeps logging to the previous output.
std::string InitLog(int level, const std::string& path);
// Reopens the log file (after rotation). Returns an error text, or empty on success.
std::string ReopenLog();
// SIGTTIN/SIGTTOU: one step up or down the verbosity scale, within kLogMin..kLogMax. Returns
// the new level, or nullopt when it was already at that end.
std::optional<int> RaiseLogLevel();
std::optional<int> LowerLogLevel();
int CurrentLogLevel();
// For a fatal signal's handler, so async-signal-safe: writes "[.......................] text\n"
// (no clock: nutcracker's log_safe shape) and this thread's stack to the log's output.
void LogFatalSignal(const char* text);

inline bool LogEnabled(int level) {
  return level <= log_internal::level.load(std::memory_order_relaxed);
}

template <typename... Args>
void Log(int level, fmt::format_string<Args...> format, Args&&... args) {
  if (!LogEnabled(level)) return;
  log_internal::Write(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace rl::proxy
