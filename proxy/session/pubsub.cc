#include "proxy/session/pubsub.h"

#include <algorithm>

#include "proxy/commands/command_table.h"
#include "proxy/host/worker.h"
#include "proxy/io/client_conn.h"
#include "proxy/io/server_conn.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/errors.h"
#include "proxy/route/pool_router.h"
#include "proxy/session/client_session.h"
#include "proxy/session/pubsub_hub.h"

namespace rl::proxy {

namespace {

// Redis's confirmation: [kind, name (nil when there was nothing to leave), count].
void AppendConfirmation(std::string* out, std::string_view kind, const std::string_view* name,
                        size_t count) {
  AppendArrayHeader(out, 3);
  AppendBulk(out, kind);
  if (name != nullptr) {
    AppendBulk(out, *name);
  } else {
    AppendNullBulk(out);
  }
  AppendInteger(out, static_cast<int64_t>(count));
}

}  // namespace

Subscriptions::Subscriptions(ClientSession* session) : session_(session) {}

Subscriptions::~Subscriptions() { Reset(); }

void Subscriptions::Run(Request* r, const ParsedRequest& req, const CommandInfo& info) {
  Handler handler = info.handler;
  std::span<const std::string_view> names = req.argv.subspan(1);
  if (handler == Handler::kPublish) {
    PoolRouter* pool = session_->pool();
    pool->Forward(session_->client(), r, req, pool->ChannelBackend(req.argv[1]));
  } else if (handler == Handler::kSubscribe) {
    Subscribe(r, Type::kChannel, names);
  } else if (handler == Handler::kPsubscribe) {
    Subscribe(r, Type::kPattern, names);
  } else if (handler == Handler::kSsubscribe) {
    Subscribe(r, Type::kShard, names);
  } else if (handler == Handler::kUnsubscribe) {
    Unsubscribe(r, Type::kChannel, names);
  } else if (handler == Handler::kPunsubscribe) {
    Unsubscribe(r, Type::kPattern, names);
  } else {
    Unsubscribe(r, Type::kShard, names);
  }
}

void Subscriptions::Ping(Request* r, std::span<const std::string_view> argv) {
  if (argv.size() > 2) {
    session_->Reply(r, "-ERR wrong number of arguments for 'ping' command\r\n");
    return;
  }
  std::string out;
  AppendArrayHeader(&out, 2);
  AppendBulk(&out, "pong");
  AppendBulk(&out, argv.size() == 2 ? argv[1] : std::string_view{});
  session_->Reply(r, out);
}

void Subscriptions::Subscribe(Request* r, Type type, std::span<const std::string_view> names) {
  PoolRouter* pool = session_->pool();
  size_t backends = pool->id_limit();
  std::vector<std::vector<std::string_view>> to_send(backends);
  std::string_view kind = type == Type::kChannel   ? "subscribe"
                          : type == Type::kPattern ? "psubscribe"
                                                   : "ssubscribe";
  std::string& out = r->reply_own;
  out.clear();
  for (std::string_view name : names) {
    if (type == Type::kPattern) {
      if (patterns_.emplace(name).second) {
        for (const TopologyServer& server : pool->topology().servers()) {
          to_send[server.id].push_back(name);
        }
      }
    } else {
      ChannelMap& map = type == Type::kChannel ? channels_ : shard_channels_;
      if (map.find(name) == map.end()) {
        Backend* owner = pool->ChannelBackend(name);
        uint32_t b = owner == nullptr ? kAnyBackend : owner->id();
        map.emplace(name, b);
        if (b != kAnyBackend) to_send[b].push_back(name);
      }
    }
    size_t count =
        type == Type::kShard ? shard_channels_.size() : channels_.size() + patterns_.size();
    AppendConfirmation(&out, kind, &name, count);
  }
  r->UseOwnReply();
  // The reply waits for every server's confirmation: once the client has it, whatever is
  // published reaches it. One pending count is ours until every command is sent.
  r->pending = 1;
  PubsubHub* hub = pool->pubsub_hub();
  auto hub_type = static_cast<PubsubHub::Type>(type);
  uint32_t failed = kAnyBackend;
  for (uint32_t b = 0; b < backends; ++b) {
    if (!to_send[b].empty() && !hub->Add(this, hub_type, b, to_send[b], r)) failed = b;
  }
  if (failed != kAnyBackend) {
    // Never confirm what does not listen: the names this command added are left everywhere
    // and the client gets the error instead of its confirmations.
    std::string why = hub->last_error();
    for (uint32_t b = 0; b < backends; ++b) {
      if (to_send[b].empty()) continue;
      hub->Remove(this, hub_type, b, to_send[b]);
      for (std::string_view name : to_send[b]) {
        if (type == Type::kPattern) {
          patterns_.erase(std::string(name));
        } else {
          (type == Type::kChannel ? channels_ : shard_channels_).erase(std::string(name));
        }
      }
    }
    Backend* backend = pool->BackendById(failed);
    out = BackendError(backend != nullptr ? std::string_view(backend->label()) : "?", why);
  }
  if (--r->pending == 0) {
    r->done = true;
    session_->client()->OnReplyReady(r);
  }
}

void Subscriptions::Unsubscribe(Request* r, Type type, std::span<const std::string_view> names) {
  PoolRouter* pool = session_->pool();
  size_t backends = pool->id_limit();
  std::vector<std::vector<std::string>> removed(backends);
  std::string_view kind = type == Type::kChannel   ? "unsubscribe"
                          : type == Type::kPattern ? "punsubscribe"
                                                   : "sunsubscribe";
  // No names: every subscription of the type (copied: erasing invalidates them).
  std::vector<std::string> all;
  if (names.empty()) {
    if (type == Type::kPattern) {
      all.assign(patterns_.begin(), patterns_.end());
    } else {
      for (const auto& [name, b] : type == Type::kChannel ? channels_ : shard_channels_) {
        all.push_back(name);
      }
    }
  }
  std::vector<std::string_view> all_views(all.begin(), all.end());
  std::span<const std::string_view> list = names.empty() ? all_views : names;
  std::string out;
  for (std::string_view name : list) {
    if (type == Type::kPattern) {
      auto it = patterns_.find(name);
      if (it != patterns_.end()) {
        patterns_.erase(it);
        for (auto& r2 : removed) r2.emplace_back(name);
      }
    } else {
      ChannelMap& map = type == Type::kChannel ? channels_ : shard_channels_;
      auto it = map.find(name);
      if (it != map.end()) {
        uint32_t b = it->second;
        map.erase(it);
        if (b != kAnyBackend && b < backends) removed[b].emplace_back(name);
      }
    }
    size_t count =
        type == Type::kShard ? shard_channels_.size() : channels_.size() + patterns_.size();
    AppendConfirmation(&out, kind, &name, count);
  }
  if (list.empty()) {
    size_t count =
        type == Type::kShard ? shard_channels_.size() : channels_.size() + patterns_.size();
    AppendConfirmation(&out, kind, nullptr, count);
  }
  // Messages are filtered by the client's subscriptions as they arrive, so the confirmation
  // need not wait for the servers.
  session_->Reply(r, out);
  PubsubHub* hub = pool->pubsub_hub();
  for (uint32_t b = 0; b < backends; ++b) {
    if (removed[b].empty()) continue;
    std::vector<std::string_view> views(removed[b].begin(), removed[b].end());
    hub->Remove(this, static_cast<PubsubHub::Type>(type), b, views);
  }
}

void Subscriptions::Deliver(Chunk* chunk, std::string_view reply) {
  ClientConn* client = session_->client();
  Request* m = client->NewRequest();
  ++chunk->refs;
  m->reply_chunk = ChunkRef(chunk);
  m->reply = reply;
  m->done = true;
  client->OnReplyReady(m);
}

void Subscriptions::Reset() {
  if (active()) {
    PoolRouter* pool = session_->pool();
    PubsubHub* hub = pool->pubsub_hub();
    auto leave = [&](const ChannelMap& map, PubsubHub::Type type) {
      for (const auto& [name, b] : map) {
        if (b == kAnyBackend) continue;
        std::string_view view = name;
        hub->Remove(this, type, b, std::span(&view, 1));
      }
    };
    leave(channels_, PubsubHub::Type::kChannel);
    leave(shard_channels_, PubsubHub::Type::kShard);
    std::vector<std::string_view> patterns(patterns_.begin(), patterns_.end());
    for (uint32_t b = 0; b < pool->id_limit() && !patterns.empty(); ++b) {
      hub->Remove(this, PubsubHub::Type::kPattern, b, patterns);
    }
  }
  channels_.clear();
  shard_channels_.clear();
  patterns_.clear();
}

}  // namespace rl::proxy
