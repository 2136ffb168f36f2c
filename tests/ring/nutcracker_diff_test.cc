// The differential test against the real nutcracker (twemproxy 0.5.0, Debian's package): several
// redis-servers and one nutcracker with many pools (every hash function, ketama and modula, named
// and unnamed servers, unequal weights, hash tags, a unix-socket server, a port written with a
// leading zero). Thousands of seeded keys are SET through nutcracker, then every backend must hold
// exactly the keys that rl::ring assigns to it. An unnamed server on port 11211 is named by its
// bare host in nutcracker: that case has a test of its own, on the first loopback address
// (127.0.0.1 to 127.0.0.8) where the port is free, and is skipped, saying so, when none is.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "hiredis/hiredis.h"
#include "ring/ring.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"

namespace rl::ring {
namespace {

using rl::testing::ChildProcess;
using rl::testing::RedisClient;
using rl::testing::RedisServer;
using rl::testing::TempDir;

constexpr int kKeysPerPool = 6000;
constexpr int kBackends = 5;
constexpr int kPipelineBatch = 500;

// One redis-server the pools write to, on TCP and on a unix socket.
struct Backend {
  std::unique_ptr<RedisServer> redis;  // or, for the port-11211 backend, dir + child below
  std::optional<TempDir> dir;
  std::optional<ChildProcess> child;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string unix_path;  // every backend has one; the test reads the keys back through it
};

struct ServerSpec {
  int backend;
  uint32_t weight;
  std::string name;          // empty: unnamed
  bool via_unix = false;     // address the backend through its unix socket
  bool zero_padded = false;  // write the port as "0<port>"
};

struct PoolSpec {
  std::string name;
  std::string hash;
  std::string distribution;
  std::string hash_tag;  // empty: none
  std::vector<ServerSpec> servers;
};

std::string Escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// The process id a Redis at host:port gives in INFO server, or -1 when none answers.
long long RedisPidAt(const std::string& host, uint16_t port) {
  timeval timeout{1, 0};
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, timeout);
  long long pid = -1;
  if (c != nullptr && c->err == 0) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, "INFO server"));
    if (reply != nullptr && reply->type == REDIS_REPLY_STRING) {
      std::string info(reply->str, reply->len);
      size_t at = info.find("process_id:");
      if (at != std::string::npos) pid = std::atoll(info.c_str() + at + 11);
    }
    if (reply != nullptr) freeReplyObject(reply);
  }
  if (c != nullptr) redisFree(c);
  return pid;
}

bool PortIsFree(const std::string& host, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  const bool ok = inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1 &&
                  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// Random keys of every shape that matters to placement: printable, binary (NUL, CR, LF, bytes
// >= 0x80 for the sign-extension quirks), UTF-8, long, tagged with the pool's tag characters
// (from a small set of tags so that keys share them), empty tags, misordered and unclosed tags.
class KeyMaker {
 public:
  KeyMaker(uint32_t seed, char open, char close) : rng_(seed), open_(open), close_(close) {}

  std::string Next() {
    switch (Below(10)) {
      case 0:
      case 1:
        return Printable(1, 40);
      case 2:
        return Binary(1, 40);
      case 3:
        return Utf8();
      case 4:
        return Printable(100, 600);
      case 5:
      case 6:
        return Printable(0, 8) + open_ + Tag() + close_ + Binary(0, 8);
      case 7:
        return Printable(0, 8) + open_ + close_ + Printable(0, 8);  // empty tag
      case 8:
        return Printable(1, 8) + close_ + Printable(1, 4) + open_ + Printable(0, 4);
      default:
        return Printable(0, 4) + open_ + open_ + Tag() + close_ + Printable(0, 4);
    }
  }

 private:
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  std::string Printable(size_t lo, size_t hi) {
    std::string s(lo + Below(static_cast<uint32_t>(hi - lo + 1)), ' ');
    for (char& c : s) c = static_cast<char>(' ' + Below(95));
    return s;
  }
  std::string Binary(size_t lo, size_t hi) {
    std::string s(lo + Below(static_cast<uint32_t>(hi - lo + 1)), '\0');
    for (char& c : s) c = static_cast<char>(Below(256));
    return s;
  }
  std::string Utf8() {
    static const char* const kWords[] = {"ключ", "日本語", "café", "naïve", "😀", "Ωμέγα", "ß"};
    std::string s;
    for (uint32_t i = 0, n = 1 + Below(4); i < n; ++i) {
      s += kWords[Below(std::size(kWords))];
      s += std::to_string(Below(1000));
    }
    return s;
  }
  std::string Tag() {
    // Half the tags come from a pool of 50, so several keys share a tag.
    if (Below(2) == 0) return "t" + std::to_string(Below(50));
    return Binary(1, 6);
  }

  std::mt19937 rng_;
  char open_;
  char close_;
};

std::vector<PoolSpec> Pools() {
  std::vector<PoolSpec> pools = {
      {"fnv1a64_ketama",
       "fnv1a_64",
       "ketama",
       "",
       {{0, 1, ""}, {1, 1, ""}, {2, 1, ""}, {3, 1, ""}}},
      // Weights 1, 2, 4, 8, 10: twemproxy's float formula gives 28, 60, 124, 252, 320 points
      // where exact arithmetic gives 32, 64, 128, 256, 320.
      {"fnv1a64_weighted_tag",
       "fnv1a_64",
       "ketama",
       "{}",
       {{0, 1, "alpha"}, {1, 2, "beta"}, {2, 4, "gamma"}, {3, 8, "delta"}, {4, 10, "epsilon"}}},
      {"fnv1_32_tag", "fnv1_32", "ketama", "{}", {{1, 3, "one"}, {2, 1, "two"}, {3, 2, "three"}}},
      {"md5_ketama", "md5", "ketama", "", {{0, 1, ""}, {1, 1, ""}, {2, 2, ""}, {3, 1, ""}}},
      {"murmur_mixed", "murmur", "ketama", "<>", {{2, 2, "m-a"}, {3, 1, ""}, {4, 1, "m-c"}}},
      {"crc32a_tag", "crc32a", "ketama", "{}", {{0, 1, ""}, {2, 1, ""}, {4, 1, ""}}},
      {"hsieh_ketama",
       "hsieh",
       "ketama",
       "",
       {{1, 1, "h1"}, {2, 1, "h2"}, {3, 1, "h3"}, {4, 1, "h4"}}},
      {"jenkins_tag", "jenkins", "ketama", "$$", {{0, 1, "j-light"}, {4, 3, "j-heavy"}}},
      {"oaat_ketama", "one_at_a_time", "ketama", "{}", {{1, 1, ""}, {3, 2, ""}, {4, 1, ""}}},
      {"fnv1a64_modula",
       "fnv1a_64",
       "modula",
       "",
       {{0, 1, ""}, {1, 2, ""}, {2, 3, ""}, {3, 1, ""}}},
      {"md5_modula_tag", "md5", "modula", "{}", {{2, 2, "mm-z"}, {3, 1, "mm-a"}, {4, 1, "m"}}},
      {"crc16_ketama",
       "crc16",
       "ketama",
       "",
       {{0, 1, ""}, {1, 1, "", false, true}, {2, 1, ""}, {3, 1, ""}, {4, 1, ""}}},
      {"crc32_modula", "crc32", "modula", "", {{0, 1, ""}, {1, 1, ""}, {2, 1, ""}}},
      {"crc32_ketama", "crc32", "ketama", "", {{0, 1, ""}, {3, 1, ""}}},
      {"fnv1_64_unix", "fnv1_64", "ketama", "", {{0, 1, "", true}, {1, 1, ""}, {2, 2, "f3"}}},
      {"fnv1a_32_modula_tag", "fnv1a_32", "modula", "{}", {{1, 1, ""}, {2, 1, ""}, {3, 2, ""}}},
      {"fnv1a_32_ketama_unix_named", "fnv1a_32", "ketama", "", {{1, 2, "sock", true}, {4, 1, ""}}},
      // twemproxy hashes at most 272 bytes of "name-i": 270 bytes cut "-10".."-39" short, 300
      // bytes make all 40 digests equal; 83 bytes straddled the 86-byte buffer of older versions.
      {"long_name_ketama",
       "fnv1a_64",
       "ketama",
       "",
       {{2, 1, std::string(270, 'L')},
        {3, 1, std::string(300, 'M')},
        {4, 1, std::string(83, 'N')}}},
  };
  return pools;
}

class NutcrackerDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kBackends; ++i) {
      Backend b;
      b.unix_path = dir_.File("redis" + std::to_string(i) + ".sock");
      const std::vector<std::string> extra = {"--databases",      "64", "--unixsocket", b.unix_path,
                                              "--unixsocketperm", "700"};
      auto redis = RedisServer::Start(extra);
      ASSERT_TRUE(redis.has_value()) << redis.error();
      b.redis = std::move(*redis);
      b.port = b.redis->port();
      backends_.push_back(std::move(b));
    }
  }

  // Starts a redis-server on port 11211 of the first loopback address where it can listen and
  // appends it to backends_ (index kBackends). Returns the address, or "" when 11211 is taken
  // on all of them. The server that answers must be ours (its process id), so a port taken
  // between the check and the bind moves on to the next address.
  std::string Start11211Backend() {
    for (int last = 1; last <= 8; ++last) {
      const std::string address = "127.0.0." + std::to_string(last);
      if (!PortIsFree(address, 11211)) continue;
      Backend b;
      b.dir.emplace();
      b.host = address;
      b.port = 11211;
      b.unix_path = b.dir->File("redis.sock");
      auto child =
          ChildProcess::Spawn({"redis-server", "--port", "11211", "--bind", address, "--save", "",
                               "--appendonly", "no", "--dir", b.dir->path(), "--databases", "64",
                               "--unixsocket", b.unix_path, "--unixsocketperm", "700"},
                              b.dir->File("redis.log"));
      if (!child.has_value()) continue;
      b.child = std::move(*child);
      bool ours = false;
      for (int tries = 0; tries < 1000 && !ours; ++tries) {                 // bounded: 10 s
        if (b.child->WaitExit(std::chrono::milliseconds(10)) != -1) break;  // it could not bind
        ours = RedisPidAt(address, 11211) == b.child->pid();
      }
      if (!ours) continue;  // b.child is stopped by its destructor
      backends_.push_back(std::move(b));
      return address;
    }
    return "";
  }
  // Writes the nutcracker YAML, with pool i on redis_db i + 1, and returns the rl::ring ring
  // built from the same servers for each pool.
  std::string WriteConfig(std::vector<Ring>& rings, std::vector<uint16_t>& listen_ports) {
    std::string yaml;
    for (size_t p = 0; p < pools_.size(); ++p) {
      const PoolSpec& pool = pools_[p];
      const uint16_t listen = rl::testing::FreePort();
      listen_ports.push_back(listen);
      yaml += pool.name + ":\n";
      yaml += "  listen: 127.0.0.1:" + std::to_string(listen) + "\n";
      yaml += "  hash: " + pool.hash + "\n";
      yaml += "  distribution: " + pool.distribution + "\n";
      if (!pool.hash_tag.empty()) yaml += "  hash_tag: \"" + pool.hash_tag + "\"\n";
      yaml += "  redis: true\n  redis_db: " + std::to_string(p + 1) + "\n";
      yaml += "  timeout: 5000\n  auto_eject_hosts: false\n  servers:\n";
      std::vector<Member> members;
      for (const ServerSpec& s : pool.servers) {
        const Backend& b = backends_[s.backend];
        std::string host, port_text, line;
        if (s.via_unix) {
          host = b.unix_path;
          line = host + ":" + std::to_string(s.weight);
        } else {
          host = b.host;
          port_text = (s.zero_padded ? "0" : "") + std::to_string(b.port);
          line = host + ":" + port_text + ":" + std::to_string(s.weight);
        }
        if (!s.name.empty()) line += " " + s.name;
        yaml += "   - " + line + "\n";
        members.push_back({ServerIdentityFromText(s.name, host, port_text), s.weight});
      }
      rings.push_back(Ring::Build(
          std::move(members),
          {*ParseHashKind(pool.hash), *ParseDistribution(pool.distribution), pool.hash_tag}));
    }
    return dir_.Write("nutcracker.yml", yaml);
  }

  // SETs seeded keys through nutcracker into every pool of pools_ and compares each backend's
  // keys with the ring's placement.
  void CheckEveryPool();

  TempDir dir_;
  std::vector<Backend> backends_;
  std::vector<PoolSpec> pools_;
};

TEST_F(NutcrackerDiffTest, EveryBackendHoldsExactlyTheKeysTheRingAssignsIt) {
  pools_ = Pools();
  CheckEveryPool();
}

TEST_F(NutcrackerDiffTest, UnnamedServerOnPort11211IsNamedByItsHost) {
  const std::string host = Start11211Backend();
  if (host.empty()) {
    GTEST_SKIP() << "port 11211 is taken on 127.0.0.1 to 127.0.0.8: the bare-host identity of "
                    "an unnamed server there is covered by ring_test only";
  }
  std::printf("port 11211 backend on %s\n", host.c_str());
  // Unnamed: its identity is the bare host; next to an unnamed server on an ordinary port.
  pools_ = {{"md5_ketama_11211", "md5", "ketama", "", {{kBackends, 1, ""}, {1, 1, ""}}},
            {"fnv1a64_ketama_11211", "fnv1a_64", "ketama", "", {{kBackends, 2, ""}, {3, 1, ""}}}};
  CheckEveryPool();
}

void NutcrackerDiffTest::CheckEveryPool() {
  const uint32_t seed = rl::testing::TestSeed();
  SCOPED_TRACE(rl::testing::SeedNote());

  std::vector<Ring> rings;
  std::vector<uint16_t> listen_ports;
  const std::string config = WriteConfig(rings, listen_ports);
  const uint16_t stats_port = rl::testing::FreePort();
  const std::string nutcracker_bin =
      access("/usr/sbin/nutcracker", X_OK) == 0 ? "/usr/sbin/nutcracker" : "nutcracker";
  auto nutcracker = ChildProcess::Spawn(
      {nutcracker_bin, "-c", config, "-s", std::to_string(stats_port), "-a", "127.0.0.1", "-p",
       dir_.File("nutcracker.pid"), "-o", dir_.File("nutcracker.log")},
      dir_.File("nutcracker.out"));
  ASSERT_TRUE(nutcracker.has_value()) << nutcracker.error();
  ASSERT_TRUE(rl::testing::WaitForPort(stats_port))
      << "nutcracker did not start (is the nutcracker package installed?); config " << config;
  for (uint16_t port : listen_ports) ASSERT_TRUE(rl::testing::WaitForPort(port)) << port;

  for (size_t p = 0; p < pools_.size(); ++p) {
    const PoolSpec& pool = pools_[p];
    const Ring& ring = rings[p];
    SCOPED_TRACE("pool " + pool.name);
    const char open = pool.hash_tag.empty() ? '{' : pool.hash_tag[0];
    const char close = pool.hash_tag.empty() ? '}' : pool.hash_tag[1];
    KeyMaker maker(seed + static_cast<uint32_t>(p), open, close);
    std::set<std::string> keys = {""};  // the empty key: twemproxy hashes it as 0
    while (keys.size() < kKeysPerPool) keys.insert(maker.Next());

    // SET every key through nutcracker, pipelined.
    auto proxy = RedisClient::Connect(listen_ports[p]);
    ASSERT_TRUE(proxy.has_value()) << proxy.error();
    std::vector<const std::string*> batch;
    auto flush = [&] {
      for (const std::string* key : batch) {
        auto reply = proxy->GetReply();
        ASSERT_NE(reply, nullptr) << "nutcracker closed the connection";
        ASSERT_EQ(reply->type, REDIS_REPLY_STATUS)
            << "SET " << Escape(*key) << ": " << std::string(reply->str, reply->len);
      }
      batch.clear();
    };
    for (const std::string& key : keys) {
      proxy->Append({"SET", key, "v"});
      batch.push_back(&key);
      if (batch.size() == kPipelineBatch) {
        flush();
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    flush();
    if (::testing::Test::HasFatalFailure()) return;

    // Which keys rl::ring puts on each server of the pool.
    std::vector<std::set<std::string>> expected(pool.servers.size());
    for (const std::string& key : keys) expected[ring.Lookup(key)].insert(key);

    // What each server of the pool holds in the pool's database.
    std::vector<std::set<std::string>> actual(pool.servers.size());
    std::map<std::string, size_t> found_on;
    for (size_t s = 0; s < pool.servers.size(); ++s) {
      const Backend& b = backends_[pool.servers[s].backend];
      auto client = RedisClient::ConnectUnix(b.unix_path);
      ASSERT_TRUE(client.has_value()) << client.error();
      // nutcracker 0.5.0 sends SELECT redis_db only on TCP server connections: through a unix
      // socket the keys land in database 0 (each unix-socket pool uses its own backend).
      const size_t db = pool.servers[s].via_unix ? 0 : p + 1;
      auto selected = client->Command({"SELECT", std::to_string(db)});
      ASSERT_NE(selected, nullptr);
      auto reply = client->Command({"KEYS", "*"});
      ASSERT_NE(reply, nullptr);
      ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY);
      for (size_t i = 0; i < reply->elements; ++i) {
        std::string key(reply->element[i]->str, reply->element[i]->len);
        found_on[key] = s;
        actual[s].insert(std::move(key));
      }
    }
    int mismatches = 0;
    for (size_t s = 0; s < pool.servers.size(); ++s) {
      for (const std::string& key : expected[s]) {
        if (actual[s].contains(key)) continue;
        if (++mismatches > 10) continue;
        const auto where = found_on.find(key);
        ADD_FAILURE() << "key \"" << Escape(key) << "\" (hashed part \""
                      << Escape(ring.HashedPart(key)) << "\", hash " << ring.KeyHash(key)
                      << "): rl::ring says server " << s << ", nutcracker put it on "
                      << (where == found_on.end() ? std::string("no server of the pool")
                                                  : "server " + std::to_string(where->second));
      }
    }
    for (size_t s = 0; s < pool.servers.size(); ++s) {
      EXPECT_TRUE(actual[s] == expected[s])
          << "server " << s << " (" << ring.members()[s].identity << "): " << actual[s].size()
          << " keys, expected " << expected[s].size();
    }
    if (mismatches > 0) {
      ADD_FAILURE() << mismatches << " of " << keys.size() << " keys placed differently";
      continue;
    }
    std::printf("pool %-28s %zu keys over %zu servers: match\n", pool.name.c_str(), keys.size(),
                pool.servers.size());
  }
  nutcracker->Stop();
}

}  // namespace
}  // namespace rl::ring
