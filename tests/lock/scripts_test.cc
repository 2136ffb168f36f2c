// The lock masters' scripts (lock/scripts.h) on a real redis-server: grant, held, the stale-token
// refusal by the high-water mark (also beyond 2^53, where a Lua double would round), reentrancy,
// compare-and-act release and extend, info, force-release raising the mark, the NOSCRIPT
// fallback, and a master that cannot be reached.
#include "lock/scripts.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <expected>
#include <string>

#include "tests/lock/master_fixture.h"

namespace rl::lock {
namespace {

using Outcome = AcquireReply::Outcome;
using AcquireResult = std::expected<AcquireReply, Error>;
using BoolResult = std::expected<bool, Error>;
using InfoResult = std::expected<InfoReply, Error>;

std::string Show(const Error& e) { return fmt::format("{}: {}", CodeName(e.code), e.message); }

class ScriptsTest : public MasterFixture {
 protected:
  AcquireReply Take(std::string_view name, std::string_view owner, uint64_t token,
                    uint64_t ttl_ms = 10000, bool reentrant = false) {
    auto r = Await<AcquireResult>([&](auto done) {
      Acquire(client(), name, owner, token, ttl_ms, reentrant, std::move(done));
    });
    EXPECT_TRUE(r.has_value()) << Show(r.error());
    return r.value_or(AcquireReply{});
  }
  bool Drop(std::string_view name, std::string_view owner, uint64_t token) {
    auto r = Await<BoolResult>(
        [&](auto done) { Release(client(), name, owner, token, std::move(done)); });
    EXPECT_TRUE(r.has_value()) << Show(r.error());
    return r.value_or(false);
  }
  bool Renew(std::string_view name, std::string_view owner, uint64_t token, uint64_t ttl_ms) {
    auto r = Await<BoolResult>(
        [&](auto done) { Extend(client(), name, owner, token, ttl_ms, std::move(done)); });
    EXPECT_TRUE(r.has_value()) << Show(r.error());
    return r.value_or(false);
  }
  InfoReply Look(std::string_view name) {
    auto r = Await<InfoResult>([&](auto done) { Info(client(), name, std::move(done)); });
    EXPECT_TRUE(r.has_value()) << Show(r.error());
    return r.value_or(InfoReply{});
  }
  std::string Get(const std::string& key) {
    auto d = Direct();
    auto r = d.Command({"GET", key});
    if (!r || r->type != REDIS_REPLY_STRING) return "(nil)";
    return std::string(r->str, r->len);
  }
  long long Pttl(const std::string& key) {
    auto d = Direct();
    auto r = d.Command({"PTTL", key});
    return r ? r->integer : -100;
  }
};

TEST_F(ScriptsTest, KeysAreHashTaggedUnderThePrefix) {
  EXPECT_EQ(HolderKey("jobs"), "rl:lock:{jobs}");
  EXPECT_EQ(FenceKey("jobs"), "rl:lock:{jobs}:fence");
  EXPECT_EQ(GetScript(ScriptId::kAcquire).sha1.size(), 40u);
}

TEST_F(ScriptsTest, GrantSetsHolderLeaseAndMark) {
  AcquireReply r = Take("a", "alice", 7, 5000);
  EXPECT_EQ(r.outcome, Outcome::kGranted);
  EXPECT_EQ(r.token, 7u);
  EXPECT_EQ(Get(HolderKey("a")), "7 alice");
  EXPECT_EQ(Get(FenceKey("a")), "7");
  long long pttl = Pttl(HolderKey("a"));
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 5000);
  EXPECT_EQ(Pttl(FenceKey("a")), -1) << "the mark never expires";
}

TEST_F(ScriptsTest, HeldLockReportsTheHolder) {
  Take("a", "alice", 7);
  AcquireReply r = Take("a", "bob", 8);
  EXPECT_EQ(r.outcome, Outcome::kHeld);
  EXPECT_EQ(r.token, 7u);
  EXPECT_EQ(r.owner, "alice");
  EXPECT_GT(r.lease_ms, 0);
  EXPECT_LE(r.lease_ms, 10000);
  EXPECT_EQ(Get(FenceKey("a")), "7") << "a refused attempt leaves the mark";
}

TEST_F(ScriptsTest, StaleTokenRefusedAfterNewerGrant) {
  Take("a", "alice", 10);
  ASSERT_TRUE(Drop("a", "alice", 10));
  AcquireReply older = Take("a", "bob", 9);
  EXPECT_EQ(older.outcome, Outcome::kStale);
  EXPECT_EQ(older.token, 10u) << "the refusal names the mark";
  EXPECT_EQ(Take("a", "bob", 10).outcome, Outcome::kStale) << "a token grants once";
  EXPECT_EQ(Get(HolderKey("a")), "(nil)") << "a refused grant wrote nothing";
  AcquireReply newer = Take("a", "bob", 11);
  EXPECT_EQ(newer.outcome, Outcome::kGranted);
  EXPECT_EQ(Get(FenceKey("a")), "11");
}

TEST_F(ScriptsTest, TokensCompareExactlyBeyondDoublePrecision) {
  // 2^53 + 1 and 2^53 are the same double: a numeric compare in Lua would call them equal.
  Take("big", "alice", 9007199254740993ull);
  ASSERT_TRUE(Drop("big", "alice", 9007199254740993ull));
  EXPECT_EQ(Take("big", "bob", 9007199254740992ull).outcome, Outcome::kStale);
  EXPECT_EQ(Take("big", "bob", 9007199254740994ull).outcome, Outcome::kGranted);
  // Length decides first: 10 > 9.
  Take("len", "alice", 9);
  ASSERT_TRUE(Drop("len", "alice", 9));
  EXPECT_EQ(Take("len", "bob", 10).outcome, Outcome::kGranted);
}

TEST_F(ScriptsTest, ReentrantKeepsTokenAndRefreshesLease) {
  Take("a", "alice", 5, 1000);
  EXPECT_EQ(Take("a", "alice", 6, 1000, false).outcome, Outcome::kHeld) << "not reentrant";
  AcquireReply again = Take("a", "alice", 6, 60000, true);
  EXPECT_EQ(again.outcome, Outcome::kGranted);
  EXPECT_EQ(again.token, 5u) << "reentrant grant answers the token held";
  EXPECT_GT(Pttl(HolderKey("a")), 1000);
  EXPECT_EQ(Get(FenceKey("a")), "5");
  EXPECT_EQ(Take("a", "bob", 7, 1000, true).outcome, Outcome::kHeld) << "another owner";
  // A retried attempt (same owner, same token) is granted again without REENTRANT.
  EXPECT_EQ(Take("a", "alice", 5, 1000, false).outcome, Outcome::kGranted);
}

TEST_F(ScriptsTest, ReleaseAndExtendCompareOwnerAndToken) {
  Take("a", "alice", 3, 2000);
  EXPECT_FALSE(Drop("a", "bob", 3));
  EXPECT_FALSE(Drop("a", "alice", 4));
  EXPECT_FALSE(Renew("a", "bob", 3, 60000));
  EXPECT_LE(Pttl(HolderKey("a")), 2000) << "a refused extend changed nothing";
  EXPECT_TRUE(Renew("a", "alice", 3, 60000));
  EXPECT_GT(Pttl(HolderKey("a")), 2000);
  EXPECT_TRUE(Drop("a", "alice", 3));
  EXPECT_EQ(Get(HolderKey("a")), "(nil)");
  EXPECT_EQ(Get(FenceKey("a")), "3") << "release keeps the mark";
  EXPECT_FALSE(Drop("a", "alice", 3)) << "twice";
  EXPECT_FALSE(Renew("a", "alice", 3, 1000)) << "an expired or released lock is not extended";
}

TEST_F(ScriptsTest, OwnerWithSpacesRoundTrips) {
  Take("a", "host 1 pid 2", 3);
  AcquireReply r = Take("a", "other", 4);
  EXPECT_EQ(r.owner, "host 1 pid 2");
  EXPECT_TRUE(Drop("a", "host 1 pid 2", 3));
}

TEST_F(ScriptsTest, InfoFreeAndHeld) {
  InfoReply free = Look("a");
  EXPECT_FALSE(free.holder.has_value());
  EXPECT_EQ(free.high_water, 0u);
  Take("a", "alice", 12, 4000);
  InfoReply held = Look("a");
  ASSERT_TRUE(held.holder.has_value());
  EXPECT_EQ(held.holder->token, 12u);
  EXPECT_EQ(held.holder->owner, "alice");
  EXPECT_GT(held.holder->pttl_ms, 0);
  EXPECT_LE(held.holder->pttl_ms, 4000);
  EXPECT_EQ(held.high_water, 12u);
}

TEST_F(ScriptsTest, ForceReleaseDeletesAndRaisesTheMark) {
  Take("a", "alice", 4);
  auto forced =
      Await<BoolResult>([&](auto done) { ForceRelease(client(), "a", 20, std::move(done)); });
  ASSERT_TRUE(forced.has_value()) << Show(forced.error());
  EXPECT_TRUE(*forced);
  EXPECT_EQ(Get(HolderKey("a")), "(nil)");
  EXPECT_EQ(Get(FenceKey("a")), "20");
  EXPECT_FALSE(Drop("a", "alice", 4)) << "the evicted holder no longer holds it";
  EXPECT_EQ(Take("a", "bob", 19).outcome, Outcome::kStale);
  EXPECT_EQ(Take("a", "bob", 21).outcome, Outcome::kGranted);
  // A lower fence never lowers the mark.
  auto again =
      Await<BoolResult>([&](auto done) { ForceRelease(client(), "a", 2, std::move(done)); });
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(*again);
  EXPECT_EQ(Get(FenceKey("a")), "21");
  auto none =
      Await<BoolResult>([&](auto done) { ForceRelease(client(), "a", 2, std::move(done)); });
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(*none) << "nothing held";
}

TEST_F(ScriptsTest, NoScriptFallsBackToEvalAndCachesTheScript) {
  const std::string& sha = GetScript(ScriptId::kAcquire).sha1;
  {
    auto d = Direct();
    auto flushed = d.Command({"SCRIPT", "FLUSH"});
    ASSERT_TRUE(flushed);
    auto exists = d.Command({"SCRIPT", "EXISTS", sha});
    ASSERT_TRUE(exists && exists->elements == 1);
    ASSERT_EQ(exists->element[0]->integer, 0);
  }
  EXPECT_EQ(Take("a", "alice", 1).outcome, Outcome::kGranted);
  auto d = Direct();
  auto exists = d.Command({"SCRIPT", "EXISTS", sha});
  ASSERT_TRUE(exists && exists->elements == 1);
  EXPECT_EQ(exists->element[0]->integer, 1) << "EVAL cached it under the SHA1 we computed";
  EXPECT_EQ(Take("a", "bob", 2).outcome, Outcome::kHeld) << "and EVALSHA now runs it";
}

TEST_F(ScriptsTest, CorruptHolderValueIsAnError) {
  auto d = Direct();
  ASSERT_TRUE(d.Command({"SET", HolderKey("a"), "nospace"}));
  auto r = Await<AcquireResult>(
      [&](auto done) { Acquire(client(), "a", "alice", 1, 1000, false, std::move(done)); });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Error::Code::kBadReply) << Show(r.error());
}

TEST_F(ScriptsTest, UnreachableMasterIsAMasterError) {
  servers_.clear();  // stops the server
  auto r = Await<AcquireResult>(
      [&](auto done) { Acquire(client(), "a", "alice", 1, 1000, false, std::move(done)); });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Error::Code::kMaster) << Show(r.error());
  EXPECT_NE(r.error().message.find(client().address()), std::string::npos) << Show(r.error());
}

}  // namespace
}  // namespace rl::lock
