// Every item of issue 3's "Bad input" list: each gets an error reply or a clean close, and a
// bystander client connected all along keeps being served.
#include <sys/socket.h>

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/support/test_seed.h"

namespace rl::testing {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    proxy::ProxyOptions options;
    options.client_output_limit = 1u << 20;
    t_ = ProxyUnderTest::Start(2, "", options).release();
  }
  static void TearDownTestSuite() {
    delete t_;
    t_ = nullptr;
  }
  void SetUp() override {
    bystander_ = t_->Raw();
    ASSERT_TRUE(bystander_);
  }
  void TearDown() override {
    // The bystander, connected before the bad input, is still served.
    bystander_->Send("PING\r\n");
    EXPECT_EQ(bystander_->ReadReply(), "+PONG\r\n");
    auto fresh = t_->Raw();
    fresh->Send(Resp({"SET", "bystander", "ok"}) + Resp({"GET", "bystander"}));
    EXPECT_EQ(fresh->ReadReply(), "+OK\r\n");
    EXPECT_EQ(fresh->ReadReply(), "$2\r\nok\r\n");
  }
  // Sends `bytes` on a new connection and returns everything until the proxy closes it.
  static std::string SendAndReadToClose(const std::string& bytes, bool& closed) {
    auto c = t_->Raw();
    c->Send(bytes);
    std::string out = c->ReadToEof();
    closed = c->closed();
    return out;
  }
  static ProxyUnderTest* t_;
  std::unique_ptr<RawConn> bystander_;
};
ProxyUnderTest* BadInputTest::t_ = nullptr;

TEST_F(BadInputTest, NegativeHugeAndNonNumericLengths) {
  struct Case {
    std::string bytes;
    std::string reply;
  };
  const std::vector<Case> cases = {
      {"*-2\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"*99999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"*x1\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"*1\r\n$-7\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"*1\r\n$9999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"*1\r\n$1a\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bytes);
    bool closed = false;
    EXPECT_EQ(SendAndReadToClose(c.bytes, closed), c.reply);
    EXPECT_TRUE(closed);
  }
}

TEST_F(BadInputTest, MultibulkLongerThanTheDataThenClose) {
  auto c = t_->Raw();
  c->Send("*5\r\n$3\r\nSET\r\n$1\r\na\r\n");
  c->ShutdownWrite();
  EXPECT_EQ(c->ReadToEof(), "");
  EXPECT_TRUE(c->closed());
}

TEST_F(BadInputTest, BulkNotFollowedByCrlf) {
  bool closed = false;
  EXPECT_EQ(SendAndReadToClose("*2\r\n$3\r\nGET\r\n$1\r\nabc\r\n", closed),
            "-ERR Protocol error: bulk string not followed by CRLF\r\n");
  EXPECT_TRUE(closed);
}

TEST_F(BadInputTest, NestedArrays) {
  bool closed = false;
  EXPECT_EQ(SendAndReadToClose("*2\r\n$3\r\nGET\r\n*1\r\n$1\r\na\r\n", closed),
            "-ERR Protocol error: expected '$', got '*'\r\n");
  EXPECT_TRUE(closed);
}

TEST_F(BadInputTest, OneMegabyteOfInlineGarbage) {
  bool closed = false;
  EXPECT_EQ(SendAndReadToClose(std::string(1 << 20, 'g'), closed),
            "-ERR Protocol error: too big inline request\r\n");
  EXPECT_TRUE(closed);
  // Random bytes (with newlines): error replies and/or a protocol-error close, never a hang.
  SCOPED_TRACE(SeedNote());
  std::mt19937 rng(TestSeed());
  std::string garbage(1 << 20, '\0');
  for (char& ch : garbage) ch = static_cast<char>(rng());
  garbage[0] = 'x';  // inline, not multibulk
  auto c = t_->Raw();
  c->Send(garbage);
  // Then end of input: the proxy must close the connection (the event that shows it is not
  // stuck), having written error replies or nothing.
  c->ShutdownWrite();
  std::string out = c->ReadToEof(std::chrono::seconds(20));
  EXPECT_TRUE(c->closed()) << "still open 20 s after the end of input";
  EXPECT_TRUE(out.empty() || out[0] == '-') << out.substr(0, 100);
  EXPECT_EQ(Str(t_->Client().Command({"PING"})), "PONG");  // and serves the next client
}

TEST_F(BadInputTest, ZeroArgumentMultibulkIsIgnored) {
  auto c = t_->Raw();
  c->Send("*0\r\n*0\r\nPING\r\n");
  EXPECT_EQ(c->ReadReply(), "+PONG\r\n");
}

TEST_F(BadInputTest, UnterminatedRequestThenClose) {
  auto c = t_->Raw();
  c->Send("*2\r\n$3\r\nGET\r\n$10\r\nabc");
  c->ShutdownWrite();
  EXPECT_EQ(c->ReadToEof(), "");
  EXPECT_TRUE(c->closed());
}

// The output limit (1 MiB here) bounds the backlog, not one reply: a 3 MiB value is written and
// read back whole, and so are several of them asked one at a time.
TEST_F(BadInputTest, AReplyLargerThanTheOutputLimitIsDelivered) {
  RedisClient c = t_->Client();
  std::string big(3 << 20, 'b');
  ASSERT_STREQ(c.Command({"SET", "over-limit", big})->str, "OK");
  for (int i = 0; i < 3; ++i) {
    auto r = c.Command({"GET", "over-limit"});
    ASSERT_TRUE(r) << "closed on read " << i;
    ASSERT_EQ(r->type, REDIS_REPLY_STRING);
    EXPECT_EQ(std::string(r->str, r->len), big);
  }
}

TEST_F(BadInputTest, HugePipelineNeverReadIsClosed) {
  RedisClient setup = t_->Client();
  std::string big(64 * 1024, 'v');
  ASSERT_STREQ(setup.Command({"SET", "bigvalue", big})->str, "OK");
  long long before = InfoField(t_->port, "client_output_limit_disconnections");
  auto c = t_->Raw();
  int small = 4096;
  setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  std::string batch;
  for (int i = 0; i < 2000; ++i) batch += Resp({"GET", "bigvalue"});  // 128 MB of replies
  ASSERT_TRUE(c->Send(batch));
  EXPECT_TRUE(
      WaitFor([&] { return InfoField(t_->port, "client_output_limit_disconnections") > before; }));
  // The proxy closed it (with unread data, so the kernel resets it): the next exchange ends.
  c->Send("PING\r\n");
  std::string drained = c->ReadToEof(std::chrono::seconds(10));
  EXPECT_TRUE(c->closed()) << drained.size() << " bytes read";
}

TEST_F(BadInputTest, DisconnectWithRequestsInFlight) {
  RedisClient setup = t_->Client();
  ASSERT_STREQ(setup.Command({"SET", "inflight", std::string(32 * 1024, 'x')})->str, "OK");
  std::string batch;
  for (int i = 0; i < 500; ++i) {
    batch += Resp({"GET", "inflight"}) + Resp({"MGET", "inflight", "a", "b", "c"});
  }
  for (int round = 0; round < 20; ++round) {
    auto c = t_->Raw();
    c->Send(batch);
  }  // each closes at once, with most replies still to come
  EXPECT_TRUE(WaitFor([&] { return InfoField(t_->port, "connected_clients") == 3; }));
}

}  // namespace
}  // namespace rl::testing
