#include "proxy/host/reload_plan.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "fmt/format.h"
#include "ring/hash.h"
#include "ring/ring.h"

namespace rl::proxy {

namespace {

constexpr double kCircle = 4294967296.0;  // 2^32 hash values
constexpr uint32_t kSamples = 1u << 16;   // where owners follow no arcs

// Sample i of kSamples hash values: an odd stride (golden ratio) visits residues modulo any
// small slot count evenly, which modula needs.
uint32_t SampleHash(uint32_t i) { return i * 0x9E3779B1u + 0x7F4A7C15u; }

// Sample key i: a hex digest-like string, so that the key's hash (whatever the function) is
// spread as real keys' are; sequential "key:N" names are not, with fnv1a_64.
std::string SampleKey(uint64_t i) {
  uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return fmt::format("{:016x}", z ^ (z >> 31));
}

std::string Ms(const std::optional<std::chrono::milliseconds>& ms) {
  return ms && ms->count() > 0 ? fmt::format("{} ms", ms->count()) : "none";
}
std::string Bool(bool b) { return b ? "true" : "false"; }

// One line per setting that differs. `restart` gets those the running process cannot change
// (Proxy::Publish refuses them: what is bound at start, and the connection count that keeps a
// client's requests in order; redis_db would split a pool's keys over two databases).
void CompareSettings(const conf::Pool& a, const conf::Pool& b, PoolPlan* plan) {
  auto at_once = [&](std::string_view key, const std::string& from, const std::string& to) {
    if (from != to) plan->settings.push_back(fmt::format("{}: {} -> {}", key, from, to));
  };
  auto restart = [&](std::string_view key, const std::string& from, const std::string& to) {
    if (from != to) plan->restart.push_back(fmt::format("{}: {} -> {}", key, from, to));
  };
  restart("listen", a.listen.ToString(), b.listen.ToString());
  restart("backlog", std::to_string(a.backlog), std::to_string(b.backlog));
  restart("workers", std::to_string(a.workers), std::to_string(b.workers));
  restart("server_connections", std::to_string(a.server_connections),
          std::to_string(b.server_connections));
  restart("reuseport", Bool(a.reuseport), Bool(b.reuseport));
  restart("redis_db", std::to_string(a.redis_db), std::to_string(b.redis_db));
  if (a.ClientPassword() != b.ClientPassword()) {
    plan->restart.push_back("the client password (client_auth, or redis_auth without it): changed");
  } else if (a.redis_auth != b.redis_auth) {
    plan->settings.push_back("redis_auth: changed (used by new server connections)");
  }
  at_once("timeout", Ms(a.timeout), Ms(b.timeout));
  at_once("client_timeout", Ms(a.client_timeout), Ms(b.client_timeout));
  at_once("preconnect", Bool(a.preconnect), Bool(b.preconnect));
  at_once("auto_eject_hosts", Bool(a.auto_eject_hosts), Bool(b.auto_eject_hosts));
  at_once("server_retry_timeout", Ms(a.server_retry_timeout), Ms(b.server_retry_timeout));
  at_once("server_failure_limit", std::to_string(a.server_failure_limit),
          std::to_string(b.server_failure_limit));
  at_once("tcpkeepalive", Bool(a.tcpkeepalive), Bool(b.tcpkeepalive));
  at_once("client_connections", std::to_string(a.client_connections),
          std::to_string(b.client_connections));
  at_once("admin_commands", Bool(a.admin_commands), Bool(b.admin_commands));
}

// `next` with what needs a restart kept as `served` has it, so that Publish accepts it.
conf::Pool Applicable(const conf::Pool& served, const conf::Pool& next) {
  conf::Pool p = next;
  p.listen = served.listen;
  p.backlog = served.backlog;
  p.workers = served.workers;
  p.server_connections = served.server_connections;
  p.reuseport = served.reuseport;
  p.redis_db = served.redis_db;
  if (served.ClientPassword() != next.ClientPassword()) {
    p.client_auth = served.client_auth;
    p.redis_auth = served.redis_auth;
  }
  return p;
}

const conf::Server* FindIdentity(const std::vector<conf::Server>& servers, std::string_view id) {
  for (const conf::Server& s : servers) {
    if (s.identity == id) return &s;
  }
  return nullptr;
}

// Added, removed, reweighted, renamed (a server left and one arrived at its address) and moved
// (same name, another address) servers, by ring identity.
void CompareServers(const conf::Pool& a, const conf::Pool& b, PoolPlan* plan) {
  std::vector<const conf::Server*> removed, added;
  for (const conf::Server& s : a.servers) {
    const conf::Server* t = FindIdentity(b.servers, s.identity);
    if (t == nullptr) {
      removed.push_back(&s);
      continue;
    }
    if (s.weight != t->weight) {
      plan->servers.push_back(
          fmt::format("reweighted {}: weight {} -> {}", s.identity, s.weight, t->weight));
    }
    if (!s.address.SameEndpoint(t->address)) {
      plan->servers.push_back(fmt::format("address of {}: {} -> {} (same name: no key moves)",
                                          s.identity, s.address.ToString(), t->address.ToString()));
    }
  }
  for (const conf::Server& t : b.servers) {
    if (FindIdentity(a.servers, t.identity) == nullptr) added.push_back(&t);
  }
  for (auto r = removed.begin(); r != removed.end();) {
    auto same_address = std::find_if(added.begin(), added.end(), [&](const conf::Server* t) {
      return t->address.SameEndpoint((*r)->address);
    });
    if (same_address == added.end()) {
      ++r;
      continue;
    }
    plan->servers.push_back(fmt::format("renamed {} -> {} ({})", (*r)->identity,
                                        (*same_address)->identity, (*r)->address.ToString()));
    added.erase(same_address);
    r = removed.erase(r);
  }
  for (const conf::Server* s : removed) {
    plan->servers.push_back(fmt::format("removed {} ({})", s->identity, s->address.ToString()));
  }
  for (const conf::Server* t : added) {
    plan->servers.push_back(
        fmt::format("added {} ({}) weight {}", t->identity, t->address.ToString(), t->weight));
  }
}

bool SamePlacement(const conf::Pool& a, const conf::Pool& b) {
  if (a.hash != b.hash || a.distribution != b.distribution || a.hash_tag != b.hash_tag ||
      a.servers.size() != b.servers.size()) {
    return false;
  }
  for (size_t i = 0; i < a.servers.size(); ++i) {
    const conf::Server& s = a.servers[i];
    const conf::Server& t = b.servers[i];
    if (s.identity != t.identity || s.weight != t.weight || !s.address.SameEndpoint(t.address)) {
      return false;
    }
  }
  return true;
}

// Each member's share of the hash space: exact arcs for ketama, a sample of evenly spaced hash
// values otherwise.
std::vector<double> OwnedShares(const ring::Ring& r) {
  std::vector<double> owned(r.members().size(), 0);
  auto values = r.point_values();
  auto members = r.point_members();
  if (r.options().distribution == ring::Distribution::kKetama && !values.empty()) {
    if (values.size() == 1) {
      owned[members[0]] = 1;
      return owned;
    }
    for (size_t k = 0; k < values.size(); ++k) {
      uint32_t from = values[k == 0 ? values.size() - 1 : k - 1];
      owned[members[k]] += static_cast<uint32_t>(values[k] - from) / kCircle;
    }
    return owned;
  }
  for (uint32_t i = 0; i < kSamples; ++i) owned[r.LookupHash(SampleHash(i))] += 1.0 / kSamples;
  return owned;
}

// Share of the hash space per (old owner, new owner), by identity.
std::map<std::pair<std::string, std::string>, double> MovedShares(const ring::Ring& old_ring,
                                                                  const ring::Ring& new_ring) {
  std::map<std::pair<std::string, std::string>, double> out;
  for (const ring::MovedRange& range : ring::Diff(old_ring, new_ring)) {
    if (range.old_member != ring::kAnyMember && range.new_member != ring::kAnyMember) {
      double length = range.full_circle()
                          ? kCircle
                          : static_cast<uint32_t>(range.to_inclusive - range.from_exclusive);
      out[{old_ring.members()[range.old_member].identity,
           new_ring.members()[range.new_member].identity}] += length / kCircle;
      continue;
    }
    // Modula, or a change of hash, hash tag or distribution: owners follow no arcs, and the
    // same key may hash differently; sample keys.
    for (uint32_t i = 0; i < kSamples; ++i) {
      std::string key = SampleKey(i);
      const std::string& from = old_ring.members()[old_ring.Lookup(key)].identity;
      const std::string& to = new_ring.members()[new_ring.Lookup(key)].identity;
      if (from != to) out[{from, to}] += 1.0 / kSamples;
    }
  }
  return out;
}

void PlanMoves(const conf::Pool& a, const conf::Pool& b, PoolPlan* plan) {
  // A random pool has no owner per key: every server may hold any key already.
  if (a.distribution == ring::Distribution::kRandom &&
      b.distribution == ring::Distribution::kRandom) {
    return;
  }
  auto old_ring = ring::Ring::Make(a.RingMembers(), a.RingOptions());
  auto new_ring = ring::Ring::Make(b.RingMembers(), b.RingOptions());
  if (!old_ring || !new_ring || old_ring->members().empty() || new_ring->members().empty()) {
    return;
  }
  std::vector<double> owned = OwnedShares(*old_ring);
  std::map<std::string, double, std::less<>> owned_by_id;
  for (size_t m = 0; m < owned.size(); ++m) owned_by_id[old_ring->members()[m].identity] = owned[m];
  for (const auto& [pair, share] : MovedShares(*old_ring, *new_ring)) {
    double source = owned_by_id[pair.first];
    plan->moves.push_back({.from = pair.first,
                           .to = pair.second,
                           .share = share,
                           .source_share = source > 0 ? std::min(1.0, share / source) : 1.0});
    plan->moved_share += share;
  }
  std::stable_sort(plan->moves.begin(), plan->moves.end(),
                   [](const KeyMove& x, const KeyMove& y) { return x.share > y.share; });
}

void PlanPlacementSettings(const conf::Pool& a, const conf::Pool& b, PoolPlan* plan) {
  auto line = [&](std::string_view key, std::string_view from, std::string_view to) {
    if (from != to) plan->servers.push_back(fmt::format("{}: {} -> {}", key, from, to));
  };
  line("hash", ring::HashKindName(a.hash), ring::HashKindName(b.hash));
  line("distribution", ring::DistributionName(a.distribution),
       ring::DistributionName(b.distribution));
  line("hash_tag", a.hash_tag.empty() ? "none" : a.hash_tag,
       b.hash_tag.empty() ? "none" : b.hash_tag);
}

void CompareRingleader(const conf::RingleaderSettings& a, const conf::RingleaderSettings& b,
                       std::vector<std::string>* out) {
  auto restart = [&](std::string_view key, const std::string& from, const std::string& to) {
    if (from != to) out->push_back(fmt::format("ringleader: {}: {} -> {}", key, from, to));
  };
  auto n = [](auto v) { return std::to_string(v); };
  restart("client_output_limit", n(a.client_output_limit), n(b.client_output_limit));
  restart("client_max_inflight", n(a.client_max_inflight), n(b.client_max_inflight));
  restart("client_memory_limit_mb",
          a.client_memory_limit_mb ? n(*a.client_memory_limit_mb) : "default",
          b.client_memory_limit_mb ? n(*b.client_memory_limit_mb) : "default");
  restart("shutdown_grace", Ms(a.shutdown_grace), Ms(b.shutdown_grace));
  restart("reconnect_backoff_min", Ms(a.reconnect_backoff_min), Ms(b.reconnect_backoff_min));
  restart("reconnect_backoff_max", Ms(a.reconnect_backoff_max), Ms(b.reconnect_backoff_max));
  restart("proto_max_bulk_len", n(a.proto_max_bulk_len), n(b.proto_max_bulk_len));
  restart("proto_max_multibulk_len", n(a.proto_max_multibulk_len), n(b.proto_max_multibulk_len));
  restart("client_query_buffer_limit", n(a.client_query_buffer_limit),
          n(b.client_query_buffer_limit));
  restart("migration_keys_per_second", n(a.migration_keys_per_second),
          n(b.migration_keys_per_second));
  restart("migration_bytes_per_second", n(a.migration_bytes_per_second),
          n(b.migration_bytes_per_second));
  auto cluster = [](const std::optional<conf::ClusterSettings>& c) -> std::string {
    if (!c) return "absent";
    std::string members;
    for (const conf::ClusterMember& m : c->members) {
      members += fmt::format(" {}@{}", m.id, m.address.ToString());
    }
    return fmt::format(
        "node_id {} peer_listen {} members{} data_dir {} heartbeat {} election {}"
        "{}{}",
        c->node_id, c->peer_listen.ToString(), members, c->data_dir, c->heartbeat.count(),
        c->election_timeout.count(), c->join ? " join" : "",
        c->secret.empty() ? "" : " (secret set)");
  };
  restart("cluster", cluster(a.cluster), cluster(b.cluster));
  if (a.cluster && b.cluster && a.cluster->secret != b.cluster->secret) {
    out->push_back("ringleader: cluster: secret: changed");
  }
  auto locks = [](const std::optional<conf::LockSettings>& l) -> std::string {
    if (!l) return "absent";
    std::string masters;
    for (const conf::Address& m : l->masters) masters += " " + m.ToString();
    return fmt::format("masters{} data_dir {}", masters, l->data_dir);
  };
  restart("locks", locks(a.locks), locks(b.locks));
}

}  // namespace

bool ReloadPlan::MovesKeys() const {
  return std::any_of(pools.begin(), pools.end(), [](const PoolPlan& p) { return p.MovesKeys(); });
}

bool ReloadPlan::Applies() const {
  return std::any_of(pools.begin(), pools.end(), [](const PoolPlan& p) { return p.Applies(); });
}

ReloadPlan PlanReload(const conf::Config& started, std::span<const ServedPool> served,
                      const conf::Config& file) {
  ReloadPlan plan;
  plan.path = file.path;
  for (const conf::Pool& next : file.pools) {
    auto it = std::find_if(served.begin(), served.end(),
                           [&](const ServedPool& s) { return s.pool.name == next.name; });
    if (it == served.end()) {
      plan.restart.push_back(fmt::format("pool '{}' is new: served after a restart", next.name));
      continue;
    }
    PoolPlan p;
    p.name = next.name;
    p.epoch = it->epoch;
    p.served = it->pool;
    CompareServers(it->pool, next, &p);
    PlanPlacementSettings(it->pool, next, &p);
    CompareSettings(it->pool, next, &p);
    p.placement_changed = !SamePlacement(it->pool, next);
    if (p.placement_changed) PlanMoves(it->pool, next, &p);
    p.apply = Applicable(it->pool, next);
    plan.pools.push_back(std::move(p));
  }
  for (const ServedPool& s : served) {
    bool kept = std::any_of(file.pools.begin(), file.pools.end(),
                            [&](const conf::Pool& p) { return p.name == s.pool.name; });
    if (!kept) {
      plan.restart.push_back(
          fmt::format("pool '{}' is not in the file: served until a restart", s.pool.name));
    }
  }
  CompareRingleader(started.ringleader, file.ringleader, &plan.restart);
  return plan;
}

std::string MovesSummary(const PoolPlan& pool) {
  std::string out;
  for (const KeyMove& m : pool.moves) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} -> {} {:.2f}%", m.from, m.to, m.share * 100);
  }
  return out;
}

namespace {

std::vector<std::string> Render(const ReloadPlan& plan,
                                const std::map<std::string, ServerKeyCounts>* counts) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("reload plan for {}", plan.path));
  for (const PoolPlan& p : plan.pools) {
    lines.push_back(fmt::format("pool '{}' (served epoch {}):", p.name, p.epoch));
    if (!p.Applies() && p.restart.empty()) {
      lines.push_back("  unchanged");
      continue;
    }
    for (const std::string& s : p.servers) lines.push_back("  server " + s);
    for (const std::string& s : p.settings)
      lines.push_back("  setting " + s + " (applies at once)");
    for (const std::string& s : p.restart) lines.push_back("  setting " + s + " (needs a restart)");
    if (p.placement_changed && !p.MovesKeys()) lines.push_back("  keys moving: none");
    if (p.MovesKeys()) {
      lines.push_back(fmt::format("  keys moving: {:.2f}% of the hash space", p.moved_share * 100));
      for (const KeyMove& m : p.moves) {
        if (counts == nullptr) {
          lines.push_back(fmt::format("    {} -> {}: {:.2f}%", m.from, m.to, m.share * 100));
          continue;
        }
        auto pool_counts = counts->find(p.name);
        std::string estimate = "keys: unknown (DBSIZE of the source failed)";
        if (pool_counts != counts->end()) {
          auto n = pool_counts->second.find(m.from);
          if (n != pool_counts->second.end()) {
            estimate = fmt::format(
                "about {} keys (estimate: DBSIZE {} x {:.2f}% of its hash space)",
                static_cast<uint64_t>(static_cast<double>(n->second) * m.source_share + 0.5),
                n->second, m.source_share * 100);
          }
        }
        lines.push_back(
            fmt::format("    {} -> {}: {:.2f}%, {}", m.from, m.to, m.share * 100, estimate));
      }
    }
  }
  for (const std::string& s : plan.restart) lines.push_back(s + " (needs a restart)");
  if (plan.MovesKeys()) {
    lines.push_back(
        "RELOAD migrates the moving keys online (standalone only: a cluster refuses a change that "
        "moves keys for now); watch INFO ringleader");
  } else if (plan.Applies()) {
    lines.push_back("RELOAD would apply the changes above; no key moves");
  } else {
    lines.push_back("RELOAD has nothing to apply");
  }
  return lines;
}

}  // namespace

std::vector<std::string> RenderPlan(const ReloadPlan& plan,
                                    const std::map<std::string, ServerKeyCounts>& counts) {
  return Render(plan, &counts);
}

std::vector<std::string> RenderPlan(const ReloadPlan& plan) { return Render(plan, nullptr); }

}  // namespace rl::proxy
