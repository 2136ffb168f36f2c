// Unit tests of the migration engine: phase transitions and encodings, the routing rules' plans,
// the plan executor's handling of MIGRATE outcomes and in-flight keys, and a migrator run with
// a resume, over the simulator's fake servers with no injected faults unless a test asks.
#include <gtest/gtest.h>

#include <memory>

#include "proxy/migration/key_router.h"
#include "proxy/migration/migrator.h"
#include "proxy/migration/plan_executor.h"
#include "proxy/migration/state.h"
#include "tests/migration/sim_net.h"

namespace rl::migration {
namespace {

using sim::FakeServer;
using sim::SimBackend;
using sim::SimClock;
using sim::SimNet;
using sim::Value;

RingView View(std::vector<ServerId> ids) {
  std::vector<ring::Member> members;
  for (ServerId id : ids) members.push_back(ring::Member{"s" + std::to_string(id), 1});
  return RingView{std::make_shared<const ring::Ring>(
                      ring::Ring::Build(std::move(members), ring::RingOptions{})),
                  ids};
}

TEST(MigrationState, ForwardPhases) {
  MigrationState s;
  s.epoch = s.topology = 7;
  EXPECT_FALSE(BeginChange(s, 6, 8).has_value());  // computed from a stale epoch
  auto p = BeginChange(s, 7, 8);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->phase, Phase::kPrepare);
  EXPECT_EQ(p->target_epoch, 8u);
  EXPECT_FALSE(Advance(*p, true).has_value());  // not fenced
  auto m = Advance(*MarkFenced(*p), false);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->phase, Phase::kMigrating);
  EXPECT_FALSE(Advance(*m, false).has_value());  // not verified
  auto c = Advance(*m, true);
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(Abort(*c).has_value());
  auto done = Advance(*c, true);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->phase, Phase::kStable);
  EXPECT_EQ(done->epoch, 8u);
  EXPECT_EQ(done->topology, 8u);
}

TEST(MigrationState, AbortIsTheReverseChangeUnderANewEpoch) {
  MigrationState s;
  s.epoch = s.topology = 3;
  auto m = Advance(*MarkFenced(*BeginChange(s, 3, 4)), false);
  auto a = Abort(*m);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->phase, Phase::kPrepare);
  EXPECT_TRUE(a->abort);
  EXPECT_EQ(a->epoch, 4u);
  EXPECT_EQ(a->topology, 4u);
  EXPECT_EQ(a->target_epoch, 5u);
  EXPECT_EQ(a->target_topology, 3u);
  EXPECT_FALSE(a->fenced);
}

TEST(MigrationState, EncodingsRoundTripAndRejectDamage) {
  MigrationState s{Phase::kMigrating, 4, 4, 5, 3, true, true};
  EXPECT_EQ(DecodeState(EncodeState(s)).value(), s);
  Checkpoint c;
  c.epoch = 5;
  c.verify_round = 2;
  c.keys_moved = 99;
  c.sources.push_back(SourceProgress{1, 12345, false, InFlight{"big", 2, "5.3"}});
  c.sources.push_back(SourceProgress{3, 0, true, std::nullopt});
  std::string bytes = EncodeCheckpoint(c);
  EXPECT_EQ(DecodeCheckpoint(bytes).value(), c);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeCheckpoint(bytes.substr(0, n)).has_value()) << n;
  }
  EXPECT_FALSE(DecodeCheckpoint(bytes + "x").has_value());
  EXPECT_FALSE(DecodeState(EncodeState(s).substr(1)).has_value());
}

// A key that moves from s1/s2/s3 to the new server s4, and one that stays.
struct Keys {
  std::string moving, staying;
};
Keys FindKeys(const KeyRouter& r) {
  Keys k;
  for (int i = 0; k.moving.empty() || k.staying.empty(); ++i) {
    std::string key = "k" + std::to_string(i);
    (r.Moving(key) ? k.moving : k.staying) = key;
  }
  return k;
}

TEST(KeyRouter, PlansPerPhaseAndClass) {
  RingView from = View({1, 2, 3});
  RingView to = View({1, 2, 3, 4});
  KeyRouter mig(Phase::kMigrating, from, to);
  Keys k = FindKeys(mig);
  ServerId a = from.Owner(k.moving);
  ServerId b = to.Owner(k.moving);
  std::string_view mk = k.moving, sk = k.staying;
  std::span<const std::string_view> one(&mk, 1);

  Plan read = mig.Route(CommandClass::kRead, one);
  ASSERT_EQ(read.steps.size(), 2u);
  EXPECT_EQ(read.steps[0], (Step{Step::Op::kRunIfExists, a, 0, k.moving}));
  EXPECT_EQ(read.steps[1], (Step{Step::Op::kRun, b, 0, {}}));
  Plan write = mig.Route(CommandClass::kWrite, one);
  ASSERT_EQ(write.steps.size(), 2u);
  EXPECT_EQ(write.steps[0], (Step{Step::Op::kMove, a, b, k.moving}));
  Plan del = mig.Route(CommandClass::kDelete, one);
  ASSERT_EQ(del.steps.size(), 2u);
  EXPECT_EQ(del.steps[0].op, Step::Op::kGatedDelete);
  EXPECT_EQ(del.steps[1], (Step{Step::Op::kDelete, b, 0, k.moving}));

  Plan direct = mig.Route(CommandClass::kWrite, std::span<const std::string_view>(&sk, 1));
  ASSERT_EQ(direct.steps.size(), 1u);
  EXPECT_EQ(direct.steps[0].server, from.Owner(k.staying));

  std::string_view both[] = {mk, sk};
  EXPECT_EQ(mig.Route(CommandClass::kWrite, both).kind, Plan::Kind::kRefuse);
  EXPECT_EQ(mig.Route(CommandClass::kWrite, both).error, kCrossOwnerError);

  EXPECT_EQ(KeyRouter(Phase::kPrepare, from, to).Route(CommandClass::kRead, one).kind,
            Plan::Kind::kHold);
  EXPECT_EQ(KeyRouter(Phase::kCleanup, from, to).Route(CommandClass::kRead, one).steps[0].server,
            b);
  EXPECT_EQ(KeyRouter(Phase::kStable, from, to).Route(CommandClass::kRead, one).steps[0].server, a);
}

class ExecutorTest : public ::testing::Test {
 protected:
  ExecutorTest() : net_(1, sim::Faults{}), clock_(net_), backend_(net_, 0) {
    for (ServerId id = 1; id <= 4; ++id) net_.AddServer(id);
    router_ = std::make_unique<KeyRouter>(Phase::kMigrating, from_, to_);
    keys_ = FindKeys(*router_);
    a_ = from_.Owner(keys_.moving);
    b_ = to_.Owner(keys_.moving);
  }
  Result<Reply> Exec(CommandClass cls, std::vector<std::string> argv) {
    std::string_view key = argv[1];
    Plan plan = router_->Route(cls, std::span<const std::string_view>(&key, 1));
    std::optional<Result<Reply>> out;
    ExecutePlan(backend_, clock_, plan, Command{argv}, ExecutorOptions{},
                [&](Result<Reply> r) { out = std::move(r); });
    EXPECT_TRUE(net_.RunUntil([&] { return out.has_value(); }, 100000));
    return out.value_or(std::unexpected(Error{}));
  }
  FakeServer& A() { return net_.server(a_); }
  FakeServer& B() { return net_.server(b_); }

  SimNet net_;
  SimClock clock_;
  SimBackend backend_;
  RingView from_ = View({1, 2, 3});
  RingView to_ = View({1, 2, 3, 4});
  std::unique_ptr<KeyRouter> router_;
  Keys keys_;
  ServerId a_ = 0, b_ = 0;
};

TEST_F(ExecutorTest, ReadAsksSourceThenTarget) {
  const std::string& k = keys_.moving;
  EXPECT_EQ(Exec(CommandClass::kRead, {"GET", k})->kind, Reply::Kind::kNil);
  A().Put(k, Value{false, "on-a", {}, std::nullopt});
  EXPECT_EQ(Exec(CommandClass::kRead, {"GET", k})->text, "on-a");
  A().Erase(k);
  B().Put(k, Value{false, "on-b", {}, std::nullopt});
  EXPECT_EQ(Exec(CommandClass::kRead, {"GET", k})->text, "on-b");
}

TEST_F(ExecutorTest, WriteMovesTheKeyWithItsTtlThenWritesTheTarget) {
  const std::string& k = keys_.moving;
  A().Put(k, Value{true, {}, {{"f", "1"}}, net_.now() + 5000});
  auto r = Exec(CommandClass::kWrite, {"HSET", k, "g", "2"});
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(A().Exists(k));
  ASSERT_NE(B().Find(k), nullptr);
  EXPECT_EQ(B().Find(k)->hash.size(), 2u);
  EXPECT_EQ(B().Pttl(k), 5000 - static_cast<int64_t>(net_.now()));
}

TEST_F(ExecutorTest, BusyKeyCopyIsSettledWithReplace) {
  const std::string& k = keys_.moving;
  // What a MIGRATE that timed out after the target restored the key leaves.
  A().Put(k, Value{false, "v1", {}, std::nullopt});
  B().Put(k, Value{false, "v1", {}, std::nullopt});
  ASSERT_TRUE(Exec(CommandClass::kWrite, {"SET", k, "v2"}).has_value());
  EXPECT_FALSE(A().Exists(k));
  EXPECT_EQ(B().Find(k)->str, "v2");
}

TEST_F(ExecutorTest, IoErrIsNeverAbsence) {
  SimNet net(2, sim::Faults{0, 100, 3});
  for (ServerId id = 1; id <= 4; ++id) net.AddServer(id);
  SimClock clock(net);
  SimBackend backend(net, 0);
  const std::string& k = keys_.moving;
  net.server(a_).Put(k, Value{false, "v1", {}, std::nullopt});
  std::string_view key = k;
  Plan plan = router_->Route(CommandClass::kWrite, std::span<const std::string_view>(&key, 1));
  std::optional<Result<Reply>> out;
  ExecutePlan(backend, clock, plan, Command{{"SET", k, "v2"}}, ExecutorOptions{},
              [&](Result<Reply> r) { out = std::move(r); });
  ASSERT_TRUE(net.RunUntil([&] { return out.has_value(); }, 100000));
  ASSERT_FALSE(out->has_value());
  EXPECT_EQ(out->error().kind, ErrorKind::kTryAgain);
  // IOERR may leave the key on the source, on the target, or on both as identical copies; in
  // every case it still holds v1 and nothing wrote v2.
  const Value* on_a = net.server(a_).Find(k);
  const Value* on_b = net.server(b_).Find(k);
  EXPECT_TRUE(on_a != nullptr || on_b != nullptr);
  for (const Value* v : {on_a, on_b}) {
    if (v != nullptr) {
      EXPECT_EQ(v->str, "v1");
    }
  }
}

TEST_F(ExecutorTest, WritesAndDeletesWaitWhileTheKeyIsInFlight) {
  const std::string& k = keys_.moving;
  A().Put(k, Value{false, "v1", {}, std::nullopt});
  A().Put(MarkerKey(k), Value{false, "tok", {}, std::nullopt});
  net_.At(50, [&] { A().FinishInFlight(k, "tok", false); });
  ASSERT_TRUE(Exec(CommandClass::kDelete, {"DEL", k}).has_value());
  EXPECT_GE(net_.now(), 50u);
  EXPECT_FALSE(A().Exists(k));
}

TEST_F(ExecutorTest, MultiKeyWriteMovesEveryKeyThenRunsOnTheTarget) {
  std::string second;
  for (int i = 0; second.empty(); ++i) {
    std::string k = "m" + std::to_string(i);
    if (from_.Owner(k) == a_ && to_.Owner(k) == b_) second = k;
  }
  const std::string& k = keys_.moving;
  A().Put(k, Value{false, "x", {}, std::nullopt});
  A().Put(second, Value{false, "y", {}, std::nullopt});
  std::string_view keys[] = {k, second};
  Plan plan = router_->Route(CommandClass::kDelete, keys);
  ASSERT_EQ(plan.kind, Plan::Kind::kSteps);
  std::optional<Result<Reply>> out;
  ExecutePlan(backend_, clock_, plan, Command{{"DEL", k, second}}, ExecutorOptions{},
              [&](Result<Reply> r) { out = std::move(r); });
  ASSERT_TRUE(net_.RunUntil([&] { return out.has_value(); }, 100000));
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->integer, 2);

  A().Put(k, Value{false, "x", {}, std::nullopt});
  B().Put(second, Value{false, "y", {}, std::nullopt});
  plan = router_->Route(CommandClass::kRead, keys);  // a multi-key read moves its keys too
  ASSERT_EQ(plan.steps.size(), 3u);
  out.reset();
  ExecutePlan(backend_, clock_, plan, Command{{"DEL", k, second}}, ExecutorOptions{},
              [&](Result<Reply> r) { out = std::move(r); });
  ASSERT_TRUE(net_.RunUntil([&] { return out.has_value(); }, 100000));
  EXPECT_FALSE(A().Exists(k));
  EXPECT_FALSE(B().Exists(k));  // the command ran on B after the move
  EXPECT_EQ((*out)->integer, 2);
}

TEST(Migrator, ThrottleAndPauseHoldTheMoveBack) {
  SimNet net(4, sim::Faults{});
  for (ServerId id = 1; id <= 4; ++id) net.AddServer(id);
  SimClock clock(net);
  RingView from = View({1, 2, 3});
  RingView to = View({4});  // every key moves
  for (int i = 0; i < 200; ++i) {
    std::string k = "key" + std::to_string(i);
    net.server(from.Owner(k)).Put(k, Value{false, "v", {}, std::nullopt});
  }
  MigratorOptions mo;
  mo.keys_per_second = 1000;
  mo.batch_keys = 10;
  SimBackend backend(net, 1);
  std::optional<Result<Checkpoint>> result;
  Migrator m(
      backend, clock, from, to, InitialCheckpoint(2, from, to), mo,
      [&](const Checkpoint&, std::function<void()> ok) { net.At(0, ok); },
      [&](Result<Checkpoint> r) { result = r; });
  m.Start();
  m.Pause();
  net.RunUntil([] { return false; }, 100000);
  // The pause takes effect after the page in progress: the run then waits, with keys left.
  EXPECT_FALSE(result.has_value());
  EXPECT_LT(m.progress().keys_moved, 200u);
  m.Resume();
  ASSERT_TRUE(net.RunUntil([&] { return result.has_value(); }, 1000000));
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->keys_moved, 200u);
  // 200 keys at 1000 keys/s: the last batch starts no earlier than 190 ms after the first.
  EXPECT_GE(net.now(), 190u);
  EXPECT_EQ(net.server(4).Snapshot().size(), 200u);
}

// A leader died during a chunked move; the next one settles the recorded key before anything
// else: a completed install means the source's copy goes, else the partial staging goes.
TEST(Migrator, SettlesABigValueLeftInFlight) {
  for (bool installed : {false, true}) {
    SCOPED_TRACE(installed ? "installed" : "partial copy");
    SimNet net(5, sim::Faults{});
    for (ServerId id = 1; id <= 4; ++id) net.AddServer(id);
    SimClock clock(net);
    RingView from = View({1, 2, 3});
    RingView to = View({1, 2, 3, 4});
    std::string key;
    for (int i = 0; key.empty(); ++i) {
      std::string k = "big" + std::to_string(i);
      if (from.Owner(k) != to.Owner(k)) key = k;
    }
    ServerId a = from.Owner(key), b = to.Owner(key);
    Value big;
    big.is_hash = true;
    big.hash = {{"f1", "1"}, {"f2", "2"}};
    net.server(a).Put(key, big);
    net.server(a).Put(MarkerKey(key), Value{false, "2.7", {}, std::nullopt});
    Value partial;
    partial.is_hash = true;
    partial.hash = {{"f1", "1"}};
    net.server(b).Put(StagingKey("2.7", key), partial);
    if (installed) net.server(b).Put(key, big);

    Checkpoint cp = InitialCheckpoint(2, from, to);
    for (SourceProgress& p : cp.sources) {
      if (p.server == a) p.in_flight = InFlight{key, b, "2.7"};
    }
    SimBackend backend(net, 1);
    std::optional<Result<Checkpoint>> result;
    Migrator m(
        backend, clock, from, to, cp, MigratorOptions{},
        [&](const Checkpoint&, std::function<void()> ok) { net.At(0, ok); },
        [&](Result<Checkpoint> r) { result = r; });
    m.Settle();
    ASSERT_TRUE(net.RunUntil([&] { return result.has_value(); }, 100000));
    ASSERT_TRUE(result->has_value());
    for (const SourceProgress& p : (*result)->sources) EXPECT_FALSE(p.in_flight.has_value());
    EXPECT_FALSE(net.server(a).Exists(MarkerKey(key)));
    EXPECT_FALSE(net.server(b).Exists(StagingKey("2.7", key)));
    EXPECT_EQ(net.server(a).Exists(key), !installed);
    EXPECT_EQ(net.server(b).Exists(key), installed);
  }
}

TEST(Migrator, MovesEveryKeyAndResumesFromACheckpoint) {
  SimNet net(3, sim::Faults{});
  for (ServerId id = 1; id <= 4; ++id) net.AddServer(id);
  SimClock clock(net);
  RingView from = View({1, 2, 3});
  RingView to = View({1, 2, 3, 4});
  for (int i = 0; i < 300; ++i) {
    std::string k = "key" + std::to_string(i);
    net.server(from.Owner(k)).Put(k, Value{false, "v", {}, std::nullopt});
  }
  std::string big;
  for (int i = 0; big.empty(); ++i) {
    std::string k = "big" + std::to_string(i);
    if (from.Owner(k) != to.Owner(k)) big = k;
  }
  Value hv;
  hv.is_hash = true;
  for (int f = 0; f < 2000; ++f) hv.hash["f" + std::to_string(f)] = "x";
  hv.expire_at = 100000;
  net.server(from.Owner(big)).Put(big, hv);

  MigratorOptions mo;
  mo.scan_count = 10;
  mo.batch_keys = 4;
  mo.big_value_elements = 100;
  mo.chunk_elements = 64;
  Checkpoint committed = InitialCheckpoint(2, from, to);
  int commits = 0;
  auto commit = [&](const Checkpoint& c, std::function<void()> ok) {
    committed = c;
    ++commits;
    net.At(1, ok);
  };
  // First run: stopped after a few commits.
  SimBackend b1(net, 1);
  auto m1 = std::make_unique<Migrator>(b1, clock, from, to, committed, mo, commit,
                                       [](Result<Checkpoint>) {});
  m1->Start();
  net.RunUntil([&] { return commits >= 6; }, 1000000);
  m1.reset();
  net.DropPending(1);
  // Second run from the checkpoint.
  SimBackend b2(net, 2);
  std::optional<Result<Checkpoint>> result;
  Migrator m2(b2, clock, from, to, committed, mo, commit,
              [&](Result<Checkpoint> r) { result = r; });
  m2.Start();
  ASSERT_TRUE(net.RunUntil([&] { return result.has_value(); }, 5000000));
  ASSERT_TRUE(result->has_value()) << result->error().message;
  EXPECT_TRUE((*result)->verified);
  for (const auto& [id, server] : net.servers()) {
    for (const auto& [k, v] : server->Snapshot()) {
      EXPECT_FALSE(IsInternalKey(k)) << k;
      EXPECT_EQ(to.Owner(k), id) << k;
    }
  }
  const Value* moved = net.server(to.Owner(big)).Find(big);
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(moved->hash.size(), 2000u);
  // The TTL travels as PTTL read on the source, so it may end a few virtual ms later.
  ASSERT_TRUE(moved->expire_at.has_value());
  EXPECT_NEAR(static_cast<double>(*moved->expire_at), static_cast<double>(*hv.expire_at), 5.0);
}

}  // namespace
}  // namespace rl::migration
