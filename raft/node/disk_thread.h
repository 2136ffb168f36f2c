// DiskThread: runs a node's Storage writes (snapshot, entries, hard state, then Sync) on a thread
// of its own, so an fsync never stalls the loop; each job's completion is posted back to the
// loop (uv_async) and its callback runs there, in submission order. The node sends a Ready's
// messages only from that callback: they leave once what they promise is durable.
// Thread safety: Submit and Stop on the loop thread; the Storage is touched only by the worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "raft/storage.h"
#include "uv.h"

namespace rl::raft {

// One Ready's durable part, written in raft/README's order: snapshot, entries, hard state, Sync.
struct DiskJob {
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  std::optional<HardState> hard_state;
  // hard_state differs from the durable one only in its commit index (Raft's volatile state):
  // the job is done once its entries are durable, and the hard state is written by itself
  // within kLazyHardStateDelay (before the next job when that has passed; a later non-lazy hard
  // state supersedes it). Its atomic file write costs more fsyncs than the log's, and every
  // acknowledgment would wait for it. A crash loses at most that much commit-index progress,
  // which the leader hands out again.
  bool hard_state_lazy = false;
};

inline constexpr std::chrono::milliseconds kLazyHardStateDelay{20};

class DiskThread {
 public:
  using Done = std::function<void(StorageResult<>)>;

  // Starts the worker. REQUIRES: `storage` has been Load()ed; `loop` outlives Stop().
  DiskThread(uv_loop_t* loop, std::unique_ptr<Storage> storage);
  // Stops the worker (after the jobs already submitted) if Stop was not called.
  ~DiskThread();
  DiskThread(const DiskThread&) = delete;
  DiskThread& operator=(const DiskThread&) = delete;

  // Queues `job`; `done` runs on the loop once it is durable (or with the first error: the
  // storage is then unusable and the node must stop).
  void Submit(DiskJob job, Done done);
  // Finishes the queued jobs, joins the worker, runs their callbacks, and closes the async
  // handle (freed in its close callback, on a later turn of the loop).
  void Stop();

  size_t pending() const { return pending_; }

 private:
  struct Shared;  // the async handle and the queues; freed by the handle's close callback
  void Work();

  Shared* shared_;
  std::thread worker_;
  size_t pending_ = 0;  // submitted, callback not yet run (loop thread only)
  bool stopped_ = false;
};

}  // namespace rl::raft
