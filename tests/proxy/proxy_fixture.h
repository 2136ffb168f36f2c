// Test harness for the data path: real redis-servers on free ports and a ringleader Proxy
// running in-process over them, plus a raw socket for byte-exact exchanges.
// Thread safety: one test thread; the proxy runs on its own worker threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "conf/config.h"
#include "proxy/host/server.h"
#include "ring/ring.h"
#include "tests/support/redis_server.h"

namespace rl::testing {

// A blocking TCP or unix connection with bounded waits.
class RawConn {
 public:
  static std::unique_ptr<RawConn> Connect(uint16_t port);
  static std::unique_ptr<RawConn> ConnectUnix(const std::string& path);
  ~RawConn();

  bool Send(std::string_view bytes);
  // Reads until `n` bytes arrived (or EOF / `bound` passed). Returns what arrived.
  std::string ReadN(size_t n, std::chrono::milliseconds bound = std::chrono::seconds(5));
  // Reads until the peer closes (or `bound` passed; then closed() stays false).
  std::string ReadToEof(std::chrono::milliseconds bound = std::chrono::seconds(5));
  // Reads one complete reply (RESP2), or "" on time-out/EOF.
  std::string ReadReply(std::chrono::milliseconds bound = std::chrono::seconds(5));
  bool closed() const { return eof_; }
  int fd() const { return fd_; }
  void ShutdownWrite();

 private:
  explicit RawConn(int fd) : fd_(fd) {}
  bool ReadMore(std::chrono::steady_clock::time_point deadline);
  int fd_;
  bool eof_ = false;
  std::string pending_;
};

// A TCP server on a free loopback port that speaks no Redis: it accepts every connection, reads
// what arrives, and answers each read with `reply` (nothing when empty: a server that hangs).
class FakeBackend {
 public:
  explicit FakeBackend(std::string reply);
  ~FakeBackend();
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void Run();
  std::string reply_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

struct ProxyUnderTest {
  std::vector<std::unique_ptr<RedisServer>> redis;
  conf::Config config;
  std::unique_ptr<proxy::Proxy> proxy;
  uint16_t port = 0;

  // Starts `servers` redis-servers (named r1..rN, each with `redis_args`, e.g.
  // {"--requirepass", "pw"}) and a proxy over them. `pool_yaml` adds keys to the pool (indented
  // two spaces, e.g. "  timeout: 200\n").
  static std::unique_ptr<ProxyUnderTest> Start(int servers, const std::string& pool_yaml = "",
                                               proxy::ProxyOptions options = {},
                                               const std::vector<std::string>& redis_args = {});
  // The proxy over an explicit YAML file text (with PORT replaced by a free port, and $1..$N by
  // the redis ports).
  static std::unique_ptr<ProxyUnderTest> StartYaml(const std::string& yaml, int servers,
                                                   proxy::ProxyOptions options = {},
                                                   const std::vector<std::string>& redis_args = {});

  RedisClient Client() const;
  std::unique_ptr<RawConn> Raw() const { return RawConn::Connect(port); }
  // Index of the server that owns `key` in pool 0 (all servers up).
  size_t OwnerOf(const std::string& key) const;
  // A direct connection to redis server i.
  RedisClient Direct(size_t i) const;
};

// A redis-server on a given port (to restart a backend where the proxy expects it).
std::unique_ptr<ChildProcess> StartRedisOnPort(uint16_t port, const std::string& dir);

// Polls `condition` every few milliseconds until it holds or `bound` passes.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds bound = std::chrono::seconds(10));

// INFO field of the proxy (a number), or -1.
long long InfoField(uint16_t port, const std::string& field);

// Counts the bytes the proxy has read from its clients (INFO total_net_input_bytes), less those
// of the INFO requests the counter sends itself: a marker that the proxy holds requests whose
// replies cannot come yet. With one worker (the fixture's default) and one server connection
// per server, a request sent through the proxy after Wait(n) returned is handled after those n
// bytes were read: it reaches each server after whatever they sent there. Other connections'
// bytes count too: keep them out of the window between construction and Wait.
class InputCounter {
 public:
  explicit InputCounter(uint16_t port);
  // Bytes read since construction, other than this counter's INFOs (-1: INFO failed).
  long long Bytes();
  // Waits (bounded) until Bytes() >= n.
  bool Wait(size_t n, std::chrono::milliseconds bound = std::chrono::seconds(10));

 private:
  uint16_t port_;
  long long base_ = 0;
  long long infos_ = 0;
};

// The number of calls of `command` (lower case, e.g. "blpop") that a redis-server has run
// (INFO commandstats), 0 when none, -1 when INFO failed.
long long RedisCalls(RedisClient& c, const std::string& command);

// Redis's bytes for argv as one multibulk request.
std::string Resp(const std::vector<std::string>& argv);

// A reply as text for assertions: strings, statuses and errors as they are, integers in decimal,
// nil as "<nil>", an array of strings and integers as "[a,b,1]", a failed read as "<io error>".
std::string Str(const RedisClient::Reply& r);

// A name with `prefix` that the proxy places on server `index` (names are placed as keys).
std::string KeyOn(const ProxyUnderTest& t, size_t index, const std::string& prefix = "k");

}  // namespace rl::testing
