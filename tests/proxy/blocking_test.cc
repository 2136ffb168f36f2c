// Blocking commands through the proxy against real redis-servers: every one of them blocks
// its client until data arrives or its timeout passes, keys of several servers are refused,
// the client's other requests keep their order around it, a client that leaves while blocked
// unblocks the server, a server that dies while a client is blocked answers it with an error,
// the client's name is carried onto its own connection, and WAIT counts the client's writes.
#include <signal.h>

#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/families_util.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {
namespace {

class BlockingTest : public ::testing::Test {
 protected:
  void SetUp() override { t_ = ProxyUnderTest::Start(3); }
  std::unique_ptr<ProxyUnderTest> t_;
};

struct Case {
  std::string name;
  std::vector<std::string> setup;    // run first through the proxy (may be empty)
  std::vector<std::string> block;    // the blocking command
  std::vector<std::string> unblock;  // what another client sends
  std::string want_prefix;           // the start of the blocked client's reply
};

TEST_F(BlockingTest, EveryBlockingCommandWaitsForData) {
  // Every key of a case on server 1 (neither the first nor the "any" server).
  std::string l = KeyOn(*t_, 1, "list"), d = KeyOn(*t_, 1, "dest"), z = KeyOn(*t_, 1, "zset"),
              s = KeyOn(*t_, 1, "stream");
  auto bulk = [](const std::string& v) { return fmt::format("${}\r\n{}\r\n", v.size(), v); };
  std::vector<Case> cases = {
      {"BLPOP", {}, {"BLPOP", l, "0"}, {"RPUSH", l, "a"}, "*2\r\n" + bulk(l) + bulk("a")},
      {"BRPOP", {}, {"BRPOP", l, "0"}, {"RPUSH", l, "b"}, "*2\r\n" + bulk(l) + bulk("b")},
      {"BLMOVE", {}, {"BLMOVE", l, d, "LEFT", "RIGHT", "0"}, {"RPUSH", l, "c"}, bulk("c")},
      {"BRPOPLPUSH", {}, {"BRPOPLPUSH", l, d, "0"}, {"RPUSH", l, "e"}, bulk("e")},
      {"BLMPOP",
       {},
       {"BLMPOP", "0", "1", l, "LEFT"},
       {"RPUSH", l, "f"},
       "*2\r\n" + bulk(l) + "*1\r\n" + bulk("f")},
      {"BZPOPMIN",
       {},
       {"BZPOPMIN", z, "0"},
       {"ZADD", z, "1", "m"},
       "*3\r\n" + bulk(z) + bulk("m") + bulk("1")},
      {"BZPOPMAX",
       {},
       {"BZPOPMAX", z, "0"},
       {"ZADD", z, "2", "n"},
       "*3\r\n" + bulk(z) + bulk("n") + bulk("2")},
      {"BZMPOP",
       {},
       {"BZMPOP", "0", "1", z, "MIN"},
       {"ZADD", z, "3", "o"},
       "*2\r\n" + bulk(z) + "*1\r\n*2\r\n" + bulk("o") + bulk("3")},
      {"XREAD",
       {},
       {"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", s, "$"},
       {"XADD", s, "*", "f", "v"},
       "*1\r\n*2\r\n" + bulk(s) + "*1\r\n*2\r\n$"},
      {"XREADGROUP",
       {"XGROUP", "CREATE", s, "g", "$", "MKSTREAM"},
       {"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", s, ">"},
       {"XADD", s, "*", "f", "w"},
       "*1\r\n*2\r\n" + bulk(s) + "*1\r\n*2\r\n$"},
  };
  auto blocked = t_->Raw();
  RedisClient other = t_->Client();
  RedisClient direct = t_->Direct(1);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    if (!c.setup.empty()) {
      ASSERT_EQ(other.Command(c.setup)->type, REDIS_REPLY_STATUS);
    }
    blocked->Send(Resp(c.block));
    // Blocked on the server, while the same server serves the other client. The first reply
    // the blocked client reads carries the data sent after this: nothing came before it.
    ASSERT_TRUE(WaitFor([&] { return RedisInfo(direct, "blocked_clients") == 1; }));
    EXPECT_EQ(other.Command({"SET", l + "x", "1"})->type, REDIS_REPLY_STATUS);
    EXPECT_EQ(other.Command(c.unblock)->type,
              c.name.starts_with("X") ? REDIS_REPLY_STRING : REDIS_REPLY_INTEGER);
    std::string reply = blocked->ReadReply();
    EXPECT_TRUE(reply.starts_with(c.want_prefix)) << reply;
  }
  // XREAD without BLOCK is an ordinary read.
  EXPECT_EQ(Exchange(*blocked, {{"XREAD", "COUNT", "1", "STREAMS", s, "999999999999999-0"}}),
            std::vector<std::string>{"*-1\r\n"});
}

TEST_F(BlockingTest, TimeoutsAnswerNil) {
  std::string l = KeyOn(*t_, 2, "list"), s = KeyOn(*t_, 2, "stream");
  auto c = t_->Raw();
  auto replies = Exchange(*c, {{"BLPOP", l, "0.2"},
                               {"BZPOPMIN", l + "z", "0.1"},
                               {"XREAD", "BLOCK", "100", "STREAMS", s, "$"},
                               {"WAIT", "1", "100"},
                               {"BLPOP", l, "-1"},
                               {"BLPOP", l, "soon"}});
  EXPECT_EQ(replies, (std::vector<std::string>{"*-1\r\n", "*-1\r\n", "*-1\r\n", ":0\r\n",
                                               "-ERR timeout is negative\r\n",
                                               "-ERR timeout is not a float or out of range\r\n"}));
  // The nils are the servers' own time-outs (that the commands run one after the other, as
  // from one Redis client, RequestsKeepTheirOrderAroundABlockedCommand shows).
  auto calls = [&](const std::string& command) {
    long long n = 0;
    for (size_t i = 0; i < t_->redis.size(); ++i) {
      RedisClient direct = t_->Direct(i);
      n += RedisCalls(direct, command);
    }
    return n;
  };
  EXPECT_GE(calls("blpop"), 1);
  EXPECT_EQ(calls("bzpopmin"), 1);
  EXPECT_EQ(calls("xread"), 1);
}

TEST_F(BlockingTest, KeysOnSeveralServersAreRefused) {
  std::string a = KeyOn(*t_, 0), b = KeyOn(*t_, 1);
  auto c = t_->Raw();
  auto replies =
      Exchange(*c, {{"BLPOP", a, b, "0"}, {"BLMOVE", a, b, "LEFT", "LEFT", "0"}, {"PING"}});
  EXPECT_EQ(replies[0], "-CROSSSLOT Keys in request don't hash to the same server\r\n");
  EXPECT_EQ(replies[1], "-CROSSSLOT Keys in request don't hash to the same server\r\n");
  EXPECT_EQ(replies[2], "+PONG\r\n");
}

TEST_F(BlockingTest, RequestsKeepTheirOrderAroundABlockedCommand) {
  std::string l = KeyOn(*t_, 0, "list"), other_server = KeyOn(*t_, 1);
  auto c = t_->Raw();
  RedisClient pusher = t_->Client();
  // Sent before: runs before (the element is there, BLPOP does not block).
  EXPECT_EQ(Exchange(*c, {{"RPUSH", l, "a"}, {"BLPOP", l, "0"}}),
            (std::vector<std::string>{
                ":1\r\n", "*2\r\n" + fmt::format("${}\r\n{}\r\n", l.size(), l) + "$1\r\na\r\n"}));
  // Sent after: waits until the blocked command is answered, on any server.
  RedisClient direct = t_->Direct(0);
  InputCounter input(t_->port);
  const std::string bytes =
      Resp({"BLPOP", l, "0"}) + Resp({"LLEN", l}) + Resp({"SET", other_server, "after"});
  c->Send(bytes);
  // The proxy has read all three and the BLPOP is blocked on its server. The GET below is a
  // marker: it reaches other_server's server on the connection the SET would have taken, after
  // it, so nil shows the SET is held back (not merely slow).
  ASSERT_TRUE(input.Wait(bytes.size()));
  ASSERT_TRUE(WaitFor([&] { return RedisInfo(direct, "blocked_clients") == 1; }));
  auto early = pusher.Command({"GET", other_server});
  EXPECT_EQ(early->type, REDIS_REPLY_NIL);  // the SET has not run yet
  ASSERT_EQ(pusher.Command({"RPUSH", l, "x", "y"})->integer, 2);
  EXPECT_TRUE(c->ReadReply().starts_with("*2\r\n"));
  EXPECT_EQ(c->ReadReply(), ":1\r\n");  // after the pop, as with one Redis
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
}

TEST_F(BlockingTest, ClientLeavingWhileBlockedUnblocksTheServer) {
  std::string l = KeyOn(*t_, 1, "list");
  RedisClient direct = t_->Direct(1);
  {
    auto c = t_->Raw();
    c->Send(Resp({"BLPOP", l, "0"}));
    ASSERT_TRUE(WaitFor([&] { return RedisInfo(direct, "blocked_clients") == 1; }));
  }  // the client closes while blocked
  ASSERT_TRUE(WaitFor([&] { return RedisInfo(direct, "blocked_clients") == 0; }));
  // Nobody is left to take an element pushed now.
  RedisClient pusher = t_->Client();
  ASSERT_EQ(pusher.Command({"RPUSH", l, "kept"})->integer, 1);
  EXPECT_EQ(pusher.Command({"LLEN", l})->integer, 1);
}

TEST_F(BlockingTest, ClientLeavingBeforeItsBlockingCommandWasSent) {
  // The blocking command waits behind an earlier request to a paused server; the client
  // leaves meanwhile. Nothing is sent for it, and nothing leaks (the sanitizer build checks).
  std::string slow = KeyOn(*t_, 2), l = KeyOn(*t_, 0, "list");
  RedisClient direct = t_->Direct(0);
  kill(t_->redis[2]->pid(), SIGSTOP);
  {
    InputCounter input(t_->port);
    auto c = t_->Raw();
    const std::string bytes = Resp({"GET", slow}) + Resp({"BLPOP", l, "0"}) + Resp({"PING"});
    c->Send(bytes);
    ASSERT_TRUE(input.Wait(bytes.size()));  // the proxy holds all three when the client leaves
  }
  kill(t_->redis[2]->pid(), SIGCONT);
  RedisClient other = t_->Client();
  EXPECT_EQ(other.Command({"GET", slow})->type, REDIS_REPLY_NIL);
  EXPECT_EQ(RedisInfo(direct, "blocked_clients"), 0);
  ASSERT_EQ(other.Command({"RPUSH", l, "kept"})->integer, 1);
  EXPECT_EQ(other.Command({"LLEN", l})->integer, 1);
}

TEST_F(BlockingTest, ServerDyingWhileBlockedAnswersWithAnError) {
  std::string l = KeyOn(*t_, 1, "list");
  uint16_t port = t_->redis[1]->port();
  auto c = t_->Raw();
  RedisClient direct = t_->Direct(1);
  c->Send(Resp({"BLPOP", l, "0"}));
  ASSERT_TRUE(WaitFor([&] { return RedisInfo(direct, "blocked_clients") == 1; }));
  t_->redis[1]->process().Stop();
  EXPECT_EQ(c->ReadReply(),
            fmt::format("-ERR backend r2 (127.0.0.1:{}): Connection closed by server\r\n", port));
  EXPECT_EQ(Exchange(*c, {{"PING"}}), std::vector<std::string>{"+PONG\r\n"});
  TempDir dir;
  auto again = StartRedisOnPort(port, dir.path());
  ASSERT_TRUE(again);
  // Its own connection is reopened on the next blocking command.
  EXPECT_TRUE(WaitFor([&] {
    auto r = Exchange(*c, {{"BLPOP", l, "0.01"}});
    return r[0] == "*-1\r\n";
  }));
}

TEST_F(BlockingTest, ClientNameIsCarriedOntoItsOwnConnection) {
  std::string l = KeyOn(*t_, 0, "list");
  RedisClient direct = t_->Direct(0);
  auto names = [&] {
    auto r = direct.Command({"CLIENT", "LIST"});
    return std::string(r->str, r->len);
  };
  auto c = t_->Raw();
  EXPECT_EQ(Exchange(*c, {{"CLIENT", "SETNAME", "worker-1"}, {"BLPOP", l, "0.01"}}),
            (std::vector<std::string>{"+OK\r\n", "*-1\r\n"}));
  EXPECT_NE(names().find("name=worker-1 "), std::string::npos) << names();
  EXPECT_EQ(Exchange(*c, {{"CLIENT", "SETNAME", "worker-2"}, {"BLPOP", l, "0.01"}}),
            (std::vector<std::string>{"+OK\r\n", "*-1\r\n"}));
  EXPECT_NE(names().find("name=worker-2 "), std::string::npos) << names();
  EXPECT_EQ(names().find("name=worker-1 "), std::string::npos) << names();
  // RESET closes the client's own connections.
  EXPECT_EQ(Exchange(*c, {{"RESET"}}), std::vector<std::string>{"+RESET\r\n"});
  EXPECT_TRUE(WaitFor([&] { return names().find("name=worker-2 ") == std::string::npos; }));
}

// A client blocked in BLPOP holds no one else up: its command runs on a connection of its own,
// never on the pipelined one the others share, so the other clients of its worker and server are
// served meanwhile. Order is shown by state, not by time: the blocker is blocked on the server
// before the others start, still blocked after every one of their replies, and answered with the
// element pushed after them. (A BLPOP on the shared connection would hold their replies forever:
// the bounded reads fail.) The throughput ratio is scripts/bench's business, not a test's.
TEST(BlockedClientTest, OthersOnItsServerAreServedWhileItIsBlocked) {
  auto t = ProxyUnderTest::Start(1);  // one server and one worker, shared by every client
  RedisClient direct = t->Direct(0);
  auto blocker = t->Raw();
  blocker->Send(Resp({"BLPOP", "queue", "0"}));
  ASSERT_TRUE(WaitFor([&] { return RedisInfo(direct, "blocked_clients") == 1; }));
  constexpr int kClients = 4, kRequests = 200;
  std::vector<std::unique_ptr<RawConn>> others;
  std::vector<std::string> expected(kClients);
  for (int i = 0; i < kClients; ++i) {
    others.push_back(t->Raw());
    ASSERT_TRUE(others.back());
    std::string batch;
    for (int j = 0; j < kRequests / 2; ++j) {
      std::string key = fmt::format("other{}:{}", i, j), value = std::to_string(j);
      batch += Resp({"SET", key, value}) + Resp({"GET", key});
      expected[i] += fmt::format("+OK\r\n${}\r\n{}\r\n", value.size(), value);
    }
    ASSERT_TRUE(others.back()->Send(batch));
  }
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(others[i]->ReadN(expected[i].size()), expected[i]) << "client " << i;
  }
  EXPECT_EQ(RedisInfo(direct, "blocked_clients"), 1) << "the blocker left early";
  RedisClient pusher = t->Client();
  EXPECT_EQ(pusher.Command({"RPUSH", "queue", "x"})->integer, 1);
  EXPECT_EQ(blocker->ReadReply(), "*2\r\n$5\r\nqueue\r\n$1\r\nx\r\n");
}

TEST(BlockingWaitTest, WaitCountsReplicasThatHaveTheClientsWrites) {
  auto t = ProxyUnderTest::Start(1);
  RedisClient master = t->Direct(0);
  ASSERT_STREQ(master.Command({"CONFIG", "SET", "repl-diskless-sync-delay", "0"})->str, "OK");
  auto replica =
      RedisServer::Start({"--replicaof", "127.0.0.1", std::to_string(t->redis[0]->port())});
  ASSERT_TRUE(replica) << replica.error();
  auto replica_client = (*replica)->Connect();
  ASSERT_TRUE(replica_client);
  ASSERT_TRUE(WaitFor([&] {
    auto info = replica_client->Command({"INFO", "replication"});
    return std::string(info->str, info->len).find("master_link_status:up") != std::string::npos;
  }));
  auto c = t->Raw();
  EXPECT_EQ(Exchange(*c, {{"SET", "k", "v"}, {"WAIT", "1", "5000"}}),
            (std::vector<std::string>{"+OK\r\n", ":1\r\n"}));
  // A stopped replica has not acknowledged the next write: WAIT must not count it, though
  // the connection WAIT runs on (the client's own, new) wrote nothing itself.
  kill((*replica)->pid(), SIGSTOP);
  auto fresh = t->Raw();
  EXPECT_EQ(Exchange(*fresh, {{"SET", "k", "w"}, {"WAIT", "1", "300"}}),
            (std::vector<std::string>{"+OK\r\n", ":0\r\n"}));  // Redis's answer after 300 ms
  kill((*replica)->pid(), SIGCONT);
  EXPECT_EQ(Exchange(*fresh, {{"WAIT", "1", "5000"}}), std::vector<std::string>{":1\r\n"});
  // A client that never wrote waits for nothing, as in Redis.
  EXPECT_EQ(Exchange(*t->Raw(), {{"WAIT", "1", "5000"}}), std::vector<std::string>{":1\r\n"});
}

}  // namespace
}  // namespace rl::testing
