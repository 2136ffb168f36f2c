// A general asynchronous RESP client connection on a caller's libuv loop, for modules that talk
// to Redis-speaking servers without the proxy: the Raft transport (RAFT.* to peers) and the lock
// service (N independent Redis masters). The data path keeps its own tuned proxy/io/server_conn.
// Thread safety: everything on the loop's thread; the loop must outlive the client's handles
// (keep running it after Close() until they are closed).
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/resp/reply_parser.h"
#include "proxy/resp/reply_writer.h"  // AppendCommand, to encode what Send takes
#include "proxy/resp/resp_reply.h"

namespace rl::proxy {

struct RespError {
  enum class Code : uint8_t {
    kConnect,         // resolving or connecting failed, or the connect timeout passed
    kHandshake,       // AUTH, SELECT or HELLO was refused; message is the server's error text
    kDisconnected,    // sent during back-off; message says why the last attempt failed
    kConnectionLost,  // the connection failed with the command in flight (EOF, reset, ...)
    kTimeout,         // no reply within request_timeout
    kProtocol,        // the server sent bytes that are not RESP
    kOverloaded,      // more than max_queued commands waiting for the connection
    kClosed,          // Close() was called
  };
  Code code = Code::kClosed;
  std::string message;
  // For kConnectionLost from a read: the libuv status (UV_EOF: the peer closed; UV_ECONNRESET),
  // which tells a dead process (its kernel closed the socket) from a timeout. 0 otherwise.
  int uv_status = 0;
};

std::string_view CodeName(RespError::Code code);

using RespResult = std::expected<RespReply, RespError>;
using RespCallback = std::move_only_function<void(RespResult)>;

struct RespClientOptions {
  // Where: a unix socket when unix_path is set, else TCP host:port. host is a numeric IPv4 or
  // IPv6 address or a name (resolved on every connect attempt).
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string unix_path;

  // AUTH on every connect when password is set (AUTH user password when user is set too).
  std::string user;
  std::string password;
  int db = 0;        // SELECT db on every connect when non-zero
  int protocol = 2;  // 3: HELLO 3 on every connect (replies then use RESP3 types)

  std::chrono::milliseconds connect_timeout{2000};  // resolve + connect + handshake
  std::chrono::milliseconds request_timeout{0};     // 0: none
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
  size_t max_queued = 4096;   // commands waiting while a connect attempt is under way
  unsigned keepalive_s = 60;  // TCP keep-alive delay; 0 disables it
  RespReplyLimits limits;

  std::move_only_function<void()> on_connected;
  std::move_only_function<void(const RespError& reason)> on_disconnected;
  // RESP3 push frames (">"), which answer no command. Dropped when unset.
  std::move_only_function<void(RespReply push)> on_push;
};

class RespClient;
// Closes with kDropPending and lets the object be freed (see Lifetime above).
struct RespClientCloser {
  void operator()(RespClient* client) const;
};
using RespClientPtr = std::unique_ptr<RespClient, RespClientCloser>;

// Contract:
// - Commands (argv, or the pre-encoded bytes of one command) are pipelined; replies are matched
//   to commands in FIFO order; each command's callback runs once (unless dropped, see
//   Lifetime), with the reply (a server error such as "-ERR x" is a reply of type kError, not
//   a RespError) or a RespError.
//   A callback never runs inside Send(): failures decided at once are delivered from the loop.
// - Connecting: resolve (uv_getaddrinfo, again on every attempt; each address in turn), connect,
//   then AUTH (password, or user + password) and SELECT db, or HELLO 3 [AUTH ...] for RESP3,
//   before anything else. Their failure fails the attempt with the server's error text.
//   connect_timeout bounds all of it. Commands sent meanwhile wait (at most max_queued; more
//   fail with kOverloaded) and are written once the connection is ready.
// - After any failure the client waits (back-off: reconnect_min, doubling up to reconnect_max,
//   back to reconnect_min after a connection becomes ready), then reconnects. During back-off
//   commands FAIL FAST with kDisconnected (the owner decides whether to retry; a Raft message
//   or a lock attempt is stale by the time a queue would drain). Nothing is retried by the client.
// - request_timeout: a command without its reply within T of Send() (time spent waiting for
//   the connection counts) fails with kTimeout. If it was written, FIFO matching is lost: the
//   connection is closed, every other command in flight fails with kConnectionLost saying so,
//   and the client reconnects after back-off. One T for all commands, so the oldest is always
//   the next to time out (one timer).
// - Bytes that are not RESP fail the connection (kProtocol); nothing the server sends aborts.
// - on_connected / on_disconnected report every ready connection and every failed attempt or
//   lost connection (after that connection's commands have been failed). Close() reports none.
// - Pub/sub is not supported (replies would not match commands); RESP3 push frames go to on_push.
//
// Lifetime: Create() returns a RespClientPtr. Close() fails everything pending with kClosed,
// calling those callbacks before it returns (they must not Send(): that aborts); after Close()
// returns no callback runs again. It is safe from inside any of the client's callbacks. Destroying
// the RespClientPtr (with its owner) without Close() drops pending callbacks without calling them
// (their captures are destroyed), so an owner may go away with commands in flight. Either way the
// object frees its memory in the libuv close callbacks, later on the loop (or, after Close(), when
// the RespClientPtr goes, whichever is last), so a callback may close or destroy the client it came
// from.
class RespClient {
 public:
  enum class CloseMode : uint8_t { kFailPending, kDropPending };

  // Starts connecting on the loop's next iteration (no callback runs inside Create()).
  // REQUIRES: loop is the calling thread's loop.
  static RespClientPtr Create(uv_loop_t* loop, RespClientOptions options);

  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // Sends one command, encoded as a RESP multibulk of `argv` (copied; binary-safe).
  // REQUIRES: !closed(), !argv.empty().
  void Send(std::span<const std::string_view> argv, RespCallback done);
  void Send(std::initializer_list<std::string_view> argv, RespCallback done) {
    Send(std::span<const std::string_view>(argv.begin(), argv.size()), std::move(done));
  }
  // Sends the bytes of exactly one complete command, already encoded (see AppendCommand).
  // REQUIRES: !closed(); `command` is one complete RESP command (not checked: a wrong count
  // would shift every later reply onto the wrong callback).
  void SendEncoded(std::string_view command, RespCallback done);

  // See the contract above. kDropPending is what destroying the RespClientPtr does.
  void Close(CloseMode mode = CloseMode::kFailPending);

  bool connected() const { return state_ == State::kReady; }
  bool closed() const { return state_ == State::kClosed; }
  // Commands whose callback has not run yet.
  size_t pending() const { return requests_.size() + deferred_.size(); }
  // "host:port", "[v6]:port" or "unix:path", as error messages name it.
  const std::string& address() const { return address_; }

 private:
  enum class State : uint8_t { kConnecting, kReady, kBackoff, kClosed };
  struct Conn;
  struct Resolve;
  struct Write;
  struct Request {
    RespCallback done;
    uint64_t deadline_ms;  // uv_now() at which it times out (UINT64_MAX: never)
    size_t length;         // its bytes in unsent_ while not written
  };
  struct Deferred {
    RespCallback done;
    RespError error;
  };

  friend struct RespClientCloser;
  RespClient(uv_loop_t* loop, RespClientOptions options);
  ~RespClient() = default;
  void Release();

  // client.cc: commands, replies, failure and close.
  // Where a new command's bytes go (out_ or unsent_), or nullptr when it was failed at once.
  std::string* Admit(RespCallback* done);
  // Queues the command whose `length` bytes were appended where Admit() said.
  void Admitted(RespCallback done, size_t length);
  void Defer(RespCallback done, RespError error);
  void ScheduleFlush();
  void Flush();
  void OnRead(ssize_t nread);
  void ProcessReplies();
  void OnRequestTimer();
  void FailConnection(const RespError& reason, const RespError* first = nullptr);
  void Drain(const RespError& reason, bool call);
  static void OnIdle(uv_idle_t* idle);
  static void OnWritten(uv_write_t* req, int status);
  static void OnHandleClosed(uv_handle_t* handle);

  // client_connect.cc: resolving, connecting, the handshake, back-off.
  void StartConnect();
  void ConnectNext();
  void OnConnected(int status);
  void StartHandshake();
  bool OnHandshakeReply(const RespReply& reply);
  void BecomeReady();
  void DropConn();    // closes the current connection only
  void DetachConn();  // and cancels resolving, forgets buffered bytes and the handshake
  void OnConnTimer();
  static void OnResolved(uv_getaddrinfo_t* req, int status, addrinfo* result);

  uv_loop_t* loop_;
  RespClientOptions options_;
  std::string address_;
  State state_ = State::kConnecting;
  bool starting_ = true;   // the first attempt starts from the loop, not inside Create()
  bool dropping_ = false;  // closing with kDropPending: callbacks are destroyed, not called
  bool released_ = false;  // the RespClientPtr let go: delete once the handles are closed

  Conn* conn_ = nullptr;        // the current connection (self-freeing once detached)
  Resolve* resolve_ = nullptr;  // a pending uv_getaddrinfo (self-freeing once detached)
  std::vector<sockaddr_storage> addresses_;  // this attempt's addresses, tried in turn
  size_t next_address_ = 0;
  std::string last_connect_error_;
  std::chrono::milliseconds backoff_;
  RespError last_failure_;

  // Requests in FIFO order: the first sent_ were written (or are in out_), the rest wait in
  // unsent_ for the connection to become ready.
  std::deque<Request> requests_;
  size_t sent_ = 0;
  std::string unsent_;
  std::string out_;  // bytes for the next write
  std::deque<Deferred> deferred_;
  std::vector<std::string> handshake_;  // names of the handshake commands not answered yet
  RespReplyParser parser_;

  // Embedded handles; the object is deleted once all three are closed and released_.
  uv_timer_t conn_timer_;     // connect timeout, or the back-off delay
  uv_timer_t request_timer_;  // the oldest request's deadline
  uv_idle_t flush_idle_;      // runs Flush() and deferred failures on the next iteration
  int open_handles_ = 0;
};

}  // namespace rl::proxy
