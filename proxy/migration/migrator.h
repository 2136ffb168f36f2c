// The background migrator of a ring change: SCANs each source server, moves the keys the target
// ring gives to another server (MIGRATE ... KEYS in throttled batches, big values in chunks
// behind an in-flight marker), checkpoints after every page, and ends with verify passes over
// every server that must find nothing left. Runs on the Raft leader's control loop; a new
// leader resumes from the last committed checkpoint. Pure over Backend and Clock.
// Thread safety: one loop; destroy it to stop it (pending completions are then ignored).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "proxy/migration/backend.h"
#include "proxy/migration/key_router.h"
#include "proxy/migration/state.h"

namespace rl::migration {

struct MigratorOptions {
  uint32_t scan_count = 200;     // SCAN COUNT
  uint32_t batch_keys = 100;     // keys per MIGRATE ... KEYS
  uint64_t keys_per_second = 0;  // 0: unthrottled
  uint64_t bytes_per_second = 0;
  // A hash, set, zset or list with more elements than this moves in chunks of chunk_elements,
  // so that no single command blocks a server for long.
  uint64_t big_value_elements = 1024;
  uint32_t chunk_elements = 256;
  // Connection errors, timeouts and IOERR are retried every retry_delay_ms, at most max_retries
  // times in a row, then the run stops with the error (resumable from its checkpoint).
  uint64_t retry_delay_ms = 20;
  uint32_t max_retries = 50;
  uint32_t max_verify_rounds = 8;
  PlantedBug bug = PlantedBug::kNone;
};

// The checkpoint a migration starts from: every server of `from` that holds keys `to` gives to
// another server, cursor 0 (servers that only receive keys need no scan until verify).
Checkpoint InitialCheckpoint(uint64_t target_epoch, const RingView& from, const RingView& to);

class Migrator {
 public:
  // commit(c, committed): the host commits `c` (through Raft) and calls committed() once it is
  // durable; a leader that lost leadership never calls it, and the migrator then waits.
  using CommitFn = std::function<void(const Checkpoint&, std::function<void()> committed)>;

  // `done` gets the final checkpoint (verified == true) or the error that stopped the run.
  Migrator(Backend& backend, Clock& clock, RingView from, RingView to, Checkpoint start,
           MigratorOptions options, CommitFn commit, Callback<Checkpoint> done);
  ~Migrator();
  Migrator(const Migrator&) = delete;
  Migrator& operator=(const Migrator&) = delete;

  // Recovers a big value left in flight by an earlier run, then runs.
  void Start();
  // Only settles the in-flight record of the checkpoint, then calls done (with the checkpoint).
  // An abort runs this with the forward rings during the reverse change's PREPARE, before any
  // request routes by the reverse rules: those would not see the forward marker and could
  // write the source while a copy sits on the target.
  void Settle();
  // RINGLEADER MIGRATION PAUSE|RESUME: pause takes effect between pages and batches.
  void Pause();
  void Resume();
  const Checkpoint& progress() const { return cp_; }

 private:
  struct Page;
  struct Big;

  void Loop();
  void EndPass();
  void ScanSource(size_t s);
  void ProcessPage(size_t s, std::shared_ptr<Page> page);
  void RunBatches(size_t s, std::shared_ptr<Page> page, size_t batch);
  void MoveOneByOne(size_t s, std::shared_ptr<Page> page, size_t batch, size_t i, bool replace,
                    uint32_t tries);
  void RunBigs(size_t s, std::shared_ptr<Page> page, size_t i);
  void RunRecoveries(size_t s, std::shared_ptr<Page> page, size_t i);
  void RunStaleStaging(size_t s, std::shared_ptr<Page> page, size_t i);
  void FinishPage(size_t s, std::shared_ptr<Page> page);

  void MoveBig(size_t s, std::shared_ptr<Big> big, std::function<void()> next);
  void CopyChunk(size_t s, std::shared_ptr<Big> big, uint64_t cursor, std::function<void()> next);
  void Install(size_t s, std::shared_ptr<Big> big, std::function<void()> next);
  void AbandonBig(size_t s, std::shared_ptr<Big> big, std::function<void()> next);
  void ClearInFlight(size_t s, std::function<void()> next);
  // Settles a key whose marker is on `server`: the copy on the target is complete if the target
  // has the key (then the source's is deleted), else the partial staging is dropped.
  // `target` is where the copy went: the checkpoint's record for a recorded attempt, else the
  // target ring's owner.
  void Recover(ServerId server, std::string key, ServerId target, std::function<void()> next);

  void Commit(std::function<void()> next);
  void Throttle(uint64_t keys, uint64_t bytes, std::function<void()> next);
  // Runs op, retrying backend errors; stops the run when they persist.
  template <class T>
  void Retry(std::function<void(Callback<T>)> op, std::function<void(T)> then, uint32_t tries = 0);
  void Stop(const Error& e);
  // Wraps a continuation so that it does nothing once this migrator is destroyed.
  std::function<void()> Guard(std::function<void()> fn);

  Backend& backend_;
  Clock& clock_;
  RingView from_;
  RingView to_;
  Checkpoint cp_;
  MigratorOptions options_;
  CommitFn commit_;
  Callback<Checkpoint> done_;
  std::shared_ptr<bool> alive_;
  bool paused_ = false;
  bool parked_ = false;  // Loop returned because of a pause
  bool finished_ = false;
  bool settle_only_ = false;
  uint64_t next_free_ms_ = 0;
};

}  // namespace rl::migration
