// Transactions through the proxy against real redis-servers: replies byte for byte as one
// Redis gives them, WATCH conflicts (two clients racing), keys of several servers refused,
// pipelined order, RESET, and a backend killed in the middle of a transaction.
#include <signal.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/families_util.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {
namespace {

using Script = std::vector<std::vector<std::string>>;

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override { t_ = ProxyUnderTest::Start(3); }
  std::unique_ptr<ProxyUnderTest> t_;
};

TEST_F(TransactionTest, RepliesMatchOneRedisByteForByte) {
  // Every key on one server, so that one redis-server is the reference for the same script.
  std::string k1 = KeyOn(*t_, 0, "a"), k2 = KeyOn(*t_, 0, "b"), k3 = KeyOn(*t_, 0, "c");
  Script script = {
      {"MULTI"},          {"SET", k1, "1"},   {"INCR", k1},
      {"LPUSH", k1, "x"}, {"GET", k1},        {"PING"},
      {"ECHO", "hi"},     {"EXEC"},           {"MULTI"},
      {"EXEC"},           {"EXEC"},           {"DISCARD"},
      {"MULTI"},          {"MULTI"},          {"SET", k1, "2"},
      {"WATCH", k1},      {"NOSUCH", "x"},    {"GET"},
      {"EXEC"},           {"MULTI"},          {"DISCARD"},
      {"UNWATCH"},        {"WATCH", k1, k2},  {"MULTI"},
      {"INCR", k1},       {"UNWATCH"},        {"EXEC"},
      {"MULTI"},          {"BLPOP", k3, "0"}, {"MSET", k1, "5", k2, "6"},
      {"MGET", k1, k2},   {"EXEC"},           {"WATCH", k1},
      {"MULTI"},          {"EXEC"},           {"MULTI"},
      {"SET", k3, "v"},   {"RESET"},          {"EXEC"},
      {"GET", k3},
  };
  auto reference = RedisServer::Start();
  ASSERT_TRUE(reference) << reference.error();
  auto direct = RawConn::Connect((*reference)->port());
  auto proxied = t_->Raw();
  std::vector<std::string> want = Exchange(*direct, script);
  std::vector<std::string> got = Exchange(*proxied, script);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i], want[i]) << "request " << i << ": " << script[i][0];
  }
  EXPECT_EQ(got[7],
            "*6\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong "
            "kind of value\r\n$1\r\n2\r\n+PONG\r\n$2\r\nhi\r\n");
}

TEST_F(TransactionTest, WatchConflictGivesNil) {
  std::string key = KeyOn(*t_, 1);
  auto a = t_->Raw();
  RedisClient b = t_->Client();
  EXPECT_EQ(Exchange(*a, {{"SET", key, "1"}, {"WATCH", key}, {"GET", key}}),
            (std::vector<std::string>{"+OK\r\n", "+OK\r\n", "$1\r\n1\r\n"}));
  ASSERT_STREQ(b.Command({"SET", key, "changed"})->str, "OK");
  EXPECT_EQ(Exchange(*a, {{"MULTI"}, {"SET", key, "mine"}, {"EXEC"}, {"GET", key}}),
            (std::vector<std::string>{"+OK\r\n", "+QUEUED\r\n", "*-1\r\n", "$7\r\nchanged\r\n"}));
  // Without a conflict the same transaction runs; EXEC ended the watch.
  EXPECT_EQ(Exchange(*a, {{"WATCH", key}, {"MULTI"}, {"SET", key, "mine"}, {"EXEC"}}),
            (std::vector<std::string>{"+OK\r\n", "+OK\r\n", "+QUEUED\r\n", "*1\r\n+OK\r\n"}));
  EXPECT_STREQ(b.Command({"GET", key})->str, "mine");
}

TEST_F(TransactionTest, TwoClientsRacingWatchNeverLoseAnUpdate) {
  std::string counter = KeyOn(*t_, 2, "counter");
  // Lock-step rounds: both clients read under WATCH, then both try to write. Exactly one wins.
  {
    RedisClient a = t_->Client(), b = t_->Client();
    for (int round = 0; round < 20; ++round) {
      ASSERT_STREQ(a.Command({"SET", counter, "0"})->str, "OK");
      for (RedisClient* c : {&a, &b}) {
        ASSERT_STREQ(c->Command({"WATCH", counter})->str, "OK");
        ASSERT_STREQ(c->Command({"GET", counter})->str, "0");
      }
      int wins = 0;
      for (RedisClient* c : {&a, &b}) {
        ASSERT_STREQ(c->Command({"MULTI"})->str, "OK");
        ASSERT_STREQ(c->Command({"INCR", counter})->str, "QUEUED");
        auto reply = c->Command({"EXEC"});
        ASSERT_TRUE(reply);
        if (reply->type == REDIS_REPLY_ARRAY) {
          ++wins;
        } else {
          EXPECT_EQ(reply->type, REDIS_REPLY_NIL);
        }
      }
      EXPECT_EQ(wins, 1) << "round " << round;
      EXPECT_STREQ(a.Command({"GET", counter})->str, "1");
    }
  }
  // Free-running: two threads doing optimistic increments; every success counts exactly once.
  ASSERT_STREQ(t_->Client().Command({"SET", counter, "0"})->str, "OK");
  constexpr int kPerThread = 150;
  std::atomic<int> conflicts{0};
  auto worker = [&] {
    RedisClient c = t_->Client();
    for (int done = 0; done < kPerThread;) {
      c.Command({"WATCH", counter});
      auto value = c.Command({"GET", counter});
      int v = value && value->type == REDIS_REPLY_STRING ? std::atoi(value->str) : 0;
      c.Command({"MULTI"});
      c.Command({"SET", counter, std::to_string(v + 1)});
      auto reply = c.Command({"EXEC"});
      if (reply && reply->type == REDIS_REPLY_ARRAY) {
        ++done;
      } else {
        ++conflicts;
      }
    }
  };
  std::thread t1(worker), t2(worker);
  t1.join();
  t2.join();
  EXPECT_STREQ(t_->Client().Command({"GET", counter})->str, std::to_string(2 * kPerThread).c_str());
  std::printf("WATCH race: %d increments, %d conflicts retried\n", 2 * kPerThread,
              conflicts.load());
}

TEST_F(TransactionTest, QueuedCommandOnAnotherServerAbortsExec) {
  std::string on0 = KeyOn(*t_, 0), on1 = KeyOn(*t_, 1), other0 = KeyOn(*t_, 0, "o");
  auto c = t_->Raw();
  auto replies = Exchange(*c, {{"MULTI"},
                               {"SET", on0, "x"},
                               {"SET", on1, "y"},
                               {"MSET", on0, "1", other0, "2"},
                               {"EXEC"},
                               {"GET", on0},
                               {"GET", on1}});
  EXPECT_EQ(replies[0], "+OK\r\n");
  EXPECT_EQ(replies[1], "+QUEUED\r\n");
  EXPECT_TRUE(
      replies[2].starts_with("-CROSSSLOT Keys in request don't hash to the same server "
                             "as the transaction's other keys (on r1 "))
      << replies[2];
  EXPECT_EQ(replies[3], "+QUEUED\r\n");  // both keys on the transaction's server
  EXPECT_TRUE(replies[4].starts_with(
      "-EXECABORT Transaction discarded because of previous errors. ringleader runs a "
      "transaction on one server, and its keys live on r1 "))
      << replies[4];
  EXPECT_EQ(replies[5], "$-1\r\n");  // nothing ran
  EXPECT_EQ(replies[6], "$-1\r\n");
  // A command whose own keys span servers, and one refused by ringleader, abort too.
  replies = Exchange(*c, {{"MULTI"}, {"MGET", on0, on1}, {"EXEC"}});
  EXPECT_EQ(replies[1], "-CROSSSLOT Keys in request don't hash to the same server\r\n");
  EXPECT_EQ(replies[2], "-EXECABORT Transaction discarded because of previous errors.\r\n");
  replies = Exchange(*c, {{"MULTI"}, {"SUBSCRIBE", "ch"}, {"DBSIZE"}, {"INFO"}, {"EXEC"}});
  EXPECT_TRUE(replies[1].starts_with("-ERR 'subscribe' inside MULTI is not supported"))
      << replies[1];
  EXPECT_TRUE(replies[2].starts_with("-ERR 'dbsize' inside MULTI is not supported")) << replies[2];
  EXPECT_TRUE(replies[3].starts_with("-ERR 'info' inside MULTI is not supported")) << replies[3];
  EXPECT_EQ(replies[4], "-EXECABORT Transaction discarded because of previous errors.\r\n");
}

TEST_F(TransactionTest, WatchOnKeysOfDifferentServersIsRefused) {
  std::string on0 = KeyOn(*t_, 0), on1 = KeyOn(*t_, 1), other0 = KeyOn(*t_, 0, "o");
  auto c = t_->Raw();
  auto replies = Exchange(*c, {{"WATCH", on0, on1},
                               {"WATCH", on0},
                               {"WATCH", on1},
                               {"WATCH", other0},
                               {"MULTI"},
                               {"SET", on1, "1"},
                               {"EXEC"}});
  EXPECT_EQ(replies[0], "-CROSSSLOT Keys in request don't hash to the same server\r\n");
  EXPECT_EQ(replies[1], "+OK\r\n");
  EXPECT_TRUE(
      replies[2].starts_with("-CROSSSLOT Keys in request don't hash to the same server "
                             "as the keys this client already watches (on r1 "))
      << replies[2];
  EXPECT_EQ(replies[3], "+OK\r\n");
  EXPECT_EQ(replies[4], "+OK\r\n");
  EXPECT_TRUE(replies[5].starts_with("-CROSSSLOT")) << replies[5];
  EXPECT_TRUE(replies[6].starts_with("-EXECABORT")) << replies[6];
  // The aborted EXEC ended the watch: keys of another server may be watched now.
  EXPECT_EQ(Exchange(*c, {{"WATCH", on1}}), std::vector<std::string>{"+OK\r\n"});
}

TEST_F(TransactionTest, PipelinedRequestsKeepTheirOrderAroundTransactions) {
  std::string key = KeyOn(*t_, 1), other = KeyOn(*t_, 2);
  auto c = t_->Raw();
  // A transaction without WATCH rides the client's shared connection; with WATCH, its own.
  // Either way what was sent before runs before, and what was sent after runs after.
  for (bool watch : {false, true}) {
    SCOPED_TRACE(watch ? "with WATCH" : "without WATCH");
    Script script = {{"SET", key, "1"}, {"SET", other, "1"}, {"INCR", key}};
    if (watch) script.push_back({"WATCH", key});
    Script rest = {{"MULTI"}, {"INCR", key}, {"INCR", key},
                   {"EXEC"},  {"GET", key},  {"INCR", other}};
    script.insert(script.end(), rest.begin(), rest.end());
    auto replies = Exchange(*c, script);
    size_t at = watch ? 3 : 2;
    EXPECT_EQ(replies[2], ":2\r\n");
    EXPECT_EQ(replies[at + 4], "*2\r\n:3\r\n:4\r\n");
    EXPECT_EQ(replies[at + 5], "$1\r\n4\r\n");
    EXPECT_EQ(replies[at + 6], ":2\r\n");
  }
}

TEST_F(TransactionTest, ResetEndsTransactionAndWatch) {
  std::string key = KeyOn(*t_, 0);
  auto c = t_->Raw();
  RedisClient other = t_->Client();
  EXPECT_EQ(Exchange(*c, {{"WATCH", key}, {"MULTI"}, {"SET", key, "a"}, {"RESET"}, {"EXEC"}}),
            (std::vector<std::string>{"+OK\r\n", "+OK\r\n", "+QUEUED\r\n", "+RESET\r\n",
                                      "-ERR EXEC without MULTI\r\n"}));
  // The watch is gone: a change by another client no longer aborts the next transaction.
  ASSERT_STREQ(other.Command({"SET", key, "b"})->str, "OK");
  EXPECT_EQ(Exchange(*c, {{"MULTI"}, {"SET", key, "c"}, {"EXEC"}}),
            (std::vector<std::string>{"+OK\r\n", "+QUEUED\r\n", "*1\r\n+OK\r\n"}));
}

TEST_F(TransactionTest, InlineCommandsAreQueuedToo) {
  std::string key = KeyOn(*t_, 2);
  auto c = t_->Raw();
  c->Send("MULTI\r\nSET " + key + " inline\r\nGET " + key + "\r\nEXEC\r\n");
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  EXPECT_EQ(c->ReadReply(), "+QUEUED\r\n");
  EXPECT_EQ(c->ReadReply(), "+QUEUED\r\n");
  EXPECT_EQ(c->ReadReply(), "*2\r\n+OK\r\n$6\r\ninline\r\n");
}

TEST_F(TransactionTest, BackendKilledInTheMiddleOfTransactions) {
  std::string key = KeyOn(*t_, 1), safe = KeyOn(*t_, 0);
  uint16_t port = t_->redis[1]->port();
  std::string label = fmt::format("r2 (127.0.0.1:{})", port);
  auto watcher = t_->Raw();
  auto queuer = t_->Raw();
  EXPECT_EQ(Exchange(*watcher, {{"WATCH", key}}), std::vector<std::string>{"+OK\r\n"});
  EXPECT_EQ(Exchange(*queuer, {{"MULTI"}, {"SET", key, "1"}}),
            (std::vector<std::string>{"+OK\r\n", "+QUEUED\r\n"}));
  t_->redis[1]->process().Stop();
  // The watch was on the connection that died: a change may have been missed, so EXEC fails
  // (or, if the proxy had not seen the connection go yet, EXEC fails on it).
  auto replies = Exchange(*watcher, {{"MULTI"}, {"SET", key, "2"}, {"EXEC"}, {"PING"}});
  EXPECT_EQ(replies[1], "+QUEUED\r\n");
  std::string lost = fmt::format(
      "-EXECABORT Transaction discarded: the connection to {} closed while keys "
      "were watched, so a change to them may have been missed\r\n",
      label);
  EXPECT_TRUE(replies[2] == lost ||
              replies[2] == fmt::format("-ERR backend {}: Connection closed by server\r\n", label))
      << replies[2];
  EXPECT_EQ(replies[3], "+PONG\r\n");
  // A queued transaction whose server is down fails at EXEC with an error naming it.
  replies = Exchange(*queuer, {{"EXEC"}, {"SET", safe, "ok"}});
  EXPECT_TRUE(replies[0].starts_with(fmt::format("-ERR backend {}: ", label))) << replies[0];
  EXPECT_EQ(replies[1], "+OK\r\n");
  // Back on the same port: transactions, with and without WATCH, work again.
  TempDir dir;
  auto again = StartRedisOnPort(port, dir.path());
  ASSERT_TRUE(again);
  EXPECT_TRUE(WaitFor([&] {
    auto r = Exchange(*queuer, {{"MULTI"}, {"SET", key, "3"}, {"EXEC"}});
    return r[2] == "*1\r\n+OK\r\n";
  }));
  EXPECT_TRUE(WaitFor([&] {
    auto r = Exchange(*watcher, {{"WATCH", key}, {"MULTI"}, {"INCR", key}, {"EXEC"}});
    return r[3] == "*1\r\n:4\r\n";
  }));
}

}  // namespace
}  // namespace rl::testing
