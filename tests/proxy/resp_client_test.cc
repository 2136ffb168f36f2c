// RespClient against real redis-servers (tests/support) and against a fake server in the test
// that sends hostile bytes. This binary links ONLY rl_resp, rl_proxy_base, rl_test_support and
// gtest (see tests/proxy/CMakeLists.txt): that it links proves the client is a leaf that needs
// nothing of the proxy host.
// Waiting is always "run the loop until an event, with a bound"; nothing passes or fails by
// how fast it ran. Order is proven with marker commands.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/resp/client.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace rl::proxy {
namespace {

using namespace std::chrono_literals;
using testing::RedisServer;
using Code = RespError::Code;

constexpr auto kBound = 20s;

std::string Show(const RespResult& r) {
  if (r) return r->ToString();
  return fmt::format("error({}): {}", CodeName(r.error().code), r.error().message);
}

// A loop per test; teardown checks that every handle the client made was closed.
class RespClientTest : public ::testing::Test {
 protected:
  RespClientTest() {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &tick_);
  }
  ~RespClientTest() override {
    client_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    auto deadline = std::chrono::steady_clock::now() + kBound;
    while (uv_run(&loop_, UV_RUN_NOWAIT) != 0 && std::chrono::steady_clock::now() < deadline) {
    }
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open on the loop";
  }

  // Runs the loop until `done()` holds or the bound passes; returns done().
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds bound = kBound) {
    // A ticking timer so that UV_RUN_ONCE returns to check `done` even when nothing happens.
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 5, 5);
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_timer_stop(&tick_);
    return done();
  }

  // Runs the loop until nothing is left on it but the test's own (stopped) ticker: every
  // handle of a closed client is closed, so it can call nothing any more.
  bool RunUntilQuiet() {
    auto deadline = std::chrono::steady_clock::now() + kBound;
    while (uv_run(&loop_, UV_RUN_NOWAIT) != 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
    }
    return true;
  }

  RespClientOptions Options(uint16_t port) {
    RespClientOptions o;
    o.port = port;
    o.reconnect_min = 10ms;
    o.reconnect_max = 100ms;
    o.on_connected = [this] { ++connects_; };
    o.on_disconnected = [this](const RespError& e) { disconnects_.push_back(e); };
    return o;
  }

  void Connect(RespClientOptions options) {
    client_ = RespClient::Create(&loop_, std::move(options));
    ASSERT_TRUE(RunUntil([&] { return connects_ > 0 || !disconnects_.empty(); }));
    ASSERT_EQ(connects_, 1) << (disconnects_.empty() ? "" : disconnects_[0].message);
  }

  RespCallback Into(std::vector<RespResult>* out) {
    return [out](RespResult r) { out->push_back(std::move(r)); };
  }

  // Sends one command and waits for its result.
  RespResult Call(std::initializer_list<std::string_view> argv) {
    std::vector<RespResult> out;
    client_->Send(argv, Into(&out));
    if (!RunUntil([&] { return !out.empty(); })) {
      return std::unexpected(RespError{Code::kTimeout, "test bound passed"});
    }
    return std::move(out[0]);
  }

  uv_loop_t loop_;
  uv_timer_t tick_;
  RespClientPtr client_;
  int connects_ = 0;
  std::vector<RespError> disconnects_;
};

std::unique_ptr<RedisServer> StartRedis(const std::vector<std::string>& args = {}) {
  auto server = RedisServer::Start(args);
  if (!server) ADD_FAILURE() << server.error();
  return server ? std::move(*server) : nullptr;
}

// ---- replies ----

TEST_F(RespClientTest, PipelinedCommandsGetTheirRepliesInOrder) {
  auto redis = StartRedis();
  ASSERT_TRUE(redis);
  client_ = RespClient::Create(&loop_, Options(redis->port()));
  // Sent before the connection exists (they wait for it), then many more once it is ready.
  constexpr int kCount = 3000;
  std::vector<RespResult> results;
  std::vector<std::string> expected;
  auto send = [&](int i) {
    std::string key = "key:" + std::to_string(i % 50);
    std::string value = std::string("v\r\n\0", 4) + std::to_string(i);
    switch (i % 7) {
      case 0:
        client_->Send({"SET", key, value}, Into(&results));
        expected.push_back("OK");
        break;
      case 1:
        client_->Send({"ECHO", value}, Into(&results));
        expected.push_back(fmt::format("{:?}", value));
        break;
      case 2:
        client_->Send({"GET", "missing"}, Into(&results));
        expected.push_back("(nil)");
        break;
      case 3:
        client_->Send({"RPUSH", "list:" + std::to_string(i), "a", "b"}, Into(&results));
        expected.push_back("(integer) 2");
        break;
      case 4:
        client_->Send({"LRANGE", "list:" + std::to_string(i - 1), "0", "-1"}, Into(&results));
        expected.push_back("[\"a\", \"b\"]");
        break;
      case 5:
        client_->Send({"INCR", "list:" + std::to_string(i - 2)}, Into(&results));
        expected.push_back(
            "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
        break;
      case 6: {
        std::string encoded;
        std::string_view argv[] = {"MGET", "missing", "list:none"};
        AppendCommand(&encoded, argv);
        client_->SendEncoded(encoded, Into(&results));
        expected.push_back("[(nil), (nil)]");
        break;
      }
    }
  };
  for (int i = 0; i < 100; ++i) send(i);
  ASSERT_TRUE(RunUntil([&] { return results.size() >= 100; }));
  for (int i = 100; i < kCount; ++i) send(i);
  ASSERT_TRUE(RunUntil([&] { return results.size() >= static_cast<size_t>(kCount); }));
  ASSERT_EQ(results.size(), expected.size());
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_EQ(Show(results[i]), expected[i]) << "command " << i;
  }
  EXPECT_EQ(client_->pending(), 0u);
  EXPECT_TRUE(disconnects_.empty());
}

TEST_F(RespClientTest, Resp3ValuesAndPushFrames) {
  auto redis = StartRedis({"--requirepass", "secret"});
  ASSERT_TRUE(redis);
  std::vector<RespReply> pushes;
  RespClientOptions o = Options(redis->port());
  o.protocol = 3;
  o.password = "secret";
  o.on_push = [&](RespReply push) { pushes.push_back(std::move(push)); };
  Connect(std::move(o));
  ASSERT_EQ(Show(Call({"HSET", "h", "f", "v"})), "(integer) 1");
  RespResult map = Call({"HGETALL", "h"});
  ASSERT_TRUE(map);
  EXPECT_EQ(map->type, RespReply::Type::kMap);
  EXPECT_EQ(map->ToString(), "{\"f\": \"v\"}");
  ASSERT_EQ(Show(Call({"ZADD", "z", "1.5", "m"})), "(integer) 1");
  RespResult score = Call({"ZSCORE", "z", "m"});
  ASSERT_TRUE(score);
  EXPECT_EQ(score->type, RespReply::Type::kDouble);
  EXPECT_EQ(score->number, 1.5);
  EXPECT_EQ(Show(Call({"GET", "missing"})), "(nil)");
  // Client-side caching: an invalidation is pushed, answering no command.
  ASSERT_EQ(Show(Call({"CLIENT", "TRACKING", "on"})), "OK");
  ASSERT_EQ(Show(Call({"GET", "h2"})), "(nil)");
  auto side = redis->Connect();
  ASSERT_TRUE(side);
  side->Command({"AUTH", "secret"});
  side->Command({"SET", "h2", "x"});
  ASSERT_TRUE(RunUntil([&] { return !pushes.empty(); }));
  EXPECT_EQ(pushes[0].ToString(), ">[\"invalidate\", [\"h2\"]]");
  EXPECT_EQ(Show(Call({"ECHO", "after"})), "\"after\"");
}

// ---- the handshake ----

TEST_F(RespClientTest, AuthAndSelectRunOnEveryConnect) {
  auto redis = StartRedis({"--requirepass", "secret"});
  ASSERT_TRUE(redis);
  RespClientOptions o = Options(redis->port());
  o.user = "default";
  o.password = "secret";
  o.db = 3;
  Connect(std::move(o));
  ASSERT_EQ(Show(Call({"SET", "k", "in-db-3"})), "OK");
  auto side = redis->Connect();
  ASSERT_TRUE(side);
  side->Command({"AUTH", "secret"});
  auto r = side->Command({"GET", "k"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, REDIS_REPLY_NIL);  // not in db 0
  side->Command({"SELECT", "3"});
  r = side->Command({"GET", "k"});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(r->str, r->len), "in-db-3");
  // The server drops the connection; the client reconnects and authenticates and selects again.
  side->Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  ASSERT_TRUE(RunUntil([&] { return connects_ == 2; }));
  ASSERT_EQ(disconnects_.size(), 1u);
  EXPECT_EQ(disconnects_[0].code, Code::kConnectionLost);
  EXPECT_EQ(Show(Call({"GET", "k"})), "\"in-db-3\"");
}

TEST_F(RespClientTest, WrongPasswordFailsWithTheServersError) {
  auto redis = StartRedis({"--requirepass", "secret"});
  ASSERT_TRUE(redis);
  RespClientOptions o = Options(redis->port());
  o.password = "wrong";
  client_ = RespClient::Create(&loop_, std::move(o));
  std::vector<RespResult> results;
  client_->Send({"SET", "k", "v"}, Into(&results));  // waits for the handshake, then fails
  ASSERT_TRUE(RunUntil([&] { return !disconnects_.empty() && !results.empty(); }));
  EXPECT_EQ(connects_, 0);
  EXPECT_EQ(disconnects_[0].code, Code::kHandshake);
  EXPECT_NE(disconnects_[0].message.find("AUTH"), std::string::npos);
  EXPECT_NE(disconnects_[0].message.find("WRONGPASS invalid username-password pair"),
            std::string::npos)
      << disconnects_[0].message;
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().code, Code::kHandshake);
  // The SET never ran.
  auto side = redis->Connect();
  ASSERT_TRUE(side);
  side->Command({"AUTH", "secret"});
  auto r = side->Command({"EXISTS", "k"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->integer, 0);
}

TEST_F(RespClientTest, SelectOutOfRangeFailsTheConnection) {
  auto redis = StartRedis();
  ASSERT_TRUE(redis);
  RespClientOptions o = Options(redis->port());
  o.db = 99;
  client_ = RespClient::Create(&loop_, std::move(o));
  ASSERT_TRUE(RunUntil([&] { return !disconnects_.empty(); }));
  EXPECT_EQ(disconnects_[0].code, Code::kHandshake);
  EXPECT_NE(disconnects_[0].message.find("SELECT"), std::string::npos);
  EXPECT_NE(disconnects_[0].message.find("DB index is out of range"), std::string::npos)
      << disconnects_[0].message;
}

// ---- connecting, back-off, reconnecting ----

TEST_F(RespClientTest, ClosedPortFailsThenConnectsOnceAServerStartsThere) {
  uint16_t port = testing::FreePort();
  client_ = RespClient::Create(&loop_, Options(port));
  // Several attempts fail (back-off between them), each reported.
  ASSERT_TRUE(RunUntil([&] { return disconnects_.size() >= 3; }));
  EXPECT_EQ(disconnects_[0].code, Code::kConnect);
  EXPECT_NE(disconnects_[0].message.find("connection refused"), std::string::npos)
      << disconnects_[0].message;
  auto redis = RedisServer::StartOnPort(port);
  ASSERT_TRUE(redis) << redis.error();
  ASSERT_TRUE(RunUntil([&] { return connects_ == 1; }));
  EXPECT_EQ(Show(Call({"PING"})), "PONG");
}

TEST_F(RespClientTest, QueuedWhileConnectingIsBoundedAndBackOffFailsFast) {
  uint16_t port = testing::FreePort();
  RespClientOptions o = Options(port);
  o.max_queued = 3;
  o.reconnect_min = o.reconnect_max = 60s;  // stay in back-off after the first failure
  client_ = RespClient::Create(&loop_, std::move(o));
  std::vector<std::string> order;
  auto record = [&](std::string name) {
    return [&order, name](RespResult r) {
      order.push_back(name + ": " + (r ? "reply" : std::string(CodeName(r.error().code))));
    };
  };
  for (int i = 0; i < 4; ++i) client_->Send({"PING"}, record("ping" + std::to_string(i)));
  EXPECT_TRUE(order.empty()) << "a callback ran inside Send()";
  EXPECT_EQ(client_->pending(), 4u);
  ASSERT_TRUE(RunUntil([&] { return order.size() == 4; }));
  // The fourth did not fit; the three queued failed with the attempt, in order.
  auto overloaded = std::find(order.begin(), order.end(), "ping3: overloaded");
  ASSERT_NE(overloaded, order.end());
  order.erase(overloaded);
  EXPECT_EQ(order,
            (std::vector<std::string>{"ping0: connect", "ping1: connect", "ping2: connect"}));
  ASSERT_EQ(disconnects_.size(), 1u);
  // During back-off a command fails fast (from the loop, not inside Send), saying why.
  std::vector<RespResult> results;
  client_->Send({"PING"}, Into(&results));
  EXPECT_TRUE(results.empty());
  ASSERT_TRUE(RunUntil([&] { return !results.empty(); }));
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().code, Code::kDisconnected);
  EXPECT_NE(results[0].error().message.find("connection refused"), std::string::npos)
      << results[0].error().message;
}

TEST_F(RespClientTest, ServerKilledMidFlightFailsInFlightAndReconnectsWhenItIsBack) {
  auto redis = StartRedis();
  ASSERT_TRUE(redis);
  uint16_t port = redis->port();
  Connect(Options(port));
  std::vector<std::string> order;
  client_->Send({"BLPOP", "nothing", "0"},
                [&](RespResult r) { order.push_back("blpop " + Show(r)); });
  client_->Send({"ECHO", "behind"}, [&](RespResult r) { order.push_back("echo " + Show(r)); });
  // The BLPOP is in flight once the server counts a blocked client.
  auto side = redis->Connect();
  ASSERT_TRUE(side);
  ASSERT_TRUE(RunUntil([&] {
    auto r = side->Command({"INFO", "clients"});
    return r && std::string(r->str, r->len).find("blocked_clients:1") != std::string::npos;
  }));
  redis->process().Signal(SIGKILL);
  ASSERT_NE(redis->process().WaitExit(kBound), -1);
  ASSERT_TRUE(RunUntil([&] { return order.size() == 2; }));
  EXPECT_EQ(order[0].rfind("blpop error(connection lost)", 0), 0u) << order[0];
  EXPECT_EQ(order[1].rfind("echo error(connection lost)", 0), 0u) << order[1];
  ASSERT_FALSE(disconnects_.empty());
  EXPECT_EQ(disconnects_[0].code, Code::kConnectionLost);
  // Reconnect attempts fail while it is down, then succeed on the same port.
  ASSERT_TRUE(RunUntil([&] { return disconnects_.size() >= 2; }));
  EXPECT_EQ(disconnects_.back().code, Code::kConnect);
  redis.reset();
  auto again = RedisServer::StartOnPort(port);
  ASSERT_TRUE(again) << again.error();
  ASSERT_TRUE(RunUntil([&] { return connects_ == 2; }));
  EXPECT_EQ(Show(Call({"ECHO", "marker"})), "\"marker\"");
}

TEST_F(RespClientTest, RequestTimeoutFailsItAndEverythingBehindItThenReconnects) {
  auto redis = StartRedis();
  ASSERT_TRUE(redis);
  auto side = redis->Connect();
  ASSERT_TRUE(side);
  RespClientOptions o = Options(redis->port());
  o.request_timeout = 300ms;
  Connect(std::move(o));
  // Writes wait until unpaused (the test unpauses only after the time-out); reads still run.
  auto paused = side->Command({"CLIENT", "PAUSE", "600000", "WRITE"});
  ASSERT_TRUE(paused && paused->type == REDIS_REPLY_STATUS);
  std::vector<std::string> order;
  auto record = [&](std::string name) {
    return [&order, name](RespResult r) { order.push_back(name + " " + Show(r)); };
  };
  client_->Send({"ECHO", "before"}, record("before"));
  ASSERT_TRUE(RunUntil([&] { return order.size() == 1; }));  // answered: reads are not paused
  client_->Send({"SET", "k", "v"}, record("set"));
  client_->Send({"ECHO", "after"}, record("after"));  // runs only after the SET, in order
  ASSERT_TRUE(RunUntil([&] { return order.size() == 3; }));
  EXPECT_EQ(order[0], "before \"before\"");
  EXPECT_EQ(order[1].rfind("set error(timeout): no reply from", 0), 0u) << order[1];
  EXPECT_EQ(order[2].rfind("after error(connection lost)", 0), 0u) << order[2];
  EXPECT_NE(order[2].find("an earlier command got no reply within 300 ms"), std::string::npos);
  ASSERT_EQ(disconnects_.size(), 1u);
  EXPECT_EQ(disconnects_[0].code, Code::kConnectionLost);
  side->Command({"CLIENT", "UNPAUSE"});
  ASSERT_TRUE(RunUntil([&] { return connects_ == 2; }));
  EXPECT_EQ(Show(Call({"ECHO", "marker"})), "\"marker\"");
}

TEST_F(RespClientTest, UnixSocketAndAResolvedName) {
  testing::TempDir dir;
  std::string socket = dir.File("redis.sock");
  auto redis = StartRedis({"--unixsocket", socket, "--unixsocketperm", "700"});
  ASSERT_TRUE(redis);
  {
    RespClientOptions o = Options(0);
    o.unix_path = socket;
    Connect(std::move(o));
    EXPECT_EQ(client_->address(), "unix:" + socket);
    EXPECT_EQ(Show(Call({"PING"})), "PONG");
  }
  client_.reset();
  connects_ = 0;
  RespClientOptions o = Options(redis->port());
  o.host = "localhost";  // may resolve to ::1 first; each address is tried in turn
  Connect(std::move(o));
  EXPECT_EQ(Show(Call({"ECHO", "by name"})), "\"by name\"");
}

TEST_F(RespClientTest, ConnectTimeoutBoundsAHandshakeThatNeverAnswers) {
  auto redis = StartRedis({"--requirepass", "secret"});
  ASSERT_TRUE(redis);
  auto side = redis->Connect();
  ASSERT_TRUE(side);
  side->Command({"AUTH", "secret"});
  // ALL: even AUTH waits, so the handshake gets no reply.
  auto paused = side->Command({"CLIENT", "PAUSE", "600000", "ALL"});
  ASSERT_TRUE(paused && paused->type == REDIS_REPLY_STATUS);
  RespClientOptions o = Options(redis->port());
  o.password = "secret";
  o.connect_timeout = 300ms;
  client_ = RespClient::Create(&loop_, std::move(o));
  ASSERT_TRUE(RunUntil([&] { return !disconnects_.empty(); }));
  EXPECT_EQ(disconnects_[0].code, Code::kConnect);
  EXPECT_NE(disconnects_[0].message.find("timed out after 300 ms (waiting for the AUTH reply)"),
            std::string::npos)
      << disconnects_[0].message;
  // (With ALL, CLIENT UNPAUSE would wait too: the pause ends with the server.)
}

// ---- closing ----

TEST_F(RespClientTest, CloseFromInsideACallbackFailsTheRestBeforeItReturns) {
  auto redis = StartRedis();
  ASSERT_TRUE(redis);
  Connect(Options(redis->port()));
  std::vector<std::string> order;
  size_t seen_when_close_returned = 0;
  client_->Send({"ECHO", "1"}, [&](RespResult r) {
    order.push_back("1 " + Show(r));
    client_->Close();
    seen_when_close_returned = order.size();
    EXPECT_TRUE(client_->closed());
  });
  client_->Send({"ECHO", "2"}, [&](RespResult r) { order.push_back("2 " + Show(r)); });
  client_->Send({"ECHO", "3"}, [&](RespResult r) { order.push_back("3 " + Show(r)); });
  ASSERT_TRUE(RunUntil([&] { return order.size() == 3; }));
  EXPECT_EQ(seen_when_close_returned, 3u);
  EXPECT_EQ(order[0], "1 \"1\"");
  EXPECT_EQ(order[1].rfind("2 error(closed)", 0), 0u) << order[1];
  EXPECT_EQ(order[2].rfind("3 error(closed)", 0), 0u) << order[2];
  // Nothing more is ever called, though replies 2 and 3 may already be in the read buffer.
  ASSERT_TRUE(RunUntilQuiet());
  EXPECT_EQ(order.size(), 3u);
  EXPECT_TRUE(disconnects_.empty());
}

TEST_F(RespClientTest, DestroyingTheClientInsideACallbackDropsTheRest) {
  auto redis = StartRedis();
  ASSERT_TRUE(redis);
  Connect(Options(redis->port()));
  auto sentinel = std::make_shared<int>(0);
  std::vector<std::string> order;
  client_->Send({"ECHO", "1"}, [&](RespResult) {
    order.push_back("1");
    client_.reset();  // the owner goes away with commands in flight
  });
  client_->Send({"ECHO", "2"}, [&, sentinel](RespResult) { order.push_back("2"); });
  client_->Send({"BLPOP", "nothing", "0"}, [&, sentinel](RespResult) { order.push_back("3"); });
  EXPECT_EQ(sentinel.use_count(), 3);
  ASSERT_TRUE(RunUntil([&] { return !order.empty(); }));
  ASSERT_TRUE(RunUntilQuiet());
  EXPECT_EQ(order, std::vector<std::string>{"1"});
  EXPECT_EQ(sentinel.use_count(), 1) << "the dropped callbacks' captures were not destroyed";
}

TEST_F(RespClientTest, CloseFromStateCallbacksAndWhileConnecting) {
  // From on_disconnected, on a closed port.
  uint16_t port = testing::FreePort();
  RespClientOptions o = Options(port);
  o.on_disconnected = [this](const RespError& e) {
    disconnects_.push_back(e);
    client_->Close();
  };
  client_ = RespClient::Create(&loop_, std::move(o));
  ASSERT_TRUE(RunUntil([&] { return !disconnects_.empty(); }));
  EXPECT_TRUE(client_->closed());
  ASSERT_TRUE(RunUntilQuiet());
  EXPECT_EQ(disconnects_.size(), 1u);
  // From on_connected, with commands queued behind the connection.
  auto redis = StartRedis();
  ASSERT_TRUE(redis);
  std::vector<RespResult> results;
  RespClientOptions o2 = Options(redis->port());
  o2.on_connected = [this] {
    ++connects_;
    client_->Close();
  };
  client_ = RespClient::Create(&loop_, std::move(o2));
  client_->Send({"PING"}, Into(&results));
  ASSERT_TRUE(RunUntil([&] { return !results.empty(); }));
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().code, Code::kClosed);
  // Destroyed before the first attempt even started.
  client_ = RespClient::Create(&loop_, Options(redis->port()));
  client_->Send({"PING"}, [](RespResult) { ADD_FAILURE() << "called after destruction"; });
  client_.reset();
}

// ---- a fake server sending hostile bytes ----

// Accepts connections on 127.0.0.1 and answers the first bytes it reads with `reply`.
class FakeServer {
 public:
  // With `close_after`, the connection is closed once the reply is written.
  FakeServer(uv_loop_t* loop, std::string reply, bool close_after = false)
      : reply_(std::move(reply)), close_after_(close_after) {
    uv_tcp_init(loop, &listener_);
    listener_.data = this;
    sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
    uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 16, OnConnection);
    sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  // Closes everything and runs the loop until it is closed (the listener is a member).
  ~FakeServer() {
    for (Peer* p : peers_) {
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&p->tcp))) {
        uv_close(reinterpret_cast<uv_handle_t*>(&p->tcp), OnPeerClosed);
      }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_),
             [](uv_handle_t* h) { static_cast<FakeServer*>(h->data)->listener_closed_ = true; });
    while (!listener_closed_) uv_run(listener_.loop, UV_RUN_NOWAIT);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  struct Peer {
    uv_tcp_t tcp;
    FakeServer* server;
    uv_write_t write;
    char buf[4096];
    bool answered = false;
  };
  static void OnPeerClosed(uv_handle_t* h) { delete static_cast<Peer*>(h->data); }
  static void OnConnection(uv_stream_t* listener, int status) {
    auto* self = static_cast<FakeServer*>(listener->data);
    if (status < 0) return;
    auto* p = new Peer;
    p->server = self;
    uv_tcp_init(listener->loop, &p->tcp);
    p->tcp.data = p;
    uv_accept(listener, reinterpret_cast<uv_stream_t*>(&p->tcp));
    self->peers_.push_back(p);
    ++self->accepted_;
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&p->tcp),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* peer = static_cast<Peer*>(h->data);
          *buf = uv_buf_init(peer->buf, sizeof(peer->buf));
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
          auto* peer = static_cast<Peer*>(s->data);
          if (nread <= 0 || peer->answered) return;
          peer->answered = true;
          uv_buf_t out = uv_buf_init(peer->server->reply_.data(),
                                     static_cast<unsigned>(peer->server->reply_.size()));
          peer->write.data = peer;
          uv_write(&peer->write, s, &out, 1, [](uv_write_t* w, int status) {
            auto* peer = static_cast<Peer*>(w->data);
            if (status == 0 && peer->server->close_after_) {
              uv_close(reinterpret_cast<uv_handle_t*>(&peer->tcp), OnPeerClosed);
            }
          });
        });
  }

  uv_tcp_t listener_;
  std::string reply_;
  bool close_after_;
  bool listener_closed_ = false;
  uint16_t port_ = 0;
  int accepted_ = 0;
  std::vector<Peer*> peers_;
};

struct Hostile {
  const char* name;
  std::string bytes;
  const char* error;  // expected in the protocol error's message
};

TEST_F(RespClientTest, HostileBytesFromAFakeServerAreProtocolErrors) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "*1\r\n";
  std::vector<Hostile> cases = {
      {"http", "HTTP/1.1 400 Bad Request\r\n\r\n", "unexpected reply type byte 0x48"},
      {"binary", std::string("\x00\xff\x13garbage", 10), "unexpected reply type byte 0x00"},
      {"deep array", deep, "reply nested deeper than 512 levels"},
      {"lying bulk length", "$99999999999\r\n", "exceeds the limit"},
      {"bad CRLF", "$3\r\nabcXY", "bulk reply not followed by CRLF"},
      {"extra reply", "+OK\r\n+EXTRA\r\n", "a reply to no command (EXTRA)"},
  };
  for (const Hostile& c : cases) {
    SCOPED_TRACE(c.name);
    FakeServer fake(&loop_, c.bytes);
    connects_ = 0;
    disconnects_.clear();
    Connect(Options(fake.port()));
    std::vector<RespResult> results;
    client_->Send({"PING"}, Into(&results));
    ASSERT_TRUE(RunUntil([&] { return !disconnects_.empty(); }));
    EXPECT_EQ(disconnects_[0].code, Code::kProtocol);
    EXPECT_NE(disconnects_[0].message.find(c.error), std::string::npos) << disconnects_[0].message;
    ASSERT_EQ(results.size(), 1u);
    if (std::string_view(c.name) == "extra reply") {
      EXPECT_EQ(Show(results[0]), "OK");  // answered before the stray reply came
    } else {
      ASSERT_FALSE(results[0]);
      EXPECT_EQ(results[0].error().code, Code::kProtocol);
    }
    client_.reset();
  }
}

TEST_F(RespClientTest, ServerClosingMidReplyIsAConnectionLoss) {
  FakeServer fake(&loop_, "$10\r\nabc", /*close_after=*/true);
  Connect(Options(fake.port()));
  std::vector<RespResult> results;
  client_->Send({"GET", "k"}, Into(&results));
  ASSERT_TRUE(RunUntil([&] { return !results.empty(); }));
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().code, Code::kConnectionLost);
  EXPECT_NE(results[0].error().message.find("connection closed by the server"), std::string::npos)
      << results[0].error().message;
  EXPECT_EQ(fake.accepted(), 1);
  client_.reset();
}

}  // namespace
}  // namespace rl::proxy
