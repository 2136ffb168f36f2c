#include "raft/message.h"

namespace rl::raft {

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kApp:
      return "App";
    case MessageType::kAppResp:
      return "AppResp";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResp:
      return "VoteResp";
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResp:
      return "PreVoteResp";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResp:
      return "HeartbeatResp";
    case MessageType::kSnap:
      return "Snap";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
  }
  return "Unknown";
}

std::string_view ErrorName(Error error) {
  switch (error) {
    case Error::kNotLeader:
      return "not leader";
    case Error::kTransferInProgress:
      return "leadership transfer in progress";
    case Error::kConfChangePending:
      return "a membership change is pending";
    case Error::kNotCommittedInTerm:
      return "leader has not committed an entry in its term";
    case Error::kInvalidConfChange:
      return "invalid membership change";
    case Error::kLearnerNotCaughtUp:
      return "learner has not caught up";
    case Error::kUncommittedLimit:
      return "too many uncommitted bytes";
    case Error::kSnapshotOutOfDate:
      return "snapshot index is not the applied index";
    case Error::kInvalidArgument:
      return "invalid argument";
  }
  return "unknown error";
}

}  // namespace rl::raft
