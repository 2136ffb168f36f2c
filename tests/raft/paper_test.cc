// One test per rule of the Raft paper's Figure 2 and §5 (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm"), in the manner of etcd-io/raft's raft_paper_test.go.
// PreVote and CheckQuorum are off here: these tests pin the basic algorithm; core_test.cc covers
// the extensions.
#include <gtest/gtest.h>

#include <set>

#include "raft/core.h"
#include "tests/raft/test_util.h"

namespace rl::raft {
namespace {

using test::E;
using test::EntsWithTerms;
using test::MustCreate;
using test::Source;
using test::TakeMessages;
using test::TakeReady;

Core NewCore(NodeId id, std::vector<NodeId> voters, std::vector<Entry> ents = {}, Term term = 0,
             NodeId vote = kNoNode, Index commit = 0) {
  Config c = test::TestConfig(id, /*pre_vote=*/false, /*check_quorum=*/false);
  return MustCreate(c, Source(std::move(voters), std::move(ents),
                              {.term = term, .vote = vote, .commit = commit}));
}

Message M(MessageType type, NodeId from, NodeId to, Term term) {
  return test::Msg(type, from, to, term);
}
std::vector<Message> MakeLeader(Core& c) { return test::ElectByVotes(c); }
void AckAll(Core& leader, const std::vector<Message>& msgs) { test::AckAppends(leader, msgs); }
using test::OfType;

// §5.1: "If RPC request or response contains term T > currentTerm: set currentTerm = T, convert
// to follower" — for each role, for a request and for a response.
TEST(PaperTest, HigherTermMessageMakesAnyRoleFollower) {
  for (Role role : {Role::kFollower, Role::kCandidate, Role::kLeader}) {
    for (MessageType type : {MessageType::kApp, MessageType::kVoteResp}) {
      SCOPED_TRACE(std::string(RoleName(role)) + " " + std::string(MessageTypeName(type)));
      Core c = NewCore(1, {1, 2, 3});
      if (role == Role::kCandidate) c.Campaign();
      if (role == Role::kLeader) MakeLeader(c);
      ASSERT_EQ(c.role(), role);
      c.Step(M(type, 2, 1, 5));
      EXPECT_EQ(c.term(), 5u);
      EXPECT_EQ(c.role(), Role::kFollower);
      EXPECT_EQ(c.leader(), type == MessageType::kApp ? 2u : kNoNode);
    }
  }
}

// §5.1: "If a server receives a request with a stale term number, it rejects the request."
TEST(PaperTest, StaleTermRequestIsRejected) {
  for (MessageType type : {MessageType::kApp, MessageType::kHeartbeat, MessageType::kVote}) {
    SCOPED_TRACE(std::string(MessageTypeName(type)));
    Core c = NewCore(1, {1, 2, 3}, {}, /*term=*/2);
    Message m = M(type, 2, 1, 1);
    m.entries = type == MessageType::kApp ? std::vector<Entry>{E(1, 1, "x")} : std::vector<Entry>{};
    c.Step(m);
    EXPECT_EQ(c.log().LastIndex(), 0u);
    EXPECT_EQ(c.term(), 2u);
    EXPECT_EQ(c.leader(), kNoNode);
    EXPECT_EQ(c.GetStatus().vote, kNoNode);
    // The reply carries the current term, so the stale sender catches up.
    auto msgs = TakeMessages(c);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].term, 2u);
    EXPECT_EQ(msgs[0].type,
              type == MessageType::kVote ? MessageType::kVoteResp : MessageType::kAppResp);
    if (type == MessageType::kVote) {
      EXPECT_TRUE(msgs[0].reject);
    }
  }
}

// §5.2: "When servers start up, they begin as followers."
TEST(PaperTest, StartsAsFollower) {
  Core c = NewCore(1, {1, 2, 3}, {}, 3);
  EXPECT_EQ(c.role(), Role::kFollower);
  EXPECT_EQ(c.term(), 3u);
  EXPECT_EQ(c.leader(), kNoNode);
}

// §5.2 / Figure 2 (Leaders): "send heartbeats to each server ... repeat during idle periods".
TEST(PaperTest, LeaderBroadcastsHeartbeats) {
  Core c = NewCore(1, {1, 2, 3});
  MakeLeader(c);
  c.Tick();  // heartbeat_ticks == 1
  auto beats = OfType(TakeMessages(c), MessageType::kHeartbeat);
  ASSERT_EQ(beats.size(), 2u);
  std::set<NodeId> to;
  for (const Message& m : beats) {
    to.insert(m.to);
    EXPECT_EQ(m.term, 1u);
    EXPECT_EQ(m.from, 1u);
  }
  EXPECT_EQ(to, (std::set<NodeId>{2, 3}));
}

// §5.2 / Figure 2 (Followers): "If election timeout elapses without receiving AppendEntries RPC
// from current leader or granting vote to candidate: convert to candidate"; (Candidates): "On
// conversion to candidate, start election: increment currentTerm, vote for self, send
// RequestVote RPCs to all other servers".
TEST(PaperTest, FollowerTimesOutAndStartsElection) {
  Core c = NewCore(1, {1, 2, 3}, {}, 1);
  for (int i = 0; i < 20; ++i) c.Tick();
  EXPECT_EQ(c.role(), Role::kCandidate);
  EXPECT_EQ(c.term(), 2u);
  EXPECT_EQ(c.GetStatus().vote, 1u);
  auto votes = OfType(TakeMessages(c), MessageType::kVote);
  ASSERT_EQ(votes.size(), 2u);
  for (const Message& m : votes) EXPECT_EQ(m.term, 2u);
}

// Figure 2 (Candidates): "If election timeout elapses: start new election."
TEST(PaperTest, CandidateTimesOutAndStartsNewElection) {
  Core c = NewCore(1, {1, 2, 3}, {}, 1);
  c.Campaign();
  TakeMessages(c);
  ASSERT_EQ(c.term(), 2u);
  for (int i = 0; i < 20; ++i) c.Tick();
  EXPECT_EQ(c.role(), Role::kCandidate);
  EXPECT_EQ(c.term(), 3u);
  EXPECT_EQ(OfType(TakeMessages(c), MessageType::kVote).size(), 2u);
}

// §5.2: "A candidate wins an election if it receives votes from a majority of the servers in the
// full cluster for the same term"; it stays candidate while undecided and falls back when a
// majority refused.
TEST(PaperTest, ElectionOutcomeInOneRound) {
  struct Case {
    size_t size;
    std::map<NodeId, bool> votes;
    Role want;
  };
  const std::vector<Case> cases = {
      {1, {}, Role::kLeader},
      {3, {{2, true}, {3, true}}, Role::kLeader},
      {3, {{2, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}, {4, true}, {5, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}, {4, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}}, Role::kLeader},
      {3, {}, Role::kCandidate},
      {5, {{2, true}}, Role::kCandidate},
      {5, {{2, false}, {3, false}}, Role::kCandidate},
      {3, {{2, false}, {3, false}}, Role::kFollower},
      {5, {{2, false}, {3, false}, {4, false}}, Role::kFollower},
      {5, {{2, true}, {3, false}, {4, false}, {5, false}}, Role::kFollower},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    std::vector<NodeId> ids;
    for (NodeId id = 1; id <= cases[i].size; ++id) ids.push_back(id);
    Core c = NewCore(1, ids);
    c.Campaign();
    for (const auto& [from, granted] : cases[i].votes) {
      Message r = M(MessageType::kVoteResp, from, 1, 1);
      r.reject = !granted;
      c.Step(r);
    }
    EXPECT_EQ(c.role(), cases[i].want);
    EXPECT_EQ(c.term(), 1u);
  }
}

// §5.2: "Each server will vote for at most one candidate in a given term, on a first-come-first-
// served basis."
TEST(PaperTest, FollowerVotesAtMostOncePerTerm) {
  struct Case {
    NodeId vote, from;
    bool reject;
  };
  for (const Case& tc : std::vector<Case>{{kNoNode, 2, false},
                                          {kNoNode, 3, false},
                                          {2, 2, false},
                                          {3, 3, false},
                                          {2, 3, true},
                                          {3, 2, true}}) {
    SCOPED_TRACE(tc.from);
    Core c = NewCore(1, {1, 2, 3}, {}, 1, tc.vote);
    c.Step(M(MessageType::kVote, tc.from, 1, 1));
    Ready r = TakeReady(c);
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0].type, MessageType::kVoteResp);
    EXPECT_EQ(r.messages[0].reject, tc.reject);
    if (!tc.reject) {
      EXPECT_EQ(c.GetStatus().vote, tc.from);
    }
  }
}

// §5.2: "If the leader's term is at least as large as the candidate's current term, then the
// candidate recognizes the leader as legitimate and returns to follower state."
TEST(PaperTest, CandidateFallsBackOnAppendFromLeader) {
  for (Term term : {1, 2}) {
    Core c = NewCore(1, {1, 2, 3});
    c.Campaign();
    ASSERT_EQ(c.term(), 1u);
    c.Step(M(MessageType::kApp, 2, 1, term));
    EXPECT_EQ(c.role(), Role::kFollower);
    EXPECT_EQ(c.term(), term);
    EXPECT_EQ(c.leader(), 2u);
  }
}

// §5.2: "Raft uses randomized election timeouts ... chosen randomly from a fixed interval" —
// here [election, 2*election), for followers and for candidates.
TEST(PaperTest, ElectionTimeoutIsRandomized) {
  for (bool candidate : {false, true}) {
    SCOPED_TRACE(candidate);
    Core c = NewCore(1, {1, 2, 3});
    std::set<int> seen;
    for (int round = 0; round < 400; ++round) {
      c.Step(M(MessageType::kHeartbeat, 2, 1, c.term() + 1));  // resets the timer
      if (candidate) c.Campaign();
      const Term start = c.term();
      int ticks = 0;
      while (c.term() == start && ticks < 100) {
        c.Tick();
        ++ticks;
      }
      TakeMessages(c);
      seen.insert(ticks);
      EXPECT_GE(ticks, 10);
      EXPECT_LT(ticks, 20);
    }
    EXPECT_EQ(seen.size(), 10u) << "every value of [10, 20) should occur";
  }
}

// §5.2: randomization means "in most cases only a single server will time out".
TEST(PaperTest, ElectionTimeoutsRarelyCoincide) {
  std::vector<Core> cores;
  for (NodeId id = 1; id <= 5; ++id) cores.push_back(NewCore(id, {1, 2, 3, 4, 5}));
  int conflicts = 0;
  const int rounds = 1000;
  for (int round = 0; round < rounds; ++round) {
    for (Core& c : cores) {
      c.Step(M(MessageType::kHeartbeat, c.id() == 1 ? 2 : 1, c.id(), c.term() + 1));
      TakeMessages(c);
    }
    int timed_out = 0;
    while (timed_out == 0) {
      for (Core& c : cores) {
        c.Tick();
        if (c.role() == Role::kCandidate) ++timed_out;
      }
    }
    for (Core& c : cores) TakeMessages(c);
    if (timed_out > 1) ++conflicts;
  }
  EXPECT_LE(conflicts, rounds * 3 / 10);
}

// §5.3: "The leader appends the command to its log as a new entry, then issues AppendEntries RPCs
// in parallel to each of the other servers to replicate the entry."
TEST(PaperTest, LeaderAppendsAndReplicatesProposal) {
  Core c = NewCore(1, {1, 2, 3});
  AckAll(c, MakeLeader(c));
  TakeMessages(c);
  ASSERT_EQ(c.Propose("some data"), 2u);
  Ready r = TakeReady(c);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0], E(2, 1, "some data"));
  auto apps = OfType(r.messages, MessageType::kApp);
  ASSERT_EQ(apps.size(), 2u);
  for (const Message& m : apps) {
    EXPECT_EQ(m.index, 1u);
    EXPECT_EQ(m.log_term, 1u);
    EXPECT_EQ(m.commit, 1u);
    EXPECT_EQ(m.entries, std::vector<Entry>{E(2, 1, "some data")});
  }
}

// §5.3: "When the entry has been safely replicated, the leader applies the entry to its state
// machine"; "the leader keeps track of the highest index it knows to be committed, and it
// includes that index in future AppendEntries RPCs".
TEST(PaperTest, LeaderCommitsReplicatedEntryAndAdvertisesIt) {
  Core c = NewCore(1, {1, 2, 3});
  AckAll(c, MakeLeader(c));
  TakeMessages(c);
  c.Propose("some data");
  AckAll(c, TakeMessages(c));
  EXPECT_EQ(c.log().committed(), 2u);
  Ready r = TakeReady(c);
  ASSERT_EQ(r.committed_entries.size(), 1u);
  EXPECT_EQ(r.committed_entries[0], E(2, 1, "some data"));
  auto apps = OfType(r.messages, MessageType::kApp);
  ASSERT_EQ(apps.size(), 2u);
  for (const Message& m : apps) EXPECT_EQ(m.commit, 2u);
}

// §5.3: "A log entry is committed once the leader that created the entry has replicated it on a
// majority of the servers."
TEST(PaperTest, LeaderCommitsOnMajorityAcknowledgment) {
  struct Case {
    size_t size;
    std::set<NodeId> acceptors;
    bool commit;
  };
  const std::vector<Case> cases = {
      {1, {}, true},     {3, {}, false},       {3, {2}, true},
      {3, {2, 3}, true}, {5, {}, false},       {5, {2}, false},
      {5, {2, 3}, true}, {5, {2, 3, 4}, true}, {5, {2, 3, 4, 5}, true},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    std::vector<NodeId> ids;
    for (NodeId id = 1; id <= cases[i].size; ++id) ids.push_back(id);
    Core c = NewCore(1, ids);
    AckAll(c, MakeLeader(c));  // everyone holds the no-op; peers now replicate
    TakeMessages(c);
    const Index index = *c.Propose("some data");
    for (const Message& m : TakeMessages(c)) {
      if (m.type == MessageType::kApp && cases[i].acceptors.contains(m.to)) AckAll(c, {m});
    }
    EXPECT_EQ(c.log().committed() >= index, cases[i].commit);
  }
}

// §5.3: "This also commits all preceding entries in the leader's log, including entries created
// by previous leaders."
TEST(PaperTest, LeaderCommitsPrecedingEntries) {
  for (auto ents : {std::vector<Entry>{}, std::vector<Entry>{E(1, 2)},
                    std::vector<Entry>{E(1, 1), E(2, 2)}, std::vector<Entry>{E(1, 1)}}) {
    SCOPED_TRACE(ents.size());
    Core c = NewCore(1, {1, 2, 3}, ents, 2);
    MakeLeader(c);
    TakeMessages(c);
    c.Propose("some data");
    std::vector<Message> msgs = TakeMessages(c);
    // Followers that hold the leader's log accept everything up to its end.
    for (NodeId peer : {2, 3}) {
      Message r = M(MessageType::kAppResp, peer, 1, 3);
      r.index = c.log().LastIndex();
      c.Step(r);
    }
    Ready r = TakeReady(c);
    std::vector<Entry> want = ents;
    want.push_back(E(ents.size() + 1, 3));
    want.push_back(E(ents.size() + 2, 3, "some data"));
    EXPECT_EQ(r.committed_entries, want);
  }
}

// §5.3: "Once a follower learns that a log entry is committed, it applies the entry to its local
// state machine (in log order)." Figure 2: "If commitIndex > lastApplied: increment lastApplied,
// apply log[lastApplied]".
TEST(PaperTest, FollowerAppliesCommittedEntriesInOrder) {
  const std::vector<Entry> ents = {E(1, 1, "a"), E(2, 1, "b"), E(3, 1, "c")};
  for (Index commit : {1, 2, 3}) {
    Core c = NewCore(1, {1, 2, 3});
    Message app = M(MessageType::kApp, 2, 1, 1);
    app.entries = ents;
    app.commit = commit;
    c.Step(app);
    Ready r = TakeReady(c);
    EXPECT_EQ(r.committed_entries, std::vector<Entry>(ents.begin(), ents.begin() + commit));
    // Later the leader advertises the full commit; the rest follows, in order, once.
    Message beat = M(MessageType::kHeartbeat, 2, 1, 1);
    beat.commit = 3;
    c.Step(beat);
    r = TakeReady(c);
    EXPECT_EQ(r.committed_entries, std::vector<Entry>(ents.begin() + commit, ents.end()));
  }
}

// §5.3 / Figure 2 (AppendEntries receiver): "Reply false if log doesn't contain an entry at
// prevLogIndex whose term matches prevLogTerm" — with the fast back-off hint.
TEST(PaperTest, FollowerChecksPreviousEntry) {
  struct Case {
    Term log_term;
    Index index;
    bool reject;
    Index hint;
  };
  for (const Case& tc : std::vector<Case>{{0, 0, false, 0},
                                          {1, 1, false, 0},
                                          {2, 2, false, 0},
                                          {1, 2, true, 1},
                                          {3, 3, true, 2}}) {
    SCOPED_TRACE(tc.index);
    Core c = NewCore(1, {1, 2, 3}, {E(1, 1), E(2, 2)}, 2, kNoNode, 1);
    Message app = M(MessageType::kApp, 2, 1, 2);
    app.log_term = tc.log_term;
    app.index = tc.index;
    app.commit = 1;
    c.Step(app);
    auto msgs = TakeMessages(c);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].type, MessageType::kAppResp);
    EXPECT_EQ(msgs[0].reject, tc.reject);
    if (tc.reject) {
      EXPECT_EQ(msgs[0].index, tc.index);
      EXPECT_EQ(msgs[0].reject_hint, tc.hint);
    }
  }
}

// Figure 2 (AppendEntries receiver): "If an existing entry conflicts with a new one (same index
// but different terms), delete the existing entry and all that follow it; append any new entries
// not already in the log."
TEST(PaperTest, FollowerReplacesConflictsAndAppendsNewEntries) {
  struct Case {
    Index index;
    Term log_term;
    std::vector<Entry> ents, want, unstable;
  };
  const std::vector<Case> cases = {
      {2, 2, {E(3, 3)}, {E(1, 1), E(2, 2), E(3, 3)}, {E(3, 3)}},
      {1, 1, {E(2, 3), E(3, 4)}, {E(1, 1), E(2, 3), E(3, 4)}, {E(2, 3), E(3, 4)}},
      {0, 0, {E(1, 1)}, {E(1, 1), E(2, 2)}, {}},
      {0, 0, {E(1, 3)}, {E(1, 3)}, {E(1, 3)}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    const Case& tc = cases[i];
    Core c = NewCore(1, {1, 2, 3}, {E(1, 1), E(2, 2)}, 2);
    Message app = M(MessageType::kApp, 2, 1, 4);
    app.index = tc.index;
    app.log_term = tc.log_term;
    app.entries = tc.ents;
    c.Step(app);
    std::vector<Entry> got;
    for (Index j = 1; j <= c.log().LastIndex(); ++j) got.push_back(c.log().At(j));
    EXPECT_EQ(got, tc.want);
    EXPECT_EQ(TakeReady(c).entries, tc.unstable);
  }
}

// §5.3 and Figure 7: "the leader handles inconsistencies by forcing the followers' logs to
// duplicate its own", whatever the follower holds (missing, extra, or conflicting entries).
TEST(PaperTest, LeaderBringsEveryFigure7FollowerInSync) {
  const std::vector<Entry> leader_log = EntsWithTerms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6});
  const std::vector<std::vector<Entry>> followers = {
      EntsWithTerms({1, 1, 1, 4, 4, 5, 5, 6, 6}),           // (a) missing one
      EntsWithTerms({1, 1, 1, 4}),                          // (b) missing many
      EntsWithTerms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}),     // (c) one extra
      EntsWithTerms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}),  // (d) extra, later term
      EntsWithTerms({1, 1, 1, 4, 4, 4, 4}),                 // (e) missing and conflicting
      EntsWithTerms({1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}),     // (f) conflicting terms
  };
  for (size_t i = 0; i < followers.size(); ++i) {
    SCOPED_TRACE(std::string(1, static_cast<char>('a' + i)));
    std::map<NodeId, test::Node> nodes;
    auto add = [&](NodeId id, const std::vector<Entry>& log) {
      test::Node n;
      n.config = test::TestConfig(id, false, false);
      n.disk = Source({1, 2, 3}, log, {.term = 7});
      n.core.emplace(MustCreate(n.config, n.disk));
      nodes.emplace(id, std::move(n));
    };
    add(1, leader_log);
    add(2, followers[i]);
    add(3, leader_log);  // votes for the leader
    test::Network net = test::Network::Of(std::move(nodes));
    net.Campaign(1);
    ASSERT_EQ(net.core(1).role(), Role::kLeader);
    ASSERT_EQ(net.core(1).term(), 8u);
    net.Tick(1, 3);  // heartbeats drive any probing that is still paused
    const RaftLog& want = net.core(1).log();
    const RaftLog& got = net.core(2).log();
    ASSERT_EQ(got.LastIndex(), want.LastIndex());
    for (Index j = 1; j <= want.LastIndex(); ++j) EXPECT_EQ(got.At(j), want.At(j)) << j;
    EXPECT_EQ(got.committed(), want.committed());
    EXPECT_EQ(want.committed(), want.LastIndex());
  }
}

// §5.4.1: "RequestVote RPC ... includes information about the candidate's log" (last index and
// its term).
TEST(PaperTest, VoteRequestCarriesLastLogPosition) {
  for (auto ents : {std::vector<Entry>{E(1, 1)}, std::vector<Entry>{E(1, 1), E(2, 2)}}) {
    Core c = NewCore(1, {1, 2, 3}, ents, 2);
    c.Campaign();
    auto votes = OfType(TakeMessages(c), MessageType::kVote);
    ASSERT_EQ(votes.size(), 2u);
    for (const Message& m : votes) {
      EXPECT_EQ(m.index, ents.size());
      EXPECT_EQ(m.log_term, ents.back().term);
      EXPECT_EQ(m.term, 3u);
    }
  }
}

// §5.4.1 / Figure 2 (RequestVote receiver): "If votedFor is null or candidateId, and candidate's
// log is at least as up-to-date as receiver's log, grant vote" — otherwise deny.
TEST(PaperTest, VoterDeniesCandidateWithStalerLog) {
  struct Case {
    std::vector<Entry> ents;
    Term log_term;
    Index index;
    bool reject;
  };
  const std::vector<Case> cases = {
      // same last term: the longer (or equal) log wins
      {{E(1, 1), E(2, 1)}, 1, 2, false},
      {{E(1, 1), E(2, 1)}, 1, 3, false},
      {{E(1, 1), E(2, 1)}, 1, 1, true},
      // a later last term wins regardless of length
      {{E(1, 1), E(2, 1)}, 2, 1, false},
      {{E(1, 1), E(2, 2)}, 1, 3, true},
      {{E(1, 1), E(2, 2)}, 2, 1, true},
      {{E(1, 1), E(2, 2)}, 2, 2, false},
      {{E(1, 1), E(2, 2)}, 3, 1, false},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    Core c = NewCore(1, {1, 2, 3}, cases[i].ents, 2);
    Message vote = M(MessageType::kVote, 2, 1, 3);
    vote.log_term = cases[i].log_term;
    vote.index = cases[i].index;
    c.Step(vote);
    auto msgs = TakeMessages(c);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].reject, cases[i].reject);
  }
}

// §5.4.2 and Figure 8: "Raft never commits log entries from previous terms by counting replicas.
// Only log entries from the leader's current term are committed by counting replicas."
TEST(PaperTest, LeaderCommitsOnlyCurrentTermEntriesByCounting) {
  struct Case {
    Index acked;
    Index want_commit;
  };
  for (const Case& tc : std::vector<Case>{{1, 0}, {2, 0}, {3, 3}}) {
    SCOPED_TRACE(tc.acked);
    Core c = NewCore(1, {1, 2, 3}, {E(1, 1), E(2, 2)}, 2);
    MakeLeader(c);  // term 3, no-op at index 3
    ASSERT_EQ(c.term(), 3u);
    Message r = M(MessageType::kAppResp, 2, 1, 3);
    r.index = tc.acked;
    c.Step(r);
    EXPECT_EQ(c.log().committed(), tc.want_commit);
  }
}

// Figure 2 (Persistent state on all servers): "Updated on stable storage before responding to
// RPCs" — the reply travels in the same Ready as the state it promises, and Ready's contract is
// persist-then-send.
TEST(PaperTest, StateIsPersistedWithTheReplyThatDependsOnIt) {
  Core c = NewCore(1, {1, 2, 3});
  c.Step(M(MessageType::kVote, 2, 1, 1));
  Ready r = TakeReady(c);
  ASSERT_TRUE(r.hard_state.has_value());
  EXPECT_EQ(r.hard_state->vote, 2u);
  EXPECT_EQ(r.hard_state->term, 1u);
  ASSERT_EQ(OfType(r.messages, MessageType::kVoteResp).size(), 1u);

  Message app = M(MessageType::kApp, 2, 1, 1);
  app.entries = {E(1, 1, "x")};
  c.Step(app);
  r = TakeReady(c);
  EXPECT_EQ(r.entries, std::vector<Entry>{E(1, 1, "x")});
  auto resp = OfType(r.messages, MessageType::kAppResp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].index, 1u);
}

}  // namespace
}  // namespace rl::raft
