// What happens to the simulated cluster: network and node faults, clients that propose and read,
// an operator that changes membership and transfers leadership, and the end of the faults after
// which the cluster must make progress (liveness).
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "raft/conf_change.h"
#include "tests/raft/sim/simulation.h"

namespace rl::raft::sim {

Config Simulation::NodeConfig(NodeId id) {
  if (id != kNoNode) {
    Config c = base_config_;
    c.id = id;
    return c;
  }
  // Drawn once per seed, so seeds also explore timeouts, flow-control limits and the
  // PreVote/CheckQuorum switches (safety must hold with them off too).
  Config c;
  c.election_ticks = 5 + static_cast<int>(rng_.Below(11));
  c.heartbeat_ticks = 1 + static_cast<int>(rng_.Below(2));
  c.pre_vote = rng_.Percent(85);
  c.check_quorum = rng_.Percent(85);
  c.max_inflight_msgs = std::array<size_t, 4>{1, 2, 4, 256}[rng_.Below(4)];
  c.max_msg_bytes = std::array<uint64_t, 3>{8, 64, 1 << 20}[rng_.Below(3)];
  c.max_uncommitted_bytes = std::array<uint64_t, 3>{0, 64, 1 << 20}[rng_.Below(3)];
  c.max_committed_bytes_per_ready = std::array<uint64_t, 2>{8, 1 << 20}[rng_.Below(2)];
  // Used only with SimOptions::leader_lost; no draw, so the seeds keep their schedules.
  c.lost_leader_ticks = c.election_ticks / 2;
  membership_pct_ = std::array<uint64_t, 3>{12, 12, 40}[rng_.Below(3)];
  file_storage_ = rng_.Percent(options_.file_storage_pct);
  return c;
}

void Simulation::Chaos() {
  if (!faults_on_) return;
  Schedule({.at = now_ + 1 + rng_.Below(8 * kTick), .kind = EventKind::kChaos});
  std::vector<NodeId> live, all;
  for (auto& [id, n] : nodes_) {
    if (n.retired) continue;
    all.push_back(id);
    if (n.core) live.push_back(id);
  }
  auto pick = [&](const std::vector<NodeId>& from) { return from[rng_.Below(from.size())]; };
  // Some seeds churn membership and leadership much harder than others.
  if (rng_.Percent(membership_pct_)) {
    if (SimNode* leader = FindLeader()) Operator(*leader);
    return;
  }
  const uint64_t r = rng_.Below(100);
  if (r < 12) {
    // Symmetric partition into two random sides.
    blocked_.clear();
    std::set<NodeId> side;
    for (NodeId id : all) {
      if (rng_.Percent(50)) side.insert(id);
    }
    for (NodeId a : all) {
      for (NodeId b : all) {
        if (side.contains(a) != side.contains(b)) blocked_.insert({a, b});
      }
    }
    Trace(fmt::format("partition: {} nodes on one side", side.size()));
  } else if (r < 20) {
    const NodeId a = pick(all), b = pick(all);
    if (a != b) blocked_.insert({a, b});
    Trace(fmt::format("one-way cut {}->{}", a, b));
    // And b saw its connection to a close (a flapping link, while a may well be alive).
    if (options_.leader_lost && a != b && nodes_.at(b).core) nodes_.at(b).core->LeaderLost(a);
  } else if (r < 28) {
    // Partial partition: one node loses some of its peers (in both directions).
    const NodeId x = pick(all);
    for (NodeId y : all) {
      if (y != x && rng_.Percent(50)) {
        blocked_.insert({x, y});
        blocked_.insert({y, x});
      }
    }
    Trace(fmt::format("partial partition around {}", x));
  } else if (r < 42) {
    blocked_.clear();
    Trace("network healed");
  } else if (r < 50) {
    drop_pct_ = std::array<uint64_t, 6>{0, 0, 5, 10, 25, 50}[rng_.Below(6)];
  } else if (r < 55) {
    dup_pct_ = std::array<uint64_t, 4>{0, 0, 5, 20}[rng_.Below(4)];
  } else if (r < 60) {
    delay_max_ = std::array<Time, 3>{30, 30, 300}[rng_.Below(3)];
    spike_pct_ = std::array<uint64_t, 3>{0, 1, 3}[rng_.Below(3)];
  } else if (r < 72) {
    if (live.empty()) return;
    // Half the time crash a node in the middle of a disk write, the moment that matters most.
    std::vector<NodeId> writing;
    for (NodeId id : live) {
      if (nodes_.at(id).busy) writing.push_back(id);
    }
    SimNode& n = nodes_.at(!writing.empty() && rng_.Percent(50) ? pick(writing) : pick(live));
    if (file_storage_ && rng_.Percent(40)) {
      // Cut the power at one of the next few write points of the real storage code.
      n.storage->CrashLater(1 + rng_.Below(12), rng_.Next());
      return;
    }
    CrashNode(n);
    Schedule({.at = now_ + kTick + rng_.Below(30 * kTick),
              .kind = EventKind::kRestart,
              .node = n.id,
              .incarnation = n.incarnation});
  } else if (r < 76) {
    for (auto& [id, n] : nodes_) {
      if (!n.core && !n.retired) StartNode(n);
    }
  } else {
    SimNode* leader = FindLeader();
    if (leader == nullptr) return;
    const std::vector<NodeId>& voters = leader->core->conf().voters;
    if (voters.empty()) return;
    const NodeId to = voters[rng_.Below(voters.size())];
    if (leader->core->TransferLeader(to)) {
      ++result_.transfers;
      Trace(fmt::format("transfer leadership {} -> {}", leader->id, to));
      Pump(*leader);
    }
  }
}

void Simulation::Operator(SimNode& leader) {
  const ConfState conf = leader.core->conf();
  ConfChange change;
  const uint64_t r = ShrinkMembership() ? 3 : rng_.Below(4);
  if (r <= 1) {
    if (nodes_.size() >= static_cast<size_t>(max_nodes_)) return;
    // A new server starts empty and learns everything (configuration included) from the leader.
    SimNode& n = AddNode(next_id_++, MemoryLogSource{});
    StartNode(n);
    change = {r == 0 ? ConfChangeType::kAddLearner : ConfChangeType::kAddVoter, n.id};
  } else if (r == 2) {
    if (conf.learners.empty()) return;
    change = {ConfChangeType::kPromoteLearner, conf.learners[rng_.Below(conf.learners.size())]};
  } else {
    std::vector<NodeId> members = conf.voters;
    members.insert(members.end(), conf.learners.begin(), conf.learners.end());
    if (members.empty()) return;
    change = {ConfChangeType::kRemoveNode, members[rng_.Below(members.size())]};
  }
  auto result = leader.core->ProposeConfChange(change);
  Trace(fmt::format("operator: {} {} on leader {}: {}", ConfChangeTypeName(change.type),
                    change.node, leader.id,
                    result ? "proposed" : std::string(ErrorName(result.error()))));
  if (!result) return;
  ++result_.conf_changes;
  if (change.type == ConfChangeType::kRemoveNode) {
    SimNode& removed = nodes_.at(change.node);
    removed.removal_index = *result;
    removed.removal_term = leader.core->term();
  }
  Pump(leader);
}

void Simulation::ClientStep(int index) {
  Client& c = clients_[index];
  if (c.state != Client::State::kIdle && now_ - c.started > 40 * kTick) {
    c.state = Client::State::kIdle;  // gave up: the write's fate is unknown, the read failed
  }
  if (!faults_on_) return;  // clients stop with the faults; liveness uses its own proposal
  Schedule({.at = now_ + 1 + rng_.Below(2 * kTick), .kind = EventKind::kClient, .client = index});
  if (c.state != Client::State::kIdle) return;
  std::vector<SimNode*> live;
  for (auto& [id, n] : nodes_) {
    if (n.core) live.push_back(&n);
  }
  if (live.empty()) return;
  SimNode* n = live[rng_.Below(live.size())];
  // Clients follow a redirect to the leader the node knows, most of the time.
  auto known = nodes_.find(n->core->leader());
  if (known != nodes_.end() && known->second.core && rng_.Percent(90)) n = &known->second;
  if (rng_.Percent(65)) {
    std::string data = fmt::format("w{}", ++write_seq_);
    auto index = n->core->Propose(data);
    if (!index) return;
    c = {.state = Client::State::kWriting,
         .started = now_,
         .node = n->id,
         .incarnation = n->incarnation,
         .index = *index,
         .term = n->core->term(),
         .data = std::move(data)};
  } else {
    std::string context = fmt::format("r{}", ++read_seq_);
    if (!n->core->ReadIndex(context)) return;
    c = {.state = Client::State::kReading,
         .started = now_,
         .node = n->id,
         .incarnation = n->incarnation,
         .context = std::move(context),
         .min_index = max_acked_index_};
  }
  Pump(*n);
}

void Simulation::Heal() {
  faults_on_ = false;
  blocked_.clear();
  drop_pct_ = dup_pct_ = spike_pct_ = 0;
  delay_max_ = 30;
  Trace("faults stop");
  for (auto& [id, n] : nodes_) n.storage->CrashLater(uint64_t{1} << 62, 0);  // disarm
  if (split_vote_) PowerCycleAll();
  for (auto& [id, n] : nodes_) {
    if (!n.core && !n.retired) StartNode(n);
  }
}

bool Simulation::LivenessDone() {
  SimNode* leader = FindLeader();
  if (leader == nullptr) return false;
  const ConfState conf = leader->core->conf();
  // An operator shuts a removed server down once a leader of the new configuration no longer
  // counts it (not while the removed node itself still leads, handing over).
  const bool member_leader = IsVoter(conf, leader->id);
  for (auto& [id, n] : nodes_) {
    if (member_leader && n.removal_committed && n.core && !IsVoter(conf, id) &&
        !IsLearner(conf, id)) {
      n.core.reset();
      n.retired = true;
      ++n.incarnation;
      Trace(fmt::format("retire removed node {}", id));
    }
  }
  const Time patience = 3 * static_cast<Time>(base_config_.election_ticks) * kTick;
  if (marker_index_ == 0 && (marker_.empty() || now_ - marker_at_ > patience)) {
    // (Re)propose the marker: a proposal made after the faults stopped must commit everywhere.
    std::string marker = fmt::format("marker{}", ++write_seq_);
    if (leader->core->Propose(marker)) {
      marker_ = std::move(marker);
      marker_at_ = now_;
      Trace(fmt::format("marker proposed on {}", leader->id));
      Pump(*leader);
    }
  }
  if (marker_index_ == 0) return false;
  // Every member's state machine has reached the marker (by applying it or a later snapshot;
  // the checker vouches that states agree index by index).
  for (const auto* ids : {&conf.voters, &conf.learners}) {
    for (NodeId id : *ids) {
      const SimNode& n = nodes_.at(id);
      if (!n.core || n.sm_index < marker_index_) return false;
    }
  }
  return true;
}

}  // namespace rl::raft::sim
