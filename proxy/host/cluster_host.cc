#include "proxy/host/cluster_host.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "conf/values.h"
#include "proxy/base/ascii.h"
#include "proxy/base/log.h"
#include "proxy/host/server.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/topology.h"
#include "raft/node/node.h"
#include "raft/node/peer_links.h"
#include "raft/node/peer_server.h"
#include "raft/node/state_machine.h"
#include "ring/hash.h"
#include "ring/ring.h"

namespace rl::proxy {

namespace {

// The replicated form of a pool's key placement: what moves keys, nothing else.
raft::PoolTopology ToReplicated(const conf::Pool& pool) {
  raft::PoolTopology t;
  t.name = pool.name;
  t.hash = std::string(ring::HashKindName(pool.hash));
  t.distribution = std::string(ring::DistributionName(pool.distribution));
  t.hash_tag = pool.hash_tag;
  for (const conf::Server& s : pool.servers) {
    t.servers.push_back({.name = s.identity, .addr = s.address.ToString(), .weight = s.weight});
  }
  return t;
}

bool SamePlacement(const raft::PoolTopology& a, const raft::PoolTopology& b) {
  return a.servers == b.servers && a.hash == b.hash && a.distribution == b.distribution &&
         a.hash_tag == b.hash_tag;
}

// `local` (the file's pool: listen, timeouts, passwords...) with the committed placement.
std::expected<conf::Pool, std::string> WithPlacement(const conf::Pool& local,
                                                     const raft::PoolTopology& committed) {
  conf::Pool pool = local;
  auto hash = ring::ParseHashKind(committed.hash);
  auto distribution = ring::ParseDistribution(committed.distribution);
  if (!hash || !distribution) {
    return std::unexpected(fmt::format("pool '{}': committed hash '{}' / distribution '{}' unknown",
                                       local.name, committed.hash, committed.distribution));
  }
  pool.hash = *hash;
  pool.distribution = *distribution;
  pool.hash_tag = committed.hash_tag;
  pool.servers.clear();
  for (const raft::PoolServer& s : committed.servers) {
    auto address = conf::ParseListen(s.addr);
    if (!address) {
      return std::unexpected(
          fmt::format("pool '{}': committed server '{}' {}", local.name, s.addr, address.error()));
    }
    conf::Server server;
    server.address = *address;
    server.weight = s.weight;
    server.name = s.name;
    server.identity = s.name;
    pool.servers.push_back(std::move(server));
  }
  return pool;
}

std::string ErrorReply(std::string_view line) {
  std::string out;
  AppendError(&out, line);
  return out;
}

std::optional<uint64_t> ParseId(std::string_view text) {
  uint64_t id = 0;
  if (text.empty() || text.size() > 19) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  if (id == 0) return std::nullopt;
  return id;
}

// A proposal's outcome as a RESP reply: +OK, or the refusal as an error.
std::string OutcomeReply(const raft::ProposalResult& result) {
  if (!result) return ErrorReply(result.error());
  if (!result->error.empty()) return ErrorReply("ERR " + result->error);
  std::string out;
  AppendStatus(&out, "OK");
  return out;
}

}  // namespace

ClusterHost::ClusterHost(Proxy* proxy, const conf::Config& config,
                         std::function<void(std::string)> fatal)
    : proxy_(proxy), config_(config), fatal_(std::move(fatal)) {}

ClusterHost::~ClusterHost() = default;

std::expected<std::unique_ptr<ClusterHost>, std::string> ClusterHost::Start(
    Proxy* proxy, const conf::Config& config, std::function<void(std::string)> fatal) {
  const conf::ClusterSettings& c = *config.ringleader.cluster;
  std::unique_ptr<ClusterHost> host(new ClusterHost(proxy, config, std::move(fatal)));
  uv_loop_t* loop = proxy->control().loop();

  raft::NodeSettings settings;
  settings.id = c.node_id;
  settings.addr = c.peer_listen.ToString();
  // A joining node lists the cluster's initial members and itself; the cluster's identity is
  // that of the initial members alone.
  for (const conf::ClusterMember& m : c.members) {
    if (c.join && m.id == c.node_id) continue;
    settings.initial_members.push_back({.id = m.id, .addr = m.address.ToString()});
  }
  settings.join = c.join;
  settings.data_dir = c.data_dir;
  // A tick of a tenth of the heartbeat: the randomized election timeout and the delay after a
  // leader's connection closed are then drawn from ~10 times as many values (fewer split votes).
  const int64_t heartbeat_ms = std::max<int64_t>(1, c.heartbeat.count());
  const int64_t tick_ms = std::max<int64_t>(1, heartbeat_ms / 10);
  settings.tick = std::chrono::milliseconds(tick_ms);
  settings.heartbeat_ticks = static_cast<int>(heartbeat_ms / tick_ms);
  settings.election_ticks = static_cast<int>(
      std::max<int64_t>(3 * settings.heartbeat_ticks, c.election_timeout.count() / tick_ms));
  // A quarter of the election timeout at most: 10..250 ms at the defaults.
  settings.lost_leader_ticks = std::max(1, settings.election_ticks / 4);
  settings.seed = c.node_id * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(uv_hrtime());
  uint64_t cluster_id = raft::ClusterId(settings.initial_members);

  raft::PeerSettings peer;
  peer.self = c.node_id;
  peer.cluster_id = cluster_id;
  peer.secret = c.secret;
  peer.listen_host = c.peer_listen.host;
  peer.listen_port = c.peer_listen.port;
  auto links = raft::PeerLinks::Create(loop, peer);
  if (!links) return std::unexpected(fmt::format("cluster: {}", links.error()));
  host->links_ = std::move(*links);
  auto node = raft::Node::Open(loop, settings, host->links_.get());
  if (!node) return std::unexpected(fmt::format("cluster: {}", node.error()));
  host->node_ = std::move(*node);
  // Before the workers serve anything: a restarted node routes by what its data directory says
  // was committed, not by its file, from the first request on (the log replay follows).
  host->OnApplied(host->node_->RecoveredPools());
  auto server = raft::PeerServer::Start(loop, peer, host->node_.get());
  if (!server) {
    return std::unexpected(
        fmt::format("cluster: peer_listen {}: {}", c.peer_listen.ToString(), server.error()));
  }
  host->server_ = std::move(*server);

  ClusterHost* h = host.get();
  host->node_->OnApplied([h](const raft::ClusterState& state) { h->OnApplied(state); });
  host->node_->Start([h](std::string message) {
    Log(kLogError, "cluster: {}", message);
    if (h->fatal_) h->fatal_(std::move(message));
  });
  host->timer_.Init([loop](uv_timer_t* t) { return uv_timer_init(loop, t); }, h);
  uint64_t period = static_cast<uint64_t>(std::max<int64_t>(10, c.heartbeat.count()));
  uv_timer_start(
      host->timer_.get(), [](uv_timer_t* t) { static_cast<ClusterHost*>(t->data)->OnTick(); }, 0,
      period);
  host->RefreshInfo();
  Log(kLogNotice, "cluster: node {} on {} ({} initial members, data in {})", c.node_id,
      c.peer_listen.ToString(), c.members.size(), c.data_dir);
  return host;
}

void ClusterHost::Close() {
  if (std::exchange(closed_, true)) return;
  timer_.Close();
  server_.reset();  // its handles close on the loop, which runs on until they have
  // The links go once the node, which sends through them, has stopped; the node itself goes
  // with the host, after the loop (its handles are closed by then).
  if (node_) node_->Stop([this] { links_.reset(); });
}

std::shared_ptr<const std::string> ClusterHost::InfoFields() const {
  return info_.load(std::memory_order_acquire);
}

void ClusterHost::OnTick() {
  SeedPools();
  RefreshInfo();
}

void ClusterHost::RefreshInfo() {
  std::string text = node_->StatusText();
  for (const conf::Pool& pool : config_.pools) {
    auto it = file_differs_.find(pool.name);
    std::string_view file = it == file_differs_.end() ? "uncommitted"
                            : it->second              ? "differs"
                                                      : "same";
    text += fmt::format("rl_pool_{}_file:{}\r\n", pool.name, file);
  }
  info_.store(std::make_shared<const std::string>(std::move(text)), std::memory_order_release);
}

void ClusterHost::SeedPools() {
  if (closed_ || node_->Status().role != "leader") return;
  const raft::ClusterState& state = node_->state();
  for (const conf::Pool& pool : config_.pools) {
    if (state.pools.contains(pool.name) || seeding_.contains(pool.name)) continue;
    seeding_.insert(pool.name);
    raft::Proposal p;
    p.kind = raft::Proposal::Kind::kCommand;
    p.data = raft::EncodeCommand(raft::SetPool{.expected_epoch = 0, .pool = ToReplicated(pool)});
    std::string name = pool.name;
    node_->Propose(std::move(p), [this, name](raft::ProposalResult result) {
      seeding_.erase(name);
      if (!result) {
        Log(kLogInfo, "cluster: proposing pool '{}' from the file: {}", name, result.error());
      } else if (result->error.empty()) {
        Log(kLogNotice, "cluster: pool '{}' committed from this node's file at index {}", name,
            result->index);
      }
    });
  }
}

void ClusterHost::OnApplied(const raft::ClusterState& state) {
  for (const conf::Pool& local : config_.pools) {
    auto it = state.pools.find(local.name);
    if (it == state.pools.end()) continue;
    const raft::PoolTopology& committed = it->second;
    bool differs = !SamePlacement(committed, ToReplicated(local));
    auto [seen, inserted] = file_differs_.try_emplace(local.name, differs);
    if (inserted || seen->second != differs) {
      seen->second = differs;
      if (differs) {
        Log(kLogWarn,
            "cluster: pool '{}': this node's file differs from the committed topology (epoch {}); "
            "serving the committed one",
            local.name, committed.epoch);
      }
    }
    uint64_t& published = published_[local.name];
    if (committed.epoch <= published) continue;
    auto pool = WithPlacement(local, committed);
    std::shared_ptr<const Topology> current = proxy_->CurrentTopology(local.name);
    auto topology = pool ? Topology::Build(*pool, committed.epoch, current.get())
                         : std::expected<std::shared_ptr<const Topology>, std::string>(
                               std::unexpected(pool.error()));
    if (!topology) {
      Log(kLogError, "cluster: pool '{}' epoch {} cannot be served: {}", local.name,
          committed.epoch, topology.error());
      continue;
    }
    if (auto ok = proxy_->Publish(*topology); !ok) {
      Log(kLogError, "cluster: pool '{}' epoch {}: {}", local.name, committed.epoch, ok.error());
      continue;
    }
    published = committed.epoch;
    Log(kLogNotice, "cluster: pool '{}' now routes by committed epoch {} ({} servers)", local.name,
        committed.epoch, committed.servers.size());
  }
  RefreshInfo();
}

void ClusterHost::Call(std::vector<std::string> argv, bool admin,
                       std::move_only_function<void(std::string)> done) {
  std::string sub = AsciiUppercase(argv[1]);
  if (sub == "STATUS") {
    std::string out;
    AppendBulk(&out, *InfoFields());
    done(std::move(out));
    return;
  }
  if (!admin) {
    done(
        ErrorReply(fmt::format("ERR 'RINGLEADER {}' is an admin command: allowed only in a pool "
                               "with `admin_commands: true`",
                               sub)));
    return;
  }
  if (closed_) {
    done(ErrorReply("ERR shutting down"));
    return;
  }
  if (sub == "FAULT") {
    std::string spec = argv[2];
    for (size_t i = 3; i < argv.size(); ++i) spec += "," + argv[i];
    auto faults = EqualsIgnoreCase(spec, "off") ? raft::ParseFaults("") : raft::ParseFaults(spec);
    if (!faults) {
      done(ErrorReply("ERR " + faults.error()));
      return;
    }
    if (auto ok = links_->SetFaults(*faults); !ok) {
      done(ErrorReply("ERR " + ok.error()));
      return;
    }
    std::string out;
    AppendStatus(&out, "OK");
    done(std::move(out));
    return;
  }
  Cluster(std::move(argv), std::move(done));
}

// RINGLEADER CLUSTER ADD id host:port | PROMOTE id | REMOVE id | TRANSFER id | BARRIER
void ClusterHost::Cluster(std::vector<std::string> argv,
                          std::move_only_function<void(std::string)> done) {
  std::string verb = AsciiUppercase(argv[2]);
  using Kind = raft::Proposal::Kind;
  raft::Proposal p;
  size_t want = 4;
  if (verb == "ADD") {
    p.kind = Kind::kAddLearner;
    want = 5;
  } else if (verb == "PROMOTE") {
    p.kind = Kind::kPromote;
  } else if (verb == "REMOVE") {
    p.kind = Kind::kRemove;
  } else if (verb == "TRANSFER") {
    p.kind = Kind::kTransfer;
  } else if (verb == "BARRIER") {
    return Barrier(argv.size(), std::move(done));
  } else {
    done(ErrorReply(fmt::format(
        "ERR unknown RINGLEADER CLUSTER subcommand '{}': ADD id host:port, PROMOTE id, REMOVE id, "
        "TRANSFER id, BARRIER",
        argv[2])));
    return;
  }
  if (argv.size() != want) {
    done(
        ErrorReply(fmt::format("ERR wrong number of arguments for 'RINGLEADER CLUSTER {}'", verb)));
    return;
  }
  std::optional<uint64_t> id = ParseId(argv[3]);
  if (!id) {
    done(ErrorReply(fmt::format("ERR node id '{}' is not a number from 1 to 2^63", argv[3])));
    return;
  }
  p.id = *id;
  if (p.kind == Kind::kAddLearner) {
    auto address = conf::ParseListen(argv[4]);
    if (!address || address->kind != conf::Address::Kind::kTcp) {
      done(ErrorReply(fmt::format("ERR peer address '{}' is not host:port", argv[4])));
      return;
    }
    p.addr = address->ToString();
  }
  node_->Propose(std::move(p), [done = std::move(done)](raft::ProposalResult result) mutable {
    done(OutcomeReply(result));
  });
}

std::optional<ServedPool> ClusterHost::Committed(const conf::Pool& local) const {
  const raft::ClusterState& state = node_->state();
  auto it = state.pools.find(local.name);
  if (it == state.pools.end()) return std::nullopt;
  auto pool = WithPlacement(local, it->second);
  if (!pool) return std::nullopt;
  return ServedPool{.pool = std::move(*pool), .epoch = it->second.epoch};
}

std::optional<conf::Pool> ClusterHost::LocalPool(std::string_view name) const {
  for (const conf::Pool& pool : config_.pools) {
    if (pool.name == name) return pool;
  }
  return std::nullopt;
}

void ClusterHost::SetLocalPool(const conf::Pool& pool) {
  for (conf::Pool& local : config_.pools) {
    if (local.name == pool.name) local = pool;
  }
  file_differs_.erase(pool.name);  // compared again at the next apply
  OnApplied(node_->state());
}

std::expected<void, std::string> ClusterHost::RepublishSettings(std::string_view name) {
  std::optional<conf::Pool> local = LocalPool(name);
  std::shared_ptr<const Topology> current = proxy_->CurrentTopology(name);
  if (!local || current == nullptr) return std::unexpected("the pool is not served");
  std::optional<ServedPool> committed = Committed(*local);
  if (!committed) return std::unexpected("the pool has no committed topology");
  auto topology = Topology::Build(committed->pool, current->epoch(), current.get());
  if (!topology) return std::unexpected(topology.error());
  return proxy_->PublishSettings(*topology);
}

void ClusterHost::ProposePool(
    const conf::Pool& pool, uint64_t expected_epoch,
    std::move_only_function<void(std::expected<uint64_t, std::string>)> done) {
  if (closed_) {
    done(std::unexpected("shutting down"));
    return;
  }
  raft::Proposal p;
  p.kind = raft::Proposal::Kind::kCommand;
  p.data = raft::EncodeCommand(
      raft::SetPool{.expected_epoch = expected_epoch, .pool = ToReplicated(pool)});
  node_->Propose(std::move(p),
                 [expected_epoch, done = std::move(done)](raft::ProposalResult result) mutable {
                   if (!result) {
                     done(std::unexpected(result.error()));
                   } else if (!result->error.empty()) {
                     done(std::unexpected(result->error));
                   } else {
                     done(expected_epoch + 1);  // the compare-and-set held
                   }
                 });
}

// RINGLEADER CLUSTER BARRIER: commits an entry that changes nothing and answers its index once
// it is committed and applied here. For operators (does the cluster commit?) and for the
// commit-latency benchmark; a follower forwards it like any change.
void ClusterHost::Barrier(size_t argc, std::move_only_function<void(std::string)> done) {
  if (argc != 3) {
    done(ErrorReply("ERR wrong number of arguments for 'RINGLEADER CLUSTER BARRIER'"));
    return;
  }
  raft::Proposal p;
  p.kind = raft::Proposal::Kind::kBarrier;
  node_->Propose(std::move(p), [done = std::move(done)](raft::ProposalResult result) mutable {
    if (!result || !result->error.empty()) return done(OutcomeReply(result));
    std::string out;
    AppendInteger(&out, static_cast<int64_t>(result->index));
    done(std::move(out));
  });
}

}  // namespace rl::proxy
