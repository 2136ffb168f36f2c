// The Raft consensus core: a pure, deterministic state machine in the style of etcd-io/raft.
// It does no I/O and reads no clock: time enters as Tick(), peers' messages as Step(), and
// everything the driver must do (persist, send, apply) leaves as a Ready, acknowledged with
// Advance(). Used by the node (raft/node, on a libuv loop) and by the simulator in tests/raft.
// Thread safety: none; one thread owns a Core.
#pragma once

#include <cstdint>
#include <deque>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raft/conf_change.h"
#include "raft/config.h"
#include "raft/log.h"
#include "raft/log_source.h"
#include "raft/message.h"
#include "raft/progress.h"
#include "raft/ready.h"
#include "raft/splitmix64.h"
#include "raft/types.h"

namespace rl::raft {

class Core {
 public:
  // Reads the durable state once. On failure (bad config, non-contiguous entries, terms going
  // backwards) returns a description. A commit index past the log is clamped, and a hard state
  // whose term is below the log's last term (a torn write) is raised to it with no vote.
  static std::expected<Core, std::string> Create(const Config& config, const LogSource& source);

  // One unit of time: followers count towards an election, leaders towards a heartbeat and a
  // CheckQuorum round.
  void Tick();

  // A message from a peer. Untrusted: messages that make no sense for the current state are
  // dropped (Raft tolerates loss), never trusted into breaking an invariant.
  void Step(const Message& message);

  // Leader only. Appends `data` to the log and returns its index; it is committed when it
  // appears in Ready::committed_entries at that index with this term (a later leader may
  // overwrite an uncommitted entry, so compare the term too).
  std::expected<Index, Error> Propose(std::string data);

  // Leader only. One single-server change at a time, and only once the leader has committed an
  // entry of its own term. A change takes effect on every node when it is applied (Advance).
  std::expected<Index, Error> ProposeConfChange(const ConfChange& change);

  // Leader only. Asks for a linearizable read point; a ReadState with `context` appears in a
  // later Ready once a quorum has confirmed this node is still the leader (held, first, until the
  // leader has committed an entry of its term). Lost if leadership is lost: retry on a timeout.
  std::expected<void, Error> ReadIndex(std::string context);

  // Leader only. Catches `to` up, then tells it to campaign at once (kTimeoutNow). Proposals are
  // refused until the transfer ends; it is abandoned after election_ticks.
  std::expected<void, Error> TransferLeader(NodeId to);

  // Starts an election now (with a pre-vote when enabled). No-op on a leader or non-voter.
  void Campaign();

  // The driver has strong evidence that `peer` is gone (its connection closed with EOF: the
  // kernel closes a dead process's sockets at once). A follower whose leader is `peer` forgets
  // it, so it no longer holds the CheckQuorum lease against other campaigns, and (with
  // lost_leader_ticks and pre_vote) campaigns after a short randomized delay. Always safe: a
  // node still votes once per term. A live leader is not disrupted by one flapping link: the
  // other followers still hear from it and refuse the pre-vote, and its next heartbeat brings
  // this follower back. No-op otherwise.
  void LeaderLost(NodeId peer);

  // Ready/Advance: see raft/ready.h for the driver's obligations.
  bool HasReady() const;
  // REQUIRES: HasReady() (an empty Ready is harmless) and no Ready outstanding.
  Ready GetReady();
  // REQUIRES: a Ready outstanding, processed as raft/ready.h says.
  void Advance();

  // The application took a snapshot of its state machine at `index` (which must be the applied
  // index) and persisted it: entries up to it are discarded and followers too far behind are
  // sent `data` instead. Returns the snapshot's metadata (the configuration at `index`).
  std::expected<SnapshotMeta, Error> Compact(Index index, std::string data);

  Status GetStatus() const;
  NodeId id() const { return config_.id; }
  Term term() const { return term_; }
  Role role() const { return role_; }
  NodeId leader() const { return lead_; }
  const ConfState& conf() const { return conf_; }
  const RaftLog& log() const { return log_; }

 private:
  enum class CampaignKind : uint8_t { kPreElection, kElection, kTransfer };
  struct PendingRead {
    std::string context;
    Index index = 0;
    uint64_t seq = 0;
    std::set<NodeId> acks;
  };
  // What the outstanding Ready handed out, so Advance knows what became durable and applied.
  struct InFlight {
    std::optional<HardState> hard_state;
    Index snapshot_index = 0;
    Index last_index = 0;
    Term last_term = 0;
    Index applied_to = 0;
    std::vector<Entry> conf_changes;
  };

  Core(const Config& config, RaftLog log, HardState hard_state);

  // Roles (core.cc).
  void Reset(Term term);
  void BecomeFollower(Term term, NodeId leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  bool Promotable() const;
  void ResetRandomizedElectionTimeout();
  void Send(Message message);

  // Elections and the follower side (core_step.cc).
  void TickElection();
  void Hup(CampaignKind kind);
  bool HasUnappliedConfChange() const;
  void StartCampaign(CampaignKind kind);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);

  // The leader side (core_leader.cc).
  void TickHeartbeat();
  void StepLeader(const Message& m);
  void HandleAppendResponse(const Message& m, Progress& pr);
  void HandleHeartbeatResponse(const Message& m, Progress& pr);
  std::expected<Index, Error> AppendLocal(std::vector<Entry> entries);
  bool SendAppend(NodeId to, bool send_if_empty);
  bool SendSnapshot(NodeId to, Progress& pr);
  void BroadcastAppend();
  void BroadcastHeartbeat();
  bool MaybeCommit();
  bool CommittedInCurrentTerm() const;
  void AddPendingRead(std::string context);
  void ReleaseReads();
  void AbortLeaderTransfer() { lead_transferee_ = kNoNode; }

  // Membership (core_membership.cc).
  void ApplyConfChangeEntry(const Entry& entry);
  void SyncProgress();
  void FinishLeaving();

  Config config_;
  RaftLog log_;
  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  Role role_ = Role::kFollower;
  ConfState conf_;                       // the configuration as of the applied index
  std::map<NodeId, Progress> progress_;  // every member; meaningful on the leader
  std::map<NodeId, bool> votes_;
  std::vector<Message> msgs_;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  SplitMix64 rng_;

  NodeId lead_transferee_ = kNoNode;
  Index pending_conf_index_ = 0;  // a conf change at or below this index may be unapplied
  Index leaving_index_ = 0;       // this leader's own removal (proposed or applied) is here
  bool removed_ = false;          // this node applied its own removal
  uint64_t uncommitted_bytes_ = 0;
  bool broadcast_pending_ = false;  // proposals/commit to send, batched until GetReady
  bool heartbeat_pending_ = false;  // read-index confirmations to ask for, batched likewise

  std::deque<PendingRead> pending_reads_;
  std::vector<std::string> held_reads_;  // until the leader commits an entry of its term
  uint64_t read_seq_ = 0;
  std::vector<ReadState> read_states_;

  HardState persisted_hard_state_;
  std::optional<InFlight> in_flight_;
};

}  // namespace rl::raft
