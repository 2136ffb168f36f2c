// The peer port: a RESP server on the node's loop that peers (PeerLinks) and operators
// (redis-cli -p PEERPORT) talk to. PING and RAFT.STATUS need no authentication; RAFT.HELLO /
// RAFT.AUTH authenticate a connection as peer `from` (peer_auth.h); RAFT.MSG, RAFT.PROPOSE and
// RAFT.MEMBER need it. Replies go out in request order, also when a RAFT.PROPOSE is answered
// later. Peer input is untrusted: nothing it sends aborts; what is wrong is counted (stats()).
// The wire protocol is in README.md. Thread safety: everything on the loop's thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <unordered_map>

#include "proxy/base/uv_handle.h"
#include "raft/node/peer_settings.h"
#include "raft/node/transport.h"

namespace rl::raft {

class PeerConn;

struct PeerServerStats {
  uint64_t connections = 0;          // accepted, ever
  uint64_t open_connections = 0;     // now
  uint64_t refused_connections = 0;  // past max_connections, closed at once
  uint64_t auth_failures = 0;        // RAFT.AUTH refused (the connection was closed)
  uint64_t auth_timeouts = 0;        // closed: not authenticated within auth_timeout
  uint64_t malformed_messages = 0;   // RAFT.MSG arguments that did not decode or were spoofed
  uint64_t protocol_errors = 0;      // bytes that were not RESP, or past a size bound
  uint64_t messages_in = 0;          // messages handed to OnMessages
  uint64_t bytes_in = 0;             // every byte read from every connection
};

class PeerServer {
 public:
  // Binds settings.listen_host:listen_port and listens. On failure (bad address, port in use,
  // secret shorter than kMinPeerSecretLength) returns the error text.
  // REQUIRES: loop is the calling thread's loop; handler outlives the server.
  static std::expected<std::unique_ptr<PeerServer>, std::string> Start(uv_loop_t* loop,
                                                                       PeerSettings settings,
                                                                       PeerHandler* handler);
  // Stops listening and closes every connection; memory is freed in the close callbacks (keep
  // running the loop). A proposal answered after this is ignored.
  ~PeerServer();
  PeerServer(const PeerServer&) = delete;
  PeerServer& operator=(const PeerServer&) = delete;

  // The port actually bound (settings.listen_port, or the one the kernel chose for 0).
  uint16_t port() const { return port_; }
  const PeerServerStats& stats() const { return stats_; }

 private:
  friend class PeerConn;
  PeerServer(uv_loop_t* loop, PeerSettings settings, PeerHandler* handler);
  std::expected<void, std::string> Listen();
  void OnConnection(int status);
  void Forget(uint64_t id) { conns_.erase(id); }
  void SweepUnauthenticated();

  uv_loop_t* loop_;
  PeerSettings settings_;
  PeerHandler* handler_;
  proxy::UvHandle<uv_tcp_t> listener_;
  proxy::UvHandle<uv_timer_t> auth_sweep_;  // closes connections past auth_timeout
  uint16_t port_ = 0;
  uint64_t next_conn_id_ = 1;
  std::unordered_map<uint64_t, PeerConn*> conns_;
  PeerServerStats stats_;
};

}  // namespace rl::raft
