// MemoryStorage: the request checks and compaction rules every Storage shares (raft/storage.h).
#include "raft/memory_storage.h"

#include <gtest/gtest.h>

#include "tests/raft/storage_test_util.h"

namespace rl::raft {
namespace {

using testing::MakeEntries;
using testing::MakeSnapshot;

TEST(MemoryStorage, AppendTruncatesAConflictingSuffix) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append(MakeEntries(1, 10, 1)));
  ASSERT_TRUE(s.Append(MakeEntries(6, 2, 2)));
  auto state = s.Load();
  ASSERT_TRUE(state);
  ASSERT_EQ(state->entries.size(), 7u);
  EXPECT_EQ(state->entries[4], MakeEntries(5, 1, 1)[0]);
  EXPECT_EQ(state->entries[5], MakeEntries(6, 1, 2)[0]);
  EXPECT_EQ(s.LastIndex(), 7u);
}

TEST(MemoryStorage, RefusesBadAppends) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append(MakeEntries(1, 5, 2)));
  auto code = [](const StorageResult<>& r) {
    return r ? std::optional<StorageError::Code>() : r.error().code;
  };
  EXPECT_EQ(code(s.Append(MakeEntries(7, 1, 2))), StorageError::Code::kInvalidArgument);  // gap
  EXPECT_EQ(code(s.Append(MakeEntries(6, 1, 1))),
            StorageError::Code::kInvalidArgument);  // term down
  auto non_contiguous = MakeEntries(6, 2, 2);
  non_contiguous[1].index = 8;
  EXPECT_EQ(code(s.Append(non_contiguous)), StorageError::Code::kInvalidArgument);
  ASSERT_TRUE(s.SaveHardState({.term = 2, .vote = 1, .commit = 3}));
  auto r = s.Append(MakeEntries(3, 1, 3));  // would drop committed entry 3
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("truncate committed"), std::string::npos);
  EXPECT_TRUE(s.Append(MakeEntries(4, 1, 3)));  // 4 is not committed: fine
  EXPECT_EQ(s.LastIndex(), 4u);
  EXPECT_TRUE(s.Append({}));
}

TEST(MemoryStorage, SnapshotKeepsTheLogOnlyIfItHoldsTheSnapshotEntry) {
  MemoryStorage s;
  ASSERT_TRUE(s.Append(MakeEntries(1, 10, 1)));
  ASSERT_TRUE(s.SaveSnapshot(MakeSnapshot(4, 1)));
  EXPECT_EQ(s.state().entries.front().index, 5u);
  EXPECT_EQ(s.LastIndex(), 10u);
  ASSERT_TRUE(s.SaveSnapshot(MakeSnapshot(6, 9)));  // term differs: another history
  EXPECT_TRUE(s.state().entries.empty());
  EXPECT_EQ(s.LastIndex(), 6u);
  ASSERT_TRUE(s.SaveSnapshot(MakeSnapshot(20, 9)));  // beyond the log
  EXPECT_EQ(s.LastIndex(), 20u);
  EXPECT_FALSE(s.SaveSnapshot(MakeSnapshot(19, 9)));  // older than the current
  EXPECT_FALSE(s.SaveSnapshot(MakeSnapshot(20, 8)));  // same index, other term
  EXPECT_TRUE(s.SaveSnapshot(MakeSnapshot(20, 9, "new data")));
  EXPECT_EQ(s.state().snapshot.data, "new data");
  EXPECT_FALSE(s.Append(MakeEntries(20, 1, 9)));  // at or below the snapshot
  EXPECT_FALSE(s.Append(MakeEntries(21, 1, 8)));  // term below the snapshot's
  EXPECT_TRUE(s.Append(MakeEntries(21, 1, 9)));
}

}  // namespace
}  // namespace rl::raft
