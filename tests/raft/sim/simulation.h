// The Simulation class behind RunSimulation (sim_cluster.h): the event loop, nodes, network and
// disk pipeline (sim_cluster.cc) and the faults, clients and operator (sim_chaos.cc).
// Private to the simulator. Thread safety: none.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "raft/core.h"
#include "raft/splitmix64.h"
#include "tests/raft/sim/sim_checker.h"
#include "tests/raft/sim/sim_cluster.h"
#include "tests/raft/sim/sim_storage.h"

namespace rl::raft::sim {

using Time = uint64_t;
constexpr Time kTick = 100;  // simulated time units per Raft tick

// The one source of randomness (raft/splitmix64.h); everything derives from the seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : mix_(seed) {}
  uint64_t Next() { return mix_.Next(); }
  uint64_t Below(uint64_t n) { return mix_.Below(n); }
  bool Percent(uint64_t p) { return Below(100) < p; }

 private:
  SplitMix64 mix_;
};

struct SimNode {
  NodeId id = kNoNode;
  Config config;
  std::unique_ptr<NodeStorage> storage;
  std::optional<Core> core;  // empty while down
  uint64_t incarnation = 0;
  bool busy = false;      // a Ready is being written
  Term durable_term = 0;  // of the hard state on its disk (as of the last completed write)
  Ready in_flight;
  Index sm_index = 0;  // the state machine: index applied and a digest of everything applied
  uint64_t sm_digest = 0;
  Index compact_every = 0;
  bool retired = false;  // shut down for good (removed from the cluster)
  // The operator proposed its removal at (removal_index, removal_term); removal_committed once
  // some node applied that entry.
  Index removal_index = 0;
  Term removal_term = 0;
  bool removal_committed = false;
};

struct Client {
  enum class State : uint8_t { kIdle, kWriting, kReading };
  State state = State::kIdle;
  Time started = 0;
  NodeId node = kNoNode;
  uint64_t incarnation = 0;
  Index index = 0;  // writing: where the proposal went
  Term term = 0;
  std::string data = {};
  std::string context = {};  // reading
  Index min_index = 0;       // every write acknowledged before the read began is at or below this
  Index read_index = 0;
};

enum class EventKind : uint8_t { kTick, kDeliver, kDiskDone, kChaos, kClient, kRestart, kHeal };

struct Event {
  Time at = 0;
  uint64_t seq = 0;
  EventKind kind = EventKind::kTick;
  NodeId node = kNoNode;
  uint64_t incarnation = 0;
  int client = 0;
  NodeId from = kNoNode;
  std::string bytes = {};
};

struct EventLater {
  bool operator()(const Event& a, const Event& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options);
  SimResult Run();

 private:
  // sim_cluster.cc: engine.
  void Schedule(Event e);
  void Dispatch(const Event& e);
  SimNode& AddNode(NodeId id, const MemoryLogSource& initial);
  void StartNode(SimNode& n);
  void CrashNode(SimNode& n);
  void NodeDied(SimNode& n);
  // What a driver does when a peer's connection closes: every live node is told (LeaderLost).
  void SawClose(NodeId gone);
  // Fails the run on a storage error; true if the write completed, false if the node died.
  bool StorageOk(SimNode& n, const NodeStorage::Result& result);
  void Pump(SimNode& n);
  void Complete(SimNode& n);
  void SendMessage(const Message& m);
  void Deliver(const Event& e);
  void ApplyCommitted(SimNode& n, const std::vector<Entry>& entries);
  void ServeReads(SimNode& n);
  void MaybeCompact(SimNode& n);
  void CheckInvariants();
  SimNode* FindLeader();
  bool LivenessDone();
  void Trace(const std::string& line);

  // sim_adversary.cc: schedules aimed at known bugs (off unless SimOptions::adversaries).
  void DrawAdversaries();
  bool Isolated(NodeId id) const;
  void Isolate(NodeId id, Time from, Time until, const char* why);
  void OnBecameLeader(SimNode& n);
  void OnAppRespDelivered(SimNode& leader, const Message& m);
  Time DiskDelay(SimNode& n);
  bool ShrinkMembership();
  void PowerCycleAll();

  // sim_chaos.cc: faults, clients, the operator.
  void Chaos();
  void Operator(SimNode& leader);
  void ClientStep(int index);
  void Heal();
  Config NodeConfig(NodeId id);

  SimOptions options_;
  Rng rng_;
  Time now_ = 0;
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, EventLater> queue_;
  std::map<NodeId, SimNode> nodes_;
  std::vector<Client> clients_;
  Checker checker_;
  SimResult result_;
  std::deque<std::string> trace_;

  // The cluster-wide configuration drawn for this seed (each node gets its own random_seed).
  Config base_config_;
  NodeId next_id_ = 1;
  int max_nodes_ = 0;
  uint64_t membership_pct_ = 12;  // share of chaos events that are membership changes
  bool file_storage_ = false;     // nodes run raft/storage's FileStorage on a simulated disk

  // Adversaries, drawn from their own generator so that a seed with all of them off runs the
  // same schedule as before they existed (sim_adversary.cc says what each does).
  Rng adv_;
  bool fig8_ = false;              // isolate a leader once a follower acked only older entries
  bool slow_leader_disk_ = false;  // the leader's disk takes ticks, not a fraction of one
  bool shrink_ = false;            // the operator mostly removes: single-voter configurations
  bool split_vote_ = false;        // at the end of the faults, every node restarts in lockstep
  bool align_ticks_ = false;       // nodes started now tick in phase
  struct Isolation {
    Time from = 0, until = 0;
  };
  std::map<NodeId, Isolation> isolated_;

  // Network faults.
  bool faults_on_ = true;
  std::set<std::pair<NodeId, NodeId>> blocked_;  // (from, to)
  uint64_t drop_pct_ = 0;
  uint64_t dup_pct_ = 0;
  Time delay_max_ = 30;
  uint64_t spike_pct_ = 0;

  // Clients.
  uint64_t write_seq_ = 0;
  uint64_t read_seq_ = 0;
  Index max_acked_index_ = 0;

  // Liveness phase.
  Time fault_end_ = 0;
  Time liveness_end_ = 0;
  std::string marker_;
  Time marker_at_ = 0;
  Index marker_index_ = 0;  // where the marker was applied (0: not yet)
};

}  // namespace rl::raft::sim
