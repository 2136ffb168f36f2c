// Online key migration of a standalone process: RINGLEADER RELOAD of a change that moves keys
// begins it here, and the driver walks the phases on the control loop: PREPARE (every worker
// acknowledges the migration rules), MIGRATING (the background Migrator over a RespBackend),
// CLEANUP (the new topology published) and STABLE(E+1); ABORT is the reverse change. Also
// RINGLEADER MIGRATION STATUS|PAUSE|RESUME|ABORT and the INFO ringleader rl_pool_<name>_migration*
// fields. In a cluster the phases must be Raft entries: not built yet, RELOAD refuses there.
// Thread safety: everything on the control loop's thread, except InfoFields() (any thread).
#pragma once

#include <uv.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/host/reload_plan.h"
#include "proxy/migration/key_router.h"
#include "proxy/migration/migrator.h"
#include "proxy/migration/resp_backend.h"
#include "proxy/migration/state.h"

namespace rl::proxy {

class Proxy;
class Topology;
struct MigrationRoute;

class MigrationDriver {
 public:
  // `proxy` and `loop` (the control loop's) outlive the driver.
  MigrationDriver(Proxy* proxy, uv_loop_t* loop, const conf::RingleaderSettings& settings);
  ~MigrationDriver();
  MigrationDriver(const MigrationDriver&) = delete;
  MigrationDriver& operator=(const MigrationDriver&) = delete;

  // A served pool: INFO shows it stable until a change begins. Before the workers start.
  void AddPool(const std::string& name);
  // Begins the change `plan` describes (REQUIRES: plan.MovesKeys()), computed from the served
  // epoch (compare-and-set). On success the line RELOAD answers with; the change then goes on by
  // itself (watch INFO ringleader). Refused while another change is under way.
  std::expected<std::string, std::string> Start(const PoolPlan& plan);
  // RINGLEADER MIGRATION STATUS|PAUSE|RESUME|ABORT; `done` gets the RESP reply once, on the loop.
  void Call(const std::vector<std::string>& argv, bool admin,
            std::move_only_function<void(std::string)> done);
  // rl_pool_<name>_migration (stable or the phase), _keys_moved, _keys_scanned, _bytes_moved,
  // _started_at (unix seconds; 0: never), one line each with "\r\n", for every served pool (the
  // last change's counts once it is over). Any thread.
  std::string InfoFields() const;
  // Stops the migrator and closes the connections (the control loop's quit).
  void Close();

 private:
  struct Change;

  // The change `c` at `generation` is still the one under way (not aborted, not closed).
  bool Live(const Change* c, uint64_t generation) const;
  void Prepare();
  void OnPrepared();
  void RunMigrator(migration::Checkpoint from);
  void OnMigrated(migration::Result<migration::Checkpoint> result);
  void Cleanup();
  void Abort(std::move_only_function<void(std::string)> done);
  void StartReverse();
  std::string Status() const;
  void UpdateInfo();
  std::shared_ptr<const MigrationRoute> Route(migration::Phase phase) const;

  Proxy* proxy_;
  uv_loop_t* loop_;
  migration::MigratorOptions options_;
  std::unique_ptr<Change> change_;  // the change under way, or the last one
  bool closed_ = false;

  struct Info {
    std::string phase = "stable";
    uint64_t keys_moved = 0;
    uint64_t keys_scanned = 0;
    uint64_t bytes_moved = 0;
    uint64_t started_at = 0;
  };
  mutable std::mutex info_mu_;
  std::map<std::string, Info> info_;  // by pool name
};

}  // namespace rl::proxy
