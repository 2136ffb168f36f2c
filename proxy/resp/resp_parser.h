// Incremental, zero-copy parser for client requests: RESP2 multibulk ("*2\r\n$3\r\nGET\r\n...")
// and Redis's inline form ("PING\r\n" typed in telnet). Used by ClientConn on every read.
// Errors carry Redis's exact protocol-error texts. Thread safety: one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rl::proxy {

// Limits a client request must respect; the defaults are Redis's.
struct RequestLimits {
  uint64_t max_bulk_length = 512ull * 1024 * 1024;      // proto-max-bulk-len
  uint32_t max_multibulk_length = 1024 * 1024;          // arguments per request
  uint32_t max_inline_length = 64 * 1024;               // PROTO_INLINE_MAX_SIZE
  uint64_t max_request_length = 1024ull * 1024 * 1024;  // client-query-buffer-limit
};

// One argument of a parsed request, as offsets from the request's first byte (so a partial
// request can be moved to another buffer between reads without invalidating them). For an
// inline request `offset` indexes the parser's own unquoted copy (see RequestParser::ArgView).
struct ArgSpan {
  uint32_t header;  // multibulk: offset of the '$' that introduces the argument
  uint32_t offset;  // first byte of the value
  uint32_t length;  // bytes of the value
  // Offset one past the argument's trailing CRLF (multibulk only).
  uint32_t end() const { return offset + length + 2; }
};

class RequestParser {
 public:
  enum class Result : uint8_t { kComplete, kIncomplete, kError };

  RequestParser() : limits_(&kDefaultLimits) {}
  // REQUIRES: `limits` outlives the parser (it is referred to, not copied: a parser per
  // connection, so every byte counts with 10,000 clients).
  explicit RequestParser(const RequestLimits& limits) : limits_(&limits) {}
  explicit RequestParser(const RequestLimits&&) = delete;

  // Continues parsing the request that begins at data[0]; `size` bytes are available. Between
  // calls for the same request the caller may move the bytes, but must pass the same prefix
  // (plus anything newly read). On kComplete, length() is the request's size in bytes and
  // args() its arguments (empty for a request Redis ignores: an empty inline line, "*0", "*-1").
  // On kIncomplete, call again with more bytes. On kError, error() holds the reply text
  // ("Protocol error: ...", without "-ERR "); the connection must be closed after replying.
  Result Parse(const char* data, size_t size);

  // Forgets the current request; keeps buffer capacity. Call after kComplete.
  void Reset();

  size_t length() const { return length_; }
  bool is_inline() const { return inline_; }
  std::span<const ArgSpan> args() const { return args_; }
  std::string_view error() const { return extra_ ? std::string_view(extra_->error) : ""; }
  // A lower bound on the request's total size, known from lengths parsed so far (lets the
  // caller size a buffer for a large bulk argument before it arrives).
  size_t needed() const { return needed_; }

  // The value of argument i; `data` is the request's first byte, as passed to Parse().
  std::string_view ArgView(const char* data, size_t i) const {
    const ArgSpan& a = args_[i];
    return {(inline_ ? extra_->inline_storage.data() : data) + a.offset, a.length};
  }

  // REQUIRES: `limits` outlives the parser.
  void set_limits(const RequestLimits& limits) { limits_ = &limits; }
  void set_limits(const RequestLimits&&) = delete;
  // Redis's tighter limits for a client that has not authenticated yet (when a password is
  // required): at most 10 arguments of at most 16 KiB each, so that an unauthenticated client
  // cannot make the proxy buffer much.
  void set_unauthenticated(bool unauthenticated) { unauthenticated_ = unauthenticated; }
  const RequestLimits& limits() const { return *limits_; }

 private:
  enum class State : uint8_t { kStart, kCount, kBulkHeader, kBulkData };

  Result ParseInline(const char* data, size_t size);
  Result ParseMultibulk(const char* data, size_t size);
  Result Fail(std::string message);

  // What only inline requests and errors need, allocated on first use: an idle connection's
  // parser stays small.
  struct Extra {
    std::string inline_storage;
    std::string error;
  };
  Extra& extra();

  static const RequestLimits kDefaultLimits;

  const RequestLimits* limits_;
  size_t pos_ = 0;  // next byte to look at, from the request's start
  size_t needed_ = 0;
  size_t length_ = 0;
  uint64_t remaining_ = 0;    // multibulk: arguments still to parse
  uint64_t bulk_length_ = 0;  // kBulkData: length announced by the header
  std::vector<ArgSpan> args_;
  std::unique_ptr<Extra> extra_;
  State state_ = State::kStart;
  bool inline_ = false;
  bool unauthenticated_ = false;
};

// The common case of a length line's text and its end, read in one pass: 1 to 17 digits without
// a leading zero (or "0" alone) followed by "\r\n", all before `end`. Returns the position of the
// '\r' and sets *value, or nullptr when the bytes are anything else (a sign, more digits, an
// incomplete line, garbage): then the general path (find the CR, ParseStrictInt) decides, so
// both accept and reject exactly the same lines.
inline const char* ParseLengthFast(const char* p, const char* end, uint64_t* value) {
  const char* q = p;
  uint64_t v = 0;
  const char* stop = end - p > 17 ? p + 17 : end;
  while (q < stop && static_cast<unsigned char>(*q - '0') < 10) {
    v = v * 10 + static_cast<uint64_t>(*q - '0');
    ++q;
  }
  if (q == p || end - q < 2 || q[0] != '\r' || q[1] != '\n' || (*p == '0' && q - p > 1)) {
    return nullptr;
  }
  *value = v;
  return q;
}

// Redis's sdssplitargs: splits an inline command line into arguments with its quoting rules
// ("..." with \n \r \t \b \a \xHH escapes, '...' with \'). Appends the unquoted bytes of every
// argument to `storage` and one span per argument (offsets into `storage`) to `args`.
// Returns false on unbalanced quotes.
bool SplitInlineArgs(std::string_view line, std::string* storage, std::vector<ArgSpan>* args);

}  // namespace rl::proxy
