#include "raft/conf_change.h"

#include <fmt/format.h>

namespace rl::raft {

std::string_view ConfChangeTypeName(ConfChangeType type) {
  switch (type) {
    case ConfChangeType::kAddVoter:
      return "add-voter";
    case ConfChangeType::kAddLearner:
      return "add-learner";
    case ConfChangeType::kPromoteLearner:
      return "promote";
    case ConfChangeType::kRemoveNode:
      return "remove";
  }
  return "unknown";
}

namespace {

void Erase(std::vector<NodeId>& ids, NodeId id) { std::erase(ids, id); }

void Insert(std::vector<NodeId>& ids, NodeId id) {
  ids.insert(std::ranges::upper_bound(ids, id), id);
}

}  // namespace

std::expected<ConfState, std::string> ApplyConfChange(const ConfState& conf,
                                                      const ConfChange& change) {
  if (change.node == kNoNode) return std::unexpected("node id 0 is reserved");
  const bool voter = IsVoter(conf, change.node);
  const bool learner = IsLearner(conf, change.node);
  ConfState next = conf;
  std::ranges::sort(next.voters);
  std::ranges::sort(next.learners);
  switch (change.type) {
    case ConfChangeType::kAddVoter:
      if (voter || learner) {
        return std::unexpected(fmt::format("node {} is already a member", change.node));
      }
      Insert(next.voters, change.node);
      return next;
    case ConfChangeType::kAddLearner:
      if (voter || learner) {
        return std::unexpected(fmt::format("node {} is already a member", change.node));
      }
      Insert(next.learners, change.node);
      return next;
    case ConfChangeType::kPromoteLearner:
      if (!learner) return std::unexpected(fmt::format("node {} is not a learner", change.node));
      Erase(next.learners, change.node);
      Insert(next.voters, change.node);
      return next;
    case ConfChangeType::kRemoveNode:
      if (!voter && !learner) {
        return std::unexpected(fmt::format("node {} is not a member", change.node));
      }
      if (voter && next.voters.size() == 1) {
        return std::unexpected("cannot remove the last voter");
      }
      Erase(next.voters, change.node);
      Erase(next.learners, change.node);
      return next;
  }
  return std::unexpected("unknown change type");
}

}  // namespace rl::raft
