#include "proxy/io/request.h"

namespace rl::proxy {

namespace {

// Slots keep their buffers' capacity for reuse, except buffers grown by an unusually large
// request or reply, which would otherwise pin that memory forever.
constexpr size_t kKeepCapacity = 16 * 1024;

template <typename T>
void ClearKeepingSmallCapacity(T& v) {
  if (v.capacity() * sizeof(typename T::value_type) > kKeepCapacity) {
    T().swap(v);
  } else {
    v.clear();
  }
}

// Split storage kept for reuse: enough for this many split requests in flight.
constexpr size_t kMaxSpare = 4096;

// Moves `v`'s storage (if any, and small) to `spare`, leaving `v` without capacity.
template <typename T>
void Stash(T& v, std::vector<T>& spare) {
  ClearKeepingSmallCapacity(v);
  if (v.capacity() == 0) return;
  if (spare.size() < kMaxSpare) {
    spare.push_back(std::move(v));
  }
  T().swap(v);
}

template <typename T>
void Unstash(T& v, std::vector<T>& spare) {
  if (v.capacity() > 0 || spare.empty()) return;
  v.swap(spare.back());
  spare.pop_back();
}

}  // namespace

RequestPool::~RequestPool() {
  for (Request* r : free_) delete r;
}

Request* RequestPool::New(Request::Kind kind) {
  Request* r;
  if (free_.empty()) {
    r = new Request;
  } else {
    r = free_.back();
    free_.pop_back();
  }
  r->kind = kind;
  ++live_;
  return r;
}

void RequestPool::PrepareSplit(Request* r) {
  Unstash(r->fragments, spare_fragments_);
  Unstash(r->key_fragment, spare_key_fragments_);
}

void RequestPool::Free(Request* r) {
  for (Request* f : r->fragments) Free(f);
  --live_;
  r->done = false;
  r->close_after = false;
  r->merge = 0;
  r->command = 0;
  r->client = nullptr;
  r->client_next = nullptr;
  r->server_next = nullptr;
  r->parent = nullptr;
  r->pending = 0;
  r->merge_arg = 0;
  r->deadline_ms = 0;
  r->epoch = 0;
  r->parsed_ns = 0;
  r->enqueued_ns = 0;
  r->in.Reset();
  ClearKeepingSmallCapacity(r->pieces);
  ClearKeepingSmallCapacity(r->own);
  r->reply = {};
  r->reply_chunk.Reset();
  ClearKeepingSmallCapacity(r->reply_own);
  r->reply_is_error = false;
  r->fenced = false;
  r->backend_label = nullptr;
  Stash(r->fragments, spare_fragments_);
  Stash(r->key_fragment, spare_key_fragments_);
  free_.push_back(r);
}

}  // namespace rl::proxy
