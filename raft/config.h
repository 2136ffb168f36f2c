// Parameters of one Raft core. Times are in ticks: the driver calls Core::Tick() at a fixed
// interval (the node uses ~100 ms), so election_ticks=10 means ~1 s. Used by raft/core.h.
// Thread safety: plain value.
#pragma once

#include <cstddef>
#include <cstdint>

#include "raft/types.h"

namespace rl::raft {

struct Config {
  NodeId id = kNoNode;
  // A follower that hears nothing from a leader for a randomized timeout in
  // [election_ticks, 2 * election_ticks) starts an election. REQUIRES: > heartbeat_ticks.
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // After LeaderLost() (the driver saw the leader's process go: its connection closed), a
  // follower campaigns, through a pre-vote, after a randomized delay in [1, lost_leader_ticks]
  // instead of a whole election timeout. 0 = it only forgets the leader. Needs pre_vote.
  int lost_leader_ticks = 0;
  // §9.6 of Ongaro's thesis: a node first asks whether it could win, without raising its term,
  // so a partitioned node that rejoins does not depose a healthy leader.
  bool pre_vote = true;
  // A leader that has not heard from a quorum for election_ticks steps down; a follower that
  // heard from a live leader within election_ticks refuses to vote for anyone else.
  bool check_quorum = true;
  // Flow control: at most this many unacknowledged kApp per peer, each with at most
  // max_msg_bytes of entry data (but always at least one entry).
  size_t max_inflight_msgs = 64;
  uint64_t max_msg_bytes = 1 << 20;
  // Proposals are refused while the leader's uncommitted entries hold more than this many bytes
  // (bounds memory when quorum is lost). 0 = no bound.
  uint64_t max_uncommitted_bytes = 64 << 20;
  // At most this many bytes of committed entries per Ready (but at least one entry).
  uint64_t max_committed_bytes_per_ready = 64 << 20;
  // Seeds the generator behind the randomized election timeout; give each node its own.
  uint64_t random_seed = 0;
};

}  // namespace rl::raft
