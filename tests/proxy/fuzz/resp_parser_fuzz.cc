// libFuzzer target for the client request parser (proxy/resp_parser.h), differential against
// hiredis's redisReader on the same bytes. Built with clang by scripts/fuzz.
//
// For input that starts with '*' (RESP multibulk; hiredis has no inline form) it checks:
//  1. every request our parser completes, hiredis completes at the same byte, with the same
//     arguments (an array of bulk strings; "*0"/"*-1" carry none);
//  2. when our parser needs more bytes, hiredis has not completed a reply either;
//  3. a request hiredis rejects is never one our parser completes;
//  4. parsing is incremental: the same bytes fed in two pieces at any split give the same
//     requests and verdict.
// Our parser may reject what hiredis accepts (nested arrays, non-bulk elements, lengths Redis
// itself refuses): a proxy follows the server's rules, not a client library's.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/resp_parser.h"

namespace {

using rl::proxy::RequestParser;

struct Parsed {
  std::vector<size_t> ends;                    // end offset of each complete request
  std::vector<std::vector<std::string>> args;  // its arguments
  RequestParser::Result last = RequestParser::Result::kIncomplete;
};

// Feeds data[0, size) to a fresh parser, `split` bytes first and then the rest, the way a
// connection sees two reads.
Parsed ParseAll(const char* data, size_t size, size_t split) {
  Parsed out;
  RequestParser parser;
  size_t start = 0;
  size_t avail = split < size ? split : size;
  for (;;) {
    RequestParser::Result r = parser.Parse(data + start, avail - start);
    if (r == RequestParser::Result::kComplete) {
      std::vector<std::string> args;
      for (size_t i = 0; i < parser.args().size(); ++i) {
        args.emplace_back(parser.ArgView(data + start, i));
      }
      start += parser.length();
      out.ends.push_back(start);
      out.args.push_back(std::move(args));
      parser.Reset();
      continue;
    }
    if (r == RequestParser::Result::kIncomplete && avail < size) {
      avail = size;
      continue;
    }
    out.last = r;
    return out;
  }
}

[[noreturn]] void Fail(const char* what, size_t at) {
  std::fprintf(stderr, "disagreement: %s (at byte %zu)\n", what, at);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const char* data = reinterpret_cast<const char*>(bytes);
  Parsed whole = ParseAll(data, size, size);

  // 4: incremental parsing agrees with parsing everything at once.
  for (size_t split : {size_t{1}, size / 2, size > 3 ? size - 3 : size_t{0}}) {
    if (split == 0 || split >= size) continue;
    Parsed part = ParseAll(data, size, split);
    if (part.ends != whole.ends || part.args != whole.args || part.last != whole.last) {
      Fail("split parse differs from whole parse", split);
    }
  }

  if (size == 0 || data[0] != '*') return 0;
  // Compare with hiredis only over the prefix made of multibulk requests (an inline request
  // after them has no hiredis counterpart).
  // Where our parser rejected the bytes (e.g. a count over Redis's limits), hiredis is only
  // shown the requests before them: hiredis 0.14 would allocate a huge count's array up front.
  size_t limit = size;
  if (whole.last == RequestParser::Result::kError) {
    limit = whole.ends.empty() ? 0 : whole.ends.back();
  }
  redisReader* reader = redisReaderCreate();
  size_t completed = 0;
  for (size_t i = 0; i < limit && completed <= whole.ends.size(); ++i) {
    if (i == (completed == 0 ? 0 : whole.ends[completed - 1]) && data[i] != '*') break;
    redisReaderFeed(reader, data + i, 1);
    void* reply = nullptr;
    if (redisReaderGetReply(reader, &reply) != REDIS_OK) {
      // 3: hiredis rejects bytes inside request `completed`: ours must not complete it.
      if (completed < whole.ends.size()) Fail("hiredis rejects a request our parser accepts", i);
      break;
    }
    if (reply == nullptr) continue;
    auto* r = static_cast<redisReply*>(reply);
    if (completed < whole.ends.size()) {
      // 1: same end, same arguments.
      if (whole.ends[completed] != i + 1) Fail("request ends at a different byte", i);
      const auto& args = whole.args[completed];
      if (r->type == REDIS_REPLY_NIL) {
        if (!args.empty()) Fail("nil multibulk with arguments", i);
      } else if (r->type != REDIS_REPLY_ARRAY || r->elements != args.size()) {
        Fail("argument count differs", i);
      } else {
        for (size_t k = 0; k < r->elements; ++k) {
          const redisReply* e = r->element[k];
          if (e->type != REDIS_REPLY_STRING || std::string_view(e->str, e->len) != args[k]) {
            Fail("argument bytes differ", i);
          }
        }
      }
    } else if (whole.last == RequestParser::Result::kIncomplete) {
      // 2: ours waits for more bytes but hiredis finished a reply.
      Fail("hiredis completes a request our parser still waits for", i);
    }
    freeReplyObject(reply);
    ++completed;
  }
  redisReaderFree(reader);
  return 0;
}
