// Test fixture for lock/ tests against real redis-servers: starts N of them on free loopback
// ports, a libuv loop with one RespClient per master, and Await() to run the loop until an async
// call completes (with a bound, never a bare sleep). Also a synchronous hiredis client per master
// to inspect and change keys directly.
// Thread safety: the test's thread only.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "proxy/resp/client.h"
#include "tests/support/redis_server.h"

namespace rl::lock {

class MasterFixture : public ::testing::Test {
 protected:
  static constexpr auto kBound = std::chrono::seconds(20);

  explicit MasterFixture(size_t masters = 1) : count_(masters) { uv_loop_init(&loop_); }
  ~MasterFixture() override {
    clients_.clear();
    auto deadline = std::chrono::steady_clock::now() + kBound;
    while (uv_run(&loop_, UV_RUN_NOWAIT) != 0 && std::chrono::steady_clock::now() < deadline) {
    }
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open on the loop";
  }

  void SetUp() override {
    for (size_t i = 0; i < count_; ++i) {
      auto server = testing::RedisServer::Start();
      ASSERT_TRUE(server.has_value()) << server.error();
      proxy::RespClientOptions o;
      o.port = (*server)->port();
      ports_.push_back(o.port);
      o.reconnect_min = std::chrono::milliseconds(10);
      o.reconnect_max = std::chrono::milliseconds(100);
      clients_.push_back(proxy::RespClient::Create(&loop_, std::move(o)));
      servers_.push_back(std::move(*server));
    }
  }

  proxy::RespClient& client(size_t i = 0) { return *clients_[i]; }
  testing::RedisServer& server(size_t i = 0) { return *servers_[i]; }
  testing::RedisClient Direct(size_t i = 0) {
    auto c = servers_[i]->Connect();
    EXPECT_TRUE(c.has_value()) << c.error();
    return std::move(*c);
  }

  // Runs `start(callback)` and the loop until the callback has run; returns its value.
  template <typename T>
  T Await(const std::function<void(std::move_only_function<void(T)>)>& start) {
    std::optional<T> result;
    start([&result](T value) { result.emplace(std::move(value)); });
    auto deadline = std::chrono::steady_clock::now() + kBound;
    uv_timer_t tick;
    uv_timer_init(&loop_, &tick);
    uv_timer_start(
        &tick, [](uv_timer_t*) {}, 5, 5);
    while (!result && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    if (!result) {
      ADD_FAILURE() << "no completion within the bound";
      std::abort();  // nothing to return; the failure above names it
    }
    return std::move(*result);
  }

  // Runs the loop until `done()` holds or the bound passes; returns done().
  bool RunUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + kBound;
    uv_timer_t tick;
    uv_timer_init(&loop_, &tick);
    uv_timer_start(
        &tick, [](uv_timer_t*) {}, 5, 5);
    while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return done();
  }

  uv_loop_t loop_;
  size_t count_;
  std::vector<uint16_t> ports_;  // kept when a test stops a server
  std::vector<std::unique_ptr<testing::RedisServer>> servers_;
  std::vector<proxy::RespClientPtr> clients_;
};

}  // namespace rl::lock
