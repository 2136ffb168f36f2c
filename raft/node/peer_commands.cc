// The commands of the peer port (see README.md for the wire protocol). Dispatch is the table
// kCommands: a name, whether it needs RAFT.AUTH first, its arity, and its member function.
#include <fmt/format.h>

#include <charconv>

#include "proxy/base/ascii.h"
#include "proxy/base/log.h"
#include "proxy/resp/reply_writer.h"
#include "raft/codec.h"
#include "raft/node/peer_auth.h"
#include "raft/node/peer_conn.h"
#include "raft/node/peer_server.h"

namespace rl::raft {

using proxy::Log;

struct PeerConn::Command {
  std::string_view name;  // lower case
  bool needs_auth;
  size_t min_args;  // counting the name
  size_t max_args;  // 0: any number
  void (PeerConn::*run)(Args args);
};

const PeerConn::Command PeerConn::kCommands[] = {
    {"ping", false, 1, 2, &PeerConn::Ping},
    {"raft.status", false, 1, 1, &PeerConn::Status},
    {"raft.hello", false, 1, 1, &PeerConn::Hello},
    {"raft.auth", false, 4, 4, &PeerConn::Auth},
    {"raft.msg", true, 2, 0, &PeerConn::Msg},
    {"raft.propose", true, 5, 5, &PeerConn::Propose},
    {"raft.member", true, 2, 2, &PeerConn::Member},
};

namespace {

bool ParseU64(std::string_view text, uint64_t* value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string ProposalReply(const ProposalResult& result) {
  std::string out;
  if (!result) {
    proxy::AppendError(&out, result.error().empty() ? "ERR proposal failed" : result.error());
    return out;
  }
  // A value is sent only when there is one, so a reply without it reads as before.
  proxy::AppendArrayHeader(&out, result->value == 0 ? 2 : 3);
  proxy::AppendInteger(&out, static_cast<int64_t>(result->index));
  proxy::AppendBulk(&out, result->error);
  if (result->value != 0) proxy::AppendInteger(&out, static_cast<int64_t>(result->value));
  return out;
}

}  // namespace

void PeerConn::Execute(Args args) {
  const Command* command = nullptr;
  for (const Command& c : kCommands) {
    if (proxy::EqualsIgnoreCase(args[0], c.name)) command = &c;
  }
  if (command == nullptr || (command->needs_auth && !authed_)) {
    if (!authed_) return ReplyError("NOAUTH Authentication required (RAFT.HELLO, RAFT.AUTH)");
    return ReplyError(fmt::format("ERR unknown command '{}'", args[0].substr(0, 64)));
  }
  if (args.size() < command->min_args ||
      (command->max_args != 0 && args.size() > command->max_args)) {
    return ReplyError(fmt::format("ERR wrong number of arguments for '{}' command", command->name));
  }
  (this->*command->run)(args);
}

void PeerConn::Ping(Args args) {
  std::string out;
  if (args.size() == 2) {
    proxy::AppendBulk(&out, args[1]);
  } else {
    proxy::AppendStatus(&out, "PONG");
  }
  Reply(std::move(out));
}

void PeerConn::Status(Args) {
  std::string out;
  proxy::AppendBulk(&out, server_->handler_->StatusText());
  Reply(std::move(out));
}

void PeerConn::Hello(Args) {
  auto nonce = NewNonce();
  if (!nonce) return ReplyError(fmt::format("ERR {}", nonce.error()));
  nonce_ = *nonce;
  std::string out;
  proxy::AppendBulk(&out, nonce_);
  Reply(std::move(out));
}

void PeerConn::Auth(Args args) {
  // The nonce is used once, whatever the outcome: a proof cannot be replayed.
  std::string nonce = std::exchange(nonce_, std::string());
  uint64_t from = 0;
  uint64_t cluster = 0;
  const PeerSettings& settings = server_->settings_;
  if (nonce.empty()) return RefuseAuth("RAFT.HELLO first");
  if (!ParseU64(args[1], &from) || from == kNoNode) return RefuseAuth("bad node id");
  if (!ParseU64(args[2], &cluster) || cluster != settings.cluster_id) {
    return RefuseAuth("wrong cluster id");
  }
  if (!CheckAuthProof(settings.secret, nonce, from, cluster, args[3])) {
    return RefuseAuth("wrong secret");
  }
  authed_ = true;
  peer_ = from;
  parser_.set_unauthenticated(false);
  std::string out;
  proxy::AppendStatus(&out, "OK");
  Reply(std::move(out));
}

void PeerConn::RefuseAuth(std::string_view why) {
  ++server_->stats_.auth_failures;
  Log(proxy::kLogWarn, "peer port: RAFT.AUTH refused: {}", why);
  ReplyError(fmt::format("AUTHFAILED {}", why));
  CloseAfterReplies();
}

void PeerConn::Msg(Args args) {
  PeerServerStats& stats = server_->stats_;
  std::vector<Message> messages;
  messages.reserve(args.size() - 1);
  size_t dropped = 0;
  std::string first_error;
  for (size_t i = 1; i < args.size(); ++i) {
    auto message = DecodeMessage(args[i]);
    if (!message || message->from != peer_) {
      if (dropped++ == 0) {
        first_error =
            message ? fmt::format("it says it is from {}", message->from) : message.error();
      }
      continue;
    }
    messages.push_back(std::move(*message));
  }
  if (dropped > 0) {
    // One line per command, not per message: a broken peer must not flood the log.
    stats.malformed_messages += dropped;
    Log(proxy::kLogWarn, "peer port: dropped {} message(s) from peer {}: {}", dropped, peer_,
        first_error);
  }
  stats.messages_in += messages.size();
  std::string out;
  proxy::AppendStatus(&out, "OK");
  Reply(std::move(out));
  if (!messages.empty()) server_->handler_->OnMessages(peer_, std::move(messages));
}

void PeerConn::Propose(Args args) {
  uint64_t kind = 0;
  Proposal proposal;
  if (!ParseU64(args[1], &kind) || kind < 1 || kind > 6) {
    return ReplyError("ERR RAFT.PROPOSE: kind must be 1 to 6");
  }
  if (!ParseU64(args[2], &proposal.id)) return ReplyError("ERR RAFT.PROPOSE: bad node id");
  proposal.kind = static_cast<Proposal::Kind>(kind);
  proposal.addr = args[3];
  proposal.data = args[4];
  uint64_t seq = Reserve();
  std::weak_ptr<Ref> ref = ref_;
  server_->handler_->OnPropose(peer_, std::move(proposal), [ref, seq](ProposalResult result) {
    auto alive = ref.lock();
    if (alive && alive->conn != nullptr) alive->conn->Fill(seq, ProposalReply(result));
  });
}

void PeerConn::Member(Args args) {
  uint64_t id = 0;
  if (!ParseU64(args[1], &id)) return ReplyError("ERR RAFT.MEMBER: bad node id");
  std::string out;
  proxy::AppendInteger(&out, static_cast<int64_t>(server_->handler_->OnAskMember(id)));
  Reply(std::move(out));
}

}  // namespace rl::raft
