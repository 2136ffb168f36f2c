#include "proxy/io/server_conn.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "fmt/format.h"
#include "proxy/base/log.h"
#include "proxy/host/worker.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/pool_router.h"

namespace rl::proxy {

namespace {

constexpr size_t kMaxBatchBytes = 4u << 20;
// An unwritten rest of a batch up to this size is copied (its requests' bytes may go at once);
// a larger one is written from the requests' own bytes, so a big value is never held twice.
constexpr size_t kCopyUnwrittenMax = 256u << 10;

// "Connection refused", as strerror() words it (libuv's own texts are lower case).
std::string ErrorText(int uv_error) {
  if (uv_error == UV_EOF) return "Connection closed by server";
  if (uv_error < 0 && uv_error > -4096) return strerror(-uv_error);
  return uv_strerror(uv_error);
}

}  // namespace

ServerConn::ServerConn(Worker* worker, Backend* backend, bool one_shot)
    : worker_(worker), backend_(backend), one_shot_(one_shot), close_when_idle_(one_shot) {}

ServerConn* ServerConn::Connect(Worker* worker, Backend* backend, bool one_shot) {
  auto* s = new ServerConn(worker, backend, one_shot);
  s->StartConnect();
  return s;
}

ServerConn* ServerConn::ConnectDedicated(Worker* worker, Backend* backend, DedicatedOwner* owner,
                                         bool push_mode) {
  auto* s = new ServerConn(worker, backend, /*one_shot=*/false);
  s->owner_ = owner;
  s->push_mode_ = push_mode;
  // A blocking command, WATCH or WAIT costs its client a descriptor of its own: counted with
  // the clients, so that the open-file limit is never reached (the worker's shared subscriber
  // connections are reserved for at start instead).
  uint32_t before = 0;
  if (!push_mode) {
    s->budget_ = &worker->shared().clients;
    before = s->budget_->fetch_add(1, std::memory_order_relaxed);
  }
  s->StartConnect();
  uint32_t max = worker->shared().max_clients;
  if (!push_mode && max != 0 && before >= max) {
    s->Close(
        "max number of clients reached: a dedicated connection counts as a client in the "
        "open-file limit's share",
        /*failure=*/false);
  }
  return s;
}

void ServerConn::StartConnect() {
  uv_loop_t* loop = worker_->loop();
  const ResolvedAddress& addr = backend_->address();
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  ++open_handles_;
  if (addr.is_unix) {
    uv_pipe_init(loop, &handle_.pipe, 0);
  } else {
    uv_tcp_init(loop, &handle_.tcp);
  }
  handle_.tcp.data = this;
  ++open_handles_;
  connect_req_.data = this;
  write_req_.data = this;
  Add(worker_->stats().backend_connections);
  progress_ms_ = last_read_ms_ = worker_->now_ms();
  if (addr.is_unix) {
    uv_pipe_connect(&connect_req_, &handle_.pipe, addr.path.c_str(), OnConnect);
    return;
  }
  uv_tcp_nodelay(&handle_.tcp, 1);
  if (backend_->pool()->conf().tcpkeepalive) uv_tcp_keepalive(&handle_.tcp, 1, 60);
  int rc = uv_tcp_connect(&connect_req_, &handle_.tcp, reinterpret_cast<const sockaddr*>(&addr.tcp),
                          OnConnect);
  if (rc < 0) {
    // Fail asynchronously-looking but at once: callers expect Connect() to return a live
    // object, so report through the normal path on the next flush.
    Close(ErrorText(rc));
  }
}

void ServerConn::OnConnect(uv_connect_t* req, int status) {
  auto* s = static_cast<ServerConn*>(req->data);
  if (s->closed_) return;  // cancelled by Close()
  if (status < 0) {
    ++s->backend_->counters().server_err;
    s->Close(ErrorText(status));
    return;
  }
  s->connected_ = true;
  int rc = uv_read_start(s->stream(), OnAlloc, OnRead);
  if (rc < 0) {
    s->Close(ErrorText(rc));
    return;
  }
  // AUTH and SELECT go first, ahead of any request queued while connecting; their replies are
  // checked here and never reach a client.
  const conf::Pool& pool = s->backend_->pool()->conf();
  if (pool.redis_db != 0 && !s->one_shot_) s->SendInternal(fmt::format("SELECT {}", pool.redis_db));
  if (!pool.redis_auth.empty()) s->SendInternal("AUTH");
  s->backend_->OnConnected(s);
  s->worker_->MarkDirty(s);
}

void ServerConn::SendInternal(std::string_view command) {
  Request* r = worker_->requests().New(Request::Kind::kInternal);
  const conf::Pool& pool = backend_->pool()->conf();
  std::string& own = r->own;
  if (command == "AUTH") {
    own = fmt::format("*2\r\n$4\r\nAUTH\r\n${}\r\n{}\r\n", pool.redis_auth.size(), pool.redis_auth);
  } else {
    std::string db = std::to_string(pool.redis_db);
    own = fmt::format("*2\r\n$6\r\nSELECT\r\n${}\r\n{}\r\n", db.size(), db);
  }
  r->pieces.push_back(uv_buf_init(own.data(), static_cast<unsigned>(own.size())));
  // Push at the front of the send queue.
  r->server_next = send_head_;
  send_head_ = r;
  if (send_tail_ == nullptr) send_tail_ = r;
  ++queued_;
}

void ServerConn::Enqueue(Request* r) {
  // Callers give a deadline; it becomes a duration that starts once `r` is written.
  if (r->deadline_ms != 0) {
    uint64_t now = worker_->now_ms();
    r->timeout_ms = static_cast<uint32_t>(r->deadline_ms > now ? r->deadline_ms - now : 1);
    r->deadline_ms = 0;
  }
  if (r->kind != Request::Kind::kInternal) {
    ServerCounters& counters = backend_->counters();
    ++counters.requests;
    counters.request_bytes += r->request_bytes();
    r->enqueued_ns = uv_hrtime();
  }
  r->server_next = nullptr;
  if (send_tail_ != nullptr) {
    send_tail_->server_next = r;
  } else {
    send_head_ = r;
  }
  send_tail_ = r;
  ++queued_;
  if (!timer_armed_ && !connected_ && timeout_ms() != 0) ArmTimer();  // the connect's watchdog
  if (connected_) worker_->MarkDirty(this);
}

uint64_t ServerConn::timeout_ms() const {
  const auto& timeout = backend_->pool()->conf().timeout;
  return timeout && timeout->count() > 0 ? static_cast<uint64_t>(timeout->count()) : 0;
}

void ServerConn::StartDeadline(Request* r, uint64_t now) {
  if (r->timeout_ms == 0) return;
  r->deadline_ms = now + r->timeout_ms;
  // Earlier than the armed timer when the pool's timeout was just lowered (RINGLEADER RELOAD).
  if (!timer_armed_ || r->deadline_ms < timer_at_) ArmTimer();
}

Request* ServerConn::NextDeadline(Request** before) const {
  *before = nullptr;
  for (Request* r = reply_head_; r != nullptr; r = r->server_next) {
    if (r->deadline_ms != 0) return r;
    *before = r;
  }
  return nullptr;
}

void ServerConn::ArmTimer() {
  Request* before;
  Request* next = NextDeadline(&before);
  uint64_t at = next != nullptr ? next->deadline_ms : UINT64_MAX;
  // A connect, or a write, that makes no progress for the pool's timeout while requests wait.
  if (uint64_t limit = timeout_ms(); limit != 0 && queued_ > 0 && (!connected_ || writing_)) {
    at = std::min(at, progress_ms_ + limit);
  }
  if (at == UINT64_MAX) {
    if (timer_armed_) uv_timer_stop(&timer_);
    timer_armed_ = false;
    return;
  }
  uint64_t now = worker_->now_ms();
  uv_timer_start(&timer_, OnTimer, at > now ? at - now : 0, 0);
  timer_armed_ = true;
  timer_at_ = at;
}

void ServerConn::OnTimer(uv_timer_t* t) {
  auto* s = static_cast<ServerConn*>(t->data);
  s->timer_armed_ = false;
  uv_update_time(s->worker_->loop());
  uint64_t now = s->worker_->now_ms();
  uint64_t limit = s->timeout_ms();
  if (limit != 0 && s->queued_ > 0 && (!s->connected_ || s->writing_)) {
    size_t unwritten = s->writing_ ? uv_stream_get_write_queue_size(s->stream()) : 0;
    if (s->writing_ && unwritten != s->write_queue_seen_) {
      s->write_queue_seen_ = unwritten;
      s->progress_ms_ = now;
    } else if (now >= s->progress_ms_ + limit) {
      ++s->backend_->counters().server_timedout;
      s->Close(ErrorText(UV_ETIMEDOUT));  // the server stopped taking bytes, or never answered
      return;
    }
  }
  Request* before;
  Request* late = s->NextDeadline(&before);
  if (late != nullptr && late->deadline_ms <= now) {
    if (s->reader_.has_partial() && s->last_read_ms_ + limit > now) {
      // The reply is arriving (a big value): not late while its bytes keep coming.
      late->deadline_ms = s->last_read_ms_ + limit;
    } else if (late->kind == Request::Kind::kLate || s->owner_ != nullptr) {
      // No reply for a further timeout after a request was already late (or a dedicated
      // connection, whose one client has nothing else on it): the server is presumed gone.
      ++s->backend_->counters().server_timedout;
      s->Close(ErrorText(UV_ETIMEDOUT));
      return;
    } else {
      s->Abandon(before, late);
      if (s->closed_) return;
    }
  }
  s->ArmTimer();
}

void ServerConn::Abandon(Request* before, Request* late) {
  Request* stand_in = worker_->requests().New(Request::Kind::kLate);
  stand_in->deadline_ms = late->deadline_ms + late->timeout_ms;
  stand_in->server_next = late->server_next;
  (before != nullptr ? before->server_next : reply_head_) = stand_in;
  if (reply_tail_ == late) reply_tail_ = stand_in;
  late->server_next = nullptr;
  late->deadline_ms = 0;
  Add(worker_->stats().backend_timeouts);
  ++backend_->counters().server_timedout;
  backend_->Fail(late, ErrorText(UV_ETIMEDOUT));
  backend_->OnTimedOut();
}

void ServerConn::Flush() {
  while (connected_ && !closed_ && !writing_ && send_head_ != nullptr) {
    WriteBatch& batch = worker_->write_batch();
    batch.Clear();
    Request* first = send_head_;
    Request* last = nullptr;
    // Move a batch from the send queue to the reply queue, gathering its pieces.
    while (send_head_ != nullptr && batch.HasRoomFor(send_head_->pieces.size()) &&
           batch.bytes() < kMaxBatchBytes) {
      Request* r = send_head_;
      for (const uv_buf_t& b : r->pieces) batch.Add(b.base, b.len);
      send_head_ = r->server_next;
      r->server_next = nullptr;
      if (reply_tail_ != nullptr) {
        reply_tail_->server_next = r;
      } else {
        reply_head_ = r;
      }
      reply_tail_ = r;
      last = r;
    }
    if (send_head_ == nullptr) send_tail_ = nullptr;
    if (last == nullptr) {
      // A single request with more pieces than a batch holds: write it in parts.
      Request* r = send_head_;
      for (const uv_buf_t& b : r->pieces) overflow_.append(b.base, b.len);
      send_head_ = r->server_next;
      if (send_head_ == nullptr) send_tail_ = nullptr;
      r->server_next = nullptr;
      if (reply_tail_ != nullptr) {
        reply_tail_->server_next = r;
      } else {
        reply_head_ = r;
      }
      reply_tail_ = r;
      unsent_from_ = r;
    } else {
      int n = uv_try_write(stream(), batch.iov(), batch.iov_count());
      if (n < 0 && n != UV_EAGAIN) {
        Close(ErrorText(n));
        return;
      }
      size_t written = n > 0 ? static_cast<size_t>(n) : 0;
      // Requests written whole start their time-outs; the rest start theirs in OnWrite.
      uint64_t now = worker_->now_ms();
      size_t done = 0;
      unsent_from_ = nullptr;
      for (Request* r = first; r != nullptr; r = r->server_next) {
        done += r->request_bytes();
        if (done > written) {
          unsent_from_ = r;
          break;
        }
        StartDeadline(r, now);
      }
      size_t rest = batch.unwritten(written);
      if (rest > kCopyUnwrittenMax) {
        batch.TakeUnwritten(written, &overflow_, &pending_iov_);
        by_reference_ = true;
      } else if (rest > 0) {
        // Copied, so request slots may go as soon as replies arrive.
        batch.AppendUnwritten(written, &overflow_);
      }
    }
    if (by_reference_ || !overflow_.empty()) {
      writing_ = true;
      progress_ms_ = worker_->now_ms();
      uv_buf_t one = uv_buf_init(overflow_.data(), static_cast<unsigned>(overflow_.size()));
      uv_buf_t* bufs = by_reference_ ? pending_iov_.data() : &one;
      auto count = static_cast<unsigned>(by_reference_ ? pending_iov_.size() : 1);
      int rc = uv_write(&write_req_, stream(), bufs, count, OnWrite);
      if (rc < 0) {
        writing_ = false;
        Close(ErrorText(rc));
        return;
      }
      write_queue_seen_ = uv_stream_get_write_queue_size(stream());
      if (timeout_ms() != 0) ArmTimer();
      return;
    }
  }
}

void ServerConn::OnWrite(uv_write_t* req, int status) {
  auto* s = static_cast<ServerConn*>(req->data);
  if (s->closed_) return;
  s->writing_ = false;
  s->by_reference_ = false;
  s->pending_iov_.clear();
  if (s->overflow_.capacity() > (1u << 20)) {
    std::string().swap(s->overflow_);
  } else {
    s->overflow_.clear();
  }
  if (status < 0) {
    s->Close(ErrorText(status));
    return;
  }
  uint64_t now = s->worker_->now_ms();
  for (Request* r = std::exchange(s->unsent_from_, nullptr); r != nullptr; r = r->server_next) {
    s->StartDeadline(r, now);
  }
  s->Flush();
}

void ServerConn::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* s = static_cast<ServerConn*>(h->data);
  *buf = s->reader_.Prepare(s->worker_->shared_read(), s->worker_->chunks(), s->scanner_.needed());
}

void ServerConn::OnRead(uv_stream_t* st, ssize_t nread, const uv_buf_t*) {
  auto* s = static_cast<ServerConn*>(st->data);
  if (s->closed_) return;
  if (nread > 0) {
    s->last_read_ms_ = s->worker_->now_ms();
    s->Process(s->reader_.Commit(static_cast<size_t>(nread)));
    s->worker_->EnforceMemoryBudget();
    return;
  }
  if (nread == 0) return;
  if (nread == UV_ENOBUFS) {
    s->Close("out of memory for a reply");
    return;
  }
  ServerCounters& counters = s->backend_->counters();
  ++(nread == UV_EOF ? counters.server_eof : counters.server_err);
  s->Close(ErrorText(static_cast<int>(nread)));
}

void ServerConn::Process(const ReadBuffer::Region& region) {
  Chunk* chunk = region.chunk;
  uint32_t pos = region.begin;
  while (pos < region.end) {
    auto result = scanner_.Scan(chunk->data() + pos, region.end - pos);
    if (result == ReplyScanner::Result::kIncomplete) break;
    if (result == ReplyScanner::Result::kError) {
      ++backend_->counters().server_err;
      Close(fmt::format("invalid reply from server ({})", scanner_.error()));
      return;
    }
    uint32_t length = static_cast<uint32_t>(scanner_.length());
    scanner_.Reset();
    if (!Deliver(chunk, pos, length)) return;
    pos += length;
  }
  if (!reader_.Keep(worker_->chunks(), region, pos, scanner_.needed())) {
    Close("out of memory for a reply");
  }
}

bool ServerConn::Deliver(Chunk* chunk, uint32_t offset, uint32_t length) {
  Request* r = reply_head_;
  if (push_mode_ && (r == nullptr || r->kind != Request::Kind::kInternal)) {
    return DeliverPush(chunk, std::string_view(chunk->data() + offset, length));
  }
  if (r == nullptr) {
    Close("unexpected reply from server");
    return false;
  }
  if (r == unsent_from_ && by_reference_) {
    // Redis answers before reading a whole request only to refuse it and close (a bulk over
    // its proto-max-bulk-len); the request's bytes are still being written from, so close
    // first (which stops the write) rather than release them under it.
    std::string_view bytes(chunk->data() + offset, length);
    Close(fmt::format("server replied before the request was sent: {}",
                      bytes.substr(0, std::min<size_t>(bytes.size(), 120))));
    return false;
  }
  reply_head_ = r->server_next;
  if (reply_head_ == nullptr) reply_tail_ = nullptr;
  r->server_next = nullptr;
  --queued_;
  std::string_view bytes(chunk->data() + offset, length);
  if (r->kind == Request::Kind::kLate) {  // its client already has the timeout error
    worker_->Release(r);
    return !CloseIfIdle();
  }
  if (r->kind == Request::Kind::kInternal) {
    bool failed = !bytes.empty() && bytes[0] == '-';
    worker_->Release(r);
    if (failed) {
      std::string_view text = bytes.substr(1, bytes.size() - 3);
      Close(fmt::format("AUTH/SELECT failed: {}", text));
      return false;
    }
    return !CloseIfIdle();
  }
  ServerCounters& counters = backend_->counters();
  ++counters.responses;
  counters.response_bytes += length;
  if (r->enqueued_ns != 0) counters.latency.Record(uv_hrtime() - std::exchange(r->enqueued_ns, 0));
  ++chunk->refs;
  r->reply_chunk = ChunkRef(chunk);
  r->reply = bytes;
  r->done = true;
  backend_->OnReply();
  worker_->Complete(r);
  return !CloseIfIdle();
}

void ServerConn::AddQueues(ServerSample* sample) const {
  for (const Request* r = send_head_; r != nullptr; r = r->server_next) {
    if (r->kind == Request::Kind::kInternal) continue;
    ++sample->in_queue;
    sample->in_queue_bytes += r->request_bytes();
  }
  for (const Request* r = reply_head_; r != nullptr; r = r->server_next) {
    if (r->kind == Request::Kind::kInternal) continue;
    ++sample->out_queue;
    sample->out_queue_bytes += r->request_bytes();
  }
}

void ServerConn::CloseWhenIdle() {
  close_when_idle_ = true;
  CloseIfIdle();
}

bool ServerConn::CloseIfIdle() {
  if (!close_when_idle_ || queued_ != 0 || closed_) return false;
  Close(one_shot_ ? "closed after its one request" : "drained", /*failure=*/false);
  return true;
}

// A subscriber connection: replies are not matched to requests one for one; the owner says
// which ones answer the oldest command (a SUBSCRIBE of n channels gets n confirmations).
bool ServerConn::DeliverPush(Chunk* chunk, std::string_view bytes) {
  if (!owner_->OnPush(this, chunk, bytes)) return !closed_;
  Request* r = reply_head_;
  if (closed_ || r == nullptr) return !closed_;
  backend_->OnReply();
  if (r->pending > 1) {
    --r->pending;
    return true;
  }
  reply_head_ = r->server_next;
  if (reply_head_ == nullptr) reply_tail_ = nullptr;
  r->server_next = nullptr;
  --queued_;
  r->done = true;
  worker_->Complete(r);
  return !closed_;
}

void ServerConn::Close(std::string_view reason, bool failure) {
  if (closed_) return;
  closed_ = true;
  if (budget_ != nullptr) std::exchange(budget_, nullptr)->fetch_sub(1, std::memory_order_relaxed);
  worker_->ForgetDirty(this);
  if (timer_armed_) uv_timer_stop(&timer_);
  reader_.Clear();
  bool was_connected = connected_;
  connected_ = false;
  // Take the queues first, then tell the backend (so nothing new lands here), then fail.
  Request* failed = reply_head_;
  if (reply_tail_ != nullptr) {
    reply_tail_->server_next = send_head_;
  } else {
    failed = send_head_;
  }
  reply_head_ = reply_tail_ = send_head_ = send_tail_ = nullptr;
  queued_ = 0;
  std::string why(reason);
  backend_->OnClosed(this, why, failure, was_connected);
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->OnDedicatedClosed(this, why);
  while (failed != nullptr) {
    Request* r = failed;
    failed = r->server_next;
    r->server_next = nullptr;
    if (r->kind == Request::Kind::kInternal || r->kind == Request::Kind::kLate) {
      worker_->Release(r);
    } else {
      backend_->Fail(r, why);
    }
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), OnClosed);
}

void ServerConn::OnClosed(uv_handle_t* h) {
  auto* s = static_cast<ServerConn*>(h->data);
  if (--s->open_handles_ == 0) delete s;
}

}  // namespace rl::proxy
