// The fenced-write script (lock/fence.h) on a real redis-server: a current or newer token runs
// the write and raises the mark; a stale token is refused with the FENCED text and changes
// nothing; the write's own replies and errors come back as they are; marks are per lock; the
// argv form works over a plain connection and after SCRIPT FLUSH.
#include "lock/fence.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/lock/master_fixture.h"

namespace rl::lock {
namespace {

using proxy::RespReply;
using proxy::RespResult;

class FenceTest : public MasterFixture {
 protected:
  RespReply Write(std::string_view lock, uint64_t token, std::vector<std::string> command,
                  std::vector<std::string> keys) {
    RespResult r = Await<RespResult>(
        [&](auto done) { FencedWrite(client(), lock, token, command, keys, std::move(done)); });
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r.value_or(RespReply::Error("no reply"));
  }
  std::string Get(const std::string& key) {
    auto d = Direct();
    auto r = d.Command({"GET", key});
    if (!r || r->type != REDIS_REPLY_STRING) return "(nil)";
    return std::string(r->str, r->len);
  }
};

TEST_F(FenceTest, CurrentTokenWritesAndRaisesTheMark) {
  EXPECT_EQ(Write("L", 5, {"SET", "k", "v5"}, {"k"}), RespReply::Status("OK"));
  EXPECT_EQ(Get("k"), "v5");
  EXPECT_EQ(Get(ShardMarkKey("L")), "5");
  EXPECT_EQ(Write("L", 5, {"SET", "k", "again"}, {"k"}), RespReply::Status("OK"))
      << "the holder writes again with the same token";
  EXPECT_EQ(Write("L", 9, {"SET", "k", "v9"}, {"k"}), RespReply::Status("OK"));
  EXPECT_EQ(Get(ShardMarkKey("L")), "9");
}

TEST_F(FenceTest, StaleTokenIsRefusedAndChangesNothing) {
  ASSERT_EQ(Write("L", 10, {"SET", "k", "new"}, {"k"}), RespReply::Status("OK"));
  RespReply refused = Write("L", 9, {"SET", "k", "old"}, {"k"});
  EXPECT_EQ(refused, RespReply::Error("FENCED stale token 9 < 10 for lock L"));
  EXPECT_EQ(Get("k"), "new");
  EXPECT_EQ(Get(ShardMarkKey("L")), "10");
  EXPECT_EQ(Write("L", 9, {"DEL", "k"}, {"k"}).type, RespReply::Type::kError);
  EXPECT_EQ(Get("k"), "new") << "a refused DEL deleted nothing";
  // Beyond double precision: 2^53 + 1 > 2^53.
  ASSERT_EQ(Write("B", 9007199254740993ull, {"SET", "b", "x"}, {"b"}), RespReply::Status("OK"));
  EXPECT_EQ(Write("B", 9007199254740992ull, {"SET", "b", "y"}, {"b"}).type,
            RespReply::Type::kError);
  EXPECT_EQ(Get("b"), "x");
}

TEST_F(FenceTest, MarksArePerLock) {
  ASSERT_EQ(Write("L", 100, {"SET", "k", "x"}, {"k"}), RespReply::Status("OK"));
  EXPECT_EQ(Write("M", 1, {"SET", "k", "y"}, {"k"}), RespReply::Status("OK"));
  EXPECT_EQ(Get("k"), "y");
}

TEST_F(FenceTest, TheWritesOwnRepliesAndErrorsPassThrough) {
  EXPECT_EQ(Write("L", 1, {"INCR", "n"}, {"n"}), RespReply::Integer(1));
  EXPECT_EQ(Write("L", 1, {"INCRBY", "n", "4"}, {"n"}), RespReply::Integer(5));
  RespReply wrong = Write("L", 2, {"LPUSH", "n", "x"}, {"n"});
  ASSERT_EQ(wrong.type, RespReply::Type::kError);
  EXPECT_TRUE(wrong.str.starts_with("WRONGTYPE")) << wrong.str;
  RespReply arr = Write("L", 2, {"HSET", "h", "f", "v"}, {"h"});
  EXPECT_EQ(arr, RespReply::Integer(1));
}

TEST_F(FenceTest, ArgvFormOverAPlainConnectionAndAfterScriptFlush) {
  auto d = Direct();
  ASSERT_TRUE(d.Command({"SCRIPT", "FLUSH"}));
  std::vector<std::string> command{"SET", "k", "v"}, keys{"k"};
  auto by_sha = d.Command(FencedWriteArgv(true, "L", 3, command, keys));
  ASSERT_TRUE(by_sha);
  ASSERT_EQ(by_sha->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(std::string(by_sha->str).starts_with("NOSCRIPT"));
  auto by_source = d.Command(FencedWriteArgv(false, "L", 3, command, keys));
  ASSERT_TRUE(by_source);
  EXPECT_EQ(by_source->type, REDIS_REPLY_STATUS);
  auto stale = d.Command(FencedWriteArgv(true, "L", 2, command, keys));
  ASSERT_TRUE(stale);
  ASSERT_EQ(stale->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string(stale->str), "FENCED stale token 2 < 3 for lock L");
  ASSERT_TRUE(d.Command({"SCRIPT", "FLUSH"}));
  EXPECT_EQ(Write("L", 4, {"SET", "k", "w"}, {"k"}), RespReply::Status("OK"))
      << "FencedWrite falls back to EVAL";
}

}  // namespace
}  // namespace rl::lock
