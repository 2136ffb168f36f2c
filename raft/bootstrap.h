// The durable state a brand-new cluster's initial members write before their first start, as
// etcd-io/raft does: one committed kAddVoter entry per member at term 1. Every initial member
// writes the same entries, so their logs agree; a node that joins later starts empty and learns
// the configuration by replaying the leader's log (or from a snapshot).
// Thread safety: pure function.
#pragma once

#include <span>

#include "raft/log_source.h"

namespace rl::raft {

// REQUIRES: `voters` non-empty, distinct, none zero.
MemoryLogSource BootstrapState(std::span<const NodeId> voters);

}  // namespace rl::raft
