// PeerLinks' fault injection (built and registered only with -DRINGLEADER_FAULT_INJECTION=ON):
// drop=1 drops everything, block= blocks one peer and not the other, delay= delivers every
// message late (seeded by RL_TEST_SEED), dup= delivers twice. Absence is shown with a marker
// message sent after the faults are turned off, never by waiting for nothing.
#include "tests/raft/node/peer_test_util.h"
#include "tests/support/test_seed.h"

#ifdef RL_FAULT_INJECTION

namespace rl::raft {
namespace {

class PeerFaultsTest : public PeerTest {};

TEST_F(PeerFaultsTest, DropOneDropsEverything) {
  ASSERT_NE(StartServer(1), nullptr);
  ASSERT_NE(StartLinks(Settings(2), {{1, Addr(1)}}), nullptr);
  ASSERT_TRUE(RunUntil([&] { return links_[2]->authenticated(1); }));
  ASSERT_TRUE(links_[2]->SetFaults(*ParseFaults("drop=1,seed=7")));
  for (uint64_t i = 0; i < 10; ++i) links_[2]->Send({Heartbeat(2, 1, i), Heartbeat(2, 1, i)});
  EXPECT_EQ(links_[2]->stats().fault_dropped, 20u);
  ASSERT_TRUE(links_[2]->SetFaults(FaultSettings{}));
  links_[2]->Send({Heartbeat(2, 1, 100)});
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() >= 1; }));
  EXPECT_EQ(handlers_[1].all(), (std::vector{Heartbeat(2, 1, 100)}));
}

TEST_F(PeerFaultsTest, BlockCutsOnePeerOnly) {
  ASSERT_NE(StartServer(1), nullptr);
  ASSERT_NE(StartServer(3), nullptr);
  ASSERT_NE(StartLinks(Settings(2), {{1, Addr(1)}, {3, Addr(3)}}), nullptr);
  ASSERT_TRUE(RunUntil([&] { return links_[2]->authenticated(1) && links_[2]->authenticated(3); }));
  ASSERT_TRUE(links_[2]->SetFaults(*ParseFaults("block=1")));
  links_[2]->Send({Heartbeat(2, 1, 1), Heartbeat(2, 3, 2)});
  ASSERT_TRUE(RunUntil([&] { return handlers_[3].messages() == 1; }));
  ASSERT_TRUE(links_[2]->SetFaults(FaultSettings{}));
  links_[2]->Send({Heartbeat(2, 1, 3)});
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() >= 1; }));
  EXPECT_EQ(handlers_[1].all(), (std::vector{Heartbeat(2, 1, 3)}));
  EXPECT_EQ(links_[2]->stats().fault_dropped, 1u);
}

TEST_F(PeerFaultsTest, DelayDeliversEveryMessageLateAndDupTwice) {
  SCOPED_TRACE(testing::SeedNote());
  ASSERT_NE(StartServer(1), nullptr);
  ASSERT_NE(StartLinks(Settings(2), {{1, Addr(1)}}), nullptr);
  ASSERT_TRUE(RunUntil([&] { return links_[2]->authenticated(1); }));
  FaultSettings f;
  f.delay_min = 1ms;
  f.delay_max = 30ms;
  f.duplicate = 1;
  f.seed = testing::TestSeed() + 1;
  ASSERT_TRUE(links_[2]->SetFaults(f));
  std::vector<Message> sent;
  for (uint64_t i = 0; i < 20; ++i) sent.push_back(Heartbeat(2, 1, i));
  links_[2]->Send(sent);
  EXPECT_EQ(handlers_[1].messages(), 0u);
  EXPECT_EQ(links_[2]->stats().fault_delayed, 40u);
  ASSERT_TRUE(RunUntil([&] { return handlers_[1].messages() == 40; }));
  std::multiset<uint64_t> got;
  for (const Message& m : handlers_[1].all()) got.insert(m.context);
  for (uint64_t i = 0; i < 20; ++i) EXPECT_EQ(got.count(i), 2u) << i;
}

}  // namespace
}  // namespace rl::raft

#endif  // RL_FAULT_INJECTION
