// Core::LeaderLost: the fast failover after the driver saw the leader's connection close. The
// followers forget the leader (so the CheckQuorum lease no longer refuses pre-votes) and
// campaign, through a pre-vote, within lost_leader_ticks; one flapping link to a live leader
// disrupts nothing.
#include <gtest/gtest.h>

#include "raft/core.h"
#include "tests/raft/test_util.h"
#include "tests/support/test_seed.h"

namespace rl::raft {
namespace {

using test::Msg;
using test::TakeMessages;

constexpr int kLostTicks = 3;

void FastConfig(Config& c) { c.lost_leader_ticks = kLostTicks; }

// Ticks `ids` one at a time (delivering after each) until one of them leads; the ticks it took,
// or -1 after `bound`.
int TicksUntilLeader(test::Network& net, std::vector<NodeId> ids, int bound) {
  for (int t = 1; t <= bound; ++t) {
    for (NodeId id : ids) net.Tick(id);
    for (NodeId id : ids) {
      if (net.core(id).role() == Role::kLeader) return t;
    }
  }
  return -1;
}

TEST(LeaderLostTest, FollowersElectWithinTheShortDelayWhenTheLeaderDies) {
  test::Network net({1, 2, 3}, FastConfig);
  net.Campaign(1);
  ASSERT_EQ(net.Leader(), 1u);
  net.Isolate(1);  // killed: nothing more goes in or out
  net.core(2).LeaderLost(1);
  net.core(3).LeaderLost(1);
  EXPECT_EQ(net.core(2).leader(), kNoNode);
  EXPECT_EQ(net.core(3).leader(), kNoNode);
  const int ticks = TicksUntilLeader(net, {2, 3}, 10);
  ASSERT_GT(ticks, 0) << "no leader within the election timeout";
  EXPECT_LE(ticks, kLostTicks);
  const NodeId lead = net.core(2).role() == Role::kLeader ? 2 : 3;
  EXPECT_EQ(net.core(lead).term(), 2u) << "one election, no split vote";
  EXPECT_EQ(net.core(lead == 2 ? 3 : 2).leader(), lead);
}

TEST(LeaderLostTest, WithoutItTheFollowersWaitAWholeElectionTimeout) {
  test::Network net({1, 2, 3}, FastConfig);
  net.Campaign(1);
  net.Isolate(1);
  const int ticks = TicksUntilLeader(net, {2, 3}, 40);
  ASSERT_GT(ticks, 0);
  EXPECT_GE(ticks, 10);  // election_ticks: the lease refuses earlier pre-votes
}

TEST(LeaderLostTest, OneFlappingLinkDoesNotDisruptALiveLeader) {
  test::Network net({1, 2, 3}, FastConfig);
  net.Campaign(1);
  ASSERT_EQ(net.Leader(), 1u);
  // Only 2 saw its connection to 1 close; 1 and 3 are fine. 2's pre-vote is refused by 3 (which
  // holds the lease) and by the leader.
  net.core(2).LeaderLost(1);
  net.Tick(2, kLostTicks);
  EXPECT_NE(net.core(2).role(), Role::kLeader);
  net.TickAll(30);
  EXPECT_EQ(net.Leader(), 1u);
  EXPECT_EQ(net.core(1).term(), 1u);
  EXPECT_EQ(net.core(3).term(), 1u);
  EXPECT_EQ(net.core(2).term(), 1u) << "a pre-vote never raises the term";
  EXPECT_EQ(net.core(2).leader(), 1u) << "the next heartbeat brings the follower back";
}

TEST(LeaderLostTest, AFollowerThatForgotTheLeaderGrantsPreVotesAtOnce) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  Core& f = net.core(2);
  Message pre = Msg(MessageType::kPreVote, 3, 2, 2);
  pre.index = f.log().LastIndex();
  pre.log_term = f.log().LastTerm();
  f.Step(pre);
  EXPECT_TRUE(TakeMessages(f).empty()) << "in the lease: ignored";
  f.LeaderLost(1);
  f.Step(pre);
  auto replies = TakeMessages(f);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, MessageType::kPreVoteResp);
  EXPECT_FALSE(replies[0].reject);
  EXPECT_EQ(f.term(), 1u);
}

TEST(LeaderLostTest, IgnoredUnlessThePeerIsThisFollowersLeader) {
  test::Network net({1, 2, 3}, FastConfig);
  net.Campaign(1);
  net.core(2).LeaderLost(3);  // another follower went
  EXPECT_EQ(net.core(2).leader(), 1u);
  net.core(1).LeaderLost(2);  // a leader has no leader to lose
  EXPECT_EQ(net.core(1).role(), Role::kLeader);
  net.core(2).LeaderLost(kNoNode);
  EXPECT_EQ(net.core(2).leader(), 1u);
}

TEST(LeaderLostTest, WithoutPreVoteItOnlyForgets) {
  test::Network net({1, 2, 3}, [](Config& c) {
    c.pre_vote = false;
    c.lost_leader_ticks = kLostTicks;
  });
  net.Campaign(1);
  net.Isolate(1);
  net.core(2).LeaderLost(1);
  net.core(3).LeaderLost(1);
  net.Tick(2, kLostTicks);
  net.Tick(3, kLostTicks);
  EXPECT_EQ(net.core(2).role(), Role::kFollower);
  EXPECT_EQ(net.core(3).role(), Role::kFollower);
  EXPECT_EQ(net.core(2).term(), 1u);
}

// Over many seeds (the delays differ per seed): the survivors always elect exactly one leader,
// within a few election timeouts even when both drew the same delay and split the vote.
TEST(LeaderLostTest, SurvivorsAlwaysElectOneLeaderWhateverTheSeed) {
  const uint64_t seed = rl::testing::TestSeed();
  int fast = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    test::Network net({1, 2, 3}, [&](Config& c) {
      FastConfig(c);
      c.random_seed = seed + i * 7919 + c.id;
    });
    net.Campaign(1);
    net.Isolate(1);
    net.core(2).LeaderLost(1);
    net.core(3).LeaderLost(1);
    const int ticks = TicksUntilLeader(net, {2, 3}, 60);
    ASSERT_GT(ticks, 0) << "seed " << seed << " round " << i;
    const bool both = net.core(2).role() == Role::kLeader && net.core(3).role() == Role::kLeader;
    EXPECT_FALSE(both && net.core(2).term() == net.core(3).term()) << "seed " << seed;
    if (ticks <= kLostTicks) ++fast;
  }
  EXPECT_GE(fast, 25) << "seed " << seed << ": most rounds should elect within the short delay";
}

}  // namespace
}  // namespace rl::raft
