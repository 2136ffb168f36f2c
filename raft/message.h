// Messages exchanged between Raft peers, and the values the core hands to its driver besides them
// (read states, errors). Plain values, encoded by raft/codec.h. Produced and consumed by
// raft/core.h; carried by whatever transport the node uses.
// Thread safety: plain values; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raft/types.h"

namespace rl::raft {

enum class MessageType : uint8_t {
  kApp = 1,            // AppendEntries (also a probe when it carries no entries)
  kAppResp = 2,        // reply to kApp or kSnap; also tells a stale leader about a newer term
  kVote = 3,           // RequestVote
  kVoteResp = 4,       //
  kPreVote = 5,        // "would you vote for me at term+1?"; changes nobody's term
  kPreVoteResp = 6,    //
  kHeartbeat = 7,      // carries min(commit, follower's match) and a read-index context
  kHeartbeatResp = 8,  //
  kSnap = 9,           // InstallSnapshot (the whole snapshot in one message)
  kTimeoutNow = 10,    // leadership transfer: "campaign now, skipping the pre-vote"
};
constexpr uint8_t kMaxMessageType = 10;

std::string_view MessageTypeName(MessageType type);

// One struct for every type, as in the paper's RPC arguments; unused fields stay zero.
//   kApp:        index/log_term = prevLogIndex/prevLogTerm, entries, commit = leaderCommit.
//   kAppResp:    accepted: index = last index now matching the leader.
//                rejected: index = the rejected prevLogIndex, reject_hint/log_term = the
//                follower's guess (index, term) of where the logs diverge (fast back-off).
//   kVote(Pre):  index/log_term = candidate's lastLogIndex/lastLogTerm; leader_transfer set
//                when the campaign was started by kTimeoutNow (voters then ignore their lease).
//   kHeartbeat:  commit; context = read-index sequence number, echoed in kHeartbeatResp.
//   kSnap:       snapshot.
struct Message {
  MessageType type = MessageType::kApp;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  Term log_term = 0;
  Index index = 0;
  Index commit = 0;
  std::vector<Entry> entries = {};
  bool reject = false;
  bool leader_transfer = false;
  Index reject_hint = 0;
  uint64_t context = 0;
  std::optional<Snapshot> snapshot = std::nullopt;
  friend bool operator==(const Message&, const Message&) = default;
};

// A linearizable read point: once the application has applied `index`, a read for `context`
// may be served from its state machine.
struct ReadState {
  Index index = 0;
  std::string context;
  friend bool operator==(const ReadState&, const ReadState&) = default;
};

// Why the core refused a request. The request had no effect.
enum class Error : uint8_t {
  kNotLeader,           // only the leader accepts this request
  kTransferInProgress,  // a leadership transfer is under way; proposals wait for it
  kConfChangePending,   // an earlier membership change is not applied yet
  kNotCommittedInTerm,  // the leader has not committed an entry of its own term yet
  kInvalidConfChange,   // the change does not apply to the current configuration
  kLearnerNotCaughtUp,  // promotion refused: the learner lags the leader's commit index
  kUncommittedLimit,    // too many uncommitted bytes (quorum probably lost)
  kSnapshotOutOfDate,   // compaction at an index that is not the applied index
  kInvalidArgument,     //
};

std::string_view ErrorName(Error error);

}  // namespace rl::raft
