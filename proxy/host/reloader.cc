#include "proxy/host/reloader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>
#include <sstream>

#include "proxy/base/ascii.h"
#include "proxy/base/log.h"
#include "proxy/host/cli.h"
#include "proxy/host/cluster_host.h"
#include "proxy/host/migration_driver.h"
#include "proxy/host/server.h"
#include "proxy/resp/client.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/topology.h"

namespace rl::proxy {

namespace {

std::string ErrorReply(std::string_view line) {
  std::string out;
  AppendError(&out, line);
  return out;
}

std::string BulkLines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  std::string out;
  AppendBulk(&out, text);
  return out;
}

// The plan's lines without its closing verdict, then what was done.
std::string AppliedReply(const ReloadPlan& plan, const std::vector<std::string>& applied) {
  std::vector<std::string> lines = RenderPlan(plan);
  lines.pop_back();
  if (applied.empty()) lines.push_back("nothing to apply");
  lines.insert(lines.end(), applied.begin(), applied.end());
  return BulkLines(lines);
}

}  // namespace

std::expected<std::string, std::string> StartKeyMigration(const PoolPlan& plan,
                                                          MigrationDriver* driver) {
  if (driver != nullptr) return driver->Start(plan);
  return std::unexpected(fmt::format(
      "ERR pool '{}': this change moves {:.2f}% of the hash space ({}); online key migration "
      "runs only in a standalone process for now (no `ringleader: cluster:` section), so RELOAD "
      "does not apply it here (moving the ring without migrating would lose those keys to "
      "readers); nothing was changed",
      plan.name, plan.moved_share * 100, MovesSummary(plan)));
}

struct Reloader::Probe {
  ReloadPlan plan;
  Done done;
  size_t pending = 0;
  std::map<std::string, ServerKeyCounts> counts;
  std::vector<RespClientPtr> clients;
};

Reloader::Reloader(Proxy* proxy, const conf::Config* started, ClusterHost* cluster)
    : proxy_(proxy), started_(started), cluster_(cluster) {}

Reloader::~Reloader() = default;

void Reloader::Close() {
  if (std::exchange(closed_, true)) return;
  auto probes = std::move(probes_);
  for (auto& [id, probe] : probes) probe->done(ErrorReply("ERR shutting down"));
}

void Reloader::Call(std::vector<std::string> argv, bool admin, Done done) {
  if (!admin) {
    done(
        ErrorReply("ERR 'RINGLEADER RELOAD' is an admin command: allowed only in a pool with "
                   "`admin_commands: true`"));
    return;
  }
  bool dry = argv.size() == 3 && EqualsIgnoreCase(argv[2], "dryrun");
  if (argv.size() > 3 || (argv.size() == 3 && !dry)) {
    done(ErrorReply("ERR syntax: RINGLEADER RELOAD [DRYRUN]"));
    return;
  }
  if (closed_) {
    done(ErrorReply("ERR shutting down"));
    return;
  }
  auto plan = Plan();
  if (!plan) {
    done(ErrorReply(plan.error()));
    return;
  }
  if (dry) {
    DryRun(std::move(*plan), std::move(done));
  } else {
    Apply(std::move(*plan), std::move(done));
  }
}

std::expected<ReloadPlan, std::string> Reloader::Plan() const {
  std::ostringstream errors;
  std::optional<conf::Config> file = LoadConfig(started_->path, errors);
  if (!file) {
    std::string text = errors.str();
    while (!text.empty() && text.back() == '\n') text.pop_back();
    for (char& c : text) {
      if (c == '\n' || c == '\r') c = ';';
    }
    return std::unexpected(
        fmt::format("ERR RELOAD: {} is invalid, nothing changed: {}", started_->path, text));
  }
  std::vector<ServedPool> served;
  for (const conf::Pool& pool : started_->pools) {
    std::shared_ptr<const Topology> current = proxy_->CurrentTopology(pool.name);
    if (current == nullptr) continue;
    if (cluster_ == nullptr) {
      served.push_back({.pool = current->pool(), .epoch = current->epoch()});
      continue;
    }
    std::optional<ServedPool> committed = cluster_->Committed(current->pool());
    if (!committed) {
      return std::unexpected(fmt::format(
          "ERR RELOAD: pool '{}' has no committed topology yet; try again once the cluster has "
          "a leader",
          pool.name));
    }
    served.push_back(std::move(*committed));
  }
  return PlanReload(*started_, served, *file);
}

void Reloader::DryRun(ReloadPlan plan, Done done) {
  uint64_t id = next_probe_++;
  auto probe = std::make_unique<Probe>();
  Probe& p = *probe;
  p.plan = std::move(plan);
  p.done = std::move(done);
  probes_.emplace(id, std::move(probe));
  // DBSIZE of every server that keys would leave.
  for (const PoolPlan& pool : p.plan.pools) {
    std::set<std::string> asked;
    for (const KeyMove& move : pool.moves) {
      if (!asked.insert(move.from).second) continue;
      const conf::Server* server = nullptr;
      for (const conf::Server& s : pool.served.servers) {
        if (s.identity == move.from) server = &s;
      }
      if (server == nullptr) continue;
      RespClientOptions options;
      if (server->address.kind == conf::Address::Kind::kUnix) {
        options.unix_path = server->address.path;
      } else {
        options.host = server->address.host;
        options.port = server->address.port;
      }
      options.password = pool.served.redis_auth;
      options.db = pool.served.redis_db;
      options.connect_timeout = std::chrono::milliseconds(1000);
      options.request_timeout = std::chrono::milliseconds(1000);
      RespClientPtr client = RespClient::Create(proxy_->control().loop(), std::move(options));
      ++p.pending;
      client->Send({"DBSIZE"}, [this, id, name = pool.name, from = move.from](RespResult r) {
        if (!r) {
          OnCount(id, name, from, std::unexpected(r.error().message));
        } else if (r->type != RespReply::Type::kInteger || r->integer < 0) {
          OnCount(id, name, from, std::unexpected(r->str));
        } else {
          OnCount(id, name, from, static_cast<uint64_t>(r->integer));
        }
      });
      p.clients.push_back(std::move(client));
    }
  }
  if (p.pending == 0) OnCount(id, "", "", std::unexpected("none asked"));
}

void Reloader::OnCount(uint64_t probe, const std::string& pool, const std::string& server,
                       std::expected<uint64_t, std::string> count) {
  auto it = probes_.find(probe);
  if (it == probes_.end()) return;
  Probe& p = *it->second;
  if (count) {
    p.counts[pool][server] = *count;
  } else if (!server.empty()) {
    Log(kLogInfo, "reload: DBSIZE of {} in pool '{}': {}", server, pool, count.error());
  }
  if (p.pending > 0 && --p.pending > 0) return;
  std::string reply = BulkLines(RenderPlan(p.plan, p.counts));
  Done done = std::move(p.done);
  // The clients go with the probe; this callback's own client allows it (resp/client.h).
  probes_.erase(it);
  done(std::move(reply));
}

void Reloader::Apply(ReloadPlan plan, Done done) {
  size_t moving = 0;
  for (const PoolPlan& pool : plan.pools) moving += pool.MovesKeys() ? 1 : 0;
  if (moving > 0 && (cluster_ != nullptr || migration_ == nullptr || moving > 1)) {
    for (const PoolPlan& pool : plan.pools) {
      if (!pool.MovesKeys()) continue;
      std::string why =
          moving > 1 && cluster_ == nullptr
              ? fmt::format(
                    "ERR this reload moves keys of {} pools; online key migration moves "
                    "one pool at a time: change one pool per RELOAD; nothing was changed",
                    moving)
              : StartKeyMigration(pool, nullptr).error();
      Log(kLogWarn, "reload of {} refused: {}", plan.path, why);
      done(ErrorReply(why));
      return;
    }
  }
  if (cluster_ != nullptr) {
    ApplyCluster(std::make_shared<ReloadPlan>(std::move(plan)), 0,
                 std::make_shared<std::vector<std::string>>(), std::move(done));
  } else {
    ApplyStandalone(std::move(plan), std::move(done));
  }
}

// One process: every changed pool is published at epoch E+1, on the control loop, so no other
// change can come between the plan and the publish; the reply waits until every worker has it.
void Reloader::ApplyStandalone(ReloadPlan plan, Done done) {
  std::vector<std::shared_ptr<const Topology>> next;
  std::vector<std::string> migrating;
  for (const PoolPlan& pool : plan.pools) {
    if (!pool.MovesKeys()) continue;
    auto started = StartKeyMigration(pool, migration_);
    if (!started) {
      Log(kLogWarn, "reload of {} refused: {}", plan.path, started.error());
      done(ErrorReply(started.error()));
      return;
    }
    migrating.push_back(std::move(*started));
  }
  for (const PoolPlan& pool : plan.pools) {
    if (!pool.Applies() || pool.MovesKeys()) continue;
    std::shared_ptr<const Topology> current = proxy_->CurrentTopology(pool.name);
    if (current == nullptr || current->epoch() != pool.epoch) {
      done(ErrorReply(fmt::format("ERR RELOAD: pool '{}' is at epoch {}, not {}; nothing changed",
                                  pool.name, current ? current->epoch() : 0, pool.epoch)));
      return;
    }
    auto topology = Topology::Build(pool.apply, pool.epoch + 1, current.get());
    if (!topology) {
      done(ErrorReply(fmt::format("ERR RELOAD: {}; nothing changed", topology.error())));
      return;
    }
    next.push_back(std::move(*topology));
  }
  auto applied = std::make_shared<std::vector<std::string>>(std::move(migrating));
  auto plan_ptr = std::make_shared<ReloadPlan>(std::move(plan));
  // Runs `done` once the last Publish's workers all have their snapshot.
  std::shared_ptr<void> all(
      nullptr, [plan_ptr, applied, done = std::make_shared<Done>(std::move(done))](void*) mutable {
        (*done)(AppliedReply(*plan_ptr, *applied));
      });
  for (const auto& topology : next) {
    if (auto ok = proxy_->Publish(topology, [all] {}); !ok) {
      applied->push_back(
          fmt::format("pool '{}' not applied: {}", topology->pool().name, ok.error()));
      continue;
    }
    applied->push_back(fmt::format("applied: pool '{}' now at epoch {}", topology->pool().name,
                                   topology->epoch()));
    Log(kLogNotice, "reload: pool '{}' now at epoch {} from {}", topology->pool().name,
        topology->epoch(), plan_ptr->path);
  }
}

// A cluster: pool by pool, a placement change is one SetPool proposal "E+1 from E" (refused if
// another change committed first); settings apply to this node at the committed epoch.
void Reloader::ApplyCluster(std::shared_ptr<ReloadPlan> plan, size_t next,
                            std::shared_ptr<std::vector<std::string>> applied, Done done) {
  while (next < plan->pools.size() && !plan->pools[next].Applies()) ++next;
  if (next == plan->pools.size()) {
    done(AppliedReply(*plan, *applied));
    return;
  }
  const PoolPlan& pool = plan->pools[next];
  // As at start: every server address resolves and the ring builds, before anything is proposed.
  if (auto built =
          Topology::Build(pool.apply, pool.epoch + 1, proxy_->CurrentTopology(pool.name).get());
      !built) {
    done(ErrorReply(fmt::format(
        "ERR RELOAD: {}; {}", built.error(),
        applied->empty() ? "nothing changed"
                         : fmt::format("already applied: {}", fmt::join(*applied, ", ")))));
    return;
  }
  std::optional<conf::Pool> before = cluster_->LocalPool(pool.name);
  cluster_->SetLocalPool(pool.apply);
  if (!pool.placement_changed) {
    auto ok = cluster_->RepublishSettings(pool.name);
    applied->push_back(
        ok ? fmt::format("applied: pool '{}' settings at epoch {}", pool.name, pool.epoch)
           : fmt::format("pool '{}' settings not applied: {}", pool.name, ok.error()));
    ApplyCluster(std::move(plan), next + 1, std::move(applied), std::move(done));
    return;
  }
  Log(kLogNotice, "reload: proposing pool '{}' epoch {} from epoch {}", pool.name, pool.epoch + 1,
      pool.epoch);
  cluster_->ProposePool(
      pool.apply, pool.epoch,
      [this, plan, next, applied, before = std::move(before),
       done = std::move(done)](std::expected<uint64_t, std::string> result) mutable {
        const PoolPlan& pool = plan->pools[next];
        if (!result) {
          if (before) cluster_->SetLocalPool(*before);
          std::string why = fmt::format(
              "ERR RELOAD of pool '{}' computed from epoch {} was not committed: {}{}", pool.name,
              pool.epoch, result.error(),
              applied->empty() ? "; nothing changed"
                               : fmt::format("; already applied: {}", fmt::join(*applied, ", ")));
          Log(kLogWarn, "reload: {}", why);
          done(ErrorReply(why));
          return;
        }
        applied->push_back(
            fmt::format("applied: pool '{}' committed at epoch {}", pool.name, *result));
        ApplyCluster(std::move(plan), next + 1, std::move(applied), std::move(done));
      });
}

}  // namespace rl::proxy
