#include "tests/proxy/parser_differential.h"

#include <hiredis/hiredis.h>

#include <vector>

#include "fmt/format.h"
#include "proxy/resp/resp_parser.h"

namespace rl::testing {

namespace {

struct HiredisResult {
  enum Kind { kComplete, kIncomplete, kError } kind;
  size_t consumed = 0;
  redisReply* reply = nullptr;
};

// Reads one reply from `bytes` with a fresh reader. The caller frees result.reply.
HiredisResult HiredisOne(std::string_view bytes) {
  redisReader* reader = redisReaderCreate();
  HiredisResult out{HiredisResult::kIncomplete};
  void* reply = nullptr;
  if (redisReaderFeed(reader, bytes.data(), bytes.size()) != REDIS_OK ||
      redisReaderGetReply(reader, &reply) != REDIS_OK) {
    out.kind = HiredisResult::kError;
  } else if (reply != nullptr) {
    out.kind = HiredisResult::kComplete;
    out.reply = static_cast<redisReply*>(reply);
    out.consumed = bytes.size() - (reader->len - reader->pos);
  }
  redisReaderFree(reader);
  return out;
}

std::string Escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 80)) {
    if (c >= 32 && c < 127 && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

// The requests the parser finds in `pieces` fed in order (stopping at an error or the end).
std::vector<std::vector<std::string>> ParseAll(const std::vector<std::string_view>& pieces) {
  std::vector<std::vector<std::string>> out;
  proxy::RequestParser parser;
  std::string buffer;
  for (std::string_view piece : pieces) {
    buffer.append(piece);
    size_t pos = 0;
    for (;;) {
      auto r = parser.Parse(buffer.data() + pos, buffer.size() - pos);
      if (r == proxy::RequestParser::Result::kIncomplete) break;
      if (r == proxy::RequestParser::Result::kError) {
        out.push_back({"<error>"});
        return out;
      }
      std::vector<std::string> args;
      for (size_t i = 0; i < parser.args().size(); ++i) {
        args.emplace_back(parser.ArgView(buffer.data() + pos, i));
      }
      out.push_back(std::move(args));
      pos += parser.length();
      parser.Reset();
    }
    buffer.erase(0, pos);
  }
  return out;
}

}  // namespace

std::string CompareWithHiredis(std::string_view input, size_t split) {
  split = input.empty() ? 0 : split % (input.size() + 1);
  if (ParseAll({input}) != ParseAll({input.substr(0, split), input.substr(split)})) {
    return fmt::format("split at {} changes the requests of '{}'", split, Escape(input));
  }
  proxy::RequestParser parser;
  size_t pos = 0;
  while (pos < input.size()) {
    std::string_view rest = input.substr(pos);
    auto r = parser.Parse(rest.data(), rest.size());
    if (r == proxy::RequestParser::Result::kError) return "";
    if (r == proxy::RequestParser::Result::kIncomplete) {
      if (parser.is_inline()) return "";
      HiredisResult h = HiredisOne(rest);
      if (h.reply != nullptr) freeReplyObject(h.reply);
      if (h.kind == HiredisResult::kComplete) {
        return fmt::format("at {}: ringleader waits for more, hiredis read a {}-byte reply in '{}'",
                           pos, h.consumed, Escape(rest));
      }
      return "";
    }
    size_t length = parser.length();
    std::string_view message = rest.substr(0, length);
    if (!parser.is_inline()) {
      HiredisResult h = HiredisOne(message);
      std::string problem;
      if (h.kind != HiredisResult::kComplete || h.consumed != length) {
        problem = fmt::format("hiredis {} ({} bytes) where ringleader read {} bytes",
                              h.kind == HiredisResult::kError ? "failed" : "did not complete",
                              h.consumed, length);
      } else if (parser.args().empty()) {
        bool empty = h.reply->type == REDIS_REPLY_NIL ||
                     (h.reply->type == REDIS_REPLY_ARRAY && h.reply->elements == 0);
        if (!empty) problem = "hiredis read a non-empty reply for an empty request";
      } else if (h.reply->type != REDIS_REPLY_ARRAY || h.reply->elements != parser.args().size()) {
        problem = "hiredis read a different array";
      } else {
        for (size_t i = 0; i < h.reply->elements; ++i) {
          redisReply* e = h.reply->element[i];
          if (e->type != REDIS_REPLY_STRING ||
              std::string_view(e->str, e->len) != parser.ArgView(message.data(), i)) {
            problem = fmt::format("argument {} differs", i);
            break;
          }
        }
      }
      if (h.reply != nullptr) freeReplyObject(h.reply);
      if (problem.empty() && length > 0) {
        HiredisResult shorter = HiredisOne(message.substr(0, length - 1));
        if (shorter.reply != nullptr) freeReplyObject(shorter.reply);
        if (shorter.kind == HiredisResult::kComplete) {
          problem = "hiredis completed a reply one byte earlier";
        }
      }
      if (!problem.empty()) {
        return fmt::format("at {}: {} in '{}'", pos, problem, Escape(message));
      }
    }
    pos += length;
    parser.Reset();
  }
  return "";
}

}  // namespace rl::testing
