// Combines the replies of a split (MGET, MSET, DEL, ...) or broadcast (DBSIZE, SCRIPT LOAD, ...)
// request into the one reply its client receives. Used by Worker::Complete when a split
// request's last fragment is answered. Thread safety: pure functions over request slots.
#pragma once

#include <string>
#include <string_view>

#include "proxy/base/chunk.h"
#include "proxy/io/request.h"

namespace rl::proxy {

// Builds parent->reply from its fragments' replies, by parent->merge (a proxy::Merge). If any
// fragment failed, the reply is one error naming the backend that failed (the first in
// fragment order). A key-order merge (MGET) is written, pre-sized, into a chunk from `chunks`
// when given (nothing allocated once the pool is warm), else into parent->reply_own.
// REQUIRES: every fragment is done.
void MergeFragments(Request* parent, ChunkPool* chunks = nullptr);

}  // namespace rl::proxy
