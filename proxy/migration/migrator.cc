// The background migrator (see migrator.h and README.md for the protocol and why it is safe).
// Everything runs as continuations on one loop: a page is scanned, its work done in order
// (markers left by an earlier run, stale staging keys, small keys in batches, big values one by
// one), then the cursor is committed and the next page scanned.
#include "proxy/migration/migrator.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace rl::migration {

struct Migrator::Page {
  uint64_t next_cursor = 0;
  std::vector<std::string> recover;        // client keys whose marker is on this server
  std::vector<std::string> stale_staging;  // staging keys of moves that were abandoned
  std::vector<std::pair<ServerId, std::vector<ScannedKey>>> batches;
  std::vector<ScannedKey> bigs;
};

struct Migrator::Big {
  ScannedKey key;
  ServerId source = 0;
  ServerId target = 0;
  std::string token;
  std::string staging;
};

namespace {

bool IsCollection(KeyType t) {
  return t == KeyType::kHash || t == KeyType::kSet || t == KeyType::kZset || t == KeyType::kList;
}

std::vector<ServerId> Servers(const RingView& a, const RingView& b) {
  std::set<ServerId> all(a.ids.begin(), a.ids.end());
  all.insert(b.ids.begin(), b.ids.end());
  return {all.begin(), all.end()};
}

}  // namespace

Checkpoint InitialCheckpoint(uint64_t target_epoch, const RingView& from, const RingView& to) {
  Checkpoint cp;
  cp.epoch = target_epoch;
  std::set<ServerId> sources;
  std::vector<ring::MovedRange> moved = ring::Diff(*from.ring, *to.ring);
  for (const ring::MovedRange& r : moved) {
    if (r.old_member == ring::kAnyMember) {
      sources.insert(from.ids.begin(), from.ids.end());
    } else {
      sources.insert(from.ids[r.old_member]);
    }
  }
  // A server that leaves the ring gives away all it holds, whatever Diff says of its arcs.
  std::set<ServerId> kept(to.ids.begin(), to.ids.end());
  for (ServerId id : from.ids) {
    if (!kept.contains(id)) sources.insert(id);
  }
  for (ServerId id : sources) cp.sources.push_back(SourceProgress{id, 0, false, std::nullopt});
  return cp;
}

Migrator::Migrator(Backend& backend, Clock& clock, RingView from, RingView to, Checkpoint start,
                   MigratorOptions options, CommitFn commit, Callback<Checkpoint> done)
    : backend_(backend),
      clock_(clock),
      from_(std::move(from)),
      to_(std::move(to)),
      cp_(std::move(start)),
      options_(options),
      commit_(std::move(commit)),
      done_(std::move(done)),
      alive_(std::make_shared<bool>(true)) {}

Migrator::~Migrator() { *alive_ = false; }

std::function<void()> Migrator::Guard(std::function<void()> fn) {
  return [alive = alive_, fn = std::move(fn)] {
    if (*alive) fn();
  };
}

void Migrator::Start() {
  // In-flight records first: a big value the previous leader was moving when it stopped.
  for (size_t s = 0; s < cp_.sources.size(); ++s) {
    if (!cp_.sources[s].in_flight) continue;
    InFlight f = *cp_.sources[s].in_flight;
    ServerId server = cp_.sources[s].server;
    // The staging key of the recorded attempt goes whether or not its marker was set.
    Retry<bool>(
        [this, f](Callback<bool> cb) {
          backend_.Delete(f.target, StagingKey(f.token, f.key), std::move(cb));
        },
        [this, s, server, f](bool) {
          Recover(server, f.key, f.target, [this, s] { ClearInFlight(s, [this] { Start(); }); });
        });
    return;
  }
  if (settle_only_) {
    finished_ = true;
    auto done = std::move(done_);
    return done(cp_);
  }
  Loop();
}

void Migrator::Settle() {
  settle_only_ = true;
  Start();
}

void Migrator::Pause() { paused_ = true; }

void Migrator::Resume() {
  paused_ = false;
  if (parked_) {
    parked_ = false;
    Loop();
  }
}

void Migrator::Stop(const Error& e) {
  if (finished_) return;
  finished_ = true;
  auto done = std::move(done_);
  done(std::unexpected(e));
}

template <class T>
void Migrator::Retry(std::function<void(Callback<T>)> op, std::function<void(T)> then,
                     uint32_t tries) {
  op([this, alive = alive_, op, then, tries](Result<T> r) {
    if (!*alive) return;
    if (r) return then(std::move(*r));
    if (tries + 1 > options_.max_retries) return Stop(r.error());
    clock_.After(options_.retry_delay_ms,
                 Guard([this, op, then, tries] { Retry<T>(op, then, tries + 1); }));
  });
}

void Migrator::Commit(std::function<void()> next) { commit_(cp_, Guard(std::move(next))); }

void Migrator::Throttle(uint64_t keys, uint64_t bytes, std::function<void()> next) {
  uint64_t cost = 0;
  if (options_.keys_per_second > 0) cost = std::max(cost, keys * 1000 / options_.keys_per_second);
  if (options_.bytes_per_second > 0) {
    cost = std::max(cost, bytes * 1000 / options_.bytes_per_second);
  }
  uint64_t now = clock_.NowMs();
  uint64_t start = std::max(now, next_free_ms_);
  next_free_ms_ = start + cost;
  if (start == now) return next();
  clock_.After(start - now, Guard(std::move(next)));
}

void Migrator::Loop() {
  if (finished_) return;
  if (paused_) {
    parked_ = true;
    return;
  }
  for (size_t s = 0; s < cp_.sources.size(); ++s) {
    if (!cp_.sources[s].done) return ScanSource(s);
  }
  EndPass();
}

// After the moving pass, verify passes scan every server of both rings; a pass that found
// nothing to do (no key on a server the target ring does not give it, no marker, no staging
// key) ends the migration.
void Migrator::EndPass() {
  bool skip_verify = options_.bug == PlantedBug::kTrustBatchIoErr;
  if ((cp_.verify_round > 0 && cp_.found_in_round == 0) || skip_verify) {
    cp_.verified = true;
    return Commit([this] {
      finished_ = true;
      auto done = std::move(done_);
      done(cp_);
    });
  }
  if (cp_.verify_round >= options_.max_verify_rounds) {
    return Stop(Error{ErrorKind::kServer, "verify keeps finding keys to move"});
  }
  ++cp_.verify_round;
  cp_.found_in_round = 0;
  cp_.sources.clear();
  for (ServerId id : Servers(from_, to_)) {
    cp_.sources.push_back(SourceProgress{id, 0, false, std::nullopt});
  }
  Commit([this] { Loop(); });
}

void Migrator::ScanSource(size_t s) {
  ServerId server = cp_.sources[s].server;
  uint64_t cursor = cp_.sources[s].cursor;
  Retry<ScanPage>(
      [this, server, cursor](Callback<ScanPage> cb) {
        backend_.Scan(server, cursor, options_.scan_count, std::move(cb));
      },
      [this, s](ScanPage page) {
        auto work = std::make_shared<Page>();
        work->next_cursor = page.next_cursor;
        ServerId server = cp_.sources[s].server;
        std::map<ServerId, std::vector<ScannedKey>> small;
        for (ScannedKey& k : page.keys) {
          ++cp_.keys_scanned;
          if (IsInternalKey(k.key)) {
            if (auto client_key = KeyOfMarker(k.key)) {
              work->recover.push_back(*client_key);
            } else {
              work->stale_staging.push_back(k.key);
            }
            continue;
          }
          ServerId owner = to_.Owner(k.key);
          if (owner == server) continue;
          if (IsCollection(k.type) && k.elements > options_.big_value_elements) {
            work->bigs.push_back(std::move(k));
          } else {
            small[owner].push_back(std::move(k));
          }
        }
        for (auto& [dst, keys] : small) {
          for (size_t i = 0; i < keys.size(); i += options_.batch_keys) {
            size_t end = std::min(keys.size(), i + options_.batch_keys);
            work->batches.emplace_back(
                dst, std::vector<ScannedKey>(keys.begin() + i, keys.begin() + end));
          }
        }
        if (cp_.verify_round > 0) {
          cp_.found_in_round +=
              work->recover.size() + work->stale_staging.size() + work->bigs.size();
          for (auto& b : work->batches) cp_.found_in_round += b.second.size();
        }
        ProcessPage(s, std::move(work));
      });
}

void Migrator::ProcessPage(size_t s, std::shared_ptr<Page> page) { RunRecoveries(s, page, 0); }

void Migrator::RunRecoveries(size_t s, std::shared_ptr<Page> page, size_t i) {
  if (i == page->recover.size()) return RunStaleStaging(s, page, 0);
  const std::string& key = page->recover[i];
  Recover(cp_.sources[s].server, key, to_.Owner(key),
          [this, s, page, i] { RunRecoveries(s, page, i + 1); });
}

void Migrator::RunStaleStaging(size_t s, std::shared_ptr<Page> page, size_t i) {
  if (i == page->stale_staging.size()) return RunBatches(s, page, 0);
  ServerId server = cp_.sources[s].server;
  std::string key = page->stale_staging[i];
  Retry<bool>([this, server, key](Callback<bool> cb) { backend_.Delete(server, key, cb); },
              [this, s, page, i](bool) { RunStaleStaging(s, page, i + 1); });
}

void Migrator::RunBatches(size_t s, std::shared_ptr<Page> page, size_t batch) {
  if (batch == page->batches.size()) return RunBigs(s, page, 0);
  const auto& [dst, keys] = page->batches[batch];
  uint64_t bytes = 0;
  std::vector<std::string> names;
  for (const ScannedKey& k : keys) {
    bytes += k.bytes;
    names.push_back(k.key);
  }
  ServerId src = cp_.sources[s].server;
  ServerId to = dst;
  Throttle(keys.size(), bytes, [this, s, page, batch, src, to, names, bytes] {
    Retry<MigrateOutcome>(
        [this, src, to, names](Callback<MigrateOutcome> cb) {
          backend_.Migrate(src, to, names, false, std::move(cb));
        },
        [this, s, page, batch, bytes, n = names.size()](MigrateOutcome outcome) {
          if (outcome == MigrateOutcome::kOk || outcome == MigrateOutcome::kNoKey) {
            if (outcome == MigrateOutcome::kOk) {
              cp_.keys_moved += n;
              cp_.bytes_moved += bytes;
            }
            return RunBatches(s, page, batch + 1);
          }
          if (options_.bug == PlantedBug::kTrustBatchIoErr) return RunBatches(s, page, batch + 1);
          // Some keys may be on both servers or still on the source: settle each one.
          MoveOneByOne(s, page, batch, 0, false, 0);
        });
  });
}

// One key at a time after a batch failed: NOKEY and OK are final; BUSYKEY means the target
// holds an identical copy (see plan_executor.cc) and REPLACE settles it; IOERR is retried,
// never taken for "moved" or "absent".
void Migrator::MoveOneByOne(size_t s, std::shared_ptr<Page> page, size_t batch, size_t i,
                            bool replace, uint32_t tries) {
  const auto& [dst, keys] = page->batches[batch];
  if (i == keys.size()) return RunBatches(s, page, batch + 1);
  ServerId src = cp_.sources[s].server;
  std::string key = keys[i].key;
  uint64_t bytes = keys[i].bytes;
  Retry<MigrateOutcome>(
      [this, src, to = dst, key, replace](Callback<MigrateOutcome> cb) {
        backend_.Migrate(src, to, {key}, replace, std::move(cb));
      },
      [this, s, page, batch, i, replace, tries, bytes](MigrateOutcome outcome) {
        switch (outcome) {
          case MigrateOutcome::kOk:
            ++cp_.keys_moved;
            cp_.bytes_moved += bytes;
            [[fallthrough]];
          case MigrateOutcome::kNoKey:
            return MoveOneByOne(s, page, batch, i + 1, false, 0);
          case MigrateOutcome::kBusyKey:
            if (replace) return Stop(Error{ErrorKind::kServer, "BUSYKEY after REPLACE"});
            return MoveOneByOne(s, page, batch, i, true, tries);
          case MigrateOutcome::kIoErr:
            if (tries + 1 > options_.max_retries) {
              return Stop(Error{ErrorKind::kServer, "MIGRATE keeps failing with IOERR"});
            }
            clock_.After(options_.retry_delay_ms, Guard([this, s, page, batch, i, replace, tries] {
                           MoveOneByOne(s, page, batch, i, replace, tries + 1);
                         }));
            return;
        }
      });
}

void Migrator::RunBigs(size_t s, std::shared_ptr<Page> page, size_t i) {
  if (i == page->bigs.size()) return FinishPage(s, page);
  auto big = std::make_shared<Big>();
  big->key = page->bigs[i];
  big->source = cp_.sources[s].server;
  big->target = to_.Owner(big->key.key);
  MoveBig(s, big, [this, s, page, i] { RunBigs(s, page, i + 1); });
}

void Migrator::FinishPage(size_t s, std::shared_ptr<Page> page) {
  cp_.sources[s].cursor = page->next_cursor;
  if (page->next_cursor == 0) cp_.sources[s].done = true;
  Commit([this] { Loop(); });
}

// A big value moves in chunks behind a marker on the source: while the marker exists, writers
// and deleters of the key wait (the gate), so the source's value stays as it was when copying
// began; reads keep being served by the source. The steps:
//   1. commit the in-flight record (a new leader knows what to settle);
//   2. mark the key on the source (only if it exists);
//   3. copy chunks into a staging key on the target;
//   4. install: rename the staging key to the key with the source's PTTL (unless the target
//      has the key already: a copy left by an earlier MIGRATE, identical);
//   5. delete the key and the marker on the source (one script, only if the marker is ours).
// From 4 to 5 both servers hold the same value; reads answer from the source until 5.
void Migrator::MoveBig(size_t s, std::shared_ptr<Big> big, std::function<void()> next) {
  big->token = std::to_string(cp_.epoch) + "." + std::to_string(cp_.next_token++);
  big->staging = StagingKey(big->token, big->key.key);
  cp_.sources[s].in_flight = InFlight{big->key.key, big->target, big->token};
  Commit([this, s, big, next] {
    Retry<bool>(
        [this, big](Callback<bool> cb) {
          backend_.MarkInFlight(big->source, big->key.key, big->token, std::move(cb));
        },
        [this, s, big, next](bool marked) {
          if (!marked) return ClearInFlight(s, next);
          Retry<bool>(
              [this, big](Callback<bool> cb) { backend_.Delete(big->target, big->staging, cb); },
              [this, s, big, next](bool) { CopyChunk(s, big, 0, next); });
        });
  });
}

void Migrator::CopyChunk(size_t s, std::shared_ptr<Big> big, uint64_t cursor,
                         std::function<void()> next) {
  Retry<Chunk>(
      [this, big, cursor](Callback<Chunk> cb) {
        backend_.ReadChunk(big->source, big->key.key, big->key.type, cursor,
                           options_.chunk_elements, std::move(cb));
      },
      [this, s, big, next](Chunk chunk) {
        if (!chunk.key_exists) return AbandonBig(s, big, next);
        uint64_t bytes = 0;
        for (const std::string& e : chunk.elements) bytes += e.size();
        uint64_t next_cursor = chunk.next_cursor;
        auto elements = std::make_shared<std::vector<std::string>>(std::move(chunk.elements));
        Throttle(0, bytes, [this, s, big, next, next_cursor, elements] {
          Retry<Done>(
              [this, big, elements](Callback<Done> cb) {
                backend_.AppendChunk(big->target, big->staging, big->key.type, *elements, cb);
              },
              [this, s, big, next, next_cursor](Done) {
                if (next_cursor == 0) return Install(s, big, next);
                CopyChunk(s, big, next_cursor, next);
              });
        });
      });
}

void Migrator::Install(size_t s, std::shared_ptr<Big> big, std::function<void()> next) {
  Retry<int64_t>(
      [this, big](Callback<int64_t> cb) { backend_.Pttl(big->source, big->key.key, cb); },
      [this, s, big, next](int64_t pttl) {
        if (pttl == -2) return AbandonBig(s, big, next);
        // The TTL is relative: what elapsed since the source answered (retries included) is
        // taken off, so the key ends within the install's one-way latency of its old expiry.
        uint64_t read_at = clock_.NowMs();
        Retry<InstallOutcome>(
            [this, big, pttl, read_at](Callback<InstallOutcome> cb) {
              int64_t ttl = pttl;
              if (ttl >= 0) {
                ttl = std::max<int64_t>(1, ttl - static_cast<int64_t>(clock_.NowMs() - read_at));
              }
              if (options_.bug == PlantedBug::kInstallWithoutTtl) ttl = -1;
              backend_.InstallStaged(big->target, big->staging, big->key.key, ttl, cb);
            },
            [this, s, big, next](InstallOutcome outcome) {
              if (outcome == InstallOutcome::kNoStaging) return AbandonBig(s, big, next);
              auto finish = [this, s, big, next] {
                auto after = [this, s, big, next](bool) {
                  ++cp_.keys_moved;
                  cp_.bytes_moved += big->key.bytes;
                  ClearInFlight(s, next);
                };
                Retry<bool>(
                    [this, big](Callback<bool> cb) {
                      backend_.FinishInFlight(big->source, big->key.key, big->token, true, cb);
                    },
                    after);
              };
              if (outcome == InstallOutcome::kInstalled) return finish();
              Retry<bool>(
                  [this, big](Callback<bool> cb) {
                    backend_.Delete(big->target, big->staging, cb);
                  },
                  [finish](bool) { finish(); });
            });
      });
}

// The key left the source while being copied (deleted before the marker, expired, or moved
// whole by a writer that passed the gate just before the marker): drop the copy and the marker.
void Migrator::AbandonBig(size_t s, std::shared_ptr<Big> big, std::function<void()> next) {
  Retry<bool>([this, big](Callback<bool> cb) { backend_.Delete(big->target, big->staging, cb); },
              [this, s, big, next](bool) {
                Retry<bool>(
                    [this, big](Callback<bool> cb) {
                      backend_.FinishInFlight(big->source, big->key.key, big->token, false, cb);
                    },
                    [this, s, next](bool) { ClearInFlight(s, next); });
              });
}

void Migrator::ClearInFlight(size_t s, std::function<void()> next) {
  cp_.sources[s].in_flight.reset();
  Commit(std::move(next));
}

void Migrator::Recover(ServerId server, std::string key, ServerId target,
                       std::function<void()> next) {
  Retry<std::optional<std::string>>(
      [this, server, key](Callback<std::optional<std::string>> cb) {
        backend_.GetMarker(server, key, cb);
      },
      [this, server, key, target, next](std::optional<std::string> token) {
        if (!token) return next();
        std::string t = *token;
        Retry<bool>([this, target, key](Callback<bool> cb) { backend_.Exists(target, key, cb); },
                    [this, server, target, key, t, next](bool installed) {
                      auto finish = [this, server, key, t, installed, next](bool) {
                        Retry<bool>(
                            [this, server, key, t, installed](Callback<bool> cb) {
                              backend_.FinishInFlight(server, key, t, installed, cb);
                            },
                            [next](bool) { next(); });
                      };
                      Retry<bool>(
                          [this, target, key, t](Callback<bool> cb) {
                            backend_.Delete(target, StagingKey(t, key), cb);
                          },
                          finish);
                    });
      });
}

}  // namespace rl::migration
