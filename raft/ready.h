// What the core hands its driver (Ready) and what it reports about itself (Status).
// Produced by raft/core.h. Thread safety: plain values.
#pragma once

#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "raft/message.h"
#include "raft/progress.h"
#include "raft/types.h"

namespace rl::raft {

// One batch of work. The driver must, in this order:
//   1. persist `snapshot` (and install it into the state machine), then `entries` (replacing
//      any stored entries from entries[0].index on), then `hard_state`, and make them durable;
//      the hard state must not become durable before the entries (its commit index would then
//      point at entries a crash can lose, or at a replaced suffix that comes back);
//   2. only then send `messages` (a vote or an acknowledgment promises durable state);
//   3. apply `committed_entries` in order (and serve `read_states` once their index is applied);
//   4. call Core::Advance().
// Between GetReady() and Advance() it may keep calling Tick/Step/Propose/..., but not
// GetReady(). Two relaxations, both as in Ongaro's thesis (§10.2.1) and etcd:
//   - a Ready with no snapshot, no entries and !new_term_or_vote changes at most the commit
//     index, which Raft keeps in volatile state: it may be applied and advanced before its hard
//     state is durable (written behind, in order with later writes);
//   - when !new_term_or_vote, the leader's own kApp/kHeartbeat/kSnap/kTimeoutNow promise nothing
//     about its disk and may be sent before the write (the leader counts itself towards a
//     commit only for what Advance() says is durable).
struct Ready {
  std::optional<HardState> hard_state = std::nullopt;  // set when it changed since last Ready
  std::optional<Snapshot> snapshot = std::nullopt;     // a snapshot received from the leader
  std::vector<Entry> entries = {};
  std::vector<Message> messages = {};
  std::vector<Entry> committed_entries = {};
  std::vector<ReadState> read_states = {};
  // hard_state carries a term or vote that is not durable yet (what votes and acks promise).
  bool new_term_or_vote = false;

  bool Empty() const {
    return !hard_state && !snapshot && entries.empty() && messages.empty() &&
           committed_entries.empty() && read_states.empty();
  }
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view RoleName(Role role);

struct PeerStatus {
  Index match = 0;
  Index next = 0;
  ProgressState state = ProgressState::kProbe;
  bool recent_active = false;
  bool is_learner = false;
  size_t inflight = 0;
};

struct Status {
  NodeId id = kNoNode;
  Term term = 0;
  NodeId vote = kNoNode;
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  Index commit = 0;
  Index applied = 0;
  Index last_index = 0;
  Index snapshot_index = 0;
  ConfState conf;
  NodeId transferee = kNoNode;
  std::map<NodeId, PeerStatus> progress;  // the leader's view of every member (itself included)
};

}  // namespace rl::raft
