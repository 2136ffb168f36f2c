#include "proxy/route/topology.h"

#include <algorithm>
#include <unordered_map>

#include "fmt/format.h"

namespace rl::proxy {

std::expected<std::shared_ptr<const Topology>, std::string> Topology::Build(
    const conf::Pool& pool, uint64_t epoch, const Topology* previous) {
  auto ring = ring::Ring::Make(pool.RingMembers(), pool.RingOptions());
  if (!ring) return std::unexpected(fmt::format("pool '{}': {}", pool.name, ring.error()));
  std::unordered_map<std::string_view, ServerId> kept;
  ServerId next_id = 0;
  if (previous != nullptr) {
    for (const TopologyServer& s : previous->servers_) kept.emplace(s.conf.identity, s.id);
    next_id = previous->id_limit_;
  }
  std::vector<TopologyServer> servers;
  servers.reserve(pool.servers.size());
  for (const conf::Server& server : pool.servers) {
    auto address = Resolve(server.address);
    if (!address) {
      return std::unexpected(fmt::format("pool '{}': server {}", pool.name, address.error()));
    }
    TopologyServer s;
    auto it = kept.find(server.identity);
    s.id = it != kept.end() ? it->second : next_id++;
    s.conf = server;
    s.address = std::move(*address);
    s.label =
        server.name.empty() ? s.address.text : fmt::format("{} ({})", server.name, s.address.text);
    servers.push_back(std::move(s));
  }
  if (next_id == kNoServer) {
    return std::unexpected(fmt::format("pool '{}': out of server ids", pool.name));
  }
  std::shared_ptr<Topology> t(new Topology(pool, epoch, std::move(*ring)));
  t->servers_ = std::move(servers);
  t->id_limit_ = next_id;
  t->position_.assign(next_id, UINT32_MAX);
  for (uint32_t i = 0; i < t->servers_.size(); ++i) t->position_[t->servers_[i].id] = i;
  return std::shared_ptr<const Topology>(std::move(t));
}

const TopologyServer* Topology::Find(ServerId id) const {
  if (id >= position_.size() || position_[id] == UINT32_MAX) return nullptr;
  return &servers_[position_[id]];
}

}  // namespace rl::proxy
