// The example configurations shipped in conf/examples/ load, demo.yml is what scripts/demo
// expects (r1..r3 on 127.0.0.1:7001..7003 behind 127.0.0.1:6380), and every-key.yml shows every
// key of the ringleader: section.
#include <fstream>
#include <sstream>
#include <string>

#include "conf/config.h"
#include "gtest/gtest.h"

namespace rl::conf {
namespace {

const std::string kExamples = std::string(RL_TEST_SOURCE_DIR) + "/conf/examples/";

TEST(ExamplesTest, DemoIsThreeLocalRedisServers) {
  auto config = Load(kExamples + "demo.yml");
  ASSERT_TRUE(config.has_value()) << config.error()[0].ToString();
  ASSERT_EQ(config->pools.size(), 1u);
  const Pool& pool = config->pools[0];
  EXPECT_EQ(pool.listen.ToString(), "127.0.0.1:6380");
  ASSERT_EQ(pool.servers.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pool.servers[i].name, "r" + std::to_string(i + 1));
    EXPECT_EQ(pool.servers[i].address.ToString(), "127.0.0.1:700" + std::to_string(i + 1));
  }
}

TEST(ExamplesTest, EveryKeyLoads) {
  auto config = Load(kExamples + "every-key.yml");
  ASSERT_TRUE(config.has_value()) << config.error()[0].ToString();
  ASSERT_EQ(config->pools.size(), 1u);
  EXPECT_EQ(config->pools[0].servers.size(), 3u);
  EXPECT_EQ(config->pools[0].servers[2].identity, "/var/run/redis/r3.sock:");
}

TEST(ExamplesTest, EveryKeyShowsTheRingleaderSectionWithItsDefaults) {
  auto config = Load(kExamples + "every-key.yml");
  ASSERT_TRUE(config.has_value()) << config.error()[0].ToString();
  const RingleaderSettings& s = config->ringleader;
  const RingleaderSettings defaults;
  EXPECT_EQ(s.client_output_limit, defaults.client_output_limit);
  EXPECT_EQ(s.client_max_inflight, defaults.client_max_inflight);
  EXPECT_EQ(s.shutdown_grace, defaults.shutdown_grace);
  EXPECT_EQ(s.reconnect_backoff_min, defaults.reconnect_backoff_min);
  EXPECT_EQ(s.reconnect_backoff_max, defaults.reconnect_backoff_max);
  EXPECT_EQ(s.proto_max_bulk_len, defaults.proto_max_bulk_len);
  EXPECT_EQ(s.proto_max_multibulk_len, defaults.proto_max_multibulk_len);
  EXPECT_EQ(s.client_query_buffer_limit, defaults.client_query_buffer_limit);
  // Every key is written out (a key added to the section belongs in the example too).
  std::ifstream in(kExamples + "every-key.yml");
  std::stringstream text;
  text << in.rdbuf();
  for (const char* key : {"client_output_limit", "client_max_inflight", "shutdown_grace",
                          "reconnect_backoff_min", "reconnect_backoff_max", "proto_max_bulk_len",
                          "proto_max_multibulk_len", "client_query_buffer_limit"}) {
    EXPECT_NE(text.str().find(std::string("\n  ") + key + ": "), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace rl::conf
