// Pub/sub for one client (part of its ClientSession): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
// PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, and PING while subscribed.
//
// A channel (and a shard channel) lives on the server its name hashes to, as a key does:
// PUBLISH goes there, and a subscriber listens there. A pattern listens on every server, and
// every server's messages are merged into the client's stream. The clients of a worker share
// its subscriber connections, one per server (pubsub_hub.h), which fan messages out to them.
//
// The client sees what one Redis would send it in RESP2: ringleader keeps the client's
// subscriptions itself and writes the confirmations (counts are the client's totals across
// servers), after the servers confirmed, so that a message published once the client has its
// confirmation reaches it; messages are forwarded as the server sent them, minus any for a
// channel or pattern the client has left meanwhile. A subscriber connection that fails is
// reopened by the hub, with back-off, and resubscribed; messages published while it was down
// are lost.
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
  // A message for a channel or pattern the client listens to (from PubsubHub), forwarded as
  // the server sent it: the bytes one Redis would send.
  void Deliver(Chunk* chunk, std::string_view reply);
  // RESET or the client went away: leave every subscription.
  void Reset();

 private:
  enum class Type : uint8_t { kChannel, kPattern, kShard };  // as PubsubHub::Type
  // Channel or shard channel -> the backend index it was subscribed on.
  using ChannelMap = std::map<std::string, uint32_t, std::less<>>;

  void Subscribe(Request* r, Type type, std::span<const std::string_view> names);
  void Unsubscribe(Request* r, Type type, std::span<const std::string_view> names);

  ClientSession* session_;
  ChannelMap channels_;
  ChannelMap shard_channels_;
  std::set<std::string, std::less<>> patterns_;
};

}  // namespace rl::proxy
