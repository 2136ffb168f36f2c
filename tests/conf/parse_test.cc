// conf::Parse on in-memory text: defaults, every key, and the exact located error messages.
#include <string>
#include <vector>

#include "conf/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/conf/parse_util.h"

namespace rl::conf {
namespace {

using ::testing::ElementsAre;

TEST(ParseTest, DefaultsAreNutcrackers) {
  Config config = MustParse(
      "alpha:\n"
      "  listen: 127.0.0.1:22121\n"
      "  servers:\n"
      "   - 127.0.0.1:6379:1\n");
  ASSERT_EQ(config.pools.size(), 1u);
  const Pool& p = config.pools[0];
  EXPECT_EQ(p.name, "alpha");
  EXPECT_EQ(p.hash, ring::HashKind::kFnv1a_64);
  EXPECT_EQ(p.distribution, ring::Distribution::kKetama);
  EXPECT_EQ(p.hash_tag, "");
  EXPECT_FALSE(p.timeout.has_value());
  EXPECT_EQ(p.backlog, 512);
  EXPECT_FALSE(p.preconnect);
  EXPECT_TRUE(p.redis);  // deliberate: an absent redis key means Redis here
  EXPECT_EQ(p.redis_auth, "");
  EXPECT_EQ(p.redis_db, 0);
  EXPECT_EQ(p.server_connections, 1);
  EXPECT_FALSE(p.auto_eject_hosts);
  EXPECT_EQ(p.server_retry_timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(p.server_failure_limit, 2);
  EXPECT_FALSE(p.tcpkeepalive);
  EXPECT_FALSE(p.reuseport);
  EXPECT_EQ(p.client_connections, 0u);
  EXPECT_EQ(p.workers, 1);
  EXPECT_FALSE(p.admin_commands);
  EXPECT_EQ(p.line, 1);
  EXPECT_EQ(p.listen_line, 2);
  EXPECT_EQ(p.listen_column, 11);
  ASSERT_EQ(p.servers.size(), 1u);
  EXPECT_EQ(p.servers[0].line, 4);
  EXPECT_EQ(p.servers[0].column, 6);
}

TEST(ParseTest, EveryKey) {
  Config config = MustParse(
      "beta:\n"
      "  listen: /tmp/beta.sock 0660\n"
      "  hash: murmur\n"
      "  hash_tag: \"{}\"\n"
      "  distribution: modula\n"
      "  timeout: 400\n"
      "  backlog: 1024\n"
      "  preconnect: true\n"
      "  redis: true\n"
      "  redis_auth: s3cret\n"
      "  redis_db: 3\n"
      "  server_connections: 4\n"
      "  auto_eject_hosts: true\n"
      "  server_retry_timeout: 2000\n"
      "  server_failure_limit: 5\n"
      "  tcpkeepalive: true\n"
      "  reuseport: true\n"
      "  client_connections: 100\n"
      "  workers: 8\n"
      "  admin_commands: true\n"
      "  servers:\n"
      "   - 127.0.0.1:6380:1 server1\n"
      "   - 127.0.0.1:6381:2\n"
      "   - /tmp/r3.sock:3\n");
  ASSERT_EQ(config.pools.size(), 1u);
  const Pool& p = config.pools[0];
  EXPECT_EQ(p.listen.kind, Address::Kind::kUnix);
  EXPECT_EQ(p.listen.path, "/tmp/beta.sock");
  EXPECT_EQ(p.listen.permissions, 0660u);
  EXPECT_EQ(p.hash, ring::HashKind::kMurmur);
  EXPECT_EQ(p.hash_tag, "{}");
  EXPECT_EQ(p.distribution, ring::Distribution::kModula);
  EXPECT_EQ(p.timeout, std::chrono::milliseconds(400));
  EXPECT_EQ(p.backlog, 1024);
  EXPECT_TRUE(p.preconnect);
  EXPECT_EQ(p.redis_auth, "s3cret");
  EXPECT_EQ(p.redis_db, 3);
  EXPECT_EQ(p.server_connections, 4);
  EXPECT_TRUE(p.auto_eject_hosts);
  EXPECT_EQ(p.server_retry_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(p.server_failure_limit, 5);
  EXPECT_TRUE(p.tcpkeepalive);
  EXPECT_TRUE(p.reuseport);
  EXPECT_EQ(p.client_connections, 100u);
  EXPECT_EQ(p.workers, 8);
  EXPECT_TRUE(p.admin_commands);
  ASSERT_EQ(p.servers.size(), 3u);
  EXPECT_EQ(p.servers[0].identity, "server1");
  EXPECT_EQ(p.servers[1].identity, "127.0.0.1:6381");
  EXPECT_EQ(p.servers[2].identity, "/tmp/r3.sock:");

  ring::RingOptions options = p.RingOptions();
  EXPECT_EQ(options.hash, ring::HashKind::kMurmur);
  EXPECT_EQ(options.distribution, ring::Distribution::kModula);
  EXPECT_EQ(options.hash_tag, "{}");
  std::vector<ring::Member> members = p.RingMembers();
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[1].identity, "127.0.0.1:6381");
  EXPECT_EQ(members[2].weight, 3u);
}

TEST(ParseTest, PoolsInFileOrderAndRawScalarText) {
  Config config = MustParse(
      "zeta:\n"
      "  \"listen\": '127.0.0.1:1'\n"
      "  redis: \"true\"\n"
      "  redis_auth: null\n"
      "  timeout: 0\n"
      "  servers:\n"
      "   - 127.0.0.1:6379:1 # a comment\n"
      "alpha:\n"
      "  listen: 127.0.0.1:2\n"
      "  servers:\n"
      "   - 127.0.0.1:6379:1\n");
  ASSERT_EQ(config.pools.size(), 2u);
  EXPECT_EQ(config.pools[0].name, "zeta");
  EXPECT_EQ(config.pools[1].name, "alpha");
  // nutcracker reads the text: "null" is a password and timeout 0 means no timeout.
  EXPECT_EQ(config.pools[0].redis_auth, "null");
  EXPECT_FALSE(config.pools[0].timeout.has_value());
}

TEST(ParseTest, PoolKeyErrors) {
  EXPECT_THAT(
      Errors("alpha:\n"
             "  listen: 127.0.0.1:22121\n"
             "  lisen: 127.0.0.1:22121\n"
             "  hash: sha1\n"
             "  hash_tag: \"{\"\n"
             "  hash: md5\n"
             "  distribution: consistent\n"
             "  preconnect: yes\n"
             "  timeout: -1\n"
             "  backlog: 1k\n"
             "  server_connections: 0\n"
             "  workers: 0\n"
             "  redis_db: 99999999999\n"
             "  reduis: true\n"
             "  servers:\n"
             "   - 127.0.0.1:6379:1\n"),
      ElementsAre("t.yml:3:3: pool 'alpha': unknown key 'lisen' (did you mean 'listen'?)",
                  "t.yml:4:9: pool 'alpha': unknown hash 'sha1' (one of: one_at_a_time, md5, "
                  "crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, "
                  "jenkins)",
                  "t.yml:5:13: pool 'alpha': hash_tag '{' must be exactly two characters, such "
                  "as \"{}\"",
                  "t.yml:6:3: pool 'alpha': duplicate key 'hash' (first at line 4)",
                  "t.yml:7:17: pool 'alpha': unknown distribution 'consistent' (one of: ketama, "
                  "modula, random)",
                  "t.yml:8:15: pool 'alpha': preconnect must be true or false, not 'yes'",
                  "t.yml:9:12: pool 'alpha': timeout '-1' is not a number (only the digits 0-9)",
                  "t.yml:10:12: pool 'alpha': backlog '1k' is not a number (only the digits 0-9)",
                  "t.yml:11:23: pool 'alpha': server_connections must be at least 1",
                  "t.yml:12:12: pool 'alpha': workers must be at least 1",
                  "t.yml:13:13: pool 'alpha': redis_db '99999999999' is too large (at most "
                  "2147483647)",
                  "t.yml:14:3: pool 'alpha': unknown key 'reduis' (did you mean 'redis'?)"));
}

TEST(ParseTest, RedisFalseIsRefused) {
  EXPECT_THAT(Errors("alpha:\n"
                     "  listen: 127.0.0.1:22121\n"
                     "  redis: false\n"
                     "  servers:\n"
                     "   - 127.0.0.1:11211:1\n"),
              ElementsAre("t.yml:3:10: pool 'alpha': redis: false asks for a memcache pool, but "
                          "ringleader serves Redis only (set redis: true or remove the key)"));
}

TEST(ParseTest, AdminCommandsIsABooleanOffByDefault) {
  EXPECT_THAT(Errors("alpha:\n"
                     "  listen: 127.0.0.1:22121\n"
                     "  admin_commands: yes\n"
                     "  admin_command: true\n"
                     "  servers:\n"
                     "   - 127.0.0.1:6379:1\n"),
              ElementsAre("t.yml:3:19: pool 'alpha': admin_commands must be true or false, not "
                          "'yes'",
                          "t.yml:4:3: pool 'alpha': unknown key 'admin_command' (did you mean "
                          "'admin_commands'?)"));
  Config config = MustParse(
      "alpha:\n"
      "  listen: 127.0.0.1:22121\n"
      "  admin_commands: \"true\"\n"
      "  servers:\n"
      "   - 127.0.0.1:6379:1\n");
  EXPECT_TRUE(config.pools[0].admin_commands);
}

TEST(ParseTest, ValueShapeErrors) {
  EXPECT_THAT(
      Errors("alpha:\n"
             "  listen:\n"
             "  redis_auth:\n"
             "    nested: x\n"
             "  hash:\n"
             "   - md5\n"
             "  servers: 127.0.0.1:6379:1\n"
             "beta:\n"
             "  listen: 127.0.0.1:2\n"
             "  servers:\n"
             "gamma: 5\n"
             "delta:\n"),
      ElementsAre("t.yml:2:3: pool 'alpha': listen needs a value",
                  "t.yml:4:5: pool 'alpha': redis_auth must be a single value, not a mapping",
                  "t.yml:6:4: pool 'alpha': hash must be a single value, not a list",
                  "t.yml:7:12: pool 'alpha': servers: must be a list of '- host:port:weight "
                  "[name]' lines",
                  "t.yml:10:3: pool 'beta': servers: needs at least one '- host:port:weight' "
                  "line",
                  "t.yml:11:8: pool 'gamma' must be a mapping of keys such as listen: and "
                  "servers:",
                  "t.yml:12:1: pool 'delta' must be a mapping of keys such as listen: and "
                  "servers:"));
}

TEST(ParseTest, MissingListenAndServers) {
  EXPECT_THAT(Errors("alpha:\n"
                     "  hash: md5\n"),
              ElementsAre("t.yml:1:1: pool 'alpha' has no listen: address",
                          "t.yml:1:1: pool 'alpha' has no servers:"));
}

TEST(ParseTest, ServerErrorsAndDuplicateIdentities) {
  EXPECT_THAT(
      Errors("alpha:\n"
             "  listen: 127.0.0.1:22121\n"
             "  servers:\n"
             "   - 127.0.0.1:6379:0\n"
             "   - 127.0.0.1:6380:1 a\n"
             "   - 127.0.0.1:6381:1 a\n"
             "   - 127.0.0.1:6382:1\n"
             "   - 127.0.0.1:6382:2\n"
             "   - 127.0.0.1:6383:1 127.0.0.1:6382\n"
             "   - 127.0.0.1:6384:1 b\n"
             "   - 127.0.0.1:6384:1 c\n"
             "   - key: value\n"),
      ElementsAre(
          "t.yml:4:6: pool 'alpha': server '127.0.0.1:6379:0': weight must be greater than 0",
          "t.yml:6:6: pool 'alpha': duplicate server name 'a' (first at line 5)",
          "t.yml:8:6: pool 'alpha': duplicate server 127.0.0.1:6382: its ring identity "
          "'127.0.0.1:6382' is already used at line 7",
          "t.yml:9:6: pool 'alpha': duplicate server name '127.0.0.1:6382' (first at line 7)",
          "t.yml:12:6: pool 'alpha': a server must be one 'host:port:weight [name]' value"));
}

TEST(ParseTest, WeightsMustFitTheRing) {
  EXPECT_THAT(Errors("alpha:\n"
                     "  listen: 127.0.0.1:22121\n"
                     "  servers:\n"
                     "   - 127.0.0.1:6379:2147483647\n"
                     "   - 127.0.0.1:6380:2147483647\n"
                     "   - 127.0.0.1:6381:2\n"),
              ElementsAre("t.yml:4:4: pool 'alpha': the server weights add up to 4294967296, "
                          "more than 4294967295"));
}

TEST(ParseTest, CrossPoolRules) {
  EXPECT_THAT(Errors("alpha:\n"
                     "  listen: 127.0.0.1:22121\n"
                     "  servers:\n"
                     "   - 127.0.0.1:6379:1 a\n"
                     "beta:\n"
                     "  listen: 127.0.0.1:022121\n"
                     "  servers:\n"
                     "   - 127.0.0.1:6379:1 a\n"
                     "alpha:\n"
                     "  listen: 127.0.0.1:22123\n"
                     "  servers:\n"
                     "   - 127.0.0.1:6379:1\n"
                     "gamma:\n"
                     "  listen: /tmp/g.sock\n"
                     "  servers:\n"
                     "   - 127.0.0.1:6379:1\n"
                     "delta:\n"
                     "  listen: /tmp/g.sock 0600\n"
                     "  servers:\n"
                     "   - 127.0.0.1:6379:1\n"),
              ElementsAre("t.yml:6:11: pool 'beta': listen address 127.0.0.1:22121 is already "
                          "used by pool 'alpha' (line 2)",
                          "t.yml:9:1: duplicate pool name 'alpha' (first at line 1)",
                          "t.yml:18:11: pool 'delta': listen address /tmp/g.sock is already used "
                          "by pool 'gamma' (line 14)"));
}

TEST(ParseTest, TopLevelErrors) {
  EXPECT_THAT(Errors(""), ElementsAre("t.yml:1:1: no pools: the file holds no YAML mapping of "
                                      "pool names to pools"));
  EXPECT_THAT(Errors("# only a comment\n"),
              ElementsAre("t.yml:1:1: no pools: the file holds no YAML mapping of pool names to "
                          "pools"));
  EXPECT_THAT(Errors("- a\n- b\n"),
              ElementsAre("t.yml:1:1: the top level must map pool names to pools (\"name:\" then "
                          "indented keys)"));
  EXPECT_THAT(Errors("hello\n"),
              ElementsAre("t.yml:1:1: the top level must map pool names to pools (\"name:\" then "
                          "indented keys)"));
}

TEST(ParseTest, YamlSyntaxErrorsAreLocated) {
  EXPECT_THAT(Errors("alpha:\n"
                     "  listen: 127.0.0.1:22121\n"
                     "    hash: md5\n"),
              ElementsAre("t.yml:3:9: YAML syntax error: illegal map value"));
  EXPECT_THAT(Errors("alpha:\n"
                     "  listen: [127.0.0.1:22121\n"),
              ElementsAre("t.yml:3:1: YAML syntax error: end of sequence flow not found"));
  EXPECT_THAT(Errors("alpha:\n"
                     "  listen: \"127.0.0.1:22121\n"
                     "\tservers: x\n"),
              ElementsAre("t.yml:2:11: YAML syntax error: unterminated quoted scalar"));
  EXPECT_THAT(Errors("a: 1\n"
                     "---\n"
                     "b: 2\n"),
              ElementsAre("t.yml:2:1: explicit document start '---' is not allowed: nutcracker "
                          "rejects it",
                          "t.yml:2:1: only one YAML document is allowed per file (nutcracker "
                          "reads one)"));
}

TEST(ParseTest, NutcrackersYamlSubset) {
  EXPECT_THAT(
      Errors("---\n"
             "alpha:\n"
             "  listen: &l 127.0.0.1:22121\n"
             "  timeout: !!int 5\n"
             "  hash_tag: {a: b}\n"
             "  servers:\n"
             "   - *l\n"
             "...\n"),
      ElementsAre("t.yml:1:1: explicit document start '---' is not allowed: nutcracker rejects it",
                  "t.yml:3:11: YAML anchors (&name) are not allowed: nutcracker rejects them",
                  "t.yml:4:12: YAML tags (tag:yaml.org,2002:int) are not allowed: nutcracker "
                  "rejects them",
                  "t.yml:5:13: flow mappings ({a: b}) are not allowed: write one 'key: value' "
                  "per line",
                  "t.yml:7:6: YAML aliases (*name) are not allowed: nutcracker rejects them",
                  "t.yml:8:1: explicit document end '...' is not allowed: nutcracker rejects "
                  "it"));
  EXPECT_THAT(Errors("%YAML 1.2\n"
                     "a: 1\n"),
              ::testing::Contains("t.yml:1:1: YAML directives (%) are not allowed: nutcracker "
                                  "rejects them"));
}

TEST(ParseTest, ErrorToString) {
  EXPECT_EQ((Error{"f.yml", 3, 7, "bad"}).ToString(), "f.yml:3:7: bad");
  EXPECT_EQ((Error{"f.yml", 0, 0, "cannot open"}).ToString(), "f.yml: cannot open");
}

TEST(LoadTest, MissingFile) {
  auto config = Load("/nonexistent/ringleader.yml");
  ASSERT_FALSE(config.has_value());
  ASSERT_EQ(config.error().size(), 1u);
  EXPECT_EQ(config.error()[0].ToString(),
            "/nonexistent/ringleader.yml: cannot open configuration file: No such file or "
            "directory");
}

}  // namespace
}  // namespace rl::conf
