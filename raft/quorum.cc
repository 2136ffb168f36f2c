#include "raft/quorum.h"

#include <algorithm>
#include <vector>

namespace rl::raft {

Index MajorityIndex(std::span<const NodeId> voters, const std::function<Index(NodeId)>& match) {
  if (voters.empty()) return 0;
  std::vector<Index> matched;
  matched.reserve(voters.size());
  for (NodeId id : voters) matched.push_back(match(id));
  // Sorted descending, the element at position quorum-1 is matched by a quorum of voters
  // (itself and everyone before it) and no larger index is.
  std::ranges::sort(matched, std::greater<>());
  return matched[QuorumSize(voters.size()) - 1];
}

VoteResult TallyVotes(std::span<const NodeId> voters, const std::map<NodeId, bool>& votes) {
  if (voters.empty()) return VoteResult::kLost;
  size_t granted = 0;
  size_t rejected = 0;
  for (NodeId id : voters) {
    auto it = votes.find(id);
    if (it == votes.end()) continue;
    (it->second ? granted : rejected)++;
  }
  const size_t quorum = QuorumSize(voters.size());
  if (granted >= quorum) return VoteResult::kWon;
  if (voters.size() - rejected < quorum) return VoteResult::kLost;
  return VoteResult::kPending;
}

bool HasQuorum(std::span<const NodeId> voters, const std::function<bool(NodeId)>& pred) {
  if (voters.empty()) return false;
  size_t count = std::ranges::count_if(voters, pred);
  return count >= QuorumSize(voters.size());
}

}  // namespace rl::raft
