// Publishing new topology snapshots to a running proxy (Proxy::Publish, PoolRouter::Apply) while
// several clients pipeline writes through two workers: no request fails, every key written after
// a swap completed lands on the server the new ring names (checked on the redis-servers
// themselves), and a server that left has its connections closed once drained.
#include <atomic>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/route/topology.h"
#include "ring/ring.h"
#include "tests/proxy/proxy_fixture.h"

namespace rl::testing {
namespace {

constexpr int kRedis = 4;      // r1..r4; the pool starts with r1..r3
constexpr int kClients = 4;    // writer threads, each with its own connection (see below)
constexpr int kPipeline = 32;  // requests per batch

conf::Server Named(const std::string& name, uint16_t port, uint32_t weight) {
  conf::Server s;
  s.address.kind = conf::Address::Kind::kTcp;
  s.address.host = "127.0.0.1";
  s.address.port = port;
  s.weight = weight;
  s.name = name;
  s.identity = name;
  return s;
}

// What one writer wrote: each key once. Its batch began once snapshot `from` was applied
// everywhere and ended before snapshot `to` was published: from == to means routed by that
// snapshot alone; otherwise a swap happened while the batch was in flight.
struct Written {
  std::string key;
  int from;
  int to;
};

class Writers {
 public:
  explicit Writers(uint16_t port) : port_(port) {}

  void Start() {
    for (int c = 0; c < kClients; ++c) threads_.emplace_back([this, c] { Run(c); });
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }
  // Snapshot `g` is about to be published.
  void Publishing(int g) { publishing_ = g; }
  // Snapshot `g` is applied by every worker: batches that begin from now on are routed by it.
  void Applied(int g) { generation_ = g; }
  // Waits (bounded) until every writer has completed a batch of generation `g`.
  bool WaitForGeneration(int g) {
    return WaitFor([&] {
      for (int c = 0; c < kClients; ++c) {
        if (done_generation_[c].load() < g) return false;
      }
      return true;
    });
  }

  std::vector<Written> written() const {
    std::vector<Written> all;
    for (const auto& list : written_) all.insert(all.end(), list.begin(), list.end());
    return all;
  }
  int errors() const { return errors_.load(); }
  const std::vector<std::string>& error_texts() const { return error_texts_; }

 private:
  void Run(int c) {
    auto client = RedisClient::Connect(port_);
    if (!client) {
      ++errors_;
      return;
    }
    long n = 0;
    while (!stop_) {
      int g = generation_.load();  // read before the batch is sent
      std::vector<std::string> keys;
      for (int i = 0; i < kPipeline; ++i) {
        keys.push_back("w" + std::to_string(c) + ":" + std::to_string(n++));
        client->Append({"SET", keys.back(), keys.back()});
        client->Append({"GET", keys.back()});
      }
      for (int i = 0; i < kPipeline; ++i) {
        std::string set = Str(client->GetReply());
        std::string get = Str(client->GetReply());
        if (set != "OK" || get != keys[static_cast<size_t>(i)]) {
          ++errors_;
          std::lock_guard lock(mu_);
          if (error_texts_.size() < 10) error_texts_.push_back(keys[i] + ": " + set + " / " + get);
        }
      }
      int to = publishing_.load();  // read after every reply arrived
      for (std::string& k : keys) written_[c].push_back({std::move(k), g, to});
      done_generation_[c] = g;
    }
  }

  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> generation_{0};
  std::atomic<int> publishing_{0};
  std::atomic<int> errors_{0};
  std::atomic<int> done_generation_[kClients] = {-1, -1, -1, -1};  // none completed yet
  std::vector<Written> written_[kClients];
  std::mutex mu_;
  std::vector<std::string> error_texts_;
  std::vector<std::thread> threads_;
};

TEST(TopologyPublishTest, AddRemoveReweightUnderPipelinedLoad) {
  auto t = ProxyUnderTest::StartYaml(
      "pool:\n  listen: 127.0.0.1:PORT\n  workers: 2\n  servers:\n"
      "    - 127.0.0.1:$1:1 r1\n    - 127.0.0.1:$2:1 r2\n    - 127.0.0.1:$3:1 r3\n",
      kRedis);
  std::map<std::string, size_t> redis_of;  // server name -> index in t->redis
  for (int i = 0; i < kRedis; ++i) redis_of["r" + std::to_string(i + 1)] = static_cast<size_t>(i);
  auto port_of = [&](const std::string& name) { return t->redis[redis_of[name]]->port(); };

  // The three changes, each from the previous one; generation g routes by rings[g].
  std::vector<conf::Pool> pools{t->config.pools[0]};
  conf::Pool added = pools.back();
  added.servers.push_back(Named("r4", port_of("r4"), 1));
  pools.push_back(added);
  conf::Pool removed = added;
  std::erase_if(removed.servers, [](const conf::Server& s) { return s.name == "r2"; });
  pools.push_back(removed);
  conf::Pool reweighted = removed;
  reweighted.servers[0].weight = 3;  // r1
  pools.push_back(reweighted);

  Writers writers(t->port);
  writers.Start();
  ASSERT_TRUE(writers.WaitForGeneration(0));
  std::vector<std::shared_ptr<const proxy::Topology>> published{t->proxy->CurrentTopology("pool")};
  ASSERT_NE(published[0], nullptr);
  for (size_t g = 1; g < pools.size(); ++g) {
    auto next =
        proxy::Topology::Build(pools[g], published.back()->epoch() + 1, published.back().get());
    ASSERT_TRUE(next.has_value()) << next.error();
    std::promise<void> applied;
    writers.Publishing(static_cast<int>(g));
    auto ok = t->proxy->Publish(*next, [&] { applied.set_value(); });
    ASSERT_TRUE(ok.has_value()) << ok.error();
    ASSERT_EQ(applied.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "the workers did not apply epoch " << (*next)->epoch();
    published.push_back(*next);
    writers.Applied(static_cast<int>(g));
    ASSERT_TRUE(writers.WaitForGeneration(static_cast<int>(g)));
  }
  writers.Stop();
  EXPECT_EQ(writers.errors(), 0) << ::testing::PrintToString(writers.error_texts());

  // Ids are stable: r1 and r3 kept theirs through every change, r4 got a new one.
  EXPECT_EQ(published[3]->servers()[0].id, published[0]->servers()[0].id);
  EXPECT_EQ(published[1]->servers()[3].id, 3u);
  EXPECT_EQ(published[3]->epoch(), 4u);

  // Where each key must be: on the server its snapshot's ring names, and on no other (every
  // key was written once); a key written while a swap was under way, on the old owner or the
  // new one.
  std::vector<RedisClient> direct;
  for (size_t i = 0; i < kRedis; ++i) direct.push_back(t->Direct(i));
  auto owner_in = [&](int g, const std::string& key) {
    const proxy::Topology& topology = *published[static_cast<size_t>(g)];
    return redis_of[topology.servers()[topology.ring().Lookup(key)].conf.name];
  };
  std::map<int, size_t> checked;
  size_t in_transition = 0;
  for (const Written& w : writers.written()) {
    std::vector<size_t> on;
    for (size_t i = 0; i < kRedis; ++i) {
      if (Str(direct[i].Command({"EXISTS", w.key})) == "1") on.push_back(i);
    }
    ASSERT_EQ(on.size(), 1u) << w.key << " is on " << on.size() << " servers";
    if (w.from == w.to) {
      ASSERT_EQ(on[0], owner_in(w.from, w.key))
          << w.key << " (snapshot " << w.from << ") is on r" << on[0] + 1;
      ++checked[w.from];
    } else {
      ASSERT_TRUE(on[0] == owner_in(w.from, w.key) || on[0] == owner_in(w.to, w.key))
          << w.key << " (snapshots " << w.from << ".." << w.to << ") is on r" << on[0] + 1;
      ++in_transition;
    }
  }
  for (int g = 0; g < 4; ++g) EXPECT_GT(checked[g], 0u) << "no keys routed by snapshot " << g;
  std::printf("keys checked per snapshot: %zu %zu %zu %zu; written during a swap: %zu\n",
              checked[0], checked[1], checked[2], checked[3], in_transition);

  // r2 left in generation 2: the proxy's connections to it close once drained, leaving ours.
  EXPECT_TRUE(WaitFor([&] {
    return Str(direct[redis_of["r2"]].Command({"INFO", "clients"})).find("connected_clients:1\r") !=
           std::string::npos;
  })) << Str(direct[redis_of["r2"]].Command({"CLIENT", "LIST"}));
}

TEST(TopologyPublishTest, RefusesStaleEpochsAndRestartOnlyChanges) {
  auto t = ProxyUnderTest::Start(2);
  auto current = t->proxy->CurrentTopology("pool");
  ASSERT_NE(current, nullptr);
  auto same_epoch = proxy::Topology::Build(t->config.pools[0], current->epoch(), current.get());
  ASSERT_TRUE(same_epoch.has_value());
  auto stale = t->proxy->Publish(*same_epoch);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error(), "pool 'pool' is at epoch 1: epoch 1 is not newer");

  conf::Pool moved = t->config.pools[0];
  moved.listen.port = static_cast<uint16_t>(moved.listen.port + 1);
  auto relisten = proxy::Topology::Build(moved, current->epoch() + 1, current.get());
  ASSERT_TRUE(relisten.has_value());
  auto refused = t->proxy->Publish(*relisten);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().find("only with a restart"), std::string::npos) << refused.error();

  conf::Pool more_conns = t->config.pools[0];
  more_conns.server_connections = 4;  // would move clients' requests to other connections
  auto reconnect = proxy::Topology::Build(more_conns, current->epoch() + 1, current.get());
  ASSERT_TRUE(reconnect.has_value());
  EXPECT_FALSE(t->proxy->Publish(*reconnect).has_value());

  conf::Pool unknown = t->config.pools[0];
  unknown.name = "other";
  auto other = proxy::Topology::Build(unknown, 2, nullptr);
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(t->proxy->Publish(*other).has_value());
  // Nothing was applied: the proxy still serves epoch 1.
  EXPECT_EQ(t->proxy->CurrentTopology("pool")->epoch(), 1u);
}

TEST(TopologyBuildTest, MalformedInputIsAnError) {
  conf::Pool pool;
  pool.name = "p";
  pool.servers.push_back(Named("a", 7000, 1));
  pool.servers.push_back(Named("a", 7001, 1));
  auto dup = proxy::Topology::Build(pool, 1);
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error(), "pool 'p': two members share the identity 'a'");
  pool.servers[1] = Named("b", 7001, 0);
  auto zero = proxy::Topology::Build(pool, 1);
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error(), "pool 'p': member 'b' has weight 0");
  pool.servers[1] = Named("b", 7001, 1);
  pool.servers[1].address.host = "no-such-host.invalid";
  auto unresolved = proxy::Topology::Build(pool, 1);
  ASSERT_FALSE(unresolved.has_value());
  EXPECT_NE(unresolved.error().find("cannot resolve 'no-such-host.invalid'"), std::string::npos)
      << unresolved.error();
}

TEST(TopologyBuildTest, IdsFollowIdentityNotPosition) {
  conf::Pool pool;
  pool.name = "p";
  pool.servers = {Named("a", 7000, 1), Named("b", 7001, 1), Named("c", 7002, 1)};
  auto first = proxy::Topology::Build(pool, 1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)->servers()[2].id, 2u);
  // Reordered, b gone, d new, a moved to another port under its name.
  pool.servers = {Named("c", 7002, 1), Named("d", 7003, 1), Named("a", 7010, 2)};
  auto second = proxy::Topology::Build(pool, 2, first->get());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ((*second)->servers()[0].id, 2u);  // c
  EXPECT_EQ((*second)->servers()[1].id, 3u);  // d: new, above every id given out
  EXPECT_EQ((*second)->servers()[2].id, 0u);  // a
  EXPECT_EQ((*second)->Find(1), nullptr);     // b left
  EXPECT_EQ((*second)->id_limit(), 4u);
  // b coming back is a new server to the pool.
  pool.servers.push_back(Named("b", 7001, 1));
  auto third = proxy::Topology::Build(pool, 3, second->get());
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ((*third)->servers()[3].id, 4u);
}

}  // namespace
}  // namespace rl::testing
