// `ringleader -c FILE --where KEY...` against the real nutcracker: keys SET through nutcracker
// land on exactly the server that --where names, for named servers (with a hash tag), unnamed
// TCP servers with unequal weights (identity host:port), and unnamed unix-socket servers (whose
// twemproxy identity is "path:"), and a modula pool whose names are not in sorted order. This
// checks conf's identities and ring options end to end.
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/conf/run_binary.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"

namespace rl::testing {
namespace {

constexpr int kKeysPerPool = 300;

std::string NutcrackerPath() {
  for (const char* candidate : {"/usr/sbin/nutcracker", "/usr/bin/nutcracker"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "nutcracker";
}

// Printable keys that cannot be mistaken for flags; every third one carries a hash tag.
std::vector<std::string> MakeKeys(const std::string& prefix, std::mt19937& rng) {
  const std::string alphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.{}";
  std::uniform_int_distribution<size_t> len(1, 24), pick(0, alphabet.size() - 1);
  std::set<std::string> keys;
  while (keys.size() < kKeysPerPool) {
    std::string key = prefix;
    for (size_t n = len(rng); n > 0; --n) key += alphabet[pick(rng)];
    if (keys.size() % 3 == 0) key += fmt::format("{{user{}}}", keys.size() % 17);
    keys.insert(key);
  }
  return {keys.begin(), keys.end()};
}

TEST(WhereCommandTest, AgreesWithNutcrackerPlacement) {
  SCOPED_TRACE(SeedNote());
  std::mt19937 rng(TestSeed());
  TempDir dir;

  std::vector<std::unique_ptr<RedisServer>> tcp;
  for (int i = 0; i < 3; ++i) {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.has_value()) << server.error();
    tcp.push_back(std::move(*server));
  }
  std::vector<std::unique_ptr<RedisServer>> unix_servers;
  std::vector<std::string> sockets;
  for (int i = 0; i < 2; ++i) {
    sockets.push_back(dir.File(fmt::format("r{}.sock", i)));
    auto server = RedisServer::Start({"--unixsocket", sockets.back(), "--unixsocketperm", "700"});
    ASSERT_TRUE(server.has_value()) << server.error();
    unix_servers.push_back(std::move(*server));
  }

  const uint16_t port_a = FreePort(), port_b = FreePort(), port_c = FreePort(), port_d = FreePort();
  const std::string conf =
      dir.Write("nutcracker.yml",
                fmt::format("named:\n"
                            "  listen: 127.0.0.1:{}\n"
                            "  redis: true\n"
                            "  hash: fnv1a_64\n"
                            "  hash_tag: \"{{}}\"\n"
                            "  servers:\n"
                            "   - 127.0.0.1:{}:1 r1\n"
                            "   - 127.0.0.1:{}:1 r2\n"
                            "   - 127.0.0.1:{}:1 r3\n"
                            "unnamed:\n"
                            "  listen: 127.0.0.1:{}\n"
                            "  redis: true\n"
                            "  hash: md5\n"
                            "  servers:\n"
                            "   - 127.0.0.1:{}:1\n"
                            "   - 127.0.0.1:{}:3\n"
                            "   - 127.0.0.1:{}:1\n"
                            "sockets:\n"
                            "  listen: 127.0.0.1:{}\n"
                            "  redis: true\n"
                            "  hash: murmur\n"
                            "  servers:\n"
                            "   - {}:1\n"
                            "   - {}:2\n"
                            "modula:\n"
                            "  listen: 127.0.0.1:{}\n"
                            "  redis: true\n"
                            "  hash: crc32a\n"
                            "  distribution: modula\n"
                            "  servers:\n"
                            "   - 127.0.0.1:{}:1 zz\n"
                            "   - 127.0.0.1:{}:2 a\n"
                            "   - 127.0.0.1:{}:1 mm\n",
                            port_a, tcp[0]->port(), tcp[1]->port(), tcp[2]->port(), port_b,
                            tcp[0]->port(), tcp[1]->port(), tcp[2]->port(), port_c, sockets[0],
                            sockets[1], port_d, tcp[0]->port(), tcp[1]->port(), tcp[2]->port()));

  const std::string nc_log = dir.File("nutcracker.log");
  auto nutcracker = ChildProcess::Spawn(
      {NutcrackerPath(), "-c", conf, "-s", std::to_string(FreePort()), "-o", nc_log});
  ASSERT_TRUE(nutcracker.has_value()) << nutcracker.error();
  for (uint16_t port : {port_a, port_b, port_c, port_d}) {
    ASSERT_TRUE(WaitForPort(port)) << "nutcracker did not listen on " << port << "; see " << nc_log;
  }

  // Pools share backends, so each pool's keys get their own prefix.
  const std::vector<std::pair<std::string, uint16_t>> pools = {
      {"named", port_a}, {"unnamed", port_b}, {"sockets", port_c}, {"modula", port_d}};
  std::vector<std::string> all_keys;
  std::map<std::string, std::string> pool_of;  // key -> pool
  for (const auto& [pool, port] : pools) {
    auto client = RedisClient::Connect(port);
    ASSERT_TRUE(client.has_value()) << client.error();
    for (const std::string& key : MakeKeys(pool.substr(0, 1) + "-", rng)) {
      client->Append({"SET", key, "v"});
      all_keys.push_back(key);
      pool_of[key] = pool;
    }
    for (int i = 0; i < kKeysPerPool; ++i) {
      auto reply = client->GetReply();
      ASSERT_NE(reply, nullptr);
      ASSERT_EQ(reply->type, REDIS_REPLY_STATUS) << (reply->str ? reply->str : "");
    }
  }

  // Where each key really is: backend address as --where prints it -> keys.
  std::map<std::string, std::string> located;  // key -> "127.0.0.1:port" or socket path
  auto collect = [&](RedisServer& server, const std::string& address) {
    auto client = server.Connect();
    ASSERT_TRUE(client.has_value()) << client.error();
    auto reply = client->Command({"KEYS", "*"});
    ASSERT_NE(reply, nullptr);
    ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < reply->elements; ++i) {
      located[std::string(reply->element[i]->str, reply->element[i]->len)] = address;
    }
  };
  for (auto& server : tcp) collect(*server, fmt::format("127.0.0.1:{}", server->port()));
  for (size_t i = 0; i < unix_servers.size(); ++i) collect(*unix_servers[i], sockets[i]);
  ASSERT_EQ(located.size(), all_keys.size());

  std::vector<std::string> argv = {RingleaderPath(), "-c", conf, "--where"};
  argv.insert(argv.end(), all_keys.begin(), all_keys.end());
  RunResult where = RunBinary(argv);
  ASSERT_EQ(where.exit_code, 0) << where.err;
  EXPECT_EQ(where.err, "");

  std::map<std::string, std::string> named_address;
  for (int i = 0; i < 3; ++i) {
    named_address[fmt::format("r{}", i + 1)] = fmt::format("127.0.0.1:{}", tcp[i]->port());
  }
  const std::string modula_names[] = {"zz", "a", "mm"};
  for (int i = 0; i < 3; ++i) {
    named_address[modula_names[i]] = fmt::format("127.0.0.1:{}", tcp[i]->port());
  }
  size_t checked = 0;
  std::map<std::string, std::set<std::string>> used;  // pool -> servers that received keys
  for (size_t start = 0, end; (end = where.out.find('\n', start)) != std::string::npos;
       start = end + 1) {
    std::string line = where.out.substr(start, end - start);
    std::vector<std::string> f;
    for (size_t s = 0, t; s <= line.size(); s = t + 1) {
      t = line.find('\t', s);
      if (t == std::string::npos) t = line.size();
      f.push_back(line.substr(s, t - s));
    }
    ASSERT_EQ(f.size(), 4u) << line;
    if (pool_of[f[0]] != f[1]) continue;  // the key was written through another pool
    EXPECT_EQ(located[f[0]], f[3])
        << "key '" << f[0] << "' pool " << f[1] << ": --where says " << f[2] << " " << f[3];
    // The name column is the ring identity: the name, else host:port, else "path:".
    if (f[1] == "named" || f[1] == "modula") {
      EXPECT_EQ(named_address[f[2]], f[3]) << line;
    }
    if (f[1] == "unnamed") {
      EXPECT_EQ(f[2], f[3]) << line;
    }
    if (f[1] == "sockets") {
      EXPECT_EQ(f[2], f[3] + ":") << line;
    }
    used[f[1]].insert(f[3]);
    ++checked;
  }
  EXPECT_EQ(checked, all_keys.size());
  // Every server of every pool received keys, so each identity was exercised.
  EXPECT_EQ(used["named"].size(), 3u);
  EXPECT_EQ(used["unnamed"].size(), 3u);
  EXPECT_EQ(used["sockets"].size(), 2u);
  EXPECT_EQ(used["modula"].size(), 3u);
}

}  // namespace
}  // namespace rl::testing
