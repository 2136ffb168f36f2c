// DiskThread: jobs are written by the worker in order, their callbacks run on the loop thread in
// submission order, what they wrote is durable (a fresh FileStorage loads it), and an invalid
// job's error reaches its callback and every later one.
#include "raft/node/disk_thread.h"

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "gtest/gtest.h"
#include "raft/file_storage.h"
#include "tests/support/temp_dir.h"

namespace rl::raft {
namespace {

// Runs `loop` until `done()` holds, at most 10 s.
bool RunUntil(uv_loop_t* loop, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  uv_timer_t tick;  // wakes the loop so the deadline is checked even when nothing happens
  uv_timer_init(loop, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 10, 10);
  while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(loop, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
  return done();
}

std::unique_ptr<Storage> Loaded(const std::string& dir) {
  auto storage = std::make_unique<FileStorage>(dir);
  auto state = storage->Load();
  EXPECT_TRUE(state) << state.error().message;
  return storage;
}

Entry E(Index index, Term term) { return Entry{term, index, EntryType::kNormal, "x"}; }

TEST(DiskThreadTest, WritesInOrderAndCompletesOnTheLoop) {
  testing::TempDir dir;
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::vector<int> order;
  bool on_loop_thread = true;
  const auto loop_thread = std::this_thread::get_id();
  {
    DiskThread disk(&loop, Loaded(dir.path()));
    for (int i = 0; i < 3; ++i) {
      DiskJob job;
      job.entries = {E(2 * i + 1, 1), E(2 * i + 2, 1)};
      job.hard_state = HardState{1, 1, static_cast<Index>(2 * i)};
      disk.Submit(std::move(job), [&, i](StorageResult<> r) {
        EXPECT_TRUE(r) << r.error().message;
        on_loop_thread = on_loop_thread && std::this_thread::get_id() == loop_thread;
        order.push_back(i);
      });
    }
    EXPECT_EQ(disk.pending(), 3u);
    ASSERT_TRUE(RunUntil(&loop, [&] { return order.size() == 3; }));
    EXPECT_EQ(disk.pending(), 0u);
    disk.Stop();
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(on_loop_thread);
  uv_run(&loop, UV_RUN_DEFAULT);  // the close callback frees the handle
  EXPECT_EQ(uv_loop_close(&loop), 0);
  // Durable: a fresh storage sees every entry and the last hard state.
  FileStorage again(dir.path());
  auto state = again.Load();
  ASSERT_TRUE(state) << state.error().message;
  ASSERT_EQ(state->entries.size(), 6u);
  EXPECT_EQ(state->entries.back().index, 6u);
  EXPECT_EQ(state->hard_state, (HardState{1, 1, 4}));
}

TEST(DiskThreadTest, AnErrorReachesThisAndLaterJobs) {
  testing::TempDir dir;
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::vector<bool> results;
  {
    DiskThread disk(&loop, Loaded(dir.path()));
    DiskJob gap;
    gap.entries = {E(5, 1)};  // not contiguous with an empty log: kInvalidArgument
    disk.Submit(std::move(gap), [&](StorageResult<> r) { results.push_back(r.has_value()); });
    DiskJob fine;
    fine.entries = {E(1, 1)};
    disk.Submit(std::move(fine), [&](StorageResult<> r) { results.push_back(r.has_value()); });
    // Stop finishes the queue and runs the callbacks itself.
    disk.Stop();
  }
  EXPECT_EQ(results, (std::vector<bool>{false, false}));
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// A commit-only hard state (hard_state_lazy): the job completes once its entries are durable,
// and the hard state follows on its own, within kLazyHardStateDelay, without another job.
TEST(DiskThreadTest, LazyHardStateBecomesDurableSoonAfterOnItsOwn) {
  testing::TempDir dir;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    DiskThread disk(&loop, Loaded(dir.path()));
    int done = 0;
    disk.Submit(
        {.snapshot = std::nullopt, .entries = {E(1, 1), E(2, 1)}, .hard_state = HardState{1, 1, 0}},
        [&](StorageResult<> r) { done += r.has_value(); });
    disk.Submit({.snapshot = std::nullopt,
                 .entries = {E(3, 1)},
                 .hard_state = HardState{1, 1, 3},
                 .hard_state_lazy = true},
                [&](StorageResult<> r) { done += r.has_value(); });
    ASSERT_TRUE(RunUntil(&loop, [&] { return done == 2; }));
    // Watched by its bytes: a FileStorage Load() meanwhile would remove the worker's temp file.
    const std::string path = dir.path() + "/" + FileStorage::kHardStateFile;
    auto bytes = [&] {
      std::ifstream in(path, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const std::string before = bytes();
    ASSERT_TRUE(RunUntil(&loop, [&] { return bytes() != before; }))
        << "the lazy hard state was never written";
    disk.Stop();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  FileStorage reader(dir.path());
  auto state = reader.Load();
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->entries.size(), 3u);
  EXPECT_EQ(state->hard_state, (HardState{1, 1, 3}));
}

TEST(DiskThreadTest, StopWritesALazyHardState) {
  testing::TempDir dir;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    DiskThread disk(&loop, Loaded(dir.path()));
    disk.Submit({.snapshot = std::nullopt, .entries = {E(1, 1)}, .hard_state = HardState{2, 1, 1}},
                [](StorageResult<>) {});
    disk.Submit({.snapshot = std::nullopt,
                 .entries = {},
                 .hard_state = HardState{2, 1, 1},
                 .hard_state_lazy = true},
                [](StorageResult<>) {});
    disk.Submit({.snapshot = std::nullopt,
                 .entries = {E(2, 2)},
                 .hard_state = HardState{2, 1, 2},
                 .hard_state_lazy = true},
                [](StorageResult<>) {});
    disk.Stop();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  FileStorage reader(dir.path());
  auto state = reader.Load();
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->hard_state, (HardState{2, 1, 2}));
  EXPECT_EQ(state->entries.size(), 2u);
}

}  // namespace
}  // namespace rl::raft
