// Seeded random operation sequences against the MemoryStorage model: on the real file system
// with process restarts, and on the simulated disk with power failures at random write points.
// Every failure names its seed; RL_TEST_SEED=S replays seed S alone, RL_STORAGE_SEEDS=N runs
// N seeds.
#include <gtest/gtest.h>

#include "raft/file_storage.h"
#include "raft/memory_storage.h"
#include "tests/raft/fault_storage.h"
#include "tests/raft/storage_crash_oracle.h"
#include "tests/raft/storage_test_util.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"

namespace rl::raft {
namespace {

using testing::ApplyOp;
using testing::Call;
using testing::CrashOracle;
using testing::MakeEntries;
using testing::MakeSnapshot;
using testing::Op;
using testing::SameState;

// raft/splitmix64.h: the same sequence everywhere, so a seed replays on any machine.
class Rng {
 public:
  explicit Rng(uint64_t seed) : mix_(seed) {}
  uint64_t Next() { return mix_.Next(); }
  uint64_t Uniform(uint64_t n) { return mix_.Next() % n; }  // [0, n)

 private:
  SplitMix64 mix_;
};

// Calls a Raft node could make: appends at the end, conflicting appends above the commit index,
// monotone hard states, snapshots at committed indices, snapshots from another history.
class OpGenerator {
 public:
  explicit OpGenerator(uint64_t seed) : rng_(seed) {}
  Rng& rng() { return rng_; }

  Op Next(const MemoryStorage& model) {
    const DurableState& st = model.state();
    const Index snap = st.snapshot.meta.index, last = model.LastIndex();
    const Index commit = st.hard_state.commit;
    term_ =
        std::max({term_, st.snapshot.meta.term, st.entries.empty() ? 0 : st.entries.back().term});
    const uint64_t r = rng_.Uniform(100);
    Op op;
    if (r < 45) {
      op.call = Call::kAppend;
      Index first = last + 1;
      const Index low = std::max(commit, snap) + 1;
      if (r >= 33 && low <= last) {  // a conflict: a new leader's entries replace a suffix
        first = low + rng_.Uniform(last - low + 1);
        ++term_;
      }
      op.entries = MakeEntries(first, 1 + rng_.Uniform(6), term_, rng_.Uniform(1000));
    } else if (r < 60) {
      op.call = Call::kHardState;
      op.hard_state = {term_, rng_.Uniform(4), commit + rng_.Uniform(last - commit + 1)};
    } else if (r < 70 && commit > snap) {  // compaction at an applied index
      op.call = Call::kSnapshot;
      Index at = snap + 1 + rng_.Uniform(commit - snap);
      op.snapshot = MakeSnapshot(at, st.entries[at - snap - 1].term, std::to_string(rng_.Next()));
    } else if (r < 74) {  // a leader's snapshot from another history, or beyond our log
      op.call = Call::kSnapshot;
      const Index low = std::max(commit, snap) + 1;  // a committed entry is in every history
      Index at = rng_.Uniform(2) == 0 || low > last ? last + 1 + rng_.Uniform(10)
                                                    : low + rng_.Uniform(last - low + 1);
      op.snapshot = MakeSnapshot(at, ++term_, std::string(rng_.Uniform(300), 's'));
    } else {
      op.call = Call::kSync;
    }
    return op;
  }

 private:
  Rng rng_;
  Term term_ = 1;
};

// The seeds to run: `count` seeds from `first`, or the one in RL_TEST_SEED alone (a replay).
std::vector<uint64_t> Seeds(uint64_t first, uint64_t count) {
  if (rl::testing::TestSeedIsReplay()) {
    std::printf("replaying seed %u\n", rl::testing::TestSeed());
    return {rl::testing::TestSeed()};
  }
  // RL_STORAGE_SEEDS=N runs N seeds instead (a longer soak).
  if (const char* n = std::getenv("RL_STORAGE_SEEDS"); n != nullptr && *n != 0) {
    count = std::strtoull(n, nullptr, 10);
  }
  std::printf("seeds %llu..%llu (replay one with RL_TEST_SEED=S)\n",
              static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(first + count - 1));
  std::vector<uint64_t> seeds;
  for (uint64_t i = 0; i < count; ++i) seeds.push_back(first + i);
  return seeds;
}

DurableState WithoutWarnings(DurableState s) {
  s.warnings.clear();
  return s;
}

// Real files; the process "restarts" (a new FileStorage on the directory) every so often, after
// a Sync or without one (then only the hard state of the last Sync survives).
TEST(StorageRandom, FileStorageMatchesTheModelAcrossRestarts) {
  for (uint64_t seed : Seeds(1000, 20)) {
    SCOPED_TRACE(::testing::Message() << "RL_TEST_SEED=" << seed);
    rl::testing::TempDir tmp;
    const FileStorageOptions options{.segment_bytes = 512};
    OpGenerator gen(seed);
    MemoryStorage model;
    HardState synced;
    auto storage = std::make_unique<FileStorage>(tmp.path(), options, testing::NoSyncFs());
    ASSERT_TRUE(storage->Load());
    for (int step = 0; step < 200; ++step) {
      if (gen.rng().Uniform(15) == 0) {
        if (gen.rng().Uniform(2) == 0) {
          ASSERT_TRUE(storage->Sync());
          synced = model.state().hard_state;
        }
        storage = std::make_unique<FileStorage>(tmp.path(), options, testing::NoSyncFs());
        auto state = storage->Load();
        ASSERT_TRUE(state) << state.error().message;
        ASSERT_TRUE(model.SaveHardState(synced));  // what a process restart keeps
        ASSERT_TRUE(SameState(*state, model.state())) << "after step " << step;
        ASSERT_TRUE(state->warnings.empty());
      }
      Op op = gen.Next(model);
      ApplyOp(*storage, model, op);
      if (op.call == Call::kSync) synced = model.state().hard_state;
      if (HasFailure()) {
        std::printf("failed with RL_TEST_SEED=%llu at step %d\n",
                    static_cast<unsigned long long>(seed), step);
        return;
      }
    }
    ASSERT_TRUE(storage->Sync());
    storage = std::make_unique<FileStorage>(tmp.path(), options, testing::NoSyncFs());
    auto state = storage->Load();
    ASSERT_TRUE(state);
    ASSERT_TRUE(SameState(*state, model.state()));
  }
}

// The simulated disk loses power at random write points in every crash mode; each recovery must
// satisfy the durability contract (CrashOracle), and the node goes on from what it recovered.
TEST(StorageRandom, FaultStorageKeepsTheContractThroughRandomCrashes) {
  int crashes = 0, crashes_in_load = 0;
  const auto seeds = Seeds(1, 300);
  for (uint64_t seed : seeds) {
    SCOPED_TRACE(::testing::Message() << "RL_TEST_SEED=" << seed);
    OpGenerator gen(seed);
    FaultStorage storage(seed, {.segment_bytes = 400});
    MemoryStorage model;
    CrashOracle oracle(DurableState{});
    ASSERT_TRUE(storage.Load());
    for (int step = 0; step < 200; ++step) {
      if (storage.disk().powered() && gen.rng().Uniform(20) == 0) {
        auto mode = static_cast<CrashMode>(gen.rng().Uniform(3));
        storage.disk().CrashAfter(1 + gen.rng().Uniform(25), mode);
      }
      Op op = gen.Next(model);
      Index truncated_from = ApplyOp(storage, model, op);
      const bool crashed = !storage.disk().powered();
      oracle.Record(op.call, model.state(), truncated_from, crashed);
      if (crashed) {
        ++crashes;
        // Sometimes the power fails again while Load repairs the directory: recovery must be
        // repeatable.
        if (gen.rng().Uniform(3) == 0) {
          storage.disk().CrashAfter(1 + gen.rng().Uniform(4),
                                    static_cast<CrashMode>(gen.rng().Uniform(3)));
        }
        auto state = storage.Load();
        while (!storage.disk().powered()) {
          ++crashes_in_load;
          state = storage.Load();
        }
        ASSERT_TRUE(state) << "step " << step << ": " << state.error().message;
        ASSERT_TRUE(oracle.Check(*state)) << "step " << step;
        model = MemoryStorage(WithoutWarnings(*state));
        oracle.Reset(*state);
      }
      if (HasFailure()) {
        std::printf("failed with RL_TEST_SEED=%llu at step %d\n",
                    static_cast<unsigned long long>(seed), step);
        return;
      }
    }
  }
  std::printf("%zu seeds, %d crashes recovered (%d more during recovery)\n", seeds.size(), crashes,
              crashes_in_load);
  if (seeds.size() > 1) {
    EXPECT_GT(crashes, 100);
  }
}

}  // namespace
}  // namespace rl::raft
