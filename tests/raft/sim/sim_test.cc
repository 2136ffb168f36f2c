// Runs the deterministic cluster simulator over many seeds (3- and 5-node clusters).
//   RL_RAFT_SEED=S        replay one seed (with an event trace on failure); RL_TEST_SEED=S, the
//                         project-wide seed variable, does the same

//   RL_RAFT_SEEDS=N       how many seeds (default: 3000 + 2000; 200 + 120 under sanitizers)
//   RL_RAFT_SEED_START=S  first seed of the range (default 1); scripts/raft-soak splits ranges
//   RL_RAFT_FILE_STORAGE_PCT=P  share of seeds run on raft/storage's FileStorage (default 25)
//   RL_RAFT_MAX_FAILURES=N      stop after N failing seeds (default 10)
//   RL_RAFT_TRACE=1             print every event of every seed run
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "tests/raft/sim/sim_cluster.h"

namespace rl::raft::sim {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::optional<uint64_t> EnvNumber(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::strtoull(v, nullptr, 10);
}

void RunSeeds(int nodes, uint64_t default_count, const char* test_name, bool leader_lost = false) {
  uint64_t first = EnvNumber("RL_RAFT_SEED_START").value_or(1);
  uint64_t count = EnvNumber("RL_RAFT_SEEDS").value_or(default_count);
  if (auto one =
          EnvNumber("RL_RAFT_SEED") ? EnvNumber("RL_RAFT_SEED") : EnvNumber("RL_TEST_SEED")) {
    first = *one;
    count = 1;
  }
  SimResult total;
  int max_liveness = 0;
  std::vector<std::string> failures;
  uint64_t file_seeds = 0;
  uint64_t worst_seed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SimOptions options;
    options.seed = seed;
    options.nodes = nodes;
    options.leader_lost = leader_lost;
    if (auto pct = EnvNumber("RL_RAFT_FILE_STORAGE_PCT")) options.file_storage_pct = *pct;
    options.trace = EnvNumber("RL_RAFT_TRACE").value_or(0) != 0;
    SimResult r = RunSimulation(options);
    if (options.trace && r.ok) {
      for (const std::string& line : r.trace) std::cerr << line << "\n";
    }
    if (!r.ok) {
      if (failures.empty()) {
        options.trace = true;  // deterministic: the same run again, this time with its events
        SimResult traced = RunSimulation(options);
        const size_t show = EnvNumber("RL_RAFT_TRACE_LINES").value_or(80);
        const size_t from = traced.trace.size() > show ? traced.trace.size() - show : 0;
        std::cerr << "--- last events of seed " << seed << " ---\n";
        for (size_t i = from; i < traced.trace.size(); ++i) std::cerr << traced.trace[i] << "\n";
      }
      failures.push_back("seed " + std::to_string(seed) + " (" + std::to_string(nodes) +
                         " nodes) failed: " + r.failure +
                         "\nreplay: RL_TEST_SEED=" + std::to_string(seed) +
                         " build/tests/raft/raft_sim_test --gtest_filter=RaftSimTest." + test_name +
                         " (or RL_RAFT_SEED=" + std::to_string(seed) + ")");
      std::cerr << failures.back() << "\n";
      // Keep going to show how common it is, up to a point.
      if (failures.size() >= EnvNumber("RL_RAFT_MAX_FAILURES").value_or(10)) break;
    }
    total.events += r.events;
    total.messages_delivered += r.messages_delivered;
    total.writes_acked += r.writes_acked;
    total.reads_served += r.reads_served;
    total.crashes += r.crashes;
    total.conf_changes += r.conf_changes;
    total.transfers += r.transfers;
    total.snapshots_installed += r.snapshots_installed;
    total.leaders += r.leaders;
    file_seeds += r.file_storage;
    if (r.liveness_ticks_used > max_liveness) {
      max_liveness = r.liveness_ticks_used;
      worst_seed = seed;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << nodes << " nodes: " << count << " seeds from " << first << " in " << secs << " s ("
            << (secs > 0 ? count / secs : 0) << " seeds/s); events " << total.events
            << ", messages " << total.messages_delivered << ", writes acked " << total.writes_acked
            << ", reads " << total.reads_served << ", crashes " << total.crashes
            << ", conf changes " << total.conf_changes << ", transfers " << total.transfers
            << ", snapshots installed " << total.snapshots_installed << ", leaders "
            << total.leaders << ", worst liveness " << max_liveness << " ticks (seed " << worst_seed
            << "); " << file_seeds << " seeds on FileStorage\n";
  if (!failures.empty()) {
    std::string all;
    for (const std::string& f : failures) all += f + "\n";
    FAIL() << failures.size() << " failing seed(s):\n" << all;
  }
  if (count >= 20) {
    // The schedules must actually exercise what they claim to.
    EXPECT_GT(total.writes_acked, 0u);
    EXPECT_GT(total.reads_served, 0u);
    EXPECT_GT(total.crashes, 0u);
    EXPECT_GT(total.conf_changes, 0u);
    EXPECT_GT(total.transfers, 0u);
    EXPECT_GT(total.snapshots_installed, 0u);
  }
}

// Seeds that once failed, run whatever range the other tests cover.
//   3-node 10776: a single voter elected by kTimeoutNow crashed before its term was durable and
//   voted for another node in the same term after restarting (not a second leader: see
//   SimCheckerTest.LeadershipThatNeverLeftMemoryIsNoSecondLeader).
TEST(RaftSimTest, PinnedSeeds) {
  struct Pinned {
    int nodes;
    uint64_t seed;
  };
  for (const Pinned& p : {Pinned{3, 10776}}) {
    SimOptions options;
    options.seed = p.seed;
    options.nodes = p.nodes;
    options.adversaries = false;  // the schedule it failed under
    SimResult r = RunSimulation(options);
    EXPECT_TRUE(r.ok) << p.nodes << "-node seed " << p.seed << ": " << r.failure;
  }
}

TEST(RaftSimTest, ThreeNodes) { RunSeeds(3, kSanitized ? 200 : 3000, "ThreeNodes"); }

TEST(RaftSimTest, FiveNodes) { RunSeeds(5, kSanitized ? 120 : 2000, "FiveNodes"); }

// The same schedules with the fast failover on (SimOptions::leader_lost): crashes and flapping
// links make followers forget their leader and campaign early; every invariant still holds.
TEST(RaftSimTest, ThreeNodesFastFailover) {
  RunSeeds(3, kSanitized ? 100 : 1000, "ThreeNodesFastFailover", /*leader_lost=*/true);
}

TEST(RaftSimTest, FiveNodesFastFailover) {
  RunSeeds(5, kSanitized ? 60 : 600, "FiveNodesFastFailover", /*leader_lost=*/true);
}

}  // namespace
}  // namespace rl::raft::sim
