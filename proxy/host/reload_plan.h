// The reload plan: what `RINGLEADER RELOAD` would change, pool by pool, between what is served
// (the committed topology in a cluster, the current snapshot standalone) and the configuration
// file as it reads now: servers added, removed, reweighted, renamed or moved to a new address
// under the same name; settings that apply at once and those that need a restart; and the share
// of the hash space (ring::Diff) that moves from each server to each other one. A pure function
// of its inputs, used by host/reloader.h and by tests. Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "conf/config.h"

namespace rl::proxy {

// A pool as it is served now, and the epoch of that topology.
struct ServedPool {
  conf::Pool pool;
  uint64_t epoch = 0;
};

// Keys whose owner changes from `from` to `to` (ring identities).
struct KeyMove {
  std::string from;
  std::string to;
  double share = 0;         // of the pool's hash space, 0..1
  double source_share = 0;  // of `from`'s own hash space: the fraction of its keys that move
};

struct PoolPlan {
  std::string name;
  uint64_t epoch = 0;  // the served epoch this plan was computed from
  conf::Pool served;
  // What a reload applies: the file's pool, with every restart-only setting kept as served.
  conf::Pool apply;
  std::vector<std::string> servers;   // "added r4 (127.0.0.1:7004) weight 1", ...
  std::vector<std::string> settings;  // "timeout: 2000 ms -> 500 ms", applied at once
  std::vector<std::string> restart;   // "listen: ... -> ...", not applied: needs a restart
  std::vector<KeyMove> moves;         // largest share first
  double moved_share = 0;             // sum of moves' shares
  // Servers (names, addresses, weights), hash, distribution or hash tag differ: in a cluster
  // this is what a SetPool proposal replicates.
  bool placement_changed = false;

  bool MovesKeys() const { return !moves.empty(); }
  // Anything a reload would apply (restart-only changes excluded).
  bool Applies() const { return placement_changed || !settings.empty(); }
};

struct ReloadPlan {
  std::string path;
  std::vector<PoolPlan> pools;       // pools both served and in the file, in file order
  std::vector<std::string> restart;  // pools added or removed, `ringleader:` section changes

  bool MovesKeys() const;
  bool Applies() const;
};

// Compares `file` (the file as it reads now) with what is served: `started` is the
// configuration the process started with (for the `ringleader:` section and the pool list) and
// `served` the pools as served now. Pure: no I/O.
ReloadPlan PlanReload(const conf::Config& started, std::span<const ServedPool> served,
                      const conf::Config& file);

// DBSIZE of a pool's servers, by ring identity; a server missing from the map is unknown.
using ServerKeyCounts = std::map<std::string, uint64_t, std::less<>>;

// The plan as readable lines. `counts` (pool name -> server -> DBSIZE) gives the estimate of
// keys that move: DBSIZE of the source times the fraction of its hash space that moves.
std::vector<std::string> RenderPlan(const ReloadPlan& plan,
                                    const std::map<std::string, ServerKeyCounts>& counts);
// The same without the estimates (the shares only): what RELOAD echoes, having asked no DBSIZE.
std::vector<std::string> RenderPlan(const ReloadPlan& plan);

// "r1 -> r3 12.50%, r2 -> r3 12.50%": a pool's moves in one line, for error messages.
std::string MovesSummary(const PoolPlan& pool);

}  // namespace rl::proxy
