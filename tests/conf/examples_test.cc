// The example configurations shipped in conf/examples/ load, and demo.yml is what scripts/demo
// expects: r1..r3 on 127.0.0.1:7001..7003 behind 127.0.0.1:6380.
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

}  // namespace
}  // namespace rl::conf
