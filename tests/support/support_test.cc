// Checks the test-support library itself: a real redis-server starts on a free port, answers,
// and is gone after Stop().
#include <signal.h>

#include "gtest/gtest.h"
#include "tests/support/redis_server.h"

namespace rl::testing {
namespace {

TEST(RedisServerTest, StartsAnswersAndStopsByPid) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.has_value()) << server.error();
  pid_t pid = (*server)->pid();
  auto client = (*server)->Connect();
  ASSERT_TRUE(client.has_value()) << client.error();
  auto reply = client->Command({"SET", std::string("k\0ey", 4), "v"});
  ASSERT_NE(reply, nullptr);
  EXPECT_STREQ(reply->str, "OK");
  reply = client->Command({"GET", std::string("k\0ey", 4)});
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(std::string(reply->str, reply->len), "v");
  (*server)->process().Stop();
  EXPECT_NE(kill(pid, 0), 0) << "redis-server pid " << pid << " still exists";
}

TEST(TempDirTest, RemovesItself) {
  std::string path;
  {
    TempDir dir;
    path = dir.Write("f", "x");
    ASSERT_EQ(access(path.c_str(), F_OK), 0);
  }
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace rl::testing
