// Scripts and functions through a Proxy in front of real redis-servers: SCRIPT LOAD reaches every
// server so that EVALSHA works wherever its keys land, SCRIPT EXISTS is true only where every
// server has the script, scripts with keys run on their keys' server (or -CROSSSLOT), scripts
// without keys always run on the first server, SCRIPT KILL stops a running script, and a backend
// killed in the middle of SCRIPT LOAD gives an error naming it while the proxy keeps serving.
#include <signal.h>

#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"

namespace rl::testing {
namespace {

constexpr const char* kGetScript = "return redis.call('GET', KEYS[1])";

class ScriptsTest : public ::testing::Test {
 protected:
  void SetUp() override { t_ = ProxyUnderTest::Start(3); }
  std::unique_ptr<ProxyUnderTest> t_;
};

TEST_F(ScriptsTest, ScriptLoadThenEvalshaOnKeysOfEveryServer) {
  RedisClient c = t_->Client();
  std::string sha = Str(c.Command({"SCRIPT", "LOAD", kGetScript}));
  ASSERT_EQ(sha.size(), 40u) << sha;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Str(t_->Direct(i).Command({"SCRIPT", "EXISTS", sha})), "[1]") << "server " << i;
    std::string key = KeyOn(*t_, i);
    ASSERT_EQ(Str(c.Command({"SET", key, "on" + std::to_string(i)})), "OK");
    EXPECT_EQ(Str(c.Command({"EVALSHA", sha, "1", key})), "on" + std::to_string(i));
    EXPECT_EQ(Str(c.Command({"evalsha_ro", sha, "1", key})), "on" + std::to_string(i));
  }
  // Loading again gives the same sha; a script that does not compile is Redis's error, from the
  // first server, naming it.
  EXPECT_EQ(Str(c.Command({"SCRIPT", "LOAD", kGetScript})), sha);
  std::string bad = Str(c.Command({"SCRIPT", "LOAD", "return ("}));
  EXPECT_TRUE(bad.starts_with(
      fmt::format("ERR backend r1 (127.0.0.1:{}): ERR Error compiling", t_->redis[0]->port())))
      << bad;
  // A sha no server knows: Redis's NOSCRIPT, unchanged.
  auto raw = t_->Raw();
  raw->Send(Resp({"EVALSHA", std::string(40, 'f'), "1", KeyOn(*t_, 2)}));
  EXPECT_EQ(raw->ReadReply(), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
}

TEST_F(ScriptsTest, ScriptExistsOnlyWhereEveryServerHasIt) {
  RedisClient c = t_->Client();
  std::string everywhere = Str(c.Command({"SCRIPT", "LOAD", "return 1"}));
  // Loaded on the second server alone (as EVAL does on the server it runs on).
  std::string one = Str(t_->Direct(1).Command({"SCRIPT", "LOAD", "return 2"}));
  std::string nowhere = std::string(40, '0');
  EXPECT_EQ(Str(c.Command({"SCRIPT", "EXISTS", everywhere, one, nowhere, everywhere})),
            "[1,0,0,1]");
  for (size_t i : {0u, 2u})
    ASSERT_EQ(Str(t_->Direct(i).Command({"SCRIPT", "LOAD", "return 2"})), one);
  EXPECT_EQ(Str(c.Command({"SCRIPT", "EXISTS", everywhere, one, nowhere})), "[1,1,0]");
  // SCRIPT FLUSH empties every server's cache.
  EXPECT_EQ(Str(c.Command({"SCRIPT", "FLUSH"})), "OK");
  EXPECT_EQ(Str(c.Command({"SCRIPT", "EXISTS", everywhere, one})), "[0,0]");
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Str(t_->Direct(i).Command({"SCRIPT", "EXISTS", everywhere})), "[0]");
  }
  EXPECT_EQ(Str(c.Command({"SCRIPT", "FLUSH", "ASYNC"})), "OK");
}

TEST_F(ScriptsTest, ScriptKeysMustShareAServer) {
  RedisClient c = t_->Client();
  std::string a = KeyOn(*t_, 0, "a"), a2 = KeyOn(*t_, 0, "aa"), b = KeyOn(*t_, 1, "b");
  const char* script = "return redis.call('MSET', KEYS[1], ARGV[1], KEYS[2], ARGV[1])";
  EXPECT_EQ(Str(c.Command({"EVAL", script, "2", a, a2, "x"})), "OK");
  EXPECT_EQ(Str(t_->Direct(0).Command({"GET", a2})), "x");
  EXPECT_EQ(Str(c.Command({"EVAL", script, "2", a, b, "x"})),
            "CROSSSLOT Keys in request don't hash to the same server");
  std::string sha = Str(c.Command({"SCRIPT", "LOAD", script}));
  EXPECT_EQ(Str(c.Command({"EVALSHA", sha, "2", b, a, "y"})),
            "CROSSSLOT Keys in request don't hash to the same server");
  EXPECT_EQ(
      Str(c.Command({"FUNCTION", "LOAD",
                     "#!lua name=lib\n"
                     "redis.register_function('pair', function(keys, args)\n"
                     "  return redis.call('MSET', keys[1], args[1], keys[2], args[1]) end)"})),
      "lib");
  EXPECT_EQ(Str(c.Command({"FCALL", "pair", "2", a, a2, "z"})), "OK");
  EXPECT_EQ(Str(c.Command({"FCALL", "pair", "2", a, b, "z"})),
            "CROSSSLOT Keys in request don't hash to the same server");
  EXPECT_EQ(Str(c.Command({"FUNCTION", "DELETE", "lib"})), "OK");
}

TEST_F(ScriptsTest, ZeroKeyScriptsRunOnTheFirstServer) {
  RedisClient c = t_->Client();
  // Scripts that touch a key they do not declare (its name passed as an argument) show where
  // they ran. The key itself belongs to the last server, so the two cannot be confused.
  std::string counter = KeyOn(*t_, 2, "zero-key-counter:");
  const char* incr = "return redis.call('INCR', ARGV[1])";
  std::string sha = Str(c.Command({"SCRIPT", "LOAD", incr}));
  ASSERT_EQ(Str(c.Command({"FUNCTION", "LOAD",
                           "#!lua name=zk\n"
                           "redis.register_function('zinc', function(keys, args)\n"
                           "  return redis.call('INCR', args[1]) end)"})),
            "zk");
  int expected = 0;
  for (int round = 0; round < 5; ++round) {
    RedisClient fresh = t_->Client();  // a new client each time: no per-client affinity
    EXPECT_EQ(Str(fresh.Command({"EVAL", incr, "0", counter})), std::to_string(++expected));
    EXPECT_EQ(Str(fresh.Command({"EVALSHA", sha, "0", counter})), std::to_string(++expected));
    EXPECT_EQ(Str(fresh.Command({"FCALL", "zinc", "0", counter})), std::to_string(++expected));
    EXPECT_EQ(Str(fresh.Command({"EVAL_RO", "return redis.call('GET', ARGV[1])", "0", counter})),
              std::to_string(expected));
  }
  EXPECT_EQ(Str(t_->Direct(0).Command({"GET", counter})), std::to_string(expected));
  for (size_t i : {1u, 2u}) EXPECT_EQ(Str(t_->Direct(i).Command({"EXISTS", counter})), "0");
}

TEST_F(ScriptsTest, ScriptKillStopsARunningScript) {
  // Redis lets SCRIPT KILL in only once a script has run for busy-reply-threshold.
  ASSERT_EQ(Str(t_->Direct(0).Command({"CONFIG", "SET", "busy-reply-threshold", "50"})), "OK");
  auto busy = t_->Raw();
  busy->Send(Resp({"EVAL", "while true do end", "0"}));  // zero keys: the first server
  RedisClient probe = t_->Direct(0);
  ASSERT_TRUE(WaitFor([&] { return Str(probe.Command({"PING"})).starts_with("BUSY"); }));
  auto killer = t_->Raw();
  killer->Send(Resp({"SCRIPT", "KILL"}));
  EXPECT_EQ(killer->ReadReply(), "+OK\r\n");
  std::string killed = busy->ReadReply();
  EXPECT_TRUE(killed.starts_with("-ERR") &&
              killed.find("Script killed by user") != std::string::npos)
      << killed;
  // Nothing left to kill: Redis's own NOTBUSY, as one Redis says it.
  killer->Send(Resp({"SCRIPT", "KILL"}) + Resp({"FUNCTION", "KILL"}) + Resp({"PING"}));
  EXPECT_EQ(killer->ReadReply(), "-NOTBUSY No scripts in execution right now.\r\n");
  EXPECT_EQ(killer->ReadReply(), "-NOTBUSY No scripts in execution right now.\r\n");
  EXPECT_EQ(killer->ReadReply(), "+PONG\r\n");
  busy->Send(Resp({"PING"}));
  EXPECT_EQ(busy->ReadReply(), "+PONG\r\n");
}

TEST_F(ScriptsTest, BackendKilledInTheMiddleOfScriptLoad) {
  RedisClient c = t_->Client();
  std::string key0 = KeyOn(*t_, 0);
  ASSERT_EQ(Str(c.Command({"SET", key0, "v"})), "OK");
  uint16_t port1 = t_->redis[1]->port();
  t_->redis[1]->process().Signal(SIGSTOP);
  auto raw = t_->Raw();
  raw->Send(Resp({"SCRIPT", "LOAD", kGetScript}) + Resp({"PING"}));
  // r1 and r3 have loaded it; r2 is stopped and then killed with the request outstanding. (A
  // reply sent before r2's answer would come ahead of the error read below.)
  RedisClient r1 = t_->Direct(0), r3 = t_->Direct(2);
  ASSERT_TRUE(WaitFor(
      [&] { return RedisCalls(r1, "script|load") == 1 && RedisCalls(r3, "script|load") == 1; }));
  t_->redis[1]->process().Signal(SIGKILL);
  EXPECT_GE(t_->redis[1]->process().WaitExit(std::chrono::seconds(5)), 0);
  std::string reply = raw->ReadReply();
  EXPECT_TRUE(reply.starts_with(fmt::format("-ERR backend r2 (127.0.0.1:{}): ", port1))) << reply;
  EXPECT_EQ(raw->ReadReply(), "+PONG\r\n");
  // The proxy keeps serving; scripts reach the servers that are up, and anything needing r2
  // names it.
  std::string sha = Str(t_->Direct(0).Command({"SCRIPT", "LOAD", kGetScript}));
  EXPECT_EQ(Str(c.Command({"EVALSHA", sha, "1", key0})), "v");
  reply = Str(c.Command({"SCRIPT", "EXISTS", sha}));
  EXPECT_TRUE(reply.starts_with(fmt::format("ERR backend r2 (127.0.0.1:{}): ", port1))) << reply;
  reply = Str(c.Command({"SCRIPT", "LOAD", kGetScript}));
  EXPECT_TRUE(reply.starts_with(fmt::format("ERR backend r2 (127.0.0.1:{}): ", port1))) << reply;
}

}  // namespace
}  // namespace rl::testing
