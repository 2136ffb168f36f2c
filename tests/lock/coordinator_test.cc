// The Redlock coordinator (lock/coordinator.h) over three real redis-servers: grant on all and on
// a quorum (one master down), TRYAGAIN with two down leaving no key on the live one, held locks
// answer nil, a master that saw a newer grant refuses a stale token (and the source is moved past
// it), expiry during acquisition (a fake clock) fails and releases, validity below ttl, extend and
// release compare owner and token. Orders are proven with marker requests on the same masters.
#include "lock/coordinator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "lock/scripts.h"
#include "tests/lock/master_fixture.h"

namespace rl::lock {
namespace {

using AcquireResult = std::expected<std::optional<Grant>, Error>;
using BoolResult = std::expected<bool, Error>;
using ExtendResult = std::expected<uint64_t, Error>;

class CoordinatorTest : public MasterFixture {
 protected:
  CoordinatorTest() : MasterFixture(3) {}

  std::unique_ptr<Coordinator> Make(CoordinatorOptions o = {}) {
    // Generous per-master bound: the shared test machine can stall a first loopback connect
    // past the production default of 200 ms. A stopped master costs each round this much.
    o.master_timeout = std::chrono::milliseconds(2000);
    for (uint16_t port : ports_) {
      proxy::RespClientOptions m;
      m.port = port;
      m.reconnect_min = std::chrono::milliseconds(10);
      m.reconnect_max = std::chrono::milliseconds(50);
      o.masters.push_back(std::move(m));
    }
    return std::make_unique<Coordinator>(&loop_, &tokens_, std::move(o));
  }
  AcquireResult Take(Coordinator& c, const std::string& name, const std::string& owner,
                     uint64_t ttl = 10000) {
    return Await<AcquireResult>(
        [&](auto done) { c.Acquire(name, owner, ttl, false, std::move(done)); });
  }
  BoolResult Drop(Coordinator& c, const std::string& name, const std::string& owner,
                  uint64_t token) {
    return Await<BoolResult>([&](auto done) { c.Release(name, owner, token, std::move(done)); });
  }
  std::string Get(size_t i, const std::string& key) {
    auto d = Direct(i);
    auto r = d.Command({"GET", key});
    if (!r || r->type != REDIS_REPLY_STRING) return "(nil)";
    return std::string(r->str, r->len);
  }

  MemoryTokenSource tokens_;
};

TEST_F(CoordinatorTest, GrantsOnAllMastersWithValidityBelowTtl) {
  auto c = Make();
  EXPECT_EQ(c->quorum(), 2u);
  AcquireResult r = Take(*c, "a", "alice", 10000);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  Grant g = **r;
  EXPECT_GT(g.token, 0u);
  EXPECT_LE(g.validity_ms, 10000u - c->DriftMs(10000));
  EXPECT_GT(g.validity_ms, 0u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(Get(i, HolderKey("a")), fmt::format("{} alice", g.token));
  AcquireResult other = Take(*c, "a", "bob");
  ASSERT_TRUE(other.has_value()) << other.error().message;
  EXPECT_FALSE(other->has_value()) << "held: nil";
  BoolResult wrong = Drop(*c, "a", "bob", g.token);
  ASSERT_TRUE(wrong.has_value());
  EXPECT_FALSE(*wrong);
  BoolResult released = Drop(*c, "a", "alice", g.token);
  ASSERT_TRUE(released.has_value());
  EXPECT_TRUE(*released);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(Get(i, HolderKey("a")), "(nil)");
  AcquireResult next = Take(*c, "a", "bob");
  ASSERT_TRUE(next.has_value() && next->has_value());
  EXPECT_GT((*next)->token, g.token) << "grants carry increasing tokens";
}

TEST_F(CoordinatorTest, OneOfThreeDownStillGrants) {
  servers_[2].reset();
  auto c = Make();
  AcquireResult r = Take(*c, "a", "alice");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->has_value());
}

TEST_F(CoordinatorTest, TwoOfThreeDownIsTryAgainAndLeavesNoKey) {
  servers_[1].reset();
  servers_[2].reset();
  auto c = Make();
  AcquireResult r = Take(*c, "a", "alice");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Error::Code::kNoQuorum);
  EXPECT_TRUE(r.error().message.starts_with(kNoQuorum)) << r.error().message;
  // Marker: a release on the same connections runs after the attempt's own releases.
  (void)Drop(*c, "a", "marker", 1);
  EXPECT_EQ(Get(0, HolderKey("a")), "(nil)") << "the failed attempt released the live master";
}

TEST_F(CoordinatorTest, StaleTokenIsRefusedAndTheSourceMovesPastTheMark) {
  // Every master saw a grant with token 5000 (e.g. a source restored from an old copy).
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(Direct(i).Command({"SET", FenceKey("a"), "5000"}));
  CoordinatorOptions strict;
  strict.max_stale_retries = 0;
  auto c = Make(std::move(strict));
  AcquireResult refused = Take(*c, "a", "alice");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Error::Code::kNoQuorum);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(Get(i, HolderKey("a")), "(nil)");
  c.reset();
  auto retrying = Make();
  AcquireResult r = Take(*retrying, "a", "alice");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_GT((*r)->token, 5000u);
}

TEST_F(CoordinatorTest, ExpiryDuringAcquisitionFailsAndReleases) {
  uint64_t calls = 0;
  CoordinatorOptions o;
  // The attempt starts at 0 and ends at 10,000: the whole ttl went by.
  o.now_ms = [&calls] { return calls++ == 0 ? 0 : 10000; };
  auto c = Make(std::move(o));
  AcquireResult r = Take(*c, "a", "alice", 10000);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Error::Code::kNoQuorum);
  (void)Drop(*c, "a", "marker", 1);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(Get(i, HolderKey("a")), "(nil)");
}

TEST_F(CoordinatorTest, ExtendComparesOwnerAndToken) {
  auto c = Make();
  AcquireResult r = Take(*c, "a", "alice", 2000);
  ASSERT_TRUE(r.has_value() && r->has_value());
  uint64_t token = (*r)->token;
  auto ok = Await<ExtendResult>(
      [&](auto done) { c->Extend("a", "alice", token, 30000, std::move(done)); });
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_GT(*ok, 2000u);
  EXPECT_LT(*ok, 30000u);
  auto bad =
      Await<ExtendResult>([&](auto done) { c->Extend("a", "bob", token, 30000, std::move(done)); });
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Error::Code::kNotOwner);
}

// Kleppmann's pause: one master is SIGSTOPped while alice holds a short lease. After the lease
// expired on the live masters, bob is granted on the two that answer with a newer token, and
// alice, the stale holder, can neither extend nor release bob's grant, also after SIGCONT.
TEST_F(CoordinatorTest, StoppedMasterDoesNotLetAStaleHolderWin) {
  auto c = Make();
  AcquireResult alice = Take(*c, "a", "alice", 300);
  ASSERT_TRUE(alice.has_value() && alice->has_value()) << "alice";
  uint64_t alice_token = (*alice)->token;
  server(0).process().Signal(SIGSTOP);
  // The event: alice's lease is gone from both live masters.
  ASSERT_TRUE(RunUntil(
      [&] { return Get(1, HolderKey("a")) == "(nil)" && Get(2, HolderKey("a")) == "(nil)"; }));
  AcquireResult bob = Take(*c, "a", "bob", 10000);
  ASSERT_TRUE(bob.has_value()) << bob.error().message;
  ASSERT_TRUE(bob->has_value());
  EXPECT_GT((*bob)->token, alice_token);
  server(0).process().Signal(SIGCONT);
  auto extend = Await<ExtendResult>(
      [&](auto done) { c->Extend("a", "alice", alice_token, 10000, std::move(done)); });
  ASSERT_FALSE(extend.has_value());
  EXPECT_EQ(extend.error().code, Error::Code::kNotOwner) << extend.error().message;
  BoolResult release = Drop(*c, "a", "alice", alice_token);
  ASSERT_TRUE(release.has_value()) << release.error().message;
  EXPECT_FALSE(*release);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(Get(i, HolderKey("a")), fmt::format("{} bob", (*bob)->token));
  }
}

TEST_F(CoordinatorTest, InfoCheckAndForceRelease) {
  auto c = Make();
  using InfoResult = std::expected<Coordinator::LockInfo, Error>;
  auto free = Await<InfoResult>([&](auto done) { c->Info("a", std::move(done)); });
  ASSERT_TRUE(free.has_value()) << free.error().message;
  EXPECT_FALSE(free->holder.has_value());
  EXPECT_EQ(free->masters_answered, 3u);
  AcquireResult r = Take(*c, "a", "alice", 10000);
  ASSERT_TRUE(r.has_value() && r->has_value());
  uint64_t token = (*r)->token;
  auto held = Await<InfoResult>([&](auto done) { c->Info("a", std::move(done)); });
  ASSERT_TRUE(held.has_value() && held->holder.has_value());
  EXPECT_EQ(held->holder->token, token);
  EXPECT_EQ(held->holder->owner, "alice");
  EXPECT_GT(held->holder->pttl_ms, 0);
  EXPECT_LE(held->holder->pttl_ms, 10000);
  EXPECT_EQ(held->last_token, token);
  auto current = Await<BoolResult>([&](auto done) { c->Check("a", token, std::move(done)); });
  ASSERT_TRUE(current.has_value());
  EXPECT_TRUE(*current);
  auto other = Await<BoolResult>([&](auto done) { c->Check("a", token + 1, std::move(done)); });
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(*other);
  auto forced = Await<std::expected<Coordinator::ForceReleased, Error>>(
      [&](auto done) { c->ForceRelease("a", std::move(done)); });
  ASSERT_TRUE(forced.has_value()) << forced.error().message;
  EXPECT_TRUE(forced->deleted);
  EXPECT_GT(forced->fence, token);
  auto after = Await<InfoResult>([&](auto done) { c->Info("a", std::move(done)); });
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->holder.has_value());
  EXPECT_GT(after->last_token, token) << "the fence rose past the evicted grant";
  auto stale = Await<BoolResult>([&](auto done) { c->Check("a", token, std::move(done)); });
  ASSERT_TRUE(stale.has_value());
  EXPECT_FALSE(*stale);
  auto extend = Await<ExtendResult>(
      [&](auto done) { c->Extend("a", "alice", token, 10000, std::move(done)); });
  EXPECT_FALSE(extend.has_value()) << "the evicted holder cannot extend";
  AcquireResult next = Take(*c, "a", "bob");
  ASSERT_TRUE(next.has_value() && next->has_value());
  EXPECT_GT((*next)->token, after->last_token);
}

// WAIT: bob queues behind alice; meanwhile carol's lock on another name is unaffected; alice's
// release hands bob the lock long before alice's 30 s lease would have ended.
TEST_F(CoordinatorTest, WaitIsGrantedOnReleaseAndOthersAreUnaffected) {
  auto c = Make();
  AcquireResult alice = Take(*c, "a", "alice", 30000);
  ASSERT_TRUE(alice.has_value() && alice->has_value());
  std::optional<AcquireResult> bob;
  c->AcquireWait("a", "bob", 10000, false, 20000,
                 [&bob](AcquireResult r) { bob.emplace(std::move(r)); });
  ASSERT_TRUE(RunUntil([&] { return c->waiters("a") == 1; }));
  AcquireResult carol = Take(*c, "b", "carol");
  ASSERT_TRUE(carol.has_value() && carol->has_value()) << "another lock while bob waits";
  EXPECT_FALSE(bob.has_value()) << "bob still waits";
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Drop(*c, "a", "alice", (*alice)->token).value_or(false));
  ASSERT_TRUE(RunUntil([&] { return bob.has_value(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10))
      << "woken by the release, not by the lease's end";
  ASSERT_TRUE(bob->has_value()) << bob->error().message;
  ASSERT_TRUE(bob->value().has_value());
  EXPECT_GT(bob->value()->token, (*alice)->token);
  EXPECT_EQ(c->waiters("a"), 0u);
}

TEST_F(CoordinatorTest, WaitIsGrantedWhenTheLeaseEnds) {
  auto c = Make();
  AcquireResult alice = Take(*c, "a", "alice", 300);
  ASSERT_TRUE(alice.has_value() && alice->has_value());
  auto bob = Await<AcquireResult>(
      [&](auto done) { c->AcquireWait("a", "bob", 10000, false, 15000, std::move(done)); });
  ASSERT_TRUE(bob.has_value()) << bob.error().message;
  ASSERT_TRUE(bob->has_value()) << "granted after alice's lease ended";
}

TEST_F(CoordinatorTest, WaitEndsWithNilAtItsBound) {
  auto c = Make();
  AcquireResult alice = Take(*c, "a", "alice", 30000);
  ASSERT_TRUE(alice.has_value() && alice->has_value());
  auto start = std::chrono::steady_clock::now();
  auto bob = Await<AcquireResult>(
      [&](auto done) { c->AcquireWait("a", "bob", 10000, false, 300, std::move(done)); });
  ASSERT_TRUE(bob.has_value()) << bob.error().message;
  EXPECT_FALSE(bob->has_value());
  // The coordinator counts whole milliseconds (and libuv timers fire on its cached ms clock), so
  // the wait may end up to a millisecond early by this finer clock.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(298));
  EXPECT_EQ(c->waiters("a"), 0u);
}

}  // namespace
}  // namespace rl::lock
