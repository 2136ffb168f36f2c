// The one invariant check of raft/: a broken internal invariant prints what broke, where, and
// aborts, in every build (unlike assert(), which NDEBUG removes). Untrusted input never reaches
// one of these; it yields an error value instead. Used by the core and the storage.
// Thread safety: safe from any thread (writes to stderr, then aborts).
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace rl::raft {

// Prints "FATAL: <what> (file:line)" and aborts. Also the fail-stop of storage (a failed fsync).
[[noreturn]] inline void InvariantFailed(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "FATAL: %s (%s:%d)\n", what.c_str(), file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace rl::raft

// RL_RAFT_CHECK(condition, fmt-format, args...): aborts with the formatted message when
// `condition` is false. The message is formatted only then.
#define RL_RAFT_CHECK(condition, ...)                                               \
  do {                                                                              \
    if (!(condition)) [[unlikely]] {                                                \
      ::rl::raft::InvariantFailed(                                                  \
          __FILE__, __LINE__,                                                       \
          "raft invariant broken: (" #condition ") " + ::fmt::format(__VA_ARGS__)); \
    }                                                                               \
  } while (false)
