// Backends that fail: refused, killed, paused (timeouts), replying garbage; ejection as in
// nutcracker; redis_auth/redis_db; preconnect. A failing backend fails only its own requests,
// with an error that names it, and the proxy keeps serving everything else.
#include <signal.h>

#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {
namespace {

std::string Yaml(const std::string& extra, const std::vector<std::string>& servers) {
  std::string y = "pool:\n  listen: 127.0.0.1:PORT\n  redis: true\n" + extra + "  servers:\n";
  for (const auto& s : servers) y += "    - " + s + "\n";
  return y;
}

TEST(BackendFailureTest, RefusedBackendFailsOnlyItsKeys) {
  RefusingPort refusing;  // a dead server's port, which nothing else can take meanwhile
  uint16_t dead = refusing.port();
  auto t = ProxyUnderTest::StartYaml(
      Yaml("", {"127.0.0.1:$1:1 r1", fmt::format("127.0.0.1:{}:1 r2", dead)}), 1);
  std::string live_key = KeyOn(*t, 0), dead_key = KeyOn(*t, 1);
  auto c = t->Raw();
  c->Send(Resp({"SET", live_key, "1"}) + Resp({"GET", dead_key}) + Resp({"GET", live_key}) +
          Resp({"MGET", live_key, dead_key}) + Resp({"DEL", dead_key, live_key}));
  std::string error = fmt::format("-ERR backend r2 (127.0.0.1:{}): Connection refused\r\n", dead);
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  EXPECT_EQ(c->ReadReply(), error);
  EXPECT_EQ(c->ReadReply(), "$1\r\n1\r\n");
  EXPECT_EQ(c->ReadReply(), error);  // one error for the whole split command
  EXPECT_EQ(c->ReadReply(), error);
  // Back-off: the next request fails fast with the same message, the connection stays open.
  c->Send(Resp({"GET", dead_key}) + "PING\r\n");
  EXPECT_EQ(c->ReadReply(), error);
  EXPECT_EQ(c->ReadReply(), "+PONG\r\n");
}

TEST(BackendFailureTest, KilledBackendIsReconnectedWhenBack) {
  auto t = ProxyUnderTest::Start(2);
  std::string key0 = KeyOn(*t, 0), key1 = KeyOn(*t, 1);
  RedisClient c = t->Client();
  ASSERT_STREQ(c.Command({"SET", key1, "before"})->str, "OK");
  uint16_t port1 = t->redis[1]->port();
  t->redis[1]->process().Stop();
  // In-flight or new requests to r2 fail with an error naming it; r1 is unaffected.
  auto r = c.Command({"GET", key1});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(
      std::string(r->str).starts_with(fmt::format("ERR backend r2 (127.0.0.1:{}): ", port1)))
      << r->str;
  EXPECT_STREQ(c.Command({"SET", key0, "x"})->str, "OK");
  // Restart r2 on the same port: the proxy reconnects (after its back-off) by itself.
  TempDir dir;
  auto again = StartRedisOnPort(port1, dir.path());
  ASSERT_TRUE(again);
  EXPECT_TRUE(WaitFor([&] {
    auto reply = c.Command({"SET", key1, "after"});
    return reply && reply->type == REDIS_REPLY_STATUS;
  }));
  EXPECT_STREQ(c.Command({"GET", key1})->str, "after");
}

TEST(BackendFailureTest, TimeoutFailsRequestsOfAPausedBackend) {
  auto t = ProxyUnderTest::Start(2, "  timeout: 300\n");
  std::string key0 = KeyOn(*t, 0), key1 = KeyOn(*t, 1);
  RedisClient c = t->Client();
  ASSERT_STREQ(c.Command({"SET", key1, "v"})->str, "OK");
  kill(t->redis[1]->pid(), SIGSTOP);
  auto raw = t->Raw();
  raw->Send(Resp({"GET", key1}) + Resp({"GET", key0}));
  // Only the time-out can answer: r2 stays stopped until after the reply. (How long the proxy
  // waited is not checked: that needs a clock the test does not control.)
  std::string first = raw->ReadReply();
  EXPECT_EQ(first, fmt::format("-ERR backend r2 (127.0.0.1:{}): Connection timed out\r\n",
                               t->redis[1]->port()));
  EXPECT_EQ(raw->ReadReply(), "$-1\r\n");  // r1 answered, in order after r2's error
  // r1 keeps serving while r2 is paused.
  EXPECT_EQ(c.Command({"SET", key0, "w"})->type, REDIS_REPLY_STATUS);
  kill(t->redis[1]->pid(), SIGCONT);
  EXPECT_TRUE(WaitFor([&] {
    auto reply = c.Command({"GET", key1});
    return reply && reply->type == REDIS_REPLY_STRING;
  }));
}

TEST(BackendFailureTest, GarbageFromBackendFailsItsRequests) {
  FakeBackend garbage("HELLO I AM NOT REDIS\r\n");
  auto t = ProxyUnderTest::StartYaml(
      Yaml("", {"127.0.0.1:$1:1 r1", fmt::format("127.0.0.1:{}:1 bad", garbage.port())}), 1);
  std::string good = KeyOn(*t, 0), bad = KeyOn(*t, 1);
  auto c = t->Raw();
  for (int round = 0; round < 3; ++round) {
    c->Send(Resp({"GET", bad}) + Resp({"SET", good, "1"}));
    std::string reply = c->ReadReply();
    EXPECT_TRUE(reply.starts_with(
        fmt::format("-ERR backend bad (127.0.0.1:{}): invalid reply", garbage.port())))
        << reply;
    EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  }
  EXPECT_GE(garbage.accepted(), 2);  // reconnected after each failure
}

TEST(BackendFailureTest, HangingBackendWithoutTimeoutHoldsOnlyItsClients) {
  auto hang = std::make_unique<FakeBackend>("");
  auto t = ProxyUnderTest::StartYaml(
      Yaml("", {"127.0.0.1:$1:1 r1", fmt::format("127.0.0.1:{}:1 hang", hang->port())}), 1);
  std::string good = KeyOn(*t, 0), stuck = KeyOn(*t, 1);
  {
    // A client that disconnects with a request in flight waits for its replies (as with
    // nutcracker: it may only have shut down its writing side), then goes.
    auto c = t->Raw();
    c->Send(Resp({"GET", stuck}) + Resp({"GET", good}));
  }
  RedisClient other = t->Client();
  EXPECT_EQ(other.Command({"SET", good, "fine"})->type, REDIS_REPLY_STATUS);
  // Connected: the departed one, `other` and the connection INFO itself uses.
  EXPECT_EQ(InfoField(t->port, "connected_clients"), 3);
  hang.reset();  // the server goes: the stuck request fails, and its client can close
  EXPECT_TRUE(WaitFor([&] { return InfoField(t->port, "connected_clients") == 2; }));
}

// server_retry_timeout is far longer than the test: the second SET is sure to find r3 ejected
// however slowly it runs.
TEST(EjectionTest, EjectedServerLeavesTheRing) {
  RefusingPort refusing;  // a dead server's port, which nothing else can take meanwhile
  uint16_t dead = refusing.port();
  auto t = ProxyUnderTest::StartYaml(
      Yaml("  auto_eject_hosts: true\n  server_failure_limit: 1\n"
           "  server_retry_timeout: 3600000\n",
           {"127.0.0.1:$1:1 r1", "127.0.0.1:$2:1 r2", fmt::format("127.0.0.1:{}:1 r3", dead)}),
      2);
  std::string key = KeyOn(*t, 2);
  RedisClient c = t->Client();
  auto first = c.Command({"SET", key, "v"});
  ASSERT_TRUE(first) << "no reply";
  ASSERT_EQ(first->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(std::string(first->str).find("backend r3") != std::string::npos) << first->str;
  // r3 is ejected: its keys now go to r1 or r2.
  auto second = c.Command({"SET", key, "v"});
  ASSERT_TRUE(second) << "no reply";
  ASSERT_EQ(second->type, REDIS_REPLY_STATUS) << second->str;
  long long found = 0;
  for (size_t i = 0; i < 2; ++i) found += t->Direct(i).Command({"EXISTS", key})->integer;
  EXPECT_EQ(found, 1);
  EXPECT_EQ(InfoField(t->port, "backend_ejections"), 1);
}

// After server_retry_timeout the server is back in the ring, fails again, and is ejected again:
// the second ejection is the event waited for (bounded), so no step depends on how fast the
// test runs.
TEST(EjectionTest, EjectedServerReturnsAfterTheRetryTimeout) {
  RefusingPort refusing;
  uint16_t dead = refusing.port();
  auto t = ProxyUnderTest::StartYaml(
      Yaml("  auto_eject_hosts: true\n  server_failure_limit: 1\n"
           "  server_retry_timeout: 200\n",
           {"127.0.0.1:$1:1 r1", "127.0.0.1:$2:1 r2", fmt::format("127.0.0.1:{}:1 r3", dead)}),
      2);
  std::string key = KeyOn(*t, 2);
  RedisClient c = t->Client();
  auto first = c.Command({"SET", key, "v"});
  ASSERT_TRUE(first) << "no reply";
  ASSERT_EQ(first->type, REDIS_REPLY_ERROR);
  EXPECT_GE(InfoField(t->port, "backend_ejections"), 1);
  EXPECT_TRUE(WaitFor([&] {
    auto r = c.Command({"GET", key});
    return r && r->type == REDIS_REPLY_ERROR &&
           std::string(r->str).find("backend r3") != std::string::npos &&
           InfoField(t->port, "backend_ejections") >= 2;
  }));
}

// A dead server under auto_eject_hosts costs at most server_failure_limit errors per retry
// period, as in nutcracker: requests failed fast during the reconnect back-off count as
// failures too (they used to fail unseen by the limit, thousands per period).
TEST(EjectionTest, ADeadServerCostsAtMostTheFailureLimitPerRetryPeriod) {
  RefusingPort refusing;
  auto t = ProxyUnderTest::StartYaml(
      Yaml("  auto_eject_hosts: true\n  server_failure_limit: 2\n  server_retry_timeout: 100\n",
           {"127.0.0.1:$1:1 r1", fmt::format("127.0.0.1:{}:1 r2", refusing.port())}),
      1);
  std::string key = KeyOn(*t, 1);
  RedisClient c = t->Client();
  long long errors = 0, served = 0;
  // Requests back to back until the server has been ejected (and readmitted) four times.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int i = 0; i < 50; ++i) {
          auto r = c.Command({"GET", key});
          if (!r) return false;
          (r->type == REDIS_REPLY_ERROR ? errors : served) += 1;
        }
        return InfoField(t->port, "backend_ejections") >= 4;
      },
      std::chrono::seconds(30)));
  long long ejections = InfoField(t->port, "backend_ejections");
  EXPECT_LE(errors, 2 * (ejections + 1)) << errors << " errors, " << ejections << " ejections";
  EXPECT_GT(served, 0);  // while ejected, its keys went to r1
}

TEST(EjectionTest, WithoutEjectionDeadServersKeysGetErrorsNeverAnotherServer) {
  RefusingPort refusing;  // a dead server's port, which nothing else can take meanwhile
  uint16_t dead = refusing.port();
  auto t =
      ProxyUnderTest::StartYaml(Yaml("  server_failure_limit: 1\n",
                                     {"127.0.0.1:$1:1 r1", fmt::format("127.0.0.1:{}:1 r2", dead)}),
                                1);
  std::string key = KeyOn(*t, 1);
  RedisClient c = t->Client();
  for (int i = 0; i < 20; ++i) {
    auto r = c.Command({"SET", key, "v"});
    ASSERT_EQ(r->type, REDIS_REPLY_ERROR);
  }
  EXPECT_EQ(t->Direct(0).Command({"EXISTS", key})->integer, 0);
}

TEST(BackendAuthTest, RedisAuthAndDbAreSentOnConnect) {
  auto redis = RedisServer::Start({"--requirepass", "pw"});
  ASSERT_TRUE(redis);
  std::string yaml = fmt::format(
      "pool:\n  listen: 127.0.0.1:PORT\n  redis: true\n  redis_auth: pw\n  redis_db: 3\n"
      "  servers:\n    - 127.0.0.1:{}:1\n",
      (*redis)->port());
  auto t = ProxyUnderTest::StartYaml(yaml, 0);
  RedisClient c = t->Client();
  EXPECT_STREQ(c.Command({"AUTH", "pw"})->str, "OK");  // clients AUTH with redis_auth too
  EXPECT_STREQ(c.Command({"SET", "authkey", "db3"})->str, "OK");
  auto direct = (*redis)->Connect();
  ASSERT_TRUE(direct);
  direct->Command({"AUTH", "pw"});
  EXPECT_EQ(direct->Command({"EXISTS", "authkey"})->integer, 0);
  direct->Command({"SELECT", "3"});
  EXPECT_STREQ(direct->Command({"GET", "authkey"})->str, "db3");
}

TEST(BackendAuthTest, WrongRedisAuthIsReported) {
  auto redis = RedisServer::Start({"--requirepass", "pw"});
  ASSERT_TRUE(redis);
  std::string yaml = fmt::format(
      "pool:\n  listen: 127.0.0.1:PORT\n  redis: true\n  redis_auth: nope\n"
      "  servers:\n    - 127.0.0.1:{}:1 main\n",
      (*redis)->port());
  auto t = ProxyUnderTest::StartYaml(yaml, 0);
  RedisClient c = t->Client();
  EXPECT_STREQ(c.Command({"AUTH", "nope"})->str, "OK");  // the proxy's door: redis_auth
  auto r = c.Command({"GET", "x"});
  ASSERT_EQ(r->type, REDIS_REPLY_ERROR);
  EXPECT_TRUE(std::string(r->str).starts_with(fmt::format(
      "ERR backend main (127.0.0.1:{}): AUTH/SELECT failed: WRONGPASS", (*redis)->port())))
      << r->str;
}

// nutcracker 0.5.0 makes every client AUTH with the pool's redis_auth before anything else, so
// a drop-in replacement must too. The same requests go to nutcracker and to ringleader over the
// same password-protected redis-server; each reply is of the same kind from both (NOAUTH before
// AUTH, an error for a wrong password, service after the right one).
TEST(BackendAuthTest, ClientsMustAuthWithRedisAuthAsInNutcracker) {
  auto redis = RedisServer::Start({"--requirepass", "pw"});
  ASSERT_TRUE(redis);
  std::string servers = fmt::format("  servers:\n    - 127.0.0.1:{}:1 main\n", (*redis)->port());
  auto t = ProxyUnderTest::StartYaml(
      "pool:\n  listen: 127.0.0.1:PORT\n  redis: true\n  redis_auth: pw\n" + servers, 0);
  TempDir dir;
  uint16_t nc_port = FreePort();
  std::string nc_yaml = dir.Write(
      "nc.yml", fmt::format("pool:\n  listen: 127.0.0.1:{}\n  redis: true\n  redis_auth: pw\n{}",
                            nc_port, servers));
  auto nc = ChildProcess::Spawn({"nutcracker", "-c", nc_yaml, "-s", std::to_string(FreePort()),
                                 "-a", "127.0.0.1", "-o", dir.File("nc.log")});
  ASSERT_TRUE(nc) << nc.error();
  ASSERT_TRUE(WaitForPort(nc_port)) << "nutcracker did not listen";
  const std::vector<std::vector<std::string>> requests = {
      {"PING"},       {"GET", "a"},      {"AUTH", "wrong"}, {"SET", "a", "1"},
      {"AUTH", "pw"}, {"SET", "a", "1"}, {"GET", "a"}};
  std::string bytes;
  for (const auto& argv : requests) bytes += Resp(argv);
  auto replies = [&](uint16_t port) {
    auto conn = RawConn::Connect(port);
    std::vector<std::string> out;
    if (!conn || !conn->Send(bytes)) return out;
    for (size_t i = 0; i < requests.size(); ++i) out.push_back(conn->ReadReply());
    return out;
  };
  std::vector<std::string> ours = replies(t->port), theirs = replies(nc_port);
  ASSERT_EQ(ours.size(), requests.size());
  ASSERT_EQ(theirs.size(), requests.size());
  for (size_t i : {0, 1, 3}) {  // refused before AUTH, and after a wrong password
    EXPECT_TRUE(ours[i].starts_with("-NOAUTH Authentication required")) << i << ": " << ours[i];
    EXPECT_TRUE(theirs[i].starts_with("-NOAUTH Authentication required")) << i << ": " << theirs[i];
  }
  EXPECT_TRUE(ours[2].starts_with("-")) << ours[2];  // the wrong password
  EXPECT_TRUE(theirs[2].starts_with("-")) << theirs[2];
  for (size_t i : {4, 5, 6}) EXPECT_EQ(ours[i], theirs[i]) << i;
  EXPECT_EQ(ours[6], "$1\r\n1\r\n");
  // client_auth, when given, is the password instead of redis_auth.
  auto own = ProxyUnderTest::StartYaml(
      "pool:\n  listen: 127.0.0.1:PORT\n  redis: true\n"
      "  redis_auth: pw\n  client_auth: other\n" +
          servers,
      0);
  auto conn = RawConn::Connect(own->port);
  ASSERT_TRUE(conn);
  conn->Send(Resp({"AUTH", "pw"}) + Resp({"AUTH", "other"}) + Resp({"GET", "a"}));
  EXPECT_TRUE(conn->ReadReply().starts_with("-"));
  EXPECT_EQ(conn->ReadReply(), "+OK\r\n");
  EXPECT_EQ(conn->ReadReply(), "$1\r\n1\r\n");
}

TEST(UnixBackendTest, ServersOnUnixSockets) {
  TempDir dir;
  std::string path = dir.File("redis.sock");
  auto redis = RedisServer::Start({"--unixsocket", path});
  ASSERT_TRUE(redis);
  std::string yaml = fmt::format(
      "pool:\n  listen: 127.0.0.1:PORT\n  redis: true\n  servers:\n    - {}:1 local\n", path);
  auto t = ProxyUnderTest::StartYaml(yaml, 0);
  RedisClient c = t->Client();
  EXPECT_STREQ(c.Command({"SET", "via-unix", "1"})->str, "OK");
  auto direct = (*redis)->Connect();
  ASSERT_TRUE(direct);
  EXPECT_STREQ(direct->Command({"GET", "via-unix"})->str, "1");
}

TEST(PreconnectTest, ConnectionsOpenBeforeAnyRequest) {
  auto t = ProxyUnderTest::Start(2, "  preconnect: true\n  server_connections: 2\n");
  for (size_t i = 0; i < 2; ++i) {
    RedisClient direct = t->Direct(i);
    EXPECT_TRUE(WaitFor([&] {
      auto r = direct.Command({"INFO", "clients"});
      // The proxy's two connections plus this one.
      return r && std::string(r->str).find("connected_clients:3\r\n") != std::string::npos;
    }));
  }
}

}  // namespace
}  // namespace rl::testing
