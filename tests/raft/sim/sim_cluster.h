// A deterministic simulation of a Raft cluster: N cores on a simulated network (drop, duplicate,
// reorder, delay, symmetric/one-way/partial partitions) and simulated disks (crash with unsynced
// writes lost or the last write torn), with clients proposing and reading, an operator changing
// membership and transferring leadership, all driven by one seeded scheduler. After every event
// the invariant checker (sim_checker.h) runs; after the faults stop, liveness is required.
// Used by sim_test.cc and scripts/raft-soak. Thread safety: none (one simulation per thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rl::raft::sim {

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 3;          // initial voters
  int fault_ticks = 250;  // how long faults, clients and the operator run
  // After faults stop: a leader must be elected and a marker proposal committed and applied on
  // every member within this many ticks.
  int liveness_ticks = 200;
  bool trace = false;  // keep a log of every event (for replaying a failing seed)
  // Share of seeds (percent) whose nodes store their state with raft/storage's FileStorage on a
  // fault-injecting simulated disk instead of the simulator's own model of storage.
  int file_storage_pct = 25;
  // Schedules aimed at known bugs (the Figure 8 isolation, slow leader disks, single-voter
  // configurations, split votes), each on in a share of the seeds. Off: the schedules from before
  // they existed (pinned seeds replay those).
  bool adversaries = true;
  // The node's fast failover: a crashed node's peers are told (Core::LeaderLost, as the transport
  // does on EOF), and so is the far side of a one-way cut (a flapping link). Off by default so
  // that the seeds of the default runs (and the mutants' first catches) keep their schedules.
  bool leader_lost = false;
};

struct SimResult {
  bool ok = true;
  std::string failure;
  std::vector<std::string> trace;  // the last events, when SimOptions::trace was set
  uint64_t events = 0;
  uint64_t messages_delivered = 0;
  uint64_t writes_acked = 0;
  uint64_t reads_served = 0;
  uint64_t crashes = 0;
  uint64_t conf_changes = 0;
  uint64_t transfers = 0;
  uint64_t snapshots_installed = 0;
  uint64_t leaders = 0;  // distinct terms with a leader
  bool file_storage = false;
  uint64_t max_commit = 0;
  int liveness_ticks_used = 0;
};

SimResult RunSimulation(const SimOptions& options);

}  // namespace rl::raft::sim
