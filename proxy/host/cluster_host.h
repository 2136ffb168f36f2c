// The process's membership of a ringleader cluster (`ringleader: cluster:`): the Raft node
// (raft/node/node.h), its peer port and links, hosted on the control loop. It makes every worker
// route with the committed topology rather than the local file's: each batch of applied entries
// that changes a served pool is published (Proxy::Publish) at the committed epoch; the leader
// proposes the local file's topology for a pool the cluster does not know yet (a compare-and-set
// at epoch 0, so concurrent first starts agree on one). On a restart the pools committed in the
// data directory are published before the workers start, so no request is routed by the file
// while the log replays. A member whose file differs from the
// committed topology says so in its log and in INFO (rl_pool_<name>_file). It answers the
// RINGLEADER admin commands (cluster_service.h) and keeps the INFO fields current.
// Thread safety: created, called and closed on the control loop; InfoFields() from any thread.
#pragma once

#include <atomic>
#include <expected>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/base/uv_handle.h"
#include "proxy/host/cluster_service.h"

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

 private:
  ClusterHost(Proxy* proxy, const conf::Config& config, std::function<void(std::string)> fatal);
  void OnApplied(const raft::ClusterState& state);
  void OnTick();
  void SeedPools();
  void Cluster(std::vector<std::string> argv, std::move_only_function<void(std::string)> done);
  void Barrier(size_t argc, std::move_only_function<void(std::string)> done);
  void RefreshInfo();

  Proxy* proxy_;
  const conf::Config& config_;
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
