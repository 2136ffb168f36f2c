// The subscriber connections of one pool on one worker, shared by every subscribed client of
// that worker: at most one connection per server, whatever the number of subscribers (predixy
// does the same), so 5,000 pattern subscribers cost 5,000 client descriptors plus one per
// server rather than 5,000 per server. The hub subscribes a channel or pattern on a server when
// its first client does, unsubscribes it when its last client leaves, and fans each message out
// to the clients listening to that name (Subscriptions::Deliver). Confirmations stay ordered
// per connection: a client whose name is already subscribed, or still being confirmed, waits
// behind a PING barrier for whatever the hub sent before it.
// Thread safety: owned by its PoolRouter, on the worker's thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/uv_handle.h"
#include "proxy/io/server_conn.h"
#include "proxy/session/reserved_conn.h"

namespace rl::proxy {

class PoolRouter;
class Subscriptions;
struct Request;

class PubsubHub final : public DedicatedOwner {
 public:
  enum class Type : uint8_t { kChannel, kPattern, kShard };

  explicit PubsubHub(PoolRouter* pool);
  ~PubsubHub();  // closes every connection
  PubsubHub(const PubsubHub&) = delete;
  PubsubHub& operator=(const PubsubHub&) = delete;

  // `sub` listens to `names` on server `backend` from now on. `waiting` (a client request, or
  // nullptr) completes once the server confirmed every name, or at once when it had already.
  // False when the connection to `backend` could not be opened (last_error() says why; the
  // names stay added and are subscribed on a retry unless the caller removes them).
  bool Add(Subscriptions* sub, Type type, uint32_t backend, std::span<const std::string_view> names,
           Request* waiting);
  // `sub` no longer listens to `names` on `backend`; a name nobody listens to is unsubscribed,
  // and a connection with nothing left is closed.
  void Remove(Subscriptions* sub, Type type, uint32_t backend,
              std::span<const std::string_view> names);

  // Closes every connection and stops reconnecting (shutdown); listeners are kept.
  void CloseAll();
  const std::string& last_error() const { return last_error_; }
  // Open subscriber connections (INFO, tests).
  size_t connections() const;

  // DedicatedOwner.
  bool OnPush(ServerConn* conn, Chunk* chunk, std::string_view reply) override;
  void OnDedicatedClosed(ServerConn* conn, std::string_view reason) override;

 private:
  using Listeners = std::map<std::string, std::set<Subscriptions*>, std::less<>>;
  struct Side {                // one server
    Listeners names[3];        // by Type
    uint32_t unconfirmed = 0;  // confirmations still expected on the connection
    bool needs_resubscribe = false;
    bool empty() const { return names[0].empty() && names[1].empty() && names[2].empty(); }
  };

  Side& SideOf(uint32_t backend);
  // Sends `command names...` on the connection to `backend` (opened if needed), expecting
  // `replies` confirmations. False if the connection failed at once (a retry is scheduled).
  bool Send(uint32_t backend, std::span<const std::string_view> argv, uint32_t replies,
            Request* waiting);
  void Resubscribe(uint32_t backend);
  void ScheduleRetry();
  // Runs OnRetryTimer in `delay_ms` unless it is due already.
  void StartTimer(uint64_t delay_ms);
  static void OnRetryTimer(uv_timer_t* t);

  PoolRouter* pool_;
  ReservedConns conns_;
  std::vector<Side> sides_;  // by server id
  std::vector<Subscriptions*> deliver_scratch_;
  uint64_t removals_ = 0;  // listeners removed so far: a delivery sees whether its set changed
  UvHandle<uv_timer_t> retry_timer_;  // reconnects, and closes connections left idle
  uint64_t retry_delay_ms_ = 0;
  bool closed_ = false;     // CloseAll()
  std::string last_error_;  // why a connection failed last
};

}  // namespace rl::proxy
