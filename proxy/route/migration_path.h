// The data path of a pool during a ring change (PREPARE, MIGRATING): a request whose keys move is
// served by the migration engine's plan (migration::KeyRouter + ExecutePlan) over a per-worker
// migration::RespBackend, instead of the zero-copy forward; keys that do not move keep the fast
// path. Transactions and blocking commands are refused while a change is under way. Published by
// the control loop's migration driver (host/migration_driver.h) through Proxy::PublishMigration.
// Thread safety: one per PoolRouter, on its worker thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/migration/key_router.h"
#include "proxy/migration/plan_executor.h"
#include "proxy/migration/resp_backend.h"

namespace rl::proxy {

class ClientConn;
class PoolRouter;
struct CommandInfo;
struct Request;

// What a worker needs to route a pool during a change: the rules of its phase and how to reach
// every server of both rings. Immutable; shared by every worker.
struct MigrationRoute {
  migration::KeyRouter router;
  std::vector<migration::ServerAddress> servers;
  uint64_t target_epoch = 0;
};

// The one place for the text a client sees when a transaction or blocking command is refused.
inline constexpr std::string_view kMigrationSessionError =
    "TRYAGAIN MULTI/EXEC and blocking commands on keys that move are refused while pool '{}' "
    "migrates keys to epoch {}; retry once INFO ringleader shows it stable";

class MigrationPath {
 public:
  explicit MigrationPath(PoolRouter* pool);
  ~MigrationPath();
  MigrationPath(const MigrationPath&) = delete;
  MigrationPath& operator=(const MigrationPath&) = delete;

  // The route from now on (nullptr: no change under way). Held requests are re-routed.
  // `ack` is released once every plan started under an earlier route has finished (at once
  // when none runs): the drain a phase change waits for (a plan that already moved its key
  // must not write the target after a reverse change moved it back).
  void Set(std::shared_ptr<const MigrationRoute> route, std::shared_ptr<void> ack = nullptr);
  bool active() const { return route_ != nullptr; }
  // Closes the connections (the worker's shutdown); plans still running never answer.
  void Shutdown();

  // Takes `r` when one of its keys moves (true): `client` pauses until the plan's reply is in,
  // so its later requests run after it. false: the caller routes it as usual.
  bool Take(ClientConn* client, Request* r, const CommandInfo& info,
            std::span<const std::string_view> argv, std::span<const uint32_t> keys);
  // The refusal for a transaction or blocking command during a change (MULTI always; a blocking
  // command when one of its keys moves), or empty.
  std::string SessionRefusal(const CommandInfo& info, std::span<const std::string_view> argv,
                             std::span<const uint32_t> keys) const;

 private:
  struct Pending;
  void Run(std::shared_ptr<Pending> p);
  void Finish(std::shared_ptr<Pending> p, std::string bytes);
  void EnsureBackend();

  PoolRouter* pool_;
  std::shared_ptr<const MigrationRoute> route_;
  std::unique_ptr<migration::RespBackend> backend_;
  std::unique_ptr<migration::UvClock> clock_;
  size_t running_ = 0;                         // plans in ExecutePlan
  std::vector<std::shared_ptr<void>> drains_;  // acks waiting for running_ to reach 0
  std::shared_ptr<bool> alive_;
};

}  // namespace rl::proxy
