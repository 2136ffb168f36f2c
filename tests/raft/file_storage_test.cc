// FileStorage on the real file system: round trips, restarts after every kind of operation,
// segment rotation and compaction. Damage and crash handling: file_storage_damage_test.cc.
#include "raft/file_storage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "raft/memory_storage.h"
#include "raft/segment.h"
#include "tests/raft/storage_test_util.h"
#include "tests/support/temp_dir.h"

namespace rl::raft {
namespace {

using testing::MakeEntries;
using testing::MakeSnapshot;
using testing::SameState;

class FileStorageTest : public ::testing::Test {
 protected:
  std::unique_ptr<FileStorage> Open(uint64_t segment_bytes = 64 << 20) {
    return std::make_unique<FileStorage>(dir_, FileStorageOptions{.segment_bytes = segment_bytes},
                                         testing::NoSyncFs());
  }
  // A new FileStorage on the directory, loaded; fails the test on error.
  DurableState Reload(uint64_t segment_bytes = 64 << 20) {
    auto s = Open(segment_bytes);
    auto state = s->Load();
    EXPECT_TRUE(state) << state.error().message;
    return state ? *state : DurableState{};
  }
  std::vector<std::string> Segments() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      std::string name = e.path().filename();
      if (ParseSegmentName(name)) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  rl::testing::TempDir tmp_;
  std::string dir_ = tmp_.File("raft");  // Load creates it
};

TEST_F(FileStorageTest, FreshDirectoryLoadsEmpty) {
  auto s = Open();
  auto state = s->Load();
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_TRUE(SameState(*state, DurableState{}));
  EXPECT_TRUE(state->warnings.empty());
  EXPECT_TRUE(std::filesystem::is_directory(dir_));
}

TEST_F(FileStorageTest, RoundTripWithRealFsync) {
  MemoryStorage model;
  {
    auto s = std::make_unique<FileStorage>(dir_, FileStorageOptions{.segment_bytes = 256});
    ASSERT_TRUE(s->Load());
    for (Storage* st : {static_cast<Storage*>(s.get()), static_cast<Storage*>(&model)}) {
      ASSERT_TRUE(st->Append(MakeEntries(1, 10, 1)));
      ASSERT_TRUE(st->Append(MakeEntries(11, 5, 2)));
      ASSERT_TRUE(st->SaveHardState({.term = 2, .vote = 3, .commit = 12}));
      ASSERT_TRUE(st->SaveSnapshot(MakeSnapshot(4, 1)));
      ASSERT_TRUE(st->Sync());
    }
  }
  auto state = Reload();
  EXPECT_TRUE(SameState(state, model.state()));
  EXPECT_TRUE(state.warnings.empty());
}

TEST_F(FileStorageTest, CallsBeforeLoadAndASecondLoadAreRefused) {
  auto s = Open();
  EXPECT_FALSE(s->Append(MakeEntries(1, 1, 1)));
  EXPECT_FALSE(s->Sync());
  ASSERT_TRUE(s->Load());
  auto again = s->Load();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, StorageError::Code::kInvalidArgument);
}

// Each step runs on the file storage and on the model; after each one (and a Sync) a new
// FileStorage must load exactly the model's state. Small segments so that truncations and
// compactions cross segment boundaries.
TEST_F(FileStorageTest, RestartAfterEveryKindOfOperation) {
  struct Step {
    const char* name;
    std::function<StorageResult<>(Storage*)> run;
  };
  std::vector<Step> steps = {
      {"append", [](Storage* s) { return s->Append(MakeEntries(1, 30, 1)); }},
      {"hard state",
       [](Storage* s) { return s->SaveHardState({.term = 1, .vote = 2, .commit = 5}); }},
      {"append batch", [](Storage* s) { return s->Append(MakeEntries(31, 20, 2)); }},
      {"truncate in last segment", [](Storage* s) { return s->Append(MakeEntries(48, 2, 3)); }},
      {"truncate across segments", [](Storage* s) { return s->Append(MakeEntries(12, 3, 4)); }},
      {"append after truncation", [](Storage* s) { return s->Append(MakeEntries(15, 40, 4)); }},
      {"snapshot keeping the log",
       [](Storage* s) { return s->SaveSnapshot(MakeSnapshot(20, 4, "s20")); }},
      {"same-index snapshot",
       [](Storage* s) { return s->SaveSnapshot(MakeSnapshot(20, 4, "s20b")); }},
      {"hard state 2",
       [](Storage* s) { return s->SaveHardState({.term = 5, .vote = 0, .commit = 30}); }},
      {"snapshot at the last index",
       [](Storage* s) { return s->SaveSnapshot(MakeSnapshot(54, 4, "s54")); }},
      {"append after empty log", [](Storage* s) { return s->Append(MakeEntries(55, 10, 5)); }},
      {"snapshot of another history",
       [](Storage* s) { return s->SaveSnapshot(MakeSnapshot(60, 6, "s60")); }},
      {"append after discard", [](Storage* s) { return s->Append(MakeEntries(61, 5, 6)); }},
      {"snapshot beyond the log",
       [](Storage* s) { return s->SaveSnapshot(MakeSnapshot(100, 7, "s100")); }},
      {"append after far snapshot", [](Storage* s) { return s->Append(MakeEntries(101, 25, 7)); }},
      {"truncate at a segment start", [](Storage* s) { return s->Append(MakeEntries(101, 1, 8)); }},
  };
  MemoryStorage model;
  for (const Step& step : steps) {
    SCOPED_TRACE(step.name);
    {
      auto s = Open(/*segment_bytes=*/300);
      auto loaded = s->Load();
      ASSERT_TRUE(loaded) << loaded.error().message;
      ASSERT_TRUE(step.run(s.get()));
      ASSERT_TRUE(step.run(&model));
      ASSERT_TRUE(s->Sync());
    }
    auto state = Reload(300);
    ASSERT_TRUE(SameState(state, model.state()));
    EXPECT_TRUE(state.warnings.empty()) << state.warnings.front();
  }
}

TEST_F(FileStorageTest, ProcessRestartWithoutSyncKeepsAppendsButNotTheHardState) {
  {
    auto s = Open();
    ASSERT_TRUE(s->Load());
    ASSERT_TRUE(s->Append(MakeEntries(1, 3, 1)));
    ASSERT_TRUE(s->SaveHardState({.term = 1, .vote = 1, .commit = 1}));
    ASSERT_TRUE(s->Sync());
    ASSERT_TRUE(s->Append(MakeEntries(4, 2, 1)));
    ASSERT_TRUE(s->SaveHardState({.term = 1, .vote = 1, .commit = 4}));
  }  // destroyed without Sync: the appends are in the OS, the hard state only was in memory
  auto state = Reload();
  EXPECT_EQ(state.entries.size(), 5u);
  EXPECT_EQ(state.hard_state.commit, 1u);
}

TEST_F(FileStorageTest, SegmentsRotateAtTheConfiguredSizeAndAreNamedByFirstIndex) {
  constexpr uint64_t kSegmentBytes = 256;
  auto s = Open(kSegmentBytes);
  ASSERT_TRUE(s->Load());
  for (Index i = 1; i <= 100; ++i) ASSERT_TRUE(s->Append(MakeEntries(i, 1, 1)));
  ASSERT_TRUE(s->Sync());
  auto names = Segments();
  ASSERT_GT(names.size(), 10u);
  EXPECT_EQ(s->SegmentPaths().size(), names.size());
  Index expected_first = 1;
  for (size_t k = 0; k < names.size(); ++k) {
    SCOPED_TRACE(names[k]);
    std::string bytes = testing::ReadBytes(dir_ + "/" + names[k]);
    auto scan = ScanSegment(bytes, *ParseSegmentName(names[k]), false, names[k]);
    ASSERT_TRUE(scan) << scan.error().message;
    EXPECT_EQ(*ParseSegmentName(names[k]), expected_first);
    ASSERT_FALSE(scan->entries.empty());
    expected_first = scan->entries.back().index + 1;
    if (k + 1 < names.size()) {
      // Closed once it reached the size: the last record pushed it over, the one before did not.
      EXPECT_GE(bytes.size(), kSegmentBytes);
      EXPECT_LT(scan->offsets.back(), kSegmentBytes);
    }
  }
  EXPECT_EQ(expected_first, 101u);
  s.reset();
  auto state = Reload(kSegmentBytes);
  EXPECT_EQ(state.entries, MakeEntries(1, 100, 1));
}

TEST_F(FileStorageTest, CompactionDeletesWholeSegmentsBelowTheSnapshot) {
  auto s = Open(256);
  ASSERT_TRUE(s->Load());
  ASSERT_TRUE(s->Append(MakeEntries(1, 100, 1)));
  ASSERT_TRUE(s->Sync());
  const size_t before = Segments().size();
  ASSERT_TRUE(s->SaveSnapshot(MakeSnapshot(50, 1)));
  ASSERT_TRUE(s->Sync());
  auto names = Segments();
  EXPECT_LT(names.size(), before);
  // The oldest remaining segment is the one holding index 51: none wholly below it is left.
  EXPECT_LE(*ParseSegmentName(names.front()), 51u);
  ASSERT_GE(names.size(), 2u);
  EXPECT_GT(*ParseSegmentName(names[1]), 51u);
  s.reset();
  auto state = Reload(256);
  EXPECT_EQ(state.snapshot, MakeSnapshot(50, 1));
  EXPECT_EQ(state.entries, MakeEntries(51, 50, 1));
}

TEST_F(FileStorageTest, TruncationAcrossSegmentsRemovesTheLaterFiles) {
  auto s = Open(256);
  ASSERT_TRUE(s->Load());
  ASSERT_TRUE(s->Append(MakeEntries(1, 60, 1)));
  ASSERT_TRUE(s->Sync());
  ASSERT_TRUE(s->Append(MakeEntries(10, 1, 2)));
  ASSERT_TRUE(s->Sync());
  for (const std::string& name : Segments()) EXPECT_LE(*ParseSegmentName(name), 10u) << name;
  s.reset();
  auto state = Reload(256);
  auto want = MakeEntries(1, 9, 1);
  want.push_back(MakeEntries(10, 1, 2)[0]);
  EXPECT_EQ(state.entries, want);
}

}  // namespace
}  // namespace rl::raft
