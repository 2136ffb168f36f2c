// PeerLinks: one authenticated RespClient per peer, and Send()'s RAFT.MSG batches.
//
//   Send(messages) ─faults─> per destination, in order ─> RAFT.MSG m1 m2 ... (<= max_batch_bytes)
//     link: connect ─> RAFT.HELLO ─> RAFT.AUTH ─> authenticated: batches and proposals go out
//     not authenticated, or past max_outstanding_bytes unanswered: messages are dropped
#include "raft/node/peer_links.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "proxy/base/log.h"
#include "raft/codec.h"
#include "raft/node/peer_auth.h"
#include "raft/node/peer_links_internal.h"

namespace rl::raft {

using proxy::Log;
using proxy::RespClient;
using proxy::RespReply;
using proxy::RespResult;

namespace peer_links_internal {

bool ParseAddress(const std::string& addr, std::string* host, uint16_t* port) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string_view h(addr.data(), colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  }
  std::string_view p(addr.data() + colon + 1, addr.size() - colon - 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value == 0 || value > 65535) {
    return false;
  }
  *host = std::string(h);
  *port = static_cast<uint16_t>(value);
  return true;
}

proxy::RespClientOptions ClientOptions(const PeerSettings& settings, const std::string& host,
                                       uint16_t port) {
  proxy::RespClientOptions options;
  options.host = host;
  options.port = port;
  options.connect_timeout = settings.connect_timeout;
  // RespClient's one timeout covers every command, RAFT.PROPOSE too: keep it past Forward()'s
  // own, which answers first (a late reply is then ignored, the connection kept).
  options.request_timeout =
      std::max(settings.request_timeout, settings.propose_timeout + std::chrono::seconds(1));
  options.reconnect_min = settings.reconnect_min;
  options.reconnect_max = settings.reconnect_max;
  options.keepalive_s = 10;
  return options;
}

void Handshake(RespClient* client, const PeerSettings& settings,
               std::move_only_function<void(HandshakeResult)> done) {
  using Outcome = HandshakeResult::Outcome;
  client->Send({"RAFT.HELLO"}, [client, &settings,
                                done = std::move(done)](RespResult hello) mutable {
    if (!hello) return done({Outcome::kLost, "RAFT.HELLO: " + hello.error().message});
    if (hello->type != RespReply::Type::kBulk || hello->str.empty()) {
      return done({Outcome::kRefused, "RAFT.HELLO answered " + hello->ToString()});
    }
    std::string from = std::to_string(settings.self);
    std::string cluster = std::to_string(settings.cluster_id);
    std::string proof = AuthProof(settings.secret, hello->str, settings.self, settings.cluster_id);
    client->Send({"RAFT.AUTH", from, cluster, proof},
                 [done = std::move(done)](RespResult auth) mutable {
                   if (!auth) return done({Outcome::kLost, "RAFT.AUTH: " + auth.error().message});
                   if (!auth->IsString("OK")) {
                     return done({Outcome::kRefused, "RAFT.AUTH answered " + auth->ToString()});
                   }
                   done({Outcome::kOk, ""});
                 });
  });
}

}  // namespace peer_links_internal

using namespace peer_links_internal;

std::expected<std::unique_ptr<PeerLinks>, std::string> PeerLinks::Create(uv_loop_t* loop,
                                                                         PeerSettings settings) {
  if (settings.secret.size() < kMinPeerSecretLength) {
    return std::unexpected(
        fmt::format("the cluster secret must have at least {} bytes", kMinPeerSecretLength));
  }
  return std::unique_ptr<PeerLinks>(new PeerLinks(loop, std::move(settings)));
}

PeerLinks::PeerLinks(uv_loop_t* loop, PeerSettings settings)
    : loop_(loop), settings_(std::move(settings)) {}

PeerLinks::~PeerLinks() = default;

bool PeerLinks::authenticated(NodeId peer) const {
  auto it = links_.find(peer);
  return it != links_.end() && it->second->authenticated;
}

void PeerLinks::SetPeers(std::map<NodeId, std::string> peers) {
  peers.erase(settings_.self);
  for (auto it = links_.begin(); it != links_.end();) {
    auto wanted = peers.find(it->first);
    if (wanted == peers.end()) {
      FailProposalsTo(it->first, false, fmt::format("TRYAGAIN node {} was removed", it->first));
      it = links_.erase(it);
      continue;
    }
    if (wanted->second != it->second->addr) {
      FailProposalsTo(it->first, true,
                      fmt::format("TRYAGAIN node {} moved to {}", it->first, wanted->second));
      it->second->addr = wanted->second;
      Connect(it->second.get());
    }
    ++it;
  }
  for (auto& [id, addr] : peers) {
    if (links_.contains(id)) continue;
    auto link = std::make_unique<Link>();
    link->owner = this;
    link->id = id;
    link->addr = addr;
    Connect(link.get());
    links_.emplace(id, std::move(link));
  }
}

// (Re)creates the link's client. The old one's callbacks are dropped uncalled, so what they
// would have undone (outstanding bytes, sent proposals) is reset here and by the caller.
void PeerLinks::Connect(Link* link) {
  link->retry.Close();
  link->client.reset();
  link->authenticated = false;
  link->outstanding = 0;
  std::string host;
  uint16_t port = 0;
  if (!ParseAddress(link->addr, &host, &port)) {
    Log(proxy::kLogError, "raft: node {} has an unusable peer address '{}'", link->id, link->addr);
    return;
  }
  proxy::RespClientOptions options = ClientOptions(settings_, host, port);
  options.on_connected = [this, link] { OnConnected(link); };
  options.on_disconnected = [this, link](const proxy::RespError& reason) {
    OnDisconnected(link, reason);
  };
  link->client = RespClient::Create(loop_, std::move(options));
}

void PeerLinks::OnConnected(Link* link) {
  if (link->ever_connected) ++stats_.reconnects;
  link->ever_connected = true;
  uint64_t generation = ++link->generation;
  Handshake(link->client.get(), settings_, [this, link, generation](HandshakeResult result) {
    if (generation != link->generation) return;
    switch (result.outcome) {
      case HandshakeResult::Outcome::kOk:
        return OnAuthenticated(link);
      case HandshakeResult::Outcome::kRefused:
        return OnHandshakeFailed(link, result.error);
      case HandshakeResult::Outcome::kLost:
        return;  // on_disconnected follows; RespClient reconnects after its back-off
    }
  });
}

void PeerLinks::OnDisconnected(Link* link, const proxy::RespError& reason) {
  ++link->generation;
  const bool was_up = link->authenticated;
  link->authenticated = false;
  if (!was_up) return;
  Log(proxy::kLogNotice, "raft: lost the link to node {} at {}: {}", link->id, link->addr,
      reason.message);
  // A closed socket (not a timeout) on a live link: the peer's process most likely died.
  const bool closed = reason.code == proxy::RespError::Code::kConnectionLost &&
                      (reason.uv_status == UV_EOF || reason.uv_status == UV_ECONNRESET);
  if (closed && peer_down_) peer_down_(link->id);
}

void PeerLinks::OnAuthenticated(Link* link) {
  link->authenticated = true;
  Log(proxy::kLogInfo, "raft: link to node {} at {} authenticated", link->id, link->addr);
  std::deque<uint64_t> waiting = std::move(link->waiting);
  for (uint64_t seq : waiting) SendProposal(link, seq);
}

// A peer that refuses us (another cluster, another secret) or is not a peer port: start over
// after reconnect_max, so that it is neither hammered nor left half-open.
void PeerLinks::OnHandshakeFailed(Link* link, const std::string& why) {
  ++stats_.auth_failures;
  Log(proxy::kLogWarn, "raft: node {} at {} refused the handshake: {}", link->id, link->addr, why);
  FailProposalsTo(link->id, true, fmt::format("TRYAGAIN node {}: {}", link->id, why));
  link->client.reset();
  link->authenticated = false;
  link->outstanding = 0;
  link->retry.Init([&](uv_timer_t* t) { return uv_timer_init(loop_, t); }, link);
  uv_timer_start(
      link->retry.get(),
      [](uv_timer_t* t) {
        auto* l = static_cast<Link*>(t->data);
        l->owner->Connect(l);
      },
      static_cast<uint64_t>(settings_.reconnect_max.count()), 0);
}

void PeerLinks::Send(std::vector<Message> messages) {
  if (faults_) messages = ApplyFaults(std::move(messages));
  SendNow(std::move(messages));
}

void PeerLinks::SendNow(std::vector<Message> messages) {
  // Destinations in order of first appearance; each keeps its messages' order.
  std::vector<std::pair<NodeId, std::vector<const Message*>>> groups;
  for (const Message& m : messages) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == m.to; });
    if (it == groups.end()) it = groups.insert(groups.end(), {m.to, {}});
    it->second.push_back(&m);
  }
  for (auto& [to, group] : groups) {
    auto link = links_.find(to);
    if (link == links_.end() || !link->second->authenticated) {
      stats_.dropped += group.size();
      continue;
    }
    std::vector<std::string> batch;
    size_t bytes = 0;
    for (const Message* m : group) {
      std::string encoded = EncodeMessage(*m);
      if (!batch.empty() && bytes + encoded.size() > settings_.max_batch_bytes) {
        size_t n = batch.size();
        SendBatch(link->second.get(), std::move(batch), n);
        batch.clear();
        bytes = 0;
      }
      bytes += encoded.size();
      batch.push_back(std::move(encoded));
    }
    size_t n = batch.size();
    SendBatch(link->second.get(), std::move(batch), n);
  }
}

void PeerLinks::SendBatch(Link* link, std::vector<std::string> encoded, size_t messages) {
  std::vector<std::string_view> argv;
  argv.reserve(encoded.size() + 1);
  argv.push_back("RAFT.MSG");
  for (const std::string& e : encoded) argv.push_back(e);
  std::string command;
  proxy::AppendCommand(&command, argv);
  size_t size = command.size();
  if (link->outstanding > 0 && link->outstanding + size > settings_.max_outstanding_bytes) {
    stats_.dropped += messages;
    return;
  }
  link->outstanding += size;
  stats_.messages_out += messages;
  stats_.bytes_out += size;
  link->client->SendEncoded(command, [link, size](RespResult reply) {
    link->outstanding -= size;
    if (reply && reply->is_error()) {
      Log(proxy::kLogWarn, "raft: node {} refused RAFT.MSG: {}", link->id, reply->str);
    }
  });
}

}  // namespace rl::raft
