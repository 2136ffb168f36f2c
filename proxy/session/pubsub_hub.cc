#include "proxy/session/pubsub_hub.h"

#include <algorithm>

#include "fmt/format.h"
#include "proxy/host/worker.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/route/pool_router.h"
#include "proxy/session/pubsub.h"

namespace rl::proxy {

namespace {

constexpr std::string_view kSubscribe[3] = {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"};
constexpr std::string_view kUnsubscribe[3] = {"UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"};

}  // namespace

PubsubHub::PubsubHub(PoolRouter* pool) : pool_(pool), conns_(pool, this) {}

PubsubHub::~PubsubHub() = default;

PubsubHub::Side& PubsubHub::SideOf(uint32_t backend) {
  if (sides_.size() <= backend) sides_.resize(backend + 1);
  return sides_[backend];
}

void PubsubHub::CloseAll() {
  conns_.CloseAll();
  retry_timer_.Close();
  for (Side& side : sides_) {
    side.unconfirmed = 0;
    side.needs_resubscribe = false;
  }
  closed_ = true;
}

size_t PubsubHub::connections() const {
  size_t n = 0;
  for (uint32_t b = 0; b < sides_.size(); ++b) {
    if (conns_.Find(b, ReservedConns::Kind::kSubscriber) != nullptr) ++n;
  }
  return n;
}

bool PubsubHub::Add(Subscriptions* sub, Type type, uint32_t backend,
                    std::span<const std::string_view> names, Request* waiting) {
  Side& side = SideOf(backend);
  Listeners& listeners = side.names[static_cast<int>(type)];
  thread_local std::vector<std::string_view> argv;
  argv.assign(1, kSubscribe[static_cast<int>(type)]);
  for (std::string_view name : names) {
    auto it = listeners.find(name);
    if (it == listeners.end()) {
      it = listeners.emplace(std::string(name), std::set<Subscriptions*>{}).first;
      argv.push_back(it->first);
    }
    it->second.insert(sub);
  }
  uint32_t fresh = static_cast<uint32_t>(argv.size() - 1);
  if (fresh > 0) return Send(backend, argv, fresh, waiting);
  if (side.needs_resubscribe) return false;  // not listening until the retry
  if (side.unconfirmed > 0) {
    // Every name is known, but some may still be unconfirmed: the PING's answer comes after
    // theirs (in subscribed mode ["pong", ""], else +PONG; either answers the oldest command).
    std::string_view ping[] = {"PING"};
    return Send(backend, ping, 1, waiting);
  }
  return true;
}

void PubsubHub::Remove(Subscriptions* sub, Type type, uint32_t backend,
                       std::span<const std::string_view> names) {
  if (backend >= sides_.size()) return;
  Side& side = sides_[backend];
  Listeners& listeners = side.names[static_cast<int>(type)];
  thread_local std::vector<std::string> gone;
  gone.clear();
  for (std::string_view name : names) {
    auto it = listeners.find(name);
    if (it == listeners.end() || it->second.erase(sub) == 0) continue;
    ++removals_;
    if (!it->second.empty()) continue;
    gone.push_back(std::move(listeners.extract(it).key()));
  }
  if (gone.empty()) return;
  if (side.empty() && side.unconfirmed == 0) {
    // Nothing left there: closing the connection unsubscribes it. (With commands still
    // unconfirmed it would fail them, and the clients waiting on them: it is unsubscribed now
    // and closed once they are answered, see OnPush.)
    side.needs_resubscribe = false;
    conns_.Close(backend, ReservedConns::Kind::kSubscriber);
    return;
  }
  if (conns_.Find(backend, ReservedConns::Kind::kSubscriber) == nullptr) return;
  thread_local std::vector<std::string_view> argv;
  argv.assign(1, kUnsubscribe[static_cast<int>(type)]);
  argv.insert(argv.end(), gone.begin(), gone.end());
  Send(backend, argv, static_cast<uint32_t>(gone.size()), nullptr);
}

bool PubsubHub::Send(uint32_t backend, std::span<const std::string_view> argv, uint32_t replies,
                     Request* waiting) {
  if (closed_) {
    last_error_ = "shutting down";
    return false;
  }
  Side& side = SideOf(backend);
  ServerConn* conn = conns_.Get(backend, ReservedConns::Kind::kSubscriber, "");
  if (conn == nullptr) {
    last_error_ = "subscriber connection failed: " + conns_.last_error();
    side.needs_resubscribe = true;
    ScheduleRetry();
    return false;
  }
  side.unconfirmed += replies;
  ReservedConns::Send(conn, NewOwnedCommand(pool_->worker(), argv, replies, waiting), 0);
  return true;
}

bool PubsubHub::OnPush(ServerConn* conn, Chunk* chunk, std::string_view reply) {
  uint32_t backend;
  ReservedConns::Kind kind;
  if (!conns_.Which(conn, &backend, &kind)) return true;
  Side& side = SideOf(backend);
  ReplyValue top;
  Type type;
  ReplyValue what, name;
  bool message = false;
  if (ReadReplyValue(reply, &top) && top.type == '*' && top.integer >= 3) {
    ArrayElements elements(reply);
    if (ReadReplyValue(elements.Next(), &what) && what.type == '$' &&
        ReadReplyValue(elements.Next(), &name) && name.type == '$') {
      if (what.text == "message" && top.integer == 3) {
        type = Type::kChannel;
        message = true;
      } else if (what.text == "pmessage" && top.integer == 4) {
        type = Type::kPattern;
        message = true;
      } else if (what.text == "smessage" && top.integer == 3) {
        type = Type::kShard;
        message = true;
      }
    }
  }
  if (!message) {
    retry_delay_ms_ = 0;  // a confirmation: the server is back
    if (side.unconfirmed > 0 && --side.unconfirmed == 0 && side.empty()) {
      // Every command answered and nothing left to listen to: close it, after this reply
      // completed its command (from the timer, not under the connection's read).
      StartTimer(0);
    }
    return true;  // answers the oldest command
  }
  const Listeners& listeners = side.names[static_cast<int>(type)];
  auto it = listeners.find(name.text);
  if (it == listeners.end()) return false;  // left meanwhile
  // A delivery may close a client (its output limit), which removes it from the set: deliver
  // from a copy, and once anything was removed meanwhile, only to those still listening (the
  // name points into the server's reply, which outlives this call).
  deliver_scratch_.assign(it->second.begin(), it->second.end());
  const uint64_t removals = removals_;
  for (Subscriptions* sub : deliver_scratch_) {
    if (removals_ != removals) {
      auto now = listeners.find(name.text);
      if (now == listeners.end()) break;
      if (!now->second.contains(sub)) continue;
    }
    sub->Deliver(chunk, reply);
  }
  return false;
}

void PubsubHub::OnDedicatedClosed(ServerConn* conn, std::string_view reason) {
  uint32_t backend;
  ReservedConns::Kind kind;
  if (!conns_.Forget(conn, reason, &backend, &kind)) return;
  Side& side = SideOf(backend);
  side.unconfirmed = 0;
  last_error_ = fmt::format("subscriber connection lost ({}), reconnecting", reason);
  if (side.empty() || closed_) return;
  side.needs_resubscribe = true;
  ScheduleRetry();
}

void PubsubHub::ScheduleRetry() {
  Worker* worker = pool_->worker();
  if (retry_timer_ && uv_is_active(reinterpret_cast<uv_handle_t*>(retry_timer_.get()))) return;
  uint64_t min = static_cast<uint64_t>(worker->options().reconnect_min.count());
  uint64_t max = static_cast<uint64_t>(worker->options().reconnect_max.count());
  retry_delay_ms_ = retry_delay_ms_ == 0 ? min : std::min(retry_delay_ms_ * 2, max);
  StartTimer(retry_delay_ms_);
}

void PubsubHub::StartTimer(uint64_t delay_ms) {
  if (closed_) return;
  Worker* worker = pool_->worker();
  if (!retry_timer_) {
    retry_timer_.Init([&](uv_timer_t* t) { return uv_timer_init(worker->loop(), t); }, this);
  }
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(retry_timer_.get()))) return;
  uv_timer_start(retry_timer_.get(), OnRetryTimer, delay_ms, 0);
}

void PubsubHub::OnRetryTimer(uv_timer_t* t) {
  auto* self = static_cast<PubsubHub*>(t->data);
  for (uint32_t b = 0; b < self->sides_.size(); ++b) {
    Side& side = self->sides_[b];
    if (side.empty() && side.unconfirmed == 0) {
      self->conns_.Close(b, ReservedConns::Kind::kSubscriber);  // idle, nothing to listen to
    }
    if (!side.needs_resubscribe) continue;
    side.needs_resubscribe = false;
    // A server that left the pool is not resubscribed: its channels listen nowhere until
    // their clients subscribe again (messages are published on the channel's new server).
    if (self->pool_->BackendById(b) == nullptr || side.empty()) continue;
    if (self->conns_.Find(b, ReservedConns::Kind::kSubscriber) == nullptr) self->Resubscribe(b);
  }
}

void PubsubHub::Resubscribe(uint32_t backend) {
  Side& side = SideOf(backend);
  for (int t = 0; t < 3; ++t) {
    if (side.names[t].empty()) continue;
    std::vector<std::string_view> argv{kSubscribe[t]};
    for (const auto& [name, subs] : side.names[t]) argv.push_back(name);
    if (!Send(backend, argv, static_cast<uint32_t>(argv.size() - 1), nullptr)) return;
  }
}

}  // namespace rl::proxy
