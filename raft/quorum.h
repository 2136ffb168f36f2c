// Majority arithmetic over a set of voters: the highest index a majority has matched, and the
// outcome of an election. Used by raft/core.h for commitment, elections, CheckQuorum and
// ReadIndex. Thread safety: pure functions.
#pragma once

#include <functional>
#include <map>
#include <span>

#include "raft/types.h"

namespace rl::raft {

// The number of voters that form a majority of `voter_count` (voter_count / 2 + 1).
inline size_t QuorumSize(size_t voter_count) { return voter_count / 2 + 1; }

// The largest index that at least a majority of `voters` have matched, where `match(id)` is a
// voter's match index. Returns 0 when there are no voters.
Index MajorityIndex(std::span<const NodeId> voters, const std::function<Index(NodeId)>& match);

enum class VoteResult : uint8_t { kPending, kWon, kLost };

// Tallies `votes` (node -> granted) of `voters`; votes of non-voters are ignored. kWon once a
// majority granted, kLost once a majority can no longer be reached. No voters: kLost.
VoteResult TallyVotes(std::span<const NodeId> voters, const std::map<NodeId, bool>& votes);

// True when at least a majority of `voters` satisfy `pred`.
bool HasQuorum(std::span<const NodeId> voters, const std::function<bool(NodeId)>& pred);

}  // namespace rl::raft
