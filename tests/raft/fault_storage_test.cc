// SimDisk and FaultStorage: the simulated disk loses exactly what was not synced, and FileStorage
// recovers a valid state after a power failure at every write point of a workload.
#include "tests/raft/fault_storage.h"

#include <gtest/gtest.h>

#include "raft/memory_storage.h"
#include "raft/segment.h"
#include "tests/raft/storage_crash_oracle.h"
#include "tests/raft/storage_test_util.h"

namespace rl::raft {
namespace {

using testing::ApplyOp;
using testing::Call;
using testing::CrashOracle;
using testing::MakeEntries;
using testing::MakeSnapshot;
using testing::Op;
using testing::SameState;

// ---- SimDisk on its own ----

TEST(SimDisk, FileDataSurvivesOnlyOnceSynced) {
  SimDisk disk(1);
  auto f = disk.Create("/d/a");
  ASSERT_TRUE(f);
  ASSERT_TRUE(disk.SyncDir("/d"));
  ASSERT_TRUE((*f)->Append("synced"));
  ASSERT_TRUE((*f)->Sync());
  ASSERT_TRUE((*f)->Append("-lost"));
  EXPECT_EQ(*disk.ReadAll("/d/a"), "synced-lost");  // the process sees its writes
  EXPECT_EQ(disk.UnsyncedBytes(), 5u);
  disk.Crash(CrashMode::kLoseUnsynced);
  EXPECT_FALSE(disk.ReadAll("/d/a"));  // powered off
  EXPECT_TRUE((*f)->Append("dead"));   // a dead process's writes go nowhere
  disk.PowerOn();
  EXPECT_EQ(*disk.ReadAll("/d/a"), "synced");
  EXPECT_TRUE((*f)->Append("still dead"));  // a handle from before the crash stays dead
  EXPECT_EQ(*disk.ReadAll("/d/a"), "synced");
}

TEST(SimDisk, DirectoryChangesSurviveOnlyOnceTheDirectoryIsSynced) {
  SimDisk disk(1);
  auto f = disk.Create("/d/new");
  ASSERT_TRUE((*f)->Append("x"));
  ASSERT_TRUE((*f)->Sync());  // the data is durable, its name is not
  disk.Crash(CrashMode::kLoseUnsynced);
  disk.PowerOn();
  EXPECT_TRUE(disk.List("/d")->empty());

  f = disk.Create("/d/old");
  ASSERT_TRUE((*f)->Append("old"));
  ASSERT_TRUE((*f)->Sync());
  ASSERT_TRUE(disk.SyncDir("/d"));
  f = disk.Create("/d/tmp");
  ASSERT_TRUE((*f)->Append("new"));
  ASSERT_TRUE((*f)->Sync());
  ASSERT_TRUE(disk.Rename("/d/tmp", "/d/old"));
  EXPECT_EQ(*disk.ReadAll("/d/old"), "new");
  disk.Crash(CrashMode::kLoseUnsynced);  // the rename was not synced
  disk.PowerOn();
  EXPECT_EQ(*disk.ReadAll("/d/old"), "old");
  EXPECT_EQ(disk.List("/d")->size(), 1u);
}

TEST(SimDisk, TearKeepsAPrefixOfTheLastWriteAndEverythingBeforeIt) {
  for (uint64_t keep = 0; keep < 4; ++keep) {
    SimDisk disk(1);
    auto f = disk.Create("/d/a");
    ASSERT_TRUE(disk.SyncDir("/d"));
    ASSERT_TRUE((*f)->Append("one-"));
    ASSERT_TRUE((*f)->Append("two-"));
    disk.CrashTearing(keep);
    disk.PowerOn();
    EXPECT_EQ(*disk.ReadAll("/d/a"), "one-" + std::string("two-").substr(0, keep));
  }
}

TEST(SimDisk, ScheduledCrashFiresAfterTheNthMutation) {
  SimDisk disk(1);
  disk.CrashAfter(2, CrashMode::kTearLastWrite);
  auto f = disk.Create("/d/a");     // 1
  ASSERT_TRUE((*f)->Append("ab"));  // 2: the crash fires after this one lands (in part)
  EXPECT_FALSE(disk.powered());
  EXPECT_EQ(disk.mutations(), 2u);
  ASSERT_TRUE((*f)->Append("cd"));  // nothing happens
  EXPECT_EQ(disk.mutations(), 2u);
  disk.PowerOn();
  auto data = disk.ReadAll("/d/a");
  ASSERT_TRUE(data);  // the create was before the torn write: it landed
  EXPECT_LT(data->size(), 2u);
}

// ---- FaultStorage ----

TEST(FaultStorage, LosesExactlyTheUnsyncedSuffix) {
  FaultStorage s(7);
  ASSERT_TRUE(s.Load());
  ASSERT_TRUE(s.Append(MakeEntries(1, 10, 1)));
  ASSERT_TRUE(s.SaveHardState({.term = 1, .vote = 1, .commit = 10}));
  ASSERT_TRUE(s.Sync());
  EXPECT_EQ(s.disk().UnsyncedBytes(), 0u);
  ASSERT_TRUE(s.Append(MakeEntries(11, 5, 1)));
  ASSERT_TRUE(s.SaveHardState({.term = 2, .vote = 1, .commit = 15}));
  s.Crash(CrashMode::kLoseUnsynced);
  auto state = s.Load();
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->entries, MakeEntries(1, 10, 1));
  EXPECT_EQ(state->hard_state, (HardState{.term = 1, .vote = 1, .commit = 10}));
  EXPECT_TRUE(state->warnings.empty());
}

TEST(FaultStorage, TornLastWriteKeepsEveryWholeRecordOfItsPrefix) {
  // The last write is one Append of entries 16..18 (one write call): keeping `keep` bytes of it
  // must recover 1..15 plus exactly the records of 16..18 that fit in those bytes.
  auto tail = MakeEntries(16, 3, 1);
  std::vector<uint64_t> ends;
  std::string bytes;
  for (const Entry& e : tail) {
    AppendEntryRecord(&bytes, e);
    ends.push_back(bytes.size());
  }
  for (uint64_t keep = 0; keep < bytes.size(); ++keep) {
    SCOPED_TRACE(::testing::Message() << "kept " << keep << " of " << bytes.size() << " bytes");
    FaultStorage s(keep);
    ASSERT_TRUE(s.Load());
    ASSERT_TRUE(s.Append(MakeEntries(1, 10, 1)));
    ASSERT_TRUE(s.Sync());
    ASSERT_TRUE(s.Append(MakeEntries(11, 5, 1)));
    ASSERT_TRUE(s.Append(tail));
    s.disk().CrashTearing(keep);
    auto state = s.Load();
    ASSERT_TRUE(state) << state.error().message;
    size_t whole = std::count_if(ends.begin(), ends.end(), [&](uint64_t e) { return e <= keep; });
    auto want = MakeEntries(1, 15, 1);
    want.insert(want.end(), tail.begin(), tail.begin() + static_cast<ptrdiff_t>(whole));
    EXPECT_EQ(state->entries, want);
    bool torn = keep != 0 && std::find(ends.begin(), ends.end(), keep) == ends.end();
    EXPECT_EQ(state->warnings.size(), torn ? 1u : 0u);
  }
}

TEST(FaultStorage, SameSeedSameOutcome) {
  auto run = [](uint64_t seed) {
    FaultStorage s(seed, {.segment_bytes = 200});
    EXPECT_TRUE(s.Load());
    for (Index i = 1; i <= 40; i += 4) {
      EXPECT_TRUE(s.Append(MakeEntries(i, 4, 1)));
      if (i % 3 == 0) {
        EXPECT_TRUE(s.Sync());
      }
    }
    s.Crash(CrashMode::kScramble);
    auto state = s.Load();
    EXPECT_TRUE(state);
    return state ? state->entries.size() : 0;
  };
  std::set<size_t> outcomes;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(run(seed), run(seed)) << "seed " << seed;
    outcomes.insert(run(seed));
  }
  EXPECT_GT(outcomes.size(), 1u);  // the seed does matter
}

// ---- Crash at every write point ----

std::vector<Op> Workload() {
  auto append = [](Index first, size_t n, Term t) {
    return Op{Call::kAppend, MakeEntries(first, n, t), {}, {}};
  };
  auto hard = [](Term t, NodeId v, Index c) { return Op{Call::kHardState, {}, {t, v, c}, {}}; };
  auto snap = [](Index i, Term t) {
    return Op{Call::kSnapshot, {}, {}, MakeSnapshot(i, t, "at " + std::to_string(i))};
  };
  Op sync{Call::kSync, {}, {}, {}};
  // Commit indices as high as they may be at each Sync, so that a hard state written ahead of
  // its log shows as a commit index past the recovered log.
  return {
      append(1, 8, 1),
      hard(1, 1, 0),
      sync,
      append(9, 4, 1),
      append(13, 4, 1),
      append(17, 8, 1),
      hard(1, 1, 20),
      sync,
      append(22, 5, 2),
      append(27, 14, 2),
      sync,  // truncation in the last segment
      snap(15, 1),
      hard(2, 1, 40),
      append(41, 12, 2),
      sync,
      append(43, 3, 3),
      hard(3, 1, 45),
      sync,  // truncation across segments
      snap(60, 4),
      append(61, 10, 4),
      hard(4, 2, 70),
      sync,  // snapshot beyond the log
      snap(65, 4),
      append(71, 3, 4),
      hard(4, 2, 71),
      sync,
      snap(72, 5),
      append(73, 2, 5),
      hard(5, 3, 74),
      sync,  // another history
  };
}

// Runs `ops` on `s` and the model until the disk loses power. Returns true if it did.
bool RunUntilCrash(FaultStorage& s, MemoryStorage& model, CrashOracle& oracle,
                   const std::vector<Op>& ops) {
  for (const Op& op : ops) {
    Index truncated_from = ApplyOp(s, model, op);
    bool crashed = !s.disk().powered();
    oracle.Record(op.call, model.state(), truncated_from, crashed);
    if (crashed) return true;
  }
  return false;
}

// After recovery the node must be able to go on: append, sync, restart, and find it all.
void ContinueAfterRecovery(FaultStorage& s, const DurableState& recovered) {
  DurableState clean = recovered;
  clean.warnings.clear();
  MemoryStorage model(clean);
  auto more = MakeEntries(model.LastIndex() + 1, 3, 10);
  ASSERT_TRUE(s.Append(more));
  ASSERT_TRUE(model.Append(more));
  ASSERT_TRUE(s.SaveHardState({.term = 10, .vote = 1, .commit = recovered.hard_state.commit}));
  ASSERT_TRUE(model.SaveHardState({.term = 10, .vote = 1, .commit = recovered.hard_state.commit}));
  ASSERT_TRUE(s.Sync());
  auto again = s.Load();  // a process restart
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(SameState(*again, model.state()));
  EXPECT_TRUE(again->warnings.empty());
}

TEST(FaultStorage, RecoversAfterACrashAtEveryWritePoint) {
  const auto ops = Workload();
  uint64_t total = 0;
  {
    FaultStorage s(0, {.segment_bytes = 300});
    MemoryStorage model;
    CrashOracle oracle(DurableState{});
    ASSERT_TRUE(s.Load());
    ASSERT_FALSE(RunUntilCrash(s, model, oracle, ops));
    total = s.disk().mutations();
    auto state = s.Load();
    ASSERT_TRUE(state);
    ASSERT_TRUE(SameState(*state, model.state()));
  }
  ASSERT_GT(total, 100u);
  int recoveries = 0;
  for (CrashMode mode :
       {CrashMode::kLoseUnsynced, CrashMode::kTearLastWrite, CrashMode::kScramble}) {
    for (uint64_t point = 1; point <= total; ++point) {
      for (uint64_t seed = 1; seed <= (mode == CrashMode::kLoseUnsynced ? 1u : 4u); ++seed) {
        SCOPED_TRACE(::testing::Message() << "mode " << int(mode) << ", crash after write " << point
                                          << " of " << total << ", seed " << seed);
        FaultStorage s(seed, {.segment_bytes = 300});
        MemoryStorage model;
        CrashOracle oracle(DurableState{});
        ASSERT_TRUE(s.Load());
        s.disk().CrashAfter(point, mode);
        ASSERT_TRUE(RunUntilCrash(s, model, oracle, ops));
        auto state = s.Load();
        ASSERT_TRUE(state) << state.error().message;
        ASSERT_TRUE(oracle.Check(*state));
        ContinueAfterRecovery(s, *state);
        if (HasFatalFailure()) return;
        ++recoveries;
      }
    }
  }
  std::printf("recovered from %d crashes at %llu write points\n", recoveries,
              static_cast<unsigned long long>(total));
}

TEST(FaultStorage, HardStateIsOldOrNewAfterACrashAnywhereInItsWrite) {
  const HardState old_state{.term = 3, .vote = 1, .commit = 2};
  const HardState new_state{.term = 4, .vote = 2, .commit = 3};
  for (CrashMode mode :
       {CrashMode::kLoseUnsynced, CrashMode::kTearLastWrite, CrashMode::kScramble}) {
    for (uint64_t point = 1;; ++point) {
      FaultStorage s(point);
      ASSERT_TRUE(s.Load());
      ASSERT_TRUE(s.Append(MakeEntries(1, 3, 3)));
      ASSERT_TRUE(s.SaveHardState(old_state));
      ASSERT_TRUE(s.Sync());
      ASSERT_TRUE(s.SaveHardState(new_state));
      s.disk().CrashAfter(point, mode);
      ASSERT_TRUE(s.Sync());  // temp create, write, fsync, rename, fsync dir
      const bool crashed = !s.disk().powered();
      auto state = s.Load();
      ASSERT_TRUE(state) << state.error().message;
      if (!crashed) {
        EXPECT_EQ(state->hard_state, new_state);
        EXPECT_GE(point, 5u);
        break;
      }
      EXPECT_TRUE(state->hard_state == old_state || state->hard_state == new_state)
          << "crash after write " << point << ": term " << state->hard_state.term;
      // Only once the rename is durable (the last step) may the new state show.
      if (point < 5 && mode == CrashMode::kLoseUnsynced) {
        EXPECT_EQ(state->hard_state, old_state);
      }
    }
  }
}

}  // namespace
}  // namespace rl::raft
