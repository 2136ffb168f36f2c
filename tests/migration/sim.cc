// The migration simulator's scenario and checker (see sim.h).
//
// Timeline of a run: clients start at t=1 on STABLE(1); at t=30 the pool enters PREPARE (moving
// keys are held while requests routed by the old ring drain), then MIGRATING: the migrator
// runs, is killed and resumed from its last committed checkpoint, servers restart; when it
// reports the verify pass clean the pool enters CLEANUP and the clients finish. The checker
// then compares what every server holds with the history of acknowledged and failed operations.
#include "tests/migration/sim.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "proxy/migration/key_router.h"
#include "proxy/migration/migrator.h"
#include "proxy/migration/plan_executor.h"
#include "proxy/migration/state.h"
#include "tests/migration/sim_net.h"

namespace rl::migration::sim {
namespace {

constexpr uint64_t kTtlToleranceMs = 2;
constexpr uint64_t kHashExpiry = 1'000'000;

enum class OpKind { kSet, kGet, kDel, kHset, kSetPx };

struct OpRecord {
  OpKind kind = OpKind::kSet;
  std::string key;
  std::string value;  // SET value, HSET field
  uint64_t ttl = 0;
  uint64_t invoke = 0;
  uint64_t complete = 0;
  bool acked = false;
  bool finished = false;
  std::optional<std::string> read;
};

RingView MakeView(const std::vector<std::pair<ServerId, uint32_t>>& members) {
  std::vector<ring::Member> ring_members;
  RingView view;
  for (auto [id, weight] : members) {
    ring_members.push_back(ring::Member{"s" + std::to_string(id), weight});
    view.ids.push_back(id);
  }
  view.ring = std::make_shared<const ring::Ring>(
      ring::Ring::Build(std::move(ring_members), ring::RingOptions{}));
  return view;
}

class World {
 public:
  explicit World(const SimOptions& o)
      : o_(o), net_(o.seed, Faults{o.op_error_pct, o.migrate_ioerr_pct, 3}), clock_(net_) {}

  SimResult Run();

 private:
  void Setup();
  void Preload();
  void SetRouter(Phase phase) {
    phase_ = phase;
    router_ = std::make_shared<KeyRouter>(phase, from_, to_, o_.bug);
  }
  void ClientStep(int c);
  void Issue(int c, size_t op);
  // Waits until no request routed in phase `old` is in flight, then runs `then`.
  void WaitDrain(Phase old, std::function<void()> then);
  void StartMigrating(uint64_t epoch);
  void Abort();
  void RunSettle();
  void LaunchMigrator();
  void Kill();
  void Check(SimResult& result);
  void CheckRegister(const std::string& key, const Value* final_value, SimResult& result);
  void CheckHash(const std::string& key, const Value* final_value, SimResult& result);
  void Dump(const std::string& key) {
    fmt::print("owners: from s{} to s{}\n", from_.Owner(key), to_.Owner(key));
    for (const OpRecord& r : history_) {
      if (r.key != key || r.invoke == 0) continue;
      fmt::print("op {} {} [{},{}] acked={}\n", static_cast<int>(r.kind), r.value, r.invoke,
                 r.complete, r.acked);
    }
    for (const std::string& l : log_) {
      if (l.find(" " + key + " ") != std::string::npos || l.ends_with(" " + key) ||
          l.find(":" + key) != std::string::npos) {
        fmt::print("{}\n", l);
      }
    }
  }
  void Note(const std::string& what) {
    if (o_.trace) log_.push_back(std::to_string(net_.now()) + " sim " + what + " hb0 hb1");
  }
  void Violation(SimResult& result, std::string line) {
    result.ok = false;
    if (result.violations.size() < 20) result.violations.push_back(std::move(line));
  }

  SimOptions o_;
  SimNet net_;
  SimClock clock_;
  RingView from_;
  RingView to_;
  Phase phase_ = Phase::kStable;
  std::shared_ptr<KeyRouter> router_;
  std::vector<std::unique_ptr<SimBackend>> client_backends_;
  std::vector<uint32_t> client_done_;
  int clients_idle_ = 0;
  std::map<Phase, int> in_flight_;
  std::vector<OpRecord> history_;
  std::vector<std::string> registers_, hashes_, big_hashes_, ttls_, fillers_;

  std::unique_ptr<SimBackend> migrator_backend_;
  std::unique_ptr<Migrator> migrator_;
  int migrator_actor_ = 0;
  uint64_t gen_ = 0;
  Checkpoint committed_;
  bool migration_done_ = false;
  bool gave_up_ = false;
  int runs_ = 0;
  int kills_ = 0;
  int restarts_ = 0;
  bool aborted_ = false;
  bool settling_ = false;
  RingView forward_from_, forward_to_;
  std::vector<std::string> log_;
};

void World::Setup() {
  if (o_.trace) net_.log = &log_;
  for (ServerId id = 1; id <= 4; ++id) net_.AddServer(id);
  from_ = MakeView({{1, 1}, {2, 1}, {3, 1}});
  switch (net_.Rand(4)) {
    case 0:
      to_ = MakeView({{1, 1}, {2, 1}, {3, 1}, {4, 1}});
      break;
    case 1:
      to_ = MakeView({{1, 1}, {3, 1}});
      break;
    case 2:
      to_ = MakeView({{1, 3}, {2, 1}, {3, 1}});
      break;
    default:
      to_ = MakeView({{2, 1}, {3, 1}, {4, 1}});
      break;
  }
  SetRouter(Phase::kStable);
  // Short names like "r0".."r9" hash close together and often share an owner in both rings;
  // pick names so that about half of each workload's keys move.
  auto pick = [this](const std::string& prefix, uint32_t n, std::vector<std::string>& out) {
    uint32_t moving = 0, staying = 0;
    for (int i = 0; moving + staying < n && i < 100000; ++i) {
      std::string k = prefix + std::to_string(i * 7919);
      bool m = router_->Moving(k);
      if (m && moving < (n + 1) / 2) {
        ++moving;
        out.push_back(k);
      } else if (!m && staying < n / 2) {
        ++staying;
        out.push_back(k);
      }
    }
  };
  pick("r", o_.registers, registers_);
  pick("h", 4, hashes_);
  pick("t", 6, ttls_);
  pick("f", 150, fillers_);
  // Two big hashes that move, so that every run has chunked moves.
  for (int i = 0; big_hashes_.size() < 2 && i < 1000; ++i) {
    std::string k = "hb" + std::to_string(i);
    if (router_->Moving(k)) big_hashes_.push_back(k);
  }
}

void World::Preload() {
  auto initial = [this](OpKind kind, const std::string& key, const std::string& value,
                        uint64_t ttl) {
    OpRecord r;
    r.kind = kind;
    r.key = key;
    r.value = value;
    r.ttl = ttl;
    r.acked = r.finished = true;
    history_.push_back(r);
  };
  auto put = [this](const std::string& key, Value v) {
    net_.server(from_.Owner(key)).Put(key, std::move(v));
  };
  for (const std::string& k : fillers_) {
    put(k, Value{false, "init-" + k, {}, std::nullopt});
    initial(OpKind::kSet, k, "init-" + k, 0);
  }
  for (const std::string& k : registers_) {
    put(k, Value{false, "init-" + k, {}, std::nullopt});
    initial(OpKind::kSet, k, "init-" + k, 0);
  }
  for (const std::string& k : ttls_) {
    uint64_t ttl = 100 + net_.Rand(2000);
    put(k, Value{false, "init-" + k, {}, ttl});
    initial(OpKind::kSetPx, k, "init-" + k, ttl);
  }
  auto hash = [&](const std::string& k, int fields) {
    Value v;
    v.is_hash = true;
    // Every hash expires long after the run: a move must keep that (CheckHash).
    v.expire_at = kHashExpiry;
    for (int f = 0; f < fields; ++f) {
      std::string field = "init-" + std::to_string(f);
      v.hash[field] = "1";
      initial(OpKind::kHset, k, field, 0);
    }
    put(k, std::move(v));
  };
  for (const std::string& k : hashes_) hash(k, 10);
  for (const std::string& k : big_hashes_) hash(k, 1500);
}

void World::ClientStep(int c) {
  if (client_done_[c] == o_.ops_per_client) {
    ++clients_idle_;
    return;
  }
  uint32_t n = client_done_[c]++;
  OpRecord r;
  std::string unique = fmt::format("c{}-{}", c, n);
  uint64_t pick = net_.Rand(100);
  auto any = [this](const std::vector<std::string>& v) { return v[net_.Rand(v.size())]; };
  auto some_hash = [&] {
    return !big_hashes_.empty() && net_.Chance(30) ? any(big_hashes_) : any(hashes_);
  };
  if (pick < 35) {
    r.kind = OpKind::kSet, r.key = any(registers_), r.value = unique;
  } else if (pick < 60) {
    r.kind = OpKind::kGet, r.key = any(registers_);
  } else if (pick < 67) {
    r.kind = OpKind::kDel, r.key = any(registers_);
  } else if (pick < 82) {
    r.kind = OpKind::kHset, r.key = some_hash(), r.value = unique;
  } else if (pick < 85) {
    // Big hashes are deleted only while they may be moving: earlier, a delete would turn them
    // into small ones before the migrator reaches them.
    r.kind = OpKind::kDel, r.key = phase_ == Phase::kMigrating ? some_hash() : any(hashes_);
  } else {
    r.kind = OpKind::kSetPx, r.key = any(ttls_), r.value = unique, r.ttl = 50 + net_.Rand(600);
  }
  r.invoke = net_.now();
  history_.push_back(r);
  Issue(c, history_.size() - 1);
}

void World::Issue(int c, size_t op) {
  const OpRecord& r = history_[op];
  Command cmd;
  CommandClass cls = CommandClass::kWrite;
  switch (r.kind) {
    case OpKind::kSet:
      cmd.argv = {"SET", r.key, r.value};
      break;
    case OpKind::kSetPx:
      cmd.argv = {"SET", r.key, r.value, "PX", std::to_string(r.ttl)};
      break;
    case OpKind::kGet:
      cmd.argv = {"GET", r.key};
      cls = CommandClass::kRead;
      break;
    case OpKind::kDel:
      cmd.argv = {"DEL", r.key};
      cls = CommandClass::kDelete;
      break;
    case OpKind::kHset:
      cmd.argv = {"HSET", r.key, r.value, "1"};
      break;
  }
  std::string_view key = r.key;
  Plan plan = router_->Route(cls, std::span<const std::string_view>(&key, 1));
  if (plan.kind == Plan::Kind::kHold) {
    net_.At(2, [this, c, op] { Issue(c, op); });
    return;
  }
  Phase planned = phase_;
  ++in_flight_[planned];
  ExecutorOptions eo;
  eo.bug = o_.bug;
  ExecutePlan(*client_backends_[c], clock_, std::move(plan), std::move(cmd), eo,
              [this, c, op, planned](Result<Reply> reply) {
                --in_flight_[planned];
                OpRecord& r = history_[op];
                r.complete = net_.now();
                r.finished = true;
                r.acked = reply.has_value() && reply->kind != Reply::Kind::kError;
                if (r.acked && r.kind == OpKind::kGet && reply->kind == Reply::Kind::kString) {
                  r.read = reply->text;
                }
                net_.At(net_.Rand(4), [this, c] { ClientStep(c); });
              });
}

// PREPARE: requests routed by the old ring must finish before any key moves (the host also
// fences the old epoch's backend users at this point, which the simulated proxy does not need:
// all its clients switch routers at once).
void World::WaitDrain(Phase old, std::function<void()> then) {
  if (in_flight_[old] == 0) return then();
  net_.At(1, [this, old, then] { WaitDrain(old, then); });
}

void World::StartMigrating(uint64_t epoch) {
  SetRouter(Phase::kMigrating);
  committed_ = InitialCheckpoint(epoch, from_, to_);
  if (epoch == 2 && net_.Chance(o_.abort_pct)) net_.At(1 + net_.Rand(150), [this] { Abort(); });
  int kills = static_cast<int>(net_.Rand(o_.max_kills + 1));
  for (int i = 0; i < kills; ++i) net_.At(1 + net_.Rand(200), [this] { Kill(); });
  int restarts = static_cast<int>(net_.Rand(o_.max_restarts + 1));
  for (int i = 0; i < restarts; ++i) {
    net_.At(1 + net_.Rand(300), [this] {
      ServerId id = static_cast<ServerId>(1 + net_.Rand(4));
      if (!net_.server(id).up) return;
      ++restarts_;
      net_.server(id).up = false;
      net_.At(5 + net_.Rand(30), [this, id] { net_.server(id).up = true; });
    });
  }
  LaunchMigrator();
}

void World::LaunchMigrator() {
  if (++runs_ > 40) {
    gave_up_ = true;
    return;
  }
  migrator_actor_ = 1000 + runs_;
  migrator_backend_ = std::make_unique<SimBackend>(net_, migrator_actor_);
  MigratorOptions mo;
  mo.scan_count = 20;
  mo.batch_keys = 8;
  mo.big_value_elements = 500;
  mo.chunk_elements = 100;
  mo.retry_delay_ms = 5;
  mo.max_retries = 10;
  mo.keys_per_second = net_.Chance(50) ? 0 : 20000;
  mo.bytes_per_second = net_.Chance(50) ? 0 : 2'000'000;
  mo.bug = o_.bug;
  uint64_t gen = ++gen_;
  auto commit = [this, gen](const Checkpoint& cp, std::function<void()> committed) {
    net_.At(net_.Rand(3), [this, gen, cp, committed] {
      if (gen != gen_) return;  // a deposed leader's proposal that never commits
      committed_ = cp;
      committed();
    });
  };
  auto done = [this, gen](Result<Checkpoint> r) {
    if (gen != gen_) return;
    if (r) {
      net_.At(0, [this, gen] {
        if (gen != gen_) return;
        migrator_.reset();
        ++gen_;
        migration_done_ = true;
        SetRouter(Phase::kCleanup);
      });
    } else {
      net_.At(0, [this] { Kill(); });
    }
  };
  migrator_ = std::make_unique<Migrator>(*migrator_backend_, clock_, from_, to_, committed_, mo,
                                         commit, done);
  migrator_->Start();
}

// The leader dies: its migrator stops, some of its operations still reach the servers; the
// next leader fences it (what was not executed by then never is) and resumes from the last
// committed checkpoint.
void World::Kill() {
  if (!migrator_) return;
  Note("kill");
  ++kills_;
  migrator_.reset();
  ++gen_;
  net_.DropSomePending(migrator_actor_, 50);
  int old_actor = migrator_actor_;
  net_.At(1 + net_.Rand(20), [this, old_actor, gen = gen_] {
    if (gen != gen_) return;  // an abort came first
    net_.DropPending(old_actor);
    if (settling_) return RunSettle();
    LaunchMigrator();
  });
}

// RINGLEADER MIGRATION ABORT: the reverse change under a new epoch. The migrator stops, the
// pool goes through PREPARE again (moving keys held until requests routed by the forward rules
// drained; the forward epoch and its migrator fenced), then keys move back.
void World::Abort() {
  if (migration_done_ || aborted_ || phase_ != Phase::kMigrating) return;
  aborted_ = true;
  Note("abort");
  migrator_.reset();
  ++gen_;
  int old_actor = migrator_actor_;
  forward_from_ = from_;
  forward_to_ = to_;
  std::swap(from_, to_);
  SetRouter(Phase::kPrepare);
  WaitDrain(Phase::kMigrating, [this, old_actor] {
    net_.DropPending(old_actor);
    settling_ = true;
    RunSettle();
  });
}

// Settles the forward run's big value in flight before keys move back (again after a kill).
void World::RunSettle() {
  migrator_actor_ = 900 + runs_++;
  migrator_backend_ = std::make_unique<SimBackend>(net_, migrator_actor_);
  MigratorOptions mo;
  mo.retry_delay_ms = 5;
  mo.max_retries = 1000;
  uint64_t gen = ++gen_;
  migrator_ = std::make_unique<Migrator>(
      *migrator_backend_, clock_, forward_from_, forward_to_, committed_, mo,
      [this, gen](const Checkpoint& cp, std::function<void()> committed) {
        net_.At(1, [this, gen, cp, committed] {
          if (gen != gen_) return;
          committed_ = cp;
          committed();
        });
      },
      [this, gen](Result<Checkpoint> r) {
        Note(r ? "settled" : "settle failed: " + r.error().message);
        net_.At(0, [this, gen, ok = r.has_value()] {
          if (gen != gen_) return;
          migrator_.reset();
          if (!ok) return RunSettle();
          settling_ = false;
          StartMigrating(3);
        });
      });
  migrator_->Settle();
}

void World::CheckRegister(const std::string& key, const Value* final_value, SimResult& result) {
  std::vector<const OpRecord*> ops;
  for (const OpRecord& r : history_) {
    if (r.key == key && r.finished && r.kind != OpKind::kGet) ops.push_back(&r);
  }
  auto is_write = [](const OpRecord* r) {
    return r->kind == OpKind::kSet || r->kind == OpKind::kSetPx;
  };
  // No acknowledged write or delete strictly after `w` (before `before`, when given).
  auto last_before = [&](const OpRecord* w, uint64_t before) {
    for (const OpRecord* o : ops) {
      if (o == w || !o->acked) continue;
      if (w->complete < o->invoke && o->complete < before) return false;
    }
    return true;
  };
  auto writer_of = [&](const std::string& v) -> const OpRecord* {
    for (const OpRecord* o : ops) {
      if (is_write(o) && o->value == v) return o;
    }
    return nullptr;
  };
  // Reads of the register.
  for (const OpRecord& r : history_) {
    if (r.key != key || r.kind != OpKind::kGet || !r.acked) continue;
    if (r.read) {
      const OpRecord* w = writer_of(*r.read);
      if (w == nullptr) {
        Violation(result, fmt::format("{}: read [{},{}] returned {} that nobody wrote", key,
                                      r.invoke, r.complete, *r.read));
      } else if (w->invoke > r.complete || !last_before(w, r.invoke)) {
        Violation(result, fmt::format("{}: stale read [{},{}] returned {} written at [{},{}]", key,
                                      r.invoke, r.complete, *r.read, w->invoke, w->complete));
      }
      continue;
    }
    bool ok = false;
    for (const OpRecord* d : ops) {
      if (d->kind != OpKind::kDel || d->invoke > r.complete) continue;
      bool overwritten = false;
      for (const OpRecord* o : ops) {
        if (is_write(o) && o->acked && d->complete < o->invoke && o->complete < r.invoke) {
          overwritten = true;
        }
      }
      if (!overwritten) ok = true;
    }
    if (!ok) {
      Violation(result,
                fmt::format("{}: stale read [{},{}] returned nil", key, r.invoke, r.complete));
    }
  }
  const uint64_t end = net_.now() + 1;
  if (final_value != nullptr) {
    const OpRecord* w = writer_of(final_value->str);
    if (w == nullptr) {
      return Violation(result,
                       fmt::format("{}: holds {} that nobody wrote", key, final_value->str));
    }
    if (!last_before(w, end)) {
      return Violation(result,
                       fmt::format("{}: holds {} written at [{},{}] though a later write or "
                                   "delete was acknowledged (lost write or resurrection)",
                                   key, final_value->str, w->invoke, w->complete));
    }
    if (w->kind == OpKind::kSetPx) {
      uint64_t lo = w->invoke + w->ttl, hi = w->complete + w->ttl;
      uint64_t at = final_value->expire_at.value_or(0);
      if (at + kTtlToleranceMs < lo || at > hi + kTtlToleranceMs) {
        Violation(result,
                  fmt::format("{}: expires at {}, its write said [{},{}]", key, at, lo, hi));
      }
    } else if (final_value->expire_at) {
      Violation(result, fmt::format("{}: has a TTL its write did not set", key));
    }
    return;
  }
  // Absent at the end: some operation that may have been the last to take effect must leave
  // the key absent (a delete, or a write whose TTL may have run out).
  for (const OpRecord* s : ops) {
    if (!last_before(s, end)) continue;
    if (s->kind == OpKind::kDel) return;
    if (s->kind == OpKind::kSetPx && s->invoke + s->ttl <= end + kTtlToleranceMs) return;
  }
  Violation(result, fmt::format("{}: lost (absent at the end)", key));
}

void World::CheckHash(const std::string& key, const Value* final_value, SimResult& result) {
  std::vector<const OpRecord*> adds, dels;
  for (const OpRecord& r : history_) {
    if (r.key != key || !r.finished) continue;
    if (r.kind == OpKind::kHset) adds.push_back(&r);
    if (r.kind == OpKind::kDel) dels.push_back(&r);
  }
  // A hash never deleted keeps its first TTL wherever it went (HSET does not change it). A
  // chunked move sends it relative, so it may end up one simulated latency later per move (two
  // moves when the change is aborted).
  if (final_value != nullptr && dels.empty()) {
    uint64_t at = final_value->expire_at.value_or(0);
    uint64_t slack = net_.faults().max_latency_ms * (aborted_ ? 2 : 1);
    if (at < kHashExpiry || at > kHashExpiry + slack) {
      Violation(result, fmt::format("{}: expires at {}, was {}", key, at, kHashExpiry));
    }
  }
  int lost = 0, resurrected = 0;
  for (const OpRecord* a : adds) {
    bool present = final_value != nullptr && final_value->hash.contains(a->value);
    if (!present && a->acked) {
      bool deleted = false;
      for (const OpRecord* d : dels) deleted |= d->complete >= a->invoke;
      if (!deleted) ++lost;
    }
    if (present) {
      for (const OpRecord* d : dels) {
        if (d->acked && a->complete < d->invoke) {
          ++resurrected;
          break;
        }
      }
    }
  }
  if (lost > 0) Violation(result, fmt::format("{}: {} acknowledged fields lost", key, lost));
  if ((lost > 0 || resurrected > 0) && o_.trace) Dump(key);
  if (resurrected > 0) {
    Violation(result, fmt::format("{}: {} fields survived a later delete", key, resurrected));
  }
}

void World::Check(SimResult& result) {
  std::map<std::string, std::vector<std::pair<ServerId, Value>>> where;
  for (const auto& [id, server] : net_.servers()) {
    for (auto& [k, v] : server->Snapshot()) {
      if (IsInternalKey(k)) {
        Violation(result, fmt::format("s{} still holds the engine's key {}", id, k));
        continue;
      }
      where[k].emplace_back(id, v);
    }
  }
  for (const auto& [k, holders] : where) {
    if (holders.size() > 1) {
      Violation(result, fmt::format("{}: on {} servers at the end", k, holders.size()));
    }
    for (const auto& [id, v] : holders) {
      if (id != to_.Owner(k)) {
        Violation(result, fmt::format("{}: orphan on s{} (its owner is s{})", k, id, to_.Owner(k)));
      }
    }
  }
  auto final_of = [&](const std::string& k) -> const Value* {
    auto it = where.find(k);
    if (it == where.end()) return nullptr;
    for (const auto& [id, v] : it->second) {
      if (id == to_.Owner(k)) return &v;
    }
    return &it->second.front().second;
  };
  for (const auto* keys : {&registers_, &ttls_, &fillers_}) {
    for (const std::string& k : *keys) CheckRegister(k, final_of(k), result);
  }
  for (const auto* keys : {&hashes_, &big_hashes_}) {
    for (const std::string& k : *keys) CheckHash(k, final_of(k), result);
  }
}

SimResult World::Run() {
  SimResult result;
  Setup();
  Preload();
  for (int c = 0; c < o_.clients; ++c) {
    client_backends_.push_back(std::make_unique<SimBackend>(net_, c));
    client_done_.push_back(0);
    net_.At(1 + net_.Rand(3), [this, c] { ClientStep(c); });
  }
  net_.At(30, [this] {
    SetRouter(Phase::kPrepare);
    WaitDrain(Phase::kStable, [this] { StartMigrating(2); });
  });
  bool finished = net_.RunUntil(
      [this] { return gave_up_ || (migration_done_ && clients_idle_ == o_.clients); }, 20'000'000);
  if (!finished || gave_up_ || !migration_done_) {
    Violation(result, fmt::format("the migration did not finish (runs {}, phase {})", runs_,
                                  PhaseName(phase_)));
  }
  // Let restarts and stray timers play out so that every server is up for the check.
  net_.RunUntil([] { return false; }, 1'000'000);
  Check(result);
  result.keys_moved = committed_.keys_moved;
  for (const OpRecord& r : history_) {
    if (r.invoke == 0 && r.complete == 0) continue;
    (r.acked ? result.acked : result.failed)++;
  }
  result.kills = kills_;
  result.restarts = restarts_;
  result.migrator_runs = runs_;
  result.summary = fmt::format(
      "seed {}: moved {} keys ({} scanned), {} ops acked, {} failed, {} migrator runs, {} kills, "
      "{} restarts{}, end at {} ms",
      o_.seed, committed_.keys_moved, committed_.keys_scanned, result.acked, result.failed, runs_,
      kills_, restarts_, aborted_ ? ", aborted" : "", net_.now());
  result.aborted = aborted_;
  return result;
}

}  // namespace

SimResult RunSimulation(const SimOptions& options) { return World(options).Run(); }

}  // namespace rl::migration::sim
