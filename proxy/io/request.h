// A request slot: one client request (or one fragment of a split request, or an AUTH/SELECT a
// backend connection sends for itself) from parse until its reply is delivered. Slots live on
// intrusive queues (a client's reply-order queue, a server connection's send and reply queues)
// and come from a per-worker free list, so the GET/SET path allocates nothing once warm.
// Thread safety: owned by one worker thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/chunk.h"

namespace rl::proxy {

class ClientConn;
class ServerConn;

struct Request {
  enum class Kind : uint8_t {
    kClient,    // a client's request; its reply goes to the client in order
    kFragment,  // part of a split request; its reply is merged into `parent`'s
    kInternal,  // AUTH/SELECT sent by a server connection; the reply is checked, not forwarded
    kOwned,     // a command ringleader sends for a client's per-client state (MULTI before a
                // queued transaction, SUBSCRIBE on a subscriber connection, CLIENT SETNAME):
                // its reply is dropped; when `parent` is set, it is a client request waiting
                // for `pending` such replies (see proxy/session/client_session.h)
    kLate,      // stands in for a request that timed out on a shared server connection (its
                // client got the timeout error): the reply, if it ever comes, is dropped
  };

  Kind kind = Kind::kClient;
  bool done = false;         // `reply` is final
  bool close_after = false;  // close the client once this reply is written (QUIT, protocol error)
  bool silent = false;       // CLIENT REPLY OFF/SKIP: the reply is dropped, not written
  bool fenced = false;       // a FENCED write: its reply is counted (accepted or refused)
  uint8_t merge = 0;         // a split request: how fragment replies combine (proxy::Merge)
  uint16_t command = 0;      // a client's request: its command-table row + 1 (commandstats)

  ClientConn* client = nullptr;  // kClient; nullptr once the client went away (orphan)
  Request* client_next = nullptr;
  Request* server_next = nullptr;
  Request* parent = nullptr;  // kFragment; kOwned: the client request waiting for it, if any
  uint32_t pending = 0;       // a split request: fragments still waiting for a reply; kOwned
                              // on a subscriber connection: replies it still expects
  uint64_t merge_arg = 0;     // what a merge needs besides the replies (SCAN: proxy/route/scan.h)
  uint64_t deadline_ms = 0;   // 0: none (uv_now scale). On a server connection: counted from
                              // when the request was completely written (see ServerConn)
  uint32_t timeout_ms = 0;    // on a server connection: how long a written request may wait
  uint64_t epoch = 0;         // the topology epoch it was routed with (route/topology.h)
  // uv_hrtime() stamps for the latency histograms (route_stats.h), 0 when not taken: a client's
  // request when parsed, a request handed to a server connection when enqueued there.
  uint64_t parsed_ns = 0;
  uint64_t enqueued_ns = 0;

  // What is sent to the backend: `pieces` point into `in` (the client's read chunk) or `own`.
  ChunkRef in;
  std::vector<uv_buf_t> pieces;
  std::string own;

  // What the client receives: points into `reply_chunk` (a forwarded reply) or `reply_own`.
  std::string_view reply;
  ChunkRef reply_chunk;
  std::string reply_own;
  bool reply_is_error = false;  // a failure made by ringleader (fragment merging uses it)
  const std::string* backend_label = nullptr;  // the server it was sent to, for messages

  // A split request's fragments, and for key-order merges the fragment of each key.
  std::vector<Request*> fragments;
  std::vector<uint32_t> key_fragment;

  // Sets a reply ringleader made itself (copied into reply_own).
  void SetOwnReply(std::string_view bytes) {
    reply_own.assign(bytes);
    reply = reply_own;
  }
  // Uses reply_own as the reply after the caller filled it.
  void UseOwnReply() { reply = reply_own; }
  size_t request_bytes() const {
    size_t n = 0;
    for (const uv_buf_t& b : pieces) n += b.len;
    return n;
  }
};

// The worker's free list of request slots.
class RequestPool {
 public:
  RequestPool() = default;
  ~RequestPool();
  RequestPool(const RequestPool&) = delete;
  RequestPool& operator=(const RequestPool&) = delete;

  Request* New(Request::Kind kind);
  // Gives `r` (about to be split) the `fragments` and `key_fragment` storage of an earlier split
  // request, if it has none. Any slot may become a split request, so the storage follows the
  // role instead of staying with the slot that last had it: once warm, splitting allocates
  // nothing however slots are reused.
  void PrepareSplit(Request* r);
  // Returns a slot (and, for a split request, its fragments) to the free list, dropping its
  // chunk references. REQUIRES: the slot is on no queue.
  void Free(Request* r);

  size_t live() const { return live_; }

 private:
  std::vector<Request*> free_;
  // Storage of freed split requests, for PrepareSplit (bounded: kMaxSpare each).
  std::vector<std::vector<Request*>> spare_fragments_;
  std::vector<std::vector<uint32_t>> spare_key_fragments_;
  size_t live_ = 0;
};

}  // namespace rl::proxy
