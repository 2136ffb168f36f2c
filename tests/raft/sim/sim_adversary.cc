// Schedules aimed at the bugs that random faults reach too rarely, each switched on in a share of
// the seeds (SimOptions::adversaries). They draw from their own generator (adv_), so a seed with
// all of them off runs exactly the schedule it ran before they existed.
//
//  - Figure 8 (fig8_): a new leader is often cut off soon after its election, while it holds
//    proposals of its own term that nobody else has (so some node holds entries of an
//    intermediate term); appends are cut into one-entry messages (max_msg_bytes 8), so a follower
//    catching up acknowledges entries of earlier terms before it receives the leader's no-op; and
//    the moment a follower acknowledges such an entry, the leader is isolated for a few election
//    timeouts. The follower then misses the no-op for a whole election timeout and can vote for
//    a node holding a conflicting entry of an intermediate term: a leader that committed the
//    acknowledged entry by counting replicas loses a committed entry (leader completeness).
//  - Slow leader disk (slow_leader_disk_): the leader's writes take ticks, so proposals, acks
//    and Advance interleave with an outstanding write.
//  - Shrinking membership (shrink_): the operator mostly removes, so configurations with a single
//    voter (which commits on its own disk alone) last; with a slow leader disk.
//  - Split votes (split_vote_): when the faults stop every node loses power at once and restarts
//    ticking in phase, so election timers that are not randomised expire together for ever.
#include <fmt/format.h>

#include "tests/raft/sim/simulation.h"

namespace rl::raft::sim {

void Simulation::DrawAdversaries() {
  if (!options_.adversaries) return;
  fig8_ = adv_.Percent(30);
  shrink_ = adv_.Percent(20);
  slow_leader_disk_ = shrink_ || adv_.Percent(25);
  split_vote_ = adv_.Percent(20);
  if (fig8_) base_config_.max_msg_bytes = 8;  // one client entry per append
  Trace(fmt::format("adversaries: figure8 {} slow-leader-disk {} shrink {} split-vote {}", fig8_,
                    slow_leader_disk_, shrink_, split_vote_));
}

bool Simulation::Isolated(NodeId id) const {
  auto it = isolated_.find(id);
  return it != isolated_.end() && it->second.from <= now_ && now_ < it->second.until;
}

void Simulation::Isolate(NodeId id, Time from, Time until, const char* why) {
  isolated_[id] = {from, until};
  Trace(fmt::format("isolate node {} from t={} to t={}: {}", id, from, until, why));
}

void Simulation::OnBecameLeader(SimNode& n) {
  if (!fig8_ || !faults_on_ || !adv_.Percent(40)) return;
  const Time timeout = static_cast<Time>(base_config_.election_ticks) * kTick;
  const Time from = now_ + kTick / 2 + adv_.Below(2 * kTick);
  Isolate(n.id, from, from + (2 + adv_.Below(3)) * timeout, "new leader, before it replicates");
}

void Simulation::OnAppRespDelivered(SimNode& leader, const Message& m) {
  if (!fig8_ || !faults_on_ || !leader.core || leader.core->role() != Role::kLeader) return;
  const Core& core = *leader.core;
  const auto term = core.log().TermAt(m.index);
  // The follower now holds an entry of an earlier term the leader may not commit by counting.
  if (!term || *term >= core.term() || !adv_.Percent(50)) return;
  const Time timeout = static_cast<Time>(base_config_.election_ticks) * kTick;
  Isolate(leader.id, now_, now_ + (2 + adv_.Below(3)) * timeout,
          "a follower acked an entry of an earlier term only");
}

Time Simulation::DiskDelay(SimNode& n) {
  Time delay = 1 + rng_.Below(20);
  if (slow_leader_disk_ && n.core->role() == Role::kLeader) delay += kTick * (1 + adv_.Below(4));
  return delay;
}

bool Simulation::ShrinkMembership() { return shrink_ && adv_.Percent(60); }

void Simulation::PowerCycleAll() {
  Trace("power cut on every node; they restart ticking in phase");
  for (auto& [id, n] : nodes_) {
    if (n.core) CrashNode(n);
  }
  align_ticks_ = true;  // Heal restarts them all at this instant
}

}  // namespace rl::raft::sim
