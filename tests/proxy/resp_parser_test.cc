// RequestParser: every input is also fed split at every byte (and byte by byte), with the
// partial request moved to a fresh buffer between reads as ClientConn does.
#include "proxy/resp/resp_parser.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/base/decimal.h"
#include "tests/support/test_seed.h"

namespace rl::proxy {
namespace {

struct Outcome {
  std::vector<std::vector<std::string>> requests;  // ignored requests appear as {}
  std::vector<bool> inline_flags;
  std::string error;    // set when the stream ended in a protocol error
  size_t leftover = 0;  // bytes of an unfinished request at the end
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{";
  for (const auto& r : o.requests) {
    os << "[";
    for (const auto& a : r) os << "'" << a << "' ";
    os << "] ";
  }
  return os << "error='" << o.error << "' leftover=" << o.leftover << "}";
}

// Feeds `pieces` in order. Like a connection, keeps only the unparsed tail, copying it into a
// new buffer between pieces so that the parser must not hold pointers into old memory.
Outcome ParseStream(const std::vector<std::string>& pieces, const RequestLimits& limits = {}) {
  Outcome out;
  RequestParser parser(limits);
  std::string buffer;
  for (const std::string& piece : pieces) {
    std::string moved = buffer + piece;  // the tail now lives elsewhere
    buffer.swap(moved);
    size_t pos = 0;
    for (;;) {
      auto result = parser.Parse(buffer.data() + pos, buffer.size() - pos);
      if (result == RequestParser::Result::kIncomplete) break;
      if (result == RequestParser::Result::kError) {
        out.error = std::string(parser.error());
        return out;
      }
      std::vector<std::string> args;
      for (size_t i = 0; i < parser.args().size(); ++i) {
        args.emplace_back(parser.ArgView(buffer.data() + pos, i));
      }
      out.requests.push_back(std::move(args));
      out.inline_flags.push_back(parser.is_inline());
      pos += parser.length();
      parser.Reset();
    }
    buffer.erase(0, pos);
  }
  out.leftover = buffer.size();
  return out;
}

// Checks that every two-piece split and byte-by-byte feeding give the same outcome as one read.
void ExpectSplitInvariant(const std::string& input, const RequestLimits& limits = {}) {
  Outcome whole = ParseStream({input}, limits);
  for (size_t i = 0; i <= input.size(); ++i) {
    SCOPED_TRACE("split at " + std::to_string(i));
    ASSERT_EQ(ParseStream({input.substr(0, i), input.substr(i)}, limits), whole);
  }
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  ASSERT_EQ(ParseStream(bytes, limits), whole);
}

std::string Encode(const std::vector<std::string>& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

TEST(RespParserTest, MultibulkRequests) {
  std::string input = Encode({"SET", "key", "value"}) + Encode({"GET", "key"}) +
                      Encode({"MGET", "a", "", std::string("b\0\r\n", 4)});
  Outcome o = ParseStream({input});
  ASSERT_EQ(o.error, "");
  ASSERT_EQ(o.requests.size(), 3u);
  EXPECT_EQ(o.requests[0], (std::vector<std::string>{"SET", "key", "value"}));
  EXPECT_EQ(o.requests[1], (std::vector<std::string>{"GET", "key"}));
  EXPECT_EQ(o.requests[2], (std::vector<std::string>{"MGET", "a", "", std::string("b\0\r\n", 4)}));
  EXPECT_EQ(o.leftover, 0u);
  ExpectSplitInvariant(input);
}

TEST(RespParserTest, ArgSpansPointIntoTheRequest) {
  std::string input = Encode({"GET", "k1"});
  RequestParser parser;
  ASSERT_EQ(parser.Parse(input.data(), input.size()), RequestParser::Result::kComplete);
  ASSERT_EQ(parser.length(), input.size());
  ASSERT_EQ(parser.args().size(), 2u);
  const ArgSpan& key = parser.args()[1];
  EXPECT_EQ(input.substr(key.header, key.end() - key.header), "$2\r\nk1\r\n");
  EXPECT_FALSE(parser.is_inline());
}

TEST(RespParserTest, InlineCommands) {
  Outcome o = ParseStream({"PING\r\nSET a \"b c\"\nECHO 'it\\'s'\r\n\r\n   \r\nGET\tx\r\n"});
  ASSERT_EQ(o.error, "");
  ASSERT_EQ(o.requests.size(), 6u);
  EXPECT_EQ(o.requests[0], (std::vector<std::string>{"PING"}));
  EXPECT_EQ(o.requests[1], (std::vector<std::string>{"SET", "a", "b c"}));
  EXPECT_EQ(o.requests[2], (std::vector<std::string>{"ECHO", "it's"}));
  EXPECT_TRUE(o.requests[3].empty());  // empty lines are ignored, as by Redis
  EXPECT_TRUE(o.requests[4].empty());
  EXPECT_EQ(o.requests[5], (std::vector<std::string>{"GET", "x"}));
  EXPECT_TRUE(o.inline_flags[0]);
  ExpectSplitInvariant("PING\r\nSET a \"b c\"\nECHO 'it\\'s'\r\n\r\n   \r\nGET\tx\r\n");
}

TEST(RespParserTest, InlineEscapes) {
  Outcome o = ParseStream({"SET \"\\x41\\n\\t\\\"q\\z\" x\"y\"\r\n"});
  ASSERT_EQ(o.error, "");
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0], (std::vector<std::string>{"SET", "A\n\t\"qz", "xy"}));
}

TEST(RespParserTest, InlineUnbalancedQuotes) {
  for (std::string bad : {"SET \"abc\r\n", "SET 'abc\r\n", "SET \"a\"b\r\n", "SET 'a'b\r\n"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseStream({bad}).error, "Protocol error: unbalanced quotes in request");
    ExpectSplitInvariant(bad);
  }
}

TEST(RespParserTest, TooBigInline) {
  std::string garbage(64 * 1024, 'x');
  Outcome o = ParseStream({garbage});
  EXPECT_EQ(o.error, "");  // exactly the limit: still waiting for a newline
  o = ParseStream({garbage + "y"});
  EXPECT_EQ(o.error, "Protocol error: too big inline request");
  // One megabyte of garbage arriving in pieces fails as soon as the limit is passed.
  std::vector<std::string> pieces(64, std::string(16 * 1024, 'g'));
  EXPECT_EQ(ParseStream(pieces).error, "Protocol error: too big inline request");
}

TEST(RespParserTest, EmptyAndNullMultibulkAreIgnored) {
  Outcome o = ParseStream({"*0\r\n*-1\r\n" + Encode({"PING"})});
  ASSERT_EQ(o.error, "");
  ASSERT_EQ(o.requests.size(), 3u);
  EXPECT_TRUE(o.requests[0].empty());
  EXPECT_TRUE(o.requests[1].empty());
  EXPECT_EQ(o.requests[2], (std::vector<std::string>{"PING"}));
}

TEST(RespParserTest, ProtocolErrors) {
  struct Case {
    std::string input;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"*abc\r\n", "Protocol error: invalid multibulk length"},
      {"*-5\r\n", "Protocol error: invalid multibulk length"},
      {"*+1\r\n", "Protocol error: invalid multibulk length"},
      {"*01\r\n", "Protocol error: invalid multibulk length"},
      {"*1048577\r\n", "Protocol error: invalid multibulk length"},
      {"*99999999999999999999999\r\n", "Protocol error: invalid multibulk length"},
      {"*1\rx", "Protocol error: invalid multibulk length"},
      {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$99999999999999999999999999\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n*1\r\n$4\r\nPING\r\n", "Protocol error: expected '$', got '*'"},
      {"*2\r\n$3\r\nGET\r\n:1\r\n", "Protocol error: expected '$', got ':'"},
      {"*1\r\n\r\n", "Protocol error: expected '$', got ' '"},
      {"*1\r\n$4\r\nPINGxx", "Protocol error: bulk string not followed by CRLF"},
      {"*1\r\n$4\r\nPING\n\r", "Protocol error: bulk string not followed by CRLF"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    EXPECT_EQ(ParseStream({c.input}).error, c.error);
    ExpectSplitInvariant(c.input);
  }
}

TEST(RespParserTest, TooBigCountStrings) {
  EXPECT_EQ(ParseStream({"*" + std::string(70000, '1')}).error,
            "Protocol error: too big mbulk count string");
  EXPECT_EQ(ParseStream({"*1\r\n$" + std::string(70000, '1')}).error,
            "Protocol error: too big bulk count string");
}

TEST(RespParserTest, ConfigurableLimits) {
  RequestLimits limits;
  limits.max_bulk_length = 3;
  limits.max_multibulk_length = 2;
  limits.max_inline_length = 8;
  EXPECT_EQ(ParseStream({Encode({"GET", "abc"})}, limits).error, "");
  EXPECT_EQ(ParseStream({Encode({"GET", "abcd"})}, limits).error,
            "Protocol error: invalid bulk length");
  EXPECT_EQ(ParseStream({Encode({"a", "b", "c"})}, limits).error,
            "Protocol error: invalid multibulk length");
  EXPECT_EQ(ParseStream({"PINGPINGP"}, limits).error, "Protocol error: too big inline request");
}

TEST(RespParserTest, UnterminatedRequestIsLeftOver) {
  Outcome o = ParseStream({"*2\r\n$3\r\nGET\r\n$5\r\nab"});
  EXPECT_EQ(o.error, "");
  EXPECT_TRUE(o.requests.empty());
  EXPECT_EQ(o.leftover, 19u);
}

TEST(RespParserTest, NeededAnnouncesLargeBulk) {
  std::string head = "*2\r\n$3\r\nSET\r\n$1000000\r\n";
  RequestParser parser;
  ASSERT_EQ(parser.Parse(head.data(), head.size()), RequestParser::Result::kIncomplete);
  EXPECT_EQ(parser.needed(), head.size() + 1000000 + 2);
}

TEST(RespParserTest, TenThousandPipelinedRequests) {
  std::string input;
  for (int i = 0; i < 10000; ++i) input += Encode({"GET", "key:" + std::to_string(i)});
  Outcome o = ParseStream({input});
  ASSERT_EQ(o.requests.size(), 10000u);
  EXPECT_EQ(o.requests[9999][1], "key:9999");
}

TEST(RespParserTest, RandomStreamsSplitAnywhere) {
  SCOPED_TRACE(rl::testing::SeedNote());
  std::mt19937 rng(rl::testing::TestSeed());
  for (int round = 0; round < 200; ++round) {
    std::vector<std::vector<std::string>> expected;
    std::string input;
    int n = 1 + static_cast<int>(rng() % 20);
    for (int r = 0; r < n; ++r) {
      std::vector<std::string> args;
      int argc = 1 + static_cast<int>(rng() % 6);
      for (int a = 0; a < argc; ++a) {
        std::string arg(rng() % 40, '\0');
        for (char& c : arg) c = static_cast<char>(rng());
        args.push_back(arg);
      }
      input += Encode(args);
      expected.push_back(args);
    }
    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < input.size();) {
      size_t len = 1 + rng() % 64;
      pieces.push_back(input.substr(pos, len));
      pos += len;
    }
    Outcome o = ParseStream(pieces);
    ASSERT_EQ(o.error, "");
    ASSERT_EQ(o.requests, expected);
  }
}

TEST(RespParserTest, StrictIntegers) {
  int64_t v = 0;
  EXPECT_TRUE(ParseStrictInt("0", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(ParseStrictInt("-1", &v));
  EXPECT_EQ(v, -1);
  EXPECT_TRUE(ParseStrictInt("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_TRUE(ParseStrictInt("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  for (const char* bad : {"", "-", "-0", "01", "+1", " 1", "1 ", "1a", "9223372036854775808",
                          "-9223372036854775809", "18446744073709551616"}) {
    EXPECT_FALSE(ParseStrictInt(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace rl::proxy
