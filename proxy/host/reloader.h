// `RINGLEADER RELOAD [DRYRUN]`: re-reads the configuration file the process started with (the
// same checks as at start), plans the change against what is served (host/reload_plan.h) and
// either prints the plan (DRYRUN, with DBSIZE-based key estimates) or applies it: settings and
// server addresses at once, a topology change as one compare-and-set "epoch E+1 from E" (a
// SetPool proposal in a cluster, a direct Publish standalone). A change that moves keys is an
// online key migration (host/migration_driver.h) in a standalone process; a cluster refuses it
// (StartKeyMigration) until the migration's phases are Raft entries.
// Thread safety: everything on the control loop's thread.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/host/reload_plan.h"

namespace rl::proxy {

class ClusterHost;
class MigrationDriver;
class Proxy;

// Where a change that moves keys goes: the standalone process's migration driver (null in a
// cluster, which refuses with a message naming the moved share: migration runs only standalone
// for now, and moving the ring without migrating would lose those keys to readers, as twemproxy
// does). On success the line for RELOAD's reply. REQUIRES: plan.MovesKeys().
std::expected<std::string, std::string> StartKeyMigration(const PoolPlan& plan,
                                                          MigrationDriver* driver);

class Reloader {
 public:
  // `started` is the configuration the process serves (its path is the file re-read); `cluster`
  // is null for a standalone process. All three outlive the Reloader.
  Reloader(Proxy* proxy, const conf::Config* started, ClusterHost* cluster);
  ~Reloader();

  // argv: RINGLEADER RELOAD [DRYRUN]. `done` gets the RESP reply exactly once, on the loop.
  void Call(std::vector<std::string> argv, bool admin,
            std::move_only_function<void(std::string reply)> done);
  // Answers every dry run still waiting for DBSIZE with an error (on the loop's quit).
  void Close();
  // The standalone process's migration driver (before the workers start).
  void set_migration(MigrationDriver* driver) { migration_ = driver; }

 private:
  struct Probe;
  using Done = std::move_only_function<void(std::string)>;

  std::expected<ReloadPlan, std::string> Plan() const;
  void DryRun(ReloadPlan plan, Done done);
  void OnCount(uint64_t probe, const std::string& pool, const std::string& server,
               std::expected<uint64_t, std::string> count);
  void Apply(ReloadPlan plan, Done done);
  void ApplyStandalone(ReloadPlan plan, Done done);
  void ApplyCluster(std::shared_ptr<ReloadPlan> plan, size_t next,
                    std::shared_ptr<std::vector<std::string>> applied, Done done);

  Proxy* proxy_;
  const conf::Config* started_;
  ClusterHost* cluster_;
  MigrationDriver* migration_ = nullptr;
  uint64_t next_probe_ = 1;
  std::map<uint64_t, std::unique_ptr<Probe>> probes_;
  bool closed_ = false;
};

}  // namespace rl::proxy
