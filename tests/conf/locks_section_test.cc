// `ringleader: locks:`: defaults, the masters taken from a pool, and every located error.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/conf/parse_util.h"

namespace rl::conf {
namespace {

const std::string kPools =
    "alpha:\n"
    "  listen: 127.0.0.1:22121\n"
    "  redis_auth: pw\n"
    "  servers:\n"
    "    - 127.0.0.1:6379:1\n"
    "    - 127.0.0.1:6380:1\n"
    "beta:\n"
    "  listen: 127.0.0.1:22122\n"
    "  servers:\n"
    "    - 127.0.0.1:7000:1\n";

std::string WithLocks(const std::string& locks) {
  return kPools + "ringleader:\n  locks:\n" + locks;
}

TEST(LocksSectionTest, AbsentMeansNoLockService) {
  Config c = MustParse(kPools);
  EXPECT_FALSE(c.ringleader.locks.has_value());
}

TEST(LocksSectionTest, DefaultsToTheFirstPoolsServers) {
  Config c = MustParse(WithLocks("    data_dir: /tmp/rl\n"));
  ASSERT_TRUE(c.ringleader.locks.has_value());
  const LockSettings& l = *c.ringleader.locks;
  ASSERT_EQ(l.masters.size(), 2u);
  EXPECT_EQ(l.masters[0].ToString(), "127.0.0.1:6379");
  EXPECT_EQ(l.masters[1].ToString(), "127.0.0.1:6380");
  EXPECT_EQ(l.password, "pw");
  EXPECT_EQ(l.data_dir, "/tmp/rl");
  EXPECT_DOUBLE_EQ(l.drift_factor, 0.01);
  EXPECT_EQ(l.request_timeout.count(), 200);
}

TEST(LocksSectionTest, PoolNamesWhoseServersLock) {
  Config c = MustParse(WithLocks("    data_dir: d\n    pool: beta\n"));
  ASSERT_EQ(c.ringleader.locks->masters.size(), 1u);
  EXPECT_EQ(c.ringleader.locks->masters[0].ToString(), "127.0.0.1:7000");
  EXPECT_EQ(c.ringleader.locks->password, "");
}

TEST(LocksSectionTest, ExplicitMastersAndTiming) {
  Config c = MustParse(
      WithLocks("    data_dir: d\n    masters:\n      - 10.0.0.1:7001\n      - 10.0.0.2:7002\n"
                "      - 10.0.0.3:7003\n    drift_factor: 0.05\n    request_timeout_ms: 50\n"));
  const LockSettings& l = *c.ringleader.locks;
  ASSERT_EQ(l.masters.size(), 3u);
  EXPECT_EQ(l.masters[2].ToString(), "10.0.0.3:7003");
  EXPECT_DOUBLE_EQ(l.drift_factor, 0.05);
  EXPECT_EQ(l.request_timeout.count(), 50);
}

TEST(LocksSectionTest, LocatedErrors) {
  const int line = 13;  // the line of the first key under locks:
  auto at = [](int l, int col, const std::string& m) {
    return "t.yml:" + std::to_string(l) + ":" + std::to_string(col) +
           ": section 'ringleader': locks" + m;
  };
  EXPECT_EQ(Errors(WithLocks("    pool: alpha\n")),
            std::vector<std::string>{at(12, 3,
                                        ": data_dir is required (the fencing-token file "
                                        "lives there)")});
  EXPECT_EQ(Errors(WithLocks("    data_dir: d\n    pool: gamma\n")),
            std::vector<std::string>{at(line + 1, 11, ": pool 'gamma' is not in this file")});
  EXPECT_EQ(Errors(WithLocks("    data_dir: d\n    drift_factor: 1.5\n")),
            std::vector<std::string>{at(
                line + 1, 19, ": drift_factor '1.5' must be below 1 (a fraction of the lease)")});
  EXPECT_EQ(Errors(WithLocks("    data_dir: d\n    drift_factor: 1e-2\n")),
            std::vector<std::string>{
                at(line + 1, 19, ": drift_factor '1e-2' is not a decimal number such as 0.01")});
  EXPECT_EQ(Errors(WithLocks("    data_dir: d\n    masters:\n      - nohost\n")).size(), 1u);
  EXPECT_EQ(Errors(WithLocks("    data_dir: d\n    masters:\n      - 10.0.0.1:1\n"
                             "      - 10.0.0.1:1\n")),
            std::vector<std::string>{at(line + 3, 9, ": master 10.0.0.1:1 is listed twice")});
  EXPECT_EQ(Errors(WithLocks("    data_dir: d\n    request_timeout_ms: 0\n")).size(), 1u);
  std::vector<std::string> unknown = Errors(WithLocks("    data_dir: d\n    master: x\n"));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].find("unknown key 'master' (did you mean 'masters'?)"), std::string::npos)
      << unknown[0];
  EXPECT_EQ(Errors(kPools + "ringleader:\n  locks:\n").size(), 1u);
  EXPECT_EQ(Errors(kPools + "ringleader:\n  lock:\n    data_dir: d\n").size(), 1u);
}

}  // namespace
}  // namespace rl::conf
