// No heap allocation per request on the plain GET/SET path, shown by counting: every C++
// operator new and every libuv allocation in this process is counted while an in-process proxy
// serves thousands of GET/SET requests (unpipelined and pipelined) after a warm-up; and none per
// request either when 32 clients at once pipeline split commands (10-key MSET, 100-key MGET
// over three servers) and 20 KiB values (requests and replies cut across reads, batches from
// many clients per backend write). The test's own client does no allocation in the measured
// phase (pre-built requests, a fixed buffer).
#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"

namespace {

std::atomic<uint64_t> g_allocations{0};

void* Count(void* p) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void* CountingMalloc(size_t n) { return Count(std::malloc(n)); }
void* CountingRealloc(void* p, size_t n) { return Count(std::realloc(p, n)); }
void* CountingCalloc(size_t n, size_t size) { return Count(std::calloc(n, size)); }

// libuv's allocator must be replaced before libuv allocates anything.
const bool g_uv_counted =
    uv_replace_allocator(CountingMalloc, CountingRealloc, CountingCalloc, std::free) == 0;

}  // namespace

// The replacements below pair operator new with malloc and operator delete with free, which is
// what they are; g++ at -O3 sees the inlined free of a new-ed pointer and warns.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return Count(p);
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, std::align_val_t a) {
  void* p = std::aligned_alloc(static_cast<size_t>(a),
                               (n + static_cast<size_t>(a) - 1) & ~(static_cast<size_t>(a) - 1));
  if (p == nullptr) throw std::bad_alloc();
  return Count(p);
}
void* operator new[](size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace rl::testing {
namespace {

// Sends `request` and reads exactly `reply_bytes` into `buffer`, without allocating.
bool RoundTrip(int fd, const std::string& request, size_t reply_bytes, std::vector<char>& buffer) {
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  size_t got = 0;
  while (got < reply_bytes) {
    ssize_t n = recv(fd, buffer.data() + got, buffer.size() - got, 0);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return got == reply_bytes;
}

TEST(AllocationTest, NoHeapAllocationPerGetOrSet) {
  ASSERT_TRUE(g_uv_counted);
  auto t = ProxyUnderTest::Start(3);
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 4; ++i) conns.push_back(t->Raw());
  // Requests and the exact size of their replies, built before measuring. Values are 8 bytes.
  std::vector<std::string> single;
  std::vector<size_t> single_reply;
  for (int i = 0; i < 200; ++i) {
    std::string key = "alloc:" + std::to_string(i);
    single.push_back(Resp({"SET", key, "12345678"}));
    single_reply.push_back(5);  // +OK\r\n
    single.push_back(Resp({"GET", key}));
    single_reply.push_back(14);  // $8\r\n12345678\r\n
  }
  std::string pipelined;
  size_t pipelined_reply = 0;
  for (int i = 0; i < 16; ++i) {
    std::string key = "alloc:" + std::to_string(i * 7);
    pipelined += Resp({"SET", key, "12345678"}) + Resp({"GET", key});
    pipelined_reply += 5 + 14;
  }
  std::vector<char> buffer(1 << 20);
  auto run = [&](int rounds) {
    for (int r = 0; r < rounds; ++r) {
      for (size_t i = 0; i < single.size(); ++i) {
        int fd = conns[i % conns.size()]->fd();
        if (!RoundTrip(fd, single[i], single_reply[i], buffer)) return false;
      }
      for (auto& c : conns) {
        if (!RoundTrip(c->fd(), pipelined, pipelined_reply, buffer)) return false;
      }
    }
    return true;
  };
  uint64_t start = g_allocations.load();
  ASSERT_TRUE(run(5));  // warm-up: pools, free lists and scratch vectors reach their size
  uint64_t before = g_allocations.load();
  // The counter sees the proxy's allocations: warming up its pools allocated.
  EXPECT_GT(before - start, 0u);
  ASSERT_TRUE(run(10));  // 10 * (400 + 4 * 32) = 5280 requests
  uint64_t during = g_allocations.load() - before;
  EXPECT_LE(during, 10u) << during << " allocations for 5280 GET/SET requests";
  std::printf("allocations: %llu while warming up, %llu for 5280 GET/SET requests\n",
              static_cast<unsigned long long>(before - start),
              static_cast<unsigned long long>(during));
}

// Sends every connection's pipeline first, then reads each one's replies (exactly `reply_bytes`).
bool Burst(const std::vector<std::unique_ptr<RawConn>>& conns, const std::string& pipeline,
           size_t reply_bytes, std::vector<char>& buffer) {
  for (const auto& c : conns) {
    size_t sent = 0;
    while (sent < pipeline.size()) {
      ssize_t n = send(c->fd(), pipeline.data() + sent, pipeline.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
  }
  for (const auto& c : conns) {
    size_t got = 0;
    while (got < reply_bytes) {
      ssize_t n = recv(c->fd(), buffer.data() + got, buffer.size() - got, 0);
      if (n <= 0) return false;
      got += static_cast<size_t>(n);
    }
    if (got != reply_bytes) return false;
  }
  return true;
}

TEST(AllocationTest, NoHeapAllocationPerSplitOrLargeRequest) {
  ASSERT_TRUE(g_uv_counted);
  auto t = ProxyUnderTest::Start(3);
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 32; ++i) conns.push_back(t->Raw());
  // 100 keys with 8-byte values spread over the three servers (at most 34 each), so that
  // MGET's reply size is known.
  std::vector<std::string> keys;
  std::vector<size_t> owners(3);
  for (int n = 0; keys.size() < 100; ++n) {
    std::string key = "split:" + std::to_string(n);
    if (owners[t->OwnerOf(key)] == 34) continue;
    ++owners[t->OwnerOf(key)];
    keys.push_back(key);
  }
  std::vector<std::string> mset = {"MSET"};
  std::vector<std::string> mget = {"MGET"};
  for (size_t i = 0; i < keys.size(); ++i) {
    mget.push_back(keys[i]);
    if (i % 10 == 0) {
      mset.push_back(keys[i]);
      mset.push_back("12345678");
    }
  }
  {
    RedisClient c = t->Client();
    for (const std::string& key : keys) c.Command({"SET", key, "12345678"});
  }
  const std::string big(20 << 10, 'v');
  std::string pipeline =
      Resp(mset) + Resp(mget) + Resp({"SET", "split:big", big}) + Resp({"GET", "split:big"});
  const size_t reply_bytes = 5 + (6 + 100 * 14) + 5 + (8 + big.size() + 2);
  std::vector<char> buffer(1 << 20);
  uint64_t start = g_allocations.load();
  for (int r = 0; r < 5; ++r) ASSERT_TRUE(Burst(conns, pipeline, reply_bytes, buffer));  // warm-up
  uint64_t before = g_allocations.load();
  EXPECT_GT(before - start, 0u);
  for (int r = 0; r < 20; ++r) ASSERT_TRUE(Burst(conns, pipeline, reply_bytes, buffer));
  uint64_t during = g_allocations.load() - before;
  // 20 * 32 * 4 = 2560 requests, 1280 of them split into fragments for 3 servers.
  EXPECT_LE(during, 10u) << during << " allocations for 2560 split and large requests";
  std::printf("allocations: %llu while warming up, %llu for 2560 split and large requests\n",
              static_cast<unsigned long long>(before - start),
              static_cast<unsigned long long>(during));
}

}  // namespace
}  // namespace rl::testing
