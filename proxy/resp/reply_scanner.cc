#include "proxy/resp/reply_scanner.h"

#include <cstring>

#include "proxy/base/decimal.h"
#include "proxy/resp/resp_parser.h"

namespace rl::proxy {

namespace {

// Header lines are short ("$5", ":12"): a plain loop beats memchr's call for the first bytes.
inline const char* FindCr(const char* p, const char* end) {
  const char* stop = end - p > 16 ? p + 16 : end;
  for (; p < stop; ++p) {
    if (*p == '\r') return p;
  }
  return p < end ? static_cast<const char*>(std::memchr(p, '\r', end - p)) : nullptr;
}

}  // namespace

void ReplyScanner::Reset() {
  state_ = State::kType;
  pos_ = 0;
  needed_ = 0;
  length_ = 0;
  bulk_length_ = 0;
  depth_ = 0;
  error_ = {};
}

ReplyScanner::Result ReplyScanner::Fail(std::string_view message) {
  error_ = message;
  return Result::kError;
}

bool ReplyScanner::ValueDone() {
  while (depth_ > 0) {
    if (--remaining_[depth_ - 1] > 0) return false;
    --depth_;
  }
  return true;
}

ReplyScanner::Result ReplyScanner::Scan(const char* data, size_t size) {
  // Replies are bounded by 4 GiB so that offsets fit in 32 bits everywhere downstream.
  constexpr uint64_t kMaxReply = 0xFFFFFFF0u;
  for (;;) {
    if (state_ == State::kBulkData) {
      uint64_t end = pos_ + bulk_length_;
      if (end + 2 > size) {
        needed_ = end + 2;
        return Result::kIncomplete;
      }
      if (data[end] != '\r' || data[end + 1] != '\n') {
        return Fail("bulk reply not followed by CRLF");
      }
      pos_ = end + 2;
      state_ = State::kType;
      if (ValueDone()) {
        length_ = pos_;
        return Result::kComplete;
      }
      continue;
    }
    // kType: a header line "<type><text>\r\n".
    if (pos_ >= size) {
      needed_ = pos_ + 3;
      return Result::kIncomplete;
    }
    // The usual bulk and array headers with a plain length, in one pass.
    if (char t = data[pos_]; t == '$' || t == '*') {
      uint64_t n;
      if (const char* cr = ParseLengthFast(data + pos_ + 1, data + size, &n)) {
        size_t next = static_cast<size_t>(cr - data) + 2;
        if (t == '$') {
          if (next + n + 2 > kMaxReply) return Fail("reply too large");
          bulk_length_ = n;
          pos_ = next;
          state_ = State::kBulkData;
          continue;
        }
        if (n > 0) {
          if (depth_ == kMaxDepth) return Fail("reply nested too deeply");
          remaining_[depth_++] = static_cast<int64_t>(n);
          pos_ = next;
          continue;
        }
        pos_ = next;  // "*0": an empty array is a complete value
        if (ValueDone()) {
          length_ = pos_;
          return Result::kComplete;
        }
        continue;
      }
      if (size - pos_ >= 5 && std::memcmp(data + pos_ + 1, "-1\r\n", 4) == 0) {
        pos_ += 5;  // a nil ("$-1", "*-1") is a complete value
        if (ValueDone()) {
          length_ = pos_;
          return Result::kComplete;
        }
        continue;
      }
    }
    const void* cr = FindCr(data + pos_, data + size);
    if (cr == nullptr || static_cast<const char*>(cr) + 1 >= data + size) {
      needed_ = (cr == nullptr ? size : static_cast<const char*>(cr) - data) + 2;
      if (needed_ > kMaxReply) return Fail("reply too large");
      return Result::kIncomplete;
    }
    size_t r = static_cast<const char*>(cr) - data;
    if (data[r + 1] != '\n') return Fail("header line not terminated by CRLF");
    char type = data[pos_];
    std::string_view text(data + pos_ + 1, r - pos_ - 1);
    size_t next = r + 2;
    switch (type) {
      case '+':
      case '-':
        break;
      case ':': {
        int64_t v;
        if (!ParseStrictInt(text, &v)) return Fail("invalid integer reply");
        break;
      }
      case '$': {
        int64_t len;
        if (!ParseStrictInt(text, &len) || len < -1) return Fail("invalid bulk length");
        if (len >= 0) {
          if (next + static_cast<uint64_t>(len) + 2 > kMaxReply) return Fail("reply too large");
          bulk_length_ = static_cast<uint64_t>(len);
          pos_ = next;
          state_ = State::kBulkData;
          continue;
        }
        break;
      }
      case '*': {
        int64_t count;
        if (!ParseStrictInt(text, &count) || count < -1) return Fail("invalid array length");
        if (count > 0) {
          if (depth_ == kMaxDepth) return Fail("reply nested too deeply");
          remaining_[depth_++] = count;
          pos_ = next;
          continue;
        }
        break;
      }
      default:
        return Fail("unexpected reply type byte");
    }
    pos_ = next;
    if (ValueDone()) {
      length_ = pos_;
      return Result::kComplete;
    }
  }
}

bool ReadReplyValue(std::string_view reply, ReplyValue* value) {
  size_t cr = reply.find("\r\n");
  if (reply.empty() || cr == std::string_view::npos) return false;
  *value = ReplyValue{};
  value->type = reply[0];
  value->header_length = cr + 2;
  std::string_view text = reply.substr(1, cr - 1);
  switch (value->type) {
    case '+':
    case '-':
      value->text = text;
      return true;
    case ':':
      return ParseStrictInt(text, &value->integer);
    case '$':
    case '*':
      if (!ParseStrictInt(text, &value->integer) || value->integer < -1) return false;
      value->null = value->integer == -1;
      if (value->type == '$' && !value->null) {
        if (reply.size() < cr + 2 + static_cast<uint64_t>(value->integer)) return false;
        value->text = reply.substr(cr + 2, static_cast<size_t>(value->integer));
      }
      return true;
    default:
      return false;
  }
}

ArrayElements::ArrayElements(std::string_view reply) {
  ReplyValue v;
  if (ReadReplyValue(reply, &v) && v.type == '*' && v.integer > 0) {
    count_ = v.integer;
    rest_ = reply.substr(v.header_length);
  }
}

std::string_view ArrayElements::Next() {
  if (rest_.empty()) return {};
  // Fast path for the usual elements (bulk strings, nil, integers, status lines): the reply was
  // already validated by a ReplyScanner, so only lengths need reading.
  char type = rest_[0];
  uint64_t n;
  if (type == '$') {
    if (rest_.starts_with("$-1\r\n")) {
      std::string_view element = rest_.substr(0, 5);
      rest_.remove_prefix(5);
      return element;
    }
    if (const char* cr = ParseLengthFast(rest_.data() + 1, rest_.data() + rest_.size(), &n)) {
      size_t length = static_cast<size_t>(cr - rest_.data()) + 2 + n + 2;
      if (length <= rest_.size()) {
        std::string_view element = rest_.substr(0, length);
        rest_.remove_prefix(length);
        return element;
      }
    }
  }
  if (type == '$' || type == ':' || type == '+' || type == '-') {
    size_t cr = rest_.find('\r', 1);
    if (cr != std::string_view::npos) {
      size_t length = cr + 2;
      if (type == '$' && rest_[1] != '-') {
        size_t n = 0;
        for (size_t i = 1; i < cr; ++i) n = n * 10 + static_cast<size_t>(rest_[i] - '0');
        length += n + 2;
      }
      if (length <= rest_.size()) {
        std::string_view element = rest_.substr(0, length);
        rest_.remove_prefix(length);
        return element;
      }
    }
  }
  ReplyScanner scanner;
  if (scanner.Scan(rest_.data(), rest_.size()) != ReplyScanner::Result::kComplete) {
    rest_ = {};
    return {};
  }
  std::string_view element = rest_.substr(0, scanner.length());
  rest_.remove_prefix(scanner.length());
  return element;
}

}  // namespace rl::proxy
