// ReplyScanner (split at every byte, moved between reads), ReadReplyValue, ArrayElements and
// the reply writer.
#include "proxy/resp/reply_scanner.h"

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/resp/reply_writer.h"
#include "tests/support/test_seed.h"

namespace rl::proxy {
namespace {

struct Scanned {
  std::vector<std::string> replies;
  std::string error;
  size_t leftover = 0;
  bool operator==(const Scanned&) const = default;
};

Scanned ScanStream(const std::vector<std::string>& pieces) {
  Scanned out;
  ReplyScanner scanner;
  std::string buffer;
  for (const std::string& piece : pieces) {
    std::string moved = buffer + piece;
    buffer.swap(moved);
    size_t pos = 0;
    for (;;) {
      auto r = scanner.Scan(buffer.data() + pos, buffer.size() - pos);
      if (r == ReplyScanner::Result::kIncomplete) break;
      if (r == ReplyScanner::Result::kError) {
        out.error = std::string(scanner.error());
        return out;
      }
      out.replies.push_back(buffer.substr(pos, scanner.length()));
      pos += scanner.length();
      scanner.Reset();
    }
    buffer.erase(0, pos);
  }
  out.leftover = buffer.size();
  return out;
}

void ExpectSplitInvariant(const std::string& input) {
  Scanned whole = ScanStream({input});
  for (size_t i = 0; i <= input.size(); ++i) {
    SCOPED_TRACE("split at " + std::to_string(i));
    ASSERT_EQ(ScanStream({input.substr(0, i), input.substr(i)}), whole);
  }
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  ASSERT_EQ(ScanStream(bytes), whole);
}

const std::vector<std::string> kReplies = {
    "+OK\r\n",
    "-ERR unknown command 'x'\r\n",
    ":0\r\n",
    ":-42\r\n",
    "$-1\r\n",
    "$0\r\n\r\n",
    "$5\r\nhe\r\nl\r\n",
    "*-1\r\n",
    "*0\r\n",
    "*3\r\n$1\r\na\r\n$-1\r\n:7\r\n",
    "*2\r\n*2\r\n+a\r\n*0\r\n*1\r\n*1\r\n-ERR x\r\n",
};

TEST(ReplyScannerTest, EveryKindSplitAnywhere) {
  std::string all;
  for (const auto& r : kReplies) all += r;
  Scanned s = ScanStream({all});
  ASSERT_EQ(s.error, "");
  EXPECT_EQ(s.replies, kReplies);
  EXPECT_EQ(s.leftover, 0u);
  ExpectSplitInvariant(all);
}

TEST(ReplyScannerTest, Garbage) {
  for (std::string bad :
       {"hello\r\n", "$abc\r\n", "$-2\r\n", "*-2\r\n", ":1x\r\n", "$3\r\nabcde", "+OK\rX"}) {
    SCOPED_TRACE(bad);
    EXPECT_NE(ScanStream({bad}).error, "");
    ExpectSplitInvariant(bad);
  }
}

TEST(ReplyScannerTest, DepthLimit) {
  std::string deep;
  for (int i = 0; i < ReplyScanner::kMaxDepth; ++i) deep += "*1\r\n";
  EXPECT_EQ(ScanStream({deep + ":1\r\n"}).error, "");
  EXPECT_EQ(ScanStream({deep + "*1\r\n:1\r\n"}).error, "reply nested too deeply");
}

TEST(ReplyScannerTest, RandomNestedReplies) {
  SCOPED_TRACE(rl::testing::SeedNote());
  std::mt19937 rng(rl::testing::TestSeed());
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    switch (rng() % (depth < 4 ? 6 : 5)) {
      case 0:
        return "+s" + std::to_string(rng() % 100) + "\r\n";
      case 1:
        return "-E" + std::to_string(rng() % 100) + "\r\n";
      case 2:
        return ":" + std::to_string(static_cast<int32_t>(rng())) + "\r\n";
      case 3: {
        std::string v(rng() % 20, 'v');
        for (char& c : v) c = static_cast<char>(rng());
        return "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
      }
      case 4:
        return "$-1\r\n";
      default: {
        int n = static_cast<int>(rng() % 5);
        std::string s = "*" + std::to_string(n) + "\r\n";
        for (int i = 0; i < n; ++i) s += gen(depth + 1);
        return s;
      }
    }
  };
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> expected;
    std::string input;
    for (int i = 0; i < 10; ++i) {
      expected.push_back(gen(0));
      input += expected.back();
    }
    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < input.size();) {
      size_t len = 1 + rng() % 32;
      pieces.push_back(input.substr(pos, len));
      pos += len;
    }
    Scanned s = ScanStream(pieces);
    ASSERT_EQ(s.error, "");
    ASSERT_EQ(s.replies, expected);
  }
}

TEST(ReplyValueTest, ReadsTopLevel) {
  ReplyValue v;
  ASSERT_TRUE(ReadReplyValue(":12\r\n", &v));
  EXPECT_EQ(v.type, ':');
  EXPECT_EQ(v.integer, 12);
  ASSERT_TRUE(ReadReplyValue("-ERR bad\r\n", &v));
  EXPECT_EQ(v.text, "ERR bad");
  ASSERT_TRUE(ReadReplyValue("$3\r\nabc\r\n", &v));
  EXPECT_EQ(v.text, "abc");
  ASSERT_TRUE(ReadReplyValue("$-1\r\n", &v));
  EXPECT_TRUE(v.null);
  ASSERT_TRUE(ReadReplyValue("*2\r\n:1\r\n:2\r\n", &v));
  EXPECT_EQ(v.integer, 2);
  EXPECT_EQ(v.header_length, 4u);
  EXPECT_FALSE(ReadReplyValue("?\r\n", &v));
}

TEST(ArrayElementsTest, WalksElements) {
  ArrayElements e("*3\r\n$1\r\na\r\n*2\r\n:1\r\n:2\r\n$-1\r\n");
  EXPECT_EQ(e.count(), 3);
  EXPECT_EQ(e.Next(), "$1\r\na\r\n");
  EXPECT_EQ(e.Next(), "*2\r\n:1\r\n:2\r\n");
  EXPECT_EQ(e.Next(), "$-1\r\n");
  EXPECT_EQ(e.Next(), "");
}

TEST(ReplyWriterTest, Formats) {
  std::string out;
  AppendStatus(&out, "OK");
  AppendError(&out, "ERR a\r\nb");
  AppendInteger(&out, -3);
  AppendBulk(&out, "xy");
  AppendNullBulk(&out);
  AppendArrayHeader(&out, 2);
  AppendNullArray(&out);
  EXPECT_EQ(out, "+OK\r\n-ERR a  b\r\n:-3\r\n$2\r\nxy\r\n$-1\r\n*2\r\n*-1\r\n");
}

}  // namespace
}  // namespace rl::proxy
