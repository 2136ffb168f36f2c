// RespBackend and UvClock against real redis-servers: every Backend op with the answers the engine
// relies on (absent versus a failure, MIGRATE's outcomes, the scripts after SCRIPT FLUSH), then the
// Migrator and ExecutePlan over them end to end (a ring change of 3 to 4 servers with strings,
// hashes, sets, sorted sets, lists, TTLs and big values moved in chunks).
// Waiting is "run the loop until the callback ran, with a bound".
#include "proxy/migration/resp_backend.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/migration/key_router.h"
#include "proxy/migration/migrator.h"
#include "proxy/migration/plan_executor.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_seed.h"

namespace rl::migration {
namespace {

using namespace std::chrono_literals;
using testing::RedisClient;
using testing::RedisServer;

constexpr auto kBound = 60s;

class RespBackendTest : public ::testing::Test {
 protected:
  RespBackendTest() {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &tick_);
  }
  ~RespBackendTest() override {
    backend_.reset();
    clock_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (uv_run(&loop_, UV_RUN_NOWAIT) != 0 && std::chrono::steady_clock::now() < deadline) {
    }
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open on the loop";
  }

  void StartServers(int n) {
    std::vector<ServerAddress> addresses;
    for (int i = 0; i < n; ++i) {
      auto s = RedisServer::Start();
      ASSERT_TRUE(s) << s.error();
      auto c = (*s)->Connect();
      ASSERT_TRUE(c) << c.error();
      addresses.push_back(
          ServerAddress{static_cast<ServerId>(i + 1), "127.0.0.1", (*s)->port(), ""});
      servers_.push_back(std::move(*s));
      clients_.push_back(std::move(*c));
    }
    backend_ = std::make_unique<RespBackend>(&loop_, addresses);
    clock_ = std::make_unique<UvClock>(&loop_);
  }

  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds bound = kBound) {
    uv_timer_start(
        &tick_, [](uv_timer_t*) {}, 5, 5);
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_timer_stop(&tick_);
    return done();
  }

  // Calls op(callback) and waits for its result.
  template <class T>
  Result<T> Await(std::function<void(Callback<T>)> op) {
    // A unique_ptr, not an optional: g++ 12 warns falsely about optional<expected<...>>.
    std::unique_ptr<Result<T>> out;
    op([&](Result<T> r) { out = std::make_unique<Result<T>>(std::move(r)); });
    if (!RunUntil([&] { return out != nullptr; })) {
      return std::unexpected(Error{ErrorKind::kTimeout, "test bound passed"});
    }
    return std::move(*out);
  }

  // A command on server `id` (1-based) through hiredis.
  RedisClient::Reply Direct(ServerId id, const std::vector<std::string>& argv) {
    return clients_[id - 1].Command(argv);
  }
  std::string DirectString(ServerId id, const std::vector<std::string>& argv) {
    auto r = Direct(id, argv);
    if (r == nullptr) return "<io error>";
    if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
    if (r->type == REDIS_REPLY_NIL) return "<nil>";
    return std::string(r->str, r->len);
  }

  uv_loop_t loop_;
  uv_timer_t tick_;
  std::vector<std::unique_ptr<RedisServer>> servers_;
  std::vector<RedisClient> clients_;
  std::unique_ptr<RespBackend> backend_;
  std::unique_ptr<UvClock> clock_;
};

TEST_F(RespBackendTest, RunAndRunIfExists) {
  StartServers(1);
  auto set = Await<Reply>([&](auto cb) { backend_->Run(1, Command{{"SET", "k", "v"}}, cb); });
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(*set, Reply::Status("OK"));
  EXPECT_EQ(set->raw, "+OK\r\n") << "the server's bytes, for the proxy to forward";
  auto get = Await<std::optional<Reply>>([&](auto cb) {
    backend_->RunIfExists(1, "k", Command{{"GET", "k"}}, cb);
  });
  ASSERT_TRUE(get);
  ASSERT_TRUE(get->has_value());
  EXPECT_EQ(**get, Reply::String("v"));
  auto absent = Await<std::optional<Reply>>([&](auto cb) {
    backend_->RunIfExists(1, "nope", Command{{"SET", "nope", "x"}}, cb);
  });
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->has_value());
  EXPECT_EQ(DirectString(1, {"EXISTS", "nope"}), "0") << "the command must not have run";
  auto nil = Await<std::optional<Reply>>([&](auto cb) {
    backend_->RunIfExists(1, "k", Command{{"HGET", "h", "f"}}, cb);
  });
  ASSERT_TRUE(nil && nil->has_value());
  EXPECT_EQ(**nil, Reply::Nil());
  auto wrong = Await<std::optional<Reply>>([&](auto cb) {
    backend_->RunIfExists(1, "k", Command{{"HGET", "k", "f"}}, cb);
  });
  ASSERT_TRUE(wrong && wrong->has_value());
  EXPECT_EQ((*wrong)->kind, Reply::Kind::kError);
  EXPECT_TRUE((*wrong)->text.starts_with("WRONGTYPE")) << (*wrong)->text;
  Direct(1, {"HSET", "h", "a", "1", "b", "2"});
  auto all = Await<std::optional<Reply>>([&](auto cb) {
    backend_->RunIfExists(1, "h", Command{{"HGETALL", "h"}}, cb);
  });
  ASSERT_TRUE(all && all->has_value());
  EXPECT_EQ((*all)->elements, (std::vector<std::string>{"a", "1", "b", "2"}));
  EXPECT_EQ((*all)->raw, "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
  auto nested = Await<Reply>([&](auto cb) {
    backend_->Run(1, Command{{"EVAL", "return {1, {'x', false}}", "0"}}, cb);
  });
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->raw, "*2\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n");
}

TEST_F(RespBackendTest, ScriptsSurviveScriptFlush) {
  StartServers(1);
  Direct(1, {"SET", "k", "v"});
  for (int round = 0; round < 2; ++round) {
    Direct(1, {"SCRIPT", "FLUSH"});
    auto r = Await<std::optional<Reply>>([&](auto cb) {
      backend_->RunIfExists(1, "k", Command{{"GET", "k"}}, cb);
    });
    ASSERT_TRUE(r && r->has_value()) << "round " << round;
    EXPECT_EQ(**r, Reply::String("v"));
  }
}

TEST_F(RespBackendTest, ScanGivesTypesSizesAndMemory) {
  StartServers(1);
  Direct(1, {"SET", "s", "hello"});
  Direct(1, {"HSET", "h", "a", "1", "b", "2", "c", "3"});
  Direct(1, {"SADD", "set", "x", "y"});
  Direct(1, {"ZADD", "z", "1", "m"});
  Direct(1, {"RPUSH", "l", "1", "2", "3", "4"});
  std::map<std::string, ScannedKey> seen;
  uint64_t cursor = 0;
  do {
    auto page = Await<ScanPage>([&](auto cb) { backend_->Scan(1, cursor, 2, cb); });
    ASSERT_TRUE(page) << page.error().message;
    for (const ScannedKey& k : page->keys) seen[k.key] = k;
    cursor = page->next_cursor;
  } while (cursor != 0);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen["s"].type, KeyType::kString);
  EXPECT_EQ(seen["h"].type, KeyType::kHash);
  EXPECT_EQ(seen["h"].elements, 3u);
  EXPECT_EQ(seen["set"].type, KeyType::kSet);
  EXPECT_EQ(seen["set"].elements, 2u);
  EXPECT_EQ(seen["z"].type, KeyType::kZset);
  EXPECT_EQ(seen["l"].type, KeyType::kList);
  EXPECT_EQ(seen["l"].elements, 4u);
  for (auto& [k, v] : seen) EXPECT_GT(v.bytes, 0u) << k;
}

TEST_F(RespBackendTest, MigrateOutcomes) {
  StartServers(2);
  Direct(1, {"SET", "a", "1", "PX", "60000"});
  Direct(1, {"SET", "b", "2"});
  auto ok = Await<MigrateOutcome>([&](auto cb) { backend_->Migrate(1, 2, {"a"}, false, cb); });
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, MigrateOutcome::kOk);
  EXPECT_EQ(DirectString(2, {"GET", "a"}), "1");
  EXPECT_GT(std::stoll(DirectString(2, {"PTTL", "a"})), 50000);
  EXPECT_EQ(DirectString(1, {"EXISTS", "a"}), "0");
  auto nokey = Await<MigrateOutcome>([&](auto cb) { backend_->Migrate(1, 2, {"a"}, false, cb); });
  ASSERT_TRUE(nokey);
  EXPECT_EQ(*nokey, MigrateOutcome::kNoKey);
  Direct(2, {"SET", "b", "2"});
  auto busy = Await<MigrateOutcome>([&](auto cb) { backend_->Migrate(1, 2, {"b"}, false, cb); });
  ASSERT_TRUE(busy);
  EXPECT_EQ(*busy, MigrateOutcome::kBusyKey);
  EXPECT_EQ(DirectString(1, {"EXISTS", "b"}), "1");
  auto replaced = Await<MigrateOutcome>([&](auto cb) { backend_->Migrate(1, 2, {"b"}, true, cb); });
  ASSERT_TRUE(replaced);
  EXPECT_EQ(*replaced, MigrateOutcome::kOk);
  EXPECT_EQ(DirectString(1, {"EXISTS", "b"}), "0");
}

TEST_F(RespBackendTest, MigrateToADeadTargetIsIoErrNotAbsent) {
  StartServers(2);
  Direct(1, {"SET", "a", "1"});
  servers_[1].reset();
  auto r = Await<MigrateOutcome>([&](auto cb) { backend_->Migrate(1, 2, {"a"}, false, cb); });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, MigrateOutcome::kIoErr);
  EXPECT_EQ(DirectString(1, {"GET", "a"}), "1");
}

TEST_F(RespBackendTest, ADeadServerIsAnErrorNeverAbsence) {
  StartServers(1);
  Direct(1, {"SET", "k", "v"});
  ASSERT_TRUE(Await<bool>([&](auto cb) { backend_->Exists(1, "k", cb); }).value());
  servers_[0].reset();
  auto exists = Await<bool>([&](auto cb) { backend_->Exists(1, "k", cb); });
  ASSERT_FALSE(exists);
  EXPECT_EQ(exists.error().kind, ErrorKind::kConnection) << exists.error().message;
  auto run = Await<std::optional<Reply>>([&](auto cb) {
    backend_->RunIfExists(1, "k", Command{{"GET", "k"}}, cb);
  });
  EXPECT_FALSE(run);
  auto del = Await<GateOutcome>([&](auto cb) { backend_->GatedDelete(1, "k", cb); });
  EXPECT_FALSE(del);
}

TEST_F(RespBackendTest, GateMarkerAndDeletes) {
  StartServers(1);
  Direct(1, {"SET", "k", "v"});
  EXPECT_EQ(Await<GateOutcome>([&](auto cb) { backend_->CheckGate(1, "k", cb); }).value(),
            GateOutcome::kDone);
  EXPECT_FALSE(
      Await<bool>([&](auto cb) { backend_->MarkInFlight(1, "absent", "t1", cb); }).value());
  EXPECT_TRUE(Await<bool>([&](auto cb) { backend_->MarkInFlight(1, "k", "t1", cb); }).value());
  EXPECT_EQ(Await<GateOutcome>([&](auto cb) { backend_->CheckGate(1, "k", cb); }).value(),
            GateOutcome::kInFlight);
  EXPECT_EQ(Await<GateOutcome>([&](auto cb) { backend_->GatedDelete(1, "k", cb); }).value(),
            GateOutcome::kInFlight);
  EXPECT_EQ(DirectString(1, {"GET", "k"}), "v");
  auto marker =
      Await<std::optional<std::string>>([&](auto cb) { backend_->GetMarker(1, "k", cb); });
  ASSERT_TRUE(marker && marker->has_value());
  EXPECT_EQ(**marker, "t1");
  EXPECT_FALSE(
      Await<bool>([&](auto cb) { backend_->FinishInFlight(1, "k", "t2", true, cb); }).value());
  EXPECT_TRUE(
      Await<bool>([&](auto cb) { backend_->FinishInFlight(1, "k", "t1", false, cb); }).value());
  EXPECT_EQ(DirectString(1, {"GET", "k"}), "v");
  EXPECT_EQ(Await<GateOutcome>([&](auto cb) { backend_->GatedDelete(1, "k", cb); }).value(),
            GateOutcome::kDone);
  EXPECT_EQ(Await<GateOutcome>([&](auto cb) { backend_->GatedDelete(1, "k", cb); }).value(),
            GateOutcome::kAbsent);
  Direct(1, {"SET", "d", "v"});
  EXPECT_TRUE(Await<bool>([&](auto cb) { backend_->Delete(1, "d", cb); }).value());
  EXPECT_FALSE(Await<bool>([&](auto cb) { backend_->Delete(1, "d", cb); }).value());
}

// A value of each collection type copied chunk by chunk into staging, installed with its TTL.
TEST_F(RespBackendTest, ChunkedCopyOfEveryCollectionType) {
  StartServers(2);
  // 1000 elements: past every compact encoding, whose SCANs return the whole value at once.
  for (int i = 0; i < 1000; ++i) {
    Direct(1, {"HSET", "h", fmt::format("f{}", i), fmt::format("v{}", i)});
    Direct(1, {"SADD", "s", fmt::format("m{}", i)});
    Direct(1, {"ZADD", "z", std::to_string(i), fmt::format("m{}", i)});
    Direct(1, {"RPUSH", "l", fmt::format("e{}", i)});
  }
  Direct(1, {"PEXPIRE", "h", "100000"});
  struct Case {
    std::string key;
    KeyType type;
  };
  for (const Case& c : {Case{"h", KeyType::kHash}, Case{"s", KeyType::kSet},
                        Case{"z", KeyType::kZset}, Case{"l", KeyType::kList}}) {
    std::string staging = StagingKey("7", c.key);
    uint64_t cursor = 0;
    int chunks = 0;
    do {
      auto chunk =
          Await<Chunk>([&](auto cb) { backend_->ReadChunk(1, c.key, c.type, cursor, 64, cb); });
      ASSERT_TRUE(chunk) << chunk.error().message;
      ASSERT_TRUE(chunk->key_exists);
      ASSERT_TRUE(Await<Done>([&](auto cb) {
                    backend_->AppendChunk(2, staging, c.type, chunk->elements, cb);
                  }).has_value());
      cursor = chunk->next_cursor;
      ++chunks;
    } while (cursor != 0 && chunks < 1000);
    EXPECT_GT(chunks, 1) << c.key;
    int64_t pttl = Await<int64_t>([&](auto cb) { backend_->Pttl(1, c.key, cb); }).value();
    auto installed = Await<InstallOutcome>(
        [&](auto cb) { backend_->InstallStaged(2, staging, c.key, pttl, cb); });
    ASSERT_TRUE(installed);
    EXPECT_EQ(*installed, InstallOutcome::kInstalled) << c.key;
    EXPECT_EQ(Await<InstallOutcome>([&](auto cb) {
                backend_->InstallStaged(2, staging, c.key, pttl, cb);
              }).value(),
              InstallOutcome::kKeyExists);
  }
  EXPECT_EQ(DirectString(2, {"HLEN", "h"}), "1000");
  EXPECT_EQ(DirectString(2, {"HGET", "h", "f123"}), "v123");
  EXPECT_GT(std::stoll(DirectString(2, {"PTTL", "h"})), 90000);
  EXPECT_EQ(DirectString(2, {"PTTL", "s"}), "-1");
  EXPECT_EQ(DirectString(2, {"SCARD", "s"}), "1000");
  EXPECT_EQ(DirectString(2, {"ZSCORE", "z", "m42"}), "42");
  EXPECT_EQ(DirectString(2, {"LINDEX", "l", "0"}), "e0");
  EXPECT_EQ(DirectString(2, {"LINDEX", "l", "999"}), "e999");
  EXPECT_EQ(DirectString(2, {"LLEN", "l"}), "1000");
  auto gone =
      Await<Chunk>([&](auto cb) { backend_->ReadChunk(1, "nope", KeyType::kHash, 0, 64, cb); });
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->key_exists);
  EXPECT_EQ(Await<InstallOutcome>([&](auto cb) {
              backend_->InstallStaged(2, StagingKey("9", "x"), "x", -1, cb);
            }).value(),
            InstallOutcome::kNoStaging);
}

TEST_F(RespBackendTest, ClockRunsCallbacksLaterInOrder) {
  StartServers(1);
  std::vector<int> order;
  uint64_t start = clock_->NowMs();
  clock_->After(30, [&] { order.push_back(2); });
  clock_->After(0, [&] { order.push_back(1); });
  EXPECT_TRUE(order.empty()) << "After must never run fn inside the call";
  ASSERT_TRUE(RunUntil([&] { return order.size() == 2; }));
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE(clock_->NowMs() - start, 30u);
  clock_->After(1000000, [&] { order.push_back(3); });  // cancelled by the destructor
}

RingView View(const std::vector<ServerId>& ids) {
  std::vector<ring::Member> members;
  for (ServerId id : ids) members.push_back(ring::Member{"s" + std::to_string(id), 1});
  return RingView{std::make_shared<const ring::Ring>(
                      ring::Ring::Build(std::move(members), ring::RingOptions{})),
                  ids};
}

// The migrator over four real servers: 3 -> 4 with every value type, TTLs and big values; then
// every key is on its owner only, with its value and TTL, and no engine key is left.
TEST_F(RespBackendTest, MigratorMovesEveryKeyToItsOwner) {
  uint64_t seed = rl::testing::TestSeed();
  SCOPED_TRACE(fmt::format("seed {}", seed));
  StartServers(4);
  RingView from = View({1, 2, 3});
  RingView to = View({1, 2, 3, 4});
  constexpr int kKeys = 3000;
  for (int i = 0; i < kKeys; ++i) {
    std::string k = fmt::format("key:{}:{}", seed % 1000, i);
    ServerId owner = from.Owner(k);
    if (i % 3 == 0) {
      Direct(owner, {"HSET", k, "a", std::to_string(i), "b", "x"});
    } else if (i % 7 == 0) {
      Direct(owner, {"SET", k, std::to_string(i), "PX", "300000"});
    } else {
      Direct(owner, {"SET", k, std::to_string(i)});
    }
  }
  std::vector<std::string> bigs = {"big:hash", "big:set", "big:zset", "big:list"};
  for (int i = 0; i < 2000; ++i) {
    Direct(from.Owner(bigs[0]), {"HSET", bigs[0], fmt::format("f{}", i), "v"});
    Direct(from.Owner(bigs[1]), {"SADD", bigs[1], fmt::format("m{}", i)});
    Direct(from.Owner(bigs[2]), {"ZADD", bigs[2], std::to_string(i), fmt::format("m{}", i)});
    Direct(from.Owner(bigs[3]), {"RPUSH", bigs[3], fmt::format("e{}", i)});
  }
  Direct(from.Owner(bigs[0]), {"PEXPIRE", bigs[0], "300000"});
  MigratorOptions mo;
  mo.big_value_elements = 500;
  mo.chunk_elements = 128;
  int commits = 0;
  std::unique_ptr<Result<Checkpoint>> result;
  Migrator migrator(
      *backend_, *clock_, from, to, InitialCheckpoint(2, from, to), mo,
      [&](const Checkpoint&, std::function<void()> committed) {
        ++commits;
        committed();
      },
      [&](Result<Checkpoint> r) { result = std::make_unique<Result<Checkpoint>>(std::move(r)); });
  migrator.Start();
  ASSERT_TRUE(RunUntil([&] { return result != nullptr; }, 120s));
  ASSERT_TRUE(*result) << result->error().message;
  EXPECT_TRUE((*result)->verified);
  EXPECT_GT((*result)->keys_moved, 0u);
  EXPECT_GT(commits, 1);
  uint64_t total = 0;
  for (ServerId id = 1; id <= 4; ++id) {
    uint64_t cursor = 0;
    do {
      auto r = Direct(id, {"SCAN", std::to_string(cursor), "COUNT", "1000"});
      ASSERT_NE(r, nullptr);
      cursor = std::stoull(std::string(r->element[0]->str, r->element[0]->len));
      for (size_t i = 0; i < r->element[1]->elements; ++i) {
        std::string k(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
        EXPECT_FALSE(IsInternalKey(k)) << k;
        EXPECT_EQ(to.Owner(k), id) << k;
        ++total;
      }
    } while (cursor != 0);
  }
  EXPECT_EQ(total, kKeys + bigs.size());
  for (int i = 0; i < kKeys; i += 7) {
    std::string k = fmt::format("key:{}:{}", seed % 1000, i);
    ServerId owner = to.Owner(k);
    if (i % 3 == 0) {
      EXPECT_EQ(DirectString(owner, {"HGET", k, "a"}), std::to_string(i));
    } else {
      EXPECT_EQ(DirectString(owner, {"GET", k}), std::to_string(i));
      EXPECT_GT(std::stoll(DirectString(owner, {"PTTL", k})), 200000) << k;
    }
  }
  EXPECT_EQ(DirectString(to.Owner(bigs[0]), {"HLEN", bigs[0]}), "2000");
  EXPECT_GT(std::stoll(DirectString(to.Owner(bigs[0]), {"PTTL", bigs[0]})), 200000);
  EXPECT_EQ(DirectString(to.Owner(bigs[1]), {"SCARD", bigs[1]}), "2000");
  EXPECT_EQ(DirectString(to.Owner(bigs[2]), {"ZCARD", bigs[2]}), "2000");
  EXPECT_EQ(DirectString(to.Owner(bigs[3]), {"LINDEX", bigs[3], "1999"}), "e1999");
}

// The data path's half: a write to a moving key moves it first (with its TTL), a read finds it
// on the target, a delete removes it from both.
TEST_F(RespBackendTest, PlansRunOverRealServers) {
  StartServers(2);
  RingView from = View({1});
  RingView to = View({2});  // every key moves from 1 to 2
  KeyRouter router(Phase::kMigrating, from, to);
  Direct(1, {"SET", "k", "old", "PX", "300000"});
  auto run = [&](CommandClass cls, std::vector<std::string> argv) {
    std::vector<std::string_view> keys = {argv[1]};
    Plan plan = router.Route(cls, keys);
    return Await<Reply>([&](auto cb) {
      ExecutePlan(*backend_, *clock_, plan, Command{argv}, ExecutorOptions{}, cb);
    });
  };
  EXPECT_EQ(run(CommandClass::kRead, {"GET", "k"}).value(), Reply::String("old"));
  EXPECT_EQ(run(CommandClass::kWrite, {"APPEND", "k", "er"}).value(), Reply::Integer(5));
  EXPECT_EQ(DirectString(1, {"EXISTS", "k"}), "0");
  EXPECT_EQ(DirectString(2, {"GET", "k"}), "older");
  EXPECT_GT(std::stoll(DirectString(2, {"PTTL", "k"})), 200000);
  EXPECT_EQ(run(CommandClass::kRead, {"GET", "k"}).value(), Reply::String("older"));
  EXPECT_EQ(run(CommandClass::kDelete, {"DEL", "k"}).value(), Reply::Integer(1));
  EXPECT_EQ(DirectString(2, {"EXISTS", "k"}), "0");
  EXPECT_EQ(run(CommandClass::kRead, {"GET", "k"}).value(), Reply::Nil());
}

}  // namespace
}  // namespace rl::migration
