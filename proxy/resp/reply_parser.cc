#include "proxy/resp/reply_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "proxy/base/decimal.h"
#include "proxy/resp/resp_parser.h"

namespace rl::proxy {

namespace {

// An announced length is trusted this far when sizing the buffer; beyond it the buffer grows
// with the bytes that arrive, so a lying header cannot make us allocate much.
constexpr size_t kTrustedSizing = 16 * 1024 * 1024;
// An idle parser gives back a buffer grown past this for one large reply.
constexpr size_t kKeepCapacity = 1024 * 1024;
// Elements of one aggregate (a map counts each entry twice, so this keeps 2*n in range).
constexpr int64_t kMaxAggregate = int64_t{1} << 32;
// Elements reserved up front for an aggregate, however many its header announces.
constexpr size_t kMaxReserve = 1024;

enum What : uint8_t { kValue, kOpened, kNothing };

bool IsBigNumber(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool ParseDouble(std::string_view s, double* value) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *value);
  return ec == std::errc() && end == s.data() + s.size();
}

RespReply::Type AggregateType(char c) {
  switch (c) {
    case '%':
    case '|':
      return RespReply::Type::kMap;
    case '~':
      return RespReply::Type::kSet;
    case '>':
      return RespReply::Type::kPush;
    default:
      return RespReply::Type::kArray;
  }
}

}  // namespace

std::span<char> RespReplyParser::PrepareAppend(size_t min) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (capacity_ > kKeepCapacity) {
      buf_.reset();
      capacity_ = 0;
    }
  }
  if (capacity_ - end_ < min) {
    size_t held = end_ - begin_;
    size_t want = std::max(held + min, std::min(needed_, kTrustedSizing));
    if (want <= capacity_) {
      std::memmove(buf_.get(), buf_.get() + begin_, held);
    } else {
      size_t capacity = std::max({want, capacity_ * 2, size_t{16 * 1024}});
      std::unique_ptr<char[]> grown(new char[capacity]);
      if (held > 0) std::memcpy(grown.get(), buf_.get() + begin_, held);
      buf_ = std::move(grown);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = held;
  }
  return {buf_.get() + end_, capacity_ - end_};
}

void RespReplyParser::Append(std::string_view bytes) {
  std::span<char> space = PrepareAppend(bytes.size());
  if (!bytes.empty()) std::memcpy(space.data(), bytes.data(), bytes.size());
  CommitAppend(bytes.size());
}

void RespReplyParser::Reset() {
  begin_ = end_ = scanned_ = needed_ = 0;
  if (capacity_ > kKeepCapacity) {
    buf_.reset();
    capacity_ = 0;
  }
  stack_.clear();
  error_.clear();
}

RespReplyParser::Result RespReplyParser::Fail(std::string message) {
  error_ = std::move(message);
  return Result::kError;
}

RespReplyParser::Result RespReplyParser::Next(RespReply* out) {
  if (!error_.empty()) return Result::kError;
  for (;;) {
    RespReply value;
    uint8_t what = kValue;
    Result r = ParseElement(&value, &what);
    if (r != Result::kComplete) return r;
    if (what != kValue) continue;
    // Hand the value to the innermost open aggregate, closing every aggregate it completes.
    for (;;) {
      if (stack_.empty()) {
        *out = std::move(value);
        return Result::kComplete;
      }
      Frame& top = stack_.back();
      top.value.elements.push_back(std::move(value));
      if (--top.remaining > 0) break;
      bool attribute = top.attribute;
      value = std::move(top.value);
      stack_.pop_back();
      if (attribute) break;  // an attribute annotates the next value; it is not one
    }
  }
}

RespReplyParser::Result RespReplyParser::ParseElement(RespReply* value, uint8_t* what) {
  if (begin_ == end_) return Result::kIncomplete;
  const char* p = buf_.get() + begin_;
  size_t avail = end_ - begin_;
  char type = p[0];
  if (std::strchr("+-:$*_#,(!=%~>|", type) == nullptr || type == '\0') {
    return Fail(fmt::format("unexpected reply type byte 0x{:02x}", static_cast<uint8_t>(type)));
  }
  // The header line, "<type><text>\r\n".
  size_t from = std::max<size_t>(scanned_, 1);
  const void* found = avail > from ? std::memchr(p + from, '\r', avail - from) : nullptr;
  size_t cr = found ? static_cast<size_t>(static_cast<const char*>(found) - p) : avail;
  if (cr - 1 > limits_.max_line_length) {
    return Fail(fmt::format("reply line longer than {} bytes", limits_.max_line_length));
  }
  if (found == nullptr || cr + 1 >= avail) {
    scanned_ = cr;
    return Result::kIncomplete;
  }
  if (p[cr + 1] != '\n') return Fail("reply line not terminated by CRLF");
  std::string_view text(p + 1, cr - 1);
  size_t consumed = cr + 2;
  using T = RespReply::Type;
  switch (type) {
    case '+':
      *value = RespReply::Status(text);
      break;
    case '-':
      *value = RespReply::Error(text);
      break;
    case ':':
      if (!ParseStrictInt(text, &value->integer)) return Fail("invalid integer reply");
      value->type = T::kInteger;
      break;
    case '_':
      if (!text.empty()) return Fail("invalid null reply");
      value->type = T::kNil;
      break;
    case '#':
      if (text != "t" && text != "f") return Fail("invalid boolean reply");
      value->type = T::kBoolean;
      value->integer = text == "t";
      break;
    case ',':
      if (!ParseDouble(text, &value->number)) return Fail("invalid double reply");
      value->type = T::kDouble;
      value->str = text;
      break;
    case '(':
      if (!IsBigNumber(text)) return Fail("invalid big number reply");
      value->type = T::kBigNumber;
      value->str = text;
      break;
    case '$':
    case '!':
    case '=': {
      int64_t length;
      if (!ParseStrictInt(text, &length) || length < -1) return Fail("invalid bulk length");
      if (length == -1) {
        if (type != '$') return Fail("invalid bulk length");
        value->type = T::kNil;
        break;
      }
      if (static_cast<uint64_t>(length) > limits_.max_bulk_length) {
        return Fail(fmt::format("bulk length {} exceeds the limit of {} bytes", length,
                                limits_.max_bulk_length));
      }
      size_t total = consumed + static_cast<size_t>(length) + 2;
      if (avail < total) {
        needed_ = total;
        scanned_ = cr;  // the header is found again at once
        return Result::kIncomplete;
      }
      if (p[total - 2] != '\r' || p[total - 1] != '\n') {
        return Fail("bulk reply not followed by CRLF");
      }
      std::string_view payload(p + consumed, static_cast<size_t>(length));
      consumed = total;
      if (type == '$') {
        *value = RespReply::Bulk(payload);
      } else if (type == '!') {
        *value = RespReply::Error(payload);
      } else {
        if (payload.size() < 4 || payload[3] != ':') return Fail("invalid verbatim string");
        value->type = T::kVerbatim;
        value->format = payload.substr(0, 3);
        value->str = payload.substr(4);
      }
      break;
    }
    default: {  // '*', '%', '~', '>', '|'
      int64_t count;
      if (!ParseStrictInt(text, &count) || count < -1 || (count == -1 && type != '*')) {
        return Fail("invalid aggregate length");
      }
      if (count > kMaxAggregate) return Fail("aggregate reply too long");
      if (count == -1) {
        value->type = T::kNil;
        break;
      }
      value->type = AggregateType(type);
      if (count == 0) {
        if (type == '|') *what = kNothing;
        break;
      }
      if (stack_.size() >= limits_.max_depth) {
        return Fail(fmt::format("reply nested deeper than {} levels", limits_.max_depth));
      }
      bool pairs = type == '%' || type == '|';
      uint64_t remaining = static_cast<uint64_t>(count) * (pairs ? 2 : 1);
      stack_.push_back(Frame{std::move(*value), remaining, type == '|'});
      stack_.back().value.elements.reserve(std::min<uint64_t>(remaining, kMaxReserve));
      *what = kOpened;
      break;
    }
  }
  begin_ += consumed;
  scanned_ = 0;
  needed_ = 0;
  return Result::kComplete;
}

}  // namespace rl::proxy
