// The replicated cluster state of a ringleader cluster: the members (id, peer address, learner or
// voter), per pool its topology (epoch, servers with name/address/weight, hash settings), and the
// last fencing token reserved for the lock service (lock/raft_token_source.h).
// Changes are Commands, encoded into Raft entries by the proposer and applied on every node from
// committed entries in log order; Snapshot()/Restore() let the node compact its log.
// Used by raft/node/node.cc (and tests). Pure: no I/O. Thread safety: one thread (the loop).
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rl::raft {

struct MemberInfo {
  uint64_t id = 0;
  std::string addr;  // "host:port" its peers reach it on
  bool learner = false;
  // The leader has heard from this member (it acknowledged the log): its data must exist
  // somewhere, so a node that comes back under this id with an empty data directory is refused.
  bool joined = false;
  bool operator==(const MemberInfo&) const = default;
};

struct PoolServer {
  std::string name;  // the ring identity
  std::string addr;  // "host:port" or a unix socket path
  uint32_t weight = 1;
  bool operator==(const PoolServer&) const = default;
};

struct PoolTopology {
  std::string name;
  uint64_t epoch = 0;  // 1 for the first committed version; +1 per change
  std::vector<PoolServer> servers;
  std::string hash;          // conf/ spelling, e.g. "fnv1a_64"
  std::string distribution;  // e.g. "ketama"
  std::string hash_tag;      // "" or two bytes
  bool operator==(const PoolTopology&) const = default;
};

struct ClusterState {
  std::map<uint64_t, MemberInfo> members;
  std::map<std::string, PoolTopology> pools;
  // The largest fencing token any member may have handed out: ReserveTokens grants the ones
  // after it. Never decreases.
  uint64_t tokens = 0;
  bool operator==(const ClusterState&) const = default;
};

// The commands. A pool change is a compare-and-set on its epoch: it applies only when the pool's
// current epoch (0: absent) equals `expected_epoch`; the stored epoch is then expected_epoch + 1.
struct PutMember {
  MemberInfo member;
};
struct RemoveMember {
  uint64_t id = 0;
};
// Sets `joined` on member `id` (refused when there is no such member).
struct MarkJoined {
  uint64_t id = 0;
};
struct SetPool {
  uint64_t expected_epoch = 0;
  PoolTopology pool;  // its epoch field is ignored on encode and set by Apply
};
struct DeletePool {
  std::string name;
  uint64_t expected_epoch = 0;
};
// Grants the `count` tokens after ClusterState::tokens (ApplyResult::value: the first), for the
// proposer alone. Refused for 0 or when the block would pass kMaxClusterToken.
struct ReserveTokens {
  uint64_t count = 0;
};
// Raises ClusterState::tokens to `past` if it is below (a lock master has seen a token above what
// the cluster would hand out). Refused above kMaxClusterToken.
struct AdvanceTokens {
  uint64_t past = 0;
};
using Command = std::variant<PutMember, RemoveMember, SetPool, DeletePool, MarkJoined,
                             ReserveTokens, AdvanceTokens>;

// The version byte says which decoder is needed: 1 for the member and pool commands and for a
// snapshot whose token counter is 0 (what a version-1 node wrote), 2 for the token commands and
// a snapshot with a counter. A decoder accepts versions 1 up to kStateVersion.
inline constexpr uint8_t kStateVersion = 2;
// The largest token (the lock scripts parse tokens as int64; lock::kMaxToken).
inline constexpr uint64_t kMaxClusterToken = (uint64_t{1} << 63) - 1;

// Version byte, type byte, then the fields (LEB128 varints, length-prefixed strings).
std::string EncodeCommand(const Command& command);
// Rejects truncated input, trailing bytes, an unknown version or type (or a type newer than its
// version), an empty pool name, a zero weight, a learner or joined flag other than 0/1, a
// hash_tag that is not 0 or 2 bytes.
std::expected<Command, std::string> DecodeCommand(std::string_view bytes);

// What applying one entry did: applied, or refused with the reason (the same on every node,
// since every node applies the same bytes to the same state).
struct ApplyResult {
  bool ok = true;
  std::string error;   // e.g. "pool 'a' is at epoch 3, not 2"
  uint64_t value = 0;  // ReserveTokens: the first token granted; otherwise 0
};

class StateMachine {
 public:
  // Applies the command in the entry at `index`. REQUIRES: index > applied_index() (aborts
  // otherwise: entries are applied once, in order). Undecodable data is refused, not applied.
  ApplyResult Apply(uint64_t index, std::string_view data);
  // Records an entry that carries no command (a no-op or a membership change of the core).
  void Skip(uint64_t index);

  // The whole state at applied_index(), encoded (version byte first).
  std::string Snapshot() const;
  // Replaces the state with a Snapshot(); on malformed input leaves the state unchanged.
  std::expected<void, std::string> Restore(std::string_view bytes);

  const ClusterState& state() const { return state_; }
  uint64_t applied_index() const { return applied_index_; }

 private:
  void Advance(uint64_t index);

  ClusterState state_;
  uint64_t applied_index_ = 0;
};

}  // namespace rl::raft
