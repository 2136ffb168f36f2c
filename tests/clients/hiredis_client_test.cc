// hiredis (C), sync and async through its libuv adapter, against a real ringleader in front of
// three redis-servers.
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/ringleader_cluster.h"

namespace rl::testing {
namespace {

class HiredisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = RingleaderCluster::Start();
    ASSERT_TRUE(c.has_value()) << c.error();
    cluster_ = std::move(*c);
  }
  std::unique_ptr<RingleaderCluster> cluster_;
};

TEST_F(HiredisTest, SyncCommandsAndPipeline) {
  auto client = cluster_->Connect();
  ASSERT_TRUE(client.has_value()) << client.error();
  auto r = client->Command({"SET", "h:a", std::string("\0\r\n", 3)});
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, REDIS_REPLY_STATUS);
  r = client->Command({"GET", "h:a"});
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(std::string(r->str, r->len), std::string("\0\r\n", 3));

  constexpr int kN = 2000;
  for (int i = 0; i < kN; ++i) client->Append({"SET", "h:" + std::to_string(i), std::to_string(i)});
  for (int i = 0; i < kN; ++i) {
    auto reply = client->GetReply();
    ASSERT_NE(reply, nullptr);
    ASSERT_EQ(reply->type, REDIS_REPLY_STATUS) << i;
  }
  std::vector<std::string> mget = {"MGET"};
  for (int i = 0; i < kN; ++i) mget.push_back("h:" + std::to_string(i));
  r = client->Command(mget);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->elements, static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(std::string(r->element[i]->str, r->element[i]->len), std::to_string(i));
  }
}

struct AsyncState {
  int replies = 0;
  std::vector<std::string> values;
  bool connected = false;
};

void OnReply(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* state = static_cast<AsyncState*>(privdata);
  auto* r = static_cast<redisReply*>(reply);
  state->values.push_back(r == nullptr                 ? "<null>"
                          : r->type == REDIS_REPLY_NIL ? "<nil>"
                                                       : std::string(r->str, r->len));
  if (++state->replies == 3) redisAsyncDisconnect(ac);
}

TEST_F(HiredisTest, AsyncWithLibuvAdapter) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  redisAsyncContext* ac = redisAsyncConnect("127.0.0.1", cluster_->port());
  ASSERT_NE(ac, nullptr);
  ASSERT_EQ(ac->err, 0) << ac->errstr;
  ASSERT_EQ(redisLibuvAttach(ac, &loop), REDIS_OK);
  AsyncState state;
  redisAsyncCommand(ac, OnReply, &state, "SET h:async %s", "value");
  redisAsyncCommand(ac, OnReply, &state, "GET h:async");
  redisAsyncCommand(ac, OnReply, &state, "GET h:async-missing");
  // Bounded: a timer stops the loop if the replies never come.
  uv_timer_t guard;
  uv_timer_init(&loop, &guard);
  uv_timer_start(
      &guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 10000, 0);
  uv_unref(reinterpret_cast<uv_handle_t*>(&guard));
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(state.values, (std::vector<std::string>{"OK", "value", "<nil>"}));
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace rl::testing
