// SCAN through ringleader: one cursor walks every server of the pool in turn, by ascending
// server id (route/topology.h; for a pool that never changed, its `servers:` order), each with
// its own SCAN. The cursor a client sees packs the server and that server's
// cursor; PoolRouter::Scan (scan.cc) routes a SCAN and MergeScanReply rewrites the server's reply.
// Thread safety: pure functions, except that the routing runs on the pool's worker thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/io/request.h"

namespace rl::proxy {

// The client's cursor is `server_cursor << kScanServerBits | server_id`, in decimal:
//   - 0 starts at the first server (id 0, cursor 0) and, returned, means the walk is over;
//   - a server's SCAN returning 0 moves the walk to the next server: the client gets the next
//     server's id alone (its cursor 0), e.g. "1", "2"; when that last page is empty, the same
//     call goes on to the next server (PoolRouter::ContinueScan), so a client sees an empty
//     page only where Redis could give one (mid-walk) or at the end of the walk;
//   - otherwise the server's cursor rides in the high bits, e.g. 5 on server 2 is 5 * 4096 + 2.
// The id is the server's stable ServerId, so a cursor stays meaningful across topology changes:
// servers that joined since come in id order, a server that left (or is ejected by
// auto_eject_hosts: its keys are not the pool's while it is out) is stepped over. Redis's own
// cursors stay far below 2^52 (they index a hash table); a larger one is reported as an error
// rather than truncated.
inline constexpr int kScanServerBits = 12;
inline constexpr uint32_t kScanMaxServers = 1u << kScanServerBits;  // 4096
inline constexpr uint64_t kScanMaxServerCursor = (uint64_t{1} << (64 - kScanServerBits)) - 1;

struct ScanPosition {
  uint32_t server = 0;  // the server's id
  uint64_t cursor = 0;  // that server's SCAN cursor
  bool operator==(const ScanPosition&) const = default;
};

// Parses a client's cursor for a pool whose server ids are below `servers` (its id_limit()).
// nullopt (Redis's "ERR invalid cursor") unless `text` is 1-20 decimal digits within 2^64 - 1
// naming a server id below `servers`.
std::optional<ScanPosition> DecodeScanCursor(std::string_view text, size_t servers);
// REQUIRES: p.server < kScanMaxServers and p.cursor <= kScanMaxServerCursor.
uint64_t EncodeScanCursor(ScanPosition p);

// What a SCAN fragment's parent carries in Request::merge_arg: the server scanned and the next
// server to walk (kScanNoNext when it is the last).
inline constexpr uint32_t kScanNoNext = UINT32_MAX;
inline uint64_t ScanMergeArg(uint32_t server, uint32_t next) {
  return uint64_t{next} << 32 | server;
}

// Whether `reply` is a server's last page of its walk with no keys in it ("*2 $1 0 *0").
bool IsEmptyLastPage(std::string_view reply);

// Builds parent->reply_own from its one fragment's reply to SCAN: the server's cursor becomes
// the client's (above); the keys are passed on as the server sent them. A Redis error (bad
// MATCH/COUNT/TYPE) is passed on as is; ringleader's own (server down) already names the server.
// REQUIRES: parent->merge is Merge::kScanCursor and its one fragment is done.
void MergeScanReply(Request* parent);

}  // namespace rl::proxy
