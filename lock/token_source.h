// Where fencing tokens come from. The coordinator reserves blocks of tokens before it locks the
// masters, so minting is not one durable write (or one Raft round) per acquire. Standalone, a
// FileTokenSource keeps the ceiling in a data directory; in a cluster a Raft-backed source (built
// with raft/node) implements the same interface. MemoryTokenSource is for tests.
// Thread safety: a source is used from one thread (the control loop); completions run there.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "lock/error.h"

namespace rl::lock {

// Tokens first, first+1, ..., first+count-1.
struct TokenBlock {
  uint64_t first = 0;
  uint64_t count = 0;
};

// The largest token any source hands out (the scripts parse tokens as int64).
inline constexpr uint64_t kMaxToken = (uint64_t{1} << 63) - 1;

class TokenSource {
 public:
  using ReserveDone = std::move_only_function<void(std::expected<TokenBlock, Error>)>;
  using AdvanceDone = std::move_only_function<void(std::expected<void, Error>)>;
  virtual ~TokenSource() = default;

  // Reserves `n` (>= 1) tokens, every one greater than every token this source (and, across
  // restarts and failovers, any earlier incarnation of it) ever handed out. On success the block
  // is the caller's alone. On failure (storage, no quorum, n out of range) nothing is handed out.
  // `done` runs once, either before Reserve returns or later on the same thread: callers accept
  // both.
  virtual void Reserve(uint64_t n, ReserveDone done) = 0;

  // Makes every later token greater than `token`: for a mark seen on a lock master above what
  // this source would hand out (its state was lost or restored from an old copy).
  virtual void AdvancePast(uint64_t token, AdvanceDone done) = 0;
};

// Tests' source: counts in memory from 1, forgets everything with the object.
class MemoryTokenSource final : public TokenSource {
 public:
  void Reserve(uint64_t n, ReserveDone done) override;
  void AdvancePast(uint64_t token, AdvanceDone done) override;
  uint64_t next() const { return next_; }

 private:
  uint64_t next_ = 1;
};

// The standalone source: the file `lock_tokens` in a data directory holds a ceiling C, the
// largest token that may have been handed out. Tokens are handed out from memory up to C; a
// Reserve that would pass C first writes a new ceiling (at least `block` further) durably —
// temporary file, fsync, rename, fsync of the directory — so one fsync'd write covers `block`
// tokens. After a crash the next token is C+1, past every token that could have been handed out;
// at most `block` tokens are skipped. A write failure fails that Reserve and every later one
// (fail-stop: the ceiling on disk is then unknown).
class FileTokenSource final : public TokenSource {
 public:
  struct Options {
    std::string data_dir;  // must exist
    uint64_t block = 1000;
    // fsync(2) for files and the directory; tests inject one that counts or fails.
    std::function<int(int fd)> fsync;
  };
  static constexpr std::string_view kFileName = "lock_tokens";

  // Reads the ceiling (none yet: 0). A file that is not one this source wrote is an error:
  // guessing a ceiling could hand out a token twice.
  static std::expected<std::unique_ptr<FileTokenSource>, Error> Open(Options options);

  void Reserve(uint64_t n, ReserveDone done) override;
  void AdvancePast(uint64_t token, AdvanceDone done) override;

  uint64_t ceiling() const { return ceiling_; }
  uint64_t next() const { return next_; }
  uint64_t writes() const { return writes_; }  // durable ceiling writes made by this object

 private:
  FileTokenSource(Options options, uint64_t ceiling);
  // Makes `ceiling` durable, then adopts it.
  std::expected<void, Error> WriteCeiling(uint64_t ceiling);
  // Ensures tokens up to `last` are covered by the durable ceiling.
  std::expected<void, Error> Cover(uint64_t last);

  Options options_;
  uint64_t ceiling_;
  uint64_t next_;
  uint64_t writes_ = 0;
  std::string failed_;  // non-empty after a write failure: the reason
};

}  // namespace rl::lock
