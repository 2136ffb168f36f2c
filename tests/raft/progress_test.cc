#include "raft/progress.h"

#include <gtest/gtest.h>

#include "raft/conf_change.h"
#include "raft/quorum.h"

namespace rl::raft {
namespace {

TEST(InflightsTest, BoundedFifo) {
  Inflights in(3);
  in.Add(5);
  in.Add(7);
  in.Add(9);
  EXPECT_TRUE(in.Full());
  in.FreeUpTo(6);
  EXPECT_EQ(in.Count(), 2u);
  in.FreeFirst();
  EXPECT_EQ(in.Count(), 1u);
  in.FreeUpTo(100);
  EXPECT_EQ(in.Count(), 0u);
  for (Index i = 0; i < 1000; ++i) {
    in.Add(i + 10);
    in.FreeUpTo(i + 10);
  }
  EXPECT_EQ(in.Count(), 0u);
}

// The window check is an invariant (raft/invariant.h), so it aborts in this release build too
// (RelWithDebInfo defines NDEBUG, which used to remove it along with assert()).
TEST(InflightsTest, AddingToAFullWindowAbortsInEveryBuild) {
  Inflights in(1);
  in.Add(5);
  EXPECT_DEATH(in.Add(6), "raft invariant broken: .*inflight window full");
}

TEST(ProgressTest, ProbePausesUntilAnswered) {
  Progress pr(4);
  pr.next = 5;
  EXPECT_FALSE(pr.IsPaused());
  pr.SentAppend(0, 4);
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_TRUE(pr.MaybeUpdate(4));
  EXPECT_FALSE(pr.IsPaused());
  EXPECT_EQ(pr.match, 4u);
  EXPECT_EQ(pr.next, 5u);
}

TEST(ProgressTest, ReplicateStreamsUntilWindowFull) {
  Progress pr(2);
  pr.match = 3;
  pr.BecomeReplicate();
  EXPECT_EQ(pr.next, 4u);
  pr.SentAppend(2, 5);
  pr.SentAppend(1, 6);
  EXPECT_EQ(pr.next, 7u);
  EXPECT_TRUE(pr.IsPaused());
  pr.MaybeUpdate(5);
  pr.inflights.FreeUpTo(5);
  EXPECT_FALSE(pr.IsPaused());
}

TEST(ProgressTest, MaybeDecrTo) {
  Progress replicate(4);
  replicate.match = 5;
  replicate.BecomeReplicate();
  replicate.next = 10;
  EXPECT_FALSE(replicate.MaybeDecrTo(4, 4)) << "stale: already matched";
  EXPECT_TRUE(replicate.MaybeDecrTo(8, 8));
  EXPECT_EQ(replicate.next, 6u);

  Progress probe(4);
  probe.next = 10;
  EXPECT_FALSE(probe.MaybeDecrTo(5, 5)) << "stale: not the outstanding probe";
  EXPECT_TRUE(probe.MaybeDecrTo(9, 3));
  EXPECT_EQ(probe.next, 4u);
  probe.match = 6;
  probe.next = 10;
  EXPECT_TRUE(probe.MaybeDecrTo(9, 2));
  EXPECT_EQ(probe.next, 7u) << "never below match+1";
}

TEST(ProgressTest, SnapshotPausesAndResumesPastIt) {
  Progress pr(4);
  pr.BecomeSnapshot(20);
  EXPECT_TRUE(pr.IsPaused());
  pr.BecomeProbe();
  EXPECT_EQ(pr.next, 21u);
}

TEST(QuorumTest, MajorityIndex) {
  std::map<NodeId, Index> match = {{1, 5}, {2, 3}, {3, 9}, {4, 1}, {5, 7}};
  auto f = [&](NodeId id) { return match[id]; };
  EXPECT_EQ(MajorityIndex(std::vector<NodeId>{1}, f), 5u);
  EXPECT_EQ(MajorityIndex(std::vector<NodeId>{1, 2}, f), 3u);
  EXPECT_EQ(MajorityIndex(std::vector<NodeId>{1, 2, 3}, f), 5u);
  EXPECT_EQ(MajorityIndex(std::vector<NodeId>{1, 2, 3, 4}, f), 3u);
  EXPECT_EQ(MajorityIndex(std::vector<NodeId>{1, 2, 3, 4, 5}, f), 5u);
  EXPECT_EQ(MajorityIndex(std::vector<NodeId>{}, f), 0u);
}

TEST(QuorumTest, TallyVotes) {
  const std::vector<NodeId> v = {1, 2, 3, 4};
  EXPECT_EQ(TallyVotes(v, {{1, true}}), VoteResult::kPending);
  EXPECT_EQ(TallyVotes(v, {{1, true}, {2, true}}), VoteResult::kPending);
  EXPECT_EQ(TallyVotes(v, {{1, true}, {2, true}, {3, true}}), VoteResult::kWon);
  EXPECT_EQ(TallyVotes(v, {{1, true}, {2, false}, {3, false}}), VoteResult::kLost);
  EXPECT_EQ(TallyVotes(v, {{1, true}, {9, true}, {8, true}}), VoteResult::kPending)
      << "votes of non-voters do not count";
  EXPECT_EQ(TallyVotes(std::vector<NodeId>{}, {}), VoteResult::kLost);
}

TEST(ConfChangeTest, AppliesAndRefuses) {
  ConfState c{{1, 2, 3}, {}};
  auto added = ApplyConfChange(c, {ConfChangeType::kAddLearner, 4});
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->learners, std::vector<NodeId>{4});
  auto promoted = ApplyConfChange(*added, {ConfChangeType::kPromoteLearner, 4});
  ASSERT_TRUE(promoted.has_value());
  EXPECT_EQ(promoted->voters, (std::vector<NodeId>{1, 2, 3, 4}));
  EXPECT_TRUE(promoted->learners.empty());
  auto removed = ApplyConfChange(*promoted, {ConfChangeType::kRemoveNode, 2});
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->voters, (std::vector<NodeId>{1, 3, 4}));

  EXPECT_FALSE(ApplyConfChange(c, {ConfChangeType::kAddVoter, 3}).has_value());
  EXPECT_FALSE(ApplyConfChange(c, {ConfChangeType::kAddLearner, 2}).has_value());
  EXPECT_FALSE(ApplyConfChange(c, {ConfChangeType::kPromoteLearner, 2}).has_value());
  EXPECT_FALSE(ApplyConfChange(c, {ConfChangeType::kRemoveNode, 9}).has_value());
  EXPECT_FALSE(ApplyConfChange(c, {ConfChangeType::kAddVoter, 0}).has_value());
  EXPECT_FALSE(ApplyConfChange(ConfState{{1}, {}}, {ConfChangeType::kRemoveNode, 1}).has_value());
}

}  // namespace
}  // namespace rl::raft
