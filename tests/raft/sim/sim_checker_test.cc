// The checker must notice violations, or the simulator proves nothing: feed it states that
// break each invariant and expect a failure naming it.
#include "tests/raft/sim/sim_checker.h"

#include <gtest/gtest.h>

#include "tests/raft/test_util.h"

namespace rl::raft::sim {
namespace {

using test::E;
using test::MustCreate;
using test::Source;

Core Follower(NodeId id, std::vector<Entry> log, HardState hs) {
  return MustCreate(test::TestConfig(id, false, false), Source({1, 2, 3}, std::move(log), hs));
}

TEST(SimCheckerTest, AcceptsAConsistentCluster) {
  Core a = Follower(1, {E(1, 1, "x"), E(2, 1, "y")}, {.term = 1, .commit = 2});
  Core b = Follower(2, {E(1, 1, "x")}, {.term = 1, .commit = 1});
  Checker c;
  c.Check({{1, &a}, {2, &b}, {3, nullptr}});
  EXPECT_FALSE(c.failed()) << c.failure();
  EXPECT_EQ(c.max_committed(), 2u);
}

TEST(SimCheckerTest, DetectsTwoLeadersInOneTerm) {
  Core a = Follower(1, {}, {.term = 0});
  Core b = Follower(2, {}, {.term = 0});
  test::ElectByVotes(a);
  test::ElectByVotes(b);
  ASSERT_EQ(a.term(), b.term());
  Checker c;
  c.Check({{1, &a}, {2, &b}});
  EXPECT_NE(c.failure().find("election safety"), std::string::npos) << c.failure();
}

// 3-node seed 10776: a single voter made leader of term 9 by kTimeoutNow crashed before its
// term and vote were durable, restarted in term 8 and voted for another node in term 9. Its
// leadership never left memory (it sent, committed and answered nothing), so it is no second
// leader; once its term is durable it is one.
TEST(SimCheckerTest, LeadershipThatNeverLeftMemoryIsNoSecondLeader) {
  Core a = Follower(1, {}, {.term = 0});
  Core b = Follower(2, {}, {.term = 0});
  test::ElectByVotes(a);
  test::ElectByVotes(b);
  ASSERT_EQ(a.term(), b.term());
  Checker c;
  c.Check({{1, &a, a.term() - 1}, {2, &b, b.term()}});  // a's term is not durable yet
  EXPECT_FALSE(c.failed()) << c.failure();
  c.Check({{1, &a, a.term()}, {2, &b, b.term()}});  // now it is
  EXPECT_NE(c.failure().find("election safety"), std::string::npos) << c.failure();
}

TEST(SimCheckerTest, DetectsLogMismatch) {
  Core a = Follower(1, {E(1, 1, "x"), E(2, 2, "y")}, {.term = 2});
  Core b = Follower(2, {E(1, 1, "z"), E(2, 2, "y")}, {.term = 2});
  Checker c;
  c.Check({{1, &a}, {2, &b}});
  EXPECT_NE(c.failure().find("log matching"), std::string::npos) << c.failure();
}

TEST(SimCheckerTest, DetectsDifferentCommittedEntries) {
  Core a = Follower(1, {E(1, 1, "x")}, {.term = 1, .commit = 1});
  Core b = Follower(2, {E(1, 2, "y")}, {.term = 2, .commit = 1});
  Checker c;
  c.Check({{1, &a}, {2, &b}});
  EXPECT_NE(c.failure().find("state machine safety"), std::string::npos) << c.failure();
}

TEST(SimCheckerTest, DetectsLeaderMissingACommittedEntry) {
  Core a = Follower(1, {E(1, 1, "x"), E(2, 1, "y")}, {.term = 1, .commit = 2});
  Core b = Follower(2, {E(1, 1, "x")}, {.term = 2});
  test::ElectByVotes(b);  // term 3, without entry 2 that was committed in term 1
  Checker c;
  c.Check({{1, &a}, {2, &b}});
  EXPECT_NE(c.failure().find("leader completeness"), std::string::npos) << c.failure();
}

TEST(SimCheckerTest, DetectsCommitGoingBack) {
  Core a = Follower(1, {E(1, 1), E(2, 1)}, {.term = 1, .commit = 2});
  Core b = Follower(1, {E(1, 1), E(2, 1)}, {.term = 1, .commit = 1});
  Checker c;
  c.Check({{1, &a}});
  c.Check({{1, &b}});  // same node, same incarnation, lower commit
  EXPECT_NE(c.failure().find("went back"), std::string::npos) << c.failure();
}

TEST(SimCheckerTest, DetectsDoubleVoteDivergentStateAndStaleRead) {
  Checker votes;
  votes.OnVoteGranted(3, 2, 1);
  votes.OnVoteGranted(3, 2, 1);
  EXPECT_FALSE(votes.failed());
  votes.OnVoteGranted(3, 2, 2);
  EXPECT_NE(votes.failure().find("voted for both"), std::string::npos);

  Checker state;
  state.OnApplied(1, E(1, 1, "a"), 111);
  state.OnApplied(2, E(1, 1, "a"), 222);
  EXPECT_NE(state.failure().find("different state"), std::string::npos);

  Checker reads;
  reads.OnReadServed(1, 7, 7, 9);
  EXPECT_FALSE(reads.failed());
  reads.OnReadServed(1, 5, 7, 9);
  EXPECT_NE(reads.failure().find("stale read"), std::string::npos);
}

}  // namespace
}  // namespace rl::raft::sim
