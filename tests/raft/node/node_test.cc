// Node: 3- and 5-node clusters on one uv loop, connected by an in-memory Transport (messages
// cross it encoded, asynchronously, optionally lossy with the seeded RNG): election, forwarded
// proposals, failover, restarts from the data directory, join/promote/remove, the refusal of a
// wiped data directory, compaction with snapshot catch-up, CAS conflicts, leadership transfer;
// fencing tokens minted through the cluster (ReserveTokens, lock::RaftTokenSource).
#include "raft/node/node.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "lock/raft_token_source.h"
#include "raft/codec.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"

namespace rl::raft {
namespace {

using std::chrono::milliseconds;

// Carries messages, forwarded proposals and RAFT.MEMBER questions between the nodes of one
// loop, each on a later turn of the loop (as a socket would). A message reaches a node only if
// the sender has the receiver's address (SetPeers) and the receiver is up.
class Network {
 public:
  explicit Network(uv_loop_t* loop) : loop_(loop) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
  }
  ~Network() { uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr); }

  void Attach(NodeId id, std::string addr, PeerHandler* handler) {
    handlers_[id] = handler;
    addrs_[addr] = id;
  }
  void Detach(NodeId id) { handlers_.erase(id); }
  void set_loss(double loss) { loss_ = loss; }
  void Seed(uint64_t seed) { rng_.seed(seed); }

  void Post(std::move_only_function<void()> task) {
    tasks_.push_back(std::move(task));
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_))) {
      uv_timer_start(
          &timer_, [](uv_timer_t* t) { static_cast<Network*>(t->data)->Drain(); }, 0, 0);
    }
  }
  bool Lost() { return loss_ > 0 && std::uniform_real_distribution<>(0, 1)(rng_) < loss_; }
  PeerHandler* Handler(NodeId id) {
    auto it = handlers_.find(id);
    return it == handlers_.end() ? nullptr : it->second;
  }
  PeerHandler* HandlerAt(const std::string& addr) {
    auto it = addrs_.find(addr);
    return it == addrs_.end() ? nullptr : Handler(it->second);
  }
  uint64_t delivered = 0;

 private:
  void Drain() {
    std::vector<std::move_only_function<void()>> batch;
    batch.swap(tasks_);
    for (auto& task : batch) task();
  }

  uv_loop_t* loop_;
  uv_timer_t timer_;
  std::vector<std::move_only_function<void()>> tasks_;
  std::map<NodeId, PeerHandler*> handlers_;
  std::map<std::string, NodeId> addrs_;
  double loss_ = 0;
  std::mt19937_64 rng_;
};

class MemTransport final : public Transport {
 public:
  MemTransport(Network* net, NodeId self) : net_(net), self_(self) {}

  void Send(std::vector<Message> messages) override {
    std::map<NodeId, std::vector<std::string>> by_peer;
    for (const Message& m : messages) {
      if (!peers_.contains(m.to) || net_->Lost()) continue;
      by_peer[m.to].push_back(EncodeMessage(m));
    }
    for (auto& [to, encoded] : by_peer) {
      net_->Post([net = net_, from = self_, to, encoded = std::move(encoded)] {
        PeerHandler* h = net->Handler(to);
        if (h == nullptr) return;
        std::vector<Message> batch;
        for (const std::string& bytes : encoded) batch.push_back(DecodeMessage(bytes).value());
        net->delivered += batch.size();
        h->OnMessages(from, std::move(batch));
      });
    }
  }
  void Forward(NodeId to, Proposal proposal, ProposalDone done) override {
    ++forwarded;
    net_->Post([net = net_, from = self_, to, proposal = std::move(proposal),
                done = std::move(done)]() mutable {
      PeerHandler* h = net->Handler(to);
      if (h == nullptr) return done(std::unexpected(std::string("TRYAGAIN link down")));
      h->OnPropose(from, std::move(proposal), [net, done = std::move(done)](auto r) mutable {
        net->Post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
      });
    });
  }
  void AskMember(
      const std::string& addr, NodeId id,
      std::move_only_function<void(std::expected<MemberState, std::string>)> done) override {
    net_->Post([net = net_, addr, id, done = std::move(done)]() mutable {
      PeerHandler* h = net->HandlerAt(addr);
      if (h == nullptr) return done(std::unexpected("connection refused"));
      done(h->OnAskMember(id));
    });
  }
  void SetPeers(std::map<NodeId, std::string> peers) override { peers_ = std::move(peers); }

  const std::map<NodeId, std::string>& peers() const { return peers_; }
  int forwarded = 0;

 private:
  Network* net_;
  NodeId self_;
  std::map<NodeId, std::string> peers_;
};

std::string Addr(NodeId id) { return "127.0.0.1:" + std::to_string(7100 + id); }

PoolTopology Pool(const std::string& name, int servers) {
  PoolTopology p;
  p.name = name;
  p.hash = "fnv1a_64";
  p.distribution = "ketama";
  for (int i = 0; i < servers; ++i) {
    p.servers.push_back({"r" + std::to_string(i), "127.0.0.1:" + std::to_string(7001 + i), 1});
  }
  return p;
}

Proposal Command(const Command& c) {
  return Proposal{Proposal::Kind::kCommand, EncodeCommand(c), kNoNode, ""};
}

class Cluster {
 public:
  explicit Cluster(int n, uint64_t snapshot_entries = 10000) : snapshot_entries_(snapshot_entries) {
    uv_loop_init(&loop_);
    net_ = std::make_unique<Network>(&loop_);
    net_->Seed(testing::TestSeed());
    for (NodeId id = 1; id <= static_cast<NodeId>(n); ++id) initial_.push_back({id, Addr(id)});
  }
  ~Cluster() {
    for (auto& [id, n] : nodes_) {
      if (n.node) StopNode(id);
    }
    net_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_loop_close(&loop_);
  }

  std::string Dir(NodeId id) const { return root_.File("node" + std::to_string(id)); }

  // Opens and starts node `id`; returns Open's error, if any.
  std::string StartNode(NodeId id, bool join = false) {
    TestNode& n = nodes_[id];
    n.fatal.clear();
    n.transport = std::make_unique<MemTransport>(net_.get(), id);
    NodeSettings s;
    s.id = id;
    s.addr = Addr(id);
    s.initial_members = initial_;
    s.join = join;
    s.data_dir = Dir(id);
    s.tick = milliseconds(10);
    s.election_ticks = 10;
    s.heartbeat_ticks = 1;
    s.seed = testing::TestSeed() + id;
    s.snapshot_entries = snapshot_entries_;
    s.segment_bytes = 4096;
    s.propose_timeout = milliseconds(3000);
    auto node = Node::Open(&loop_, s, n.transport.get());
    if (!node) return node.error();
    n.node = std::move(*node);
    net_->Attach(id, s.addr, n.node.get());
    n.node->Start([&n](std::string why) { n.fatal = std::move(why); });
    return "";
  }

  // Opens node `id`'s data directory without starting it and returns RecoveredPools().
  std::expected<ClusterState, std::string> Recovered(NodeId id) {
    MemTransport transport(net_.get(), id);
    NodeSettings s;
    s.id = id;
    s.addr = Addr(id);
    s.initial_members = initial_;
    s.data_dir = Dir(id);
    s.segment_bytes = 4096;
    auto node = Node::Open(&loop_, s, &transport);
    if (!node) return std::unexpected(node.error());
    ClusterState state = (*node)->RecoveredPools();
    node->reset();
    uv_run(&loop_, UV_RUN_NOWAIT);  // the never-started node's handles close
    return state;
  }

  void StopNode(NodeId id) {
    TestNode& n = nodes_.at(id);
    net_->Detach(id);
    bool stopped = false;
    n.node->Stop([&] { stopped = true; });
    EXPECT_TRUE(RunUntil([&] { return stopped; }));
    n.node.reset();
  }

  bool RunUntil(const std::function<bool()>& done, milliseconds bound = milliseconds(10000)) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    uv_timer_t wake;  // so the deadline is checked even when nothing else happens
    uv_timer_init(&loop_, &wake);
    uv_timer_start(
        &wake, [](uv_timer_t*) {}, 5, 5);
    bool held = done();
    while (!held && std::chrono::steady_clock::now() < deadline) {
      uv_run(&loop_, UV_RUN_ONCE);
      held = done();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
    // Closing the timer runs the loop once more, which may change the nodes again (an entry
    // applied on one of them): what is returned is whether `done` held, not whether it still
    // does after that (Agree() failed so under load in CI).
    uv_run(&loop_, UV_RUN_NOWAIT);
    return held;
  }

  Node* node(NodeId id) {
    auto it = nodes_.find(id);
    return it == nodes_.end() ? nullptr : it->second.node.get();
  }
  const std::string& fatal(NodeId id) { return nodes_.at(id).fatal; }
  MemTransport* transport(NodeId id) { return nodes_.at(id).transport.get(); }
  std::vector<NodeId> Up() const {
    std::vector<NodeId> up;
    for (const auto& [id, n] : nodes_) {
      if (n.node) up.push_back(id);
    }
    return up;
  }

  // The one leader every running voter agrees on (kNoNode if none within the bound).
  NodeId WaitLeader() {
    NodeId leader = kNoNode;
    RunUntil([&] {
      leader = kNoNode;
      for (NodeId id : Up()) {
        NodeStatus s = node(id)->Status();
        if (s.role == "leader") leader = id;
      }
      if (leader == kNoNode) return false;
      for (NodeId id : Up()) {
        NodeStatus s = node(id)->Status();
        if (s.role != "learner" && s.leader != leader) return false;
      }
      return true;
    });
    return leader;
  }

  ProposalResult ProposeAndWait(NodeId via, Proposal p) {
    std::optional<ProposalResult> result;
    node(via)->Propose(std::move(p), [&](ProposalResult r) { result = std::move(r); });
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    return result.value_or(std::unexpected(std::string("no answer")));
  }

  // Retries TRYAGAIN answers (an election, a lost forward) within the bound.
  ProposalResult ProposeRetrying(NodeId via, const Proposal& p) {
    ProposalResult r = std::unexpected(std::string("never tried"));
    for (int attempt = 0; attempt < 100; ++attempt) {
      r = ProposeAndWait(via, p);
      if (r || !(r.error().starts_with("TRYAGAIN") || r.error().starts_with("TIMEOUT"))) break;
      Backoff();
    }
    return r;
  }

  // Runs the loop for two ticks: a retry's back-off (the cluster keeps working meanwhile).
  void Backoff() {
    bool waited = false;
    uv_timer_t t;
    uv_timer_init(&loop_, &t);
    t.data = &waited;
    uv_timer_start(
        &t, [](uv_timer_t* h) { *static_cast<bool*>(h->data) = true; }, 20, 0);
    RunUntil([&] { return waited; });
    uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);  // the close completes before `t` leaves the stack
  }

  // Every running node has applied the same state, and it satisfies `pred`.
  bool Agree(const std::function<bool(const ClusterState&)>& pred) {
    return RunUntil([&] {
      std::vector<NodeId> up = Up();
      for (NodeId id : up) {
        if (!pred(node(id)->state()) || node(id)->state() != node(up[0])->state()) return false;
      }
      return true;
    });
  }

  uv_loop_t* loop() { return &loop_; }
  Network& net() { return *net_; }

 private:
  struct TestNode {
    std::unique_ptr<MemTransport> transport;
    std::unique_ptr<Node> node;
    std::string fatal;
  };
  uint64_t snapshot_entries_;
  testing::TempDir root_;
  uv_loop_t loop_;
  std::unique_ptr<Network> net_;
  std::vector<MemberInfo> initial_;
  std::map<NodeId, TestNode> nodes_;
};

size_t Pools(const ClusterState& s) { return s.pools.size(); }

TEST(NodeTest, ElectsALeaderAndEveryNodeAppliesForwardedProposals) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  for (NodeId id = 1; id <= 3; ++id) {
    auto r = c.ProposeRetrying(id, Command(SetPool{0, Pool("p" + std::to_string(id), 2)}));
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->error, "");
    EXPECT_GT(r->index, 0u);
  }
  EXPECT_GT(c.transport(leader == 1 ? 2 : 1)->forwarded, 0);
  ASSERT_TRUE(c.Agree([](const ClusterState& s) { return Pools(s) == 3; }));
  // Members and their addresses come from the bootstrap; every member is marked joined.
  ASSERT_TRUE(c.Agree([](const ClusterState& s) {
    if (s.members.size() != 3) return false;
    for (const auto& [id, m] : s.members) {
      if (m.addr != Addr(id) || m.learner || !m.joined) return false;
    }
    return true;
  }));
  NodeStatus st = c.node(leader)->Status();
  EXPECT_EQ(st.role, "leader");
  EXPECT_EQ(st.pool_epochs.at("p1"), 1u);
  std::string text = c.node(leader)->StatusText();
  EXPECT_NE(text.find("rl_role:leader\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rl_members:1@127.0.0.1:7101,2@127.0.0.1:7102,3@127.0.0.1:7103\r\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rl_pool_p2_epoch:1\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rl_leader_id:" + std::to_string(leader) + "\r\n"), std::string::npos);
  // A follower that receives a forwarded proposal does not forward it again.
  NodeId follower = leader == 1 ? 2 : 1;
  std::optional<ProposalResult> answer;
  c.node(follower)->OnPropose(3, Command(SetPool{0, Pool("x", 1)}),
                              [&](ProposalResult r) { answer = std::move(r); });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->error(), "TRYAGAIN not the leader, leader is " + std::to_string(leader));
}

TEST(NodeTest, CompareAndSetConflictIsReportedInTheOutcome) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  auto first = c.ProposeRetrying(leader, Command(SetPool{0, Pool("a", 1)}));
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->error, "");
  auto second = c.ProposeRetrying(leader, Command(SetPool{0, Pool("a", 2)}));
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(second->error, "pool 'a' is at epoch 1, not 0");
  EXPECT_GT(second->index, first->index);
  ASSERT_TRUE(c.Agree([](const ClusterState& s) {
    return s.pools.contains("a") && s.pools.at("a").servers.size() == 1;
  }));
}

TEST(NodeTest, FiveNodesOnALossyNetworkAgree) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(5);
  c.net().set_loss(0.1);
  for (NodeId id = 1; id <= 5; ++id) ASSERT_EQ(c.StartNode(id), "");
  ASSERT_NE(c.WaitLeader(), kNoNode);
  for (int i = 0; i < 10; ++i) {
    NodeId via = 1 + static_cast<NodeId>(i % 5);
    auto r = c.ProposeRetrying(via, Command(SetPool{0, Pool("p" + std::to_string(i), 1)}));
    ASSERT_TRUE(r) << r.error();
    // A retried proposal may have been applied by its first attempt: then the CAS refuses it.
    EXPECT_TRUE(r->error.empty() || r->error.find("is at epoch 1, not 0") != std::string::npos)
        << r->error;
  }
  ASSERT_TRUE(c.Agree([](const ClusterState& s) { return Pools(s) == 10; }));
}

TEST(NodeTest, LeaderStopsNewLeaderCommitsRestartedNodeCatchesUp) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId old_leader = c.WaitLeader();
  ASSERT_NE(old_leader, kNoNode);
  ASSERT_TRUE(c.ProposeRetrying(old_leader, Command(SetPool{0, Pool("a", 1)})));
  c.StopNode(old_leader);
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_NE(leader, old_leader);
  auto r = c.ProposeRetrying(leader, Command(SetPool{1, Pool("a", 3)}));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->error, "");
  ASSERT_EQ(c.StartNode(old_leader), "");
  ASSERT_TRUE(c.Agree(
      [](const ClusterState& s) { return s.pools.contains("a") && s.pools.at("a").epoch == 2; }));
  EXPECT_EQ(c.fatal(old_leader), "");
  EXPECT_EQ(c.node(old_leader)->Status().role, "follower");
}

TEST(NodeTest, RestartingEveryNodeKeepsTheCommittedState) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  ASSERT_NE(c.WaitLeader(), kNoNode);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.ProposeRetrying(1, Command(SetPool{0, Pool("p" + std::to_string(i), 1)})));
  }
  ASSERT_TRUE(c.Agree([](const ClusterState& s) { return Pools(s) == 5; }));
  ClusterState before = c.node(1)->state();
  for (NodeId id = 1; id <= 3; ++id) c.StopNode(id);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  // The state is back before any new leader is elected: replayed from each data directory.
  ASSERT_TRUE(c.Agree([&](const ClusterState& s) { return s == before; }));
  ASSERT_NE(c.WaitLeader(), kNoNode);
  auto r = c.ProposeRetrying(2, Command(SetPool{1, Pool("p0", 2)}));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->error, "");
  for (NodeId id = 1; id <= 3; ++id) EXPECT_EQ(c.fatal(id), "");
}

// What the host publishes before its workers serve (the restart window): the pools of the
// snapshot plus the committed entries, read from the data directory before Start.
TEST(NodeTest, RecoveredPoolsBeforeStartAreTheCommittedOnes) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3, /*snapshot_entries=*/20);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  ASSERT_NE(c.WaitLeader(), kNoNode);
  for (uint64_t e = 0; e < 45; ++e) {
    auto r = c.ProposeRetrying(1, Command(SetPool{e, Pool("a", 1 + e % 3)}));
    ASSERT_TRUE(r) << r.error();
  }
  ASSERT_TRUE(c.ProposeRetrying(2, Command(SetPool{0, Pool("b", 2)})));
  ASSERT_TRUE(c.Agree([](const ClusterState& s) { return Pools(s) == 2; }));
  const ClusterState before = c.node(1)->state();
  ASSERT_EQ(before.pools.at("a").epoch, 45u);
  for (NodeId id = 1; id <= 3; ++id) c.StopNode(id);
  for (NodeId id = 1; id <= 3; ++id) {
    auto recovered = c.Recovered(id);
    ASSERT_TRUE(recovered) << recovered.error();
    EXPECT_EQ(recovered->pools, before.pools) << "node " << id;
    EXPECT_TRUE(recovered->members.empty());
  }
  // The node itself gets to the same pools by replaying its log.
  ASSERT_EQ(c.StartNode(3), "");
  ASSERT_TRUE(c.RunUntil([&] { return c.node(3)->state().pools == before.pools; }));
}

TEST(NodeTest, AddALearnerPromoteItAndRemoveAMember) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ProposeRetrying(leader, Command(SetPool{0, Pool("a", 2)})));
  ASSERT_EQ(c.StartNode(4, /*join=*/true), "");
  EXPECT_EQ(c.node(4)->OnAskMember(1), MemberState::kUnknown);  // knows nothing yet
  // Promoting or removing a stranger is refused with the reason.
  auto stranger = c.ProposeRetrying(leader, {Proposal::Kind::kPromote, "", 4, ""});
  ASSERT_FALSE(stranger);
  EXPECT_EQ(stranger.error(), "ERR unknown node 4");
  NodeId follower = leader == 1 ? 2 : 1;
  auto add = c.ProposeRetrying(follower, {Proposal::Kind::kAddLearner, "", 4, Addr(4)});
  ASSERT_TRUE(add) << add.error();
  EXPECT_EQ(add->error, "");
  auto again = c.ProposeRetrying(leader, {Proposal::Kind::kAddLearner, "", 4, Addr(4)});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), "ERR node 4 is already a member");
  // The learner catches up with the state and says it is a learner.
  ASSERT_TRUE(c.Agree([](const ClusterState& s) {
    return s.pools.contains("a") && s.members.contains(4) && s.members.at(4).learner;
  }));
  EXPECT_EQ(c.node(4)->Status().role, "learner");
  EXPECT_NE(c.node(leader)->StatusText().find("4@127.0.0.1:7104(learner)"), std::string::npos);
  // Promote (retried while it has not caught up).
  ProposalResult promote = std::unexpected(std::string());
  for (int attempt = 0; attempt < 100; ++attempt) {
    promote = c.ProposeRetrying(leader, {Proposal::Kind::kPromote, "", 4, ""});
    if (promote || promote.error().find("not caught up") == std::string::npos) break;
    c.Backoff();
  }
  ASSERT_TRUE(promote) << promote.error();
  ASSERT_TRUE(c.RunUntil([&] { return c.node(4)->Status().role == "follower"; }));
  ASSERT_TRUE(c.Agree([](const ClusterState& s) {
    return s.members.contains(4) && !s.members.at(4).learner && s.members.at(4).joined;
  }));
  // Remove a follower other than the new one.
  NodeId victim = leader == 3 ? 2 : 3;
  auto remove = c.ProposeRetrying(leader, {Proposal::Kind::kRemove, "", victim, ""});
  ASSERT_TRUE(remove) << remove.error();
  c.StopNode(victim);
  ASSERT_TRUE(c.Agree(
      [&](const ClusterState& s) { return s.members.size() == 3 && !s.members.contains(victim); }));
  EXPECT_FALSE(c.transport(leader)->peers().contains(victim));
  EXPECT_TRUE(c.transport(leader)->peers().contains(4));
  // The remaining three (with the new voter) still commit.
  auto r = c.ProposeRetrying(4, Command(SetPool{1, Pool("a", 3)}));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->error, "");
}

TEST(NodeTest, OneMembershipChangeAtATime) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ProposeRetrying(leader, Command(SetPool{0, Pool("a", 1)})));
  std::optional<ProposalResult> first, second;
  c.node(leader)->Propose({Proposal::Kind::kAddLearner, "", 4, Addr(4)},
                          [&](ProposalResult r) { first = std::move(r); });
  c.node(leader)->Propose({Proposal::Kind::kAddLearner, "", 5, Addr(5)},
                          [&](ProposalResult r) { second = std::move(r); });
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->error(), "ERR one membership change at a time");
  ASSERT_TRUE(c.RunUntil([&] { return first.has_value(); }));
  EXPECT_TRUE(*first) << first->error();
}

TEST(NodeTest, AWipedDataDirectoryRefusesToRejoinUnderItsOldId) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  ASSERT_NE(c.WaitLeader(), kNoNode);
  ASSERT_TRUE(c.Agree(
      [](const ClusterState& s) { return s.members.size() == 3 && s.members.at(3).joined; }));
  EXPECT_EQ(c.node(1)->OnAskMember(3), MemberState::kJoined);
  EXPECT_EQ(c.node(1)->OnAskMember(9), MemberState::kNotMember);
  c.StopNode(3);
  std::filesystem::remove_all(c.Dir(3));
  ASSERT_EQ(c.StartNode(3), "");
  ASSERT_TRUE(c.RunUntil([&] { return !c.fatal(3).empty(); }));
  EXPECT_NE(c.fatal(3).find("is empty but node 3 already joined cluster"), std::string::npos)
      << c.fatal(3);
  EXPECT_NE(c.fatal(3).find("RINGLEADER CLUSTER REMOVE 3"), std::string::npos);
  EXPECT_EQ(c.node(3)->core(), nullptr);  // never bootstrapped
}

TEST(NodeTest, ADataDirectoryOfAnotherNodeIsRefused) {
  Cluster c(3);
  ASSERT_EQ(c.StartNode(1), "");
  c.StopNode(1);
  std::filesystem::rename(c.Dir(1), c.Dir(2));
  std::string error = c.StartNode(2);
  EXPECT_NE(error.find("belongs to another node or cluster"), std::string::npos) << error;
}

TEST(NodeTest, CompactionBoundsTheLogAndALaggingNodeCatchesUpBySnapshot) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3, /*snapshot_entries=*/20);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  NodeId lagging = leader == 3 ? 2 : 3;
  c.StopNode(lagging);
  for (uint64_t e = 0; e < 120; ++e) {
    auto r = c.ProposeRetrying(leader, Command(SetPool{e, Pool("a", 1 + e % 3)}));
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r->error, "");
  }
  EXPECT_GE(c.node(leader)->compactions(), 4u);
  EXPECT_GT(c.node(leader)->core()->log().FirstIndex(), 100u);
  // Whole segments at or below the snapshot are removed: the directory stays small.
  size_t segments = 0;
  for (const auto& f : std::filesystem::directory_iterator(c.Dir(leader) + "/raft")) {
    segments += f.path().extension() == ".log";
  }
  EXPECT_LE(segments, 4u);
  ASSERT_EQ(c.StartNode(lagging), "");
  ASSERT_TRUE(c.Agree(
      [](const ClusterState& s) { return s.pools.contains("a") && s.pools.at("a").epoch == 120; }));
  // It got there by a snapshot: its log starts after the entries it never saw.
  EXPECT_GT(c.node(lagging)->core()->log().snapshot().meta.index, 20u);
  // And it restarts from that snapshot.
  ClusterState state = c.node(lagging)->state();
  c.StopNode(lagging);
  ASSERT_EQ(c.StartNode(lagging), "");
  ASSERT_TRUE(c.RunUntil([&] { return c.node(lagging)->state() == state; }));
}

TEST(NodeTest, LeadershipTransferAnswersOnceTheTargetLeads) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ProposeRetrying(leader, Command(SetPool{0, Pool("a", 1)})));
  NodeId target = leader == 3 ? 1 : leader + 1;
  auto r = c.ProposeRetrying(leader, {Proposal::Kind::kTransfer, "", target, ""});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(c.WaitLeader(), target);
}

TEST(NodeTest, ReadBarrierOnTheLeaderSeesEveryCommittedChange) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  auto w = c.ProposeRetrying(leader, Command(SetPool{0, Pool("a", 1)}));
  ASSERT_TRUE(w) << w.error();
  // Held until the leader has committed an entry of its term (it has), then confirmed.
  std::expected<Index, std::string> read = std::unexpected(std::string("never tried"));
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::optional<std::expected<Index, std::string>> r;
    c.node(leader)->ReadBarrier([&](auto result) { r = std::move(result); });
    ASSERT_TRUE(c.RunUntil([&] { return r.has_value(); }));
    read = std::move(*r);
    if (read || !read.error().starts_with("TRYAGAIN")) break;
    c.Backoff();
  }
  ASSERT_TRUE(read) << read.error();
  EXPECT_GE(*read, w->index);
  EXPECT_TRUE(c.node(leader)->state().pools.contains("a"));
  NodeId follower = leader == 1 ? 2 : 1;
  std::optional<std::expected<Index, std::string>> refused;
  c.node(follower)->ReadBarrier([&](auto r) { refused = std::move(r); });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->error(), "TRYAGAIN not the leader, leader is " + std::to_string(leader));
}

TEST(NodeTest, StopFailsPendingProposals) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  for (NodeId id = 1; id <= 3; ++id) {
    if (id != leader) c.StopNode(id);  // no quorum: the proposal cannot commit
  }
  std::optional<ProposalResult> result;
  c.node(leader)->Propose(Command(SetPool{0, Pool("a", 1)}),
                          [&](ProposalResult r) { result = std::move(r); });
  c.StopNode(leader);
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(*result);
  EXPECT_TRUE(result->error() == "TRYAGAIN shutting down" ||
              result->error() == "TRYAGAIN no leader")
      << result->error();
}

TEST(NodeTest, ClusterIdDependsOnMembersNotOrder) {
  std::vector<MemberInfo> a = {{1, "h:1"}, {2, "h:2"}};
  std::vector<MemberInfo> b = {{2, "h:2"}, {1, "h:1"}};
  std::vector<MemberInfo> other = {{1, "h:1"}, {2, "h:3"}};
  EXPECT_EQ(ClusterId(a), ClusterId(b));
  EXPECT_NE(ClusterId(a), ClusterId(other));
}

// --- fencing tokens minted by the cluster (lock/raft_token_source.h) ---

TEST(NodeTest, ReserveTokensGivesTheBlockBackToTheProposerAlsoWhenForwarded) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  NodeId follower = leader == 1 ? 2 : 1;
  auto a = c.ProposeRetrying(follower, Command(ReserveTokens{100}));
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->error, "");
  EXPECT_EQ(a->value, 1u);
  EXPECT_GT(c.transport(follower)->forwarded, 0);
  auto b = c.ProposeRetrying(leader, Command(ReserveTokens{5}));
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->value, 101u);
  auto refused = c.ProposeRetrying(leader, Command(ReserveTokens{0}));
  ASSERT_TRUE(refused) << refused.error();
  EXPECT_NE(refused->error, "");
  EXPECT_EQ(refused->value, 0u);
  ASSERT_TRUE(c.Agree([](const ClusterState& s) { return s.tokens == 105; }));
}

// Reserves through `source` on c's loop, retrying TRYAGAIN failures (an election) within the
// bound; the block, or the last error.
std::expected<lock::TokenBlock, lock::Error> ReserveRetrying(Cluster& c,
                                                             lock::RaftTokenSource& source,
                                                             uint64_t n) {
  std::expected<lock::TokenBlock, lock::Error> last =
      std::unexpected(lock::Error{lock::Error::Code::kNoQuorum, "never tried"});
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::optional<std::expected<lock::TokenBlock, lock::Error>> r;
    source.Reserve(n, [&](std::expected<lock::TokenBlock, lock::Error> b) { r = std::move(b); });
    EXPECT_TRUE(c.RunUntil([&] { return r.has_value(); }));
    if (!r) break;
    last = std::move(*r);
    if (last || last.error().code != lock::Error::Code::kNoQuorum) break;
    c.Backoff();
  }
  return last;
}

lock::RaftTokenSource SourceOn(Cluster& c, NodeId id, uint64_t block) {
  return lock::RaftTokenSource(
      [&c, id](Proposal p, ProposalDone done) {
        c.node(id)->Propose(std::move(p), std::move(done));
      },
      {block});
}

TEST(NodeTest, RaftTokenSourceReservesBlocksAndCoalescesConcurrentReserves) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  NodeId follower = leader == 1 ? 2 : 1;
  auto source = SourceOn(c, follower, 50);
  auto first = ReserveRetrying(c, source, 10);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->first, 1u);
  EXPECT_EQ(first->count, 10u);
  uint64_t proposals = source.stats().proposals;
  // Served from the block: no proposal, and synchronously.
  std::optional<lock::TokenBlock> local;
  source.Reserve(10, [&](auto b) { local = b.value(); });
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->first, 11u);
  EXPECT_EQ(source.stats().proposals, proposals);
  // Sixteen Reserves of 5: six from the rest of the block (21..50); the seventh proposes, and the
  // nine that arrive while it is in flight wait for it and share its block.
  std::vector<lock::TokenBlock> blocks;
  for (int i = 0; i < 16; ++i) {
    source.Reserve(5, [&](std::expected<lock::TokenBlock, lock::Error> b) {
      ASSERT_TRUE(b) << b.error().message;
      blocks.push_back(*b);
    });
  }
  EXPECT_EQ(blocks.size(), 6u);
  ASSERT_TRUE(c.RunUntil([&] { return blocks.size() == 16; }));
  EXPECT_EQ(source.stats().proposals, proposals + 1);
  for (size_t i = 1; i < blocks.size(); ++i) EXPECT_EQ(blocks[i].first, blocks[i - 1].first + 5);
  EXPECT_EQ(blocks[0].first, 21u);
  EXPECT_EQ(blocks[6].first, 51u);
  // A request larger than the block reserves what it needs.
  auto big = ReserveRetrying(c, source, 500);
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(big->count, 500u);
  EXPECT_GT(big->first, blocks.back().first);
  std::optional<lock::Error> invalid;
  source.Reserve(0, [&](auto b) { invalid = b.error(); });
  ASSERT_TRUE(invalid.has_value());
  EXPECT_EQ(invalid->code, lock::Error::Code::kInvalid);
}

TEST(NodeTest, RaftTokensGrowAcrossMembersFailoverAndRestarts) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  uint64_t highest = 0;
  std::set<uint64_t> seen;
  auto take = [&](lock::RaftTokenSource& source, uint64_t n) {
    auto b = ReserveRetrying(c, source, n);
    ASSERT_TRUE(b) << b.error().message;
    // Every block any source ever got lies above every earlier block of every source.
    EXPECT_GT(b->first, highest);
    for (uint64_t t = b->first; t < b->first + b->count; ++t) EXPECT_TRUE(seen.insert(t).second);
    highest = b->first + b->count - 1;
  };
  {
    auto s1 = SourceOn(c, 1, 20);
    auto s2 = SourceOn(c, 2, 20);
    auto s3 = SourceOn(c, 3, 20);
    take(s1, 20);
    take(s2, 20);
    take(s3, 20);
    take(s1, 20);
  }
  // The leader goes: a new leader continues the counter.
  c.StopNode(leader);
  ASSERT_NE(c.WaitLeader(), kNoNode);
  NodeId survivor = leader == 1 ? 2 : 1;
  {
    auto s = SourceOn(c, survivor, 20);
    take(s, 20);
  }
  // It comes back (a new incarnation of its source), then every node restarts.
  ASSERT_EQ(c.StartNode(leader), "");
  {
    auto s = SourceOn(c, leader, 20);
    take(s, 20);
  }
  for (NodeId id = 1; id <= 3; ++id) c.StopNode(id);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  ASSERT_NE(c.WaitLeader(), kNoNode);
  for (NodeId id = 1; id <= 3; ++id) {
    auto s = SourceOn(c, id, 20);
    take(s, 7);
  }
  ASSERT_TRUE(c.Agree([&](const ClusterState& s) { return s.tokens >= highest; }));
}

TEST(NodeTest, RaftTokenSourceAdvancePastSkipsTheCachedBlockToo) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  auto source = SourceOn(c, leader, 1000);
  auto first = ReserveRetrying(c, source, 1);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->first, 1u);
  // A master has seen 500, inside the block this source still holds.
  std::optional<std::expected<void, lock::Error>> advanced;
  source.AdvancePast(500, [&](auto r) { advanced = r; });
  ASSERT_TRUE(c.RunUntil([&] { return advanced.has_value(); }));
  ASSERT_TRUE(*advanced) << advanced->error().message;
  auto next = ReserveRetrying(c, source, 1);
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->first, 501u);  // the rest of the block, past the mark: no proposal needed
  // Past the whole block: the next token comes from a new one above the mark.
  advanced.reset();
  source.AdvancePast(5000, [&](auto r) { advanced = r; });
  ASSERT_TRUE(c.RunUntil([&] { return advanced.has_value(); }));
  ASSERT_TRUE(*advanced) << advanced->error().message;
  ASSERT_TRUE(c.Agree([](const ClusterState& s) { return s.tokens == 5000; }));
  auto after = ReserveRetrying(c, source, 1);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->first, 5001u);
}

TEST(NodeTest, RaftTokenSourceFailsWithoutQuorum) {
  SCOPED_TRACE(testing::SeedNote());
  Cluster c(3);
  for (NodeId id = 1; id <= 3; ++id) ASSERT_EQ(c.StartNode(id), "");
  NodeId leader = c.WaitLeader();
  ASSERT_NE(leader, kNoNode);
  for (NodeId id = 1; id <= 3; ++id) {
    if (id != leader) c.StopNode(id);
  }
  auto source = SourceOn(c, leader, 10);
  std::optional<std::expected<lock::TokenBlock, lock::Error>> r;
  source.Reserve(1, [&](auto b) { r = std::move(b); });
  ASSERT_TRUE(c.RunUntil([&] { return r.has_value(); }, milliseconds(10000)));
  ASSERT_FALSE(*r);
  EXPECT_EQ(r->error().code, lock::Error::Code::kNoQuorum);
  EXPECT_TRUE(r->error().message.starts_with("TRYAGAIN")) << r->error().message;
  EXPECT_EQ(source.stats().failures, 1u);
  c.StopNode(leader);
}

TEST(NodeTest, RaftTokenSourceDestroyedWithAProposalInFlightIsNeverCalledBack) {
  std::vector<ProposalDone> held;
  bool called = false;
  {
    lock::RaftTokenSource source(
        [&](Proposal, ProposalDone done) { held.push_back(std::move(done)); }, {10});
    source.Reserve(1, [&](auto) { called = true; });
    source.AdvancePast(7, [&](auto) { called = true; });
  }
  ASSERT_EQ(held.size(), 2u);
  held[0](ProposalOutcome{5, "", 1});
  held[1](ProposalOutcome{6, ""});
  EXPECT_FALSE(called);
}

TEST(NodeTest, RaftTokenSourceMayBeDestroyedByACompletionInsideTheCall) {
  auto refuse = [](Proposal, ProposalDone done) {
    done(std::unexpected(std::string("TRYAGAIN no leader")));
  };
  auto source = std::make_unique<lock::RaftTokenSource>(refuse, lock::RaftTokenSource::Options{});
  int failures = 0;
  source->Reserve(1, [&](std::expected<lock::TokenBlock, lock::Error> b) {
    EXPECT_FALSE(b);
    ++failures;
    source.reset();
  });
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(source, nullptr);
  source = std::make_unique<lock::RaftTokenSource>(refuse, lock::RaftTokenSource::Options{});
  source->AdvancePast(9, [&](std::expected<void, lock::Error> r) {
    EXPECT_FALSE(r);
    ++failures;
    source.reset();
  });
  EXPECT_EQ(failures, 2);
}

}  // namespace
}  // namespace rl::raft
