// Mailbox (proxy/base/mailbox.h): closures posted from other threads run on the loop's thread,
// in each poster's order; after Close() posting fails and what was queued is dropped unrun.
// Links rl_proxy_base only (a leaf).
#include "proxy/base/mailbox.h"

#include <uv.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace rl::proxy {
namespace {

TEST(MailboxTest, ClosuresFromManyThreadsRunOnTheLoopInPostingOrder) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  Mailbox mailbox;
  ASSERT_EQ(mailbox.Open(&loop), 0);
  constexpr int kThreads = 4;
  constexpr int kPosts = 2000;
  std::vector<std::vector<int>> seen(kThreads);
  std::atomic<int> wrong_thread{0};
  int ran = 0;
  std::thread::id loop_thread = std::this_thread::get_id();
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i) {
        ASSERT_TRUE(mailbox.Post([&, t, i] {
          if (std::this_thread::get_id() != loop_thread) ++wrong_thread;
          seen[t].push_back(i);
          if (++ran == kThreads * kPosts) mailbox.Close();  // the last one ends the loop
        }));
      }
    });
  }
  for (auto& p : posters) p.join();
  uv_run(&loop, UV_RUN_DEFAULT);  // returns once the mailbox closed
  EXPECT_EQ(ran, kThreads * kPosts);
  EXPECT_EQ(wrong_thread.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), static_cast<size_t>(kPosts));
    for (int i = 0; i < kPosts; ++i) ASSERT_EQ(seen[t][i], i) << "thread " << t;
  }
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(MailboxTest, AfterCloseNothingIsTakenAndQueuedClosuresAreDroppedUnrun) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  Mailbox mailbox;
  ASSERT_EQ(mailbox.Open(&loop), 0);
  auto token = std::make_shared<int>(0);
  bool ran = false;
  ASSERT_TRUE(mailbox.Post([&ran, token] { ran = true; }));
  EXPECT_EQ(token.use_count(), 2);  // held by the queued closure
  mailbox.Close();
  EXPECT_EQ(token.use_count(), 1);  // dropped with its captures
  EXPECT_FALSE(mailbox.Post([&ran] { ran = true; }));
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_FALSE(ran);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace rl::proxy
