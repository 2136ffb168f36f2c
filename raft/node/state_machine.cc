#include "raft/node/state_machine.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"
#include "raft/invariant.h"

namespace rl::raft {
namespace {

enum class Type : uint8_t {
  kPutMember = 1,
  kRemoveMember = 2,
  kSetPool = 3,
  kDeletePool = 4,
  kMarkJoined = 5,
  kReserveTokens = 6,  // version 2
  kAdvanceTokens = 7,  // version 2
};
constexpr uint8_t kFirstVersion = 1;
constexpr uint8_t kSnapshotType = 0x53;  // 'S': a whole-state snapshot, not a command

class Writer {
 public:
  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      Byte(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    Byte(static_cast<uint8_t>(v));
  }
  void String(std::string_view s) {
    Varint(s.size());
    out_.append(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads untrusted bytes; the first failure sticks and every later read returns a zero value.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint8_t Byte() {
    if (pos_ >= in_.size()) return Fail("truncated"), 0;
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && ok(); shift += 7) {
      uint8_t b = Byte();
      if (shift == 63 && b > 1) return Fail("varint overflows 64 bits"), 0;
      if (shift > 0 && b == 0) return Fail("non-canonical varint"), 0;  // one encoding each
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail("varint too long"), 0;
  }
  std::string String() {
    uint64_t n = Varint();
    if (!ok()) return {};
    if (n > in_.size() - pos_) return Fail("string longer than the input"), std::string();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A count of items each at least `min_bytes` long: bounded by what is left.
  uint64_t Count(size_t min_bytes) {
    uint64_t n = Varint();
    if (ok() && n > (in_.size() - pos_) / min_bytes) return Fail("count exceeds the input"), 0;
    return n;
  }
  void Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }
  bool ok() const { return error_.empty(); }
  bool at_end() const { return pos_ == in_.size(); }
  const std::string& error() const { return error_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  std::string error_;
};

void PutMemberInfo(Writer& w, const MemberInfo& m) {
  w.Varint(m.id);
  w.String(m.addr);
  w.Byte(m.learner ? 1 : 0);
  w.Byte(m.joined ? 1 : 0);
}

MemberInfo GetMemberInfo(Reader& r) {
  MemberInfo m;
  m.id = r.Varint();
  m.addr = r.String();
  uint8_t learner = r.Byte();
  uint8_t joined = r.Byte();
  if (learner > 1) r.Fail("learner flag is not 0 or 1");
  if (joined > 1) r.Fail("joined flag is not 0 or 1");
  if (r.ok() && m.id == 0) r.Fail("member id 0");
  m.learner = learner == 1;
  m.joined = joined == 1;
  return m;
}

void PutPool(Writer& w, const PoolTopology& p, bool with_epoch) {
  w.String(p.name);
  if (with_epoch) w.Varint(p.epoch);
  w.String(p.hash);
  w.String(p.distribution);
  w.String(p.hash_tag);
  w.Varint(p.servers.size());
  for (const PoolServer& s : p.servers) {
    w.String(s.name);
    w.String(s.addr);
    w.Varint(s.weight);
  }
}

PoolTopology GetPool(Reader& r, bool with_epoch) {
  PoolTopology p;
  p.name = r.String();
  if (with_epoch) p.epoch = r.Varint();
  p.hash = r.String();
  p.distribution = r.String();
  p.hash_tag = r.String();
  uint64_t n = r.Count(3);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    PoolServer s;
    s.name = r.String();
    s.addr = r.String();
    uint64_t weight = r.Varint();
    if (r.ok() && (weight == 0 || weight > UINT32_MAX)) r.Fail("server weight out of range");
    s.weight = static_cast<uint32_t>(weight);
    p.servers.push_back(std::move(s));
  }
  if (r.ok() && p.name.empty()) r.Fail("empty pool name");
  if (r.ok() && !p.hash_tag.empty() && p.hash_tag.size() != 2) r.Fail("hash_tag not 2 bytes");
  return p;
}

ApplyResult ApplyTokens(ClusterState& state, const ReserveTokens& c) {
  if (c.count == 0) return {false, "reserve of 0 tokens"};
  if (c.count > kMaxClusterToken - state.tokens) {
    return {false, fmt::format("reserve of {} tokens after {} passes the largest token", c.count,
                               state.tokens)};
  }
  uint64_t first = state.tokens + 1;
  state.tokens += c.count;
  return {true, "", first};
}

ApplyResult ApplyTokens(ClusterState& state, const AdvanceTokens& c) {
  if (c.past > kMaxClusterToken) return {false, fmt::format("token {} is too large", c.past)};
  state.tokens = std::max(state.tokens, c.past);
  return {};
}

std::string EpochConflict(const std::string& name, uint64_t current, uint64_t expected) {
  return fmt::format("pool '{}' is at epoch {}, not {}", name, current, expected);
}

}  // namespace

std::string EncodeCommand(const Command& command) {
  Writer w;
  bool tokens = std::holds_alternative<ReserveTokens>(command) ||
                std::holds_alternative<AdvanceTokens>(command);
  w.Byte(tokens ? kStateVersion : kFirstVersion);
  if (const auto* c = std::get_if<PutMember>(&command)) {
    w.Byte(static_cast<uint8_t>(Type::kPutMember));
    PutMemberInfo(w, c->member);
  } else if (const auto* c = std::get_if<RemoveMember>(&command)) {
    w.Byte(static_cast<uint8_t>(Type::kRemoveMember));
    w.Varint(c->id);
  } else if (const auto* c = std::get_if<SetPool>(&command)) {
    w.Byte(static_cast<uint8_t>(Type::kSetPool));
    w.Varint(c->expected_epoch);
    PutPool(w, c->pool, /*with_epoch=*/false);
  } else if (const auto* c = std::get_if<DeletePool>(&command)) {
    w.Byte(static_cast<uint8_t>(Type::kDeletePool));
    w.String(c->name);
    w.Varint(c->expected_epoch);
  } else if (const auto* c = std::get_if<MarkJoined>(&command)) {
    w.Byte(static_cast<uint8_t>(Type::kMarkJoined));
    w.Varint(c->id);
  } else if (const auto* c = std::get_if<ReserveTokens>(&command)) {
    w.Byte(static_cast<uint8_t>(Type::kReserveTokens));
    w.Varint(c->count);
  } else if (const auto* c = std::get_if<AdvanceTokens>(&command)) {
    w.Byte(static_cast<uint8_t>(Type::kAdvanceTokens));
    w.Varint(c->past);
  }
  return w.Take();
}

std::expected<Command, std::string> DecodeCommand(std::string_view bytes) {
  Reader r(bytes);
  uint8_t version = r.Byte();
  if (r.ok() && (version < kFirstVersion || version > kStateVersion)) {
    return std::unexpected(fmt::format("unknown command version {}", version));
  }
  uint8_t type = r.Byte();
  Command command;
  switch (static_cast<Type>(type)) {
    case Type::kPutMember:
      command = PutMember{GetMemberInfo(r)};
      break;
    case Type::kRemoveMember:
      command = RemoveMember{r.Varint()};
      break;
    case Type::kSetPool: {
      SetPool c;
      c.expected_epoch = r.Varint();
      c.pool = GetPool(r, /*with_epoch=*/false);
      command = std::move(c);
      break;
    }
    case Type::kDeletePool: {
      DeletePool c;
      c.name = r.String();
      c.expected_epoch = r.Varint();
      command = std::move(c);
      break;
    }
    case Type::kMarkJoined:
      command = MarkJoined{r.Varint()};
      break;
    case Type::kReserveTokens:
    case Type::kAdvanceTokens:
      if (version < 2) {
        r.Fail(fmt::format("command type {} needs version 2", type));
      } else if (static_cast<Type>(type) == Type::kReserveTokens) {
        command = ReserveTokens{r.Varint()};
      } else {
        command = AdvanceTokens{r.Varint()};
      }
      break;
    default:
      r.Fail(fmt::format("unknown command type {}", type));
  }
  if (r.ok() && !r.at_end()) r.Fail("trailing bytes");
  if (!r.ok()) return std::unexpected("malformed command: " + r.error());
  return command;
}

void StateMachine::Advance(uint64_t index) {
  RL_RAFT_CHECK(index > applied_index_, "entry {} applied after {}", index, applied_index_);
  applied_index_ = index;
}

void StateMachine::Skip(uint64_t index) { Advance(index); }

ApplyResult StateMachine::Apply(uint64_t index, std::string_view data) {
  Advance(index);
  auto command = DecodeCommand(data);
  if (!command) return {false, command.error()};
  if (auto* c = std::get_if<PutMember>(&*command)) {
    state_.members[c->member.id] = c->member;
    return {};
  }
  if (auto* c = std::get_if<RemoveMember>(&*command)) {
    if (state_.members.erase(c->id) == 0) return {false, fmt::format("no member {}", c->id)};
    return {};
  }
  if (auto* c = std::get_if<SetPool>(&*command)) {
    auto it = state_.pools.find(c->pool.name);
    uint64_t current = it == state_.pools.end() ? 0 : it->second.epoch;
    if (current != c->expected_epoch) {
      return {false, EpochConflict(c->pool.name, current, c->expected_epoch)};
    }
    PoolTopology pool = std::move(c->pool);
    pool.epoch = current + 1;
    state_.pools[pool.name] = std::move(pool);
    return {};
  }
  if (auto* c = std::get_if<ReserveTokens>(&*command)) return ApplyTokens(state_, *c);
  if (auto* c = std::get_if<AdvanceTokens>(&*command)) return ApplyTokens(state_, *c);
  if (auto* c = std::get_if<MarkJoined>(&*command)) {
    auto it = state_.members.find(c->id);
    if (it == state_.members.end()) return {false, fmt::format("no member {}", c->id)};
    it->second.joined = true;
    return {};
  }
  auto& c = std::get<DeletePool>(*command);
  auto it = state_.pools.find(c.name);
  if (it == state_.pools.end()) return {false, fmt::format("no pool '{}'", c.name)};
  if (it->second.epoch != c.expected_epoch) {
    return {false, EpochConflict(c.name, it->second.epoch, c.expected_epoch)};
  }
  state_.pools.erase(it);
  return {};
}

// Version 1 (no token counter) while the counter is 0, so that a cluster that never minted a
// token writes what a version-1 node reads; version 2 appends the counter.
std::string StateMachine::Snapshot() const {
  Writer w;
  w.Byte(state_.tokens == 0 ? kFirstVersion : kStateVersion);
  w.Byte(kSnapshotType);
  w.Varint(applied_index_);
  w.Varint(state_.members.size());
  for (const auto& [id, m] : state_.members) PutMemberInfo(w, m);
  w.Varint(state_.pools.size());
  for (const auto& [name, p] : state_.pools) PutPool(w, p, /*with_epoch=*/true);
  if (state_.tokens != 0) w.Varint(state_.tokens);
  return w.Take();
}

std::expected<void, std::string> StateMachine::Restore(std::string_view bytes) {
  Reader r(bytes);
  uint8_t version = r.Byte();
  if (r.ok() && (version < kFirstVersion || version > kStateVersion)) {
    r.Fail("unknown snapshot version");
  }
  if (r.Byte() != kSnapshotType && r.ok()) r.Fail("not a snapshot");
  ClusterState state;
  uint64_t applied = r.Varint();
  uint64_t members = r.Count(4);
  for (uint64_t i = 0; i < members && r.ok(); ++i) {
    MemberInfo m = GetMemberInfo(r);
    // Ascending, as Snapshot() writes them: one encoding per state.
    if (r.ok() && !state.members.empty() && m.id <= state.members.rbegin()->first) {
      r.Fail("members not in ascending order");
    }
    state.members.emplace(m.id, m);
  }
  uint64_t pools = r.Count(6);
  for (uint64_t i = 0; i < pools && r.ok(); ++i) {
    PoolTopology p = GetPool(r, /*with_epoch=*/true);
    if (r.ok() && p.epoch == 0) r.Fail("pool at epoch 0");
    if (r.ok() && !state.pools.empty() && p.name <= state.pools.rbegin()->first) {
      r.Fail("pools not in ascending order");
    }
    state.pools.emplace(p.name, p);
  }
  if (version >= 2 && r.ok()) {
    state.tokens = r.Varint();
    // One encoding per state: a zero counter is written as version 1.
    if (r.ok() && (state.tokens == 0 || state.tokens > kMaxClusterToken)) {
      r.Fail("token counter out of range");
    }
  }
  if (r.ok() && !r.at_end()) r.Fail("trailing bytes");
  if (!r.ok()) return std::unexpected("malformed snapshot: " + r.error());
  state_ = std::move(state);
  applied_index_ = applied;
  return {};
}

}  // namespace rl::raft
