// Pub/sub for one client (part of its ClientSession): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
// PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, and PING while subscribed.
//
// A channel (and a shard channel) lives on the server its name hashes to, as a key does:
// PUBLISH goes there, and a subscriber listens there. A pattern listens on every server, and
// every server's messages are merged into the client's stream. Each client listens on
// subscriber connections of its own (push mode; reserved_conn.h), one per server it needs.
//
// The client sees what one Redis would send it in RESP2: ringleader keeps the client's
// subscriptions itself and writes the confirmations (counts are the client's totals across
// servers), after the servers confirmed, so that a message published once the client has its
// confirmation reaches it; messages are forwarded as the server sent them, minus any for a
// channel or pattern the client has left meanwhile. A subscriber connection that fails is
// reopened, with back-off, and resubscribed; messages published while it was down are lost.
// A connection with nothing left to listen to is closed (which unsubscribes).
// Thread safety: owned by the client's worker thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/chunk.h"
#include "proxy/base/uv_handle.h"
#include "proxy/io/request.h"

namespace rl::proxy {

class ClientSession;
struct CommandInfo;
struct ParsedRequest;

class Subscriptions {
 public:
  explicit Subscriptions(ClientSession* session);
  ~Subscriptions();

  // Subscribed to anything: RESP2 allows the client only (un)subscribing, PING, QUIT, RESET.
  bool active() const {
    return !channels_.empty() || !patterns_.empty() || !shard_channels_.empty();
  }
  size_t channel_count() const { return channels_.size(); }
  size_t pattern_count() const { return patterns_.size(); }
  size_t shard_channel_count() const { return shard_channels_.size(); }

  // A kPubsub command: the (un)subscribe family, or PUBLISH.
  void Run(Request* r, const ParsedRequest& req, const CommandInfo& info);
  // PING while subscribed: ["pong", argument or ""].
  void Ping(Request* r, std::span<const std::string_view> argv);
  // A reply on the subscriber connection to `backend` (see DedicatedOwner::OnPush).
  bool OnPush(uint32_t backend, Chunk* chunk, std::string_view reply);
  // The subscriber connection to `backend` failed: reopen it later.
  void OnConnLost(uint32_t backend);
  // RESET or the client went away: forget every subscription (the session closes the
  // connections).
  void Reset();

 private:
  enum class Type : uint8_t { kChannel, kPattern, kShard };
  // Channel or shard channel -> the backend index it was subscribed on.
  using ChannelMap = std::map<std::string, uint32_t, std::less<>>;

  void Subscribe(Request* r, Type type, std::span<const std::string_view> names);
  void Unsubscribe(Request* r, Type type, std::span<const std::string_view> names);
  // What the client listens to on `backend`.
  bool Listens(uint32_t backend) const;
  // Sends `command names...` on the subscriber connection to `backend`; `waiting` (if any)
  // completes once the server confirmed every name. False if the connection failed at once.
  bool SendCommand(uint32_t backend, std::string_view command,
                   std::span<const std::string_view> names, Request* waiting);
  void Resubscribe(uint32_t backend);
  void ScheduleRetry();
  static void OnRetryTimer(uv_timer_t* t);

  ClientSession* session_;
  ChannelMap channels_;
  ChannelMap shard_channels_;
  std::set<std::string, std::less<>> patterns_;
  // Grows the tables below to the pool's id_limit() (servers may join the pool).
  void Fit();

  std::vector<uint32_t> per_backend_;  // by server id: channels + shard channels on it
  std::vector<bool> needs_resubscribe_;
  UvHandle<uv_timer_t> retry_timer_;
  uint64_t retry_delay_ms_ = 0;
};

}  // namespace rl::proxy
