// Keyspace-wide commands through a Proxy in front of real redis-servers: SCAN walks every server
// under ringleader's cursor and returns each key exactly once (with MATCH, COUNT and TYPE),
// KEYS is merged, DBSIZE summed, RANDOMKEY picks among the servers with keys, FLUSHDB/FLUSHALL
// need admin_commands, and a backend killed in the middle of a SCAN or KEYS gives an error
// naming it while the proxy keeps serving.
#include <signal.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"

namespace rl::testing {
namespace {

// Sets `count` keys "<prefix><i>" through the proxy, pipelined.
void Fill(RedisClient& c, const std::string& prefix, int count) {
  for (int i = 0; i < count; ++i) c.Append({"SET", prefix + std::to_string(i), "v"});
  for (int i = 0; i < count; ++i) ASSERT_EQ(Str(c.GetReply()), "OK");
}

struct ScanResult {
  std::map<std::string, int> seen;          // key -> times returned
  std::vector<unsigned long long> cursors;  // every cursor returned, in order
  std::string error;                        // the first error reply, if any
};

// Walks SCAN from cursor 0 until it returns 0 (at most `max_calls` calls).
ScanResult ScanAll(RedisClient& c, const std::vector<std::string>& options,
                   int max_calls = 100000) {
  ScanResult result;
  std::string cursor = "0";
  for (int call = 0; call < max_calls; ++call) {
    std::vector<std::string> argv = {"SCAN", cursor};
    argv.insert(argv.end(), options.begin(), options.end());
    auto r = c.Command(argv);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
      result.error = Str(r);
      return result;
    }
    cursor.assign(r->element[0]->str, r->element[0]->len);
    result.cursors.push_back(std::stoull(cursor));
    for (size_t i = 0; i < r->element[1]->elements; ++i) {
      const redisReply* key = r->element[1]->element[i];
      ++result.seen[std::string(key->str, key->len)];
    }
    if (cursor == "0") return result;
  }
  result.error = "SCAN did not finish";
  return result;
}

class KeyspaceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    t_ = ProxyUnderTest::Start(3).release();
    RedisClient c = t_->Client();
    Fill(c, "key:", kKeys);
  }
  static void TearDownTestSuite() {
    delete t_;
    t_ = nullptr;
  }
  static constexpr int kKeys = 10000;
  static ProxyUnderTest* t_;
};
ProxyUnderTest* KeyspaceTest::t_ = nullptr;

TEST_F(KeyspaceTest, TenThousandKeysOnThreeServers) {
  long long total = 0;
  for (size_t i = 0; i < 3; ++i) {
    long long n = t_->Direct(i).Command({"DBSIZE"})->integer;
    EXPECT_GT(n, kKeys / 10) << "server " << i;  // every server holds a share
    total += n;
  }
  EXPECT_EQ(total, kKeys);
  RedisClient c = t_->Client();
  EXPECT_EQ(Str(c.Command({"DBSIZE"})), std::to_string(kKeys));
}

TEST_F(KeyspaceTest, ScanReturnsEachKeyExactlyOnce) {
  RedisClient c = t_->Client();
  for (const std::vector<std::string>& options :
       {std::vector<std::string>{}, {"COUNT", "1000"}, {"COUNT", "1"}}) {
    SCOPED_TRACE(options.empty() ? "no options" : options[0] + " " + options[1]);
    ScanResult r = ScanAll(c, options);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.seen.size(), static_cast<size_t>(kKeys));
    for (const auto& [key, times] : r.seen) {
      ASSERT_EQ(times, 1) << key;
      ASSERT_TRUE(key.starts_with("key:")) << key;
    }
    // The walk goes server by server, in configuration order (the low 12 bits), and ends at 0.
    unsigned long long server = 0;
    for (size_t i = 0; i + 1 < r.cursors.size(); ++i) {
      ASSERT_NE(r.cursors[i], 0u);
      ASSERT_GE(r.cursors[i] % 4096, server);
      server = r.cursors[i] % 4096;
      ASSERT_LT(server, 3u);
    }
    EXPECT_EQ(server, 2u);
    EXPECT_EQ(r.cursors.back(), 0u);
  }
}

TEST_F(KeyspaceTest, ScanWithMatchAndType) {
  RedisClient c = t_->Client();
  std::set<std::string> hashes;
  for (int i = 0; i < 300; ++i) {
    std::string key = "hash:" + std::to_string(i);
    ASSERT_EQ(Str(c.Command({"HSET", key, "f", "v"})), "1");
    hashes.insert(key);
  }
  ScanResult by_match = ScanAll(c, {"MATCH", "hash:*", "COUNT", "500"});
  ASSERT_EQ(by_match.error, "");
  ScanResult by_type = ScanAll(c, {"TYPE", "hash"});
  ASSERT_EQ(by_type.error, "");
  ScanResult key_1x = ScanAll(c, {"MATCH", "key:1?"});
  ASSERT_EQ(key_1x.error, "");
  for (const ScanResult* r : {&by_match, &by_type}) {
    std::set<std::string> got;
    for (const auto& [key, times] : r->seen) {
      EXPECT_EQ(times, 1) << key;
      got.insert(key);
    }
    EXPECT_EQ(got, hashes);
  }
  std::set<std::string> expected, got;
  for (int i = 10; i < 20; ++i) expected.insert("key:" + std::to_string(i));
  for (const auto& [key, times] : key_1x.seen) {
    EXPECT_EQ(times, 1) << key;
    got.insert(key);
  }
  EXPECT_EQ(got, expected);
  for (const std::string& key : hashes) c.Append({"DEL", key});
  for (size_t i = 0; i < hashes.size(); ++i) ASSERT_EQ(Str(c.GetReply()), "1");
}

TEST_F(KeyspaceTest, ScanCursorErrors) {
  auto c = t_->Raw();
  // Not a cursor, or a server past the pool's three: Redis's own error.
  for (const char* bad : {"abc", "-1", "3", "18446744073709551616", "4099"}) {
    c->Send(Resp({"SCAN", bad}));
    EXPECT_EQ(c->ReadReply(), "-ERR invalid cursor\r\n") << bad;
  }
  // Redis's own complaints about the options, passed on unchanged.
  c->Send(Resp({"SCAN", "0", "COUNT", "x"}) + Resp({"SCAN", "0", "FOO"}) +
          Resp({"SCAN", "0", "COUNT", "0"}) + Resp({"SCAN"}));
  EXPECT_EQ(c->ReadReply(), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(c->ReadReply(), "-ERR syntax error\r\n");
  EXPECT_EQ(c->ReadReply(), "-ERR syntax error\r\n");
  EXPECT_EQ(c->ReadReply(), "-ERR wrong number of arguments for 'scan' command\r\n");
  c->Send("PING\r\n");
  EXPECT_EQ(c->ReadReply(), "+PONG\r\n");
}

TEST_F(KeyspaceTest, KeysIsMergedFromEveryServer) {
  RedisClient c = t_->Client();
  auto all = c.Command({"KEYS", "key:*"});
  ASSERT_EQ(all->type, REDIS_REPLY_ARRAY);
  std::set<std::string> got;
  for (size_t i = 0; i < all->elements; ++i) got.insert(all->element[i]->str);
  EXPECT_EQ(all->elements, static_cast<size_t>(kKeys));
  EXPECT_EQ(got.size(), static_cast<size_t>(kKeys));
  // Server order: the first server's keys come first.
  auto first = t_->Direct(0).Command({"KEYS", "key:*"});
  ASSERT_GT(first->elements, 0u);
  EXPECT_EQ(std::string(all->element[0]->str), std::string(first->element[0]->str));
  auto some = c.Command({"KEYS", "key:99?"});
  std::set<std::string> some_keys;
  for (size_t i = 0; i < some->elements; ++i) some_keys.insert(some->element[i]->str);
  std::set<std::string> expected;
  for (int i = 990; i < 1000; ++i) expected.insert("key:" + std::to_string(i));
  EXPECT_EQ(some_keys, expected);
  auto none = c.Command({"KEYS", "nothing:*"});
  EXPECT_EQ(none->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(none->elements, 0u);
}

TEST(KeyspaceSmallTest, EmptyPoolScanKeysRandomkey) {
  auto t = ProxyUnderTest::Start(3);
  auto c = t->Raw();
  // An empty walk asks each server in the same call and ends at once, as on an empty Redis;
  // so does one started at a later server (cursors 1 and 2).
  c->Send(Resp({"SCAN", "0"}));
  EXPECT_EQ(c->ReadReply(), "*2\r\n$1\r\n0\r\n*0\r\n");
  c->Send(Resp({"SCAN", "1"}) + Resp({"SCAN", "2"}) + Resp({"KEYS", "*"}) + Resp({"RANDOMKEY"}) +
          Resp({"DBSIZE"}));
  EXPECT_EQ(c->ReadReply(), "*2\r\n$1\r\n0\r\n*0\r\n");
  EXPECT_EQ(c->ReadReply(), "*2\r\n$1\r\n0\r\n*0\r\n");
  EXPECT_EQ(c->ReadReply(), "*0\r\n");
  EXPECT_EQ(c->ReadReply(), "$-1\r\n");
  EXPECT_EQ(c->ReadReply(), ":0\r\n");
}

// SCAN 0 must not answer an empty page while a server has keys: a server whose walk ends with
// an empty page hands over to the next one within the same call.
TEST(KeyspaceSmallTest, ScanSkipsEmptyServersWithinOneCall) {
  auto t = ProxyUnderTest::Start(3);
  RedisClient c = t->Client();
  // "cursor [keys]" of a SCAN reply.
  auto page = [](const RedisClient::Reply& r) -> std::string {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return Str(r);
    std::string out = std::string(r->element[0]->str) + " [";
    for (size_t i = 0; i < r->element[1]->elements; ++i) {
      out += (i > 0 ? "," : "") + std::string(r->element[1]->element[i]->str);
    }
    return out + "]";
  };
  std::string on1 = KeyOn(*t, 1, "one:"), on2 = KeyOn(*t, 2, "two:");
  ASSERT_STREQ(c.Command({"SET", on1, "v"})->str, "OK");
  ASSERT_STREQ(c.Command({"SET", on2, "v"})->str, "OK");
  // Server 0 is empty: the first page is server 1's key, and the cursor names server 2.
  EXPECT_EQ(page(c.Command({"SCAN", "0"})), "2 [" + on1 + "]");
  EXPECT_EQ(page(c.Command({"SCAN", "2"})), "0 [" + on2 + "]");
  // With a MATCH that only server 2's key meets, servers 0 and 1 give empty last pages.
  EXPECT_EQ(page(c.Command({"SCAN", "0", "MATCH", "two:*", "COUNT", "5"})), "0 [" + on2 + "]");
  // Nothing matches: one call walks every server and ends the walk.
  EXPECT_EQ(page(c.Command({"SCAN", "0", "MATCH", "none:*"})), "0 []");
  EXPECT_EQ(page(c.Command({"SCAN", "1", "TYPE", "hash"})), "0 []");
}

TEST(KeyspaceSmallTest, RandomKeyComesFromServersWithKeys) {
  auto t = ProxyUnderTest::Start(3);
  RedisClient c = t->Client();
  // Only server 1 has keys: every answer is one of them.
  std::string on1 = KeyOn(*t, 1, "a");
  ASSERT_EQ(Str(c.Command({"SET", on1, "v"})), "OK");
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Str(c.Command({"RANDOMKEY"})), on1);
  // One key on each server: each is returned sometimes (300 draws; a server is missed with
  // probability (2/3)^300).
  std::set<std::string> keys = {on1, KeyOn(*t, 0, "b"), KeyOn(*t, 2, "c")};
  for (const std::string& k : keys) ASSERT_EQ(Str(c.Command({"SET", k, "v"})), "OK");
  std::set<std::string> seen;
  for (int i = 0; i < 300 && seen.size() < keys.size(); ++i) {
    std::string k = Str(c.Command({"RANDOMKEY"}));
    ASSERT_TRUE(keys.contains(k)) << k;
    seen.insert(k);
  }
  EXPECT_EQ(seen, keys);
}

TEST(KeyspaceSmallTest, FlushNeedsAdminCommands) {
  auto t = ProxyUnderTest::Start(3);
  RedisClient c = t->Client();
  Fill(c, "f:", 30);
  for (const char* cmd : {"FLUSHDB", "FLUSHALL"}) {
    auto r = c.Command({cmd});
    EXPECT_EQ(Str(r), fmt::format("ERR '{}' is not allowed in pool 'pool': it deletes the keys of "
                                  "every server in the pool; set `admin_commands: true` in the "
                                  "pool's configuration to allow it",
                                  cmd));
  }
  EXPECT_EQ(Str(c.Command({"flushall", "async"})).substr(0, 30), "ERR 'FLUSHALL' is not allowed ");
  EXPECT_EQ(Str(c.Command({"DBSIZE"})), "30");

  auto admin = ProxyUnderTest::Start(3, "  admin_commands: true\n");
  RedisClient a = admin->Client();
  Fill(a, "f:", 30);
  EXPECT_EQ(Str(a.Command({"FLUSHDB"})), "OK");
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(admin->Direct(i).Command({"DBSIZE"})->integer, 0);
  Fill(a, "g:", 30);
  EXPECT_EQ(Str(a.Command({"FLUSHALL", "ASYNC"})), "OK");
  EXPECT_TRUE(WaitFor([&] { return Str(a.Command({"DBSIZE"})) == "0"; }));
  EXPECT_EQ(Str(a.Command({"FLUSHDB", "SYNC"})), "OK");
  EXPECT_EQ(Str(a.Command({"FLUSHDB", "NOPE"})),
            "ERR backend r1 (127.0.0.1:" + std::to_string(admin->redis[0]->port()) +
                "): ERR syntax error");
}

TEST(KeyspaceFailureTest, BackendKilledInTheMiddleOfAScan) {
  auto t = ProxyUnderTest::Start(3);
  RedisClient c = t->Client();
  Fill(c, "s:", 3000);
  // Walk until the cursor is inside the second server.
  std::string cursor = "0";
  for (int call = 0; call < 10000; ++call) {
    auto r = c.Command({"SCAN", cursor, "COUNT", "20"});
    ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
    cursor.assign(r->element[0]->str, r->element[0]->len);
    unsigned long long value = std::stoull(cursor);
    if (value % 4096 == 1 && value >= 4096) break;  // mid-way through r2
  }
  ASSERT_NE(cursor, "0");
  uint16_t port1 = t->redis[1]->port();
  t->redis[1]->process().Stop();
  std::string error = Str(c.Command({"SCAN", cursor, "COUNT", "20"}));
  EXPECT_TRUE(error.starts_with(fmt::format("ERR backend r2 (127.0.0.1:{}): ", port1))) << error;
  // The proxy keeps serving: other servers' keys, and SCAN of the first server.
  EXPECT_EQ(Str(c.Command({"GET", KeyOn(*t, 0, "s:")})), "v");
  EXPECT_EQ(Str(c.Command({"GET", KeyOn(*t, 2, "s:")})), "v");
  auto first_page = c.Command({"SCAN", "0"});
  ASSERT_EQ(first_page->type, REDIS_REPLY_ARRAY);
  EXPECT_GT(first_page->element[1]->elements, 0u);
  // KEYS needs every server: the error names the one that is down.
  error = Str(c.Command({"KEYS", "*"}));
  EXPECT_TRUE(error.starts_with(fmt::format("ERR backend r2 (127.0.0.1:{}): ", port1))) << error;
}

TEST(KeyspaceFailureTest, BackendKilledWhileKeysIsInFlight) {
  auto t = ProxyUnderTest::Start(3);
  RedisClient c = t->Client();
  Fill(c, "q:", 100);
  uint16_t port2 = t->redis[2]->port();
  t->redis[2]->process().Signal(SIGSTOP);
  auto raw = t->Raw();
  raw->Send(Resp({"KEYS", "*"}) + Resp({"PING"}));
  // r1 and r2 answer; r3 is stopped and then killed with the request outstanding. (A reply
  // sent before r3's answer would come ahead of the error read below.)
  RedisClient r1 = t->Direct(0), r2 = t->Direct(1);
  ASSERT_TRUE(WaitFor([&] { return RedisCalls(r1, "keys") == 1 && RedisCalls(r2, "keys") == 1; }));
  t->redis[2]->process().Signal(SIGKILL);
  EXPECT_GE(t->redis[2]->process().WaitExit(std::chrono::seconds(5)), 0);
  std::string reply = raw->ReadReply();
  EXPECT_TRUE(reply.starts_with(fmt::format("-ERR backend r3 (127.0.0.1:{}): ", port2))) << reply;
  EXPECT_EQ(raw->ReadReply(), "+PONG\r\n");
  EXPECT_EQ(Str(c.Command({"GET", KeyOn(*t, 0, "q:")})), "v");
}

}  // namespace
}  // namespace rl::testing
