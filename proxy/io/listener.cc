#include "proxy/io/listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"
#include "proxy/base/log.h"

namespace rl::proxy {

std::expected<int, std::string> Listener::OpenTcp(const ResolvedAddress& address, bool reuseport) {
  const sockaddr* sa = reinterpret_cast<const sockaddr*>(&address.tcp);
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(fmt::format("socket: {}", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    std::string message = fmt::format("SO_REUSEPORT on {}: {}", address.text, strerror(errno));
    close(fd);
    return std::unexpected(message);
  }
  socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (bind(fd, sa, len) != 0) {
    std::string message = fmt::format("bind {}: {}", address.text, strerror(errno));
    close(fd);
    return std::unexpected(message);
  }
  return fd;
}

std::expected<int, std::string> Listener::OpenUnix(const conf::Address& address) {
  sockaddr_un sun{};
  if (address.path.size() >= sizeof(sun.sun_path)) {
    return std::unexpected(fmt::format("unix socket path too long: {}", address.path));
  }
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, address.path.data(), address.path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(fmt::format("socket: {}", strerror(errno)));
  // Like Redis: a socket file left by an earlier run would make bind fail.
  struct stat st;
  if (lstat(address.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(address.path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0) {
    std::string message = fmt::format("bind {}: {}", address.path, strerror(errno));
    close(fd);
    return std::unexpected(message);
  }
  if (address.permissions && chmod(address.path.c_str(), *address.permissions) != 0) {
    std::string message = fmt::format("chmod {}: {}", address.path, strerror(errno));
    close(fd);
    return std::unexpected(message);
  }
  return fd;
}

std::expected<Listener*, std::string> Listener::Start(uv_loop_t* loop, int fd, bool is_unix,
                                                      int backlog, std::string name,
                                                      AcceptFn on_connection) {
  auto* l = new Listener(std::move(name), std::move(on_connection), is_unix);
  int rc = is_unix ? uv_pipe_init(loop, &l->handle_.pipe, 0) : uv_tcp_init(loop, &l->handle_.tcp);
  if (rc < 0) {
    close(fd);
    delete l;
    return std::unexpected(fmt::format("listener init: {}", uv_strerror(rc)));
  }
  l->handle_.tcp.data = l;
  rc = is_unix ? uv_pipe_open(&l->handle_.pipe, fd) : uv_tcp_open(&l->handle_.tcp, fd);
  if (rc < 0) close(fd);
  if (rc == 0) rc = uv_listen(l->stream(), backlog, OnConnection);
  if (rc < 0) {
    l->Close();
    return std::unexpected(fmt::format("listen: {}", uv_strerror(rc)));
  }
  return l;
}

void Listener::Close() {
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_),
           [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
}

void Listener::OnConnection(uv_stream_t* server, int status) {
  auto* l = static_cast<Listener*>(server->data);
  if (status < 0) {
    Log(kLogWarn, "accept on {}: {}", l->name_, uv_strerror(status));
    return;
  }
  l->on_connection_(server, l->is_unix_);
}

}  // namespace rl::proxy
