// The migration simulator's world: a virtual clock, one event queue ordered by (time, a seeded
// tie-break), fake Redis servers, and a Backend per actor (a client, a migrator run) whose
// operations execute atomically at a seeded latency, with injected failures: connection errors
// before or after an operation ran, MIGRATE IOERR part-way through, servers restarting.
// Used by tests/migration only. Thread safety: single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <vector>

#include "proxy/migration/backend.h"
#include "tests/migration/fake_redis.h"

namespace rl::migration::sim {

struct Faults {
  uint32_t op_error_pct = 0;       // an operation fails with a connection error (half of them
                                   // after running: the reply was lost)
  uint32_t migrate_ioerr_pct = 0;  // MIGRATE fails with IOERR part-way
  uint32_t max_latency_ms = 3;
};

class SimNet {
 public:
  SimNet(uint32_t seed, Faults faults) : rng_(seed), faults_(faults) {}

  uint64_t now() const { return now_; }
  std::mt19937_64& rng() { return rng_; }
  uint64_t Rand(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool Chance(uint32_t pct) { return Rand(100) < pct; }

  FakeServer& AddServer(ServerId id);
  std::vector<std::string>* log = nullptr;
  FakeServer& server(ServerId id) { return *servers_.at(id); }
  const std::map<ServerId, std::unique_ptr<FakeServer>>& servers() const { return servers_; }

  void At(uint64_t delay_ms, std::function<void()> fn);
  // Runs events until none is left or `stop()` is true; false when the event budget ran out.
  bool RunUntil(const std::function<bool()>& stop, uint64_t max_events);

  // An operation of `actor` on `server`: exec(deliver) runs it atomically at a seeded latency
  // (deliver false: its reply is lost and fail gets a timeout); fail alone when it did not run.
  void Submit(int actor, ServerId server, std::function<void(bool deliver)> exec,
              std::function<void(Error)> fail);
  // Drops every operation of `actor` not yet executed (a fence at the servers).
  void DropPending(int actor);
  // Each operation of `actor` not yet executed is dropped with probability pct.
  void DropSomePending(int actor, uint32_t pct);
  size_t PendingOf(int actor) const;
  const Faults& faults() const { return faults_; }

 private:
  struct Event {
    uint64_t time;
    uint64_t tie;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const {
      if (time != o.time) return time > o.time;
      if (tie != o.tie) return tie > o.tie;
      return seq > o.seq;
    }
  };
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  std::mt19937_64 rng_;
  Faults faults_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::map<ServerId, std::unique_ptr<FakeServer>> servers_;
  std::map<uint64_t, int> pending_;  // op id -> actor
  uint64_t next_op_ = 1;
};

class SimClock : public Clock {
 public:
  explicit SimClock(SimNet& net) : net_(net) {}
  uint64_t NowMs() const override { return net_.now(); }
  void After(uint64_t delay_ms, std::function<void()> fn) override {
    net_.At(delay_ms, std::move(fn));
  }

 private:
  SimNet& net_;
};

class SimBackend : public Backend {
 public:
  SimBackend(SimNet& net, int actor) : net_(net), actor_(actor) {}

  void Scan(ServerId server, uint64_t cursor, uint32_t count, Callback<ScanPage> done) override;
  void Migrate(ServerId from, ServerId to, std::vector<std::string> keys, bool replace,
               Callback<MigrateOutcome> done) override;
  void RunIfExists(ServerId server, std::string key, Command command,
                   Callback<std::optional<Reply>> done) override;
  void Run(ServerId server, Command command, Callback<Reply> done) override;
  void CheckGate(ServerId server, std::string key, Callback<GateOutcome> done) override;
  void GatedDelete(ServerId server, std::string key, Callback<GateOutcome> done) override;
  void Delete(ServerId server, std::string key, Callback<bool> done) override;
  void Exists(ServerId server, std::string key, Callback<bool> done) override;
  void MarkInFlight(ServerId server, std::string key, std::string token,
                    Callback<bool> done) override;
  void GetMarker(ServerId server, std::string key,
                 Callback<std::optional<std::string>> done) override;
  void ReadChunk(ServerId server, std::string key, KeyType type, uint64_t cursor, uint32_t count,
                 Callback<Chunk> done) override;
  void AppendChunk(ServerId server, std::string staging, KeyType type,
                   std::vector<std::string> elements, Callback<Done> done) override;
  void Pttl(ServerId server, std::string key, Callback<int64_t> done) override;
  void InstallStaged(ServerId server, std::string staging, std::string key, int64_t pttl,
                     Callback<InstallOutcome> done) override;
  void FinishInFlight(ServerId server, std::string key, std::string token, bool delete_key,
                      Callback<bool> done) override;

 private:
  // Runs fn(server) as one atomic operation and hands its result to done.
  template <class T>
  void Op(ServerId server, std::function<T(FakeServer&)> fn, Callback<T> done);

  SimNet& net_;
  int actor_;
};

}  // namespace rl::migration::sim
