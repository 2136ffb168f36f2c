// One connection of the peer port (internal to PeerServer): reads and parses pipelined RESP
// requests, runs them (peer_commands.cc) and writes the replies in request order. A reply may be
// filled later (RAFT.PROPOSE): its slot holds back every later reply until then.
// Frees itself in its close callback. Thread safety: the loop's thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "proxy/resp/resp_parser.h"
#include "raft/node/transport.h"

namespace rl::raft {

class PeerServer;

class PeerConn {
 public:
  PeerConn(PeerServer* server, uint64_t id);
  // Accepts from the listening stream and starts reading. False (and closed) on failure.
  bool Accept(uv_stream_t* listener);
  // The server is going away: close without touching it again.
  void Detach();
  // Closes the connection (true) when it has not authenticated and `timeout_ms` have passed
  // since it was accepted (`now_ms` and the accept time are uv_now()). For PeerServer's sweep.
  bool CloseIfUnauthenticated(uint64_t now_ms, uint64_t timeout_ms);

 private:
  // A reply in request order; `ready` false while a proposal's answer is outstanding.
  struct Slot {
    bool ready = false;
    std::string bytes;
  };
  // What a late answer (RAFT.PROPOSE's done) holds: null once the connection is closed.
  struct Ref {
    PeerConn* conn;
  };
  using Args = std::span<const std::string_view>;
  struct Command;
  static const Command kCommands[];

  void Close();
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void Alloc(uv_buf_t* buf);
  void ParseInput();
  void Execute(Args args);

  // peer_commands.cc
  void Ping(Args args);
  void Status(Args args);
  void Hello(Args args);
  void Auth(Args args);
  void Msg(Args args);
  void Propose(Args args);
  void Member(Args args);
  void RefuseAuth(std::string_view why);

  // Replies.
  void Reply(std::string bytes);
  void ReplyError(std::string_view text);
  uint64_t Reserve();
  void Fill(uint64_t seq, std::string bytes);
  void Flush();
  void OnWritten(int status);
  void CloseAfterReplies();

  PeerServer* server_;
  uint64_t id_;
  uv_tcp_t tcp_;
  uv_write_t write_req_;
  proxy::RequestLimits limits_;
  proxy::RequestParser parser_;
  std::string in_;  // in_[0, in_used_) read and not consumed; a request starts at in_[0]
  size_t in_used_ = 0;
  std::deque<Slot> replies_;
  uint64_t first_seq_ = 0;    // the sequence number of replies_.front()
  size_t pending_bytes_ = 0;  // bytes in replies_
  std::string writing_;       // the bytes of the write in flight
  bool write_in_flight_ = false;
  bool close_after_replies_ = false;
  bool closing_ = false;
  bool authed_ = false;
  uint64_t accepted_ms_ = 0;  // uv_now() at Accept
  NodeId peer_ = kNoNode;
  std::string nonce_;  // from RAFT.HELLO, used once by RAFT.AUTH
  std::shared_ptr<Ref> ref_;
};

}  // namespace rl::raft
