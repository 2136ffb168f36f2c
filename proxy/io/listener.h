// A listening socket on a loop that hands each pending connection to a callback: a pool's in one
// worker (TCP pools: every worker has its own socket bound with SO_REUSEPORT and the kernel
// spreads connections over them; unix-socket pools: the kernel has no SO_REUSEPORT for AF_UNIX,
// so only worker 0 listens), and later the peer and admin ports on the control loop.
// Thread safety: OpenTcp/OpenUnix run on the main thread before the workers start; a Listener
// belongs to its worker's thread.
#pragma once

#include <uv.h>

#include <expected>
#include <functional>
#include <string>

#include "conf/config.h"
#include "proxy/io/address.h"

namespace rl::proxy {

class Listener {
 public:
  // Accepts one pending connection on `server` (uv_accept), or leaves it to the kernel's queue.
  using AcceptFn = std::function<void(uv_stream_t* server, bool is_unix)>;

  // Creates a bound (not yet listening) TCP socket for `address`: SO_REUSEADDR, and
  // SO_REUSEPORT when `reuseport`. On failure returns "bind HOST:PORT: reason".
  static std::expected<int, std::string> OpenTcp(const ResolvedAddress& address, bool reuseport);
  // Creates a bound unix socket at address.path (an old socket file there is removed), with
  // the configured permissions. On failure returns a message.
  static std::expected<int, std::string> OpenUnix(const conf::Address& address);

  // Listens on `fd` (owned from now on) on `loop`; every pending connection goes to
  // `on_connection`. `name` names the listener in log lines ("pool 'alpha'"). On failure
  // returns a message and closes the fd.
  static std::expected<Listener*, std::string> Start(uv_loop_t* loop, int fd, bool is_unix,
                                                     int backlog, std::string name,
                                                     AcceptFn on_connection);
  // Stops accepting; frees itself in the close callback.
  void Close();

 private:
  Listener(std::string name, AcceptFn on_connection, bool is_unix)
      : name_(std::move(name)), on_connection_(std::move(on_connection)), is_unix_(is_unix) {}
  static void OnConnection(uv_stream_t* server, int status);
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle_); }

  std::string name_;
  AcceptFn on_connection_;
  bool is_unix_;
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
};

}  // namespace rl::proxy
