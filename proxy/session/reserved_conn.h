// A client's dedicated server connections, reserved for it alone rather than shared by every
// client of the worker: per backend at most one command connection (WATCH … EXEC, blocking
// commands, WAIT) and one subscriber connection (pub/sub, replies in push mode). Opened on first
// use, carrying the client's name (CLIENT SETNAME), kept while the client stays (a worker loop
// doing BLPOP reuses one) and closed with it. Used by ClientSession (client_session.h).
// Thread safety: owned by the client's worker thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/io/request.h"

namespace rl::proxy {

class Backend;
class DedicatedOwner;
class PoolRouter;
class ServerConn;
class Worker;

class ReservedConns {
 public:
  enum class Kind : uint8_t { kCommand, kSubscriber };

  // Connections go to `pool`'s backends and report to `owner`.
  ReservedConns(PoolRouter* pool, DedicatedOwner* owner);
  ~ReservedConns();  // closes every connection
  ReservedConns(const ReservedConns&) = delete;
  ReservedConns& operator=(const ReservedConns&) = delete;

  // Backends are named by their server id (route/topology.h).
  // The open connection of `kind` to server `backend`, or nullptr.
  ServerConn* Find(uint32_t backend, Kind kind) const;
  // The connection, opened now if needed with `name` (CLIENT SETNAME first when non-empty).
  // Returns nullptr when it failed at once (last_error() says why).
  ServerConn* Get(uint32_t backend, Kind kind, std::string_view name);
  // Closes one connection on purpose (not a backend failure; the owner is not told).
  void Close(uint32_t backend, Kind kind);
  void CloseAll();
  // The owner was told `conn` closed for `reason`: forget it. Returns false if it was not (or
  // no longer) one of ours; else sets *backend and *kind.
  bool Forget(const ServerConn* conn, std::string_view reason, uint32_t* backend, Kind* kind);
  // Which of ours `conn` is (as Forget, without forgetting).
  bool Which(const ServerConn* conn, uint32_t* backend, Kind* kind) const;
  // CLIENT SETNAME `name` on every open command connection.
  void Rename(std::string_view name);
  bool any_open() const;
  const std::string& last_error() const { return last_error_; }

  // Queues `r` on `conn` with its backend's label and `deadline_ms` (0: none).
  // REQUIRES: conn is open.
  static void Send(ServerConn* conn, Request* r, uint64_t deadline_ms);

 private:
  std::vector<ServerConn*>& Table(Kind kind) {
    return kind == Kind::kCommand ? command_ : subscriber_;
  }

  PoolRouter* pool_;
  DedicatedOwner* owner_;
  std::vector<ServerConn*> command_;     // by server id; nullptr: not open
  std::vector<ServerConn*> subscriber_;  // by server id
  std::string last_error_;
};

// A kOwned slot (see request.h) carrying argv as one RESP command. In push mode it expects
// `replies` replies (one per channel of a SUBSCRIBE); `waiting` is a client request to
// complete once it is answered (or failed), or nullptr.
Request* NewOwnedCommand(Worker* worker, std::span<const std::string_view> argv,
                         uint32_t replies = 1, Request* waiting = nullptr);
Request* NewOwnedCommand(Worker* worker, std::initializer_list<std::string_view> argv);

}  // namespace rl::proxy
