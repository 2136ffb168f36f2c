#include "raft/log.h"

#include <gtest/gtest.h>

#include "tests/raft/test_util.h"

namespace rl::raft {
namespace {

using test::E;

Snapshot Snap(Index index, Term term) {
  Snapshot s;
  s.meta.index = index;
  s.meta.term = term;
  return s;
}

TEST(RaftLogTest, TermsAroundTheSnapshot) {
  RaftLog log(Snap(3, 2), {E(4, 2), E(5, 3)}, 4);
  EXPECT_EQ(log.FirstIndex(), 4u);
  EXPECT_EQ(log.LastIndex(), 5u);
  EXPECT_EQ(log.LastTerm(), 3u);
  EXPECT_EQ(log.TermAt(2), std::nullopt);
  EXPECT_EQ(log.TermAt(3), 2u);
  EXPECT_EQ(log.TermAt(5), 3u);
  EXPECT_EQ(log.TermAt(6), std::nullopt);
  EXPECT_EQ(log.committed(), 4u);
  EXPECT_EQ(log.applied(), 3u);
  EXPECT_EQ(log.stable(), 5u);
}

TEST(RaftLogTest, CommitIsClampedToTheLog) {
  RaftLog log(Snap(0, 0), {E(1, 1)}, 10);
  EXPECT_EQ(log.committed(), 1u);
}

TEST(RaftLogTest, UpToDateComparesLastTermThenLength) {
  RaftLog log(Snap(0, 0), {E(1, 1), E(2, 2)}, 0);
  EXPECT_TRUE(log.IsUpToDate(2, 2));
  EXPECT_TRUE(log.IsUpToDate(3, 2));
  EXPECT_TRUE(log.IsUpToDate(1, 3));
  EXPECT_FALSE(log.IsUpToDate(1, 2));
  EXPECT_FALSE(log.IsUpToDate(5, 1));
}

TEST(RaftLogTest, FindConflict) {
  RaftLog log(Snap(0, 0), {E(1, 1), E(2, 2), E(3, 3)}, 0);
  EXPECT_EQ(log.FindConflict(std::vector<Entry>{}), 0u);
  EXPECT_EQ(log.FindConflict(std::vector<Entry>{E(2, 2), E(3, 3)}), 0u);
  EXPECT_EQ(log.FindConflict(std::vector<Entry>{E(2, 2), E(3, 3), E(4, 4)}), 4u);
  EXPECT_EQ(log.FindConflict(std::vector<Entry>{E(2, 1), E(3, 4)}), 2u);
}

TEST(RaftLogTest, FindConflictByTerm) {
  RaftLog log(Snap(2, 1), {E(3, 1), E(4, 3), E(5, 3), E(6, 5)}, 0);
  EXPECT_EQ(log.FindConflictByTerm(6, 5), 6u);
  EXPECT_EQ(log.FindConflictByTerm(6, 4), 5u);
  EXPECT_EQ(log.FindConflictByTerm(6, 2), 3u);
  EXPECT_EQ(log.FindConflictByTerm(6, 0), 1u) << "below the snapshot the term is unknown";
  EXPECT_EQ(log.FindConflictByTerm(100, 3), 5u) << "clamped to the last index";
}

TEST(RaftLogTest, MaybeAppendTruncatesOnlyConflicts) {
  RaftLog log(Snap(0, 0), {E(1, 1), E(2, 2), E(3, 2)}, 1);
  EXPECT_EQ(log.MaybeAppend(3, 3, 3, std::vector<Entry>{E(4, 3)}), std::nullopt);
  // Already present: no truncation of the tail, commit to the last new entry only.
  EXPECT_EQ(log.MaybeAppend(1, 1, 3, std::vector<Entry>{E(2, 2)}), 2u);
  EXPECT_EQ(log.LastIndex(), 3u);
  EXPECT_EQ(log.committed(), 2u);
  EXPECT_EQ(log.MaybeAppend(2, 2, 2, std::vector<Entry>{E(3, 4), E(4, 4)}), 4u);
  EXPECT_EQ(log.At(3).term, 4u);
  EXPECT_EQ(log.LastIndex(), 4u);
  EXPECT_EQ(log.stable(), 2u);
  EXPECT_EQ(log.UnstableEntries(), (std::vector<Entry>{E(3, 4), E(4, 4)}));
}

TEST(RaftLogTest, ConflictBelowCommitAborts) {
  RaftLog log(Snap(0, 0), {E(1, 1), E(2, 1)}, 2);
  EXPECT_DEATH(log.MaybeAppend(0, 0, 2, std::vector<Entry>{E(1, 2)}), "committed");
}

TEST(RaftLogTest, SliceRespectsByteLimitButReturnsOne) {
  RaftLog log(Snap(0, 0), {E(1, 1, "aaaa"), E(2, 1, "bbbb"), E(3, 1, "cc")}, 0);
  EXPECT_EQ(log.Slice(1, 4, 0).size(), 1u);
  EXPECT_EQ(log.Slice(1, 4, 8).size(), 2u);
  EXPECT_EQ(log.Slice(1, 4, 100).size(), 3u);
  EXPECT_EQ(log.Slice(2, 2, 100).size(), 0u);
}

TEST(RaftLogTest, StableAndAppliedCursors) {
  RaftLog log(Snap(0, 0), {}, 0);
  log.Append(std::vector<Entry>{E(1, 1), E(2, 1)});
  EXPECT_EQ(log.UnstableEntries().size(), 2u);
  log.StableTo(2, 2);  // wrong term: ignored
  EXPECT_EQ(log.stable(), 0u);
  log.StableTo(2, 1);
  EXPECT_TRUE(log.UnstableEntries().empty());
  EXPECT_FALSE(log.HasNextCommittedEntries());
  EXPECT_TRUE(log.MaybeCommit(2, 1));
  EXPECT_FALSE(log.MaybeCommit(2, 1));
  EXPECT_EQ(log.NextCommittedEntries(1 << 20).size(), 2u);
  log.AppliedTo(2);
  EXPECT_FALSE(log.HasNextCommittedEntries());
}

TEST(RaftLogTest, RestoreAndCompact) {
  RaftLog log(Snap(0, 0), {E(1, 1), E(2, 1), E(3, 1)}, 3);
  log.AppliedTo(2);
  log.Compact(Snap(2, 1));
  EXPECT_EQ(log.FirstIndex(), 3u);
  EXPECT_EQ(log.LastIndex(), 3u);
  EXPECT_EQ(log.UnstableSnapshot(), nullptr);
  log.Restore(Snap(10, 4));
  ASSERT_NE(log.UnstableSnapshot(), nullptr);
  EXPECT_EQ(log.LastIndex(), 10u);
  EXPECT_EQ(log.committed(), 10u);
  EXPECT_FALSE(log.HasNextCommittedEntries()) << "nothing to apply before the snapshot";
  log.StableSnapTo(9);  // a superseded snapshot: ignored
  EXPECT_NE(log.UnstableSnapshot(), nullptr);
  log.StableSnapTo(10);
  EXPECT_EQ(log.UnstableSnapshot(), nullptr);
  EXPECT_EQ(log.applied(), 10u);
}

}  // namespace
}  // namespace rl::raft
