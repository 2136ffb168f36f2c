// A pool's topology snapshot: an immutable, epoch-numbered value holding the pool's settings,
// its servers (each with a stable id, name, ring identity, weight and resolved address) and the
// ring built from them. Every worker routes with a shared_ptr to the current one; a new epoch
// replaces it between requests (PoolRouter::Apply), so a request is routed with exactly one
// snapshot and remembers its epoch. Built by the proxy host at start and for every change.
// Thread safety: immutable once built; share it freely across threads.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/io/address.h"
#include "ring/ring.h"

namespace rl::proxy {

// A server's identity within its pool, stable across epochs: the same server (same ring
// identity: its name, or twemproxy's host:port rule for an unnamed one) keeps its id through
// every change; a server that is new to the pool gets an id no server of the pool has had.
using ServerId = uint32_t;
inline constexpr ServerId kNoServer = UINT32_MAX;

struct TopologyServer {
  ServerId id = kNoServer;
  conf::Server conf;        // name, ring identity, weight, address as configured
  ResolvedAddress address;  // resolved when the snapshot was built
  std::string label;        // "name (host:port)", or the address alone for an unnamed server
};

class Topology {
 public:
  // Builds epoch `epoch` of `pool`. Servers whose ring identity is one of `previous`'s keep
  // their id; the others get ids from previous->id_limit() up (from 0, in `servers:` order,
  // without a previous snapshot, so a fresh pool's ids are its servers' positions). Every
  // server address is resolved now. On failure (an address that does not resolve, a ring that
  // cannot be built from the servers: weights, hash tag, duplicate identities) returns a
  // message naming the pool and server; nothing aborts, as a topology may come from a peer.
  static std::expected<std::shared_ptr<const Topology>, std::string> Build(
      const conf::Pool& pool, uint64_t epoch, const Topology* previous = nullptr);

  uint64_t epoch() const { return epoch_; }
  // The pool's settings as configured for this epoch (its `servers` included).
  const conf::Pool& pool() const { return pool_; }
  // In `servers:` order; servers()[m] is ring member m.
  std::span<const TopologyServer> servers() const { return servers_; }
  const ring::Ring& ring() const { return ring_; }
  // The server with `id`, or nullptr when it is not in this epoch.
  const TopologyServer* Find(ServerId id) const;
  // One above the largest id given out in this pool so far (ids of servers that left
  // included): sizes tables indexed by ServerId.
  ServerId id_limit() const { return id_limit_; }

 private:
  Topology(conf::Pool pool, uint64_t epoch, ring::Ring ring)
      : epoch_(epoch), pool_(std::move(pool)), ring_(std::move(ring)) {}

  uint64_t epoch_;
  conf::Pool pool_;
  std::vector<TopologyServer> servers_;
  ring::Ring ring_;
  std::vector<uint32_t> position_;  // by id: index in servers_, or UINT32_MAX
  ServerId id_limit_ = 0;
};

}  // namespace rl::proxy
