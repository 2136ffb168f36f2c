// Raft's vocabulary types, shared by the pure core (raft/core*), durable storage
// (raft/storage*) and the node that drives them. Plain values; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rl::raft {

using NodeId = uint64_t;  // 0 means "none"
using Term = uint64_t;
using Index = uint64_t;

constexpr NodeId kNoNode = 0;

enum class EntryType : uint8_t {
  kNormal = 0,      // application data (may be empty: the leader's no-op)
  kConfChange = 1,  // data is an encoded ConfChange
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;
  friend bool operator==(const Entry&, const Entry&) = default;
};

// What must be durable before a node answers anyone: current_term, voted_for, commit_index.
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  Index commit = 0;
  friend bool operator==(const HardState&, const HardState&) = default;
};

struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  friend bool operator==(const ConfState&, const ConfState&) = default;
};

struct SnapshotMeta {
  Index index = 0;
  Term term = 0;
  ConfState conf;
  friend bool operator==(const SnapshotMeta&, const SnapshotMeta&) = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

}  // namespace rl::raft
