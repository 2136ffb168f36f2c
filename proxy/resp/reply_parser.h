// Incremental parser of RESP2 and RESP3 replies into owned RespReply values, for RespClient.
// It owns its input buffer: the caller reads into PrepareAppend()'s space (or Append()s bytes)
// and takes replies out with Next(). Parsing is iterative (an explicit stack of open
// aggregates), so a hostile server's deep nesting costs a protocol error, not the C++ stack.
// Memory grows only with bytes actually received (announced lengths are trusted for sizing up
// to 16 MiB). Thread safety: one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/resp/resp_reply.h"

namespace rl::proxy {

struct RespReplyLimits {
  uint64_t max_bulk_length = 512ull * 1024 * 1024;  // Redis's proto-max-bulk-len
  size_t max_line_length = 1024 * 1024;             // a status, error, number or length line
  size_t max_depth = 512;                           // nested aggregates
};

class RespReplyParser {
 public:
  enum class Result : uint8_t { kComplete, kIncomplete, kError };

  RespReplyParser() = default;
  explicit RespReplyParser(const RespReplyLimits& limits) : limits_(limits) {}

  // Space for at least `min` more bytes after those already held; CommitAppend(n) then says how
  // many of them were filled. The span is valid until the next PrepareAppend/Append/Reset.
  std::span<char> PrepareAppend(size_t min = 16 * 1024);
  void CommitAppend(size_t n) { end_ += n; }
  void Append(std::string_view bytes);

  // On kComplete moves the next complete reply into *out (RESP3 attributes are read and
  // dropped). On kIncomplete, more bytes are needed. On kError the bytes are not RESP and
  // error() says why; the error is sticky until Reset().
  Result Next(RespReply* out);
  std::string_view error() const { return error_; }

  // Forgets everything held (bytes, partial replies, an error); keeps a small buffer.
  void Reset();
  // Bytes received and not yet returned as part of a reply.
  size_t buffered() const { return end_ - begin_; }

 private:
  struct Frame {
    RespReply value;
    uint64_t remaining;  // elements still to read (2 per map or attribute entry)
    bool attribute;      // "|": read and dropped, not an element of its parent
  };
  // Parses one element at begin_. On kComplete *what says whether *value is a value (a scalar
  // or an empty aggregate), or a non-empty aggregate was opened on stack_, or nothing (an empty
  // attribute).
  Result ParseElement(RespReply* value, uint8_t* what);
  Result Fail(std::string message);

  RespReplyLimits limits_;
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t begin_ = 0;    // first byte not consumed
  size_t end_ = 0;      // one past the last byte held
  size_t scanned_ = 0;  // bytes after begin_ known to hold no CR (a long line arriving slowly)
  size_t needed_ = 0;   // bytes from begin_ the pending bulk needs (for sizing the buffer)
  std::vector<Frame> stack_;
  std::string error_;
};

}  // namespace rl::proxy
