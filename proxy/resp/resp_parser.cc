#include "proxy/resp/resp_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "proxy/base/decimal.h"

namespace rl::proxy {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

bool SplitInlineArgs(std::string_view line, std::string* storage, std::vector<ArgSpan>* args) {
  // sdssplitargs works on a C string: a NUL ends the line. Reading past the end yields '\0'.
  const char* p = line.data();
  const char* end = line.data() + line.size();
  auto at = [&](const char* q) -> char { return q < end ? *q : '\0'; };
  for (;;) {
    while (at(p) != '\0' && IsSpace(at(p))) ++p;
    if (at(p) == '\0') return true;
    ArgSpan arg{0, static_cast<uint32_t>(storage->size()), 0};
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      char c = at(p);
      if (in_double) {
        if (c == '\\' && at(p + 1) == 'x' && IsHex(at(p + 2)) && IsHex(at(p + 3))) {
          storage->push_back(static_cast<char>(HexValue(at(p + 2)) * 16 + HexValue(at(p + 3))));
          p += 3;
        } else if (c == '\\' && at(p + 1) != '\0') {
          ++p;
          char e = at(p);
          switch (e) {
            case 'n':
              e = '\n';
              break;
            case 'r':
              e = '\r';
              break;
            case 't':
              e = '\t';
              break;
            case 'b':
              e = '\b';
              break;
            case 'a':
              e = '\a';
              break;
            default:
              break;
          }
          storage->push_back(e);
        } else if (c == '"') {
          // A closing quote must be followed by a space or the end of the line.
          if (at(p + 1) != '\0' && !IsSpace(at(p + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          storage->push_back(c);
        }
      } else if (in_single) {
        if (c == '\\' && at(p + 1) == '\'') {
          ++p;
          storage->push_back('\'');
        } else if (c == '\'') {
          if (at(p + 1) != '\0' && !IsSpace(at(p + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          storage->push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            storage->push_back(c);
            break;
        }
      }
      if (at(p) != '\0') ++p;
    }
    arg.length = static_cast<uint32_t>(storage->size() - arg.offset);
    args->push_back(arg);
  }
}

void RequestParser::Reset() {
  state_ = State::kStart;
  inline_ = false;
  pos_ = 0;
  needed_ = 0;
  length_ = 0;
  remaining_ = 0;
  bulk_length_ = 0;
  args_.clear();
  if (extra_) {
    extra_->inline_storage.clear();
    extra_->error.clear();
  }
}

const RequestLimits RequestParser::kDefaultLimits{};

RequestParser::Extra& RequestParser::extra() {
  if (!extra_) extra_ = std::make_unique<Extra>();
  return *extra_;
}

RequestParser::Result RequestParser::Fail(std::string message) {
  extra().error = std::move(message);
  return Result::kError;
}

RequestParser::Result RequestParser::Parse(const char* data, size_t size) {
  if (state_ == State::kStart) {
    if (size == 0) return Result::kIncomplete;
    if (data[0] == '*') {
      state_ = State::kCount;
      pos_ = 1;
    } else {
      inline_ = true;
      state_ = State::kCount;  // inline: pos_ is where the newline search resumes
      pos_ = 0;
    }
  }
  return inline_ ? ParseInline(data, size) : ParseMultibulk(data, size);
}

RequestParser::Result RequestParser::ParseInline(const char* data, size_t size) {
  const void* nl = size > pos_ ? std::memchr(data + pos_, '\n', size - pos_) : nullptr;
  if (nl == nullptr) {
    if (size > limits_->max_inline_length) return Fail("Protocol error: too big inline request");
    pos_ = size;
    needed_ = size + 1;
    return Result::kIncomplete;
  }
  size_t newline = static_cast<const char*>(nl) - data;
  size_t line_end = newline;
  if (line_end > 0 && data[line_end - 1] == '\r') --line_end;
  if (!SplitInlineArgs({data, line_end}, &extra().inline_storage, &args_)) {
    return Fail("Protocol error: unbalanced quotes in request");
  }
  length_ = newline + 1;
  return Result::kComplete;
}

RequestParser::Result RequestParser::ParseMultibulk(const char* data, size_t size) {
  for (;;) {
    switch (state_) {
      case State::kStart:
        return Fail("internal parser state");  // unreachable: Parse() leaves kStart
      case State::kCount: {
        size_t r;
        int64_t count = 0;
        uint64_t fast_count;
        if (const char* cr = ParseLengthFast(data + 1, data + size, &fast_count)) {
          r = static_cast<size_t>(cr - data);
          count = static_cast<int64_t>(fast_count);
        } else {
          const void* found = size > pos_ ? std::memchr(data + pos_, '\r', size - pos_) : nullptr;
          if (found == nullptr) {
            if (size > limits_->max_inline_length) {
              return Fail("Protocol error: too big mbulk count string");
            }
            needed_ = size + 2;
            return Result::kIncomplete;
          }
          r = static_cast<const char*>(found) - data;
          if (r + 1 >= size) {
            needed_ = r + 2;
            return Result::kIncomplete;
          }
          if (data[r + 1] != '\n' || !ParseStrictInt({data + 1, r - 1}, &count)) {
            return Fail("Protocol error: invalid multibulk length");
          }
        }
        if (count > static_cast<int64_t>(limits_->max_multibulk_length)) {
          return Fail("Protocol error: invalid multibulk length");
        }
        if (unauthenticated_ && count > 10) {
          return Fail("Protocol error: unauthenticated multibulk length");
        }
        pos_ = r + 2;
        if (count <= 0) {
          // Redis ignores "*0" and "*-1" (a null array) without replying. Other negative
          // counts are not RESP: refuse them.
          if (count < -1) return Fail("Protocol error: invalid multibulk length");
          length_ = pos_;
          return Result::kComplete;
        }
        remaining_ = static_cast<uint64_t>(count);
        // Cap the up-front reservation: the count is untrusted until arguments arrive.
        args_.reserve(std::min<uint64_t>(remaining_, 1024));
        state_ = State::kBulkHeader;
        break;
      }
      case State::kBulkHeader: {
        // The common case first: whole arguments with plain headers, one after another, each
        // within every limit. Anything else (a partial argument, a limit, garbage) leaves this
        // loop for the general code below, which decides exactly as it always does.
        {
          // Locals, so that storing an argument does not make the compiler reload them.
          size_t pos = pos_;
          uint64_t remaining = remaining_;
          const uint64_t max_bulk = unauthenticated_
                                        ? std::min<uint64_t>(limits_->max_bulk_length, 16384)
                                        : limits_->max_bulk_length;
          const uint64_t max_end = std::min<uint64_t>(size, limits_->max_request_length);
          while (remaining > 0 && pos < size && data[pos] == '$') {
            uint64_t len;
            const char* cr = ParseLengthFast(data + pos + 1, data + size, &len);
            if (cr == nullptr) break;
            const size_t r = static_cast<size_t>(cr - data);
            const uint64_t end = r + 2 + len;
            if (len > max_bulk || end + 2 > max_end || data[end] != '\r' || data[end + 1] != '\n') {
              break;
            }
            args_.push_back(ArgSpan{static_cast<uint32_t>(pos), static_cast<uint32_t>(r + 2),
                                    static_cast<uint32_t>(len)});
            pos = end + 2;
            --remaining;
          }
          pos_ = pos;
          remaining_ = remaining;
        }
        if (remaining_ == 0) {
          length_ = pos_;
          return Result::kComplete;
        }
        if (pos_ >= size) {
          needed_ = pos_ + 4;
          return Result::kIncomplete;
        }
        if (data[pos_] != '$') {
          char got = data[pos_];
          if (got == '\r' || got == '\n') got = ' ';  // Redis maps CR/LF in errors to spaces
          return Fail(std::string("Protocol error: expected '$', got '") + got + "'");
        }
        size_t r;
        int64_t len = 0;
        uint64_t fast_len;
        if (const char* cr = ParseLengthFast(data + pos_ + 1, data + size, &fast_len)) {
          r = static_cast<size_t>(cr - data);
          len = static_cast<int64_t>(fast_len);
        } else {
          const void* found = std::memchr(data + pos_, '\r', size - pos_);
          if (found == nullptr) {
            if (size - pos_ > limits_->max_inline_length) {
              return Fail("Protocol error: too big bulk count string");
            }
            needed_ = size + 2;
            return Result::kIncomplete;
          }
          r = static_cast<const char*>(found) - data;
          if (r + 1 >= size) {
            needed_ = r + 2;
            return Result::kIncomplete;
          }
          if (data[r + 1] != '\n' || !ParseStrictInt({data + pos_ + 1, r - pos_ - 1}, &len)) {
            return Fail("Protocol error: invalid bulk length");
          }
        }
        if (len < 0 || static_cast<uint64_t>(len) > limits_->max_bulk_length) {
          return Fail("Protocol error: invalid bulk length");
        }
        if (unauthenticated_ && len > 16384) {
          return Fail("Protocol error: unauthenticated bulk length");
        }
        if (r + 2 + static_cast<uint64_t>(len) + 2 > limits_->max_request_length) {
          return Fail("Protocol error: request too large");
        }
        args_.push_back(ArgSpan{static_cast<uint32_t>(pos_), static_cast<uint32_t>(r + 2),
                                static_cast<uint32_t>(len)});
        bulk_length_ = static_cast<uint64_t>(len);
        pos_ = r + 2;
        state_ = State::kBulkData;
        break;
      }
      case State::kBulkData: {
        size_t end = pos_ + bulk_length_;
        if (end + 2 > size) {
          needed_ = end + 2;
          return Result::kIncomplete;
        }
        if (data[end] != '\r' || data[end + 1] != '\n') {
          return Fail("Protocol error: bulk string not followed by CRLF");
        }
        pos_ = end + 2;
        if (--remaining_ == 0) {
          length_ = pos_;
          return Result::kComplete;
        }
        state_ = State::kBulkHeader;
        break;
      }
    }
  }
}

}  // namespace rl::proxy
