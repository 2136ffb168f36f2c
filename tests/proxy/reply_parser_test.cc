// RespReplyParser: every RESP2/RESP3 type, every split of a stream, hostile input (garbage,
// 100k-deep nesting, lying lengths) as errors, and a seeded random round trip.
// Links only rl_resp (+ rl_proxy_base, gtest): the parser is part of the leaf library.
#include "proxy/resp/reply_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "tests/support/test_seed.h"

namespace rl::proxy {
namespace {

using T = RespReply::Type;

RespReply Make(T type, std::vector<RespReply> elements = {}) {
  RespReply r;
  r.type = type;
  r.elements = std::move(elements);
  return r;
}

// Parses everything in `bytes` fed in pieces of `step` bytes (0: all at once).
std::vector<RespReply> ParseAll(std::string_view bytes, size_t step = 0,
                                std::string* error = nullptr) {
  RespReplyParser parser;
  std::vector<RespReply> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t n = step == 0 ? bytes.size() : std::min(step, bytes.size() - pos);
    parser.Append(bytes.substr(pos, n));
    pos += n;
    for (;;) {
      RespReply r;
      auto result = parser.Next(&r);
      if (result == RespReplyParser::Result::kComplete) {
        out.push_back(std::move(r));
        continue;
      }
      if (result == RespReplyParser::Result::kError) {
        if (error != nullptr) *error = parser.error();
        return out;
      }
      break;
    }
  }
  return out;
}

std::string ErrorOf(std::string_view bytes) {
  std::string error;
  ParseAll(bytes, 0, &error);
  return error;
}

const char kStream[] =
    "+OK\r\n"
    "-ERR wrong\r\n"
    ":-42\r\n"
    "$5\r\nhe\r\no\r\n"
    "$0\r\n\r\n"
    "$-1\r\n"
    "*-1\r\n"
    "*0\r\n"
    "*3\r\n:1\r\n$1\r\na\r\n*2\r\n$-1\r\n+x\r\n"
    "_\r\n"
    ",3.25\r\n"
    ",inf\r\n"
    "#t\r\n"
    "#f\r\n"
    "(-123456789012345678901234567890\r\n"
    "!9\r\nERR blob!\r\n"
    "=8\r\ntxt:abcd\r\n"
    "%2\r\n+k1\r\n:1\r\n+k2\r\n*1\r\n:2\r\n"
    "~2\r\n+a\r\n+b\r\n"
    ">2\r\n+message\r\n+hi\r\n"
    "|1\r\n+ttl\r\n:3\r\n:7\r\n"
    "*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n|0\r\n:2\r\n";

std::vector<RespReply> Expected() {
  RespReply dbl = Make(T::kDouble);
  dbl.number = 3.25;
  dbl.str = "3.25";
  RespReply inf = Make(T::kDouble);
  inf.number = INFINITY;
  inf.str = "inf";
  RespReply yes = Make(T::kBoolean);
  yes.integer = 1;
  RespReply big = Make(T::kBigNumber);
  big.str = "-123456789012345678901234567890";
  RespReply verbatim = Make(T::kVerbatim);
  verbatim.format = "txt";
  verbatim.str = "abcd";
  return {
      RespReply::Status("OK"),
      RespReply::Error("ERR wrong"),
      RespReply::Integer(-42),
      RespReply::Bulk("he\r\no"),
      RespReply::Bulk(""),
      RespReply::Nil(),
      RespReply::Nil(),
      RespReply::Array({}),
      RespReply::Array({RespReply::Integer(1), RespReply::Bulk("a"),
                        RespReply::Array({RespReply::Nil(), RespReply::Status("x")})}),
      RespReply::Nil(),
      dbl,
      inf,
      yes,
      Make(T::kBoolean),
      big,
      RespReply::Error("ERR blob!"),
      verbatim,
      Make(T::kMap, {RespReply::Status("k1"), RespReply::Integer(1), RespReply::Status("k2"),
                     RespReply::Array({RespReply::Integer(2)})}),
      Make(T::kSet, {RespReply::Status("a"), RespReply::Status("b")}),
      Make(T::kPush, {RespReply::Status("message"), RespReply::Status("hi")}),
      RespReply::Integer(7),  // the attribute before it is dropped
      RespReply::Array({RespReply::Integer(1), RespReply::Integer(2)}),
  };
}

TEST(ReplyParserTest, EveryTypeAtOnceAndByteByByte) {
  std::vector<RespReply> expected = Expected();
  EXPECT_EQ(ParseAll(kStream), expected);
  EXPECT_EQ(ParseAll(kStream, 1), expected);
}

TEST(ReplyParserTest, EverySplitPointGivesTheSameReplies) {
  std::string_view stream = kStream;
  std::vector<RespReply> expected = Expected();
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    RespReplyParser parser;
    std::vector<RespReply> got;
    for (std::string_view part : {stream.substr(0, cut), stream.substr(cut)}) {
      parser.Append(part);
      RespReply r;
      while (parser.Next(&r) == RespReplyParser::Result::kComplete) got.push_back(std::move(r));
    }
    ASSERT_EQ(got, expected) << "cut at " << cut;
    EXPECT_EQ(parser.buffered(), 0u);
  }
}

TEST(ReplyParserTest, ToStringReadsLikeRedisCli) {
  std::vector<RespReply> r = ParseAll("*4\r\n+OK\r\n$-1\r\n:3\r\n%1\r\n$1\r\nk\r\n-ERR x\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].ToString(), "[OK, (nil), (integer) 3, {\"k\": (error) ERR x}]");
}

TEST(ReplyParserTest, GarbageIsAnErrorAtOnce) {
  // The type byte is judged before the line ends: no need to wait for a CRLF that never comes.
  EXPECT_EQ(ErrorOf("hello world"), "unexpected reply type byte 0x68");
  EXPECT_EQ(ErrorOf(std::string("\0", 1)), "unexpected reply type byte 0x00");
  EXPECT_EQ(ErrorOf("+OK\rX"), "reply line not terminated by CRLF");
  EXPECT_EQ(ErrorOf(":12a\r\n"), "invalid integer reply");
  EXPECT_EQ(ErrorOf(":+1\r\n"), "invalid integer reply");
  EXPECT_EQ(ErrorOf("$3\r\nabcd\r\n"), "bulk reply not followed by CRLF");
  EXPECT_EQ(ErrorOf("$-2\r\n"), "invalid bulk length");
  EXPECT_EQ(ErrorOf("$x\r\n"), "invalid bulk length");
  EXPECT_EQ(ErrorOf("!-1\r\n"), "invalid bulk length");
  EXPECT_EQ(ErrorOf("*-2\r\n"), "invalid aggregate length");
  EXPECT_EQ(ErrorOf("%-1\r\n"), "invalid aggregate length");
  EXPECT_EQ(ErrorOf("*99999999999\r\n"), "aggregate reply too long");
  EXPECT_EQ(ErrorOf("#x\r\n"), "invalid boolean reply");
  EXPECT_EQ(ErrorOf(",1.5x\r\n"), "invalid double reply");
  EXPECT_EQ(ErrorOf("(12a\r\n"), "invalid big number reply");
  EXPECT_EQ(ErrorOf("=3\r\nabc\r\n"), "invalid verbatim string");
  EXPECT_EQ(ErrorOf("_x\r\n"), "invalid null reply");
  // Garbage inside an aggregate, after good replies.
  std::string error;
  std::vector<RespReply> got = ParseAll("+OK\r\n*2\r\n:1\r\n?\r\n", 0, &error);
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(error, "unexpected reply type byte 0x3f");
}

TEST(ReplyParserTest, HostileDeepNestingIsAnErrorNotACrash) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "*1\r\n";
  EXPECT_EQ(ErrorOf(deep), "reply nested deeper than 512 levels");
  EXPECT_EQ(ErrorOf(deep), ErrorOf(deep));
  std::string maps;
  for (int i = 0; i < 100000; ++i) maps += "%1\r\n+k\r\n";
  EXPECT_EQ(ErrorOf(maps), "reply nested deeper than 512 levels");
  // Exactly at the bound is fine.
  std::string ok;
  for (int i = 0; i < 512; ++i) ok += "*1\r\n";
  ok += ":1\r\n";
  std::vector<RespReply> got = ParseAll(ok);
  ASSERT_EQ(got.size(), 1u);
  const RespReply* r = &got[0];
  int depth = 0;
  while (r->type == T::kArray) {
    r = &r->elements[0];
    ++depth;
  }
  EXPECT_EQ(depth, 512);
  EXPECT_EQ(*r, RespReply::Integer(1));
}

TEST(ReplyParserTest, LimitsOnLengthsAndLines) {
  RespReplyLimits limits;
  limits.max_bulk_length = 10;
  limits.max_line_length = 8;
  limits.max_depth = 2;
  auto error = [&](std::string_view bytes) {
    RespReplyParser parser(limits);
    parser.Append(bytes);
    RespReply r;
    RespReplyParser::Result result;
    while ((result = parser.Next(&r)) == RespReplyParser::Result::kComplete) {
    }
    return result == RespReplyParser::Result::kError ? std::string(parser.error()) : "";
  };
  EXPECT_EQ(error("$11\r\n"), "bulk length 11 exceeds the limit of 10 bytes");
  EXPECT_EQ(error("$10\r\n0123456789\r\n"), "");
  EXPECT_EQ(error("+12345678\r\n"), "");
  EXPECT_EQ(error("+123456789\r\n"), "reply line longer than 8 bytes");
  // A line that never ends is refused once it passes the bound, not buffered forever.
  EXPECT_EQ(error("+12345678"), "");
  EXPECT_EQ(error("+123456789"), "reply line longer than 8 bytes");
  EXPECT_EQ(error("*1\r\n*1\r\n:1\r\n"), "");
  EXPECT_EQ(error("*1\r\n*1\r\n*1\r\n"), "reply nested deeper than 2 levels");
  // A huge announced aggregate reserves little and just waits for its elements.
  EXPECT_EQ(error("*40000000\r\n:1\r\n"), "");
}

TEST(ReplyParserTest, LargeBulkThroughPrepareAppend) {
  std::string payload(3 * 1024 * 1024 + 7, 'x');
  for (size_t i = 0; i < payload.size(); i += 4099) payload[i] = static_cast<char>('a' + i % 26);
  std::string bytes = "$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n+after\r\n";
  RespReplyParser parser;
  std::vector<RespReply> got;
  size_t pos = 0;
  while (pos < bytes.size()) {
    std::span<char> space = parser.PrepareAppend(1000);
    ASSERT_GE(space.size(), 1000u);
    size_t n = std::min({space.size(), bytes.size() - pos, size_t{70000}});
    std::copy_n(bytes.data() + pos, n, space.data());
    parser.CommitAppend(n);
    pos += n;
    RespReply r;
    while (parser.Next(&r) == RespReplyParser::Result::kComplete) got.push_back(std::move(r));
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].str, payload);
  EXPECT_EQ(got[1], RespReply::Status("after"));
}

TEST(ReplyParserTest, ErrorIsStickyUntilReset) {
  RespReplyParser parser;
  parser.Append("?\r\n+OK\r\n");
  RespReply r;
  EXPECT_EQ(parser.Next(&r), RespReplyParser::Result::kError);
  EXPECT_EQ(parser.Next(&r), RespReplyParser::Result::kError);
  parser.Reset();
  EXPECT_EQ(parser.error(), "");
  parser.Append("+OK\r\n");
  ASSERT_EQ(parser.Next(&r), RespReplyParser::Result::kComplete);
  EXPECT_EQ(r, RespReply::Status("OK"));
}

// ---- a seeded random round trip ----

void Encode(const RespReply& r, std::string* out) {
  auto header = [&](char c, size_t n) { *out += c + std::to_string(n) + "\r\n"; };
  switch (r.type) {
    case T::kStatus:
      *out += "+" + r.str + "\r\n";
      return;
    case T::kError:
      *out += "-" + r.str + "\r\n";
      return;
    case T::kInteger:
      *out += ":" + std::to_string(r.integer) + "\r\n";
      return;
    case T::kBulk:
      header('$', r.str.size());
      *out += r.str + "\r\n";
      return;
    case T::kNil:
      *out += "_\r\n";
      return;
    case T::kDouble:
      *out += "," + r.str + "\r\n";
      return;
    case T::kBoolean:
      *out += r.integer ? "#t\r\n" : "#f\r\n";
      return;
    case T::kVerbatim:
      header('=', r.str.size() + 4);
      *out += r.format + ":" + r.str + "\r\n";
      return;
    case T::kBigNumber:
      *out += "(" + r.str + "\r\n";
      return;
    case T::kMap:
      header('%', r.elements.size() / 2);
      break;
    case T::kArray:
      header('*', r.elements.size());
      break;
    case T::kSet:
      header('~', r.elements.size());
      break;
    case T::kPush:
      header('>', r.elements.size());
      break;
  }
  for (const RespReply& e : r.elements) Encode(e, out);
}

RespReply Random(std::mt19937_64& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto text = [&](bool binary) {
    std::string s(static_cast<size_t>(pick(20)), ' ');
    for (char& c : s) c = binary ? static_cast<char>(rng()) : static_cast<char>('a' + pick(26));
    return s;
  };
  int kind = pick(depth >= 6 ? 9 : 13);
  RespReply r;
  switch (kind) {
    case 0:
      return RespReply::Status(text(false));
    case 1:
      return RespReply::Error("ERR " + text(false));
    case 2:
      return RespReply::Integer(static_cast<int64_t>(rng()));
    case 3:
      return RespReply::Bulk(text(true));
    case 4:
      return RespReply::Nil();
    case 5:
      r.type = T::kDouble;
      r.number = static_cast<double>(pick(100000)) / 8;
      r.str = std::to_string(r.number);
      return r;
    case 6:
      r.type = T::kBoolean;
      r.integer = pick(2);
      return r;
    case 7:
      r.type = T::kVerbatim;
      r.format = "mkd";
      r.str = text(true);
      return r;
    case 8:
      r.type = T::kBigNumber;
      r.str = std::to_string(rng()) + std::to_string(rng());
      return r;
    default: {
      static constexpr T kAggregates[] = {T::kArray, T::kMap, T::kSet, T::kPush};
      r.type = kAggregates[kind - 9];
      int n = pick(5) * (r.type == T::kMap ? 2 : 1);
      for (int i = 0; i < n; ++i) r.elements.push_back(Random(rng, depth + 1));
      return r;
    }
  }
}

TEST(ReplyParserTest, SeededRandomRepliesInRandomPieces) {
  SCOPED_TRACE(rl::testing::SeedNote());
  std::mt19937_64 rng(rl::testing::TestSeed());
  for (int round = 0; round < 200; ++round) {
    std::vector<RespReply> replies;
    std::string bytes;
    for (int i = 0; i < 20; ++i) {
      replies.push_back(Random(rng, 0));
      Encode(replies.back(), &bytes);
    }
    size_t step = 1 + rng() % 64;
    ASSERT_EQ(ParseAll(bytes, step), replies) << "round " << round << " step " << step;
  }
}

}  // namespace
}  // namespace rl::proxy
