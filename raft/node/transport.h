// The seam between the Raft node (raft/node/node.h) and its network (raft/node/peer_*.h): the
// node sends Raft messages and forwarded proposals through a Transport, and the peer server hands
// what authenticated peers sent to a PeerHandler (the node). Tests drive a node with an in-memory
// Transport; the process uses the RESP one (`RAFT.*` commands on the peer port, see README.md).
// Thread safety: everything on the loop thread that owns the node.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "raft/message.h"
#include "raft/types.h"

namespace rl::raft {

// A change a client asks the cluster for. Any member accepts one; a follower forwards it to the
// leader (RAFT.PROPOSE), which answers once the change is committed and applied (or refused).
struct Proposal {
  enum class Kind : uint8_t {
    kCommand = 1,     // `data` is an encoded state-machine Command (state_machine.h)
    kAddLearner = 2,  // add `id` at `addr` as a learner
    kPromote = 3,     // make learner `id` a voter (refused until it has caught up)
    kRemove = 4,      // remove `id`
    kTransfer = 5,    // transfer leadership to `id`
    kBarrier = 6,     // commit an entry that changes nothing: its index says the cluster commits
  };
  Kind kind = Kind::kCommand;
  std::string data;
  NodeId id = kNoNode;
  std::string addr;
  bool operator==(const Proposal&) const = default;
};

// The outcome of a proposal that reached the leader and was committed: the log index it took,
// the state machine's verdict (`error` empty when applied; e.g. "pool 'a' is at epoch 3, not 2")
// and what the command gave its proposer (`value`: ApplyResult::value, e.g. the first token a
// ReserveTokens granted; 0 for the others).
struct ProposalOutcome {
  Index index = 0;
  std::string error;
  uint64_t value = 0;
  bool operator==(const ProposalOutcome&) const = default;
};

// The failure of a proposal that was not committed, as a Redis error line without the '-', whose
// first word is the code: "TRYAGAIN no leader", "TRYAGAIN leadership changed", "ERR one
// membership change at a time", "ERR unknown node 7", "TIMEOUT ...".
using ProposalResult = std::expected<ProposalOutcome, std::string>;
using ProposalDone = std::move_only_function<void(ProposalResult)>;

// What a peer says about node `id` when asked before a bootstrap (RAFT.MEMBER id).
enum class MemberState : uint8_t {
  kUnknown = 0,  // the peer has no cluster state yet (also empty, never bootstrapped)
  kNotMember,    // the peer's committed configuration does not contain id
  kMember,       // a member that has never been heard from
  kJoined,       // a member that has been heard from: its data must exist somewhere
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Best effort, in order per destination; each message goes to message.to. A message to a
  // peer with no address, or whose link is down, is dropped (Raft retries).
  virtual void Send(std::vector<Message> messages) = 0;
  // RAFT.PROPOSE to `to`; `done` runs once, with the leader's answer or with "TRYAGAIN ..." when
  // the link failed or timed out.
  virtual void Forward(NodeId to, Proposal proposal, ProposalDone done) = 0;
  // RAFT.MEMBER to the peer at `addr` (before a bootstrap, when ids may not be known yet);
  // `done` gets the answer, or an error when the peer could not be reached.
  virtual void AskMember(
      const std::string& addr, NodeId id,
      std::move_only_function<void(std::expected<MemberState, std::string>)> done) = 0;
  // The addresses of the other members (the node calls it whenever the membership changes).
  virtual void SetPeers(std::map<NodeId, std::string> peers) = 0;
  // `handler(peer)` runs when an established connection to `peer` closed with EOF or a reset:
  // its process is most likely gone (the kernel closed its sockets), which the node uses to
  // fail over sooner (Core::LeaderLost). Not for timeouts. nullptr removes it. Optional.
  virtual void SetPeerDownHandler(std::function<void(NodeId)> handler) { (void)handler; }
};

class PeerHandler {
 public:
  virtual ~PeerHandler() = default;
  // Messages from authenticated peer `from` (each message's `from` equals it: the server drops
  // and counts any other). Untrusted otherwise; the core drops what makes no sense.
  virtual void OnMessages(NodeId from, std::vector<Message> messages) = 0;
  // A proposal forwarded by peer `from`; answer through `done` exactly once.
  virtual void OnPropose(NodeId from, Proposal proposal, ProposalDone done) = 0;
  virtual MemberState OnAskMember(NodeId id) const = 0;
  // The body of RAFT.STATUS: "key:value\r\n" lines, the rl_* fields of INFO ringleader.
  virtual std::string StatusText() const = 0;
};

}  // namespace rl::raft
