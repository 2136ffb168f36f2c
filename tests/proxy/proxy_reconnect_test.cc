// A backend that restarts on the same port: how soon the proxy uses it again, and what the
// proxy does meanwhile. Real redis-servers; the counts asserted do not depend on how fast the
// test's client loops or how the machine schedules it.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {
namespace {

bool IsError(const RedisClient::Reply& r) { return !r || r->type == REDIS_REPLY_ERROR; }

TEST(ReconnectTest, ARestartedServerIsUsedByTheFirstRequestAfterItAccepts) {
  auto t = ProxyUnderTest::Start(2);
  std::string key = KeyOn(*t, 1);
  RedisClient c = t->Client();
  ASSERT_STREQ(c.Command({"SET", key, "v"})->str, "OK");
  uint16_t port = t->redis[1]->port();
  t->redis[1]->process().Stop();
  // Down: requests fail with an error naming the server (and the proxy backs off).
  long long attempts_before = InfoField(t->port, "backend_connect_failures");
  int down_failures = 0;
  auto down_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - down_since < std::chrono::milliseconds(300)) {
    auto r = c.Command({"GET", key});
    ASSERT_TRUE(IsError(r));
    EXPECT_TRUE(
        std::string(r->str).starts_with(fmt::format("ERR backend r2 (127.0.0.1:{}): ", port)))
        << r->str;
    ++down_failures;
  }
  double down_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - down_since)
          .count();
  long long attempts = InfoField(t->port, "backend_connect_failures") - attempts_before;
  // No reconnect storm: connect attempts are paced by the back-off (at least reconnect_min
  // apart, one in flight), not one per request.
  EXPECT_LE(attempts, static_cast<long long>(down_ms / 5) + 2)
      << attempts << " connect attempts in " << down_ms << " ms (" << down_failures << " requests)";
  // The server comes back while the client keeps sending: a thread restarts it and says when
  // its port accepts connections. Requests sent after that moment must reach it: at most one
  // that was already waiting on a connect attempt made before the restart may still fail.
  TempDir dir;
  std::atomic<bool> accepting{false};
  std::unique_ptr<ChildProcess> again;
  std::thread restart([&] {
    again = StartRedisOnPort(port, dir.path());  // returns once the port accepts
    accepting = true;
  });
  int failures_after = 0;
  bool served = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::chrono::steady_clock::time_point back_at;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    bool after = accepting.load();
    if (after && back_at == std::chrono::steady_clock::time_point{}) {
      back_at = std::chrono::steady_clock::now();
    }
    auto r = c.Command({"GET", key});
    if (!IsError(r)) {
      served = true;
    } else if (after) {
      ++failures_after;
    }
  }
  restart.join();
  ASSERT_TRUE(again);
  ASSERT_TRUE(served);
  // (The proxy may find the server before the restarting thread does: then back_ms is 0.)
  double back_ms =
      back_at == std::chrono::steady_clock::time_point{}
          ? 0
          : std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - back_at)
                .count();
  EXPECT_LE(failures_after, 1) << failures_after << " failures in " << back_ms
                               << " ms after the server accepted";
  fmt::print(
      "down: {} requests, {} connect attempts in {:.0f} ms; back: {} failures, first "
      "success after {:.1f} ms\n",
      down_failures, attempts, down_ms, failures_after, back_ms);
}

}  // namespace
}  // namespace rl::testing
