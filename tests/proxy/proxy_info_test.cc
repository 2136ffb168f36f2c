// INFO through ringleader against real redis-servers: Redis 7's sections and field names, the
// proxy's own values (clients, blocked clients, commandstats, rates), the data's values summed
// from the servers, and a server that does not answer named in a field, not failing INFO.
#include <signal.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "proxy/route/info_merge.h"
#include "proxy/session/info.h"
#include "tests/proxy/proxy_fixture.h"

namespace rl::testing {
namespace {

using Fields = std::map<std::string, std::string>;

Fields Parse(const std::string& text) {
  Fields out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find("\r\n", at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 2;
    size_t colon = line.find(':');
    if (line.empty() || line[0] == '#' || colon == std::string::npos) continue;
    out[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return out;
}

std::string Info(RedisClient& c, std::vector<std::string> args = {}) {
  args.insert(args.begin(), "INFO");
  auto r = c.Command(args);
  if (!r || r->type != REDIS_REPLY_STRING) return "<no bulk reply>";
  return std::string(r->str, r->len);
}

long long Num(const Fields& f, const std::string& name) {
  auto it = f.find(name);
  return it == f.end() ? -1 : std::atoll(it->second.c_str());
}

// The section titles of an INFO text, in order.
std::vector<std::string> Titles(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = text.find("# "); at != std::string::npos; at = text.find("\n# ", at + 1)) {
    size_t begin = text[at] == '#' ? at + 2 : at + 3;
    out.push_back(text.substr(begin, text.find("\r\n", begin) - begin));
  }
  return out;
}

class InfoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { t_ = ProxyUnderTest::Start(3).release(); }
  static void TearDownTestSuite() {
    delete t_;
    t_ = nullptr;
  }
  static ProxyUnderTest* t_;
};
ProxyUnderTest* InfoTest::t_ = nullptr;

TEST_F(InfoTest, SectionsInRedisOrderAndCaseInsensitive) {
  RedisClient c = t_->Client();
  const std::vector<std::string> kDefault = {"Server",     "Clients",     "Memory",   "Persistence",
                                             "Stats",      "Replication", "CPU",      "Modules",
                                             "Errorstats", "Cluster",     "Keyspace", "Ringleader"};
  EXPECT_EQ(Titles(Info(c)), kDefault);
  EXPECT_EQ(Titles(Info(c, {"default"})), kDefault);
  std::vector<std::string> all = kDefault;
  all.insert(all.end() - 1, {"Commandstats", "Latencystats"});
  EXPECT_EQ(Titles(Info(c, {"ALL"})), all);
  EXPECT_EQ(Titles(Info(c, {"everything"})), all);
  // Several sections in one call, in INFO's order whatever the arguments' order (as Redis 7).
  EXPECT_EQ(Titles(Info(c, {"Clients", "SERVER"})),
            (std::vector<std::string>{"Server", "Clients"}));
  EXPECT_EQ(Titles(Info(c, {"cluster", "nosuch"})), (std::vector<std::string>{"Cluster"}));
  EXPECT_EQ(Info(c, {"nosuch"}), "");
  Fields f = Parse(Info(c));
  for (const char* name : {"redis_version",
                           "redis_mode",
                           "os",
                           "arch_bits",
                           "process_id",
                           "run_id",
                           "tcp_port",
                           "uptime_in_seconds",
                           "executable",
                           "connected_clients",
                           "blocked_clients",
                           "maxclients",
                           "used_memory",
                           "used_memory_human",
                           "used_memory_rss",
                           "used_memory_peak",
                           "maxmemory",
                           "maxmemory_human",
                           "maxmemory_policy",
                           "mem_allocator",
                           "mem_fragmentation_ratio",
                           "loading",
                           "rdb_changes_since_last_save",
                           "rdb_last_bgsave_status",
                           "aof_enabled",
                           "total_connections_received",
                           "total_commands_processed",
                           "instantaneous_ops_per_sec",
                           "keyspace_hits",
                           "keyspace_misses",
                           "expired_keys",
                           "evicted_keys",
                           "role",
                           "connected_slaves",
                           "used_cpu_sys",
                           "used_cpu_user",
                           "used_cpu_sys_children",
                           "cluster_enabled",
                           "pool_servers",
                           "pool_servers_answered"}) {
    EXPECT_TRUE(f.contains(name)) << name;
  }
  EXPECT_EQ(f["redis_version"], "7.0.15");
  EXPECT_EQ(f["redis_mode"], "standalone");
  EXPECT_EQ(f["role"], "master");
  EXPECT_EQ(f["cluster_enabled"], "0");
  EXPECT_EQ(f["pool_servers"], "3");
  EXPECT_EQ(f["pool_servers_answered"], "3");
  EXPECT_FALSE(f.contains("pool_servers_failed"));
  EXPECT_EQ(f["tcp_port"], std::to_string(t_->port));
  EXPECT_EQ(f["rdb_last_bgsave_status"], "ok");
}

TEST_F(InfoTest, TheDataFieldsAreTheServersSummed) {
  RedisClient c = t_->Client();
  // Keys on every server, some with a TTL; hits and misses.
  for (size_t s = 0; s < 3; ++s) {
    for (int i = 0; i <= static_cast<int>(s); ++i) {
      std::string key = KeyOn(*t_, s, fmt::format("sum{}_{}_", s, i));
      ASSERT_STREQ(c.Command({"SET", key, "v"})->str, "OK");
      if (i == 0) {
        ASSERT_EQ(c.Command({"EXPIRE", key, "1000"})->integer, 1);
      }
      c.Command({"GET", key});
    }
    c.Command({"GET", KeyOn(*t_, s, "missing")});
  }
  Fields ours = Parse(Info(c, {"memory", "persistence", "stats", "keyspace"}));
  long long keys = 0, expires = 0, hits = 0, misses = 0, changes = 0, maxmemory = 0;
  std::string allocator;
  for (size_t s = 0; s < 3; ++s) {
    RedisClient d = t_->Direct(s);
    Fields theirs = Parse(Info(d, {"everything"}));
    std::string db0 = theirs["db0"];  // keys=N,expires=M,avg_ttl=T
    keys += std::atoll(db0.c_str() + db0.find("keys=") + 5);
    expires += std::atoll(db0.c_str() + db0.find("expires=") + 8);
    hits += Num(theirs, "keyspace_hits");
    misses += Num(theirs, "keyspace_misses");
    changes += Num(theirs, "rdb_changes_since_last_save");
    maxmemory += Num(theirs, "maxmemory");
    allocator = theirs["mem_allocator"];
  }
  std::string db0 = ours["db0"];
  EXPECT_TRUE(db0.starts_with(fmt::format("keys={},expires={},avg_ttl=", keys, expires))) << db0;
  EXPECT_EQ(Num(ours, "keyspace_hits"), hits);
  EXPECT_EQ(Num(ours, "keyspace_misses"), misses);
  EXPECT_EQ(Num(ours, "rdb_changes_since_last_save"), changes);
  EXPECT_EQ(Num(ours, "maxmemory"), maxmemory);
  EXPECT_EQ(ours["mem_allocator"], allocator);
  EXPECT_GE(hits, 6);
  EXPECT_GE(misses, 3);
  // used_memory is summed (three servers: more than any one) and its _human recomputed.
  long long used = Num(ours, "used_memory");
  EXPECT_GT(used, 3 * 500000) << "three servers' memory";
  EXPECT_EQ(ours["used_memory_human"], proxy::BytesToHuman(static_cast<double>(used)));
}

TEST_F(InfoTest, CommandstatsCountTheProxysCalls) {
  RedisClient c = t_->Client();
  auto before = Parse(Info(c, {"commandstats"}));
  for (int i = 0; i < 5; ++i) c.Command({"GET", "cmdstat-key"});
  c.Command({"CONFIG", "GET", "maxmemory"});
  c.Command({"SET", "cmdstat-str", "v"});
  c.Command({"LPUSH", "cmdstat-str", "x"});  // WRONGTYPE: a failed call
  Fields after = Parse(Info(c, {"commandstats"}));
  auto calls = [](Fields& f, const std::string& name) {
    std::string v = f["cmdstat_" + name];
    return v.empty() ? 0 : std::atoll(v.c_str() + 6);  // "calls=N,..."
  };
  EXPECT_EQ(calls(after, "get") - calls(before, "get"), 5);
  EXPECT_EQ(calls(after, "config|get") - calls(before, "config|get"), 1);
  EXPECT_NE(after["cmdstat_get"].find(",usec="), std::string::npos) << after["cmdstat_get"];
  EXPECT_NE(after["cmdstat_get"].find(",usec_per_call="), std::string::npos);
  EXPECT_NE(after["cmdstat_get"].find(",failed_calls=0"), std::string::npos);
  EXPECT_EQ(calls(after, "lpush") - calls(before, "lpush"), 1);
  std::string lpush = after["cmdstat_lpush"];
  auto failed = [](const std::string& v) {
    size_t at = v.find("failed_calls=");
    return at == std::string::npos ? -1 : std::atoll(v.c_str() + at + 13);
  };
  EXPECT_EQ(failed(lpush) - std::max(0LL, failed(before["cmdstat_lpush"])), 1) << lpush;
}

TEST_F(InfoTest, BlockedClientsCountsClientsWaitingInABlockingCommand) {
  RedisClient c = t_->Client();
  EXPECT_EQ(Num(Parse(Info(c, {"clients"})), "blocked_clients"), 0);
  auto blocked = t_->Raw();
  blocked->Send(Resp({"BLPOP", "info-blocked", "0"}));
  EXPECT_TRUE(WaitFor([&] { return Num(Parse(Info(c, {"clients"})), "blocked_clients") == 1; }));
  c.Command({"RPUSH", "info-blocked", "x"});
  EXPECT_EQ(blocked->ReadReply(), "*2\r\n$12\r\ninfo-blocked\r\n$1\r\nx\r\n");
  EXPECT_TRUE(WaitFor([&] { return Num(Parse(Info(c, {"clients"})), "blocked_clients") == 0; }));
  // A client that leaves while blocked is no longer counted.
  auto leaving = t_->Raw();
  leaving->Send(Resp({"BLPOP", "info-blocked", "0"}));
  EXPECT_TRUE(WaitFor([&] { return Num(Parse(Info(c, {"clients"})), "blocked_clients") == 1; }));
  leaving.reset();
  EXPECT_TRUE(WaitFor([&] { return Num(Parse(Info(c, {"clients"})), "blocked_clients") == 0; }));
}

TEST_F(InfoTest, OpsPerSecIsASampledRate) {
  RedisClient c = t_->Client();
  Info(c, {"stats"});  // a sample to measure from
  // Commands until the rate shows them (bounded): a rate over the last samples, not a total.
  bool seen = WaitFor([&] {
    for (int i = 0; i < 200; ++i) c.Append({"PING"});
    for (int i = 0; i < 200; ++i) c.GetReply();
    return Num(Parse(Info(c, {"stats"})), "instantaneous_ops_per_sec") > 0;
  });
  EXPECT_TRUE(seen);
}

TEST(InfoServerDownTest, AServerThatDoesNotAnswerIsNamedAndTheRestStillAnswer) {
  auto t = ProxyUnderTest::Start(2);
  RedisClient c = t->Client();
  std::string key0 = KeyOn(*t, 0);
  ASSERT_STREQ(c.Command({"SET", key0, "v"})->str, "OK");
  uint16_t port1 = t->redis[1]->port();
  t->redis[1]->process().Stop();
  Fields f = Parse(Info(c));
  EXPECT_EQ(f["pool_servers"], "2");
  EXPECT_EQ(f["pool_servers_answered"], "1");
  EXPECT_NE(f["pool_servers_failed"].find(fmt::format("r2 (127.0.0.1:{})", port1)),
            std::string::npos)
      << f["pool_servers_failed"];
  EXPECT_TRUE(f["db0"].starts_with("keys=1,")) << f["db0"];
  EXPECT_EQ(f["connected_clients"], "1");
}

// A server that accepts but does not answer (stopped) delays INFO by the bounded wait, then is
// named; the others' fields still come.
TEST(InfoServerDownTest, AStoppedServerIsWaitedForAtMostTheBound) {
  auto t = ProxyUnderTest::Start(2);
  RedisClient c = t->Client();
  ASSERT_STREQ(c.Command({"SET", KeyOn(*t, 0), "v"})->str, "OK");
  kill(t->redis[1]->pid(), SIGSTOP);
  auto start = std::chrono::steady_clock::now();
  Fields f = Parse(Info(c, {"keyspace", "server"}));
  auto waited = std::chrono::steady_clock::now() - start;
  kill(t->redis[1]->pid(), SIGCONT);
  EXPECT_EQ(f["pool_servers_answered"], "1");
  EXPECT_NE(f["pool_servers_failed"].find("r2 ("), std::string::npos) << f["pool_servers_failed"];
  EXPECT_TRUE(f["db0"].starts_with("keys=1,")) << f["db0"];
  // No earlier than the bound (the server never answered), and not much later.
  EXPECT_GE(waited, std::chrono::milliseconds(proxy::kInfoServerWaitMs));
  EXPECT_LT(waited, std::chrono::milliseconds(proxy::kInfoServerWaitMs) + std::chrono::seconds(4));
  // Back: every server answers again.
  EXPECT_TRUE(WaitFor([&] {
    return Parse(Info(c, {"server", "keyspace"}))["pool_servers_answered"] == "2";
  }));
  // Sections that are all the proxy's ask no server, and say nothing of them.
  EXPECT_FALSE(Parse(Info(c, {"server"})).contains("pool_servers_answered"));
}

TEST(InfoComposeTest, CombinesByFieldSource) {
  proxy::InfoInputs in;
  in.sections =
      proxy::kInfoMemory | proxy::kInfoPersistence | proxy::kInfoKeyspace | proxy::kInfoErrorstats;
  in.proxy = "used_memory_clients:7\r\n";
  in.servers = {
      "# Memory\r\nused_memory:1024\r\nused_memory_rss:2048\r\nmaxmemory_policy:noeviction\r\n"
      "mem_allocator:jemalloc-5.2.1\r\n# Persistence\r\nloading:0\r\nrdb_last_save_time:50\r\n"
      "rdb_last_bgsave_status:ok\r\n# Errorstats\r\nerrorstat_ERR:count=2\r\n"
      "# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=100\r\n",
      "# Memory\r\nused_memory:2048\r\nused_memory_rss:2048\r\nmaxmemory_policy:allkeys-lru\r\n"
      "# Persistence\r\nloading:1\r\nrdb_last_save_time:40\r\nrdb_last_bgsave_status:err\r\n"
      "# Errorstats\r\nerrorstat_ERR:count=1\r\nerrorstat_WRONGTYPE:count=4\r\n"
      "# Keyspace\r\ndb0:keys=5,expires=2,avg_ttl=300\r\n"};
  in.failures = {};
  EXPECT_EQ(proxy::ComposeInfo(in),
            "# Memory\r\nused_memory:3072\r\nused_memory_human:3.00K\r\nused_memory_rss:4096\r\n"
            "used_memory_rss_human:4.00K\r\nmaxmemory_policy:noeviction\r\n"
            "mem_fragmentation_ratio:1.33\r\nmem_allocator:jemalloc-5.2.1\r\n"
            "used_memory_clients:7\r\n"
            "\r\n# Persistence\r\nloading:1\r\nrdb_last_save_time:40\r\n"
            "rdb_last_bgsave_status:err\r\n"
            "\r\n# Errorstats\r\nerrorstat_ERR:count=3\r\nerrorstat_WRONGTYPE:count=4\r\n"
            "\r\n# Keyspace\r\ndb0:keys=15,expires=4,avg_ttl=200\r\n");
  EXPECT_EQ(proxy::BytesToHuman(1023), "1023B");
  EXPECT_EQ(proxy::BytesToHuman(1536), "1.50K");
  EXPECT_EQ(proxy::BytesToHuman(3.0 * 1024 * 1024 * 1024), "3.00G");
}

}  // namespace
}  // namespace rl::testing
