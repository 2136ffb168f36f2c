#include "tests/raft/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace rl::raft {

void PrintTo(const Entry& e, std::ostream* os) {
  *os << "{" << e.index << ":" << e.term << (e.type == EntryType::kConfChange ? " conf" : "")
      << " \"" << e.data << "\"}";
}

void PrintTo(const Message& m, std::ostream* os) {
  *os << MessageTypeName(m.type) << "{" << m.from << "->" << m.to << " t" << m.term << " idx"
      << m.index << " lt" << m.log_term << " c" << m.commit << (m.reject ? " reject" : "")
      << " hint" << m.reject_hint << " ents" << m.entries.size() << "}";
}

}  // namespace rl::raft

namespace rl::raft::test {

Config TestConfig(NodeId id, bool pre_vote, bool check_quorum) {
  Config c;
  c.id = id;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.pre_vote = pre_vote;
  c.check_quorum = check_quorum;
  c.random_seed = id;
  return c;
}

MemoryLogSource Source(std::vector<NodeId> voters, std::vector<Entry> entries, HardState hs,
                       std::vector<NodeId> learners) {
  MemoryLogSource s;
  s.snapshot.meta.conf.voters = std::move(voters);
  s.snapshot.meta.conf.learners = std::move(learners);
  s.entries = std::move(entries);
  if (!s.entries.empty()) hs.term = std::max(hs.term, s.entries.back().term);
  s.hard_state = hs;
  return s;
}

Entry E(Index index, Term term, std::string data) {
  Entry e;
  e.index = index;
  e.term = term;
  e.data = std::move(data);
  return e;
}

std::vector<Entry> EntsWithTerms(std::initializer_list<Term> terms) {
  std::vector<Entry> out;
  Index i = 0;
  for (Term t : terms) out.push_back(E(++i, t));
  return out;
}

Core MustCreate(const Config& config, const LogSource& source) {
  auto core = Core::Create(config, source);
  if (!core) {
    ADD_FAILURE() << "Core::Create: " << core.error();
    std::abort();
  }
  return std::move(*core);
}

Ready TakeReady(Core& core) {
  if (!core.HasReady()) return {};
  Ready r = core.GetReady();
  core.Advance();
  return r;
}

std::vector<Message> TakeMessages(Core& core) { return TakeReady(core).messages; }

Message Msg(MessageType type, NodeId from, NodeId to, Term term) {
  return Message{.type = type, .from = from, .to = to, .term = term};
}

std::vector<Message> ElectByVotes(Core& c) {
  c.Campaign();
  for (int round = 0; round < 2 && c.role() != Role::kLeader; ++round) {
    for (const Message& m : TakeMessages(c)) {
      if (c.role() == Role::kLeader) break;
      if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
        c.Step(
            Msg(m.type == MessageType::kVote ? MessageType::kVoteResp : MessageType::kPreVoteResp,
                m.to, c.id(), m.term));
      }
    }
  }
  EXPECT_EQ(c.role(), Role::kLeader);
  return TakeMessages(c);
}

void AckAppends(Core& leader, const std::vector<Message>& msgs) {
  for (const Message& m : msgs) {
    if (m.type != MessageType::kApp) continue;
    Message r = Msg(MessageType::kAppResp, m.to, m.from, m.term);
    r.index = m.index + m.entries.size();
    leader.Step(r);
  }
}

std::vector<Message> OfType(const std::vector<Message>& msgs, MessageType type) {
  std::vector<Message> out;
  for (const Message& m : msgs) {
    if (m.type == type) out.push_back(m);
  }
  return out;
}

std::vector<Message> Node::Drain() {
  std::vector<Message> out;
  while (core->HasReady()) {
    Ready r = core->GetReady();
    if (r.snapshot) {
      // A snapshot from the leader replaces the whole log.
      disk.snapshot = *r.snapshot;
      disk.entries.clear();
    }
    if (!r.entries.empty()) {
      const Index first = r.entries.front().index;
      std::erase_if(disk.entries, [&](const Entry& e) { return e.index >= first; });
      disk.entries.insert(disk.entries.end(), r.entries.begin(), r.entries.end());
    }
    if (r.hard_state) disk.hard_state = *r.hard_state;
    applied.insert(applied.end(), r.committed_entries.begin(), r.committed_entries.end());
    reads.insert(reads.end(), r.read_states.begin(), r.read_states.end());
    out.insert(out.end(), r.messages.begin(), r.messages.end());
    core->Advance();
  }
  return out;
}

void Node::Restart() {
  core.reset();
  core.emplace(MustCreate(config, disk));
  applied.clear();
}

Network::Network(std::vector<NodeId> ids, const std::function<void(Config&)>& tweak, uint64_t seed)
    : rng_(seed) {
  for (NodeId id : ids) {
    Node n;
    n.config = TestConfig(id);
    if (tweak) tweak(n.config);
    n.disk = Source(ids);
    n.core.emplace(MustCreate(n.config, n.disk));
    nodes_.emplace(id, std::move(n));
  }
}

Network Network::Of(std::map<NodeId, Node> nodes, uint64_t seed) {
  Network net;
  net.nodes_ = std::move(nodes);
  net.rng_ = seed;
  return net;
}

std::vector<NodeId> Network::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

bool Network::Dropped(const Message& m) {
  if (ignore.contains(m.type) || (filter && filter(m))) return true;
  auto it = drop_.find({m.from, m.to});
  if (it == drop_.end()) return false;
  rng_ = rng_ * 6364136223846793005ULL + 1442695040888963407ULL;
  const double r = static_cast<double>(rng_ >> 11) / static_cast<double>(1ULL << 53);
  return r < it->second;
}

void Network::Send(std::vector<Message> messages) {
  std::vector<Message> queue = std::move(messages);
  for (size_t i = 0; i < queue.size(); ++i) {
    if (i > 100000) {
      ADD_FAILURE() << "network never went quiet";
      return;
    }
    Message m = queue[i];
    auto it = nodes_.find(m.to);
    if (it == nodes_.end() || Dropped(m)) continue;
    delivered.push_back(m);
    it->second.core->Step(m);
    auto more = it->second.Drain();
    queue.insert(queue.end(), more.begin(), more.end());
  }
}

void Network::Deliver() {
  std::vector<Message> all;
  for (auto& [id, n] : nodes_) {
    auto more = n.Drain();
    all.insert(all.end(), more.begin(), more.end());
  }
  Send(std::move(all));
}

void Network::Campaign(NodeId id) {
  core(id).Campaign();
  Deliver();
}

void Network::Tick(NodeId id, int ticks) {
  for (int i = 0; i < ticks; ++i) {
    core(id).Tick();
    Deliver();
  }
}

void Network::TickAll(int ticks) {
  for (int i = 0; i < ticks; ++i) {
    for (auto& [id, n] : nodes_) n.core->Tick();
    Deliver();
  }
}

NodeId Network::Leader() {
  NodeId best = kNoNode;
  Term best_term = 0;
  for (auto& [id, n] : nodes_) {
    if (n.core->role() == Role::kLeader && n.core->term() >= best_term) {
      best = id;
      best_term = n.core->term();
    }
  }
  return best;
}

std::expected<Index, Error> Network::Propose(NodeId id, std::string data) {
  auto r = core(id).Propose(std::move(data));
  Deliver();
  return r;
}

void Network::Cut(NodeId a, NodeId b) {
  drop_[{a, b}] = 1.0;
  drop_[{b, a}] = 1.0;
}

void Network::Drop(NodeId from, NodeId to, double probability) { drop_[{from, to}] = probability; }

void Network::Isolate(NodeId id) {
  for (const auto& [other, n] : nodes_) {
    if (other != id) Cut(id, other);
  }
}

void Network::Recover() { drop_.clear(); }

}  // namespace rl::raft::test
