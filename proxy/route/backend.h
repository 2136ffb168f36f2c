// One server of a pool as seen by one worker: its pipelined connections (server_connections
// of them), reconnect back-off, and nutcracker's failure accounting (server_failure_limit,
// auto_eject_hosts, server_retry_timeout). It is known by its stable ServerId and keeps its own
// copy of the server's topology entry, so a new snapshot can move it (Update) or retire it.
// Thread safety: owned by one worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "proxy/base/uv_handle.h"
#include "proxy/host/worker.h"
#include "proxy/io/request.h"
#include "proxy/route/route_stats.h"
#include "proxy/route/topology.h"

namespace rl::proxy {

class PoolRouter;
class ServerConn;

class Backend {
 public:
  Backend(Worker* worker, PoolRouter* pool, const TopologyServer& server);
  ~Backend();  // REQUIRES: Shutdown() was called

  // Sends `r` on the connection chosen by `affinity` (a client id: one client's requests to
  // this server stay on one connection, hence in order). If the server is down and backing off,
  // `r` waits for the next connect attempt (at the end of the back-off, one attempt for all
  // that wait): sent when it connects, failed with the connect's error when it does not. So a
  // server that comes back is used by the first request after it accepts, and a dead server
  // costs one connect attempt per back-off period, however many requests arrive.
  void Send(Request* r, uint64_t affinity);
  // Sends `r` on a new connection of its own, closed once `r` is answered. For SCRIPT KILL and
  // FUNCTION KILL, which would otherwise queue behind the running script they are meant to stop
  // on a shared connection. That connection skips SELECT (which Redis refuses with -BUSY while
  // a script runs; the KILL commands ignore the database).
  void SendAlone(Request* r);
  // Opens every connection now (preconnect).
  void Preconnect();
  // Closes every connection, failing what they hold (shutdown).
  void Shutdown();
  // A new snapshot's entry for this server (same id). When its address changed, the shared
  // connections take no new requests and close once drained; new ones go to the new address.
  // (A client pipelining across the move may have a request still on the old connection while
  // the next runs on the new one: the two are not ordered against each other.)
  void Update(const TopologyServer& server);
  // The server left the pool: no new requests (Send fails them), shared connections close
  // once drained, and failures no longer count towards ejection.
  void Retire();

  // "-ERR backend NAME (ADDRESS): reason\r\n" into r's own reply, and completes r.
  void Fail(Request* r, std::string_view reason);

  // --- from ServerConn ---
  void OnConnected(ServerConn* conn);
  void OnReply() { failure_count_ = 0; }
  // A request timed out on a connection that stays open: one failure towards ejection.
  void OnTimedOut() { CountFailure(); }
  // `conn` closed; `failure` tells whether it counts towards ejection.
  void OnClosed(ServerConn* conn, std::string_view reason, bool failure, bool was_connected);

  ServerId id() const { return server_.id; }
  const conf::Server& server() const { return server_.conf; }
  const ResolvedAddress& address() const { return server_.address; }
  PoolRouter* pool() const { return pool_; }
  // "r2 (127.0.0.1:7002)", or the address alone for an unnamed server.
  const std::string& label() const { return label_; }
  bool retired() const { return retired_; }
  // auto_eject_hosts: out of the ring until retry_at_ms().
  bool ejected() const { return ejected_; }
  uint64_t retry_at_ms() const { return retry_at_ms_; }
  void Readmit() { ejected_ = false; }
  // nutcracker's counters of this server (its stats port), kept by this worker.
  ServerCounters& counters() { return counters_; }
  // The counters and queue depths now, under the server's name, for the stats port.
  ServerSample Sample() const;

 private:
  // Lets every shared connection finish what it holds and close; new requests open new ones.
  void DrainShared();
  // A request failed by a failed connect: it counts as one of nutcracker's failures (there
  // every such request would have tried, and failed, to connect).
  void FailFast(Request* r);
  // Requests waiting for the next connect attempt (see Send).
  void Hold(Request* r, uint64_t affinity);
  static void OnRetryTimer(uv_timer_t* t);
  void Probe();
  // Sends every held request, in order (a connection came up or the back-off was cleared).
  void SendHeld();
  // Fails every held request: with FailFast after a failed connect, else with `reason`.
  void FailHeld(bool counted, std::string_view reason);
  // One failure towards server_failure_limit; ejects at the limit in an auto_eject_hosts pool.
  void CountFailure();

  Worker* worker_;
  PoolRouter* pool_;
  TopologyServer server_;
  std::string label_;  // requests point at it: assigned in place, never reallocated as an object
  bool retired_ = false;
  std::vector<ServerConn*> conns_;  // server_connections slots; nullptr when not open
  std::vector<ServerConn*> alone_;  // SendAlone's connections still open
  // Connect back-off: after a failed connect, requests fail fast until reconnect_at_ms_.
  uint32_t connect_failures_ = 0;
  uint64_t reconnect_at_ms_ = 0;
  std::string last_error_;
  struct Held {
    Request* r;
    uint64_t affinity;
  };
  std::vector<Held> held_;  // in arrival order
  UvHandle<uv_timer_t> retry_timer_;
  // nutcracker's accounting.
  int failure_count_ = 0;
  bool ejected_ = false;
  uint64_t retry_at_ms_ = 0;
  ServerCounters counters_;
};

// Completes `r` with backend's failure reply (Backend::Fail), or, when `backend` is nullptr (a
// server id no longer in the topology), with "-ERR backend left the pool: reason".
void FailRequest(Worker* worker, Request* r, Backend* backend, std::string_view reason);
// backend->Send(r, affinity), or FailRequest when `backend` is nullptr.
void SendOrFail(Worker* worker, Request* r, Backend* backend, uint64_t affinity);

}  // namespace rl::proxy
