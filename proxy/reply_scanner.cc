#include "proxy/reply_scanner.h"

#include <cstring>

#include "proxy/resp_parser.h"

namespace rl::proxy {

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
    const void* cr = std::memchr(data + pos_, '\r', size - pos_);
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
