#include "proxy/session/pubsub.h"

#include <algorithm>

#include "proxy/commands/command_table.h"
#include "proxy/host/worker.h"
#include "proxy/io/client_conn.h"
#include "proxy/io/server_conn.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/pool_router.h"
#include "proxy/session/client_session.h"
#include "proxy/session/reserved_conn.h"

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

Subscriptions::Subscriptions(ClientSession* session) : session_(session) { Fit(); }

void Subscriptions::Fit() {
  size_t limit = session_->pool()->id_limit();
  if (per_backend_.size() < limit) {
    per_backend_.resize(limit, 0);
    needs_resubscribe_.resize(limit, false);
  }
}

Subscriptions::~Subscriptions() = default;

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
  Fit();
  size_t backends = per_backend_.size();
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
        if (b != kAnyBackend) {
          ++per_backend_[b];
          to_send[b].push_back(name);
        }
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
  std::string_view command = type == Type::kChannel   ? "SUBSCRIBE"
                             : type == Type::kPattern ? "PSUBSCRIBE"
                                                      : "SSUBSCRIBE";
  for (uint32_t b = 0; b < backends; ++b) {
    if (!to_send[b].empty()) SendCommand(b, command, to_send[b], r);
  }
  if (--r->pending == 0) {
    r->done = true;
    session_->client()->OnReplyReady(r);
  }
}

void Subscriptions::Unsubscribe(Request* r, Type type, std::span<const std::string_view> names) {
  Fit();
  size_t backends = per_backend_.size();
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
        if (b != kAnyBackend) {
          --per_backend_[b];
          removed[b].emplace_back(name);
        }
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
  std::string_view command = type == Type::kChannel   ? "UNSUBSCRIBE"
                             : type == Type::kPattern ? "PUNSUBSCRIBE"
                                                      : "SUNSUBSCRIBE";
  ReservedConns& conns = session_->conns();
  for (uint32_t b = 0; b < backends; ++b) {
    if (removed[b].empty()) continue;
    if (!Listens(b)) {
      // Nothing left there: closing the connection unsubscribes it.
      needs_resubscribe_[b] = false;
      conns.Close(b, ReservedConns::Kind::kSubscriber);
    } else if (conns.Find(b, ReservedConns::Kind::kSubscriber) != nullptr) {
      std::vector<std::string_view> views(removed[b].begin(), removed[b].end());
      SendCommand(b, command, views, nullptr);
    }
  }
}

bool Subscriptions::Listens(uint32_t backend) const {
  return (backend < per_backend_.size() && per_backend_[backend] > 0) || !patterns_.empty();
}

bool Subscriptions::SendCommand(uint32_t backend, std::string_view command,
                                std::span<const std::string_view> names, Request* waiting) {
  ServerConn* conn =
      session_->conns().Get(backend, ReservedConns::Kind::kSubscriber, session_->name());
  if (conn == nullptr) {
    needs_resubscribe_[backend] = true;
    ScheduleRetry();
    return false;
  }
  std::vector<std::string_view> argv;
  argv.reserve(names.size() + 1);
  argv.push_back(command);
  argv.insert(argv.end(), names.begin(), names.end());
  Request* slot =
      NewOwnedCommand(session_->worker(), argv, static_cast<uint32_t>(names.size()), waiting);
  ReservedConns::Send(conn, slot, 0);
  return true;
}

bool Subscriptions::OnPush(uint32_t backend, Chunk* chunk, std::string_view reply) {
  ReplyValue top;
  if (!ReadReplyValue(reply, &top) || top.type != '*' || top.integer < 3) return true;
  ArrayElements elements(reply);
  ReplyValue kind, name;
  if (!ReadReplyValue(elements.Next(), &kind) || kind.type != '$') return true;
  if (!ReadReplyValue(elements.Next(), &name) || name.type != '$') return true;
  // A channel's messages count only from the server it is subscribed on.
  auto on_backend = [&](const ChannelMap& map) {
    auto it = map.find(name.text);
    return it != map.end() && it->second == backend;
  };
  bool wanted;
  if (kind.text == "message" && top.integer == 3) {
    wanted = on_backend(channels_);
  } else if (kind.text == "pmessage" && top.integer == 4) {
    wanted = patterns_.contains(name.text);
  } else if (kind.text == "smessage" && top.integer == 3) {
    wanted = on_backend(shard_channels_);
  } else {
    retry_delay_ms_ = 0;  // a confirmation: the server is back
    return true;          // answers the oldest command
  }
  if (wanted) {
    // Forwarded as the server sent it: the bytes one Redis would send.
    ClientConn* client = session_->client();
    Request* m = client->NewRequest();
    ++chunk->refs;
    m->reply_chunk = ChunkRef(chunk);
    m->reply = reply;
    m->done = true;
    client->OnReplyReady(m);
  }
  return false;
}

void Subscriptions::OnConnLost(uint32_t backend) {
  if (!Listens(backend)) return;
  needs_resubscribe_[backend] = true;
  ScheduleRetry();
}

void Subscriptions::ScheduleRetry() {
  Worker* worker = session_->worker();
  if (!retry_timer_) {
    retry_timer_.Init([&](uv_timer_t* t) { return uv_timer_init(worker->loop(), t); }, this);
  }
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(retry_timer_.get()))) return;
  uint64_t min = static_cast<uint64_t>(worker->options().reconnect_min.count());
  uint64_t max = static_cast<uint64_t>(worker->options().reconnect_max.count());
  retry_delay_ms_ = retry_delay_ms_ == 0 ? min : std::min(retry_delay_ms_ * 2, max);
  uv_timer_start(retry_timer_.get(), OnRetryTimer, retry_delay_ms_, 0);
}

void Subscriptions::OnRetryTimer(uv_timer_t* t) {
  auto* self = static_cast<Subscriptions*>(t->data);
  if (self->session_->torn_down()) return;
  for (uint32_t b = 0; b < self->needs_resubscribe_.size(); ++b) {
    if (!self->needs_resubscribe_[b]) continue;
    self->needs_resubscribe_[b] = false;
    // A server that left the pool is not resubscribed: its channels listen nowhere until the
    // client subscribes again (its messages are published on the channel's new server).
    if (self->session_->pool()->BackendById(b) == nullptr) continue;
    if (self->Listens(b) &&
        self->session_->conns().Find(b, ReservedConns::Kind::kSubscriber) == nullptr) {
      self->Resubscribe(b);
    }
  }
}

void Subscriptions::Resubscribe(uint32_t backend) {
  std::vector<std::string_view> names;
  for (const auto& [name, b] : channels_) {
    if (b == backend) names.push_back(name);
  }
  if (!names.empty() && !SendCommand(backend, "SUBSCRIBE", names, nullptr)) return;
  names.clear();
  for (const auto& [name, b] : shard_channels_) {
    if (b == backend) names.push_back(name);
  }
  if (!names.empty() && !SendCommand(backend, "SSUBSCRIBE", names, nullptr)) return;
  names.assign(patterns_.begin(), patterns_.end());
  if (!names.empty()) SendCommand(backend, "PSUBSCRIBE", names, nullptr);
}

void Subscriptions::Reset() {
  channels_.clear();
  shard_channels_.clear();
  patterns_.clear();
  std::fill(per_backend_.begin(), per_backend_.end(), 0);
  std::fill(needs_resubscribe_.begin(), needs_resubscribe_.end(), false);
  retry_timer_.Close();
  retry_delay_ms_ = 0;
}

}  // namespace rl::proxy
