// The replicated cluster state: commands round-trip, apply in order with epoch compare-and-set,
// snapshots restore the same state, and malformed bytes are refused (seeded fuzz, RL_TEST_SEED).
#include "raft/node/state_machine.h"

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/test_seed.h"

namespace rl::raft {
namespace {

PoolTopology Pool(std::string name, int servers) {
  PoolTopology p;
  p.name = std::move(name);
  p.hash = "fnv1a_64";
  p.distribution = "ketama";
  p.hash_tag = "{}";
  for (int i = 0; i < servers; ++i) {
    p.servers.push_back({"r" + std::to_string(i), "127.0.0.1:" + std::to_string(7001 + i),
                         static_cast<uint32_t>(i + 1)});
  }
  return p;
}

TEST(StateMachineTest, CommandsRoundTrip) {
  std::vector<Command> commands = {PutMember{{7, "127.0.0.1:7101", true}},
                                   PutMember{{8, "127.0.0.1:7102", false, true}},
                                   RemoveMember{9},
                                   SetPool{3, Pool("alpha", 3)},
                                   DeletePool{"beta", 4},
                                   MarkJoined{5},
                                   ReserveTokens{1000},
                                   AdvanceTokens{uint64_t{1} << 40}};
  for (const Command& c : commands) {
    auto decoded = DecodeCommand(EncodeCommand(c));
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(EncodeCommand(*decoded), EncodeCommand(c));
    EXPECT_EQ(decoded->index(), c.index());
  }
  auto set = DecodeCommand(EncodeCommand(SetPool{3, Pool("alpha", 3)}));
  EXPECT_EQ(std::get<SetPool>(*set).pool.servers, Pool("alpha", 3).servers);
}

TEST(StateMachineTest, ApplyWithEpochCompareAndSet) {
  StateMachine sm;
  EXPECT_TRUE(sm.Apply(1, EncodeCommand(PutMember{{1, "h:1", false}})).ok);
  EXPECT_TRUE(sm.Apply(2, EncodeCommand(SetPool{0, Pool("alpha", 2)})).ok);
  EXPECT_EQ(sm.state().pools.at("alpha").epoch, 1u);
  // A stale writer loses: the epoch it read is no longer current.
  ApplyResult stale = sm.Apply(3, EncodeCommand(SetPool{0, Pool("alpha", 5)}));
  EXPECT_FALSE(stale.ok);
  EXPECT_EQ(stale.error, "pool 'alpha' is at epoch 1, not 0");
  EXPECT_EQ(sm.state().pools.at("alpha").servers.size(), 2u);
  EXPECT_TRUE(sm.Apply(4, EncodeCommand(SetPool{1, Pool("alpha", 5)})).ok);
  EXPECT_EQ(sm.state().pools.at("alpha").epoch, 2u);
  EXPECT_EQ(sm.state().pools.at("alpha").servers.size(), 5u);
  sm.Skip(5);  // a no-op entry
  EXPECT_FALSE(sm.Apply(6, EncodeCommand(DeletePool{"alpha", 1})).ok);
  EXPECT_TRUE(sm.Apply(7, EncodeCommand(DeletePool{"alpha", 2})).ok);
  EXPECT_TRUE(sm.state().pools.empty());
  EXPECT_FALSE(sm.Apply(8, EncodeCommand(RemoveMember{5})).ok);
  EXPECT_TRUE(sm.Apply(9, EncodeCommand(RemoveMember{1})).ok);
  EXPECT_TRUE(sm.state().members.empty());
  // Undecodable data is refused but consumes its index.
  ApplyResult bad = sm.Apply(10, "\x01\x09");
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(sm.applied_index(), 10u);
}

TEST(StateMachineTest, MarkJoinedSetsTheFlagOfAnExistingMember) {
  StateMachine sm;
  EXPECT_TRUE(sm.Apply(1, EncodeCommand(PutMember{{1, "h:1", false}})).ok);
  EXPECT_FALSE(sm.state().members.at(1).joined);
  EXPECT_TRUE(sm.Apply(2, EncodeCommand(MarkJoined{1})).ok);
  EXPECT_TRUE(sm.state().members.at(1).joined);
  ApplyResult unknown = sm.Apply(3, EncodeCommand(MarkJoined{2}));
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.error, "no member 2");
  // The flag survives a snapshot.
  StateMachine copy;
  ASSERT_TRUE(copy.Restore(sm.Snapshot()));
  EXPECT_TRUE(copy.state().members.at(1).joined);
}

TEST(StateMachineTest, SnapshotRestoresTheSameState) {
  StateMachine sm;
  sm.Apply(1, EncodeCommand(PutMember{{1, "h:1", false}}));
  sm.Apply(2, EncodeCommand(PutMember{{2, "h:2", true}}));
  sm.Apply(3, EncodeCommand(SetPool{0, Pool("alpha", 3)}));
  sm.Apply(4, EncodeCommand(SetPool{0, Pool("beta", 1)}));
  StateMachine copy;
  ASSERT_TRUE(copy.Restore(sm.Snapshot()));
  EXPECT_EQ(copy.state(), sm.state());
  EXPECT_EQ(copy.applied_index(), 4u);
  EXPECT_EQ(copy.Snapshot(), sm.Snapshot());
  // A malformed snapshot leaves the state as it was.
  std::string snap = sm.Snapshot();
  EXPECT_FALSE(copy.Restore(snap.substr(0, snap.size() - 1)));
  EXPECT_FALSE(copy.Restore(snap + "x"));
  EXPECT_FALSE(copy.Restore(EncodeCommand(RemoveMember{1})));
  EXPECT_EQ(copy.state(), sm.state());
}

TEST(StateMachineTest, MalformedCommandsAreRefused) {
  EXPECT_FALSE(DecodeCommand(""));
  EXPECT_FALSE(DecodeCommand("\x03\x02\x01"));  // unknown version
  EXPECT_FALSE(DecodeCommand("\x00\x02\x01"));  // unknown version
  EXPECT_FALSE(DecodeCommand("\x01\x08"));      // unknown type
  EXPECT_FALSE(DecodeCommand("\x02\x08\x01"));  // unknown type
  EXPECT_FALSE(DecodeCommand("\x01\x06\x01"));  // a token command needs version 2
  EXPECT_FALSE(DecodeCommand("\x01\x07\x01"));
  std::string ok = EncodeCommand(RemoveMember{300});
  EXPECT_FALSE(DecodeCommand(ok + "x"));                                // trailing
  EXPECT_FALSE(DecodeCommand(ok.substr(0, ok.size() - 1)));             // truncated
  EXPECT_FALSE(DecodeCommand(EncodeCommand(SetPool{0, Pool("", 1)})));  // empty name
  PoolTopology zero = Pool("a", 1);
  zero.servers[0].weight = 0;
  EXPECT_FALSE(DecodeCommand(EncodeCommand(SetPool{0, zero})));
  PoolTopology tag = Pool("a", 1);
  tag.hash_tag = "{";
  EXPECT_FALSE(DecodeCommand(EncodeCommand(SetPool{0, tag})));
  std::string learner = EncodeCommand(PutMember{{1, "h:1", true}});
  learner[learner.size() - 2] = 2;  // the learner byte, before the joined byte
  EXPECT_FALSE(DecodeCommand(learner));
  std::string joined = EncodeCommand(PutMember{{1, "h:1", true}});
  joined.back() = 2;
  EXPECT_FALSE(DecodeCommand(joined));
  EXPECT_FALSE(DecodeCommand(std::string("\x01\x02\x81\x00", 4)));  // overlong varint
  // A huge length or count is refused, not allocated.
  EXPECT_FALSE(DecodeCommand(std::string("\x01\x03\x00\xff\xff\xff\xff\x0f", 8)));
}

TEST(StateMachineTest, EncodingVersions) {
  // The member and pool commands stay readable by a version-1 node; the token ones need 2.
  EXPECT_EQ(EncodeCommand(RemoveMember{1})[0], 1);
  EXPECT_EQ(EncodeCommand(SetPool{0, Pool("a", 1)})[0], 1);
  EXPECT_EQ(EncodeCommand(ReserveTokens{5})[0], 2);
  EXPECT_EQ(EncodeCommand(AdvanceTokens{5})[0], 2);
  EXPECT_EQ(EncodeCommand(ReserveTokens{300}), std::string("\x02\x06\xac\x02"));
  // A version-2 decoder reads version 2 of the old commands too.
  auto remove = DecodeCommand("\x02\x02\x01");
  ASSERT_TRUE(remove) << remove.error();
  EXPECT_EQ(std::get<RemoveMember>(*remove).id, 1u);
}

TEST(StateMachineTest, ReserveTokensGrantsConsecutiveBlocksToTheProposer) {
  StateMachine sm;
  ApplyResult a = sm.Apply(1, EncodeCommand(ReserveTokens{100}));
  ASSERT_TRUE(a.ok) << a.error;
  EXPECT_EQ(a.value, 1u);
  EXPECT_EQ(sm.state().tokens, 100u);
  ApplyResult b = sm.Apply(2, EncodeCommand(ReserveTokens{1}));
  EXPECT_EQ(b.value, 101u);
  EXPECT_EQ(sm.state().tokens, 101u);
  // Other commands grant nothing.
  EXPECT_EQ(sm.Apply(3, EncodeCommand(PutMember{{1, "h:1", false}})).value, 0u);
  ApplyResult zero = sm.Apply(4, EncodeCommand(ReserveTokens{0}));
  EXPECT_FALSE(zero.ok);
  EXPECT_EQ(zero.value, 0u);
  EXPECT_EQ(sm.state().tokens, 101u);
}

TEST(StateMachineTest, AdvanceTokensOnlyRaisesTheCounter) {
  StateMachine sm;
  EXPECT_TRUE(sm.Apply(1, EncodeCommand(AdvanceTokens{5000})).ok);
  EXPECT_EQ(sm.state().tokens, 5000u);
  EXPECT_TRUE(sm.Apply(2, EncodeCommand(AdvanceTokens{10})).ok);  // below: no change
  EXPECT_EQ(sm.state().tokens, 5000u);
  EXPECT_EQ(sm.Apply(3, EncodeCommand(ReserveTokens{10})).value, 5001u);
  EXPECT_FALSE(sm.Apply(4, EncodeCommand(AdvanceTokens{kMaxClusterToken + 1})).ok);
  EXPECT_EQ(sm.state().tokens, 5010u);
}

TEST(StateMachineTest, TokensStopAtTheLargestToken) {
  StateMachine sm;
  EXPECT_TRUE(sm.Apply(1, EncodeCommand(AdvanceTokens{kMaxClusterToken - 10})).ok);
  EXPECT_FALSE(sm.Apply(2, EncodeCommand(ReserveTokens{11})).ok);
  ApplyResult last = sm.Apply(3, EncodeCommand(ReserveTokens{10}));
  ASSERT_TRUE(last.ok) << last.error;
  EXPECT_EQ(last.value, kMaxClusterToken - 9);
  EXPECT_EQ(sm.state().tokens, kMaxClusterToken);
  EXPECT_FALSE(sm.Apply(4, EncodeCommand(ReserveTokens{1})).ok);
}

TEST(StateMachineTest, SnapshotCarriesTheTokenCounter) {
  StateMachine sm;
  EXPECT_TRUE(sm.Apply(1, EncodeCommand(PutMember{{1, "h:1", false}})).ok);
  std::string without = sm.Snapshot();
  EXPECT_EQ(without[0], 1);  // no counter yet: what a version-1 node writes and reads
  EXPECT_TRUE(sm.Apply(2, EncodeCommand(ReserveTokens{250})).ok);
  std::string with = sm.Snapshot();
  EXPECT_EQ(with[0], 2);
  StateMachine copy;
  ASSERT_TRUE(copy.Restore(with));
  EXPECT_EQ(copy.state(), sm.state());
  EXPECT_EQ(copy.state().tokens, 250u);
  EXPECT_EQ(copy.Apply(3, EncodeCommand(ReserveTokens{1})).value, 251u);
  // Older snapshot versions restore with a zero counter.
  StateMachine old;
  ASSERT_TRUE(old.Restore(without));
  EXPECT_EQ(old.state().tokens, 0u);
  // A version-2 snapshot must carry a counter above 0 (one encoding per state).
  std::string zero = without;
  zero[0] = 2;
  EXPECT_FALSE(old.Restore(zero));
  EXPECT_FALSE(old.Restore(zero + std::string(1, '\0')));
  EXPECT_FALSE(old.Restore(with.substr(0, with.size() - 1)));
  EXPECT_FALSE(old.Restore(with + "x"));
  EXPECT_EQ(old.state().tokens, 0u);
}

TEST(StateMachineTest, RandomBytesNeverCrash) {
  const uint32_t seed = rl::testing::TestSeed();  // printed; $RL_TEST_SEED replays it
  SCOPED_TRACE("RL_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::string valid = EncodeCommand(SetPool{2, Pool("alpha", 4)});
  StateMachine base;
  base.Apply(1, EncodeCommand(PutMember{{1, "127.0.0.1:7101", false}}));
  base.Apply(2, EncodeCommand(SetPool{0, Pool("beta", 3)}));
  std::string snap = base.Snapshot();
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = (i % 2 == 0) ? valid : snap;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
    auto c = DecodeCommand(bytes);
    if (c) {
      ++decoded;
      // The same bytes again, but for the version: an old command read as version 2 is
      // written back as version 1 (EncodingVersions).
      std::string encoded = EncodeCommand(*c);
      std::string expected = bytes;
      expected[0] = encoded[0];
      EXPECT_EQ(encoded, expected) << "seed " << seed << " iteration " << i;
    }
    StateMachine sm;
    if (sm.Restore(bytes)) {
      EXPECT_EQ(sm.Snapshot(), bytes) << "seed " << seed << " iteration " << i;
    }
  }
  std::printf("decoded %d of 20000 mutated inputs\n", decoded);
}

}  // namespace
}  // namespace rl::raft
