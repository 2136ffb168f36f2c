// Single-server membership changes and their effect on a ConfState. Used by raft/core.h (which
// proposes and applies them) and by anything that replays a log's configuration.
// Thread safety: pure functions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace rl::raft {

enum class ConfChangeType : uint8_t {
  kAddVoter = 1,
  kAddLearner = 2,
  kPromoteLearner = 3,
  kRemoveNode = 4,
};
constexpr uint8_t kMaxConfChangeType = 4;

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node = kNoNode;
  friend bool operator==(const ConfChange&, const ConfChange&) = default;
};

std::string_view ConfChangeTypeName(ConfChangeType type);

inline bool IsVoter(const ConfState& conf, NodeId id) {
  return std::ranges::find(conf.voters, id) != conf.voters.end();
}
inline bool IsLearner(const ConfState& conf, NodeId id) {
  return std::ranges::find(conf.learners, id) != conf.learners.end();
}

// Returns `conf` with `change` applied (voters and learners kept sorted). On failure (adding a
// member twice, promoting a non-learner, removing a stranger or the last voter, node 0) returns
// a description and `conf` is unchanged. Every node applies the same changes in log order, so a
// refused change is refused everywhere.
std::expected<ConfState, std::string> ApplyConfChange(const ConfState& conf,
                                                      const ConfChange& change);

}  // namespace rl::raft
