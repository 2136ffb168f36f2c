// The RESP Transport: one RespClient per peer to its peer port (PeerServer), authenticated with
// RAFT.HELLO / RAFT.AUTH on every connect before any traffic. Send() batches each destination's
// messages into RAFT.MSG commands, pipelined, with a bound on bytes not yet answered; messages
// for a peer whose link is not authenticated are dropped (Raft retries). Forward() is
// RAFT.PROPOSE with a timeout; proposals wait for the link's authentication. AskMember() uses a
// short-lived connection of its own. Reconnecting with back-off is RespClient's.
// Fault injection (tests): see peer_faults.h. Thread safety: everything on the loop's thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/base/uv_handle.h"
#include "proxy/resp/client.h"
#include "raft/node/peer_faults.h"
#include "raft/node/peer_settings.h"
#include "raft/node/transport.h"

namespace rl::raft {

struct PeerLinksStats {
  uint64_t messages_out = 0;   // messages written in a RAFT.MSG
  uint64_t bytes_out = 0;      // bytes of RAFT.MSG commands
  uint64_t dropped = 0;        // no link, not authenticated, or past the outstanding bound
  uint64_t reconnects = 0;     // connections made after a link's first
  uint64_t auth_failures = 0;  // handshakes a peer refused (or answered with nonsense)
  uint64_t fault_dropped = 0;  // dropped or blocked by fault injection
  uint64_t fault_delayed = 0;
  uint64_t fault_duplicated = 0;
};

class PeerLinks : public Transport {
 public:
  // On failure (secret shorter than kMinPeerSecretLength) returns the error text.
  // REQUIRES: loop is the calling thread's loop, and keeps running after the links are gone
  // until their handles are closed.
  static std::expected<std::unique_ptr<PeerLinks>, std::string> Create(uv_loop_t* loop,
                                                                       PeerSettings settings);
  // Closes every link. Pending Forward()/AskMember() callbacks are dropped uncalled.
  ~PeerLinks() override;
  PeerLinks(const PeerLinks&) = delete;
  PeerLinks& operator=(const PeerLinks&) = delete;

  void Send(std::vector<Message> messages) override;
  void Forward(NodeId to, Proposal proposal, ProposalDone done) override;
  void AskMember(
      const std::string& addr, NodeId id,
      std::move_only_function<void(std::expected<MemberState, std::string>)> done) override;
  // Adds links for new peers, removes those not listed (their pending proposals fail with
  // TRYAGAIN), and reconnects a peer whose address changed. An entry for settings.self is
  // ignored. Addresses are "host:port" or "[v6]:port".
  void SetPeers(std::map<NodeId, std::string> peers) override;
  void SetPeerDownHandler(std::function<void(NodeId)> handler) override {
    peer_down_ = std::move(handler);
  }

  // Replaces the faults applied to every later Send (FaultSettings{} turns them off). A seed of
  // 0 is drawn; the seed is logged. Fails, changing nothing, when the binary was built without
  // RINGLEADER_FAULT_INJECTION.
  std::expected<void, std::string> SetFaults(const FaultSettings& faults);

  const PeerLinksStats& stats() const { return stats_; }
  // Whether the link to `peer` is connected and authenticated (tests wait for it).
  bool authenticated(NodeId peer) const;

 private:
  struct Link;
  struct Pending;
  struct Ask;
  struct Faults;

  explicit PeerLinks(uv_loop_t* loop, PeerSettings settings);

  // peer_links.cc: links, their handshake, RAFT.MSG batches.
  void Connect(Link* link);
  void OnConnected(Link* link);
  void OnDisconnected(Link* link, const proxy::RespError& reason);
  void OnAuthenticated(Link* link);
  void OnHandshakeFailed(Link* link, const std::string& why);
  void SendNow(std::vector<Message> messages);
  void SendBatch(Link* link, std::vector<std::string> encoded, size_t messages);

  // peer_links_rpc.cc: RAFT.PROPOSE and RAFT.MEMBER.
  void SendProposal(Link* link, uint64_t seq);
  void FinishProposal(uint64_t seq, ProposalResult result);
  void FailProposalsTo(NodeId peer, bool sent_only, const std::string& why);
  void StartAskConnection(Ask* ask);
  void FinishAsk(uint64_t seq, std::expected<MemberState, std::string> result);

  // peer_links_faults.cc (empty unless RL_FAULT_INJECTION).
  std::vector<Message> ApplyFaults(std::vector<Message> messages);
  void OnFaultTimer();

  uv_loop_t* loop_;
  PeerSettings settings_;
  std::map<NodeId, std::unique_ptr<Link>> links_;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, std::unique_ptr<Pending>> proposals_;
  std::map<uint64_t, std::unique_ptr<Ask>> asks_;
  std::unique_ptr<Faults> faults_;  // null: no faults
  PeerLinksStats stats_;
  std::function<void(NodeId)> peer_down_;
};

}  // namespace rl::raft
