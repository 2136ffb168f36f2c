// The classic Raft implementation bugs, each pinned by a named test: the scenario that breaks an
// implementation with the bug, and the behaviour that keeps ours safe.
#include <gtest/gtest.h>

#include "raft/codec.h"
#include "raft/core.h"
#include "tests/raft/test_util.h"

namespace rl::raft {
namespace {

using test::E;
using test::Msg;
using test::MustCreate;
using test::OfType;
using test::Source;
using test::TakeMessages;
using test::TakeReady;

Config PlainConfig(NodeId id) { return test::TestConfig(id, false, false); }

// A voter that replies before its vote is durable and then crashes comes back without the vote
// and can vote again in the same term: two leaders in one term. The core puts the grant in the
// same Ready as the hard state recording it, and the Ready contract is persist-then-send, so a
// restart after the reply always remembers the vote.
TEST(RegressionTest, VoteNotPersistedBeforeReplying) {
  test::Node n;
  n.config = PlainConfig(3);
  n.disk = Source({1, 2, 3});
  n.core.emplace(MustCreate(n.config, n.disk));
  const MemoryLogSource before = n.disk;

  n.core->Step(Msg(MessageType::kVote, 1, 3, 2));
  Ready r = n.core->GetReady();
  ASSERT_TRUE(r.hard_state.has_value());
  EXPECT_EQ(*r.hard_state, (HardState{.term = 2, .vote = 1, .commit = 0}));
  auto grants = OfType(r.messages, MessageType::kVoteResp);
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_FALSE(grants[0].reject);

  // A correct driver persists, then sends, then crashes: the restarted node refuses node 2.
  n.disk.hard_state = *r.hard_state;
  n.Restart();
  n.core->Step(Msg(MessageType::kVote, 2, 3, 2));
  auto replies = TakeMessages(*n.core);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].reject) << "voted twice in term 2 after a restart";

  // The bug, for contrast: sending before persisting and crashing leaves `before` on disk, and
  // that node grants node 2 as well (so both 1 and 2 could collect a majority in term 2).
  test::Node buggy;
  buggy.config = PlainConfig(3);
  buggy.disk = before;
  buggy.core.emplace(MustCreate(buggy.config, buggy.disk));
  buggy.core->Step(Msg(MessageType::kVote, 2, 3, 2));
  auto buggy_replies = TakeMessages(*buggy.core);
  ASSERT_EQ(buggy_replies.size(), 1u);
  EXPECT_FALSE(buggy_replies[0].reject);
}

// Figure 8: an entry of an earlier term stored on a majority can still be overwritten, so a
// leader that commits it by counting replicas can lose a committed entry. S1 (term 4) holds
// 2:2, as do S2 and S3 — a majority — yet S5 (holding 2:3) can still be elected by S2, S3, S4.
TEST(RegressionTest, CommitOfPreviousTermEntryByCountingReplicas) {
  const std::vector<NodeId> five = {1, 2, 3, 4, 5};
  Core s1 = MustCreate(PlainConfig(1), Source(five, {E(1, 1), E(2, 2)}, {.term = 3}));
  test::ElectByVotes(s1);
  ASSERT_EQ(s1.term(), 4u);  // no-op 3:4 appended
  for (NodeId peer : {2, 3}) {
    Message ack = Msg(MessageType::kAppResp, peer, 1, 4);
    ack.index = 2;  // they hold 2:2 but not yet the no-op
    s1.Step(ack);
  }
  EXPECT_EQ(s1.log().committed(), 0u) << "committed an earlier term's entry by counting";
  EXPECT_TRUE(TakeReady(s1).committed_entries.empty());

  // Why that would be wrong: S2 (holding 2:2) votes for S5 (holding 2:3) in term 5.
  Core s2 = MustCreate(PlainConfig(2), Source(five, {E(1, 1), E(2, 2)}, {.term = 4}));
  Message vote = Msg(MessageType::kVote, 5, 2, 5);
  vote.index = 2;
  vote.log_term = 3;
  s2.Step(vote);
  auto replies = TakeMessages(s2);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0].reject);

  // Once the no-op of term 4 is on a majority, both entries commit together.
  for (NodeId peer : {2, 3}) {
    Message ack = Msg(MessageType::kAppResp, peer, 1, 4);
    ack.index = 3;
    s1.Step(ack);
  }
  EXPECT_EQ(s1.log().committed(), 3u);
}

// The single-server-change bug (Ongaro, raft-dev, 2015): a new leader that proposes a change
// while its predecessor's change may be uncommitted can form two configurations whose majorities
// do not overlap. A leader refuses changes until it has committed an entry of its own term, and
// accepts only one unapplied change at a time.
TEST(RegressionTest, MembershipChangeBeforeNewLeaderCommittedInItsTerm) {
  Core c = MustCreate(PlainConfig(1), Source({1, 2, 3}));
  auto first = test::ElectByVotes(c);
  EXPECT_EQ(c.ProposeConfChange({ConfChangeType::kAddVoter, 4}),
            std::unexpected(Error::kNotCommittedInTerm));
  test::AckAppends(c, first);  // the no-op commits
  TakeMessages(c);
  auto index = c.ProposeConfChange({ConfChangeType::kAddVoter, 4});
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(c.ProposeConfChange({ConfChangeType::kAddVoter, 5}),
            std::unexpected(Error::kConfChangePending));
  // Commit and apply the first; then the next one is accepted.
  test::AckAppends(c, TakeMessages(c));
  Ready r = TakeReady(c);
  ASSERT_FALSE(r.committed_entries.empty());
  EXPECT_EQ(r.committed_entries.back().type, EntryType::kConfChange);
  EXPECT_TRUE(IsVoter(c.conf(), 4));
  EXPECT_TRUE(c.ProposeConfChange({ConfChangeType::kAddVoter, 5}).has_value());
}

// A leader cut off from the rest keeps believing it leads until CheckQuorum deposes it; a read
// served from its state then may miss writes the new leader acknowledged. ReadIndex needs a
// quorum to confirm leadership, so the isolated leader never answers.
TEST(RegressionTest, StaleReadFromIsolatedOldLeader) {
  for (bool check_quorum : {true, false}) {
    SCOPED_TRACE(check_quorum);
    test::Network net({1, 2, 3}, [&](Config& c) { c.check_quorum = check_quorum; });
    net.Campaign(1);
    ASSERT_EQ(net.Leader(), 1u);
    ASSERT_TRUE(net.Propose(1, "v1").has_value());
    net.Isolate(1);
    // Without ticks to node 1 it keeps believing it leads while 2 and 3 elect a new leader.
    for (int i = 0;
         i < 60 && net.core(2).role() != Role::kLeader && net.core(3).role() != Role::kLeader;
         ++i) {
      net.core(2).Tick();
      net.core(3).Tick();
      net.Deliver();
    }
    const NodeId new_leader = net.core(2).role() == Role::kLeader ? 2 : 3;
    ASSERT_EQ(net.core(new_leader).role(), Role::kLeader);
    auto v2 = net.Propose(new_leader, "v2");
    ASSERT_TRUE(v2.has_value());
    ASSERT_GE(net.core(new_leader).log().committed(), *v2);

    ASSERT_EQ(net.core(1).role(), Role::kLeader);
    ASSERT_TRUE(net.core(1).ReadIndex("stale?").has_value());
    for (int i = 0; i < 30; ++i) net.Tick(1);
    EXPECT_TRUE(net.node(1).reads.empty()) << "isolated old leader served a read";
    if (check_quorum) {
      EXPECT_NE(net.core(1).role(), Role::kLeader);
    }

    // The real leader serves reads at an index that includes v2.
    ASSERT_TRUE(net.core(new_leader).ReadIndex("fresh").has_value());
    net.Tick(new_leader);
    ASSERT_EQ(net.node(new_leader).reads.size(), 1u);
    EXPECT_GE(net.node(new_leader).reads[0].index, *v2);
  }
}

std::optional<NodeId> TickUntilLeader(test::Network& net, std::vector<NodeId> ids, int limit) {
  for (int i = 0; i < limit; ++i) {
    for (NodeId id : ids) {
      if (net.core(id).role() == Role::kLeader) return id;
    }
    for (NodeId id : ids) net.core(id).Tick();
    net.Deliver();
  }
  return std::nullopt;
}

// Removing a node from a two-node cluster: the removal needs both nodes to commit, and the
// survivor must learn that it committed, or it waits forever for a vote from a node that is
// gone (or that refuses it for holding a longer log). Covers removing the follower, removing the
// leader, and removing the leader when the messages carrying the commit are lost: the removed
// leader steps down only once the survivor reports the commit.
TEST(RegressionTest, RemovalInTwoNodeCluster) {
  {
    SCOPED_TRACE("remove follower");
    test::Network net({1, 2});
    net.Campaign(1);
    ASSERT_TRUE(net.core(1).ProposeConfChange({ConfChangeType::kRemoveNode, 2}).has_value());
    net.Deliver();
    EXPECT_EQ(net.core(1).conf().voters, std::vector<NodeId>{1});
    net.Isolate(2);
    auto x = net.Propose(1, "x");
    ASSERT_TRUE(x.has_value());
    EXPECT_GE(net.core(1).log().committed(), *x);
  }
  for (bool lose_commit : {false, true}) {
    SCOPED_TRACE(lose_commit ? "remove leader, commit lost" : "remove leader");
    test::Network net({1, 2});
    net.Campaign(1);
    auto index = net.core(1).ProposeConfChange({ConfChangeType::kRemoveNode, 1});
    ASSERT_TRUE(index.has_value());
    int dropped = 0;
    if (lose_commit) {
      // Drop every message from 1 that would tell 2 the removal committed.
      net.filter = [&](const Message& m) {
        const bool drop = m.from == 1 && m.commit >= *index;
        dropped += drop;
        return drop;
      };
    }
    net.Deliver();
    EXPECT_EQ(dropped > 0, lose_commit);
    EXPECT_EQ(net.core(1).conf().voters, std::vector<NodeId>{2});
    // While 2 has not heard that the removal committed, 1 keeps leading (without counting
    // itself or taking requests): 2 still needs 1's vote in the configuration it knows.
    EXPECT_EQ(net.core(1).role() == Role::kLeader, lose_commit);
    EXPECT_EQ(net.core(1).Propose("refused"), std::unexpected(Error::kNotLeader));
    net.filter = nullptr;
    net.Tick(1);  // the next heartbeat carries the commit
    EXPECT_NE(net.core(1).role(), Role::kLeader) << "a removed leader must step down";
    auto leader = TickUntilLeader(net, {1, 2}, 200);
    ASSERT_EQ(leader, std::optional<NodeId>(2));
    net.Isolate(1);
    auto x = net.Propose(2, "x");
    ASSERT_TRUE(x.has_value());
    EXPECT_GE(net.core(2).log().committed(), *x);
    EXPECT_EQ(net.core(2).conf().voters, std::vector<NodeId>{2});
  }
}

// The same family, harder: the removed node knows its removal committed (it committed it, with
// its no-op, under the old configuration) but the survivor has neither the no-op nor the news.
// The survivor still needs the removed node's vote, which its longer log refuses; the removed
// node may campaign among the new configuration's voters only to bring them up to date and
// hand over.
TEST(RegressionTest, RemovedNodeWithLongerLogHandsOverToSurvivor) {
  Entry removal = E(2, 2, EncodeConfChange({ConfChangeType::kRemoveNode, 1}));
  removal.type = EntryType::kConfChange;
  std::map<NodeId, test::Node> nodes;
  auto add = [&](NodeId id, std::vector<Entry> log, HardState hs) {
    test::Node n;
    n.config = test::TestConfig(id);
    n.disk = Source({1, 2}, std::move(log), hs);
    n.core.emplace(MustCreate(n.config, n.disk));
    nodes.emplace(id, std::move(n));
  };
  add(1, {E(1, 1), removal, E(3, 3)}, {.term = 3, .vote = 1, .commit = 3});
  add(2, {E(1, 1), removal}, {.term = 3, .vote = 1, .commit = 1});
  test::Network net = test::Network::Of(std::move(nodes));
  net.Deliver();  // node 1 applies its own removal
  ASSERT_EQ(net.core(1).conf().voters, std::vector<NodeId>{2});
  ASSERT_EQ(net.core(2).conf().voters, (std::vector<NodeId>{1, 2}));
  std::optional<NodeId> leader;
  for (int i = 0; i < 300 && !(leader = TickUntilLeader(net, {2}, 1)); ++i) {
    net.core(1).Tick();
    net.Deliver();
  }
  ASSERT_EQ(leader, std::optional<NodeId>(2)) << "the survivor never became leader";
  EXPECT_EQ(net.core(2).conf().voters, std::vector<NodeId>{2});
  EXPECT_EQ(net.core(2).log().At(3), E(3, 3));
  EXPECT_NE(net.core(1).role(), Role::kLeader);
  auto x = net.Propose(2, "x");
  ASSERT_TRUE(x.has_value());
  EXPECT_GE(net.core(2).log().committed(), *x);
}

}  // namespace
}  // namespace rl::raft

namespace rl::raft {
namespace {

void AnswerHeartbeats(Core& leader, const std::vector<Message>& msgs) {
  for (const Message& m : msgs) {
    if (m.type != MessageType::kHeartbeat) continue;
    Message r = test::Msg(MessageType::kHeartbeatResp, m.to, m.from, m.term);
    r.context = m.context;
    leader.Step(r);
  }
}

// A new leader's commit index may lag entries its predecessor committed (and acknowledged): node
// 1 holds entry 2 but knows it committed only up to 1. A read at index 1, even one a quorum
// confirmed, would miss entry 2, so reads are held until the leader commits an entry of its term
// (the no-op), which commits everything before it.
TEST(RegressionTest, ReadsHeldUntilTheLeaderCommitsInItsTerm) {
  Core c = test::MustCreate(
      PlainConfig(1),
      test::Source({1, 2, 3}, {test::E(1, 1, "a"), test::E(2, 1, "b")}, {.term = 1, .commit = 1}));
  const std::vector<Message> first = test::ElectByVotes(c);
  ASSERT_EQ(c.log().committed(), 1u);
  ASSERT_TRUE(c.ReadIndex("r").has_value());
  // Every peer answers every heartbeat: leadership is confirmed, yet the read must wait.
  for (int round = 0; round < 3; ++round) {
    AnswerHeartbeats(c, test::TakeMessages(c));
    c.Tick();
  }
  AnswerHeartbeats(c, test::TakeMessages(c));
  EXPECT_TRUE(test::TakeReady(c).read_states.empty())
      << "a read was released at commit index " << c.log().committed()
      << " before the leader committed an entry of its term";

  test::AckAppends(c, first);  // the no-op (index 3) commits, and entry 2 with it
  ASSERT_EQ(c.log().committed(), 3u);
  Ready r = test::TakeReady(c);
  std::vector<ReadState> reads = r.read_states;
  for (int round = 0; round < 3 && reads.empty(); ++round) {
    AnswerHeartbeats(c, r.messages);
    r = test::TakeReady(c);
    reads = r.read_states;
  }
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].context, "r");
  EXPECT_GE(reads[0].index, 2u) << "the read would miss the predecessor's entry 2";
}

// A leader counts itself towards a quorum only for entries it has made durable. With a single
// voter that is the whole quorum: an entry proposed while a Ready is being written must not be
// committed when that Ready is acknowledged (a crash would lose an entry the core reported
// committed), only once a later Ready has written it.
TEST(RegressionTest, SingleVoterCommitsOnlyWhatItHasPersisted) {
  Core c = test::MustCreate(PlainConfig(1), test::Source({1}));
  c.Campaign();
  ASSERT_EQ(c.role(), Role::kLeader);
  Ready first = c.GetReady();  // the no-op, being written
  ASSERT_FALSE(first.entries.empty());
  auto index = c.Propose("x");  // appended while that write is outstanding
  ASSERT_TRUE(index.has_value());
  c.Advance();  // the no-op is durable; "x" is not
  EXPECT_LE(c.log().committed(), c.log().stable()) << "committed an entry not yet on disk";
  EXPECT_LT(c.log().committed(), *index);

  Ready second = c.GetReady();
  ASSERT_FALSE(second.entries.empty());
  EXPECT_EQ(second.entries.back().index, *index);
  c.Advance();  // now "x" is durable
  EXPECT_EQ(c.log().committed(), *index);
}

}  // namespace
}  // namespace rl::raft
