// The process's membership of a ringleader cluster (`ringleader: cluster:`): the Raft node
// (raft/node/node.h), its peer port and links, hosted on the control loop. It makes every worker
// route with the committed topology rather than the local file's: each batch of applied entries
// that changes a served pool is published (Proxy::Publish) at the committed epoch; the leader
// proposes the local file's topology for a pool the cluster does not know yet (a compare-and-set
// at epoch 0, so concurrent first starts agree on one). On a restart the pools committed in the
// data directory are published before the workers start, so no request is routed by the file
// while the log replays. A member whose file differs from the
// committed topology says so in its log and in INFO (rl_pool_<name>_file). It answers the
// RINGLEADER admin commands (cluster_service.h) and keeps the INFO fields current; RINGLEADER
// RELOAD (reloader.h) reads the committed topology and proposes through it.
// Thread safety: created, called and closed on the control loop; InfoFields() from any thread.
#pragma once

#include <atomic>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "proxy/base/uv_handle.h"
#include "proxy/host/cluster_service.h"
#include "proxy/host/reload_plan.h"

namespace rl::raft {
class Node;
class PeerLinks;
class PeerServer;
struct ClusterState;
struct PoolTopology;
}  // namespace rl::raft

namespace rl::proxy {

class Proxy;

class ClusterHost final : public ClusterService {
 public:
  // Opens the data directory, binds the peer port and starts the node on `proxy`'s control loop.
  // `fatal(message)` runs on the loop when the node must stop the process (a lost data directory
  // found at bootstrap, a storage error). REQUIRES: config.ringleader.cluster.
  static std::expected<std::unique_ptr<ClusterHost>, std::string> Start(
      Proxy* proxy, const conf::Config& config, std::function<void(std::string)> fatal);
  ~ClusterHost() override;

  void Call(std::vector<std::string> argv, bool admin,
            std::move_only_function<void(std::string reply)> done) override;
  std::shared_ptr<const std::string> InfoFields() const override;

  // Stops the node and closes the peer port (on the control loop's quit).
  void Close();

  // For RINGLEADER RELOAD (host/reloader.h). The committed topology of `local`'s pool, with
  // `local`'s settings, and its epoch; nullopt while the cluster has none for the pool.
  std::optional<ServedPool> Committed(const conf::Pool& local) const;
  // This node's file version of a pool (its settings are served with the committed placement,
  // and rl_pool_<name>_file compares with it); SetLocalPool replaces it after a reload.
  std::optional<conf::Pool> LocalPool(std::string_view name) const;
  void SetLocalPool(const conf::Pool& pool);
  // Publishes the local settings of pool `name` at the epoch the workers have (no placement
  // change).
  std::expected<void, std::string> RepublishSettings(std::string_view name);
  // Proposes `pool`'s placement as epoch expected_epoch + 1, a compare-and-set on
  // expected_epoch. `done` gets the committed epoch, or why it was not committed (naming the
  // current epoch when another change committed first).
  void ProposePool(const conf::Pool& pool, uint64_t expected_epoch,
                   std::move_only_function<void(std::expected<uint64_t, std::string>)> done);
  // The Raft node (the lock service mints its tokens through it). Lives as long as the host.
  raft::Node* node() const { return node_.get(); }

 private:
  ClusterHost(Proxy* proxy, const conf::Config& config, std::function<void(std::string)> fatal);
  void OnApplied(const raft::ClusterState& state);
  void OnTick();
  void SeedPools();
  void Cluster(std::vector<std::string> argv, std::move_only_function<void(std::string)> done);
  void Barrier(size_t argc, std::move_only_function<void(std::string)> done);
  void RefreshInfo();

  Proxy* proxy_;
  conf::Config config_;  // a copy: a reload replaces its pools (SetLocalPool)
  std::function<void(std::string)> fatal_;
  std::unique_ptr<raft::PeerLinks> links_;
  std::unique_ptr<raft::Node> node_;
  std::unique_ptr<raft::PeerServer> server_;
  UvHandle<uv_timer_t> timer_;
  std::map<std::string, uint64_t> published_;  // pool → the committed epoch the workers have
  std::map<std::string, bool> file_differs_;   // pool → its file differs from the committed one
  std::set<std::string> seeding_;              // pools whose first topology is being proposed
  std::atomic<std::shared_ptr<const std::string>> info_;
  bool closed_ = false;
};

}  // namespace rl::proxy
