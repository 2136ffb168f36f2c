// The phases of a standalone ring change, one step per acknowledgment:
//
//   Start: BeginChange(E -> E+1) ──publish PREPARE route──▶ every worker holds moving keys
//   ack ──second round (drain)──▶ ack: MarkFenced (see below), Advance ──publish MIGRATING──▶
//   ack: Migrator from InitialCheckpoint ──verified──▶ Advance (CLEANUP): Publish(topology E+1)
//   ──▶ ack: publish no route ──▶ ack: Advance (STABLE(E+1)).
//
// The epoch fence is skipped: a standalone process has no other proxy that could still write
// with epoch-E routing once its own workers acknowledged PREPARE, so MarkFenced follows the
// drain directly. A cluster must fence at the Redis servers (per-epoch ACL users) first.
// ABORT (PREPARE or MIGRATING) stops the migrator and starts the reverse change E+2 (the E
// topology again) at PREPARE; during its PREPARE the forward run's big value in flight is
// settled (Migrator::Settle with the forward rings), then keys move back the same way.
#include "proxy/host/migration_driver.h"

#include <fmt/format.h>

#include <chrono>

#include "proxy/base/ascii.h"
#include "proxy/base/log.h"
#include "proxy/host/server.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/migration_path.h"
#include "proxy/route/topology.h"

namespace rl::proxy {

using migration::Phase;

struct MigrationDriver::Change {
  std::string pool;
  std::shared_ptr<const Topology> source;  // served when the change began
  std::shared_ptr<const Topology> target;  // what keys move to (E+1, or E+2 = E's for an abort)
  migration::MigrationState state;
  migration::RingView from;
  migration::RingView to;
  std::vector<migration::ServerAddress> servers;
  std::unique_ptr<migration::RespBackend> backend;
  std::unique_ptr<migration::UvClock> clock;
  std::unique_ptr<migration::Migrator> migrator;
  migration::Checkpoint checkpoint;  // the last committed
  bool running = false;              // the migrator runs (or is paused)
  bool paused = false;
  bool finished = false;  // STABLE again
  std::string error;      // why the migrator stopped (RESUME restarts it)
  uint64_t started_at = 0;
  // The forward change's rings and checkpoint, kept during an abort's PREPARE for Settle.
  std::optional<migration::RingView> forward_from, forward_to;
  // Bumped by ABORT: acknowledgments and completions of the run before it are ignored.
  uint64_t generation = 0;
};

namespace {

std::string ErrorReply(std::string_view text) {
  std::string out;
  AppendError(&out, text);
  return out;
}

migration::RingView View(const std::shared_ptr<const Topology>& t) {
  migration::RingView v;
  v.ring = std::shared_ptr<const ring::Ring>(t, &t->ring());  // shares the snapshot's lifetime
  for (const TopologyServer& s : t->servers()) v.ids.push_back(s.id);
  return v;
}

uint64_t UnixNow() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Every server of both snapshots, as MIGRATE names them (host:port: a unix socket cannot be a
// MIGRATE target).
std::expected<std::vector<migration::ServerAddress>, std::string> Addresses(const Topology& a,
                                                                            const Topology& b) {
  std::map<migration::ServerId, migration::ServerAddress> out;
  for (const Topology* t : {&a, &b}) {
    for (const TopologyServer& s : t->servers()) {
      if (s.conf.address.kind != conf::Address::Kind::kTcp) {
        return std::unexpected(
            fmt::format("server {} is on a unix socket: MIGRATE needs host:port", s.label));
      }
      out[s.id] = migration::ServerAddress{s.id, s.conf.address.host, s.conf.address.port,
                                           t->pool().redis_auth};
    }
  }
  std::vector<migration::ServerAddress> v;
  for (auto& [id, s] : out) v.push_back(std::move(s));
  return v;
}

}  // namespace

MigrationDriver::MigrationDriver(Proxy* proxy, uv_loop_t* loop,
                                 const conf::RingleaderSettings& settings)
    : proxy_(proxy), loop_(loop) {
  options_.keys_per_second = settings.migration_keys_per_second;
  options_.bytes_per_second = settings.migration_bytes_per_second;
}

void MigrationDriver::AddPool(const std::string& name) {
  std::lock_guard lock(info_mu_);
  info_.try_emplace(name);
}

MigrationDriver::~MigrationDriver() = default;

void MigrationDriver::Close() {
  if (std::exchange(closed_, true)) return;
  if (change_ != nullptr) {
    change_->migrator.reset();
    change_->backend.reset();
    change_->clock.reset();
  }
}

std::shared_ptr<const MigrationRoute> MigrationDriver::Route(Phase phase) const {
  auto route = std::make_shared<MigrationRoute>(
      MigrationRoute{migration::KeyRouter(phase, change_->from, change_->to), change_->servers,
                     change_->state.target_epoch});
  return route;
}

std::expected<std::string, std::string> MigrationDriver::Start(const PoolPlan& plan) {
  if (closed_) return std::unexpected("ERR shutting down");
  if (change_ != nullptr && !change_->finished) {
    return std::unexpected(fmt::format(
        "ERR pool '{}' is migrating keys ({}); RELOAD again once INFO ringleader shows it "
        "stable, or RINGLEADER MIGRATION ABORT",
        change_->pool, migration::PhaseName(change_->state.phase)));
  }
  std::shared_ptr<const Topology> current = proxy_->CurrentTopology(plan.name);
  if (current == nullptr || current->epoch() != plan.epoch) {
    return std::unexpected(
        fmt::format("ERR RELOAD: pool '{}' is at epoch {}, not {}; nothing "
                    "changed",
                    plan.name, current ? current->epoch() : 0, plan.epoch));
  }
  if (plan.apply.redis_db != 0) {
    return std::unexpected(
        fmt::format("ERR pool '{}': online key migration supports redis_db 0 only; nothing changed",
                    plan.name));
  }
  auto target = Topology::Build(plan.apply, plan.epoch + 1, current.get());
  if (!target)
    return std::unexpected(fmt::format("ERR RELOAD: {}; nothing changed", target.error()));
  auto servers = Addresses(*current, **target);
  if (!servers) {
    return std::unexpected(
        fmt::format("ERR pool '{}': {}; nothing changed", plan.name, servers.error()));
  }
  migration::MigrationState stable;
  stable.epoch = stable.topology = plan.epoch;
  auto begun = migration::BeginChange(stable, plan.epoch, plan.epoch + 1);
  if (!begun) return std::unexpected("ERR " + begun.error().message);
  auto change = std::make_unique<Change>();
  change->pool = plan.name;
  change->source = current;
  change->target = *target;
  change->state = *begun;
  change->from = View(current);
  change->to = View(*target);
  change->servers = std::move(*servers);
  change->backend = std::make_unique<migration::RespBackend>(loop_, change->servers);
  change->clock = std::make_unique<migration::UvClock>(loop_);
  change->started_at = UnixNow();
  change_ = std::move(change);
  Log(kLogNotice, "migration: pool '{}' epoch {} -> {}: PREPARE", plan.name, plan.epoch,
      plan.epoch + 1);
  UpdateInfo();
  Prepare();
  return fmt::format(
      "migrating: pool '{}' from epoch {} to epoch {} ({:.2f}% of the hash space "
      "moves); watch INFO ringleader (rl_pool_{}_migration)",
      plan.name, plan.epoch, plan.epoch + 1, plan.moved_share * 100, plan.name);
}

// PREPARE: every worker routes by the migration rules (moving keys held), then one more round
// so that what a worker dispatched with epoch-E routing before the switch has been written.
bool MigrationDriver::Live(const Change* c, uint64_t generation) const {
  return !closed_ && change_.get() == c && c->generation == generation;
}

void MigrationDriver::Prepare() {
  Change* c = change_.get();
  std::string pool = c->pool;
  uint64_t gen = c->generation;
  proxy_->PublishMigration(pool, Route(Phase::kPrepare), [this, c, pool, gen] {
    if (!Live(c, gen)) return;
    proxy_->PublishMigration(pool, Route(Phase::kPrepare), [this, c, gen] {
      if (!Live(c, gen)) return;
      if (c->forward_from) {
        // The reverse change: settle the forward run's big value in flight before any request
        // routes by the reverse rules.
        c->migrator = std::make_unique<migration::Migrator>(
            *c->backend, *c->clock, *c->forward_from, *c->forward_to, c->checkpoint, options_,
            [](const migration::Checkpoint&, std::function<void()> committed) { committed(); },
            [this, c, gen](migration::Result<migration::Checkpoint>) {
              if (!Live(c, gen)) return;
              c->forward_from.reset();
              c->forward_to.reset();
              OnPrepared();
            });
        c->migrator->Settle();
        return;
      }
      OnPrepared();
    });
  });
}

void MigrationDriver::OnPrepared() {
  Change* c = change_.get();
  // Standalone: no other proxy can write with the old routing once the workers acknowledged,
  // so there is nothing to fence at the servers (a cluster deletes the epoch's ACL user here).
  auto fenced = migration::MarkFenced(c->state);
  auto migrating = fenced ? migration::Advance(*fenced, false) : fenced;
  if (!migrating) {
    c->error = migrating.error().message;
    Log(kLogWarn, "migration: pool '{}': {}", c->pool, c->error);
    return;
  }
  c->state = *migrating;
  UpdateInfo();
  Log(kLogNotice, "migration: pool '{}' epoch {} -> {}: MIGRATING", c->pool, c->state.epoch,
      c->state.target_epoch);
  uint64_t gen = c->generation;
  proxy_->PublishMigration(c->pool, Route(Phase::kMigrating), [this, c, gen] {
    if (!Live(c, gen)) return;
    RunMigrator(migration::InitialCheckpoint(c->state.target_epoch, c->from, c->to));
  });
}

void MigrationDriver::RunMigrator(migration::Checkpoint from) {
  Change* c = change_.get();
  c->checkpoint = from;
  c->error.clear();
  c->running = true;
  c->migrator = std::make_unique<migration::Migrator>(
      *c->backend, *c->clock, c->from, c->to, std::move(from), options_,
      // One process: its checkpoint is durable as soon as it is taken (a restart begins from
      // the served epoch, as the change was never committed anywhere).
      [this, c](const migration::Checkpoint& cp, std::function<void()> committed) {
        c->checkpoint = cp;
        UpdateInfo();
        committed();
      },
      [this, c, gen = c->generation](migration::Result<migration::Checkpoint> result) {
        if (!Live(c, gen)) return;
        OnMigrated(std::move(result));
      });
  if (c->paused) c->migrator->Pause();
  c->migrator->Start();
}

void MigrationDriver::OnMigrated(migration::Result<migration::Checkpoint> result) {
  Change* c = change_.get();
  c->running = false;
  if (!result) {
    c->error = result.error().message;
    Log(kLogWarn,
        "migration: pool '{}': the migrator stopped: {} (RINGLEADER MIGRATION RESUME "
        "restarts it from its checkpoint)",
        c->pool, c->error);
    UpdateInfo();
    return;
  }
  c->checkpoint = *result;
  auto cleanup = migration::Advance(c->state, result->verified);
  if (!cleanup) {
    c->error = cleanup.error().message;
    UpdateInfo();
    return;
  }
  c->state = *cleanup;
  UpdateInfo();
  Cleanup();
}

// CLEANUP: the target topology is the pool's snapshot (workers route by it only), then the
// migration route is withdrawn and the pool is STABLE at the target epoch.
void MigrationDriver::Cleanup() {
  Change* c = change_.get();
  Log(kLogNotice, "migration: pool '{}' epoch {}: CLEANUP ({} keys moved)", c->pool,
      c->state.target_epoch, c->checkpoint.keys_moved);
  uint64_t gen = c->generation;
  auto published = proxy_->Publish(c->target, [this, c, gen] {
    if (!Live(c, gen)) return;
    proxy_->PublishMigration(c->pool, nullptr, [this, c, gen] {
      if (!Live(c, gen)) return;
      auto stable = migration::Advance(c->state, true);
      if (stable) c->state = *stable;
      c->finished = true;
      c->migrator.reset();
      UpdateInfo();
      Log(kLogNotice, "migration: pool '{}' STABLE at epoch {}", c->pool, c->state.epoch);
    });
  });
  if (!published) {
    c->error = published.error();
    Log(kLogWarn, "migration: pool '{}': publishing epoch {} failed: {}", c->pool,
        c->state.target_epoch, c->error);
    UpdateInfo();
  }
}

void MigrationDriver::Abort(std::move_only_function<void(std::string)> done) {
  Change* c = change_.get();
  if (c == nullptr || c->finished) return done(ErrorReply("ERR no migration is under way"));
  if (c->state.abort) return done(ErrorReply("ERR the change under way is an abort already"));
  auto reverse = migration::Abort(c->state);
  if (!reverse) return done(ErrorReply("ERR " + reverse.error().message));
  if (c->state.phase == Phase::kMigrating) {
    // The forward run's rings (its checkpoint stays in c->checkpoint): Settle needs them during
    // the reverse PREPARE.
    c->forward_from = c->from;
    c->forward_to = c->to;
  }
  ++c->generation;
  c->migrator.reset();
  c->running = false;
  auto back = Topology::Build(c->source->pool(), reverse->target_epoch, c->target.get());
  if (!back) return done(ErrorReply(fmt::format("ERR ABORT: {}", back.error())));
  c->state = *reverse;
  std::swap(c->from, c->to);
  c->target = *back;
  c->error.clear();
  UpdateInfo();
  Log(kLogNotice, "migration: pool '{}' aborted: back to its epoch {} servers as epoch {}: PREPARE",
      c->pool, c->source->epoch(), c->state.target_epoch);
  Prepare();
  std::string out;
  AppendStatus(&out, fmt::format("OK aborting: pool '{}' returns to its servers of epoch {} as "
                                 "epoch {}",
                                 c->pool, c->source->epoch(), c->state.target_epoch));
  done(std::move(out));
}

std::string MigrationDriver::Status() const {
  if (change_ == nullptr) return "no migration has run\n";
  const Change& c = *change_;
  std::string text = fmt::format("pool: {}\n", c.pool);
  text += fmt::format("phase: {}\n",
                      c.finished ? "stable" : std::string(migration::PhaseName(c.state.phase)));
  if (c.finished) {
    text += fmt::format("epoch: {}\n", c.state.epoch);
  } else {
    text += fmt::format("epoch: {} -> {}{}\n", c.state.epoch, c.state.target_epoch,
                        c.state.abort ? " (abort)" : "");
  }
  text += fmt::format("paused: {}\n", c.paused ? "yes" : "no");
  text += fmt::format("keys_scanned: {}\nkeys_moved: {}\nbytes_moved: {}\n",
                      c.checkpoint.keys_scanned, c.checkpoint.keys_moved, c.checkpoint.bytes_moved);
  text += fmt::format("verify_round: {}\n", c.checkpoint.verify_round);
  if (!c.error.empty()) text += fmt::format("error: {}\n", c.error);
  return text;
}

void MigrationDriver::Call(const std::vector<std::string>& argv, bool admin,
                           std::move_only_function<void(std::string)> done) {
  // argv: RINGLEADER MIGRATION <sub>
  std::string sub = argv.size() > 2 ? AsciiUppercase(argv[2]) : "";
  if (argv.size() != 3 ||
      (sub != "STATUS" && sub != "PAUSE" && sub != "RESUME" && sub != "ABORT")) {
    return done(ErrorReply("ERR syntax: RINGLEADER MIGRATION STATUS|PAUSE|RESUME|ABORT"));
  }
  if (sub == "STATUS") {
    std::string out;
    AppendBulk(&out, Status());
    return done(std::move(out));
  }
  if (!admin) {
    return done(ErrorReply(fmt::format(
        "ERR RINGLEADER MIGRATION {} is an admin command: the pool needs admin_commands: true",
        sub)));
  }
  if (closed_) return done(ErrorReply("ERR shutting down"));
  if (sub == "ABORT") return Abort(std::move(done));
  Change* c = change_.get();
  if (c == nullptr || c->finished) return done(ErrorReply("ERR no migration is under way"));
  std::string out;
  if (sub == "PAUSE") {
    c->paused = true;
    if (c->migrator != nullptr) c->migrator->Pause();
    AppendStatus(&out, "OK paused (between pages and batches)");
  } else {
    c->paused = false;
    if (c->migrator != nullptr && c->running) {
      c->migrator->Resume();
    } else if (!c->error.empty() && c->state.phase == Phase::kMigrating) {
      RunMigrator(c->checkpoint);  // the run stopped on an error: again from its checkpoint
    }
    AppendStatus(&out, "OK resumed");
  }
  UpdateInfo();
  done(std::move(out));
}

void MigrationDriver::UpdateInfo() {
  if (change_ == nullptr) return;
  const Change& c = *change_;
  Info info;
  info.phase = c.finished ? "stable" : std::string(migration::PhaseName(c.state.phase));
  if (!c.finished && c.paused) info.phase += "_paused";
  info.keys_moved = c.checkpoint.keys_moved;
  info.keys_scanned = c.checkpoint.keys_scanned;
  info.bytes_moved = c.checkpoint.bytes_moved;
  info.started_at = c.started_at;
  std::lock_guard lock(info_mu_);
  info_[c.pool] = info;
}

std::string MigrationDriver::InfoFields() const {
  std::lock_guard lock(info_mu_);
  std::string out;
  for (const auto& [pool, i] : info_) {
    out += fmt::format("rl_pool_{}_migration:{}\r\n", pool, i.phase);
    out += fmt::format("rl_pool_{0}_keys_moved:{1}\r\nrl_pool_{0}_keys_scanned:{2}\r\n", pool,
                       i.keys_moved, i.keys_scanned);
    out += fmt::format("rl_pool_{0}_bytes_moved:{1}\r\nrl_pool_{0}_started_at:{2}\r\n", pool,
                       i.bytes_moved, i.started_at);
  }
  return out;
}

}  // namespace rl::proxy
