// One seeded run of the migration simulator: fake Redis servers, clients running set, register,
// delete and TTL workloads through the KeyRouter and plan executor while the migrator moves a
// ring change (killed and resumed from its last committed checkpoint, servers restarting,
// MIGRATE failing part-way), then the checker. Used by sim_test.cc.
// Thread safety: single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/migration/backend.h"

namespace rl::migration::sim {

struct SimOptions {
  uint32_t seed = 1;
  PlantedBug bug = PlantedBug::kNone;
  int clients = 4;
  uint32_t registers = 10;  // register keys (fewer: hotter keys, more races)
  uint32_t ops_per_client = 150;
  uint32_t op_error_pct = 1;
  uint32_t migrate_ioerr_pct = 5;
  int max_kills = 2;
  int max_restarts = 2;
  uint32_t abort_pct = 20;  // share of runs aborted part-way (the reverse change, epoch 3)
  bool trace = false;
};

struct SimResult {
  bool ok = true;
  std::vector<std::string> violations;  // what the checker found, one line each
  std::string summary;                  // counts, for the test log
  uint64_t keys_moved = 0;
  uint64_t big_moves = 0;
  uint64_t acked = 0;
  uint64_t failed = 0;
  int kills = 0;
  int restarts = 0;
  int migrator_runs = 0;
  bool aborted = false;
};

SimResult RunSimulation(const SimOptions& options);

}  // namespace rl::migration::sim
