// The migration simulator over many seeds, and its self-test: planted bugs must be caught.
//   RL_TEST_SEED=S          replay one seed (printed with every failure)
//   RL_MIGRATION_SEEDS=N    how many seeds (default 300; 60 under sanitizers)
#include "tests/migration/sim.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "tests/support/test_seed.h"

namespace rl::migration::sim {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr uint32_t kDefaultSeeds = 60;
#else
constexpr uint32_t kDefaultSeeds = 300;
#endif

uint32_t SeedCount(uint32_t fallback) {
  const char* v = std::getenv("RL_MIGRATION_SEEDS");
  return v != nullptr && *v != '\0' ? static_cast<uint32_t>(std::strtoul(v, nullptr, 10))
                                    : fallback;
}

// Seeds TestSeed(), TestSeed()+1, ...: a failure names the seed that replays it alone.
void RunSeeds(SimOptions base, uint32_t count) {
  uint32_t first = rl::testing::TestSeed();
  if (rl::testing::TestSeedIsReplay()) count = 1;
  int failures = 0;
  uint64_t moved = 0, acked = 0, kills = 0, aborts = 0;
  for (uint32_t i = 0; i < count && failures < 5; ++i) {
    SimOptions o = base;
    o.seed = first + i;
    o.trace = std::getenv("RL_MIGRATION_TRACE") != nullptr;
    SimResult r = RunSimulation(o);
    moved += r.keys_moved;
    acked += r.acked;
    kills += r.kills;
    aborts += r.aborted ? 1 : 0;
    if (!r.ok) {
      ++failures;
      std::string lines;
      for (const std::string& v : r.violations) lines += "  " + v + "\n";
      ADD_FAILURE() << "RL_TEST_SEED=" << o.seed << " " << r.summary << "\n" << lines;
    } else if (i == 0) {
      std::cout << r.summary << "\n";
    }
  }
  std::cout << count << " seeds from " << first << ": " << moved << " keys moved, " << acked
            << " client ops acknowledged, " << kills << " migrator kills, " << aborts
            << " aborted\n";
}

TEST(MigrationSim, ManySeedsNoViolation) { RunSeeds(SimOptions{}, SeedCount(kDefaultSeeds)); }

TEST(MigrationSim, NoFaultsNoViolation) {
  SimOptions o;
  o.op_error_pct = 0;
  o.migrate_ioerr_pct = 0;
  o.max_kills = 0;
  o.max_restarts = 0;
  RunSeeds(o, SeedCount(kDefaultSeeds) / 3);
}

TEST(MigrationSim, HeavyFaultsNoViolation) {
  SimOptions o;
  o.op_error_pct = 5;
  o.migrate_ioerr_pct = 25;
  o.max_kills = 5;
  o.max_restarts = 4;
  RunSeeds(o, SeedCount(kDefaultSeeds) / 3);
}

// A planted bug must make the checker fail for some seed among the first `limit`.
int SeedsUntilCaught(PlantedBug bug, uint32_t migrate_ioerr_pct, uint32_t limit,
                     uint32_t registers = 10, int clients = 4) {
  uint32_t first = rl::testing::TestSeed();
  for (uint32_t i = 0; i < limit; ++i) {
    SimOptions o;
    o.seed = first + i;
    o.bug = bug;
    o.migrate_ioerr_pct = migrate_ioerr_pct;
    o.registers = registers;
    o.clients = clients;
    SimResult r = RunSimulation(o);
    if (!r.ok) {
      std::cout << "caught at RL_TEST_SEED=" << o.seed << ": " << r.violations.front() << "\n";
      return static_cast<int>(i);
    }
  }
  return -1;
}

TEST(MigrationSim, CatchesIoErrTakenForAbsent) {
  EXPECT_GE(SeedsUntilCaught(PlantedBug::kIoErrAsAbsent, 30, 100), 0);
}

TEST(MigrationSim, CatchesDeleteOfSourceOnly) {
  EXPECT_GE(SeedsUntilCaught(PlantedBug::kDeleteSourceOnly, 5, 100), 0);
}

TEST(MigrationSim, CatchesReadOfSourceOnly) {
  EXPECT_GE(SeedsUntilCaught(PlantedBug::kReadSourceOnly, 5, 100), 0);
}

// The race this order prevents is narrow (a read that checks the target, then the source after
// the key moved): more clients on fewer keys, more seeds.
TEST(MigrationSim, CatchesReadOfTargetFirst) {
  EXPECT_GE(SeedsUntilCaught(PlantedBug::kReadTargetFirst, 5, 300, 4, 8), 0);
}

TEST(MigrationSim, CatchesTtlLostInAChunkedMove) {
  EXPECT_GE(SeedsUntilCaught(PlantedBug::kInstallWithoutTtl, 5, 100), 0);
}

TEST(MigrationSim, CatchesMigratorTrustingIoErr) {
  EXPECT_GE(SeedsUntilCaught(PlantedBug::kTrustBatchIoErr, 30, 100), 0);
}

}  // namespace
}  // namespace rl::migration::sim
