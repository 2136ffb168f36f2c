// A real redis-server on a free loopback port, started for one test and stopped by its pid.
// Also a minimal synchronous hiredis connection for tests to talk to any Redis-speaking server.
// Thread safety: one owner thread per object.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {

// A connected hiredis context; Command() returns nullptr-free replies or an error string.
class RedisClient {
 public:
  static std::expected<RedisClient, std::string> Connect(uint16_t port);
  static std::expected<RedisClient, std::string> ConnectUnix(const std::string& path);

  struct ReplyDeleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
  };
  using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

  // Sends argv as one RESP command (binary-safe) and returns the reply; nullptr on I/O error.
  Reply Command(const std::vector<std::string>& argv);
  // Appends argv to the pipeline without waiting (see GetReply).
  void Append(const std::vector<std::string>& argv);
  Reply GetReply();

  redisContext* context() { return ctx_.get(); }

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  explicit RedisClient(redisContext* c) : ctx_(c) {}
  std::unique_ptr<redisContext, ContextDeleter> ctx_;
};

class RedisServer {
 public:
  // Starts redis-server (no persistence) on a free port in its own temporary directory and
  // waits until it accepts connections. Extra config arguments (e.g. {"--requirepass", "x"})
  // are appended.
  static std::expected<std::unique_ptr<RedisServer>, std::string> Start(
      const std::vector<std::string>& extra_args = {});
  // The same on a given port (e.g. to restart a server where clients expect it); one attempt.
  static std::expected<std::unique_ptr<RedisServer>, std::string> StartOnPort(
      uint16_t port, const std::vector<std::string>& extra_args = {});

  uint16_t port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  const std::string& log_path() const { return log_; }
  ChildProcess& process() { return process_; }
  std::expected<RedisClient, std::string> Connect() const { return RedisClient::Connect(port_); }

 private:
  RedisServer(TempDir dir, ChildProcess p, uint16_t port, std::string log)
      : dir_(std::move(dir)), process_(std::move(p)), port_(port), log_(std::move(log)) {}
  TempDir dir_;
  ChildProcess process_;
  uint16_t port_;
  std::string log_;
};

}  // namespace rl::testing
