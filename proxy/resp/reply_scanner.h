// Finds where each RESP2 reply from a backend ends, without building objects, so that replies
// are forwarded as the bytes Redis sent. Also small helpers to read a complete reply's top-level
// value and walk an array's elements (used when merging split replies).
// Used by ServerConn (scanning) and the merge code. Thread safety: one scanner per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rl::proxy {

class ReplyScanner {
 public:
  enum class Result : uint8_t { kComplete, kIncomplete, kError };

  // Continues scanning the reply that begins at data[0] with `size` bytes available (the same
  // prefix as the previous call for this reply, possibly moved, plus new bytes). On kComplete
  // length() is the reply's size; on kError error() says why the bytes are not RESP2.
  Result Scan(const char* data, size_t size);
  void Reset();

  size_t length() const { return length_; }
  std::string_view error() const { return error_; }
  // A lower bound on the reply's size known so far (for sizing a buffer).
  size_t needed() const { return needed_; }

  static constexpr int kMaxDepth = 32;

 private:
  enum class State : uint8_t { kType, kBulkData };
  Result Fail(std::string_view message);
  // Called when one value is complete; pops finished arrays. Returns true when the top-level
  // reply is complete.
  bool ValueDone();

  State state_ = State::kType;
  size_t pos_ = 0;
  size_t needed_ = 0;
  size_t length_ = 0;
  uint64_t bulk_length_ = 0;
  int depth_ = 0;  // open arrays
  int64_t remaining_[kMaxDepth] = {};
  std::string_view error_;
};

// A complete reply's top-level value, read without allocation.
struct ReplyValue {
  char type = 0;             // '+', '-', ':', '$', '*'
  bool null = false;         // $-1 or *-1
  int64_t integer = 0;       // ':' value, '$' length or '*' count
  std::string_view text;     // '+'/'-' line without CRLF, '$' payload
  size_t header_length = 0;  // bytes up to and including the first CRLF
};

// Reads the top-level value of a complete, well-formed reply `reply`. Returns false if the
// bytes do not start with a valid RESP2 header.
bool ReadReplyValue(std::string_view reply, ReplyValue* value);

// Given a complete reply that is an array, returns the bytes of each element in turn.
class ArrayElements {
 public:
  // REQUIRES: `reply` is a complete, well-formed array reply (checked by ReplyScanner).
  explicit ArrayElements(std::string_view reply);
  int64_t count() const { return count_; }
  // Bytes of the elements not returned yet.
  size_t remaining_bytes() const { return rest_.size(); }
  // The next element's bytes; empty when none is left.
  std::string_view Next();

 private:
  std::string_view rest_;
  int64_t count_ = 0;
};

}  // namespace rl::proxy
