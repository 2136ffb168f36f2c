// One configured server as seen by one worker: its pipelined connections (server_connections
// of them), reconnect back-off, and nutcracker's failure accounting (server_failure_limit,
// auto_eject_hosts, server_retry_timeout). Thread safety: owned by one worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "proxy/io/request.h"
#include "proxy/host/worker.h"

namespace rl::proxy {

class PoolRouter;
class ServerConn;

class Backend {
 public:
  Backend(Worker* worker, PoolRouter* pool, const conf::Server& server,
          const ResolvedAddress& address);
  ~Backend();  // REQUIRES: Shutdown() was called

  // Sends `r` on the connection chosen by `affinity` (a client id: one client's requests to
  // this server stay on one connection, hence in order). If the server is down and backing off,
  // completes `r` at once with an error reply instead.
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

  // "-ERR backend NAME (ADDRESS): reason\r\n" into r's own reply, and completes r.
  void Fail(Request* r, std::string_view reason);

  // --- from ServerConn ---
  void OnConnected(ServerConn* conn);
  void OnReply() { failure_count_ = 0; }
  // `conn` closed; `failure` tells whether it counts towards ejection.
  void OnClosed(ServerConn* conn, std::string_view reason, bool failure, bool was_connected);

  const conf::Server& server() const { return server_; }
  const ResolvedAddress& address() const { return address_; }
  PoolRouter* pool() const { return pool_; }
  // "r2 (127.0.0.1:7002)", or the address alone for an unnamed server.
  const std::string& label() const { return label_; }
  // auto_eject_hosts: out of the ring until retry_at_ms().
  bool ejected() const { return ejected_; }
  uint64_t retry_at_ms() const { return retry_at_ms_; }
  void Readmit() { ejected_ = false; }

 private:
  Worker* worker_;
  PoolRouter* pool_;
  const conf::Server& server_;
  const ResolvedAddress& address_;
  std::string label_;
  std::vector<ServerConn*> conns_;  // server_connections slots; nullptr when not open
  std::vector<ServerConn*> alone_;  // SendAlone's connections still open
  // Connect back-off: after a failed connect, requests fail fast until reconnect_at_ms_.
  uint32_t connect_failures_ = 0;
  uint64_t reconnect_at_ms_ = 0;
  std::string last_error_;
  // nutcracker's accounting.
  int failure_count_ = 0;
  bool ejected_ = false;
  uint64_t retry_at_ms_ = 0;
};

}  // namespace rl::proxy
