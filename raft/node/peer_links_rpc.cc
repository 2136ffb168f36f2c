// PeerLinks: RAFT.PROPOSE (Forward) and RAFT.MEMBER (AskMember). Every pending call owns a
// timer; a failure decided on the spot (no address, the link was removed) is delivered through
// that timer at 0 ms, so `done` never runs inside Forward(), AskMember() or SetPeers().
#include <fmt/format.h>

#include "proxy/base/log.h"
#include "proxy/resp/reply_writer.h"
#include "raft/node/peer_links.h"
#include "raft/node/peer_links_internal.h"

namespace rl::raft {

using proxy::RespReply;
using proxy::RespResult;
using namespace peer_links_internal;

namespace {

ProposalResult ProposalFromReply(NodeId to, const RespResult& reply) {
  if (!reply) {
    return std::unexpected(fmt::format("TRYAGAIN link to node {}: {}", to, reply.error().message));
  }
  if (reply->is_error()) return std::unexpected(reply->str);
  const auto& e = reply->elements;
  if (reply->type != RespReply::Type::kArray || (e.size() != 2 && e.size() != 3) ||
      e[0].type != RespReply::Type::kInteger || e[0].integer < 0 ||
      e[1].type != RespReply::Type::kBulk ||
      (e.size() == 3 && (e[2].type != RespReply::Type::kInteger || e[2].integer <= 0))) {
    return std::unexpected(
        fmt::format("ERR node {} answered RAFT.PROPOSE with {}", to, reply->ToString()));
  }
  uint64_t value = e.size() == 3 ? static_cast<uint64_t>(e[2].integer) : 0;
  return ProposalOutcome{static_cast<Index>(e[0].integer), e[1].str, value};
}

std::expected<MemberState, std::string> MemberFromReply(const std::string& addr,
                                                        const RespResult& reply) {
  if (!reply) return std::unexpected(fmt::format("{}: {}", addr, reply.error().message));
  if (reply->type != RespReply::Type::kInteger || reply->integer < 0 ||
      reply->integer > static_cast<int64_t>(MemberState::kJoined)) {
    return std::unexpected(fmt::format("{} answered RAFT.MEMBER with {}", addr, reply->ToString()));
  }
  return static_cast<MemberState>(reply->integer);
}

}  // namespace

void PeerLinks::Forward(NodeId to, Proposal proposal, ProposalDone done) {
  auto pending = std::make_unique<Pending>();
  Pending* p = pending.get();
  p->owner = this;
  p->seq = next_seq_++;
  p->to = to;
  p->done = std::move(done);
  std::string kind = std::to_string(static_cast<int>(proposal.kind));
  std::string id = std::to_string(proposal.id);
  std::string_view argv[] = {"RAFT.PROPOSE", kind, id, proposal.addr, proposal.data};
  proxy::AppendCommand(&p->command, argv);
  p->timeout_error = fmt::format("TRYAGAIN node {} did not answer RAFT.PROPOSE within {} ms", to,
                                 settings_.propose_timeout.count());
  p->timer.Init([&](uv_timer_t* t) { return uv_timer_init(loop_, t); }, p);
  uint64_t after = static_cast<uint64_t>(settings_.propose_timeout.count());
  auto link = links_.find(to);
  if (link == links_.end()) {
    p->failing = true;
    p->timeout_error = fmt::format("TRYAGAIN no address for node {}", to);
    after = 0;
  } else if (!link->second->authenticated) {
    // Down (a leader that just died, most often): the caller retries at once rather than wait
    // out the timeout for a connection that may never come back.
    p->failing = true;
    p->timeout_error = fmt::format("TRYAGAIN no connection to node {}", to);
    after = 0;
  }
  uv_timer_start(
      p->timer.get(),
      [](uv_timer_t* t) {
        auto* pending = static_cast<Pending*>(t->data);
        pending->owner->FinishProposal(pending->seq, std::unexpected(pending->timeout_error));
      },
      after, 0);
  uint64_t seq = p->seq;
  proposals_.emplace(seq, std::move(pending));
  if (link == links_.end() || !link->second->authenticated) return;
  SendProposal(link->second.get(), seq);
}

void PeerLinks::SendProposal(Link* link, uint64_t seq) {
  auto it = proposals_.find(seq);
  if (it == proposals_.end() || it->second->failing) return;
  it->second->sent = true;
  NodeId to = link->id;
  link->client->SendEncoded(it->second->command, [this, seq, to](RespResult reply) {
    FinishProposal(seq, ProposalFromReply(to, reply));
  });
}

void PeerLinks::FinishProposal(uint64_t seq, ProposalResult result) {
  auto it = proposals_.find(seq);
  if (it == proposals_.end()) return;  // timed out earlier: a late answer is ignored
  ProposalDone done = std::move(it->second->done);
  proposals_.erase(it);
  done(std::move(result));
}

void PeerLinks::FailProposalsTo(NodeId peer, bool sent_only, const std::string& why) {
  for (auto& [seq, p] : proposals_) {
    if (p->to != peer || p->failing || (sent_only && !p->sent)) continue;
    p->failing = true;
    p->timeout_error = why;
    uv_timer_start(
        p->timer.get(),
        [](uv_timer_t* t) {
          auto* pending = static_cast<Pending*>(t->data);
          pending->owner->FinishProposal(pending->seq, std::unexpected(pending->timeout_error));
        },
        0, 0);
  }
}

void PeerLinks::AskMember(
    const std::string& addr, NodeId id,
    std::move_only_function<void(std::expected<MemberState, std::string>)> done) {
  auto ask = std::make_unique<Ask>();
  Ask* a = ask.get();
  a->owner = this;
  a->seq = next_seq_++;
  a->addr = addr;
  a->id = id;
  a->done = std::move(done);
  a->timeout_error = fmt::format("{} did not answer RAFT.MEMBER within {} ms", addr,
                                 settings_.ask_timeout.count());
  a->timer.Init([&](uv_timer_t* t) { return uv_timer_init(loop_, t); }, a);
  std::string host;
  uint16_t port = 0;
  bool usable = ParseAddress(addr, &host, &port);
  if (!usable) a->timeout_error = fmt::format("'{}' is not host:port", addr);
  uv_timer_start(
      a->timer.get(),
      [](uv_timer_t* t) {
        auto* ask = static_cast<Ask*>(t->data);
        ask->owner->FinishAsk(ask->seq, std::unexpected(ask->timeout_error));
      },
      usable ? static_cast<uint64_t>(settings_.ask_timeout.count()) : 0, 0);
  asks_.emplace(a->seq, std::move(ask));
  if (!usable) return;
  proxy::RespClientOptions options = ClientOptions(settings_, host, port);
  options.on_connected = [this, a] { StartAskConnection(a); };
  uint64_t seq = a->seq;
  options.on_disconnected = [this, seq, addr](const proxy::RespError& reason) {
    FinishAsk(seq, std::unexpected(fmt::format("cannot reach {}: {}", addr, reason.message)));
  };
  a->client = proxy::RespClient::Create(loop_, std::move(options));
}

void PeerLinks::StartAskConnection(Ask* a) {
  uint64_t seq = a->seq;
  proxy::RespClient* client = a->client.get();
  Handshake(client, settings_, [this, seq, client, a](HandshakeResult result) {
    if (result.outcome != HandshakeResult::Outcome::kOk) {
      return FinishAsk(seq, std::unexpected(fmt::format("{}: {}", a->addr, result.error)));
    }
    std::string id = std::to_string(a->id);
    client->Send({"RAFT.MEMBER", id}, [this, seq, a](RespResult reply) {
      FinishAsk(seq, MemberFromReply(a->addr, reply));
    });
  });
}

void PeerLinks::FinishAsk(uint64_t seq, std::expected<MemberState, std::string> result) {
  auto it = asks_.find(seq);
  if (it == asks_.end()) return;
  auto done = std::move(it->second->done);
  asks_.erase(it);  // closes the connection (this may be inside one of its callbacks)
  done(std::move(result));
}

}  // namespace rl::raft
