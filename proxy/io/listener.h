// A pool's listening socket in one worker. TCP pools: every worker has its own socket bound with
// SO_REUSEPORT and the kernel spreads connections over them. Unix-socket pools: the kernel has
// no SO_REUSEPORT for AF_UNIX, so only worker 0 listens and accepts (documented in README).
// Thread safety: OpenTcp/OpenUnix run on the main thread before the workers start; a Listener
// belongs to its worker's thread.
#pragma once

#include <uv.h>

#include <expected>
#include <string>

#include "conf/config.h"
#include "proxy/host/worker.h"

namespace rl::proxy {

class PoolRouter;

class Listener {
 public:
  // Creates a bound (not yet listening) TCP socket for `address`: SO_REUSEADDR, and
  // SO_REUSEPORT when `reuseport`. On failure returns "bind HOST:PORT: reason".
  static std::expected<int, std::string> OpenTcp(const ResolvedAddress& address, bool reuseport);
  // Creates a bound unix socket at address.path (an old socket file there is removed), with
  // the configured permissions. On failure returns a message.
  static std::expected<int, std::string> OpenUnix(const conf::Address& address);

  // Listens on `fd` (owned from now on) in `worker`'s loop and accepts into `pool`. On failure
  // returns a message and closes the fd.
  static std::expected<Listener*, std::string> Start(Worker* worker, PoolRouter* pool, int fd,
                                                     bool is_unix, int backlog);
  // Stops accepting; frees itself in the close callback.
  void Close();

 private:
  Listener(Worker* worker, PoolRouter* pool, bool is_unix)
      : worker_(worker), pool_(pool), is_unix_(is_unix) {}
  static void OnConnection(uv_stream_t* server, int status);
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle_); }

  Worker* worker_;
  PoolRouter* pool_;
  bool is_unix_;
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
};

}  // namespace rl::proxy
