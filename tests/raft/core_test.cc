// The core beyond the paper's basic algorithm: PreVote, CheckQuorum and the leader lease,
// leadership transfer, ReadIndex, learners, snapshots, flow control, the uncommitted-bytes bound,
// asynchronous Ready handling, restarts and Status.
#include "raft/core.h"

#include <gtest/gtest.h>

#include "raft/bootstrap.h"
#include "raft/codec.h"
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

TEST(PreVoteTest, PartitionedNodeDoesNotRaiseItsTermNorDisruptOnReturn) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  ASSERT_EQ(net.Leader(), 1u);
  net.Isolate(3);
  net.Tick(3, 100);
  EXPECT_EQ(net.core(3).term(), 1u) << "pre-vote should keep a cut-off node's term";
  EXPECT_NE(net.core(3).role(), Role::kLeader);
  net.Recover();
  net.TickAll(30);
  EXPECT_EQ(net.Leader(), 1u);
  EXPECT_EQ(net.core(1).term(), 1u);
  EXPECT_EQ(net.core(3).leader(), 1u);
}

TEST(PreVoteTest, WithoutPreVoteAReturningNodeDeposesTheLeader) {
  // The behaviour PreVote exists to prevent, as a check that the test above means something.
  test::Network net({1, 2, 3}, [](Config& c) {
    c.pre_vote = false;
    c.check_quorum = false;
  });
  net.Campaign(1);
  net.Isolate(3);
  net.Tick(3, 100);
  EXPECT_GT(net.core(3).term(), 1u);
  net.Recover();
  net.TickAll(30);
  EXPECT_GT(net.core(1).term(), 1u);
}

TEST(CheckQuorumTest, LeaderThatLosesQuorumStepsDown) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(1);
  // Activity is judged per election timeout, so the round in progress may still count the
  // peers as active; by the end of the next one the leader must be gone.
  net.Tick(1, 20);
  EXPECT_EQ(net.core(1).role(), Role::kFollower);
  EXPECT_EQ(net.core(1).leader(), kNoNode);
}

TEST(CheckQuorumTest, LeaderWithQuorumStaysDespiteOneDeadPeer) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(3);
  net.TickAll(50);
  EXPECT_EQ(net.Leader(), 1u);
  EXPECT_EQ(net.core(1).term(), 1u);
}

TEST(LeaseTest, FollowerWithLiveLeaderIgnoresCampaigns) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  Core& f = net.core(2);
  for (MessageType type : {MessageType::kVote, MessageType::kPreVote}) {
    Message m = Msg(type, 3, 2, 5);
    m.index = 100;
    m.log_term = 5;
    f.Step(m);
    EXPECT_EQ(f.term(), 1u);
    EXPECT_TRUE(TakeMessages(f).empty());
  }
  // A transfer-initiated campaign overrides the lease.
  Message forced = Msg(MessageType::kVote, 3, 2, 5);
  forced.index = 100;
  forced.log_term = 5;
  forced.leader_transfer = true;
  f.Step(forced);
  EXPECT_EQ(f.term(), 5u);
  auto replies = TakeMessages(f);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0].reject);
}

TEST(TransferTest, TransfersToCaughtUpFollower) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  ASSERT_TRUE(net.core(1).TransferLeader(2).has_value());
  net.Deliver();
  EXPECT_EQ(net.Leader(), 2u);
  EXPECT_EQ(net.core(2).term(), 2u);
  EXPECT_EQ(net.core(1).leader(), 2u);
}

TEST(TransferTest, CatchesUpLaggingTargetFirst) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net.Propose(1, "x").has_value());
  net.Recover();
  ASSERT_LT(net.core(3).log().LastIndex(), net.core(1).log().LastIndex());
  ASSERT_TRUE(net.core(1).TransferLeader(3).has_value());
  EXPECT_EQ(net.core(1).Propose("refused"), std::unexpected(Error::kTransferInProgress));
  net.Deliver();
  net.TickAll(3);
  EXPECT_EQ(net.Leader(), 3u);
}

TEST(TransferTest, AbortedAfterElectionTimeoutWhenTargetUnreachable) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(3);
  ASSERT_TRUE(net.core(1).TransferLeader(3).has_value());
  EXPECT_EQ(net.core(1).GetStatus().transferee, 3u);
  net.TickAll(10);
  EXPECT_EQ(net.core(1).GetStatus().transferee, kNoNode);
  EXPECT_EQ(net.Leader(), 1u);
  EXPECT_TRUE(net.Propose(1, "accepted again").has_value());
}

TEST(TransferTest, RefusesNonVotersAndFollowers) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  EXPECT_EQ(net.core(1).TransferLeader(9), std::unexpected(Error::kInvalidArgument));
  EXPECT_EQ(net.core(1).TransferLeader(1), std::unexpected(Error::kInvalidArgument));
  EXPECT_EQ(net.core(2).TransferLeader(3), std::unexpected(Error::kNotLeader));
}

TEST(ReadIndexTest, ReadStateAtCommitIndexAfterQuorumConfirms) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  auto w = net.Propose(1, "w");
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(net.core(1).ReadIndex("ctx").has_value());
  net.Deliver();
  ASSERT_EQ(net.node(1).reads.size(), 1u);
  EXPECT_EQ(net.node(1).reads[0].context, "ctx");
  EXPECT_EQ(net.node(1).reads[0].index, *w);
  EXPECT_EQ(net.core(2).ReadIndex("x"), std::unexpected(Error::kNotLeader));
}

TEST(ReadIndexTest, HeldUntilLeaderCommitsInItsTerm) {
  Core c = MustCreate(test::TestConfig(1), Source({1, 2, 3}, {E(1, 1, "old")}, {.term = 1}));
  auto first = test::ElectByVotes(c);
  ASSERT_TRUE(c.ReadIndex("early").has_value());
  // Heartbeat answers confirm leadership but the no-op is not committed yet: no read state.
  c.Tick();
  for (const Message& m : OfType(TakeMessages(c), MessageType::kHeartbeat)) {
    Message r = Msg(MessageType::kHeartbeatResp, m.to, 1, m.term);
    r.context = m.context;
    c.Step(r);
  }
  EXPECT_TRUE(TakeReady(c).read_states.empty());
  test::AckAppends(c, first);  // commits the no-op (index 2)
  auto msgs = TakeMessages(c);
  auto beats = OfType(msgs, MessageType::kHeartbeat);
  ASSERT_FALSE(beats.empty());
  for (const Message& m : beats) {
    EXPECT_NE(m.context, 0u);
    Message r = Msg(MessageType::kHeartbeatResp, m.to, 1, m.term);
    r.context = m.context;
    c.Step(r);
  }
  Ready r = TakeReady(c);
  ASSERT_EQ(r.read_states.size(), 1u);
  EXPECT_EQ(r.read_states[0].index, 2u);
  EXPECT_EQ(r.read_states[0].context, "early");
}

TEST(ReadIndexTest, SingleNodeAnswersAlone) {
  test::Network net({1});
  net.Campaign(1);
  ASSERT_EQ(net.Leader(), 1u);
  ASSERT_TRUE(net.core(1).ReadIndex("solo").has_value());
  net.Deliver();
  ASSERT_EQ(net.node(1).reads.size(), 1u);
  EXPECT_EQ(net.node(1).reads[0].index, net.core(1).log().committed());
}

// A node that joins starts empty and learns the configuration from the leader's log.
test::Node EmptyNode(NodeId id) {
  test::Node n;
  n.config = test::TestConfig(id);
  n.core.emplace(MustCreate(n.config, n.disk));
  return n;
}

TEST(LearnerTest, LearnerCatchesUpThenIsPromoted) {
  // A bootstrapped cluster: its configuration is in the log, so an empty node can replay it.
  std::map<NodeId, test::Node> nodes;
  const std::vector<NodeId> ids = {1, 2, 3};
  for (NodeId id : ids) {
    test::Node n;
    n.config = test::TestConfig(id);
    n.disk = BootstrapState(ids);
    n.core.emplace(MustCreate(n.config, n.disk));
    nodes.emplace(id, std::move(n));
  }
  nodes.emplace(4, EmptyNode(4));
  test::Network net = test::Network::Of(std::move(nodes));
  net.Deliver();
  net.Campaign(1);
  for (int i = 0; i < 3; ++i) net.Propose(1, "x");
  net.Isolate(4);
  ASSERT_TRUE(net.core(1).ProposeConfChange({ConfChangeType::kAddLearner, 4}).has_value());
  net.Deliver();
  EXPECT_EQ(net.core(1).conf().learners, std::vector<NodeId>{4});
  EXPECT_EQ(net.core(1).ProposeConfChange({ConfChangeType::kPromoteLearner, 4}),
            std::unexpected(Error::kLearnerNotCaughtUp));
  net.Recover();
  net.TickAll(3);
  EXPECT_EQ(net.core(4).log().LastIndex(), net.core(1).log().LastIndex());
  EXPECT_EQ(net.core(4).conf().learners, std::vector<NodeId>{4});
  // A learner never campaigns.
  net.Isolate(4);
  net.Tick(4, 50);
  EXPECT_EQ(net.core(4).role(), Role::kFollower);
  EXPECT_EQ(net.core(4).term(), net.core(1).term());
  net.Recover();
  net.TickAll(2);
  ASSERT_TRUE(net.core(1).ProposeConfChange({ConfChangeType::kPromoteLearner, 4}).has_value());
  net.Deliver();
  net.TickAll(2);
  EXPECT_EQ(net.core(4).conf().voters, (std::vector<NodeId>{1, 2, 3, 4}));
  // Four voters: the leader needs two more acknowledgments; with 2 and 3 gone, 4 is required.
  net.Isolate(2);
  net.Isolate(3);
  net.Recover();
  net.Cut(1, 2);
  net.Cut(1, 3);
  auto i = net.Propose(1, "needs 4");
  ASSERT_TRUE(i.has_value());
  EXPECT_LT(net.core(1).log().committed(), *i);
}

TEST(MembershipTest, RemovedLeaderStepsDownAndTheRestElect) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  ASSERT_TRUE(net.core(1).ProposeConfChange({ConfChangeType::kRemoveNode, 1}).has_value());
  net.Deliver();
  EXPECT_NE(net.core(1).role(), Role::kLeader);
  net.Isolate(1);
  for (int i = 0; i < 100 && net.Leader() == kNoNode; ++i) net.TickAll(1);
  const NodeId leader = net.Leader();
  ASSERT_TRUE(leader == 2 || leader == 3);
  EXPECT_EQ(net.core(leader).conf().voters, (std::vector<NodeId>{2, 3}));
  auto x = net.Propose(leader, "x");
  ASSERT_TRUE(x.has_value());
  EXPECT_GE(net.core(leader).log().committed(), *x);
}

TEST(MembershipTest, LeaderElectedWithItsOwnRemovalPendingTakesNoRequests) {
  // Its log must end at the removal (plus its no-op) so the survivors can still win its vote.
  Entry removal = E(2, 1, EncodeConfChange({ConfChangeType::kRemoveNode, 1}));
  removal.type = EntryType::kConfChange;
  Core c = MustCreate(test::TestConfig(1),
                      Source({1, 2, 3}, {E(1, 1), removal}, {.term = 1, .commit = 1}));
  test::ElectByVotes(c);
  EXPECT_EQ(c.log().LastIndex(), 3u);  // the no-op
  EXPECT_EQ(c.Propose("x"), std::unexpected(Error::kNotLeader));
  EXPECT_EQ(c.ReadIndex("r"), std::unexpected(Error::kNotLeader));
  EXPECT_EQ(c.ProposeConfChange({ConfChangeType::kAddVoter, 4}),
            std::unexpected(Error::kNotLeader));
}

TEST(MembershipTest, InvalidChangesAreRefused) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  EXPECT_EQ(net.core(1).ProposeConfChange({ConfChangeType::kAddVoter, 2}),
            std::unexpected(Error::kInvalidConfChange));
  EXPECT_EQ(net.core(1).ProposeConfChange({ConfChangeType::kRemoveNode, 7}),
            std::unexpected(Error::kInvalidConfChange));
  EXPECT_EQ(net.core(1).ProposeConfChange({ConfChangeType::kPromoteLearner, 3}),
            std::unexpected(Error::kInvalidConfChange));
  EXPECT_EQ(net.core(2).ProposeConfChange({ConfChangeType::kAddVoter, 4}),
            std::unexpected(Error::kNotLeader));
}

TEST(SnapshotTest, LaggingFollowerReceivesSnapshotAfterCompaction) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net.Propose(1, "x" + std::to_string(i)).has_value());
  Core& leader = net.core(1);
  const Index applied = leader.log().applied();
  auto meta = leader.Compact(applied, "state@" + std::to_string(applied));
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->conf.voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(leader.log().FirstIndex(), applied + 1);
  net.Recover();
  net.TickAll(3);
  const RaftLog& f = net.core(3).log();
  EXPECT_EQ(f.snapshot().meta.index, applied);
  EXPECT_EQ(f.snapshot().data, "state@" + std::to_string(applied));
  EXPECT_EQ(f.LastIndex(), leader.log().LastIndex());
  EXPECT_EQ(f.committed(), leader.log().committed());
  EXPECT_EQ(net.node(3).disk.snapshot.meta.index, applied);
  EXPECT_EQ(net.core(3).conf().voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(net.core(1).GetStatus().progress.at(3).state, ProgressState::kReplicate);
}

TEST(SnapshotTest, CompactOnlyAtTheAppliedIndex) {
  test::Network net({1});
  net.Campaign(1);
  net.Propose(1, "a");
  const Index applied = net.core(1).log().applied();
  EXPECT_EQ(net.core(1).Compact(applied - 1, ""), std::unexpected(Error::kSnapshotOutOfDate));
  EXPECT_EQ(net.core(1).Compact(applied + 1, ""), std::unexpected(Error::kSnapshotOutOfDate));
  EXPECT_TRUE(net.core(1).Compact(applied, "s").has_value());
  EXPECT_EQ(net.core(1).Compact(applied, "again"), std::unexpected(Error::kSnapshotOutOfDate));
}

TEST(SnapshotTest, LostSnapshotIsResent) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  net.Isolate(3);
  for (int i = 0; i < 5; ++i) net.Propose(1, "x");
  ASSERT_TRUE(net.core(1).Compact(net.core(1).log().applied(), "s").has_value());
  net.Recover();
  net.ignore = {MessageType::kSnap};
  net.TickAll(3);
  EXPECT_EQ(net.core(1).GetStatus().progress.at(3).state, ProgressState::kSnapshot);
  net.ignore.clear();
  net.TickAll(15);
  EXPECT_EQ(net.core(3).log().LastIndex(), net.core(1).log().LastIndex());
}

TEST(FlowControlTest, InflightWindowAndMessageSizeAreBounded) {
  auto tweak = [](Config& c) {
    c.max_inflight_msgs = 2;
    c.max_msg_bytes = 10;
  };
  test::Network net({1, 2, 3}, tweak);
  net.Campaign(1);
  Core& leader = net.core(1);
  ASSERT_EQ(leader.GetStatus().progress.at(2).state, ProgressState::kReplicate);
  // Nothing is acknowledged from now on: node 2 only receives.
  net.Drop(2, 1, 1.0);
  net.Drop(3, 1, 1.0);
  size_t apps_to_2 = 0;
  for (int i = 0; i < 10; ++i) {
    leader.Propose(std::string(6, 'a' + i));
    for (const Message& m : TakeMessages(leader)) {
      if (m.type != MessageType::kApp || m.to != 2) continue;
      ++apps_to_2;
      uint64_t bytes = 0;
      for (const Entry& e : m.entries) bytes += e.data.size();
      EXPECT_TRUE(m.entries.size() == 1 || bytes <= 10);
    }
  }
  EXPECT_EQ(apps_to_2, 2u);
  EXPECT_EQ(leader.GetStatus().progress.at(2).inflight, 2u);
}

TEST(FlowControlTest, ProposalsBatchIntoOneMessagePerPeer) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  Core& leader = net.core(1);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(leader.Propose("p").has_value());
  auto apps = OfType(TakeMessages(leader), MessageType::kApp);
  ASSERT_EQ(apps.size(), 2u);
  for (const Message& m : apps) EXPECT_EQ(m.entries.size(), 20u);
}

TEST(UncommittedLimitTest, ProposalsRefusedWhenQuorumLost) {
  test::Network net({1, 2, 3}, [](Config& c) { c.max_uncommitted_bytes = 100; });
  net.Campaign(1);
  net.Isolate(1);
  int accepted = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = net.Propose(1, std::string(10, 'x'));
    if (!r) {
      EXPECT_EQ(r.error(), Error::kUncommittedLimit);
      break;
    }
    ++accepted;
  }
  EXPECT_EQ(accepted, 10);
  net.Recover();
  net.TickAll(2);
  EXPECT_TRUE(net.Propose(1, std::string(10, 'y')).has_value());
}

TEST(BackoffTest, DivergentFollowerSyncsInFewRoundTrips) {
  // Follower 2 holds 200 entries of term 2 that the leader (term 3) never had.
  std::vector<Entry> leader_log, follower_log;
  for (Index i = 1; i <= 10; ++i) leader_log.push_back(E(i, 1));
  for (Index i = 11; i <= 100; ++i) leader_log.push_back(E(i, 3));
  follower_log = std::vector<Entry>(leader_log.begin(), leader_log.begin() + 10);
  for (Index i = 11; i <= 210; ++i) follower_log.push_back(E(i, 2));
  std::map<NodeId, test::Node> nodes;
  for (auto [id, log] : {std::pair{1, leader_log}, {2, follower_log}, {3, leader_log}}) {
    test::Node n;
    n.config = test::TestConfig(id, false, false);
    n.disk = Source({1, 2, 3}, log, {.term = 3});
    n.core.emplace(MustCreate(n.config, n.disk));
    nodes.emplace(id, std::move(n));
  }
  test::Network net = test::Network::Of(std::move(nodes));
  net.Campaign(1);
  net.TickAll(2);
  size_t rejections = 0;
  for (const Message& m : net.delivered) {
    if (m.type == MessageType::kAppResp && m.from == 2 && m.reject) ++rejections;
  }
  EXPECT_LE(rejections, 3u);
  EXPECT_EQ(net.core(2).log().LastIndex(), net.core(1).log().LastIndex());
  EXPECT_EQ(net.core(2).log().At(100).term, 3u);
}

TEST(ReadyTest, StepsWhileAReadyIsOutstanding) {
  Core f = MustCreate(test::TestConfig(2), Source({1, 2, 3}));
  Message app = Msg(MessageType::kApp, 1, 2, 1);
  app.entries = {E(1, 1, "a")};
  f.Step(app);
  Ready r1 = f.GetReady();
  EXPECT_FALSE(f.HasReady()) << "no second Ready before Advance";
  Message app2 = Msg(MessageType::kApp, 1, 2, 1);
  app2.index = 1;
  app2.log_term = 1;
  app2.entries = {E(2, 1, "b")};
  app2.commit = 2;
  f.Step(app2);
  f.Advance();
  ASSERT_TRUE(f.HasReady());
  Ready r2 = f.GetReady();
  EXPECT_EQ(r1.entries, std::vector<Entry>{E(1, 1, "a")});
  EXPECT_EQ(r2.entries, std::vector<Entry>{E(2, 1, "b")});
  EXPECT_EQ(r2.committed_entries, (std::vector<Entry>{E(1, 1, "a"), E(2, 1, "b")}));
  f.Advance();
  EXPECT_EQ(f.log().applied(), 2u);
  EXPECT_EQ(f.log().stable(), 2u);
}

// new_term_or_vote tells the driver whether the hard state holds a promise (a term, a vote) or
// only a commit index, which it may make durable later (raft/ready.h).
TEST(ReadyTest, NewTermOrVoteOnlyWhenTheHardStateHoldsOne) {
  Core f = MustCreate(test::TestConfig(2), Source({1, 2, 3}));
  Message app = Msg(MessageType::kApp, 1, 2, 1);  // a newer term: a new hard state
  app.entries = {E(1, 1, "a")};
  f.Step(app);
  Ready r1 = TakeReady(f);
  ASSERT_TRUE(r1.hard_state);
  EXPECT_TRUE(r1.new_term_or_vote);
  Message commit = Msg(MessageType::kHeartbeat, 1, 2, 1);
  commit.commit = 1;
  f.Step(commit);
  Ready r2 = TakeReady(f);
  ASSERT_TRUE(r2.hard_state);
  EXPECT_EQ(r2.hard_state->commit, 1u);
  EXPECT_FALSE(r2.new_term_or_vote) << "only the commit index changed";
  f.Campaign();  // a pre-vote: no new term yet
  EXPECT_FALSE(TakeReady(f).new_term_or_vote);
  Message grant = Msg(MessageType::kPreVoteResp, 3, 2, 2);
  f.Step(grant);  // won the pre-vote: a real campaign raises the term and votes for itself
  Ready r3 = TakeReady(f);
  EXPECT_TRUE(r3.new_term_or_vote);
  EXPECT_EQ(r3.hard_state->vote, 2u);
}

TEST(RestartTest, RestartedNodeKeepsTermVoteLogAndReappliesCommitted) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  for (int i = 0; i < 3; ++i) net.Propose(1, "v" + std::to_string(i));
  net.TickAll(2);
  test::Node& n = net.node(2);
  const Index last = n.core->log().LastIndex();
  const Index commit = n.core->log().committed();
  n.Restart();
  EXPECT_EQ(n.core->term(), 1u);
  EXPECT_EQ(n.core->log().LastIndex(), last);
  EXPECT_EQ(n.core->log().committed(), commit);
  n.Drain();
  ASSERT_EQ(n.applied.size(), commit);
  EXPECT_EQ(n.applied.back().data, "v2");
  EXPECT_EQ(n.core->conf().voters, (std::vector<NodeId>{1, 2, 3}));
}

TEST(BootstrapTest, BootstrappedClusterElectsAndAppliesConfiguration) {
  std::map<NodeId, test::Node> nodes;
  const std::vector<NodeId> ids = {1, 2, 3};
  for (NodeId id : ids) {
    test::Node n;
    n.config = test::TestConfig(id);
    n.disk = BootstrapState(ids);
    n.core.emplace(MustCreate(n.config, n.disk));
    nodes.emplace(id, std::move(n));
  }
  test::Network net = test::Network::Of(std::move(nodes));
  net.Deliver();  // applies the bootstrap entries
  EXPECT_EQ(net.core(2).conf().voters, ids);
  for (int i = 0; i < 50 && net.Leader() == kNoNode; ++i) net.TickAll(1);
  ASSERT_NE(net.Leader(), kNoNode);
  EXPECT_EQ(net.core(net.Leader()).term(), 2u);
}

TEST(StatusTest, ReportsRoleTermAndProgress) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  net.Propose(1, "x");
  Status s = net.core(1).GetStatus();
  EXPECT_EQ(s.id, 1u);
  EXPECT_EQ(s.role, Role::kLeader);
  EXPECT_EQ(s.leader, 1u);
  EXPECT_EQ(s.term, 1u);
  EXPECT_EQ(s.commit, 2u);
  EXPECT_EQ(s.applied, 2u);
  ASSERT_EQ(s.progress.size(), 3u);
  EXPECT_EQ(s.progress.at(2).match, 2u);
  EXPECT_EQ(s.progress.at(2).state, ProgressState::kReplicate);
  Status f = net.core(2).GetStatus();
  EXPECT_EQ(f.role, Role::kFollower);
  EXPECT_EQ(f.leader, 1u);
  EXPECT_TRUE(f.progress.empty());
}

TEST(CoreTest, CreateRejectsBadState) {
  Config c = test::TestConfig(1);
  EXPECT_FALSE(Core::Create(c, Source({1}, {E(2, 1)})).has_value());           // gap
  EXPECT_FALSE(Core::Create(c, Source({1}, {E(1, 2), E(2, 1)})).has_value());  // term drops
  // A hard state older than the log (lost with a crash) is raised to the log's term.
  MemoryLogSource low = Source({1}, {E(1, 3)});
  low.hard_state = {.term = 2, .vote = 1, .commit = 0};
  auto raised = Core::Create(c, low);
  ASSERT_TRUE(raised.has_value());
  EXPECT_EQ(raised->term(), 3u);
  EXPECT_EQ(raised->GetStatus().vote, kNoNode);
  Config zero = c;
  zero.id = 0;
  EXPECT_FALSE(Core::Create(zero, Source({1})).has_value());
  Config ticks = c;
  ticks.election_ticks = 1;
  EXPECT_FALSE(Core::Create(ticks, Source({1})).has_value());
}

TEST(CoreTest, ProposalsOnFollowersAreRefused) {
  test::Network net({1, 2, 3});
  net.Campaign(1);
  EXPECT_EQ(net.core(2).Propose("x"), std::unexpected(Error::kNotLeader));
}

TEST(CoreTest, IgnoresMessagesNotMeantForIt) {
  Core c = MustCreate(test::TestConfig(1), Source({1, 2, 3}));
  c.Step(Msg(MessageType::kApp, 2, 9, 5));  // wrong recipient
  c.Step(Msg(MessageType::kApp, 1, 1, 5));  // from itself
  c.Step(Msg(MessageType::kApp, 2, 1, 0));  // no term
  EXPECT_EQ(c.term(), 0u);
  EXPECT_FALSE(c.HasReady());
}

}  // namespace
}  // namespace rl::raft
