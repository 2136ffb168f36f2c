// The lock service through a running ringleader (in-process Proxy) over real redis-servers that
// are both the lock masters (`ringleader: locks:` defaults to the pool's servers) and the data
// shards: LOCK.* round trips, contention, WAIT hand-over (order shown by LOCK.INFO's waiters,
// not by timing), a disconnected waiter leaving no grant, stale fenced writes refused after a
// force-release (on every data shard at once) and after a new grant, LOCK.FENCE binding, tokens
// rising across a restart (the token file), the errors without `locks:`, and -TRYAGAIN with the
// masters down.
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {
namespace {

std::string LockYaml(const std::string& data_dir, const std::string& extra = "") {
  return "pool:\n  listen: 127.0.0.1:PORT\n  admin_commands: true\n  servers:\n"
         "    - 127.0.0.1:$1:1 r1\n    - 127.0.0.1:$2:1 r2\n    - 127.0.0.1:$3:1 r3\n"
         "ringleader:\n  locks:\n    data_dir: " +
         data_dir + "\n    request_timeout_ms: 300\n" + extra;
}

// [token, validity] of a granted LOCK.ACQUIRE; token 0 when not granted (reply in `text`).
struct Acquired {
  long long token = 0;
  long long validity = 0;
  std::string text;
};

Acquired Acquire(RedisClient& c, const std::vector<std::string>& argv) {
  auto reply = c.Command(argv);
  Acquired a;
  a.text = Str(reply);
  if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
    a.token = reply->element[0]->integer;
    a.validity = reply->element[1]->integer;
  }
  return a;
}

// LOCK.INFO's field as text ("<nil>" for a nil).
std::string InfoOf(RedisClient& c, const std::string& name, const std::string& field) {
  auto reply = c.Command({"LOCK.INFO", name});
  if (!reply || reply->type != REDIS_REPLY_ARRAY) return Str(reply);
  for (size_t i = 0; i + 1 < reply->elements; i += 2) {
    if (reply->element[i]->str == field) {
      const redisReply* v = reply->element[i + 1];
      if (v->type == REDIS_REPLY_INTEGER) return std::to_string(v->integer);
      if (v->type == REDIS_REPLY_NIL) return "<nil>";
      return std::string(v->str, v->len);
    }
  }
  return "<no field>";
}

// Sends a command without waiting for its reply (hiredis's Append only buffers it).
void SendOnly(RedisClient& c, const std::vector<std::string>& argv) {
  c.Append(argv);
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(c.context(), &done) != REDIS_OK) return;
  }
}

// One `rl_lock_*` field of INFO ringleader, as a number (-1 when absent).
long long LockStat(RedisClient& c, const std::string& field) {
  std::string info = Str(c.Command({"INFO", "ringleader"}));
  std::string key = "rl_lock_" + field + ":";
  size_t at = info.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(info.substr(at + key.size()));
}

class LockProxyTest : public ::testing::Test {
 protected:
  void SetUp() override { t_ = ProxyUnderTest::StartYaml(LockYaml(dir_.path()), 3); }
  TempDir dir_;
  std::unique_ptr<ProxyUnderTest> t_;
};

TEST_F(LockProxyTest, AcquireExtendCheckInfoReleaseRoundTrip) {
  RedisClient c = t_->Client();
  Acquired a = Acquire(c, {"LOCK.ACQUIRE", "job", "alice", "PX", "10000"});
  ASSERT_GT(a.token, 0) << a.text;
  EXPECT_GT(a.validity, 9000);
  EXPECT_LE(a.validity, 10000);
  std::string token = std::to_string(a.token);
  auto extended = c.Command({"LOCK.EXTEND", "job", "alice", token, "PX", "20000"});
  ASSERT_TRUE(extended && extended->type == REDIS_REPLY_INTEGER) << Str(extended);
  EXPECT_GT(extended->integer, 19000);
  EXPECT_EQ(Str(c.Command({"LOCK.CHECK", "job", token})), "1");
  EXPECT_EQ(Str(c.Command({"LOCK.CHECK", "job", std::to_string(a.token + 1)})), "0");
  EXPECT_EQ(InfoOf(c, "job", "owner"), "alice");
  EXPECT_EQ(InfoOf(c, "job", "token"), token);
  EXPECT_GT(std::stoll(InfoOf(c, "job", "remaining_ms")), 10000);
  EXPECT_EQ(InfoOf(c, "job", "waiters"), "0");
  EXPECT_EQ(InfoOf(c, "job", "last_token"), token);
  // Reentrant: the holder gets its grant back.
  Acquired again = Acquire(c, {"LOCK.ACQUIRE", "job", "alice", "PX", "5000", "REENTRANT"});
  EXPECT_EQ(again.token, a.token) << again.text;
  EXPECT_EQ(Str(c.Command({"LOCK.RELEASE", "job", "alice", token})), "1");
  EXPECT_EQ(Str(c.Command({"LOCK.RELEASE", "job", "alice", token})), "0");
  EXPECT_EQ(InfoOf(c, "job", "owner"), "<nil>");
  EXPECT_EQ(InfoOf(c, "job", "last_token"), token);
  EXPECT_EQ(Str(c.Command({"LOCK.EXTEND", "job", "alice", token, "PX", "1000"})),
            "NOTOWNER lock not held by this owner and token");
  // The next grant carries a larger token.
  Acquired b = Acquire(c, {"LOCK.ACQUIRE", "job", "bob", "px", "1000"});
  EXPECT_GT(b.token, a.token) << b.text;
}

TEST_F(LockProxyTest, ContentionBetweenTwoClients) {
  RedisClient alice = t_->Client(), bob = t_->Client();
  Acquired a = Acquire(alice, {"LOCK.ACQUIRE", "hot", "alice", "PX", "10000"});
  ASSERT_GT(a.token, 0) << a.text;
  EXPECT_EQ(Str(bob.Command({"LOCK.ACQUIRE", "hot", "bob", "PX", "10000"})), "<nil>");
  std::string token = std::to_string(a.token);
  EXPECT_EQ(Str(bob.Command({"LOCK.RELEASE", "hot", "bob", token})), "0");
  EXPECT_EQ(Str(bob.Command({"LOCK.EXTEND", "hot", "bob", token, "PX", "100"})),
            "NOTOWNER lock not held by this owner and token");
  EXPECT_EQ(Str(bob.Command({"LOCK.ACQUIRE", "hot", "bob", "PX", "100", "WAIT", "0"})), "<nil>");
  EXPECT_EQ(InfoOf(bob, "hot", "owner"), "alice");
}

TEST_F(LockProxyTest, WaitHandsTheLockToTheWaiterOnRelease) {
  RedisClient alice = t_->Client(), bob = t_->Client(), watcher = t_->Client();
  Acquired a = Acquire(alice, {"LOCK.ACQUIRE", "q", "alice", "PX", "60000"});
  ASSERT_GT(a.token, 0) << a.text;
  SendOnly(bob, {"LOCK.ACQUIRE", "q", "bob", "PX", "10000", "WAIT", "30000"});
  // The marker: bob is queued on the coordinator (and so was not granted).
  ASSERT_TRUE(WaitFor([&] { return InfoOf(watcher, "q", "waiters") == "1"; }));
  EXPECT_EQ(InfoOf(watcher, "q", "owner"), "alice");
  // Other clients are served meanwhile, also on bob's worker.
  EXPECT_EQ(Str(watcher.Command({"PING"})), "PONG");
  EXPECT_EQ(Str(alice.Command({"LOCK.RELEASE", "q", "alice", std::to_string(a.token)})), "1");
  auto granted = bob.GetReply();
  ASSERT_TRUE(granted && granted->type == REDIS_REPLY_ARRAY) << Str(granted);
  EXPECT_GT(granted->element[0]->integer, a.token);
  EXPECT_EQ(InfoOf(watcher, "q", "owner"), "bob");
  EXPECT_EQ(InfoOf(watcher, "q", "waiters"), "0");
}

TEST_F(LockProxyTest, InfoCountsAcquiresGrantsWaitsReleasesAndExpiries) {
  RedisClient alice = t_->Client(), bob = t_->Client(), watcher = t_->Client();
  EXPECT_EQ(LockStat(watcher, "acquires"), 0);
  Acquired a = Acquire(alice, {"LOCK.ACQUIRE", "m", "alice", "PX", "60000"});
  ASSERT_GT(a.token, 0) << a.text;
  std::string ta = std::to_string(a.token);
  EXPECT_EQ(Str(bob.Command({"LOCK.ACQUIRE", "m", "bob", "PX", "1000"})), "<nil>");
  EXPECT_EQ(LockStat(watcher, "held"), 1);
  EXPECT_GT(std::stoll(Str(alice.Command({"LOCK.EXTEND", "m", "alice", ta, "PX", "60000"}))), 0);
  EXPECT_TRUE(
      Str(bob.Command({"LOCK.EXTEND", "m", "bob", ta, "PX", "100"})).starts_with("NOTOWNER"));
  SendOnly(bob, {"LOCK.ACQUIRE", "m", "bob", "PX", "60000", "WAIT", "30000"});
  ASSERT_TRUE(WaitFor([&] { return LockStat(watcher, "waiting") == 1; }));
  EXPECT_EQ(Str(alice.Command({"LOCK.RELEASE", "m", "alice", ta})), "1");
  auto granted = bob.GetReply();
  ASSERT_TRUE(granted && granted->type == REDIS_REPLY_ARRAY) << Str(granted);
  EXPECT_EQ(Str(alice.Command({"LOCK.RELEASE", "m", "alice", ta})), "0");
  // A short lease left to run out is counted as an expiry by the once-a-second sweep.
  ASSERT_GT(Acquire(alice, {"LOCK.ACQUIRE", "short", "alice", "PX", "50"}).token, 0);
  ASSERT_TRUE(
      WaitFor([&] { return LockStat(watcher, "expiries") == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(Str(watcher.Command({"LOCK.FORCERELEASE", "m"})), "1");
  EXPECT_EQ(LockStat(watcher, "acquires"), 4);
  EXPECT_EQ(LockStat(watcher, "grants"), 3);
  EXPECT_EQ(LockStat(watcher, "not_granted"), 1);
  EXPECT_EQ(LockStat(watcher, "acquire_errors"), 0);
  EXPECT_EQ(LockStat(watcher, "waits"), 1);
  EXPECT_EQ(LockStat(watcher, "waiting"), 0);
  EXPECT_EQ(LockStat(watcher, "releases"), 1);
  EXPECT_EQ(LockStat(watcher, "releases_not_held"), 1);
  EXPECT_EQ(LockStat(watcher, "extends"), 1);
  EXPECT_EQ(LockStat(watcher, "extend_refusals"), 1);
  EXPECT_EQ(LockStat(watcher, "force_releases"), 1);
  EXPECT_EQ(LockStat(watcher, "held"), 0)
      << "bob's grant was force-released, the short one ran out";
}

TEST_F(LockProxyTest, WaitTimesOutWithNil) {
  RedisClient alice = t_->Client(), bob = t_->Client();
  ASSERT_GT(Acquire(alice, {"LOCK.ACQUIRE", "w", "alice", "PX", "60000"}).token, 0);
  EXPECT_EQ(Str(bob.Command({"LOCK.ACQUIRE", "w", "bob", "PX", "1000", "WAIT", "100"})), "<nil>");
}

TEST_F(LockProxyTest, DisconnectedWaiterLeavesNoGrantBehind) {
  RedisClient alice = t_->Client(), watcher = t_->Client();
  Acquired a = Acquire(alice, {"LOCK.ACQUIRE", "d", "alice", "PX", "60000"});
  ASSERT_GT(a.token, 0) << a.text;
  {
    RedisClient bob = t_->Client();
    SendOnly(bob, {"LOCK.ACQUIRE", "d", "bob", "PX", "60000", "WAIT", "30000"});
    ASSERT_TRUE(WaitFor([&] { return InfoOf(watcher, "d", "waiters") == "1"; }));
  }  // bob disconnects while queued
  ASSERT_TRUE(WaitFor([&] { return InfoOf(watcher, "d", "waiters") == "1"; }));
  EXPECT_EQ(Str(alice.Command({"LOCK.RELEASE", "d", "alice", std::to_string(a.token)})), "1");
  // bob's queued attempt is granted once alice released; its reply finds no client and the
  // grant is released, so the lock ends up free (bob's 60 s lease would hold it otherwise).
  ASSERT_TRUE(WaitFor([&] {
    return InfoOf(watcher, "d", "waiters") == "0" && InfoOf(watcher, "d", "owner") == "<nil>" &&
           std::stoll(InfoOf(watcher, "d", "last_token")) > a.token;
  })) << Str(watcher.Command({"LOCK.INFO", "d"}));
  EXPECT_GT(Acquire(watcher, {"LOCK.ACQUIRE", "d", "carol", "PX", "1000"}).token, a.token);
}

TEST_F(LockProxyTest, StaleFencedWriteRefusedAfterForceReleaseAndANewGrant) {
  RedisClient alice = t_->Client(), bob = t_->Client();
  Acquired a = Acquire(alice, {"LOCK.ACQUIRE", "res", "alice", "PX", "60000"});
  ASSERT_GT(a.token, 0) << a.text;
  std::string ta = std::to_string(a.token);
  EXPECT_EQ(Str(alice.Command({"FENCED", "res", ta, "SET", "data", "alice-1"})), "OK");
  EXPECT_EQ(Str(alice.Command({"FENCED", "res", ta, "INCR", "counter"})), "1");
  // alice "pauses": an operator evicts her and bob takes the lock.
  EXPECT_EQ(Str(bob.Command({"LOCK.FORCERELEASE", "res"})), "1");
  Acquired b = Acquire(bob, {"LOCK.ACQUIRE", "res", "bob", "PX", "60000"});
  ASSERT_GT(b.token, a.token) << b.text;
  std::string tb = std::to_string(b.token);
  EXPECT_EQ(Str(bob.Command({"FENCED", "res", tb, "SET", "data", "bob-1"})), "OK");
  // alice wakes up and writes with her old token: refused, nothing written.
  EXPECT_EQ(Str(alice.Command({"FENCED", "res", ta, "SET", "data", "alice-2"})),
            fmt::format("FENCED stale token {} < {} for lock res", ta, tb));
  EXPECT_EQ(Str(alice.Command({"GET", "data"})), "bob-1");
  // Reads pass through unfenced, even with a stale token.
  EXPECT_EQ(Str(alice.Command({"FENCED", "res", ta, "GET", "data"})), "bob-1");
  // The write's own errors come back as they are.
  EXPECT_EQ(Str(bob.Command({"FENCED", "res", tb, "LPUSH", "data", "x"})),
            "WRONGTYPE Operation against a key holding the wrong kind of value");
  // Commands the script cannot run, and keys on several servers, are refused.
  EXPECT_NE(Str(bob.Command({"FENCED", "res", tb, "BLPOP", "l", "0"})).find("cannot be fenced"),
            std::string::npos);
  EXPECT_NE(Str(bob.Command({"FENCED", "res", tb, "FLUSHALL"})).find("cannot be fenced"),
            std::string::npos);
  EXPECT_NE(
      Str(bob.Command({"FENCED", "res", tb, "EVAL", "return 1", "0"})).find("cannot be fenced"),
      std::string::npos);
  EXPECT_NE(Str(bob.Command({"FENCED", "res", tb, "MULTI"})).find("cannot be fenced"),
            std::string::npos);
  std::string k0 = KeyOn(*t_, 0), k1 = KeyOn(*t_, 1);
  EXPECT_TRUE(
      Str(bob.Command({"FENCED", "res", tb, "MSET", k0, "1", k1, "2"})).starts_with("CROSSSLOT"));
  std::string k0b = KeyOn(*t_, 0, "other");
  EXPECT_EQ(Str(bob.Command({"FENCED", "res", tb, "MSET", k0, "1", k0b, "2"})), "OK");
  EXPECT_EQ(Str(bob.Command({"FENCED", "res", "x", "SET", "a", "b"})),
            "ERR token is not a positive integer");
  EXPECT_EQ(Str(bob.Command({"FENCED", "res", tb, "NOSUCH", "a"})),
            "ERR unknown command 'NOSUCH' after FENCED");
  EXPECT_EQ(Str(bob.Command({"FENCED", "res", tb, "SET", "a"})),
            "ERR wrong number of arguments for 'set' command");
  EXPECT_EQ(Str(bob.Command({"FENCED", "res", tb})),
            "ERR wrong number of arguments for 'fenced' command");
}

TEST_F(LockProxyTest, ForceReleaseRaisesTheFenceOnEveryDataServer) {
  RedisClient alice = t_->Client(), admin = t_->Client();
  Acquired a = Acquire(alice, {"LOCK.ACQUIRE", "job", "alice", "PX", "60000"});
  ASSERT_GT(a.token, 0) << a.text;
  std::string ta = std::to_string(a.token);
  EXPECT_EQ(Str(alice.Command({"FENCED", "job", ta, "SET", "out", "alice-1"})), "OK");
  EXPECT_EQ(Str(admin.Command({"LOCK.FORCERELEASE", "job"})), "1");
  // No one holds the lock yet, and alice's writes already fail on every shard.
  const std::string fence = InfoOf(admin, "job", "last_token");
  ASSERT_GT(std::stoll(fence), a.token);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Str(t_->Direct(i).Command({"GET", "rl:fence:{job}"})), fence) << "server " << i;
  }
  EXPECT_EQ(Str(alice.Command({"FENCED", "job", ta, "SET", "out", "alice-2"})),
            fmt::format("FENCED stale token {} < {} for lock job", ta, fence));
  EXPECT_EQ(Str(alice.Command({"FENCED", "job", ta, "SET", KeyOn(*t_, 2), "x"})),
            fmt::format("FENCED stale token {} < {} for lock job", ta, fence));
  EXPECT_EQ(Str(alice.Command({"GET", "out"})), "alice-1");
  EXPECT_GT(Acquire(admin, {"LOCK.ACQUIRE", "job", "bob", "PX", "1000"}).token, std::stoll(fence));
  // Counted: one accepted, two refused.
  std::string info = Str(admin.Command({"INFO", "ringleader"}));
  EXPECT_NE(info.find("rl_fenced_writes:3\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("rl_fenced_refused:2\r\n"), std::string::npos) << info;
}

TEST_F(LockProxyTest, ForceReleaseSaysWhenADataServerDidNotTakeTheFence) {
  RedisClient admin = t_->Client();
  ASSERT_GT(Acquire(admin, {"LOCK.ACQUIRE", "job", "alice", "PX", "60000"}).token, 0);
  t_->redis[2].reset();  // a lock master (two of three are a quorum) and a data shard
  std::string reply = Str(admin.Command({"LOCK.FORCERELEASE", "job"}));
  EXPECT_TRUE(
      reply.starts_with("TRYAGAIN the lock was force-released on the masters, but its "
                        "fence was not raised on 1 data server(s)"))
      << reply;
  EXPECT_EQ(InfoOf(admin, "job", "owner"), "<nil>");
}

TEST_F(LockProxyTest, LockFenceBindsTheConnectionsWrites) {
  RedisClient alice = t_->Client(), bob = t_->Client();
  Acquired a = Acquire(alice, {"LOCK.ACQUIRE", "acct", "alice", "PX", "60000"});
  ASSERT_GT(a.token, 0) << a.text;
  std::string ta = std::to_string(a.token);
  EXPECT_EQ(Str(alice.Command({"LOCK.FENCE", "acct", ta})), "OK");
  EXPECT_EQ(Str(alice.Command({"SET", "balance", "100"})), "OK");
  // The write went through the fence script: the shard's mark for the lock is alice's token.
  auto owner = t_->Direct(t_->OwnerOf("balance"));
  EXPECT_EQ(Str(owner.Command({"GET", "rl:fence:{acct}"})), ta);
  EXPECT_EQ(Str(alice.Command({"MULTI"})).substr(0, 44),
            "ERR MULTI is not supported while LOCK.FENCE ");
  // bob takes over (alice's lease ended early for the test) and writes with his token.
  EXPECT_EQ(Str(bob.Command({"LOCK.FORCERELEASE", "acct"})), "1");
  Acquired b = Acquire(bob, {"LOCK.ACQUIRE", "acct", "bob", "PX", "60000"});
  ASSERT_GT(b.token, a.token) << b.text;
  EXPECT_EQ(Str(bob.Command({"LOCK.FENCE", "acct", std::to_string(b.token)})), "OK");
  EXPECT_EQ(Str(bob.Command({"INCRBY", "balance", "5"})), "105");
  // alice's bound writes now fail; her reads still work.
  EXPECT_EQ(Str(alice.Command({"INCRBY", "balance", "1"})),
            fmt::format("FENCED stale token {} < {} for lock acct", ta, b.token));
  EXPECT_EQ(Str(alice.Command({"GET", "balance"})), "105");
  EXPECT_EQ(Str(alice.Command({"LOCK.FENCE", "OFF"})), "OK");
  EXPECT_EQ(Str(alice.Command({"INCRBY", "balance", "1"})), "106");
  EXPECT_EQ(Str(alice.Command({"MULTI"})), "OK");
  EXPECT_TRUE(
      Str(alice.Command({"LOCK.FENCE", "acct", ta})).starts_with("ERR 'lock.fence' inside MULTI"));
  EXPECT_EQ(Str(alice.Command({"DISCARD"})), "OK");
  EXPECT_EQ(Str(alice.Command({"LOCK.FENCE", "acct"})),
            "ERR wrong number of arguments for 'lock.fence' command");
}

TEST_F(LockProxyTest, ArityAndSyntaxErrors) {
  RedisClient c = t_->Client();
  EXPECT_EQ(Str(c.Command({"LOCK.ACQUIRE", "x", "o", "PX"})),
            "ERR wrong number of arguments for 'lock.acquire' command");
  EXPECT_EQ(Str(c.Command({"LOCK.ACQUIRE", "x", "o", "EX", "10"})), "ERR syntax error");
  EXPECT_EQ(Str(c.Command({"LOCK.ACQUIRE", "x", "o", "PX", "0"})),
            "ERR invalid expire time in 'lock.acquire' command");
  EXPECT_EQ(Str(c.Command({"LOCK.ACQUIRE", "x", "o", "PX", "10", "WAIT"})), "ERR syntax error");
  EXPECT_EQ(Str(c.Command({"LOCK.ACQUIRE", "x", "o", "PX", "10", "WAIT", "-1"})),
            "ERR WAIT is not a non-negative integer");
  EXPECT_EQ(Str(c.Command({"LOCK.ACQUIRE", "x", "o", "PX", "10", "REENTRANT", "REENTRANT"})),
            "ERR syntax error");
  EXPECT_EQ(Str(c.Command({"LOCK.RELEASE", "x", "o", "abc"})),
            "ERR token is not a positive integer");
  EXPECT_EQ(Str(c.Command({"LOCK.EXTEND", "x", "o", "1", "PX"})),
            "ERR wrong number of arguments for 'lock.extend' command");
  EXPECT_EQ(Str(c.Command({"LOCK.INFO"})), "ERR wrong number of arguments for 'lock.info' command");
  EXPECT_EQ(Str(c.Command({"LOCK.CHECK", "x", "0"})), "ERR token is not a positive integer");
  // COMMAND INFO answers nil for ringleader's own commands (as for CLIENT SETINFO).
  auto info = c.Command({"COMMAND", "INFO", "lock.acquire"});
  ASSERT_TRUE(info && info->type == REDIS_REPLY_ARRAY && info->elements == 1);
  EXPECT_EQ(info->element[0]->type, REDIS_REPLY_NIL);
}

TEST_F(LockProxyTest, TokensKeepRisingAcrossARestart) {
  long long before = 0;
  {
    RedisClient c = t_->Client();
    Acquired a = Acquire(c, {"LOCK.ACQUIRE", "r", "o", "PX", "1000"});
    ASSERT_GT(a.token, 0) << a.text;
    before = a.token;
  }
  t_->proxy.reset();
  // The masters forget everything: only the token file can keep the next token above `before`.
  for (size_t i = 0; i < t_->redis.size(); ++i) {
    EXPECT_EQ(Str(t_->Direct(i).Command({"FLUSHALL"})), "OK");
  }
  auto again = proxy::Proxy::Start(t_->config, {});
  ASSERT_TRUE(again) << again.error();
  t_->proxy = std::move(*again);
  RedisClient c = t_->Client();
  Acquired b = Acquire(c, {"LOCK.ACQUIRE", "r", "o", "PX", "1000"});
  EXPECT_GT(b.token, before) << b.text;
}

TEST_F(LockProxyTest, MastersDownAnswersTryAgain) {
  RedisClient c = t_->Client();
  ASSERT_GT(Acquire(c, {"LOCK.ACQUIRE", "m", "o", "PX", "1000"}).token, 0);
  t_->redis[1].reset();  // stopped by pid
  t_->redis[2].reset();
  Acquired a = Acquire(c, {"LOCK.ACQUIRE", "m2", "o", "PX", "1000"});
  EXPECT_TRUE(a.text.starts_with("TRYAGAIN no quorum of lock masters")) << a.text;
  EXPECT_TRUE(Str(c.Command({"LOCK.INFO", "m"})).starts_with("TRYAGAIN no quorum of lock masters"));
}

TEST(LockNotConfiguredTest, LockCommandsAnswerAnError) {
  auto t = ProxyUnderTest::Start(1);
  RedisClient c = t->Client();
  const std::string error = "ERR locks are not configured (ringleader: locks: in test.yml)";
  EXPECT_EQ(Str(c.Command({"LOCK.ACQUIRE", "x", "o", "PX", "10"})), error);
  EXPECT_EQ(Str(c.Command({"LOCK.INFO", "x"})), error);
  EXPECT_EQ(Str(c.Command({"LOCK.FENCE", "x", "1"})), error);
  // FENCED needs no coordinator: the shard keeps the mark.
  EXPECT_EQ(Str(c.Command({"FENCED", "x", "5", "SET", "k", "v"})), "OK");
  EXPECT_EQ(Str(c.Command({"FENCED", "x", "4", "SET", "k", "w"})),
            "FENCED stale token 4 < 5 for lock x");
}

TEST(LockAdminTest, ForceReleaseNeedsAdminCommands) {
  TempDir dir;
  std::string yaml = LockYaml(dir.path());
  yaml.replace(yaml.find("  admin_commands: true\n"), 23, "");
  auto t = ProxyUnderTest::StartYaml(yaml, 3);
  RedisClient c = t->Client();
  EXPECT_EQ(Str(c.Command({"LOCK.FORCERELEASE", "x"})),
            "ERR 'LOCK.FORCERELEASE' is not allowed in pool 'pool': it evicts another client's "
            "lock; set admin_commands: true in the pool to allow it");
}

}  // namespace
}  // namespace rl::testing
