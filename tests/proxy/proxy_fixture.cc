#include "tests/proxy/proxy_fixture.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "fmt/format.h"
#include "proxy/resp/reply_scanner.h"
#include "tests/support/process.h"

namespace rl::testing {

std::unique_ptr<RawConn> RawConn::Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0) {
    close(fd);
    return nullptr;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return std::unique_ptr<RawConn>(new RawConn(fd));
}

std::unique_ptr<RawConn> RawConn::ConnectUnix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), std::min(path.size(), sizeof(sun.sun_path) - 1));
  if (connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0) {
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<RawConn>(new RawConn(fd));
}

RawConn::~RawConn() { close(fd_); }

bool RawConn::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void RawConn::ShutdownWrite() { shutdown(fd_, SHUT_WR); }

bool RawConn::ReadMore(std::chrono::steady_clock::time_point deadline) {
  if (eof_) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[65536];
  ssize_t n = recv(fd_, buf, sizeof(buf), 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  pending_.append(buf, static_cast<size_t>(n));
  return true;
}

std::string RawConn::ReadN(size_t n, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (pending_.size() < n && ReadMore(deadline)) {
  }
  std::string out = pending_.substr(0, std::min(n, pending_.size()));
  pending_.erase(0, out.size());
  return out;
}

std::string RawConn::ReadToEof(std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (ReadMore(deadline)) {
  }
  return std::exchange(pending_, {});
}

std::string RawConn::ReadReply(std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    proxy::ReplyScanner scanner;
    if (!pending_.empty() &&
        scanner.Scan(pending_.data(), pending_.size()) == proxy::ReplyScanner::Result::kComplete) {
      std::string out = pending_.substr(0, scanner.length());
      pending_.erase(0, scanner.length());
      return out;
    }
    if (!ReadMore(deadline)) return "";
  }
}

// InfoField's request, "INFO\r\n".
constexpr long long kInfoRequestBytes = 6;

InputCounter::InputCounter(uint16_t port) : port_(port) {
  base_ = InfoField(port_, "total_net_input_bytes");  // counts this INFO itself
  infos_ = 1;
}

long long InputCounter::Bytes() {
  long long now = InfoField(port_, "total_net_input_bytes");
  if (now < 0 || base_ < 0) return -1;
  ++infos_;
  return now - base_ - (infos_ - 1) * kInfoRequestBytes;
}

bool InputCounter::Wait(size_t n, std::chrono::milliseconds bound) {
  return WaitFor([&] { return Bytes() >= static_cast<long long>(n); }, bound);
}

long long RedisCalls(RedisClient& c, const std::string& command) {
  auto reply = c.Command({"INFO", "commandstats"});
  if (!reply || reply->type != REDIS_REPLY_STRING) return -1;
  std::string info(reply->str, reply->len);
  std::string field = "cmdstat_" + command + ":calls=";
  size_t at = info.find(field);
  if (at == std::string::npos) return 0;
  return std::atoll(info.c_str() + at + field.size());
}

std::string Resp(const std::vector<std::string>& argv) {
  std::string s = fmt::format("*{}\r\n", argv.size());
  for (const auto& a : argv) s += fmt::format("${}\r\n{}\r\n", a.size(), a);
  return s;
}

FakeBackend::FakeBackend(std::string reply) : reply_(std::move(reply)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sin);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sin), &len) != 0 || pipe(wake_) != 0) {
    throw std::runtime_error("fake backend: cannot listen");
  }
  port_ = ntohs(sin.sin_port);
  thread_ = std::thread([this] { Run(); });
}

FakeBackend::~FakeBackend() {
  (void)!write(wake_[1], "x", 1);
  thread_.join();
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
}

void FakeBackend::Run() {
  std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        fds.push_back({c, POLLIN, 0});
        accepted_.fetch_add(1);
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      char buf[65536];
      ssize_t n = recv(fds[i].fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        close(fds[i].fd);
        fds.erase(fds.begin() + static_cast<long>(i));
        --i;
        continue;
      }
      if (!reply_.empty()) (void)!send(fds[i].fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    }
  }
  for (size_t i = 2; i < fds.size(); ++i) close(fds[i].fd);
}

std::unique_ptr<ChildProcess> StartRedisOnPort(uint16_t port, const std::string& dir) {
  auto child =
      ChildProcess::Spawn({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"});
  if (!child || !WaitForPort(port)) return nullptr;
  return std::make_unique<ChildProcess>(std::move(*child));
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

long long InfoField(uint16_t port, const std::string& field) {
  auto c = RawConn::Connect(port);
  if (!c) return -1;
  c->Send("INFO\r\n");
  std::string info = c->ReadReply();
  size_t at = info.find("\n" + field + ":");
  if (at == std::string::npos) return -1;
  return std::atoll(info.c_str() + at + field.size() + 2);
}

std::unique_ptr<ProxyUnderTest> ProxyUnderTest::StartYaml(
    const std::string& yaml, int servers, proxy::ProxyOptions options,
    const std::vector<std::string>& redis_args) {
  auto t = std::make_unique<ProxyUnderTest>();
  for (int i = 0; i < servers; ++i) {
    auto r = RedisServer::Start(redis_args);
    if (!r) throw std::runtime_error("redis-server: " + r.error());
    t->redis.push_back(std::move(*r));
  }
  // A port picked by FreePort() can be taken before we bind it: retry a few times.
  for (int attempt = 0; attempt < 5; ++attempt) {
    t->port = FreePort();
    std::string text = yaml;
    auto replace = [&](const std::string& from, const std::string& to) {
      for (size_t at; (at = text.find(from)) != std::string::npos;)
        text.replace(at, from.size(), to);
    };
    replace("PORT", std::to_string(t->port));
    for (int i = servers; i >= 1; --i) {
      // Appended, not "$" + std::string: g++ 12 -O3 warns falsely (-Wrestrict) on that.
      replace(std::string("$").append(std::to_string(i)), std::to_string(t->redis[i - 1]->port()));
    }
    auto config = conf::Parse(text, "test.yml");
    if (!config) {
      std::string errors;
      for (const auto& e : config.error()) errors += e.ToString() + "\n";
      throw std::runtime_error("bad test config:\n" + errors + text);
    }
    t->config = *config;
    auto p = proxy::Proxy::Start(t->config, options);
    if (p) {
      t->proxy = std::move(*p);
      return t;
    }
    if (p.error().find("Address already in use") == std::string::npos) {
      throw std::runtime_error("proxy: " + p.error());
    }
  }
  throw std::runtime_error("no free port for the proxy");
}

std::unique_ptr<ProxyUnderTest> ProxyUnderTest::Start(int servers, const std::string& pool_yaml,
                                                      proxy::ProxyOptions options,
                                                      const std::vector<std::string>& redis_args) {
  std::string yaml =
      "pool:\n  listen: 127.0.0.1:PORT\n  hash: fnv1a_64\n"
      "  distribution: ketama\n  redis: true\n" +
      pool_yaml + "  servers:\n";
  for (int i = 1; i <= servers; ++i) {
    yaml += fmt::format("    - 127.0.0.1:${}:1 r{}\n", i, i);
  }
  return StartYaml(yaml, servers, std::move(options), redis_args);
}

RedisClient ProxyUnderTest::Client() const {
  auto c = RedisClient::Connect(port);
  if (!c) throw std::runtime_error("connect to proxy: " + c.error());
  return std::move(*c);
}

RedisClient ProxyUnderTest::Direct(size_t i) const {
  auto c = redis[i]->Connect();
  if (!c) throw std::runtime_error("connect to redis: " + c.error());
  return std::move(*c);
}

size_t ProxyUnderTest::OwnerOf(const std::string& key) const {
  const conf::Pool& pool = config.pools[0];
  ring::Ring r = ring::Ring::Build(pool.RingMembers(), pool.RingOptions());
  return r.Lookup(key);
}

std::string Str(const RedisClient::Reply& r) {
  if (!r) return "<io error>";
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "<nil>";
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (size_t i = 0; i < r->elements; ++i) {
        if (i > 0) out += ",";
        out += r->element[i]->type == REDIS_REPLY_INTEGER
                   ? std::to_string(r->element[i]->integer)
                   : std::string(r->element[i]->str, r->element[i]->len);
      }
      return out + "]";
    }
    default:
      return "<type " + std::to_string(r->type) + ">";
  }
}

std::string KeyOn(const ProxyUnderTest& t, size_t index, const std::string& prefix) {
  for (int i = 0;; ++i) {
    std::string key = prefix + std::to_string(i);
    if (t.OwnerOf(key) == index) return key;
  }
}

}  // namespace rl::testing
