// A client connection: reads and parses requests, hands each to its RequestHandler (a pool's
// router) for routing, and writes replies back strictly in request order.
// Thread safety: owned by one worker thread.
//
//                          one worker (thread + libuv loop)
//
//  clients        ClientConn                              ServerConn (pipelined)        Redis
//              +--------------------+                    +-----------------------+
//  c1 --read-->| RequestParser      | r1, r2 ----------->| send q   [r5][r2]     |--writev--> s1
//  c1 <-write--| out q [r1][r2][r3] | r3 ------+   +---->| reply q  [r1]         |<--read---- s1
//              +--------------------+          |   |     +-----------------------+
//              +--------------------+          |   |     +-----------------------+
//  c2 --read-->| RequestParser      | r5 ------|---+     | send q   [r3]         |--writev--> s2
//  c2 <-write--| out q [r4][r5]     | r4 ------+-------->| reply q  [r4]         |<--read---- s2
//              +--------------------+                    +-----------------------+
//                 (a split MGET becomes one fragment per server, merged in key order)
//
//  m client connections share n pipelined connections per server. A request slot (Request)
//  sits on its client's out queue from parse to reply, and on one server connection's send
//  queue, then reply queue, while it is with the backend. Replies are matched to requests in
//  FIFO order per server connection; a client's replies are written from the head of its out
//  queue only, so a fast server never overtakes a slow one. Writes are batched per loop
//  iteration (uv_check): one writev per connection carries every request or reply that became
//  ready, and forwarded bytes are never copied (slots point into reference-counted chunks).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/chunk.h"
#include "proxy/base/read_buffer.h"
#include "proxy/io/request.h"
#include "proxy/resp/resp_parser.h"

namespace rl::proxy {

class Worker;
class PoolRouter;
class ClientSession;
class ClientConn;

// A complete request as parsed from a client's buffer.
struct ParsedRequest {
  Chunk* chunk;      // holds the request's bytes (share it to keep them)
  const char* data;  // first byte of the request
  uint32_t length;   // bytes of the request
  bool is_inline;    // inline form: args are unquoted copies, not views into `data`
  std::span<const ArgSpan> spans;
  std::span<const std::string_view> argv;
};

// The request's bytes, kept alive by `holder`: a share of the client's chunk, or, for an inline
// request (whose bytes are not RESP), its argv encoded as RESP into holder->own. Returns them.
uv_buf_t KeepRequestBytes(Request* holder, const ParsedRequest& req);
// KeepRequestBytes, appended to r's pieces: what is sent when r goes to one server whole.
void CopyRequestBytes(Request* r, const ParsedRequest& req);
// A copy of the request's bytes (RESP-encoded when inline) appended to `out`, for a request
// kept after its chunk is reused (a transaction's queued commands).
void AppendRequestBytes(std::string* out, const ParsedRequest& req);

// Where a client connection's parsed requests go: a pool's router (route/pool_router.h), and
// later the handlers of the peer and admin ports, which serve RESP without a pool.
class RequestHandler {
 public:
  // One complete request of `client`; `r` is already on the client's out queue, and the
  // handler must eventually make its reply final (ClientConn::OnReplyReady).
  virtual void Dispatch(ClientConn* client, Request* r, const ParsedRequest& req) = 0;

 protected:
  ~RequestHandler() = default;
};

// LOCK.FENCE name token: every later write of the connection is sent fenced with this lock's
// token (proxy/session/lock_commands.h).
struct FenceBinding {
  std::string lock;
  uint64_t token = 0;
};

// Per-connection state that local commands read and change (AUTH, CLIENT SETNAME, ...).
struct ClientState {
  uint64_t id = 0;
  bool authenticated = false;
  std::string name;
  std::string lib_name;
  std::string lib_version;
  std::string address;        // "ip:port" of the peer, or the unix path
  std::string local_address;  // "ip:port" of our end
  uint64_t created_ms = 0;
  uint64_t last_command_ms = 0;
  uint32_t last_write_server = UINT32_MAX;  // server id (ServerId) of the last write, for WAIT
  // CLIENT REPLY: OFF silences every reply until ON; SKIP silences the next request's.
  bool replies_off = false;
  bool skip_next_reply = false;
  std::unique_ptr<FenceBinding> fence;  // LOCK.FENCE; null when none is bound
  bool lock_waiting = false;            // a LOCK.ACQUIRE ... WAIT is queued: blocked, as for EOF
};

class ClientConn {
 public:
  // How an accepted connection starts.
  struct AcceptOptions {
    bool needs_auth = false;     // not authenticated until AUTH/HELLO AUTH
    std::string_view unix_path;  // the listener's path (a unix listener)
    bool tcpkeepalive = false;
    // The pool's client connections on every worker (nullptr: not counted), and the most it
    // admits (nutcracker's client_connections; 0: no limit). A connection past the limit gets
    // Redis's "-ERR max number of clients reached" and is closed.
    std::atomic<uint32_t>* pool_clients = nullptr;
    uint32_t max_clients = 0;
    // The same over the whole process (SharedState::clients and max_clients).
    std::atomic<uint32_t>* process_clients = nullptr;
    uint32_t max_process_clients = 0;
  };
  // Accepts one pending connection on `listener`; its requests go to `handler`. `pool` is the
  // pool the connection belongs to (its sessions' servers), or nullptr for a connection that
  // serves no pool. Returns nullptr (and logs) on failure.
  static ClientConn* Accept(Worker* worker, RequestHandler* handler, PoolRouter* pool,
                            uv_stream_t* listener, bool is_unix, const AcceptOptions& options);

  // The pool's client_timeout: closes the client when it has been idle (nothing to answer,
  // nothing read) or has had a partial request for longer. Subscribed and blocked clients,
  // and those waiting for a server, are left alone.
  void CloseIfTimedOut(uint64_t now_ms);

  // The reply of `r` (a request of this client) is final.
  void OnReplyReady(Request* r);
  // Writes the replies ready at the head of the out queue.
  void Flush();
  // Closes now; requests still in flight become orphans whose replies are dropped. The object
  // is freed in the close callback.
  void Close();
  // Shutdown: read no more requests; close once every reply is written.
  void Drain();

  // --- per-client state of transactions, blocking commands and pub/sub (client_session.h) ---
  ClientSession* session() { return session_.get(); }
  ClientSession* EnsureSession();
  // A new slot at the end of the out queue (a request, or a message pushed to a subscriber).
  Request* NewRequest();
  // Stops dispatching this client's requests until Resume() (a blocked command: later requests
  // wait, as they do behind a blocked Redis client). Reading goes on, so a disconnect is seen.
  void Pause() { paused_ = true; }
  // Dispatches what was read meanwhile, from the next flush.
  void Resume();
  // Slots before `r` on the out queue whose reply is not final yet.
  uint32_t PendingBefore(const Request* r) const;

  // Bytes this client holds: its partial request's buffer and its unwritten replies.
  size_t MemoryUsage() const;
  // One of nutcracker's client_err (a reset, a protocol error, an eviction).
  void CountError();
  // Closes it for the memory budget (or a failed allocation), counted and logged with `why`.
  void Evict(std::string_view why);

  ClientState& state() { return state_; }
  PoolRouter* pool() { return pool_; }
  Worker* worker() { return worker_; }
  bool closed() const { return closed_; }
  uint32_t inflight() const { return inflight_; }

  // Worker bookkeeping.
  bool in_dirty_list = false;
  ClientConn* prev = nullptr;
  ClientConn* next = nullptr;

 private:
  ClientConn(Worker* worker, RequestHandler* handler, PoolRouter* pool, bool is_unix);
  ~ClientConn();

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle_); }
  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnClosed(uv_handle_t* h);

  void Process(const ReadBuffer::Region& region);
  void DispatchParsed(Chunk* chunk, uint32_t offset);
  void ProtocolError();
  void OutOfMemory();
  // EOF from the client (see client_conn.cc).
  void OnPeerShutdown();
  // Replies `error` (without "-" and CRLF) to a connection that may send nothing, and closes it.
  void Refuse(std::string_view error);
  void StartReading();
  void StopReading();
  // Replies not yet written bound how far a client may get ahead: past kReplyBacklog bytes of
  // them, or more requests in flight than that many bytes of its typical reply, its requests
  // wait unread (so one client that does not read cannot make a server send gigabytes through
  // a connection other clients share). Reading resumes below half of both.
  bool OverReplyBudget() const;
  bool UnderReplyResumeMark() const;
  uint32_t InflightCap() const;

  Worker* worker_;
  RequestHandler* handler_;
  PoolRouter* pool_;                               // nullptr: not a pool's connection
  std::atomic<uint32_t>* pool_clients_ = nullptr;  // count this connection while it is open
  std::atomic<uint32_t>* process_clients_ = nullptr;
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
  bool is_unix_;
  bool reading_ = false;
  bool closed_ = false;
  bool draining_ = false;
  bool no_more_requests_ = false;  // after QUIT or a protocol error
  bool peer_shut_down_ = false;    // EOF read: close once every request read is answered
  uint64_t last_read_ms_ = 0;      // when bytes last arrived, or the client was last busy
  uint64_t partial_since_ms_ = 0;  // when the request still incomplete began to arrive; 0: none
  bool writing_ = false;
  bool close_when_written_ = false;
  bool paused_ = false;            // see Pause()
  bool resume_pending_ = false;    // Resume() called: process the kept bytes at the next flush
  bool read_stalled_ = false;      // paused with too many bytes kept: not reading until Resume()
  bool in_pool_counters_ = false;  // counted in its pool's client_connections
  bool throttled_ = false;         // over the reply budget: requests wait unread (or kept)
  uint32_t typical_reply_ = 0;     // a moving average of this client's reply sizes
  RequestParser parser_;
  ReadBuffer reader_;
  Request* head_ = nullptr;  // out queue, in request order
  Request* tail_ = nullptr;
  uint32_t inflight_ = 0;    // slots on the out queue
  size_t queued_bytes_ = 0;  // bytes of final replies on the out queue
  // What the kernel did not take, written by one uv_write. Allocated only while such a write
  // is pending, so an idle connection holds neither the request nor a buffer.
  // A large rest (a big value) is not copied: it is written from the replies themselves, which
  // stay at the head of the out queue (`replies` of them) until the write completes.
  struct PendingWrite {
    uv_write_t req;
    std::string bytes;          // copied bytes
    std::vector<uv_buf_t> iov;  // by reference: what to write (into `bytes` and the replies)
    uint32_t replies = 0;       // by reference: out-queue slots the write still refers to
    size_t unwritten = 0;       // bytes the write carries
  };
  std::string& Overflow();
  size_t overflow_bytes() const { return pending_write_ ? pending_write_->bytes.size() : 0; }
  std::unique_ptr<PendingWrite> pending_write_;
  ClientState state_;
  std::unique_ptr<ClientSession> session_;  // created by the first stateful command
};

}  // namespace rl::proxy
