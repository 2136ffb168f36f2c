// The reload plan (proxy/host/reload_plan.h) as a pure function of two configurations: what it
// reports per kind of server change and setting, and that the moved share it computes from
// ring::Diff matches the fraction of keys whose owner really changes (checked key by key).
#include "proxy/host/reload_plan.h"

#include <random>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "proxy/host/reloader.h"
#include "ring/ring.h"
#include "tests/support/test_seed.h"

namespace rl::proxy {
namespace {

std::string PoolYaml(const std::string& servers, const std::string& extra = "",
                     const std::string& name = "main", int port = 22121) {
  return name + ":\n  listen: 127.0.0.1:" + std::to_string(port) +
         "\n  redis: true\n  hash: fnv1a_64\n  distribution: ketama\n  timeout: 400\n" + extra +
         "  servers:\n" + servers;
}

const std::string kThree =
    "    - 127.0.0.1:7001:1 r1\n    - 127.0.0.1:7002:1 r2\n    - 127.0.0.1:7003:1 r3\n";

conf::Config Load(const std::string& yaml) {
  auto config = conf::Parse(yaml, "test.yml");
  if (!config) {
    for (const auto& e : config.error()) ADD_FAILURE() << e.ToString();
    return {};
  }
  return *config;
}

// The plan from `before` (served at epoch 7) to `after`.
ReloadPlan Plan(const std::string& before, const std::string& after) {
  conf::Config started = Load(before);
  std::vector<ServedPool> served;
  for (const conf::Pool& p : started.pools) served.push_back({.pool = p, .epoch = 7});
  return PlanReload(started, served, Load(after));
}

bool HasLine(const std::vector<std::string>& lines, const std::string& part) {
  for (const std::string& l : lines) {
    if (l.find(part) != std::string::npos) return true;
  }
  return false;
}

// The fraction of 20000 random keys (seeded by TestSeed) whose owner's identity differs between
// the pools' rings.
double KeysMoving(const conf::Pool& a, const conf::Pool& b) {
  ring::Ring ra = ring::Ring::Build(a.RingMembers(), a.RingOptions());
  ring::Ring rb = ring::Ring::Build(b.RingMembers(), b.RingOptions());
  SCOPED_TRACE(rl::testing::SeedNote());
  std::mt19937_64 random(rl::testing::TestSeed());
  int moved = 0;
  constexpr int kKeys = 20000;
  for (int i = 0; i < kKeys; ++i) {
    std::string key = fmt::format("{:x}:{}", random(), i);
    if (ra.members()[ra.Lookup(key)].identity != rb.members()[rb.Lookup(key)].identity) ++moved;
  }
  return static_cast<double>(moved) / kKeys;
}

TEST(ReloadPlan, UnchangedFileHasNothingToApply) {
  ReloadPlan plan = Plan(PoolYaml(kThree), PoolYaml(kThree));
  ASSERT_EQ(plan.pools.size(), 1u);
  EXPECT_FALSE(plan.Applies());
  EXPECT_FALSE(plan.MovesKeys());
  EXPECT_EQ(plan.pools[0].epoch, 7u);
  EXPECT_TRUE(plan.restart.empty());
  EXPECT_TRUE(HasLine(RenderPlan(plan, {}), "unchanged"));
}

TEST(ReloadPlan, AddressChangeUnderTheSameNameMovesNoKey) {
  std::string after =
      "    - 127.0.0.1:7001:1 r1\n    - 127.0.0.1:7009:1 r2\n    - 127.0.0.1:7003:1 r3\n";
  ReloadPlan plan = Plan(PoolYaml(kThree), PoolYaml(after));
  const PoolPlan& p = plan.pools.at(0);
  EXPECT_TRUE(p.placement_changed);
  EXPECT_FALSE(p.MovesKeys());
  EXPECT_TRUE(HasLine(p.servers, "address of r2: 127.0.0.1:7002 -> 127.0.0.1:7009"));
  EXPECT_EQ(p.apply.servers.at(1).address.port, 7009);
  EXPECT_TRUE(HasLine(RenderPlan(plan, {}), "keys moving: none"));
}

TEST(ReloadPlan, AddedServerTakesKeysOnlyFromOthersAndTheShareMatchesTheKeys) {
  std::string after = kThree + "    - 127.0.0.1:7004:1 r4\n";
  ReloadPlan plan = Plan(PoolYaml(kThree), PoolYaml(after));
  const PoolPlan& p = plan.pools.at(0);
  EXPECT_TRUE(HasLine(p.servers, "added r4 (127.0.0.1:7004) weight 1"));
  ASSERT_TRUE(p.MovesKeys());
  double sum = 0;
  for (const KeyMove& m : p.moves) {
    EXPECT_EQ(m.to, "r4");
    EXPECT_NE(m.from, "r4");
    EXPECT_GT(m.source_share, 0);
    EXPECT_LE(m.source_share, 1);
    sum += m.share;
  }
  EXPECT_NEAR(sum, p.moved_share, 1e-9);
  // ketama: adding one of four equal servers moves about a quarter of the keys.
  EXPECT_NEAR(p.moved_share, 0.25, 0.08);
  EXPECT_NEAR(p.moved_share, KeysMoving(p.served, p.apply), 0.02);
}

TEST(ReloadPlan, RemovedServerGivesAwayExactlyItsKeys) {
  std::string after = "    - 127.0.0.1:7001:1 r1\n    - 127.0.0.1:7003:1 r3\n";
  ReloadPlan plan = Plan(PoolYaml(kThree), PoolYaml(after));
  const PoolPlan& p = plan.pools.at(0);
  EXPECT_TRUE(HasLine(p.servers, "removed r2 (127.0.0.1:7002)"));
  for (const KeyMove& m : p.moves) {
    EXPECT_EQ(m.from, "r2");
  }
  // Every key of r2 leaves it: the source shares add up to the whole of r2's space.
  double from_r2 = 0;
  for (const KeyMove& m : p.moves) from_r2 += m.source_share;
  EXPECT_NEAR(from_r2, 1.0, 1e-9);
  EXPECT_NEAR(p.moved_share, KeysMoving(p.served, p.apply), 0.02);
}

TEST(ReloadPlan, ReweightAndRename) {
  std::string after =
      "    - 127.0.0.1:7001:3 r1\n    - 127.0.0.1:7002:1 r9\n    - 127.0.0.1:7003:1 r3\n";
  ReloadPlan plan = Plan(PoolYaml(kThree), PoolYaml(after));
  const PoolPlan& p = plan.pools.at(0);
  EXPECT_TRUE(HasLine(p.servers, "reweighted r1: weight 1 -> 3"));
  EXPECT_TRUE(HasLine(p.servers, "renamed r2 -> r9 (127.0.0.1:7002)"));
  EXPECT_FALSE(HasLine(p.servers, "added"));
  EXPECT_FALSE(HasLine(p.servers, "removed"));
  ASSERT_TRUE(p.MovesKeys());
  EXPECT_NEAR(p.moved_share, KeysMoving(p.served, p.apply), 0.02);
}

TEST(ReloadPlan, ModulaShareIsSampledAndMatchesTheKeys) {
  std::string mod = "  distribution: modula\n";
  auto yaml = [&](const std::string& servers) {
    return "main:\n  listen: 127.0.0.1:22121\n  redis: true\n  hash: fnv1a_64\n" + mod +
           "  servers:\n" + servers;
  };
  ReloadPlan plan = Plan(yaml(kThree), yaml(kThree + "    - 127.0.0.1:7004:1 r4\n"));
  const PoolPlan& p = plan.pools.at(0);
  ASSERT_TRUE(p.MovesKeys());
  EXPECT_NEAR(p.moved_share, KeysMoving(p.served, p.apply), 0.02);
  EXPECT_GT(p.moved_share, 0.5);  // modula moves most keys
}

TEST(ReloadPlan, HashChangeMovesKeys) {
  std::string before = PoolYaml(kThree);
  std::string after = before;
  after.replace(after.find("fnv1a_64"), 8, "murmur");
  ReloadPlan plan = Plan(before, after);
  const PoolPlan& p = plan.pools.at(0);
  EXPECT_TRUE(HasLine(p.servers, "hash: fnv1a_64 -> murmur"));
  ASSERT_TRUE(p.MovesKeys());
  EXPECT_NEAR(p.moved_share, KeysMoving(p.served, p.apply), 0.02);
}

TEST(ReloadPlan, SettingsApplyAtOnceOrNeedARestart) {
  std::string before = PoolYaml(kThree, "  server_retry_timeout: 1000\n");
  std::string after = before;
  after.replace(after.find("timeout: 400"), 12, "timeout: 900");
  after.replace(after.find("server_retry_timeout: 1000"), 26, "server_retry_timeout: 50");
  after.replace(after.find("127.0.0.1:22121"), 15, "127.0.0.1:22999");
  after += "";
  after.insert(after.find("  servers:"), "  workers: 2\n  auto_eject_hosts: true\n");
  ReloadPlan plan = Plan(before, after);
  const PoolPlan& p = plan.pools.at(0);
  EXPECT_FALSE(p.placement_changed);
  EXPECT_FALSE(p.MovesKeys());
  EXPECT_TRUE(HasLine(p.settings, "timeout: 400 ms -> 900 ms"));
  EXPECT_TRUE(HasLine(p.settings, "server_retry_timeout: 1000 ms -> 50 ms"));
  EXPECT_TRUE(HasLine(p.settings, "auto_eject_hosts: false -> true"));
  EXPECT_TRUE(HasLine(p.restart, "listen: 127.0.0.1:22121 -> 127.0.0.1:22999"));
  EXPECT_TRUE(HasLine(p.restart, "workers: 1 -> 2"));
  // What is applied keeps the restart-only settings as served.
  EXPECT_EQ(p.apply.listen.port, 22121);
  EXPECT_EQ(p.apply.workers, 1);
  EXPECT_EQ(p.apply.timeout->count(), 900);
  EXPECT_TRUE(p.apply.auto_eject_hosts);
  std::vector<std::string> lines = RenderPlan(plan, {});
  EXPECT_TRUE(HasLine(lines, "setting timeout: 400 ms -> 900 ms (applies at once)"));
  EXPECT_TRUE(HasLine(lines, "setting workers: 1 -> 2 (needs a restart)"));
}

TEST(ReloadPlan, PoolsAddedOrRemovedNeedARestart) {
  std::string before = PoolYaml(kThree) + PoolYaml(kThree, "", "old", 22122);
  std::string after = PoolYaml(kThree) + PoolYaml(kThree, "", "fresh", 22123);
  ReloadPlan plan = Plan(before, after);
  ASSERT_EQ(plan.pools.size(), 1u);
  EXPECT_TRUE(HasLine(plan.restart, "pool 'fresh' is new"));
  EXPECT_TRUE(HasLine(plan.restart, "pool 'old' is not in the file"));
  EXPECT_FALSE(plan.Applies());
}

TEST(ReloadPlan, EstimateIsDbsizeTimesTheSourcesMovingFraction) {
  std::string after = "    - 127.0.0.1:7001:1 r1\n    - 127.0.0.1:7003:1 r3\n";
  ReloadPlan plan = Plan(PoolYaml(kThree), PoolYaml(after));
  std::vector<std::string> lines = RenderPlan(plan, {{"main", {{"r2", 1000}}}});
  // r2's keys all leave it, split between r1 and r3.
  uint64_t total = 0;
  for (const std::string& line : lines) {
    auto at = line.find("about ");
    if (line.find("r2 -> ") == std::string::npos || at == std::string::npos) continue;
    EXPECT_NE(line.find("(estimate: DBSIZE 1000 x"), std::string::npos) << line;
    total += std::stoull(line.substr(at + 6));
  }
  EXPECT_NEAR(static_cast<double>(total), 1000, 1);
  EXPECT_TRUE(HasLine(lines, "RELOAD migrates the moving keys online"));
  // Without a count the estimate says it is unknown.
  EXPECT_TRUE(HasLine(RenderPlan(plan, {}), "keys: unknown"));
}

// Without a migration driver (a cluster) a key-moving change is refused.
TEST(ReloadPlan, KeyMovingChangeIsRefusedNamingTheShare) {
  ReloadPlan plan = Plan(PoolYaml(kThree), PoolYaml(kThree + "    - 127.0.0.1:7004:1 r4\n"));
  const PoolPlan& p = plan.pools.at(0);
  auto started = StartKeyMigration(p, nullptr);
  ASSERT_FALSE(started.has_value());
  EXPECT_NE(started.error().find("runs only in a standalone process"), std::string::npos);
  EXPECT_NE(
      started.error().find(fmt::format("moves {:.2f}% of the hash space", p.moved_share * 100)),
      std::string::npos)
      << started.error();
  EXPECT_NE(started.error().find("-> r4"), std::string::npos);
}

TEST(ReloadPlan, RingleaderSectionChangesNeedARestart) {
  std::string after = "ringleader:\n  shutdown_grace: 100\n" + PoolYaml(kThree);
  ReloadPlan plan = Plan(PoolYaml(kThree), after);
  EXPECT_TRUE(HasLine(plan.restart, "ringleader: shutdown_grace: 5000 ms -> 100 ms"));
}

}  // namespace
}  // namespace rl::proxy
