// A client blocked in BLPOP must not slow the other clients of its server: the blocking
// command runs on a connection of its own, never on the pipelined one the others share.
// Measured: rounds of pipelined GET/SET load without (A) and with (B) a blocked client,
// interleaved ABBA so that drift on this shared machine hits both alike; the medians are
// compared. A blocking command on the shared connection would stop the load outright.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/proxy/families_util.h"
#include "tests/proxy/proxy_fixture.h"

namespace rl::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kLoadConnections = 2;
constexpr int kPipeline = 32;  // requests per batch: half SET, half GET
constexpr auto kRound = std::chrono::milliseconds(250);
constexpr int kRoundsPerPhase = 8;
constexpr double kMaxDrop = 0.10;

// Requests per second over one round, from every load connection at once.
double RunRound(std::vector<std::unique_ptr<RawConn>>& conns) {
  std::string batch, expected;
  for (int i = 0; i < kPipeline / 2; ++i) {
    std::string key = "load" + std::to_string(i);
    batch += Resp({"SET", key, "v"});
    batch += Resp({"GET", key});
    expected += "+OK\r\n$1\r\nv\r\n";
  }
  std::atomic<long> done{0};
  std::atomic<bool> bad{false};
  auto start = Clock::now();
  auto deadline = start + kRound;
  std::vector<std::thread> threads;
  for (auto& c : conns) {
    threads.emplace_back([&, conn = c.get()] {
      long n = 0;
      while (Clock::now() < deadline) {
        conn->Send(batch);
        if (conn->ReadN(expected.size()) != expected) {
          bad = true;
          break;
        }
        n += kPipeline;
      }
      done += n;
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_FALSE(bad.load()) << "a load connection got an unexpected reply";
  return static_cast<double>(done.load()) / seconds;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

TEST(BlockingThroughputTest, BlockedClientDoesNotSlowOthersOnItsServer) {
  // One server: the blocked client and the load share it (and its pipelined connection).
  auto t = ProxyUnderTest::Start(1);
  RedisClient direct = t->Direct(0);
  std::vector<std::unique_ptr<RawConn>> load;
  for (int i = 0; i < kLoadConnections; ++i) load.push_back(t->Raw());
  RedisClient pusher = t->Client();
  auto blocker = t->Raw();
  RunRound(load);  // warm up: connections, pools, caches

  // A round of phase B runs while `blocker` is blocked in BLPOP on the same server.
  auto round_b = [&]() -> double {
    blocker->Send(Resp({"BLPOP", "queue", "0"}));
    EXPECT_TRUE(WaitFor([&] { return RedisInfo(direct, "blocked_clients") == 1; }));
    double rate = RunRound(load);
    EXPECT_EQ(RedisInfo(direct, "blocked_clients"), 1) << "the blocker left early";
    EXPECT_EQ(pusher.Command({"RPUSH", "queue", "x"})->integer, 1);
    EXPECT_EQ(blocker->ReadReply(), "*2\r\n$5\r\nqueue\r\n$1\r\nx\r\n");
    return rate;
  };
  bool ok = false;
  for (int attempt = 1; attempt <= 3 && !ok; ++attempt) {
    std::vector<double> a, b;
    for (int i = 0; i < kRoundsPerPhase / 2; ++i) {  // A B B A, repeated
      a.push_back(RunRound(load));
      b.push_back(round_b());
      b.push_back(round_b());
      a.push_back(RunRound(load));
    }
    double median_a = Median(a), median_b = Median(b);
    double change = (median_b - median_a) / median_a;
    std::printf(
        "attempt %d: median throughput without a blocked client %.0f req/s, with one %.0f "
        "req/s (%+.1f%%; rounds of %lld ms, %d each)\n",
        attempt, median_a, median_b, change * 100, static_cast<long long>(kRound.count()),
        kRoundsPerPhase);
    ASSERT_GT(median_a, 0);
    ok = median_b >= (1 - kMaxDrop) * median_a;
  }
  EXPECT_TRUE(ok) << "throughput dropped by more than 10% while a client was blocked (3 tries)";
}

}  // namespace
}  // namespace rl::testing
