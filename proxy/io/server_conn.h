// One pipelined connection to a backend Redis (see the diagram in proxy/io/client_conn.h):
// requests wait on a send queue, go out in one writev per loop iteration, then wait on a reply
// queue that replies are matched to in FIFO order; reply bytes are forwarded as read.
// On connect it sends AUTH (redis_auth) and SELECT (redis_db) itself and checks their replies.
// Any failure (refused, reset, garbage) closes it and fails every request it holds with an error
// naming the backend.
//
// Time-outs (the pool's `timeout`) are per request and start once the request is completely
// written: a 500 MB SET still being sent is not "unanswered". A request that times out on a
// shared connection gets its error alone; a kLate slot takes its place to swallow the reply if
// it ever comes, so the clients behind it, which were not late, keep their connection. The
// connection itself is given up only when the server shows no sign of life for a further
// `timeout` (a late reply that never starts, a write that stops moving, a connect that does not
// complete). Thread safety: owned by one worker thread.
#pragma once

#include <uv.h>

#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/read_buffer.h"
#include "proxy/io/request.h"
#include "proxy/resp/reply_scanner.h"

namespace rl::proxy {

class Backend;
struct ServerSample;
class ServerConn;
class Worker;

// The owner of a dedicated connection: one reserved for a single client's per-client state
// (transactions, blocking commands, pub/sub; see proxy/session/client_session.h) instead of shared
// by every client of the worker. The backend does not know dedicated connections.
class DedicatedOwner {
 public:
  // Push mode (a subscriber connection): every reply other than to the connection's own
  // AUTH/SELECT. Returns true when it answers the oldest kOwned command sent on `conn` (a
  // subscribe confirmation, an OK), false for a message pushed by the server.
  virtual bool OnPush(ServerConn* conn, Chunk* chunk, std::string_view reply) = 0;
  // `conn` closed (a failure, or Close() by anyone). Called before the requests it held fail,
  // so the owner forgets `conn` first.
  virtual void OnDedicatedClosed(ServerConn* conn, std::string_view reason) = 0;

 protected:
  ~DedicatedOwner() = default;
};

class ServerConn {
 public:
  // Starts connecting. The object frees itself after Close() (in the close callbacks).
  // `one_shot` (Backend::SendAlone): no SELECT, and closed once nothing is left queued.
  static ServerConn* Connect(Worker* worker, Backend* backend, bool one_shot = false);
  // A dedicated connection for `owner`; in `push_mode` its replies go to owner->OnPush.
  static ServerConn* ConnectDedicated(Worker* worker, Backend* backend, DedicatedOwner* owner,
                                      bool push_mode);

  // Queues `r` to be written with the next flush. REQUIRES: !closed().
  void Enqueue(Request* r);
  // Writes everything queued (no-op while connecting or while a write is in progress).
  void Flush();
  // Fails every queued request with `reason`, tells the backend, and closes.
  // `failure` counts towards server_failure_limit (a clean shutdown does not).
  void Close(std::string_view reason, bool failure = true);
  // Takes no more requests from its backend (the backend forgot it first) and closes, without
  // failing anything, once every request it holds is answered: a server that left the pool
  // or moved (route/topology.h). Closes at once when it holds nothing.
  void CloseWhenIdle();

  bool closed() const { return closed_; }
  bool connected() const { return connected_; }
  size_t queued() const { return queued_; }
  // Adds this connection's queues (unwritten; written and unanswered) to `sample`.
  void AddQueues(ServerSample* sample) const;
  Backend* backend() const { return backend_; }

  bool in_dirty_list = false;

 private:
  ServerConn(Worker* worker, Backend* backend, bool one_shot);
  ~ServerConn() = default;

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle_); }
  static void OnConnect(uv_connect_t* req, int status);
  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnTimer(uv_timer_t* t);
  static void OnClosed(uv_handle_t* h);

  void StartConnect();
  void Process(const ReadBuffer::Region& region);
  // A complete reply of `length` bytes at `offset` in `chunk` for the oldest written request.
  // Returns false if the connection was closed meanwhile.
  bool Deliver(Chunk* chunk, uint32_t offset, uint32_t length);
  bool DeliverPush(Chunk* chunk, std::string_view bytes);
  void SendInternal(std::string_view command);
  // `r` is completely written: its time-out starts now.
  void StartDeadline(Request* r, uint64_t now);
  // The oldest written request with a deadline, and its predecessor on the reply queue.
  Request* NextDeadline(Request** before) const;
  // `late` (after `before` on the reply queue) timed out: fail it, keep its place.
  void Abandon(Request* before, Request* late);
  // The pool's timeout in ms (0: none).
  uint64_t timeout_ms() const;
  void ArmTimer();
  // Closes (returns true) when CloseWhenIdle() was asked and nothing is queued.
  bool CloseIfIdle();
  Request* Oldest() const { return reply_head_ != nullptr ? reply_head_ : send_head_; }

  Worker* worker_;
  Backend* backend_;
  DedicatedOwner* owner_ = nullptr;  // a dedicated connection's owner
  bool push_mode_ = false;
  // A client's own command connection counts as a client in the process's open-file budget
  // (SharedState::clients): uncounted when it closes.
  std::atomic<uint32_t>* budget_ = nullptr;
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
  uv_timer_t timer_{};
  uv_connect_t connect_req_{};
  uv_write_t write_req_{};
  int open_handles_ = 0;
  bool connected_ = false;
  bool closed_ = false;
  bool writing_ = false;
  bool timer_armed_ = false;
  uint64_t timer_at_ = 0;  // when the armed timer fires (now_ms() scale)
  bool one_shot_ = false;
  bool close_when_idle_ = false;  // one_shot_, or CloseWhenIdle()
  Request* send_head_ = nullptr;  // not yet written
  Request* send_tail_ = nullptr;
  Request* reply_head_ = nullptr;  // written, waiting for their replies
  Request* reply_tail_ = nullptr;
  size_t queued_ = 0;
  ReadBuffer reader_;
  ReplyScanner scanner_;
  // The unwritten rest of a batch, written by one uv_write: a small rest is copied into
  // overflow_; a large one (a big value) is written from the requests' own bytes through
  // pending_iov_ (with overflow_ holding only the parts that were staged copies).
  std::string overflow_;
  std::vector<uv_buf_t> pending_iov_;
  bool by_reference_ = false;
  Request* unsent_from_ = nullptr;  // the first request the pending write has not finished
  uint64_t last_read_ms_ = 0;       // when the server last sent bytes
  uint64_t progress_ms_ = 0;        // when connecting began, or the pending write last moved
  size_t write_queue_seen_ = 0;     // the pending write's unwritten bytes at progress_ms_
};

}  // namespace rl::proxy
