// Real clients through an in-process proxy over three redis-servers: redis-benchmark's default
// suite, redis-cli one-shot commands, and redis-py (Debian's python3-redis) with pipelines,
// cross-server MGET/MSET and errors raised without desynchronising the connection.
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <sys/wait.h>
#include <uv.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/proxy/proxy_fixture.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rl::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv to completion (bounded); returns its exit code (-1 on time-out) and output.
int RunToExit(const std::vector<std::string>& argv, std::string* output,
              std::chrono::seconds bound = std::chrono::seconds(120)) {
  TempDir dir;
  std::string log = dir.File("out.log");
  auto child = ChildProcess::Spawn(argv, log);
  if (!child) {
    *output = child.error();
    return -1;
  }
  int status = child->WaitExit(bound);
  *output = ReadFile(log);
  if (status < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ClientsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { t_ = ProxyUnderTest::Start(3).release(); }
  static void TearDownTestSuite() {
    delete t_;
    t_ = nullptr;
  }
  static ProxyUnderTest* t_;
};
ProxyUnderTest* ClientsTest::t_ = nullptr;

TEST_F(ClientsTest, RedisBenchmarkDefaultSuite) {
  std::string out;
  ASSERT_EQ(
      RunToExit({"redis-benchmark", "-p", std::to_string(t_->port), "-q", "-n", "2000", "-c", "10"},
                &out),
      0)
      << out;
  for (const char* test : {"PING_INLINE", "SET:", "GET:", "LRANGE_600", "MSET (10 keys)"}) {
    EXPECT_NE(out.find(test), std::string::npos) << test << " missing in\n" << out;
  }
  EXPECT_EQ(out.find("rror"), std::string::npos) << out;
  EXPECT_EQ(out.find("WARNING"), std::string::npos) << out;  // CONFIG GET answered
}

TEST_F(ClientsTest, RedisCliOneShot) {
  std::string port = std::to_string(t_->port), out;
  ASSERT_EQ(RunToExit({"redis-cli", "-p", port, "MSET", "c1", "a", "c2", "b", "c3", "c"}, &out), 0);
  EXPECT_EQ(out, "OK\n");
  ASSERT_EQ(RunToExit({"redis-cli", "-p", port, "MGET", "c3", "c1", "nope", "c2"}, &out), 0);
  EXPECT_EQ(out, "c\na\n\nb\n");
  ASSERT_EQ(RunToExit({"redis-cli", "-p", port, "COMMAND", "DOCS", "get"}, &out), 0);
  EXPECT_NE(out.find("Get the value of a key"), std::string::npos) << out;
}

TEST_F(ClientsTest, RedisPy) {
  TempDir dir;
  std::string script = dir.Write("client.py", R"(
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
assert r.ping()
p = r.pipeline(transaction=False)
for i in range(300):
    p.set('py:%d' % i, i)
p.mget(['py:%d' % i for i in range(300)])
res = p.execute()
assert res[-1] == [str(i).encode() for i in range(300)], res[-1][:5]
assert r.mset({'py:a': '1', 'py:b': '2', 'py:c': '3'})
assert r.mget('py:c', 'py:a', 'py:none', 'py:b') == [b'3', b'1', None, b'2']
assert r.delete('py:a', 'py:b', 'py:c', 'py:none') == 3
try:
    r.execute_command('NOSUCHCOMMAND', 'x')
    raise SystemExit('no error raised')
except redis.ResponseError as e:
    assert 'unknown command' in str(e), e
try:
    r.rename('py:1', 'py:2x')
except redis.ResponseError as e:
    assert 'CROSSSLOT' in str(e) or 'no such key' in str(e), e
assert r.get('py:7') == b'7'  # no desync after errors
assert r.info()['loading'] == 0
print('ok')
)");
  std::string out;
  ASSERT_EQ(RunToExit({"/usr/bin/python3", script, std::to_string(t_->port)}, &out), 0) << out;
  EXPECT_EQ(out, "ok\n");
}

TEST_F(ClientsTest, HiredisAsyncWithLibuv) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  redisAsyncContext* ctx = redisAsyncConnect("127.0.0.1", t_->port);
  ASSERT_EQ(ctx->err, 0) << ctx->errstr;
  redisLibuvAttach(ctx, &loop);
  struct State {
    int replies = 0;
    int wrong = 0;
  } state;
  std::string last;
  auto on_reply = [](redisAsyncContext*, void* reply, void* data) {
    auto* st = static_cast<State*>(data);
    auto* r = static_cast<redisReply*>(reply);
    ++st->replies;
    if (r == nullptr || r->type == REDIS_REPLY_ERROR) ++st->wrong;
  };
  for (int i = 0; i < 1000; ++i) {
    std::string key = "async:" + std::to_string(i);
    redisAsyncCommand(ctx, on_reply, &state, "SET %s %d", key.c_str(), i);
    redisAsyncCommand(ctx, on_reply, &state, "MGET %s async:0 async:1", key.c_str());
  }
  redisAsyncCommand(
      ctx,
      [](redisAsyncContext* c, void* reply, void* data) {
        auto* r = static_cast<redisReply*>(reply);
        *static_cast<std::string*>(data) = r != nullptr ? std::string(r->str, r->len) : "";
        redisAsyncDisconnect(c);
      },
      &last, "GET async:999");
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  EXPECT_EQ(state.replies, 2000);
  EXPECT_EQ(state.wrong, 0);
  EXPECT_EQ(last, "999");
}

}  // namespace
}  // namespace rl::testing
