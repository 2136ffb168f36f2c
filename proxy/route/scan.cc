// SCAN's cursor, its routing (PoolRouter::Scan) and the rewriting of the server's reply.

#include "proxy/route/scan.h"

#include <string>

#include "fmt/format.h"
#include "proxy/commands/command_table.h"
#include "proxy/io/client_conn.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/errors.h"
#include "proxy/route/pool_router.h"

namespace rl::proxy {

namespace {

// Decimal digits only, within 2^64 - 1. (Redis's strtoull also takes a sign; no client sends
// one, and a negative cursor is not one ringleader ever gave out.)
std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

std::optional<ScanPosition> DecodeScanCursor(std::string_view text, size_t servers) {
  std::optional<uint64_t> value = ParseUnsigned(text);
  if (!value) return std::nullopt;
  ScanPosition p{static_cast<uint32_t>(*value & (kScanMaxServers - 1)), *value >> kScanServerBits};
  if (p.server >= servers) return std::nullopt;
  return p;
}

uint64_t EncodeScanCursor(ScanPosition p) { return p.cursor << kScanServerBits | p.server; }

void PoolRouter::Scan(ClientConn* client, Request* r, const ParsedRequest& req) {
  std::span<const std::string_view> argv = req.argv;
  const ServerId limit = topology_->id_limit();
  if (limit > kScanMaxServers) {
    Reply(client, r,
          fmt::format("-ERR SCAN through ringleader walks pools of at most {} server ids; pool "
                      "'{}' has given out {}\r\n",
                      kScanMaxServers, conf().name, limit));
    return;
  }
  std::optional<ScanPosition> at = DecodeScanCursor(argv[1], limit);
  if (!at) {
    Reply(client, r, "-ERR invalid cursor\r\n");
    return;
  }
  if (ring_server_.empty()) {
    Forward(client, r, req, nullptr);  // "no server available"
    return;
  }
  // The walk goes by ascending server id. A server that is not in the ring now (ejected: its
  // keys are not the pool's while it is out; or gone from the topology) is stepped over, the
  // next one starting from its beginning.
  auto walkable = [&](ServerId id) {
    return backends_[id] != nullptr && !backends_[id]->ejected();
  };
  if (at->server < limit && !walkable(at->server)) at->cursor = 0;
  while (at->server < limit && !walkable(at->server)) ++at->server;
  if (at->server == limit) {
    Reply(client, r, "*2\r\n$1\r\n0\r\n*0\r\n");
    return;
  }
  uint32_t next = at->server + 1;
  while (next < limit && !walkable(next)) ++next;
  r->merge = static_cast<uint8_t>(Merge::kScanCursor);
  r->merge_arg = ScanMergeArg(at->server, next < limit ? next : kScanNoNext);

  // SCAN <that server's cursor> and the client's options, as they were.
  Request* frag = worker_->requests().New(Request::Kind::kFragment);
  frag->parent = r;
  r->fragments.push_back(frag);
  AppendArrayHeader(&frag->own, static_cast<int64_t>(argv.size()));
  AppendBulk(&frag->own, argv[0]);
  AppendBulk(&frag->own, std::to_string(at->cursor));
  for (size_t i = 2; i < argv.size(); ++i) AppendBulk(&frag->own, argv[i]);
  frag->pieces.push_back(uv_buf_init(frag->own.data(), static_cast<unsigned>(frag->own.size())));
  r->pending = 1;
  backends_[at->server]->Send(frag, client->state().id);
}

bool IsEmptyLastPage(std::string_view reply) {
  ReplyValue top, cursor, keys;
  if (!ReadReplyValue(reply, &top) || top.type != '*' || top.integer != 2) return false;
  ArrayElements elements(reply);
  return ReadReplyValue(elements.Next(), &cursor) && cursor.type == '$' && cursor.text == "0" &&
         ReadReplyValue(elements.Next(), &keys) && keys.type == '*' && keys.integer == 0;
}

bool PoolRouter::ContinueScan(ClientConn* client, Request* parent) {
  Request* done = parent->fragments.front();
  auto next = static_cast<uint32_t>(parent->merge_arg >> 32);
  if (next == kScanNoNext || done->reply_is_error || !IsEmptyLastPage(done->reply)) return false;
  const ServerId limit = topology_->id_limit();
  auto walkable = [&](ServerId id) {
    return id < backends_.size() && backends_[id] != nullptr && !backends_[id]->ejected();
  };
  while (next < limit && !walkable(next)) ++next;
  if (next >= limit) {
    parent->merge_arg = ScanMergeArg(0, kScanNoNext);  // the walk is over: cursor 0
    return false;
  }
  uint32_t after = next + 1;
  while (after < limit && !walkable(after)) ++after;
  parent->merge_arg = ScanMergeArg(next, after < limit ? after : kScanNoNext);
  // The same SCAN (the client's options, as they were) from the next server's beginning.
  Request* frag = worker_->requests().New(Request::Kind::kFragment);
  frag->parent = parent;
  ArrayElements argv(done->own);
  AppendArrayHeader(&frag->own, argv.count());
  frag->own.append(argv.Next());  // SCAN
  argv.Next();                    // the finished server's cursor
  AppendBulk(&frag->own, "0");
  for (std::string_view rest = argv.Next(); !rest.empty(); rest = argv.Next()) {
    frag->own.append(rest);
  }
  frag->pieces.push_back(uv_buf_init(frag->own.data(), static_cast<unsigned>(frag->own.size())));
  parent->fragments.front() = frag;
  worker_->requests().Free(done);
  parent->pending = 1;
  backends_[next]->Send(frag, client->state().id);
  return true;
}

void MergeScanReply(Request* parent) {
  const Request* f = parent->fragments.front();
  std::string& out = parent->reply_own;
  out.clear();
  if (f->reply_is_error || f->reply.starts_with('-')) {
    out.assign(f->reply);  // ringleader's (names the server) or Redis's own about the options
    return;
  }
  const auto server = static_cast<uint32_t>(parent->merge_arg);
  const auto next = static_cast<uint32_t>(parent->merge_arg >> 32);
  std::string_view label =
      f->backend_label != nullptr ? std::string_view(*f->backend_label) : std::string_view("?");
  ReplyValue top, cursor_value;
  std::string_view cursor_bytes, keys;
  if (ReadReplyValue(f->reply, &top) && top.type == '*' && top.integer == 2) {
    ArrayElements elements(f->reply);
    cursor_bytes = elements.Next();
    keys = elements.Next();
  }
  if (keys.empty() || !ReadReplyValue(cursor_bytes, &cursor_value) || cursor_value.type != '$' ||
      !keys.starts_with('*')) {
    out = BackendError(label, "unexpected reply to SCAN");
    return;
  }
  std::optional<uint64_t> cursor = ParseUnsigned(cursor_value.text);
  if (!cursor || *cursor > kScanMaxServerCursor) {
    out = BackendError(label, fmt::format("SCAN cursor '{}' is too large for ringleader's cursor "
                                          "(at most {})",
                                          cursor_value.text, kScanMaxServerCursor));
    return;
  }
  uint64_t client_cursor = 0;
  if (*cursor != 0) {
    client_cursor = EncodeScanCursor({server, *cursor});
  } else if (next != kScanNoNext) {
    client_cursor = EncodeScanCursor({next, 0});
  }
  AppendArrayHeader(&out, 2);
  AppendBulk(&out, std::to_string(client_cursor));
  out.append(keys);
}

}  // namespace rl::proxy
