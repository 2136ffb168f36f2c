// One pool as served by one worker: its listener, its backends, its ring (rebuilt without the
// ejected servers when auto_eject_hosts is on) and the routing of each parsed request (forward
// by key, split and merge, answer locally, refuse). Thread safety: owned by one worker thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "proxy/resp/resp_parser.h"
#include "proxy/base/uv_handle.h"
#include "proxy/host/worker.h"
#include "ring/ring.h"

namespace rl::proxy {

class Backend;
class ClientConn;
class Listener;
struct CommandInfo;

// A complete request as parsed from a client's buffer.
struct ParsedRequest {
  Chunk* chunk;      // holds the request's bytes (share it to keep them)
  const char* data;  // first byte of the request
  uint32_t length;   // bytes of the request
  bool is_inline;    // inline form: args are unquoted copies, not views into `data`
  std::span<const ArgSpan> spans;
  std::span<const std::string_view> argv;
};

class PoolRouter {
 public:
  PoolRouter(Worker* worker, PoolSetup setup);
  ~PoolRouter();

  // Starts listening (if this worker accepts for the pool) and preconnects. On failure
  // returns a message.
  std::expected<void, std::string> Init();
  // Stops accepting (shutdown).
  void StopListening();
  // Closes every backend connection (end of shutdown).
  void Shutdown();

  // Routes one request of `client`; `r` is already on the client's out queue.
  void Dispatch(ClientConn* client, Request* r, const ParsedRequest& req);

  // Sends the request's bytes to `backend` on the client's shared connection (nullptr: no
  // server available, answered with an error).
  void Forward(ClientConn* client, Request* r, const ParsedRequest& req, Backend* backend);

  // The backend that owns `key`, or nullptr when no server is in the ring (all ejected).
  Backend* BackendFor(std::string_view key);
  // A server for a keyless command (the first one in the ring).
  Backend* AnyBackend();
  // auto_eject_hosts: rebuilds the ring from the servers not ejected.
  void RebuildRing();

  const conf::Pool& conf() const { return *setup_.pool; }
  const std::string& client_password() const { return setup_.client_password; }
  Worker* worker() { return worker_; }
  std::vector<std::unique_ptr<Backend>>& backends() { return backends_; }

 private:
  static void OnRetryTimer(uv_timer_t* t);
  void ScheduleRetry();
  // Sends r (already filled) to the backend for `key`, or fails it when there is none.
  void SendTo(Backend* backend, Request* r, ClientConn* client);
  void Split(ClientConn* client, Request* r, const ParsedRequest& req, const CommandInfo& info,
             std::span<const uint32_t> keys);
  void Broadcast(ClientConn* client, Request* r, const ParsedRequest& req, const CommandInfo& info);
  // SCAN: one server at a time under ringleader's cursor (defined in proxy/route/scan.cc).
  void Scan(ClientConn* client, Request* r, const ParsedRequest& req);
  void SendFragments(ClientConn* client, Request* r, std::vector<Backend*>& targets);
  void Reply(ClientConn* client, Request* r, std::string_view bytes);
  // Reply() for a request refused before routing: an open transaction fails at EXEC.
  void Reject(ClientConn* client, Request* r, std::string_view bytes);

  Worker* worker_;
  PoolSetup setup_;
  Listener* listener_ = nullptr;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::optional<ring::Ring> ring_;
  std::vector<uint32_t> ring_backend_;  // ring member index -> backend index
  UvHandle<uv_timer_t> retry_timer_;
  std::vector<uint32_t> key_scratch_;
  std::vector<uint32_t> backend_scratch_;
  std::vector<std::string_view> key_view_scratch_;  // the keys of the current request
  std::vector<uint32_t> owner_scratch_;  // backend index of each key of the current request
  std::vector<size_t> count_scratch_;
  std::vector<size_t> bytes_scratch_;   // fragment -> bytes of its keys (and values)
  std::vector<size_t> cursor_scratch_;  // fragment -> where its next key is copied
  std::vector<Backend*> target_scratch_;
  std::vector<Backend*> send_scratch_;
  std::vector<Request*> fragment_scratch_;
  std::vector<std::string_view> argv_scratch_;
};

}  // namespace rl::proxy
