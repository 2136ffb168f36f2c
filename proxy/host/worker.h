// A worker: one thread, one libuv loop, and for each pool it serves a listener, its clients and
// its own pipelined backend connections (see the diagram in proxy/io/client_conn.h). Workers share
// nothing on the data path; they meet only in SharedState's counters and the immutable topology
// snapshots they are given. Other threads reach a worker only through its mailbox (Post).
// Thread safety: everything runs on the worker's thread except Start/Stop/Join/Post.
#pragma once

#include <uv.h>

#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "proxy/base/chunk.h"
#include "proxy/base/mailbox.h"
#include "proxy/base/read_buffer.h"
#include "proxy/base/uv_handle.h"
#include "proxy/base/write_batch.h"
#include "proxy/host/shared_state.h"
#include "proxy/io/request.h"
#include "proxy/route/route_stats.h"

namespace rl::proxy {

class ClientConn;
class ServerConn;
class PoolRouter;

class Topology;

// What a worker needs to serve one pool.
struct PoolSetup {
  std::shared_ptr<const Topology> topology;  // the pool's first snapshot
  int listen_fd = -1;  // this worker's listening socket for the pool; -1: does not accept
  bool listen_unix = false;
  std::string client_password;  // empty: no client-side AUTH
  // The pool's open client connections, one counter shared by every worker's setup of the pool
  // (client_connections bounds it).
  std::shared_ptr<std::atomic<uint32_t>> clients;
};

class Worker {
 public:
  Worker(int index, SharedState* shared);
  ~Worker();  // REQUIRES: Join() returned, or Start() was never called
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Creates the loop, its mailbox, listeners and backends (connecting those with preconnect).
  // Called on the constructing thread before Start(). On failure returns a message.
  std::expected<void, std::string> Init(std::vector<PoolSetup> pools);
  // Runs the loop on a new thread until Stop() has drained it; then `finished()` runs on that
  // thread, as its last act.
  void Start(std::function<void()> finished = {});
  // Thread-safe: stop accepting, let in-flight requests finish (up to options.shutdown_grace),
  // then close everything and end the loop.
  void Stop();
  void Join();
  // Thread-safe: runs `fn` on the worker's thread, between requests. Returns false (dropping
  // fn, whose captures are destroyed) once the worker has finished.
  bool Post(Mailbox::Closure fn) { return mailbox_.Post(std::move(fn)); }

  // The worker's router for the pool named `name`, or nullptr when it does not serve it.
  PoolRouter* FindPool(std::string_view name);
  // Loop thread: a sample of every pool's counters and queues, for the stats port.
  std::vector<PoolSample> SampleStats() const;

  // --- for the worker's own objects (loop thread only) ---
  uv_loop_t* loop() { return &loop_; }
  int index() const { return index_; }
  SharedState& shared() { return *shared_; }
  const ProxyOptions& options() const { return shared_->options; }
  WorkerStats& stats() { return *shared_->stats[index_]; }
  ChunkPool& chunks() { return chunks_; }
  RequestPool& requests() { return requests_; }
  SharedReadChunk& shared_read() { return shared_read_; }
  bool stopping() const { return stopping_; }
  uint64_t now_ms() { return uv_now(&loop_); }

  // Reusable scratch space (cleared by the user; never held across calls).
  WriteBatch& write_batch() { return write_batch_; }
  std::vector<std::string_view>& argv_scratch() { return argv_scratch_; }

  // Connections with something to write are flushed once per loop iteration, after all reads
  // of the iteration: requests from many clients go out in one writev per server.
  void MarkDirty(ClientConn* c);
  void MarkDirty(ServerConn* s);
  void ForgetDirty(ClientConn* c);
  void ForgetDirty(ServerConn* s);

  void AddClient(ClientConn* c);
  void RemoveClient(ClientConn* c);  // from the close callback
  // A pool has a client_timeout: from now on every client is checked every kClientSweepMs
  // (ClientConn::CloseIfTimedOut). Idempotent.
  void EnsureClientSweep();
  static constexpr uint64_t kClientSweepMs = 100;
  size_t client_count() const { return clients_; }

  // Over the process's client_memory_limit: evicts this worker's largest clients until it is
  // back under (ClientConn::Evict). Cheap when under: one atomic load.
  void EnforceMemoryBudget();

  // A request's reply is final: deliver it to its client, or merge it into its parent, or drop
  // it if its client went away.
  void Complete(Request* r);
  void Release(Request* r) { requests_.Free(r); }

 private:
  static void OnFlush(uv_check_t* h);
  static void OnPrepare(uv_prepare_t* h);
  static void OnGraceTimer(uv_timer_t* h);
  static void OnClientSweep(uv_timer_t* h);
  void FlushAll();
  void BeginDrain();
  // Ends the loop once every client is gone (or at once when `force`).
  void MaybeFinish(bool force);

  int index_;
  SharedState* shared_;
  uv_loop_t loop_{};
  bool loop_initialized_ = false;
  std::thread thread_;
  ChunkPool chunks_;
  RequestPool requests_;
  SharedReadChunk shared_read_;
  std::vector<std::unique_ptr<PoolRouter>> pools_;
  Mailbox mailbox_;  // Stop() and the control loop's work arrive here
  UvHandle<uv_check_t> check_;
  UvHandle<uv_prepare_t> prepare_;
  UvHandle<uv_timer_t> grace_timer_;
  UvHandle<uv_timer_t> sweep_timer_;  // see EnsureClientSweep
  std::vector<ClientConn*> dirty_clients_;
  std::vector<ServerConn*> dirty_servers_;
  WriteBatch write_batch_;
  std::vector<std::string_view> argv_scratch_;
  ClientConn* client_list_ = nullptr;  // intrusive, through ClientConn::prev_/next_
  size_t clients_ = 0;
  bool stopping_ = false;
  bool finished_ = false;
};

}  // namespace rl::proxy
