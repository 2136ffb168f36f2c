// An owned RESP reply value (RESP2 and RESP3), built by RespReplyParser for callers that want
// values rather than bytes: RespClient's users (the Raft transport, the lock service). The data
// path never builds these; it forwards bytes (reply_scanner.h).
// Thread safety: a plain value; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rl::proxy {

struct RespReply {
  enum class Type : uint8_t {
    kStatus,     // "+OK"            str
    kError,      // "-ERR ...", "!N" str (the text, without '-')
    kInteger,    // ":N"             integer
    kBulk,       // "$N"             str
    kArray,      // "*N"             elements
    kNil,        // "$-1", "*-1" (RESP2), "_" (RESP3): a null bulk, array or value
    kDouble,     // ","              number, and str holds the text as sent
    kBoolean,    // "#t", "#f"       integer (1 or 0)
    kMap,        // "%N"             elements: key, value, key, value, ...
    kSet,        // "~N"             elements
    kPush,       // ">N"             elements (out-of-band; see RespClientOptions::on_push)
    kVerbatim,   // "=N"             str (after the "txt:" prefix), format ("txt", "mkd")
    kBigNumber,  // "("              str (the digits, with an optional '-')
  };

  Type type = Type::kNil;
  int64_t integer = 0;
  double number = 0;
  std::string str;
  std::string format;
  std::vector<RespReply> elements;

  static RespReply Status(std::string_view s) { return Text(Type::kStatus, s); }
  static RespReply Error(std::string_view s) { return Text(Type::kError, s); }
  static RespReply Bulk(std::string_view s) { return Text(Type::kBulk, s); }
  static RespReply Integer(int64_t v) {
    RespReply r;
    r.type = Type::kInteger;
    r.integer = v;
    return r;
  }
  static RespReply Nil() { return RespReply(); }
  static RespReply Array(std::vector<RespReply> elements) {
    RespReply r;
    r.type = Type::kArray;
    r.elements = std::move(elements);
    return r;
  }

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  // A status or bulk string equal to `s` (e.g. IsString("OK") for "+OK" or "$2 OK").
  bool IsString(std::string_view s) const {
    return (type == Type::kStatus || type == Type::kBulk) && str == s;
  }

  // A one-line rendering for logs and test messages, in redis-cli's spirit:
  // "OK", "(error) ERR x", "(integer) 3", "\"bulk\"", "(nil)", "[1, \"a\"]", "{k: v}".
  // Recursion is bounded by the parser's depth limit for parsed replies.
  std::string ToString() const;

  friend bool operator==(const RespReply&, const RespReply&) = default;

 private:
  static RespReply Text(Type type, std::string_view s) {
    RespReply r;
    r.type = type;
    r.str = s;
    return r;
  }
};

std::string_view TypeName(RespReply::Type type);

}  // namespace rl::proxy
