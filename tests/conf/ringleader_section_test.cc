// The reserved top-level `ringleader:` section: every key, the defaults, the located errors, and
// that the section changes nothing about the pools beside it.
#include <cstdio>
#include <string>
#include <vector>

#include "conf/config.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/ring.h"
#include "tests/conf/parse_util.h"

namespace rl::conf {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

const std::string kPool =
    "alpha:\n"
    "  listen: 127.0.0.1:22121\n"
    "  hash: murmur\n"
    "  hash_tag: \"{}\"\n"
    "  servers:\n"
    "   - 127.0.0.1:6379:1 r1\n"
    "   - 127.0.0.1:6380:2\n";

// Every field of a settings value, for whole-value comparisons with a readable failure.
std::string Describe(const RingleaderSettings& s) {
  return fmt::format("out={} inflight={} grace={} backoff={}..{} bulk={} args={} query={}",
                     s.client_output_limit, s.client_max_inflight, s.shutdown_grace.count(),
                     s.reconnect_backoff_min.count(), s.reconnect_backoff_max.count(),
                     s.proto_max_bulk_len, s.proto_max_multibulk_len, s.client_query_buffer_limit);
}

TEST(RingleaderSectionTest, EveryKey) {
  Config config = MustParse(
      "ringleader:\n"
      "  client_output_limit: 1048576\n"
      "  client_max_inflight: 64\n"
      "  shutdown_grace: 250\n"
      "  reconnect_backoff_min: 10\n"
      "  reconnect_backoff_max: \"20000\"\n"
      "  proto_max_bulk_len: 2097152\n"
      "  proto_max_multibulk_len: 4096\n"
      "  client_query_buffer_limit: 4194304\n"
      "  migration_keys_per_second: 5000\n"
      "  migration_bytes_per_second: 1048576\n" +
      kPool);
  const RingleaderSettings& s = config.ringleader;
  EXPECT_EQ(s.client_output_limit, 1048576u);
  EXPECT_EQ(s.client_max_inflight, 64u);
  EXPECT_EQ(s.shutdown_grace, milliseconds(250));
  EXPECT_EQ(s.reconnect_backoff_min, milliseconds(10));
  EXPECT_EQ(s.reconnect_backoff_max, milliseconds(20000));
  EXPECT_EQ(s.proto_max_bulk_len, 2097152u);
  EXPECT_EQ(s.proto_max_multibulk_len, 4096u);
  EXPECT_EQ(s.client_query_buffer_limit, 4194304u);
  EXPECT_EQ(s.migration_keys_per_second, 5000u);
  EXPECT_EQ(s.migration_bytes_per_second, 1048576u);
  ASSERT_EQ(config.pools.size(), 1u);
  EXPECT_EQ(config.pools[0].name, "alpha");
}

TEST(RingleaderSectionTest, DefaultsWhenAbsent) {
  // The values conf/README.md documents.
  RingleaderSettings s = MustParse(kPool).ringleader;
  EXPECT_EQ(s.client_output_limit, 268435456u);
  EXPECT_EQ(s.client_max_inflight, 16384u);
  EXPECT_EQ(s.shutdown_grace, milliseconds(5000));
  EXPECT_EQ(s.reconnect_backoff_min, milliseconds(5));
  EXPECT_EQ(s.reconnect_backoff_max, milliseconds(25));
  EXPECT_EQ(s.proto_max_bulk_len, 536870912u);
  EXPECT_EQ(s.proto_max_multibulk_len, 1048576u);
  EXPECT_EQ(s.client_query_buffer_limit, 1073741824u);
  EXPECT_EQ(s.migration_keys_per_second, 0u);
  EXPECT_EQ(s.migration_bytes_per_second, 0u);
  // An empty section, or one that sets a single key, leaves every other key at its default.
  EXPECT_EQ(Describe(MustParse("ringleader:\n" + kPool).ringleader), Describe(s));
  RingleaderSettings one = MustParse(kPool + "ringleader:\n  shutdown_grace: 0\n").ringleader;
  EXPECT_EQ(one.shutdown_grace, milliseconds(0));
  one.shutdown_grace = s.shutdown_grace;
  EXPECT_EQ(Describe(one), Describe(s));
}

TEST(RingleaderSectionTest, PoolsAreUnchangedBySection) {
  // Anywhere in the file, the section leaves the pools exactly as a plain nutcracker file has
  // them: same fields, same ring, same owner for every key.
  Config plain = MustParse(kPool);
  for (const std::string& text : {"ringleader:\n  client_max_inflight: 8\n" + kPool,
                                  kPool + "ringleader:\n  shutdown_grace: 1\n"}) {
    Config with = MustParse(text);
    ASSERT_EQ(with.pools.size(), 1u);
    const Pool& a = plain.pools[0];
    const Pool& b = with.pools[0];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.listen.ToString(), a.listen.ToString());
    EXPECT_EQ(b.hash, a.hash);
    EXPECT_EQ(b.hash_tag, a.hash_tag);
    ASSERT_EQ(b.servers.size(), a.servers.size());
    for (size_t i = 0; i < a.servers.size(); ++i) {
      EXPECT_EQ(b.servers[i].identity, a.servers[i].identity);
      EXPECT_EQ(b.servers[i].weight, a.servers[i].weight);
    }
    ring::Ring ra = ring::Ring::Build(a.RingMembers(), a.RingOptions());
    ring::Ring rb = ring::Ring::Build(b.RingMembers(), b.RingOptions());
    for (int k = 0; k < 1000; ++k) {
      std::string key = "key:" + std::to_string(k);
      ASSERT_EQ(rb.Lookup(key), ra.Lookup(key)) << key;
    }
  }
}

TEST(RingleaderSectionTest, BadValuesAreLocated) {
  EXPECT_THAT(
      Errors("ringleader:\n"
             "  client_output_limit: 0\n"
             "  client_max_inflight: 1\n"
             "  shutdown_grace: -5\n"
             "  reconnect_backoff_min: 0\n"
             "  proto_max_bulk_len: 1048575\n"
             "  proto_max_multibulk_len: 1023\n"
             "  client_query_buffer_limit: 1gb\n"
             "  reconnect_backoff_max: 99999999999\n" +
             kPool),
      ElementsAre("t.yml:2:24: section 'ringleader': client_output_limit must be at least 1",
                  "t.yml:3:24: section 'ringleader': client_max_inflight must be at least 2",
                  "t.yml:4:19: section 'ringleader': shutdown_grace '-5' is not a number (only "
                  "the digits 0-9)",
                  "t.yml:5:26: section 'ringleader': reconnect_backoff_min must be at least 1",
                  "t.yml:6:23: section 'ringleader': proto_max_bulk_len must be at least 1048576",
                  "t.yml:7:28: section 'ringleader': proto_max_multibulk_len must be at least "
                  "1024",
                  "t.yml:8:30: section 'ringleader': client_query_buffer_limit '1gb' is not a "
                  "number (only the digits 0-9)",
                  "t.yml:9:26: section 'ringleader': reconnect_backoff_max '99999999999' is too "
                  "large (at most 2147483647)"));
}

TEST(RingleaderSectionTest, ValueShapes) {
  EXPECT_THAT(Errors("ringleader:\n"
                     "  client_max_inflight:\n"
                     "  shutdown_grace:\n"
                     "   - 5\n"
                     "  client_output_limit:\n"
                     "    bytes: 5\n" +
                     kPool),
              ElementsAre("t.yml:2:3: section 'ringleader': client_max_inflight needs a value",
                          "t.yml:4:4: section 'ringleader': shutdown_grace must be a single "
                          "value, not a list",
                          "t.yml:6:5: section 'ringleader': client_output_limit must be a single "
                          "value, not a mapping"));
  EXPECT_THAT(Errors("ringleader: 5\n" + kPool),
              ElementsAre("t.yml:1:13: section 'ringleader' must be a mapping of ringleader's own "
                          "settings, such as client_max_inflight: 16384"));
  EXPECT_THAT(Errors("ringleader:\n  - client_max_inflight: 5\n" + kPool),
              ElementsAre("t.yml:2:3: section 'ringleader' must be a mapping of ringleader's own "
                          "settings, such as client_max_inflight: 16384"));
}

TEST(RingleaderSectionTest, UnknownKeysHaveAHint) {
  EXPECT_THAT(Errors("ringleader:\n"
                     "  client_max_inflite: 5\n"
                     "  shutdown-grace: 5\n"
                     "  listen_admin: 127.0.0.1:9000\n"
                     "  proto_max_bulk_length: 1048576\n" +
                     kPool),
              ElementsAre("t.yml:2:3: section 'ringleader': unknown key 'client_max_inflite' "
                          "(did you mean 'client_max_inflight'?)",
                          "t.yml:3:3: section 'ringleader': unknown key 'shutdown-grace' (did "
                          "you mean 'shutdown_grace'?)",
                          "t.yml:4:3: section 'ringleader': unknown key 'listen_admin'",
                          "t.yml:5:3: section 'ringleader': unknown key 'proto_max_bulk_length' "
                          "(did you mean 'proto_max_bulk_len'?)"));
  // A pool's keys are not the section's: timeout belongs to a pool.
  EXPECT_THAT(Errors("ringleader:\n  timeout: 5\n" + kPool),
              ElementsAre("t.yml:2:3: section 'ringleader': unknown key 'timeout'"));
}

TEST(RingleaderSectionTest, DuplicateKeyAndDuplicateSection) {
  EXPECT_THAT(Errors("ringleader:\n"
                     "  shutdown_grace: 5\n"
                     "  shutdown_grace: 6\n" +
                     kPool +
                     "ringleader:\n"
                     "  client_max_inflight: 8\n"),
              ElementsAre("t.yml:3:3: section 'ringleader': duplicate key 'shutdown_grace' "
                          "(first at line 2)",
                          "t.yml:11:1: duplicate section 'ringleader' (first at line 1)"));
}

TEST(RingleaderSectionTest, BackoffMinIsAtMostMax) {
  EXPECT_THAT(Errors("ringleader:\n"
                     "  reconnect_backoff_min: 500\n"
                     "  reconnect_backoff_max: 400\n" +
                     kPool),
              ElementsAre("t.yml:3:26: section 'ringleader': reconnect_backoff_max (400) must be "
                          "at least reconnect_backoff_min (500)"));
  // Against the other key's default (min 5, max 25).
  EXPECT_THAT(Errors("ringleader:\n  reconnect_backoff_min: 5000\n" + kPool),
              ElementsAre("t.yml:2:26: section 'ringleader': reconnect_backoff_min (5000) must be "
                          "at most reconnect_backoff_max (25, the default): set "
                          "reconnect_backoff_max too"));
  EXPECT_THAT(Errors("ringleader:\n  reconnect_backoff_max: 2\n" + kPool),
              ElementsAre("t.yml:2:26: section 'ringleader': reconnect_backoff_max (2) must be "
                          "at least reconnect_backoff_min (5, the default)"));
  // Equal is fine: a constant delay.
  RingleaderSettings s = MustParse(
                             "ringleader:\n"
                             "  reconnect_backoff_min: 5000\n"
                             "  reconnect_backoff_max: 5000\n" +
                             kPool)
                             .ringleader;
  EXPECT_EQ(s.reconnect_backoff_min, s.reconnect_backoff_max);
  // A bad value of one key is reported once, not compared with the other.
  EXPECT_THAT(Errors("ringleader:\n"
                     "  reconnect_backoff_min: 5000\n"
                     "  reconnect_backoff_max: x\n" +
                     kPool),
              ElementsAre("t.yml:3:26: section 'ringleader': reconnect_backoff_max 'x' is not a "
                          "number (only the digits 0-9)"));
}

TEST(RingleaderSectionTest, PoolNamedRingleaderIsRefused) {
  EXPECT_THAT(Errors(kPool + "ringleader:\n"
                             "  listen: 127.0.0.1:22122\n"
                             "  servers:\n"
                             "   - 127.0.0.1:6379:1\n"),
              ElementsAre("t.yml:8:1: a pool cannot be named 'ringleader': the name is reserved "
                          "for ringleader's own settings (rename the pool; its keys stay on the "
                          "same servers)"));
  // Only the exact name is reserved.
  Config config = MustParse(
      "Ringleader:\n"
      "  listen: 127.0.0.1:22122\n"
      "  servers:\n"
      "   - 127.0.0.1:6379:1\n");
  EXPECT_EQ(config.pools[0].name, "Ringleader");
}

TEST(RingleaderSectionTest, TopLevelMistakes) {
  // A misspelt section is not taken for a pool without listen: and servers:.
  EXPECT_THAT(Errors("ringlaeder:\n  shutdown_grace: 5\n" + kPool),
              ElementsAre("t.yml:1:1: unknown top-level key 'ringlaeder': not a pool (no listen: "
                          "or servers:) and not ringleader's section (did you mean "
                          "'ringleader'?)"));
  // A near name with a pool's keys is a pool.
  Config config = MustParse(
      "ringleaders:\n"
      "  listen: 127.0.0.1:22122\n"
      "  servers:\n"
      "   - 127.0.0.1:6379:1\n");
  EXPECT_EQ(config.pools[0].name, "ringleaders");
  // The section alone is no configuration.
  EXPECT_THAT(Errors("ringleader:\n  shutdown_grace: 5\n"),
              ElementsAre("t.yml:1:1: no pools: the file holds only ringleader's section; add a "
                          "pool (a name, then indented listen: and servers:)"));
}

const std::string kCluster =
    "ringleader:\n"
    "  cluster:\n"
    "    node_id: 2\n"
    "    peer_listen: 127.0.0.1:7102\n"
    "    members:\n"
    "     - 1@127.0.0.1:7101\n"
    "     - 2@127.0.0.1:7102\n"
    "     - 3@127.0.0.1:7103\n"
    "    data_dir: /var/lib/ringleader\n"
    "    secret: 0123456789abcdef\n";

TEST(ClusterSectionTest, EveryKeyAndDefaults) {
  Config config = MustParse(kCluster + kPool);
  ASSERT_TRUE(config.ringleader.cluster.has_value());
  const ClusterSettings& c = *config.ringleader.cluster;
  EXPECT_EQ(c.node_id, 2u);
  EXPECT_EQ(c.peer_listen.ToString(), "127.0.0.1:7102");
  ASSERT_EQ(c.members.size(), 3u);
  EXPECT_EQ(c.members[0].id, 1u);
  EXPECT_EQ(c.members[2].address.ToString(), "127.0.0.1:7103");
  EXPECT_EQ(c.data_dir, "/var/lib/ringleader");
  EXPECT_EQ(c.secret, "0123456789abcdef");
  EXPECT_EQ(c.election_timeout, milliseconds(1000));
  EXPECT_EQ(c.heartbeat, milliseconds(100));
  EXPECT_EQ(c.line, 2);
  Config timed =
      MustParse(kCluster + "    election_timeout_ms: 300\n    heartbeat_ms: 100\n" + kPool);
  EXPECT_EQ(timed.ringleader.cluster->election_timeout, milliseconds(300));
  EXPECT_FALSE(c.join);
  EXPECT_TRUE(MustParse(kCluster + "    join: true\n" + kPool).ringleader.cluster->join);
  // The largest id is 2^63.
  Config big = MustParse(
      "ringleader:\n  cluster:\n    node_id: 9223372036854775808\n"
      "    peer_listen: h:1\n    members:\n     - 9223372036854775808@h:1\n"
      "    data_dir: d\n    secret: 0123456789abcdef\n" +
      kPool);
  EXPECT_EQ(big.ringleader.cluster->node_id, uint64_t{1} << 63);
}

TEST(ClusterSectionTest, AbsentMeansStandalone) {
  EXPECT_FALSE(MustParse(kPool).ringleader.cluster.has_value());
  EXPECT_FALSE(MustParse("ringleader:\n  shutdown_grace: 5\n" + kPool).ringleader.cluster);
}

TEST(ClusterSectionTest, RequiredKeys) {
  EXPECT_THAT(Errors("ringleader:\n  cluster:\n    heartbeat_ms: 50\n" + kPool),
              ElementsAre("t.yml:2:3: section 'ringleader': cluster: node_id is required",
                          "t.yml:2:3: section 'ringleader': cluster: peer_listen is required",
                          "t.yml:2:3: section 'ringleader': cluster: members is required",
                          "t.yml:2:3: section 'ringleader': cluster: data_dir is required",
                          "t.yml:2:3: section 'ringleader': cluster: secret (or secret_file) is "
                          "required"));
  EXPECT_THAT(Errors("ringleader:\n  cluster:\n" + kPool),
              ElementsAre("t.yml:2:3: section 'ringleader': cluster must be a mapping (node_id, "
                          "peer_listen, members, data_dir, secret)"));
}

TEST(ClusterSectionTest, BadValuesAreLocated) {
  EXPECT_THAT(Errors("ringleader:\n"
                     "  cluster:\n"
                     "    node_id: 0\n"
                     "    peer_listen: /tmp/x.sock\n"
                     "    members:\n"
                     "     - 1@127.0.0.1:7101\n"
                     "     - 127.0.0.1:7102\n"
                     "     - 1@127.0.0.1:7103\n"
                     "     - 4@127.0.0.1:7101\n"
                     "     - x@127.0.0.1:7105\n"
                     "    data_dir: d\n"
                     "    secret: s\n"
                     "    heartbeat_ms: 0\n"
                     "    node_idd: 1\n" +
                     kPool),
              ElementsAre("t.yml:3:14: section 'ringleader': cluster: node_id '0' must be at "
                          "least 1",
                          "t.yml:4:18: section 'ringleader': cluster: peer_listen '/tmp/x.sock' "
                          "must be host:port (peers connect over TCP, not a unix socket)",
                          "t.yml:7:8: section 'ringleader': cluster: member '127.0.0.1:7102' "
                          "must be id@host:port",
                          "t.yml:8:8: section 'ringleader': cluster: member id 1 is listed twice",
                          "t.yml:9:8: section 'ringleader': cluster: address 127.0.0.1:7101 is "
                          "listed twice",
                          "t.yml:10:8: section 'ringleader': cluster: member 'x@127.0.0.1:7105' "
                          "id 'x' is not a number (only the digits 0-9)",
                          "t.yml:13:19: section 'ringleader': cluster: heartbeat_ms must be at "
                          "least 1",
                          "t.yml:14:5: section 'ringleader': cluster: unknown key 'node_idd' "
                          "(did you mean 'node_id'?)"));
  EXPECT_THAT(Errors("ringleader:\n  cluster:\n    node_id: 9223372036854775809\n" + kPool),
              ::testing::Contains(
                  "t.yml:3:14: section 'ringleader': cluster: node_id '9223372036854775809' is too "
                  "large (at most 9223372036854775808)"));
}

TEST(ClusterSectionTest, CrossKeyRules) {
  // The secret's length, the timing ratio, this node among the members at its own address.
  EXPECT_THAT(Errors(kCluster + "    election_timeout_ms: 299\n" + kPool),
              ElementsAre("t.yml:11:26: section 'ringleader': cluster: election_timeout_ms (299) "
                          "must be at least 3 * heartbeat_ms (100)"));
  std::string short_secret = kCluster;
  short_secret.replace(short_secret.find("0123456789abcdef"), 16, "short");
  EXPECT_THAT(Errors(short_secret + kPool),
              ElementsAre("t.yml:10:13: section 'ringleader': cluster: the secret must be at "
                          "least 16 bytes (it has 5)"));
  std::string other_id = kCluster;
  other_id.replace(other_id.find("node_id: 2"), 10, "node_id: 9");
  EXPECT_THAT(Errors(other_id + kPool),
              ElementsAre("t.yml:3:14: section 'ringleader': cluster: node_id 9 is not among "
                          "members"));
  std::string other_port = kCluster;
  other_port.replace(other_port.find("peer_listen: 127.0.0.1:7102"), 27,
                     "peer_listen: 127.0.0.1:7109");
  EXPECT_THAT(Errors(other_port + kPool),
              ElementsAre("t.yml:3:14: section 'ringleader': cluster: members lists node 2 at "
                          "127.0.0.1:7102, but peer_listen is 127.0.0.1:7109"));
  // Every cross-key rule is reported in one run.
  std::string both = short_secret;
  both.replace(both.find("peer_listen: 127.0.0.1:7102"), 27, "peer_listen: 127.0.0.1:7109");
  EXPECT_THAT(Errors(both + kPool),
              ElementsAre("t.yml:3:14: section 'ringleader': cluster: members lists node 2 at "
                          "127.0.0.1:7102, but peer_listen is 127.0.0.1:7109",
                          "t.yml:10:13: section 'ringleader': cluster: the secret must be at "
                          "least 16 bytes (it has 5)"));
  EXPECT_THAT(Errors(kCluster + "    secret_file: /x\n" + kPool),
              ElementsAre("t.yml:11:5: section 'ringleader': cluster: give secret or "
                          "secret_file, not both"));
}

TEST(ClusterSectionTest, SecretFile) {
  std::string path = ::testing::TempDir() + "rl_cluster_secret";
  {
    FILE* f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs("fedcba9876543210xyz\n", f);
    fclose(f);
  }
  std::string text = kCluster;
  text.replace(text.find("secret: 0123456789abcdef"), 24, "secret_file: " + path);
  Config config = MustParse(text + kPool);
  ASSERT_TRUE(config.ringleader.cluster);
  EXPECT_EQ(config.ringleader.cluster->secret, "fedcba9876543210xyz");
  std::remove(path.c_str());
  EXPECT_THAT(Errors(text + kPool),
              ElementsAre(fmt::format("t.yml:10:18: section 'ringleader': cluster: secret_file "
                                      "'{}' cannot be read",
                                      path)));
}

}  // namespace
}  // namespace rl::conf
