// Node: one member of a ringleader cluster. It drives a Raft Core on a libuv loop (tick timer,
// Ready loop coalesced on a uv_idle, disk writes on a DiskThread), applies committed entries to
// the replicated StateMachine, and talks to its peers through a Transport (transport.h), whose
// peer server hands it what peers send (it is the PeerHandler). Used by the proxy's control
// loop and by tests/raft/node/node_test.cc. Thread safety: everything on the loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "raft/core.h"
#include "raft/file_storage.h"
#include "raft/node/disk_thread.h"
#include "raft/node/state_machine.h"
#include "raft/node/transport.h"
#include "uv.h"

namespace rl::raft {

struct NodeSettings {
  NodeId id = kNoNode;
  std::string addr;  // this node's own peer address, host:port
  // The cluster's initial members (id and peer address). A bootstrapping node is one of them; a
  // node added later (join) lists the same members, which gives it the same ClusterId and the
  // addresses to answer the leader at before the log tells it the membership.
  std::vector<MemberInfo> initial_members;
  bool join = false;  // added later: never bootstraps, waits for the leader
  std::string data_dir;
  std::chrono::milliseconds tick{100};
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // When the connection to the leader closes (its process died), campaign within this many
  // ticks instead of a whole election timeout (raft::Config::lost_leader_ticks; 0 = off).
  int lost_leader_ticks = 3;
  uint64_t seed = 0;
  uint64_t snapshot_entries = 10000;  // compact after this many applied entries
  std::chrono::milliseconds propose_timeout{5000};
  uint64_t segment_bytes = uint64_t{64} << 20;  // log segment size (FileStorageOptions)
};

// A stable hash of the initial members (sorted by id; ids and addresses), the same on every
// member; the transport refuses peers of another cluster with it.
uint64_t ClusterId(std::span<const MemberInfo> initial_members);

struct NodeStatus {
  NodeId id = kNoNode;
  std::string role;  // "leader", "follower", "candidate" (pre-candidates too), "learner"
  NodeId leader = kNoNode;
  Term term = 0;
  Index commit = 0;
  Index applied = 0;
  std::vector<MemberInfo> members;              // the configuration, with addresses
  std::map<std::string, uint64_t> pool_epochs;  // per pool
};

class Node final : public PeerHandler {
 public:
  // Creates `settings.data_dir` if absent, opens and loads its FileStorage (DIR/raft), and
  // writes or checks DIR/identity (node id and cluster id): a data directory of another node or
  // cluster is refused. REQUIRES: `loop` and `transport` outlive the node.
  static std::expected<std::unique_ptr<Node>, std::string> Open(uv_loop_t* loop,
                                                                NodeSettings settings,
                                                                Transport* transport);
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Restarts from the data directory, or bootstraps (empty, not join: only when no other
  // initial member says this id already joined), or waits for the leader (empty, join). Then
  // ticks and runs the Ready loop. `on_fatal` runs (once) when the node cannot go on: storage
  // failed, a refused bootstrap, a corrupt snapshot; the node is then inert until Stop.
  void Start(std::move_only_function<void(std::string)> on_fatal);

  // Asks the cluster for a change: on the leader it is proposed and `done` runs once it is
  // committed and applied here (ProposalOutcome), or fails ("TRYAGAIN leadership changed",
  // "TIMEOUT ...", "ERR ..."); a follower forwards it to the leader it knows ("TRYAGAIN no
  // leader" without one). One membership change at a time.
  void Propose(Proposal proposal, ProposalDone done);

  // A linearizable read point, on the leader: `done` gets an index this node has applied, once a
  // quorum confirmed it still leads (raft's ReadIndex); reads of state() then see every change
  // committed before the call. Not forwarded: a follower answers "TRYAGAIN not the leader, ...".
  using ReadDone = std::move_only_function<void(std::expected<Index, std::string>)>;
  void ReadBarrier(ReadDone done);

  // The pools as of the commit index recorded in the data directory (its snapshot, then its
  // committed entries): what this node will serve once it has replayed its log, available before
  // Start so the host can route by it from its first request. Members are left empty. Empty for
  // an empty data directory; a snapshot that does not decode is left to Start to report.
  // REQUIRES: before Start.
  ClusterState RecoveredPools() const;

  // Stops ticking, fails pending proposals with "TRYAGAIN shutting down", finishes the disk
  // thread and closes the handles; `done` runs once they are closed (then the node may go).
  void Stop(std::function<void()> done);

  // Called on the loop after each batch of applied entries that changed the state.
  void OnApplied(std::function<void(const ClusterState&)> callback) {
    on_applied_ = std::move(callback);
  }

  NodeStatus Status() const;
  const ClusterState& state() const { return sm_.state(); }
  NodeId id() const { return settings_.id; }
  uint64_t cluster_id() const { return cluster_id_; }
  // The core, once started (nullptr before; for tests and status).
  const Core* core() const { return core_ ? &*core_ : nullptr; }
  // Snapshots this node has taken of its own state machine (compactions).
  uint64_t compactions() const { return compactions_; }

  // PeerHandler.
  void OnMessages(NodeId from, std::vector<Message> messages) override;
  void OnPropose(NodeId from, Proposal proposal, ProposalDone done) override;
  MemberState OnAskMember(NodeId id) const override;
  std::string StatusText() const override;

 private:
  // A proposal on this leader, waiting for its entry to be applied.
  struct Pending {
    Term term = 0;
    uint64_t deadline_ms = 0;
    ProposalDone done;
  };
  // A leadership transfer this leader started.
  struct Transfer {
    NodeId target = kNoNode;
    uint64_t deadline_ms = 0;
    ProposalDone done;
  };
  struct Handles;  // the tick timer and the idle handle; freed in their close callbacks

  Node(uv_loop_t* loop, NodeSettings settings, Transport* transport,
       std::unique_ptr<FileStorage> storage, DurableState durable);

  // Start (node.cc).
  void AskThenBootstrap();
  void Bootstrap();
  void Run(MemoryLogSource source);
  void Fatal(std::string message);
  void OnPeerDown(NodeId peer);

  // The Ready loop (node_ready.cc).
  void Schedule();
  void OnTick();
  void ProcessReady();
  void OnDurable(Ready& ready, const StorageResult<>& result);
  bool RestoreSnapshot(const Snapshot& snapshot);
  bool ApplyEntries(const std::vector<Entry>& entries);
  void ApplyMembership(Index index, const ConfChange& change);
  void Resolve(const Entry& entry, const ApplyResult& result);
  void FailPendingUpTo(Index index, const std::string& why);
  void MaybeCompact();
  void MaybeMarkJoined();
  void UpdatePeers();

  // Proposals (node_propose.cc).
  void ProposeAsLeader(Proposal proposal, ProposalDone done);
  void ProposeCommand(std::string data, ProposalDone done);
  void ProposeMembership(Proposal proposal, ProposalDone done);
  void ProposeConf(ConfChange change, ProposalDone done);
  void StartTransfer(NodeId target, ProposalDone done);
  void CheckTransfer();
  void ExpireProposals();
  void ServeReads(const std::vector<ReadState>& read_states);
  std::string RefusalText(Error error, const Proposal* proposal) const;
  uint64_t Deadline() const;

  uv_loop_t* loop_;
  NodeSettings settings_;
  Transport* transport_;
  uint64_t cluster_id_ = 0;
  std::unique_ptr<FileStorage> storage_;  // until Start hands it to the disk thread
  std::optional<DurableState> durable_;   // what Load returned, until Start
  std::unique_ptr<DiskThread> disk_;
  std::optional<Core> core_;
  StateMachine sm_;
  Handles* handles_ = nullptr;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for late transport callbacks

  std::move_only_function<void(std::string)> on_fatal_;
  std::function<void(const ClusterState&)> on_applied_;
  bool started_ = false;
  bool failed_ = false;
  bool stopping_ = false;
  bool ready_in_flight_ = false;
  Index snapshot_index_ = 0;  // of the latest snapshot, taken or received
  uint64_t compactions_ = 0;

  std::map<Index, Pending> pending_;
  std::vector<std::pair<ProposalDone, ProposalResult>> answers_;  // of the Ready being applied
  std::map<NodeId, std::string> peers_;                           // as last given to transport_
  std::optional<Transfer> transfer_;
  uint64_t read_seq_ = 0;
  std::map<std::string, std::pair<uint64_t, ReadDone>> reads_;  // context -> deadline, done
  std::multimap<Index, ReadDone> reads_confirmed_;              // read index -> done, until applied
  bool membership_busy_ = false;  // a membership change is between its proposal and its answer
  Term joined_term_ = 0;          // joined_proposed_ holds this term's MarkJoined proposals
  std::set<NodeId> joined_proposed_;
};

}  // namespace rl::raft
