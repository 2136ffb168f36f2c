// Under pressure the proxy keeps serving everyone else (issue 12), with real sockets and the
// ringleader binary: a failed allocation for one client's data evicts that client, not the
// process (address space limited with prlimit); over client_memory_limit_mb the largest client
// goes first; a 300 MB value is read back and a 500 MB SET is stored under `timeout: 1000`
// while other clients of that server see no error; a client that pipelines GETs and reads
// nothing is no longer read once its unread replies pass a bound, so neither the proxy nor
// the server holds gigabytes for it.
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/proxy/served_process.h"

namespace rl::testing {
namespace {

constexpr size_t kMB = 1000 * 1000;

// A send that gives up after `ms` without progress (the proxy stopped reading this client).
void SetSendTimeout(RawConn& c, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(c.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// Bytes whose every position is checked on the way back: byte i is a function of i.
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4099) % 26);
  return s;
}

std::string SetHeader(const std::string& key, size_t value_size) {
  return fmt::format("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n${}\r\n", key.size(), key, value_size);
}

// Sends `n` bytes of filler in 1 MB pieces; false once the peer closed or stopped reading.
bool SendFiller(RawConn& c, size_t n) {
  static const std::string piece(1u << 20, 'x');
  while (n > 0) {
    size_t k = std::min(n, piece.size());
    if (!c.Send(std::string_view(piece).substr(0, k))) return false;
    n -= k;
  }
  return true;
}

bool Alive(ChildProcess& p) { return p.WaitExit(std::chrono::milliseconds(1)) == -1; }

// The proxy answers a new client, and stores and returns a value.
void ExpectServing(uint16_t port) {
  auto c = RawConn::Connect(port);
  ASSERT_TRUE(c);
  c->Send("PING\r\n");
  EXPECT_EQ(c->ReadReply(), "+PONG\r\n");
  c->Send(SetHeader("after", 2) + "ok\r\n*2\r\n$3\r\nGET\r\n$5\r\nafter\r\n");
  EXPECT_EQ(c->ReadReply(), "+OK\r\n");
  EXPECT_EQ(c->ReadReply(), "$2\r\nok\r\n");
}

// The case: 20 clients each send 100 MB of an announced 500 MB value under a 1.5 GB
// address-space limit, with no budget configured: allocations fail, and each failure evicts
// the client it was for. The process lives and serves new clients.
TEST(MemoryTest, AFailedAllocationEvictsThatClientNotTheProcess) {
  auto s =
      Serve("", {}, "ringleader:\n  client_memory_limit_mb: 0\n", {"prlimit", "--as=1500000000"});
  ASSERT_TRUE(s);
  std::vector<std::unique_ptr<RawConn>> clients;
  int cut_off = 0;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(RawConn::Connect(s->port));
    ASSERT_TRUE(clients.back()) << i;
    SetSendTimeout(*clients.back(), 10000);
    bool sent = clients.back()->Send(SetHeader(fmt::format("big{}", i), 500 * kMB)) &&
                SendFiller(*clients.back(), 100 * kMB);
    cut_off += sent ? 0 : 1;
  }
  ASSERT_TRUE(Alive(*s->proxy));
  EXPECT_GT(cut_off, 0);
  EXPECT_GT(InfoField(s->port, "evicted_clients"), 0);
  EXPECT_NE(ReadFile(s->log).find("evicted: no memory for its request"), std::string::npos);
  clients.clear();
  ExpectServing(s->port);
}

// The same clients under the default budget: half the address-space limit. The budget evicts
// before an allocation can fail.
TEST(MemoryTest, TheDefaultBudgetIsHalfTheAddressSpaceLimit) {
  auto s = Serve("", {}, "", {"prlimit", "--as=1500000000"});
  ASSERT_TRUE(s);
  EXPECT_EQ(InfoField(s->port, "maxmemory_clients"), 750000000);
  std::vector<std::unique_ptr<RawConn>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(RawConn::Connect(s->port));
    ASSERT_TRUE(clients.back()) << i;
    SetSendTimeout(*clients.back(), 10000);
    if (clients.back()->Send(SetHeader(fmt::format("big{}", i), 500 * kMB))) {
      SendFiller(*clients.back(), 100 * kMB);
    }
  }
  ASSERT_TRUE(Alive(*s->proxy));
  EXPECT_GT(InfoField(s->port, "evicted_clients"), 0);
  std::string log = ReadFile(s->log);
  EXPECT_NE(log.find("evicted: the largest client"), std::string::npos);
  EXPECT_EQ(log.find("evicted: no memory"), std::string::npos);
  clients.clear();
  ExpectServing(s->port);
}

// Ten clients hold 4 MB each of unfinished values, one sends hundreds of megabytes: over a
// 200 MB budget the big one is evicted (only it), and the ten finish and are stored.
TEST(MemoryTest, OverTheBudgetTheLargestClientIsEvictedAndTheRestServed) {
  auto s = Serve("", {}, "ringleader:\n  client_memory_limit_mb: 200\n");
  ASSERT_TRUE(s);
  const size_t small = 4u << 20;
  const std::string value = Pattern(small);
  std::vector<std::unique_ptr<RawConn>> smalls;
  for (int i = 0; i < 10; ++i) {
    smalls.push_back(RawConn::Connect(s->port));
    ASSERT_TRUE(smalls.back());
    ASSERT_TRUE(smalls.back()->Send(SetHeader(fmt::format("small{}", i), small) +
                                    value.substr(0, small / 2)));
  }
  auto big = RawConn::Connect(s->port);
  ASSERT_TRUE(big);
  SetSendTimeout(*big, 10000);
  bool sent = big->Send(SetHeader("big", 500 * kMB)) && SendFiller(*big, 400 * kMB);
  EXPECT_FALSE(sent) << "the big client was never cut off";
  EXPECT_TRUE(big->ReadToEof().empty());
  EXPECT_TRUE(big->closed());
  EXPECT_EQ(InfoField(s->port, "evicted_clients"), 1);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(smalls[i]->Send(value.substr(small / 2) + "\r\n"));
    EXPECT_EQ(smalls[i]->ReadReply(), "+OK\r\n") << i;
  }
  auto direct = s->redis->Connect();
  ASSERT_TRUE(direct);
  for (int i = 0; i < 10; ++i) {
    auto r = direct->Command({"GET", fmt::format("small{}", i)});
    ASSERT_TRUE(r && r->type == REDIS_REPLY_STRING);
    EXPECT_TRUE(r->len == value.size() && std::memcmp(r->str, value.data(), r->len) == 0) << i;
  }
  EXPECT_NE(ReadFile(s->log).find("evicted: the largest client"), std::string::npos);
}

// A reply larger than the client output bound is streamed, not refused: the bound is on the
// backlog of replies, not on one reply.
TEST(BigValueTest, A300MbValueIsReadBack) {
  auto s = Serve();
  ASSERT_TRUE(s);
  const std::string value = Pattern(300 * kMB);
  auto c = RawConn::Connect(s->port);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Send(SetHeader("v300", value.size())));
  ASSERT_TRUE(c->Send(value));
  ASSERT_TRUE(c->Send("\r\n*2\r\n$3\r\nGET\r\n$4\r\nv300\r\n"));
  EXPECT_EQ(c->ReadReply(std::chrono::seconds(60)), "+OK\r\n");
  const std::string header = fmt::format("${}\r\n", value.size());
  std::string got = c->ReadN(header.size() + value.size() + 2, std::chrono::seconds(60));
  ASSERT_EQ(got.size(), header.size() + value.size() + 2);
  EXPECT_EQ(got.substr(0, header.size()), header);
  EXPECT_TRUE(std::memcmp(got.data() + header.size(), value.data(), value.size()) == 0);
  EXPECT_EQ(got.substr(got.size() - 2), "\r\n");
}

// The pool's timeout starts once a request is written: a 500 MB SET that takes longer than it
// to send is stored, and the shared server connection it went on keeps serving the others.
TEST(BigValueTest, A500MbSetIsStoredUnderTimeoutWhileOthersAreServed) {
  auto s = Serve("  timeout: 1000\n");
  ASSERT_TRUE(s);
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, failed{0};
  std::thread others([&] {
    auto c = RawConn::Connect(s->port);
    if (!c) {
      failed = 1;
      return;
    }
    c->Send(SetHeader("small", 5) + "hello\r\n");
    if (c->ReadReply() != "+OK\r\n") ++failed;
    while (!done) {
      c->Send("*2\r\n$3\r\nGET\r\n$5\r\nsmall\r\n");
      (c->ReadReply(std::chrono::seconds(30)) == "$5\r\nhello\r\n" ? answered : failed) += 1;
    }
  });
  auto big = RawConn::Connect(s->port);
  ASSERT_TRUE(big);
  ASSERT_TRUE(big->Send(SetHeader("v500", 500 * kMB)));
  ASSERT_TRUE(SendFiller(*big, 500 * kMB));
  ASSERT_TRUE(big->Send("\r\n"));
  EXPECT_EQ(big->ReadReply(std::chrono::seconds(60)), "+OK\r\n");
  big->Send("*2\r\n$6\r\nSTRLEN\r\n$4\r\nv500\r\n");
  EXPECT_EQ(big->ReadReply(), ":500000000\r\n");
  // Marker: the other client's GETs after the big SET's reply went over the same connection.
  int before = answered;
  EXPECT_TRUE(WaitFor([&] { return answered > before + 10 || failed > 0; }));
  done = true;
  others.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(InfoField(s->port, "backend_timeouts"), 0);
}

// One client pipelines GETs of a 100 KB value and reads nothing: the proxy stops reading it
// once its unread replies pass a bound (its sends then make no progress), holds a bounded
// amount for it, does not make the server buffer gigabytes, and serves another client meanwhile.
TEST(BackpressureTest, ANonReadingClientIsNotReadAheadAndOthersAreServed) {
  auto s = Serve();
  ASSERT_TRUE(s);
  const std::string value = Pattern(100 * 1000);
  auto other = RawConn::Connect(s->port);
  ASSERT_TRUE(other);
  other->Send(SetHeader("v100k", value.size()) + value + "\r\n");
  ASSERT_EQ(other->ReadReply(), "+OK\r\n");

  auto hog = RawConn::Connect(s->port);
  ASSERT_TRUE(hog);
  SetSendTimeout(*hog, 2000);
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += "*2\r\n$3\r\nGET\r\n$5\r\nv100k\r\n";
  // 2 million GETs would be 200 GB of replies; the sends stall long before.
  bool stalled = false;
  for (int i = 0; i < 2000 && !stalled; ++i) stalled = !hog->Send(batch);
  ASSERT_TRUE(stalled) << "the proxy read 2 million GETs ahead of a client that reads nothing";

  long long held = InfoField(s->port, "used_memory_clients");
  EXPECT_GE(held, 0);
  EXPECT_LT(held, 256ll << 20) << "bytes the proxy holds for its clients";
  long long server = InfoField(s->redis->port(), "used_memory");
  EXPECT_LT(server, 512ll << 20) << "bytes the server holds";
  std::printf(
      "while the client reads nothing: the proxy holds %lld bytes for clients, the server "
      "uses %lld bytes\n",
      held, server);

  const std::string reply = fmt::format("${}\r\n{}\r\n", value.size(), value);
  for (int i = 0; i < 50; ++i) {
    other->Send("*2\r\n$3\r\nGET\r\n$5\r\nv100k\r\n");
    ASSERT_TRUE(other->ReadN(reply.size()) == reply) << i;
  }
  // The hog's replies are all there, in order, when it reads.
  std::string first = hog->ReadN(reply.size() * 3);
  EXPECT_TRUE(first == reply + reply + reply) << first.size() << " bytes, not three replies";
  EXPECT_EQ(InfoField(s->port, "backend_timeouts"), 0);
  EXPECT_EQ(InfoField(s->port, "backend_errors"), 0);
}

// 5,000 pattern subscribers under the default soft open-file limit (1,024, which ringleader raises
// to the hard limit, here 5,300): they share one subscriber connection to the server (before, each
// cost a descriptor per server and 1,024 descriptors held 300 of them), and every confirmed
// subscriber receives every message, in order.
TEST(DescriptorTest, FiveThousandPatternSubscribersShareOneConnection) {
  constexpr int kSubscribers = 5000;
  rlimit own{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &own), 0);
  if (own.rlim_max < kSubscribers + 200) GTEST_SKIP() << "hard open-file limit " << own.rlim_max;
  auto s = Serve("", {}, "", {"prlimit", "--nofile=1024:5300"});
  ASSERT_TRUE(s);
  own.rlim_cur = own.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &own), 0);
  std::vector<std::unique_ptr<RawConn>> subs;
  const std::string subscribe = Resp({"PSUBSCRIBE", "news.*"});
  for (int i = 0; i < kSubscribers; ++i) {
    subs.push_back(RawConn::Connect(s->port));
    ASSERT_TRUE(subs.back()) << "subscriber " << i;
    ASSERT_TRUE(subs.back()->Send(subscribe)) << "subscriber " << i;
  }
  const std::string confirmed = "*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:1\r\n";
  for (int i = 0; i < kSubscribers; ++i) {
    ASSERT_EQ(subs[i]->ReadReply(), confirmed) << "subscriber " << i;
  }
  auto connected = RedisClient::Connect(s->redis->port());
  ASSERT_TRUE(connected) << connected.error();
  RedisClient& direct = *connected;
  EXPECT_EQ(direct.Command({"PUBSUB", "NUMPAT"})->integer, 1);
  // The server sees this test's connection and the proxy's subscriber connection (and at most
  // one shared connection): not one per subscriber.
  auto clients = direct.Command({"INFO", "clients"});
  std::string info(clients->str, clients->len);
  size_t at = info.find("connected_clients:");
  ASSERT_NE(at, std::string::npos) << info;
  EXPECT_LE(std::stoi(info.substr(at + 18)), 3) << info;
  auto pub = RawConn::Connect(s->port);
  ASSERT_TRUE(pub);
  for (int m = 0; m < 3; ++m) {
    ASSERT_TRUE(pub->Send(Resp({"PUBLISH", fmt::format("news.{}", m), fmt::format("m{}", m)})));
    EXPECT_EQ(pub->ReadReply(), ":1\r\n");  // one receiver for Redis: the shared connection
  }
  for (int i = 0; i < kSubscribers; ++i) {
    for (int m = 0; m < 3; ++m) {
      std::string channel = fmt::format("news.{}", m), payload = fmt::format("m{}", m);
      ASSERT_EQ(subs[i]->ReadReply(),
                fmt::format("*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n${}\r\n{}\r\n${}\r\n{}\r\n",
                            channel.size(), channel, payload.size(), payload))
          << "subscriber " << i << " message " << m;
    }
  }
}

}  // namespace
}  // namespace rl::testing
