// One pool as served by one worker: its listener, its backends (by stable server id), the
// pool's current topology snapshot (route/topology.h) with this worker's ejection overlay, and
// the routing of each parsed request (forward by key, split and merge, answer locally, refuse).
// Apply() swaps in a new snapshot between requests. Thread safety: owned by one worker thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "proxy/base/uv_handle.h"
#include "proxy/host/worker.h"
#include "proxy/io/client_conn.h"
#include "proxy/resp/resp_parser.h"
#include "proxy/route/migration_path.h"
#include "proxy/route/route_stats.h"
#include "proxy/route/topology.h"
#include "ring/ring.h"

namespace rl::proxy {

class Backend;
class ClientConn;
class Listener;
struct CommandInfo;

class PubsubHub;

class PoolRouter final : public RequestHandler {
 public:
  PoolRouter(Worker* worker, PoolSetup setup);
  ~PoolRouter();

  // Starts listening (if this worker accepts for the pool) and preconnects. On failure
  // returns a message.
  std::expected<void, std::string> Init();
  // Stops accepting (shutdown).
  void StopListening();
  // Closes every backend connection (end of shutdown).
  void Shutdown();

  // Routes one request of `client`; `r` is already on the client's out queue.
  void Dispatch(ClientConn* client, Request* r, const ParsedRequest& req) override;

  // Sends the request's bytes to `backend` on the client's shared connection (nullptr: no
  // server available, answered with an error).
  void Forward(ClientConn* client, Request* r, const ParsedRequest& req, Backend* backend);

  // The backend that serves `key` now, or nullptr when no server is in the ring (all ejected):
  // its owner on the ring; in a pool with `distribution: random`, a server drawn at random on
  // every call, as nutcracker's random_dispatch does (such a pool gives keys no home).
  Backend* BackendFor(std::string_view key);
  // The backend a pub/sub channel is placed on: its ring owner in every distribution, so that
  // PUBLISH and SUBSCRIBE meet in a random pool too. nullptr when no server is in the ring.
  Backend* ChannelBackend(std::string_view channel);
  // The server of each of `keys` (indices into argv) by the ring, into (*owners)[i]; returns
  // whether they are all on one server. The one key-placement loop: Dispatch and the sessions'
  // KeysOwner both use it. REQUIRES: AnyBackend() != nullptr, !keys.empty().
  bool PlaceKeys(std::span<const std::string_view> argv, std::span<const uint32_t> keys,
                 std::vector<ServerId>* owners);
  // SORT's and SORT_RO's BY and GET patterns (kPatternKeys): empty when every key they can
  // name lives on `owner`, the sorted key's server; else the -CROSSSLOT reply saying which
  // pattern may reach another server. A pattern names keys only when it has a '*' ('#' and
  // fixed patterns read none, as in Redis); they stay on one server when the pool has one, or
  // when the part before the '*' holds a complete hash tag (hash_tag) owned by `owner`.
  std::string PatternKeysRefusal(std::span<const std::string_view> argv, ServerId owner);
  // distribution: random (see BackendFor).
  bool random_placement() const {
    return ring_ != nullptr && ring_->options().distribution == ring::Distribution::kRandom;
  }
  // A server for a keyless command (the first one in the ring).
  Backend* AnyBackend();
  // The backend of server `id` in the current topology, or nullptr when it is not (any more)
  // in it.
  Backend* BackendById(ServerId id);
  // auto_eject_hosts: the ring without the ejected servers (readmitting those whose
  // server_retry_timeout passed). With none ejected, the snapshot's own ring is used.
  void RebuildRing();

  // Routes every request from now on with `topology` (same pool, any epoch): servers new to
  // the pool get backends (connected now with preconnect); servers whose address changed get
  // new connections, the old ones closing once drained; servers that left take no new
  // requests and their connections close once drained. Requests already sent finish where
  // they went. Settings that move no keys (timeout, server_connections, ...) apply at once.
  void Apply(std::shared_ptr<const Topology> topology);

  // A ring change's data path from now on (nullptr: none under way); see migration_path.h.
  // `ack` is held until the plans started under the previous route are done (MigrationPath::Set).
  void SetMigration(std::shared_ptr<const MigrationRoute> route, std::shared_ptr<void> ack = {});

  const conf::Pool& conf() const { return topology_->pool(); }
  const Topology& topology() const { return *topology_; }
  uint64_t epoch() const { return topology_->epoch(); }
  const std::string& client_password() const { return setup_.client_password; }
  Worker* worker() { return worker_; }
  // nutcracker's per-pool counters (its stats port), kept by this worker.
  PoolCounters& counters() { return counters_; }
  // The pool's counters and each current server's, for the stats port.
  PoolSample Sample() const;
  // The subscriber connections this worker's clients of the pool share (created on first use).
  PubsubHub* pubsub_hub();
  // One above the largest server id of the pool so far: sizes tables indexed by ServerId.
  ServerId id_limit() const { return topology_->id_limit(); }

 private:
  static void OnRetryTimer(uv_timer_t* t);
  void ScheduleRetry();
  // Sends r (already filled) to the backend for `key`, or fails it when there is none.
  void SendTo(Backend* backend, Request* r, ClientConn* client);
  void Split(ClientConn* client, Request* r, const ParsedRequest& req, const CommandInfo& info,
             std::span<const uint32_t> keys);
  void Broadcast(ClientConn* client, Request* r, const ParsedRequest& req, const CommandInfo& info);
  // SCAN: one server at a time under ringleader's cursor (defined in proxy/route/scan.cc).
  void Scan(ClientConn* client, Request* r, const ParsedRequest& req);

 public:
  // A SCAN whose server ended its walk with an empty page goes on to the next server within
  // the same call (scan.cc), so that a page is empty only when no server has keys left. Returns
  // whether `parent` was sent on (it completes later); false: merge its reply now.
  bool ContinueScan(ClientConn* client, Request* parent);

 private:
  void SendFragments(ClientConn* client, Request* r, std::vector<Backend*>& targets);
  void Reply(ClientConn* client, Request* r, std::string_view bytes);
  // Reply() for a request refused before routing: an open transaction fails at EXEC.
  void Reject(ClientConn* client, Request* r, std::string_view bytes);

  Worker* worker_;
  PoolSetup setup_;
  std::shared_ptr<const Topology> topology_;
  Listener* listener_ = nullptr;
  std::vector<std::unique_ptr<Backend>> backends_;  // by ServerId; nullptr: not in the topology
  // Backends of servers that left: their connections close once drained; the objects stay
  // until the pool shuts down, as completed requests may still name them (Request's label).
  std::vector<std::unique_ptr<Backend>> retired_;
  // distribution: random's draws (seeded per worker and pool at Init).
  std::minstd_rand random_;
  // The ring requests are routed with: the snapshot's, or (servers ejected) ejected_ring_.
  const ring::Ring* ring_ = nullptr;
  std::optional<ring::Ring> ejected_ring_;
  std::vector<ServerId> ring_server_;  // member index of ring_ -> server id
  UvHandle<uv_timer_t> retry_timer_;
  std::vector<uint32_t> key_scratch_;
  std::vector<uint32_t> backend_scratch_;
  std::vector<std::string_view> key_view_scratch_;  // the keys of the current request
  std::vector<ServerId> owner_scratch_;             // server id of each key of the current request
  std::vector<size_t> count_scratch_;
  std::vector<size_t> bytes_scratch_;   // fragment -> bytes of its keys (and values)
  std::vector<size_t> cursor_scratch_;  // fragment -> where its next key is copied
  std::vector<Backend*> target_scratch_;
  std::vector<Backend*> send_scratch_;
  std::vector<Request*> fragment_scratch_;
  std::vector<std::string_view> argv_scratch_;
  PoolCounters counters_;
  std::unique_ptr<MigrationPath> migration_;  // made by the first SetMigration
  // Last: its connections close before the backends they belong to are destroyed.
  std::unique_ptr<PubsubHub> pubsub_hub_;
};

}  // namespace rl::proxy
