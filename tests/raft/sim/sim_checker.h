// The simulator's invariant checker: an omniscient observer that, after every simulated event,
// looks at every live core and at what the nodes applied, sent and served, and records the first
// violation of Raft's safety properties (Figure 3 of the paper plus durability and reads).
// Used by sim_cluster.cc. Thread safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/core.h"

namespace rl::raft::sim {

// FNV-1a: a stable hash for entry payloads and state-machine digests.
uint64_t Fnv(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ULL);
// The state machine's digest after applying `e` on top of `digest`.
uint64_t MixEntry(uint64_t digest, const Entry& e);

struct NodeView {
  NodeId id = kNoNode;
  const Core* core = nullptr;  // null while the node is down
  // The term of the hard state the node has made durable (unset: take the core's term). A
  // leader counts for election safety only once its term is durable: until then it has sent,
  // committed and answered nothing (a Ready's effects leave only after it is durable), and a
  // crash erases it; a single voter elects itself before its first Ready.
  std::optional<Term> durable_term = std::nullopt;
};

class Checker {
 public:
  // Election safety, leader append-only, log matching, leader completeness, committed-prefix
  // agreement (state-machine safety at the log level) and commit-index monotonicity.
  void Check(const std::vector<NodeView>& nodes);

  // One vote per term per node, across restarts (catches votes not persisted before replying).
  void OnVoteGranted(NodeId voter, Term term, NodeId candidate);
  // State-machine safety: every node applies the same entry, and reaches the same state, at
  // every index.
  void OnApplied(NodeId node, const Entry& entry, uint64_t digest_after);
  void OnSnapshotInstalled(NodeId node, Index index, uint64_t digest);
  // A node restarted: per-incarnation monotonicity starts over from what its disk held.
  void OnRestart(NodeId node, Index applied);
  // Linearizable reads: the read point covers every write acknowledged before the read began.
  void OnReadServed(NodeId node, Index read_index, Index min_index, Index served_at);

  void Fail(std::string why);
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  Index max_committed() const { return committed_.empty() ? 0 : committed_.size() - 1; }
  size_t leaders_seen() const { return leaders_.size(); }

 private:
  struct Committed {
    bool known = false;
    Term term = 0;
    EntryType type = EntryType::kNormal;
    uint64_t data_hash = 0;
    Term commit_term = 0;  // the term in which it was first seen committed
  };
  struct Fingerprint {
    Index first = 0, last = 0;
    Term last_term = 0;
    uint64_t last_hash = 0;
    bool operator==(const Fingerprint&) const = default;
  };
  struct PerNode {
    Index last_commit = 0;
    Index checked_commit = 0;
    Index applied = 0;
    bool leader = false;
    Term leader_term = 0;
    Index leader_last = 0;
    uint64_t leader_last_hash = 0;
    Fingerprint fingerprint;
  };

  void RecordCommitted(NodeId node, Index index, const Entry& e, Term observer_term);
  void CheckPair(const NodeView& a, const NodeView& b);
  void CheckLeaderCompleteness(const NodeView& leader);

  std::vector<Committed> committed_;  // [0] unused
  std::vector<uint64_t> digests_;     // state-machine digest after each index; 0 = unknown
  std::map<Term, NodeId> leaders_;
  std::map<std::pair<NodeId, Term>, NodeId> votes_;
  std::map<NodeId, PerNode> nodes_;
  std::string failure_;
};

}  // namespace rl::raft::sim
