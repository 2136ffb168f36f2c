#include "proxy/host/reload_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <expected>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "proxy/host/cli.h"
#include "proxy/resp/reply_parser.h"
#include "proxy/resp/reply_writer.h"

namespace rl::proxy {

namespace {

// How long the reload may take to answer: a cluster proposal waits for a commit.
constexpr int kReplyTimeoutS = 30;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::expected<int, std::string> Connect(const conf::Address& address) {
  if (address.kind == conf::Address::Kind::kUnix) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (address.path.size() >= sizeof(sa.sun_path)) return std::unexpected("path too long");
    std::memcpy(sa.sun_path, address.path.data(), address.path.size());
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      int e = errno;
      close(fd);
      return std::unexpected(std::string(std::strerror(e)));
    }
    return fd;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  // A wildcard listen address is reached on the loopback.
  std::string host = address.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  std::string port = std::to_string(address.port);
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &result); rc != 0) {
    return std::unexpected(std::string(gai_strerror(rc)));
  }
  std::string why = "no address";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      freeaddrinfo(result);
      return fd;
    }
    why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(result);
  return std::unexpected(why);
}

// Sends `argv` and reads one reply.
std::expected<RespReply, std::string> Roundtrip(int fd, RespReplyParser* parser,
                                                std::initializer_list<std::string_view> argv) {
  std::string out;
  AppendCommand(&out, std::span<const std::string_view>(argv.begin(), argv.size()));
  for (size_t sent = 0; sent < out.size();) {
    ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::unexpected(fmt::format("send: {}", std::strerror(errno)));
    sent += static_cast<size_t>(n);
  }
  for (;;) {
    RespReply reply;
    switch (parser->Next(&reply)) {
      case RespReplyParser::Result::kComplete:
        return reply;
      case RespReplyParser::Result::kError:
        return std::unexpected(fmt::format("not RESP: {}", parser->error()));
      case RespReplyParser::Result::kIncomplete:
        break;
    }
    std::span<char> space = parser->PrepareAppend();
    ssize_t n = recv(fd, space.data(), space.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return std::unexpected("the connection closed before the reply");
    if (n < 0) return std::unexpected(fmt::format("recv: {}", std::strerror(errno)));
    parser->CommitAppend(static_cast<size_t>(n));
  }
}

}  // namespace

int SendReload(const std::string& conf_file, std::ostream& out, std::ostream& err) {
  std::optional<conf::Config> config = LoadConfig(conf_file, err);
  if (!config) return 1;
  if (config->pools.empty()) {
    err << "ringleader: " << conf_file << " has no pool to send RINGLEADER RELOAD to\n";
    return 1;
  }
  const conf::Pool& pool = config->pools.front();
  auto fd = Connect(pool.listen);
  if (!fd) {
    err << "ringleader: cannot reach pool '" << pool.name << "' at " << pool.listen.ToString()
        << ": " << fd.error() << "\n";
    return 1;
  }
  Fd socket_fd(*fd);
  timeval tv{.tv_sec = kReplyTimeoutS, .tv_usec = 0};
  setsockopt(socket_fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  RespReplyParser parser;
  if (const std::string& password = pool.ClientPassword(); !password.empty()) {
    auto auth = Roundtrip(socket_fd.get(), &parser, {"AUTH", password});
    if (!auth || auth->is_error()) {
      err << "ringleader: AUTH at " << pool.listen.ToString() << ": "
          << (auth ? auth->str : auth.error()) << "\n";
      return 1;
    }
  }
  auto reply = Roundtrip(socket_fd.get(), &parser, {"RINGLEADER", "RELOAD"});
  if (!reply) {
    err << "ringleader: RINGLEADER RELOAD at " << pool.listen.ToString() << ": " << reply.error()
        << "\n";
    return 1;
  }
  if (reply->is_error()) {
    err << "ringleader: " << reply->str << "\n";
    return 1;
  }
  out << reply->str;
  if (!reply->str.empty() && reply->str.back() != '\n') out << "\n";
  return 0;
}

}  // namespace rl::proxy
