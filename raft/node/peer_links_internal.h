// What peer_links*.cc share: the structs behind PeerLinks' links, pending proposals and
// AskMember connections, and the client side of the handshake.
// Thread safety: the loop's thread.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <random>
#include <string>

#include "raft/node/peer_links.h"

namespace rl::raft {

struct PeerLinks::Link {
  PeerLinks* owner = nullptr;
  NodeId id = kNoNode;
  std::string addr;
  proxy::RespClientPtr client;
  bool authenticated = false;
  bool ever_connected = false;
  uint64_t generation = 0;            // connections so far: a stale handshake reply is ignored
  size_t outstanding = 0;             // RAFT.MSG bytes written and not answered
  proxy::UvHandle<uv_timer_t> retry;  // after a refused handshake
  std::deque<uint64_t> waiting;       // proposals to send once authenticated
};

struct PeerLinks::Pending {
  PeerLinks* owner = nullptr;
  uint64_t seq = 0;
  NodeId to = kNoNode;
  std::string command;  // the encoded RAFT.PROPOSE
  ProposalDone done;
  proxy::UvHandle<uv_timer_t> timer;
  std::string timeout_error;  // what done gets when the timer fires
  bool sent = false;
  bool failing = false;  // timer restarted to deliver timeout_error now
};

struct PeerLinks::Ask {
  PeerLinks* owner = nullptr;
  uint64_t seq = 0;
  std::string addr;
  NodeId id = kNoNode;
  proxy::RespClientPtr client;
  proxy::UvHandle<uv_timer_t> timer;
  std::string timeout_error;  // what done gets when the timer fires
  std::move_only_function<void(std::expected<MemberState, std::string>)> done;
};

#ifdef RL_FAULT_INJECTION
struct PeerLinks::Faults {
  FaultSettings settings;
  std::mt19937_64 rng;
  std::multimap<uint64_t, Message> delayed;  // by uv_now() when due
  proxy::UvHandle<uv_timer_t> timer;
};
#else
struct PeerLinks::Faults {};
#endif

namespace peer_links_internal {

// "host:port" or "[v6]:port" into the client's options; false when it is neither.
bool ParseAddress(const std::string& addr, std::string* host, uint16_t* port);

// The RespClient options every peer connection uses (no callbacks set).
proxy::RespClientOptions ClientOptions(const PeerSettings& settings, const std::string& host,
                                       uint16_t port);

struct HandshakeResult {
  enum class Outcome : uint8_t {
    kOk,       // +OK: the connection is authenticated
    kRefused,  // the peer answered with an error or nonsense (another secret or cluster)
    kLost,     // the connection failed meanwhile (the client reconnects by itself)
  };
  Outcome outcome = Outcome::kOk;
  std::string error;
};

// RAFT.HELLO, then RAFT.AUTH with the proof, on a client that just connected. `settings` must
// outlive the client.
void Handshake(proxy::RespClient* client, const PeerSettings& settings,
               std::move_only_function<void(HandshakeResult)> done);

}  // namespace peer_links_internal

}  // namespace rl::raft
