// What the peer transport (PeerServer, PeerLinks) is configured with: this node's identity, the
// cluster's shared secret, the peer address, and the bounds that keep a peer from costing
// unbounded memory. Filled by the node from the cluster: section. Thread safety: a plain value.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "raft/types.h"

namespace rl::raft {

struct PeerSettings {
  NodeId self = kNoNode;
  uint64_t cluster_id = 0;  // derived by the node; peers must present the same
  std::string secret;       // >= kMinPeerSecretLength bytes

  // PeerServer: where to listen (numeric IPv4/IPv6 address; port 0 picks a free one).
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  // A RAFT.MSG argument (one encoded message: a snapshot can be large) and a whole request.
  uint64_t max_bulk_length = 512ull * 1024 * 1024;
  uint64_t max_request_length = 600ull * 1024 * 1024;
  // Connections open at once; one more is accepted and closed at once (counted as refused).
  size_t max_connections = 1024;
  // Replies a connection has not read yet; past it the connection is closed.
  size_t max_pending_reply_bytes = 64ull * 1024 * 1024;
  // A connection that has not authenticated (RAFT.AUTH) this long after it was accepted is
  // closed and counted: a stranger cannot hold connections (of max_connections) open for ever.
  // PING and RAFT.STATUS work meanwhile. 0 = no limit.
  std::chrono::milliseconds auth_timeout{10000};

  // PeerLinks.
  std::chrono::milliseconds propose_timeout{5000};  // Forward(): answer or TIMEOUT
  std::chrono::milliseconds ask_timeout{2000};      // AskMember(): connect + auth + answer
  std::chrono::milliseconds connect_timeout{1000};
  // A RAFT.MSG batch without its +OK past this closes the link (the peer is stuck).
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{1000};
  size_t max_batch_bytes = 4ull * 1024 * 1024;  // one RAFT.MSG command, past one message
  // RAFT.MSG bytes sent to one peer and not yet answered; messages past it are dropped. A
  // batch larger than the bound still goes when nothing is outstanding.
  size_t max_outstanding_bytes = 64ull * 1024 * 1024;
};

}  // namespace rl::raft
