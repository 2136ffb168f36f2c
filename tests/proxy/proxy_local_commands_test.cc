// Commands ringleader answers itself, and its error replies, compared byte for byte with a real
// redis-server 7.0 given the same bytes; plus the ones where ringleader deliberately differs.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"

namespace rl::testing {
namespace {

class LocalCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { t_ = ProxyUnderTest::Start(2).release(); }
  static void TearDownTestSuite() {
    delete t_;
    t_ = nullptr;
  }
  // The reply of a fresh connection to `port` to `bytes` (one reply, or everything until the
  // server closes when `until_close`).
  static std::string Exchange(uint16_t port, const std::string& bytes, bool until_close = false) {
    auto c = RawConn::Connect(port);
    if (!c) return "<connect failed>";
    c->Send(bytes);
    return until_close ? c->ReadToEof() : c->ReadReply();
  }
  static ProxyUnderTest* t_;
};
ProxyUnderTest* LocalCommandsTest::t_ = nullptr;

TEST_F(LocalCommandsTest, SameBytesAsRedis) {
  const std::vector<std::string> requests = {
      "PING\r\n",
      "PING hello\r\n",
      "PING a b\r\n",
      "ECHO x\r\n",
      "ECHO\r\n",
      "ECHO a b\r\n",
      "SELECT 0\r\n",
      "SELECT x\r\n",
      "SELECT 99999999999999999999\r\n",
      "SELECT -1\r\n",
      "FOO a b\r\n",
      "FOO\r\n",
      "foo 'a\r\nb'\r\n",
      Resp({"FOO", std::string(200, 'x'), "b"}),
      Resp({"FOO", "a", std::string(300, 'y'), "c"}),
      "GET\r\n",
      "SET a\r\n",
      "CONFIG\r\n",
      "CONFIG FOO\r\n",
      "config foo bar\r\n",
      "CLIENT FOO\r\n",
      "COMMAND FOO\r\n",
      "HELLO x\r\n",
      "HELLO 1\r\n",
      "HELLO 2 AUTH\r\n",
      "HELLO 2 FOO\r\n",
      "CLIENT SETNAME \"a b\"\r\n",
      "CLIENT SETNAME ok\r\n",
      "CLIENT GETNAME\r\n",
      "AUTH x\r\n",
      "AUTH a b c\r\n",
      "AUTH nobody pass\r\n",
      "RESET\r\n",
      "QUIT\r\n",
      "COMMAND COUNT\r\n",
      "COMMAND INFO get nosuch config|get\r\n",
      "COMMAND DOCS get\r\n",
      "COMMAND DOCS nosuch\r\n",
      "COMMAND GETKEYS mset a b c d\r\n",
      "CONFIG GET save\r\n",
      "CONFIG GET appendonly\r\n",
      "CONFIG GET nosuch\r\n",
      "*0\r\nPING\r\n",
      "*-1\r\nPING\r\n",
      "\r\nPING\r\n",
  };
  uint16_t redis_port = t_->redis[0]->port();
  for (const std::string& request : requests) {
    SCOPED_TRACE(request);
    EXPECT_EQ(Exchange(t_->port, request), Exchange(redis_port, request));
  }
}

// CLIENT REPLY OFF/ON/SKIP (fire-and-forget clients): the same bytes as from Redis, over one
// connection ended by QUIT; commands sent while replies are off still run.
TEST_F(LocalCommandsTest, ClientReplySameBytesAsRedis) {
  std::string bytes;
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{"CLIENT", "REPLY", "OFF"},
                                             {"SET", "cr:a", "1"},
                                             {"INCR", "cr:a"},
                                             {"CLIENT", "REPLY", "bogus"},
                                             {"CLIENT", "REPLY", "SKIP"},
                                             {"CLIENT", "REPLY", "ON"},
                                             {"GET", "cr:a"},
                                             {"CLIENT", "REPLY", "SKIP"},
                                             {"GET", "cr:a"},
                                             {"PING"},
                                             {"CLIENT", "REPLY", "SKIP"},
                                             {"CLIENT", "REPLY", "ON"},
                                             {"CLIENT", "REPLY", "bogus"},
                                             {"QUIT"}}) {
    bytes += Resp(argv);
  }
  auto redis = RedisServer::Start();
  ASSERT_TRUE(redis);
  std::string theirs = Exchange((*redis)->port(), bytes, /*until_close=*/true);
  // ON is heard even right after a SKIP; OFF, SKIP and what they silence are not.
  EXPECT_EQ(theirs, "+OK\r\n$1\r\n2\r\n+PONG\r\n+OK\r\n-ERR syntax error\r\n+OK\r\n");
  EXPECT_EQ(Exchange(t_->port, bytes, /*until_close=*/true), theirs);
}

TEST_F(LocalCommandsTest, ProtocolErrorsCloseLikeRedis) {
  const std::vector<std::string> requests = {
      "*abc\r\n",
      "*1\r\n$-1\r\n",
      "*1\r\n$abc\r\n",
      "*1\r\n$536870913\r\n",
      "*1\r\n*1\r\n$4\r\nPING\r\n",
      "*2\r\n$3\r\nGET\r\n:1\r\n",
      "SET \"abc\r\n",
      "PING\r\n*x\r\n",
      std::string(70000, 'g'),
      "*" + std::string(70000, '1'),
      "*1\r\n$" + std::string(70000, '1'),
  };
  uint16_t redis_port = t_->redis[0]->port();
  for (const std::string& request : requests) {
    SCOPED_TRACE(request.substr(0, 40));
    std::string ours = Exchange(t_->port, request, true);
    EXPECT_EQ(ours, Exchange(redis_port, request, true));
    EXPECT_NE(ours.find("Protocol error"), std::string::npos);
  }
}

TEST_F(LocalCommandsTest, DeliberateDifferences) {
  // Redis has 16 databases; a proxy serves one.
  EXPECT_EQ(Exchange(t_->port, "SELECT 1\r\n"), "-ERR DB index is out of range\r\n");
  // Only RESP2 for now.
  EXPECT_EQ(Exchange(t_->port, "HELLO 3\r\n"),
            "-NOPROTO sorry, this protocol version is not supported\r\n");
  // Not a cluster, but cluster-aware clients may send these.
  EXPECT_EQ(Exchange(t_->port, "READONLY\r\n"), "+OK\r\n");
  EXPECT_EQ(Exchange(t_->port, "READWRITE\r\n"), "+OK\r\n");
  // A bulk string must end with CRLF (Redis skips two bytes whatever they are).
  EXPECT_EQ(Exchange(t_->port, "*1\r\n$4\r\nPINGxx", true),
            "-ERR Protocol error: bulk string not followed by CRLF\r\n");
  // Negative multibulk lengths other than -1 are refused (Redis ignores them).
  EXPECT_EQ(Exchange(t_->port, "*-5\r\n", true),
            "-ERR Protocol error: invalid multibulk length\r\n");
  // Refused commands say why, and the connection stays open.
  auto c = t_->Raw();
  c->Send("FLUSHALL ASYNC x\r\nMONITOR\r\nCLIENT LIST\r\nPING\r\n");
  EXPECT_EQ(c->ReadReply().substr(0, 5), "-ERR ");
  EXPECT_TRUE(c->ReadReply().starts_with("-ERR 'MONITOR' is not supported by ringleader: "));
  EXPECT_TRUE(c->ReadReply().starts_with("-ERR 'CLIENT LIST' is not supported by ringleader: "));
  EXPECT_EQ(c->ReadReply(), "+PONG\r\n");
}

TEST_F(LocalCommandsTest, HelloTwoAndClientState) {
  auto c = t_->Raw();
  c->Send("HELLO 2 SETNAME app\r\n");
  std::string hello = c->ReadReply();
  EXPECT_TRUE(
      hello.starts_with("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15"
                        "\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:"))
      << hello;
  EXPECT_TRUE(
      hello.ends_with("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
                      "$7\r\nmodules\r\n*0\r\n"))
      << hello;
  c->Send(
      "CLIENT GETNAME\r\nCLIENT ID\r\nCLIENT INFO\r\nCLIENT SETINFO lib-name redis-py\r\n"
      "CLIENT SETINFO lib-ver 4.3.4\r\nCLIENT SETINFO bad x\r\nRESET\r\nCLIENT GETNAME\r\n");
  EXPECT_EQ(c->ReadReply(), "$3\r\napp\r\n");
  std::string id = c->ReadReply();
  EXPECT_EQ(id[0], ':');
  std::string info = c->ReadReply();
  EXPECT_NE(info.find("id=" + id.substr(1, id.size() - 3) + " "), std::string::npos) << info;
  EXPECT_NE(info.find(" name=app "), std::string::npos) << info;
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  EXPECT_EQ(c->ReadReply(), "-ERR Unrecognized option 'bad'\r\n");
  EXPECT_EQ(c->ReadReply(), "+RESET\r\n");
  EXPECT_EQ(c->ReadReply(), "$-1\r\n");
}

TEST_F(LocalCommandsTest, InfoHasCountersAndLoading) {
  auto c = t_->Raw();
  c->Send("GET a\r\nINFO\r\n");
  c->ReadReply();
  std::string info = c->ReadReply();
  for (const char* field :
       {"# Server\r\n", "redis_version:7.0.15\r\n", "# Clients\r\n",
        "connected_clients:", "# Stats\r\n", "total_commands_processed:", "loading:0\r\n"}) {
    EXPECT_NE(info.find(field), std::string::npos) << field << " in " << info;
  }
  c->Send("INFO clients\r\n");
  std::string clients = c->ReadReply();
  EXPECT_NE(clients.find("# Clients"), std::string::npos);
  EXPECT_EQ(clients.find("# Server"), std::string::npos);
  c->Send("INFO nosuch\r\n");
  EXPECT_EQ(c->ReadReply(), "$0\r\n\r\n");
}

TEST_F(LocalCommandsTest, RingleaderStatusOfAStandaloneProcess) {
  auto c = t_->Raw();
  const std::string fields = "rl_node_id:0\r\nrl_role:standalone\r\n";
  c->Send("RINGLEADER STATUS\r\nINFO ringleader\r\n");
  // Then each pool's migration fields (host/migration_driver.h), stable with nothing moved.
  std::string status = c->ReadReply();
  EXPECT_NE(status.find("\r\n" + fields + "rl_pool_"), std::string::npos) << status;
  EXPECT_NE(status.find("_migration:stable\r\n"), std::string::npos) << status;
  EXPECT_NE(status.find("_keys_moved:0\r\n"), std::string::npos) << status;
  std::string info = c->ReadReply();
  EXPECT_NE(info.find("# Ringleader\r\n" + fields), std::string::npos) << info;
  // Changes need a cluster, and the error names the file that lacks the section.
  c->Send("RINGLEADER CLUSTER REMOVE 2\r\nRINGLEADER NOSUCH\r\n");
  std::string refused = c->ReadReply();
  EXPECT_TRUE(
      refused.starts_with("-ERR RINGLEADER CLUSTER needs a cluster: this process runs "
                          "standalone (no `ringleader: cluster:` section in "))
      << refused;
  EXPECT_EQ(c->ReadReply(), "-ERR unknown subcommand 'NOSUCH'. Try RINGLEADER HELP.\r\n");
}

TEST_F(LocalCommandsTest, CommandListsEveryRedisCommand) {
  auto ours = t_->Raw();
  auto redis = RawConn::Connect(t_->redis[0]->port());
  ours->Send("COMMAND COUNT\r\n");
  redis->Send("COMMAND COUNT\r\n");
  std::string count = ours->ReadReply();
  EXPECT_EQ(count, redis->ReadReply());
  ours->Send("COMMAND\r\n");
  std::string all = ours->ReadReply(std::chrono::seconds(10));
  EXPECT_TRUE(all.starts_with("*" + count.substr(1))) << all.substr(0, 20);
}

class ClientAuthTest : public ::testing::Test {};

TEST_F(ClientAuthTest, PasswordRequiredBeforeCommands) {
  auto t = ProxyUnderTest::Start(1, "  client_auth: s3cret\n");
  auto c = t->Raw();
  c->Send("GET a\r\nPING\r\nAUTH wrong\r\nHELLO 2\r\nAUTH s3cret\r\nGET a\r\n");
  EXPECT_EQ(c->ReadReply(), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(c->ReadReply(), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(c->ReadReply(), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_TRUE(c->ReadReply().starts_with("-NOAUTH HELLO must be called"));
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  EXPECT_EQ(c->ReadReply(), "$-1\r\n");
  // AUTH default <password>, and HELLO 2 AUTH default <password>.
  auto d = t->Raw();
  d->Send("AUTH default s3cret\r\nPING\r\n");
  EXPECT_EQ(d->ReadReply(), "+OK\r\n");
  EXPECT_EQ(d->ReadReply(), "+PONG\r\n");
  auto e = t->Raw();
  e->Send("HELLO 2 AUTH default s3cret\r\nPING\r\nAUTH other s3cret\r\n");
  EXPECT_TRUE(e->ReadReply().starts_with("*14\r\n"));
  EXPECT_EQ(e->ReadReply(), "+PONG\r\n");
  EXPECT_EQ(e->ReadReply(), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  // Before AUTH, Redis's tighter request limits apply.
  auto f = t->Raw();
  f->Send(Resp({"SET", "k", std::string(20000, 'v')}));
  EXPECT_EQ(f->ReadToEof(), "-ERR Protocol error: unauthenticated bulk length\r\n");
  auto g = t->Raw();
  g->Send(Resp(std::vector<std::string>(11, "x")));
  EXPECT_EQ(g->ReadToEof(), "-ERR Protocol error: unauthenticated multibulk length\r\n");
  // RESET forgets the authentication.
  e->Send("RESET\r\nPING\r\n");
  EXPECT_EQ(e->ReadReply(), "+RESET\r\n");
  EXPECT_EQ(e->ReadReply(), "-NOAUTH Authentication required.\r\n");
}

// nutcracker parses client_connections and ignores it; ringleader enforces it across the pool's
// workers, refusing the extra client as Redis refuses one past maxclients.
TEST(ClientConnectionsTest, ThePoolLimitRefusesTheExtraClientUntilOneLeaves) {
  auto t = ProxyUnderTest::Start(1, "  client_connections: 2\n  workers: 2\n");
  ASSERT_NE(t, nullptr);
  // Two clients in (the kernel spreads them over the workers' listeners).
  auto first = t->Raw();
  auto second = t->Raw();
  ASSERT_TRUE(first && second);
  for (auto* c : {first.get(), second.get()}) {
    c->Send(Resp({"PING"}));
    EXPECT_EQ(c->ReadReply(), "+PONG\r\n");
  }
  auto third = t->Raw();
  ASSERT_TRUE(third);
  // Refused before it sends anything, then closed.
  EXPECT_EQ(third->ReadToEof(), "-ERR max number of clients reached\r\n");
  EXPECT_TRUE(third->closed());
  EXPECT_EQ(InfoField(t->port, "rejected_connections"), -1);  // INFO needs a free slot too
  // The third and InfoField's connection were refused (and maybe some of the retries below).
  first.reset();  // one leaves: its slot is free once the proxy has seen the close
  std::unique_ptr<RawConn> again;
  std::string reply;
  ASSERT_TRUE(WaitFor([&] {
    again = t->Raw();
    if (!again || !again->Send(Resp({"INFO", "stats"}))) return false;
    reply = again->ReadReply();
    return reply.find("rejected_connections:") != std::string::npos;
  })) << reply;
  size_t at = reply.find("rejected_connections:");
  EXPECT_GE(std::stoll(reply.substr(at + std::string_view("rejected_connections:").size())), 2)
      << reply;
  second->Send(Resp({"PING"}));
  EXPECT_EQ(second->ReadReply(), "+PONG\r\n");
}

}  // namespace
}  // namespace rl::testing
