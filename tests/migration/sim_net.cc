// The simulator's event loop, fault injection and per-actor backends (see sim_net.h).
#include "tests/migration/sim_net.h"

#include <utility>

namespace rl::migration::sim {

FakeServer& SimNet::AddServer(ServerId id) {
  auto& s = servers_[id];
  s = std::make_unique<FakeServer>(&now_);
  s->log = log;
  s->id = id;
  return *s;
}

void SimNet::At(uint64_t delay_ms, std::function<void()> fn) {
  events_.push(Event{now_ + delay_ms, rng_(), seq_++, std::move(fn)});
}

bool SimNet::RunUntil(const std::function<bool()>& stop, uint64_t max_events) {
  for (uint64_t n = 0; n < max_events; ++n) {
    if (stop()) return true;
    if (events_.empty()) return true;
    Event e = events_.top();
    events_.pop();
    now_ = e.time;
    e.fn();
  }
  return false;
}

void SimNet::Submit(int actor, ServerId server, std::function<void(bool deliver)> exec,
                    std::function<void(Error)> fail) {
  uint64_t id = next_op_++;
  pending_[id] = actor;
  At(Rand(faults_.max_latency_ms + 1),
     [this, id, server, exec = std::move(exec), fail = std::move(fail)] {
       if (pending_.erase(id) == 0) return;  // dropped by a fence
       if (!servers_.at(server)->up) {
         return fail(Error{ErrorKind::kConnection, "connection refused"});
       }
       if (Chance(faults_.op_error_pct)) {
         // Half of the failures happen after the server ran the command: its reply was lost.
         if (Chance(50)) exec(false);
         return fail(Error{ErrorKind::kTimeout, "timeout"});
       }
       exec(true);
     });
}

void SimNet::DropPending(int actor) { DropSomePending(actor, 100); }

void SimNet::DropSomePending(int actor, uint32_t pct) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second == actor && Chance(pct)) {
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t SimNet::PendingOf(int actor) const {
  size_t n = 0;
  for (const auto& [id, a] : pending_) n += a == actor ? 1 : 0;
  return n;
}

template <class T>
void SimBackend::Op(ServerId server, std::function<T(FakeServer&)> fn, Callback<T> done) {
  SimNet* net = &net_;
  net_.Submit(
      actor_, server,
      [net, server, fn, done](bool deliver) {
        T r = fn(net->server(server));
        if (deliver) done(std::move(r));
      },
      [done](Error e) { done(std::unexpected(std::move(e))); });
}

void SimBackend::Scan(ServerId server, uint64_t cursor, uint32_t count, Callback<ScanPage> done) {
  Op<ScanPage>(
      server, [=](FakeServer& s) { return s.Scan(cursor, count); }, std::move(done));
}

// Redis 7's MIGRATE: keys absent on the source are skipped (all absent: NOKEY); a key the target
// has already is refused with BUSYKEY unless REPLACE and stays on the source; every other key is
// restored on the target and deleted on the source. An injected IOERR stops part-way: the first
// keys moved, the next ones restored on the target but still on the source (the reply was
// lost), the rest untouched.
void SimBackend::Migrate(ServerId from, ServerId to, std::vector<std::string> keys, bool replace,
                         Callback<MigrateOutcome> done) {
  SimNet* net = &net_;
  Op<MigrateOutcome>(
      from,
      [net, to, keys, replace](FakeServer& src) {
        FakeServer& dst = net->server(to);
        bool ioerr = !dst.up || net->Chance(net->faults().migrate_ioerr_pct);
        size_t moved_until = keys.size();
        size_t copied_until = keys.size();
        if (ioerr) {
          if (!dst.up) {
            moved_until = copied_until = 0;
          } else {
            moved_until = net->Rand(keys.size() + 1);
            copied_until = moved_until + net->Rand(keys.size() - moved_until + 1);
          }
        }
        bool any = false;
        bool busy = false;
        for (size_t i = 0; i < copied_until; ++i) {
          const Value* v = src.Find(keys[i]);
          if (v == nullptr) continue;
          any = true;
          if (!replace && dst.Exists(keys[i])) {
            busy = true;
            continue;
          }
          dst.Put(keys[i], *v);
          if (i < moved_until) src.Erase(keys[i]);
        }
        if (ioerr) return MigrateOutcome::kIoErr;
        if (busy) return MigrateOutcome::kBusyKey;
        return any ? MigrateOutcome::kOk : MigrateOutcome::kNoKey;
      },
      std::move(done));
}

void SimBackend::RunIfExists(ServerId server, std::string key, Command command,
                             Callback<std::optional<Reply>> done) {
  Op<std::optional<Reply>>(
      server,
      [key, command](FakeServer& s) -> std::optional<Reply> {
        if (!s.Exists(key)) return std::nullopt;
        return s.Execute(command);
      },
      std::move(done));
}

void SimBackend::Run(ServerId server, Command command, Callback<Reply> done) {
  Op<Reply>(
      server, [command](FakeServer& s) { return s.Execute(command); }, std::move(done));
}

void SimBackend::CheckGate(ServerId server, std::string key, Callback<GateOutcome> done) {
  Op<GateOutcome>(
      server,
      [key](FakeServer& s) {
        return s.Exists(MarkerKey(key)) ? GateOutcome::kInFlight : GateOutcome::kDone;
      },
      std::move(done));
}

void SimBackend::GatedDelete(ServerId server, std::string key, Callback<GateOutcome> done) {
  Op<GateOutcome>(
      server,
      [key](FakeServer& s) {
        if (s.Exists(MarkerKey(key))) return GateOutcome::kInFlight;
        return s.Erase(key) ? GateOutcome::kDone : GateOutcome::kAbsent;
      },
      std::move(done));
}

void SimBackend::Delete(ServerId server, std::string key, Callback<bool> done) {
  Op<bool>(
      server, [key](FakeServer& s) { return s.Erase(key); }, std::move(done));
}

void SimBackend::Exists(ServerId server, std::string key, Callback<bool> done) {
  Op<bool>(
      server, [key](FakeServer& s) { return s.Exists(key); }, std::move(done));
}

void SimBackend::MarkInFlight(ServerId server, std::string key, std::string token,
                              Callback<bool> done) {
  Op<bool>(
      server,
      [key, token](FakeServer& s) {
        if (!s.Exists(key)) return false;
        Value m;
        m.str = token;
        s.Put(MarkerKey(key), m);
        return true;
      },
      std::move(done));
}

void SimBackend::GetMarker(ServerId server, std::string key,
                           Callback<std::optional<std::string>> done) {
  Op<std::optional<std::string>>(
      server,
      [key](FakeServer& s) -> std::optional<std::string> {
        const Value* m = s.Find(MarkerKey(key));
        if (m == nullptr) return std::nullopt;
        return m->str;
      },
      std::move(done));
}

void SimBackend::ReadChunk(ServerId server, std::string key, KeyType, uint64_t cursor,
                           uint32_t count, Callback<Chunk> done) {
  Op<Chunk>(
      server, [=](FakeServer& s) { return s.ReadChunk(key, cursor, count); }, std::move(done));
}

void SimBackend::AppendChunk(ServerId server, std::string staging, KeyType,
                             std::vector<std::string> elements, Callback<Done> done) {
  Op<Done>(
      server,
      [staging, elements](FakeServer& s) {
        s.AppendChunk(staging, elements);
        return Done{};
      },
      std::move(done));
}

void SimBackend::Pttl(ServerId server, std::string key, Callback<int64_t> done) {
  Op<int64_t>(
      server, [key](FakeServer& s) { return s.Pttl(key); }, std::move(done));
}

void SimBackend::InstallStaged(ServerId server, std::string staging, std::string key, int64_t pttl,
                               Callback<InstallOutcome> done) {
  Op<InstallOutcome>(
      server, [=](FakeServer& s) { return s.InstallStaged(staging, key, pttl); }, std::move(done));
}

void SimBackend::FinishInFlight(ServerId server, std::string key, std::string token,
                                bool delete_key, Callback<bool> done) {
  Op<bool>(
      server, [=](FakeServer& s) { return s.FinishInFlight(key, token, delete_key); },
      std::move(done));
}

}  // namespace rl::migration::sim
