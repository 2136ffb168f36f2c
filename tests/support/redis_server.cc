#include "tests/support/redis_server.h"

#include <sys/time.h>

#include "fmt/format.h"

namespace rl::testing {

namespace {

std::expected<redisContext*, std::string> Wrap(redisContext* c) {
  if (c == nullptr) return std::unexpected("hiredis: out of memory");
  if (c->err) {
    std::string msg = c->errstr;
    redisFree(c);
    return std::unexpected(msg);
  }
  timeval tv{10, 0};
  redisSetTimeout(c, tv);
  return c;
}

}  // namespace

std::expected<RedisClient, std::string> RedisClient::Connect(uint16_t port) {
  timeval tv{5, 0};
  auto r = Wrap(redisConnectWithTimeout("127.0.0.1", port, tv));
  if (!r) return std::unexpected(r.error());
  return RedisClient(*r);
}

std::expected<RedisClient, std::string> RedisClient::ConnectUnix(const std::string& path) {
  timeval tv{5, 0};
  auto r = Wrap(redisConnectUnixWithTimeout(path.c_str(), tv));
  if (!r) return std::unexpected(r.error());
  return RedisClient(*r);
}

RedisClient::Reply RedisClient::Command(const std::vector<std::string>& argv) {
  Append(argv);
  return GetReply();
}

void RedisClient::Append(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

RedisClient::Reply RedisClient::GetReply() {
  void* reply = nullptr;
  if (redisGetReply(ctx_.get(), &reply) != REDIS_OK) return nullptr;
  return Reply(static_cast<redisReply*>(reply));
}

std::expected<std::unique_ptr<RedisServer>, std::string> RedisServer::Start(
    const std::vector<std::string>& extra_args) {
  return StartOnPort(0, extra_args);
}

std::expected<std::unique_ptr<RedisServer>, std::string> RedisServer::StartOnPort(
    uint16_t fixed_port, const std::vector<std::string>& extra_args) {
  // A port picked by FreePort() can be taken by someone else before redis binds it: retry.
  for (int attempt = 0; attempt < (fixed_port != 0 ? 1 : 5); ++attempt) {
    TempDir dir;
    uint16_t port = fixed_port != 0 ? fixed_port : FreePort();
    std::string log = dir.File("redis.log");
    std::vector<std::string> argv = {"redis-server",
                                     "--port",
                                     std::to_string(port),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--dir",
                                     dir.path(),
                                     "--daemonize",
                                     "no",
                                     "--logfile",
                                     log};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto child = ChildProcess::Spawn(argv);
    if (!child) return std::unexpected(child.error());
    if (WaitForPort(port)) {
      return std::unique_ptr<RedisServer>(
          new RedisServer(std::move(dir), std::move(*child), port, log));
    }
    child->Stop();
  }
  return std::unexpected("redis-server did not start listening (see its log)");
}

}  // namespace rl::testing
