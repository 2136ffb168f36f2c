// Helpers for the core's unit tests: cores started from in-memory state, a node wrapper that
// honours the Ready contract against an in-memory "disk" (so it can restart), and a network in
// the style of etcd-io/raft's tests that delivers messages until the cluster is quiet, with
// drop/cut/isolate. Single-threaded; deterministic.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "raft/core.h"

namespace rl::raft {
// Readable gtest output for the core's values.
void PrintTo(const Entry& e, std::ostream* os);
void PrintTo(const Message& m, std::ostream* os);
}  // namespace rl::raft

namespace rl::raft::test {

// Paper-style defaults: election 10 ticks, heartbeat 1, and PreVote/CheckQuorum as given.
Config TestConfig(NodeId id, bool pre_vote = true, bool check_quorum = true);

// A durable state with a configuration of `voters` (and `learners`) at index 0, then `entries`.
MemoryLogSource Source(std::vector<NodeId> voters, std::vector<Entry> entries = {},
                       HardState hs = {}, std::vector<NodeId> learners = {});

Entry E(Index index, Term term, std::string data = "");
// Entries at indexes 1, 2, ... with the given terms.
std::vector<Entry> EntsWithTerms(std::initializer_list<Term> terms);

Core MustCreate(const Config& config, const LogSource& source);

// Takes the Ready (if any), advances, and returns its messages.
std::vector<Message> TakeMessages(Core& core);
// Like TakeMessages but returns the whole Ready.
Ready TakeReady(Core& core);

Message Msg(MessageType type, NodeId from, NodeId to, Term term);
// Campaigns and feeds vote grants until `core` leads; returns the leader's first messages.
std::vector<Message> ElectByVotes(Core& core);
// Acknowledges every kApp in `msgs` as its recipient would if it accepted it.
void AckAppends(Core& leader, const std::vector<Message>& msgs);
std::vector<Message> OfType(const std::vector<Message>& msgs, MessageType type);

struct Node {
  Config config;
  MemoryLogSource disk;
  std::optional<Core> core;
  std::vector<Entry> applied;  // every committed entry handed to the application, in order
  std::vector<ReadState> reads;

  // Persists every Ready (snapshot, entries, hard state) to `disk`, records committed entries
  // and read states, advances, and returns the messages to send.
  std::vector<Message> Drain();
  // Rebuilds the core from `disk` (what a crash-and-restart leaves).
  void Restart();
};

class Network {
 public:
  explicit Network(std::vector<NodeId> ids, const std::function<void(Config&)>& tweak = nullptr,
                   uint64_t seed = 1);
  // A network over nodes with prepared state.
  static Network Of(std::map<NodeId, Node> nodes, uint64_t seed = 1);

  Node& node(NodeId id) { return nodes_.at(id); }
  Core& core(NodeId id) { return *nodes_.at(id).core; }
  std::vector<NodeId> ids() const;

  // Drains every node and delivers messages (dropping what the filters say) until quiet.
  void Deliver();
  // Delivers `messages` then everything they cause.
  void Send(std::vector<Message> messages);

  void Campaign(NodeId id);
  void Tick(NodeId id, int ticks = 1);
  // Ticks every node `ticks` times (delivering after each round).
  void TickAll(int ticks);
  // The leader with the highest term, or kNoNode.
  NodeId Leader();
  std::expected<Index, Error> Propose(NodeId id, std::string data);

  void Cut(NodeId a, NodeId b);  // both directions
  void Drop(NodeId from, NodeId to, double probability);
  void Isolate(NodeId id);
  void Recover();  // removes every drop rule
  // Messages of these types are dropped while set.
  std::set<MessageType> ignore;
  // When set, messages for which it returns true are dropped.
  std::function<bool(const Message&)> filter;
  // Every message delivered, in order (for assertions).
  std::vector<Message> delivered;

 private:
  Network() = default;
  bool Dropped(const Message& m);
  std::map<NodeId, Node> nodes_;
  std::map<std::pair<NodeId, NodeId>, double> drop_;
  uint64_t rng_ = 1;
};

}  // namespace rl::raft::test
