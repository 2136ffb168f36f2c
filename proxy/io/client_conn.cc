#include "proxy/io/client_conn.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"
#include "proxy/base/log.h"
#include "proxy/host/worker.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/pool_router.h"
#include "proxy/session/client_session.h"

namespace rl::proxy {

namespace {

// A paused client's reads are kept (unparsed) up to this many bytes; then it is not read until
// it resumes. Redis reads a blocked client's input too (and would cut it at 1 GiB).
constexpr uint32_t kPausedReadLimit = 1u << 20;

// A batch written with one writev: bounded by IOV_MAX (WriteBatch) and by a byte count that
// keeps one client from monopolising the loop.
constexpr size_t kMaxBatchBytes = 4u << 20;

// What the kernel did not take of a batch is copied up to this size; beyond, it is written
// from the replies' own bytes, so a big value is not held twice.
constexpr size_t kCopyUnwrittenMax = 256u << 10;

// The reply budget (see ClientConn::OverReplyBudget).
constexpr size_t kReplyBacklog = 64u << 20;
constexpr uint32_t kMinInflightCap = 16;
// Before a client's first reply its reply sizes are unknown: this many requests may be in
// flight (at 100 KB a reply, 100 MB), not the configured cap (16,384: gigabytes).
constexpr uint32_t kUnknownInflightCap = 1024;

std::string FormatAddress(const sockaddr_storage& ss) {
  char ip[64] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    uv_ip4_name(in, ip, sizeof(ip));
    port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    uv_ip6_name(in6, ip, sizeof(ip));
    port = ntohs(in6->sin6_port);
  }
  return fmt::format("{}:{}", ip, port);
}

}  // namespace

ClientConn::ClientConn(Worker* worker, RequestHandler* handler, PoolRouter* pool, bool is_unix)
    : worker_(worker),
      handler_(handler),
      pool_(pool),
      is_unix_(is_unix),
      parser_(worker->options().request_limits) {}

ClientConn::~ClientConn() = default;

ClientSession* ClientConn::EnsureSession() {
  if (session_ == nullptr) session_ = std::make_unique<ClientSession>(this);
  return session_.get();
}

void ClientConn::Resume() {
  if (!paused_) return;
  paused_ = false;
  read_stalled_ = false;
  resume_pending_ = true;
  worker_->MarkDirty(this);
}

uint32_t ClientConn::PendingBefore(const Request* r) const {
  uint32_t n = 0;
  for (const Request* p = head_; p != nullptr && p != r; p = p->client_next) n += !p->done;
  return n;
}

ClientConn* ClientConn::Accept(Worker* worker, RequestHandler* handler, PoolRouter* pool,
                               uv_stream_t* listener, bool is_unix, const AcceptOptions& options) {
  auto* c = new ClientConn(worker, handler, pool, is_unix);
  int rc = is_unix ? uv_pipe_init(worker->loop(), &c->handle_.pipe, 0)
                   : uv_tcp_init(worker->loop(), &c->handle_.tcp);
  if (rc < 0) {
    Log(kLogWarn, "client init: {}", uv_strerror(rc));
    delete c;
    return nullptr;
  }
  c->handle_.tcp.data = c;
  worker->AddClient(c);
  Add(worker->stats().connected_clients, int64_t{1});
  rc = uv_accept(listener, c->stream());
  if (rc < 0) {
    Log(kLogWarn, "accept: {}", uv_strerror(rc));
    c->Close();
    return nullptr;
  }
  Add(worker->stats().connections_received);
  ClientState& st = c->state_;
  st.id = worker->shared().next_client_id.fetch_add(1, std::memory_order_relaxed);
  st.authenticated = !options.needs_auth;
  st.created_ms = st.last_command_ms = c->last_read_ms_ = worker->now_ms();
  if (is_unix) {
    st.address = std::string(options.unix_path) + ":0";
    st.local_address = st.address;
  } else {
    uv_tcp_nodelay(&c->handle_.tcp, 1);
    if (options.tcpkeepalive) uv_tcp_keepalive(&c->handle_.tcp, 1, 60);
    sockaddr_storage ss{};
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->handle_.tcp, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      st.address = FormatAddress(ss);
    }
    len = sizeof(ss);
    if (uv_tcp_getsockname(&c->handle_.tcp, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      st.local_address = FormatAddress(ss);
    }
  }
  if (worker->stopping()) {
    c->Close();
    return nullptr;
  }
  // Counted in the process's and the pool's client totals (uncounted when it closes); past
  // either limit it gets Redis's refusal instead of a request loop.
  auto admitted = [&](std::atomic<uint32_t>* counter, uint32_t max,
                      std::atomic<uint32_t>*& counted_in, std::string_view limit) {
    if (counter == nullptr) return true;
    counted_in = counter;
    uint32_t before = counter->fetch_add(1, std::memory_order_relaxed);
    if (max == 0 || before < max) return true;
    Add(worker->stats().rejected_connections);
    Log(kLogInfo, "client {} ({}): refused, {} clients open ({})", st.id, st.address, before,
        limit);
    c->Refuse("ERR max number of clients reached");
    return false;
  };
  if (!admitted(options.process_clients, options.max_process_clients, c->process_clients_,
                "the open-file limit's share") ||
      !admitted(options.pool_clients, options.max_clients, c->pool_clients_,
                "the pool's client_connections")) {
    return c;
  }
  if (c->pool_ != nullptr) {
    ++c->pool_->counters().client_connections;
    c->in_pool_counters_ = true;
  }
  c->StartReading();
  return c;
}

void ClientConn::StartReading() {
  if (reading_ || closed_) return;
  int rc = uv_read_start(stream(), OnAlloc, OnRead);
  if (rc < 0) {
    Log(kLogInfo, "client {}: read: {}", state_.id, uv_strerror(rc));
    Close();
    return;
  }
  reading_ = true;
}

void ClientConn::StopReading() {
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
}

void ClientConn::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<ClientConn*>(h->data);
  *buf = c->reader_.Prepare(c->worker_->shared_read(), c->worker_->chunks(), c->parser_.needed());
}

void ClientConn::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* c = static_cast<ClientConn*>(s->data);
  if (nread > 0) {
    Add(c->worker_->stats().net_input_bytes, static_cast<uint64_t>(nread));
    c->last_read_ms_ = c->worker_->now_ms();
    c->Process(c->reader_.Commit(static_cast<size_t>(nread)));
    c->worker_->EnforceMemoryBudget();
    return;
  }
  if (nread == 0) return;     // EAGAIN
  if (nread == UV_ENOBUFS) {  // no memory for what it sends
    c->OutOfMemory();
    return;
  }
  if (nread == UV_EOF) {
    c->OnPeerShutdown();
    return;
  }
  // An error: close at once; requests still with a backend become orphans whose replies are
  // dropped when they arrive.
  Log(kLogInfo, "client {}: {}", c->state_.id, uv_strerror(nread));
  c->CountError();
  c->Close();
}

void ClientConn::CloseIfTimedOut(uint64_t now_ms) {
  if (closed_ || pool_ == nullptr) return;
  const auto& timeout = pool_->conf().client_timeout;
  if (!timeout) return;
  if (head_ != nullptr || writing_ ||
      (session_ != nullptr && (session_->subscribed() || session_->blocked()))) {
    last_read_ms_ = now_ms;  // busy, or exempt: its idle time starts when that ends
    return;
  }
  const auto limit = static_cast<uint64_t>(timeout->count());
  if (partial_since_ms_ != 0 && now_ms - partial_since_ms_ > limit) {
    Log(kLogInfo, "client {} ({}): a request arriving for over {} ms (client_timeout); closing",
        state_.id, state_.address, limit);
    Close();
  } else if (partial_since_ms_ == 0 && now_ms - last_read_ms_ > limit) {
    Log(kLogInfo, "client {} ({}): idle for over {} ms (client_timeout); closing", state_.id,
        state_.address, limit);
    Close();
  }
}

void ClientConn::CountError() {
  if (pool_ != nullptr) ++pool_->counters().client_err;
}

void ClientConn::OutOfMemory() {
  Evict(fmt::format("no memory for its request ({} bytes buffered)", MemoryUsage()));
}

void ClientConn::Evict(std::string_view why) {
  Add(worker_->stats().evicted_clients);
  CountError();
  Log(kLogNotice, "client {} ({}): evicted: {}", state_.id, state_.address, why);
  Close();
}

size_t ClientConn::MemoryUsage() const {
  return reader_.memory() + queued_bytes_ + overflow_bytes();
}

void ClientConn::OnPeerShutdown() {
  // The client sent everything it will send (it closed, or only shut down its writing side, as
  // `printf ... | nc` does): every request already read gets its reply, as from Redis and
  // nutcracker, and the connection closes after the last one. A subscribed or blocked client
  // closes now, as in Redis: nothing it waits for need ever come (a LOCK.ACQUIRE ... WAIT too:
  // the grant it would get is released, lock_commands.cc).
  StopReading();
  if (pool_ != nullptr) ++pool_->counters().client_eof;
  if ((session_ != nullptr && (session_->subscribed() || session_->blocked())) ||
      state_.lock_waiting) {
    Close();
    return;
  }
  peer_shut_down_ = true;
  if (head_ == nullptr && !writing_ && !resume_pending_) Close();
}

uint32_t ClientConn::InflightCap() const {
  uint32_t cap = worker_->options().client_max_inflight;
  if (typical_reply_ == 0) return std::min(cap, kUnknownInflightCap);
  return static_cast<uint32_t>(
      std::clamp<size_t>(kReplyBacklog / typical_reply_, kMinInflightCap, cap));
}

bool ClientConn::OverReplyBudget() const {
  return queued_bytes_ + overflow_bytes() >= kReplyBacklog || inflight_ >= InflightCap();
}

bool ClientConn::UnderReplyResumeMark() const {
  return queued_bytes_ + overflow_bytes() < kReplyBacklog / 2 && inflight_ < InflightCap() / 2;
}

void ClientConn::Process(const ReadBuffer::Region& region) {
  Chunk* chunk = region.chunk;
  uint32_t pos = region.begin;
  while (pos < region.end && !no_more_requests_ && !closed_ && !paused_) {
    if (OverReplyBudget()) {
      throttled_ = true;  // the rest is kept, and parsed once the replies catch up
      break;
    }
    parser_.set_unauthenticated(!state_.authenticated);
    auto result = parser_.Parse(chunk->data() + pos, region.end - pos);
    if (result == RequestParser::Result::kIncomplete) break;
    if (result == RequestParser::Result::kError) {
      ProtocolError();
      break;
    }
    uint32_t length = static_cast<uint32_t>(parser_.length());
    if (!parser_.args().empty()) DispatchParsed(chunk, pos);
    pos += length;
    parser_.Reset();
  }
  if (no_more_requests_ || closed_) {
    reader_.Clear();
    return;
  }
  if (!reader_.Keep(worker_->chunks(), region, pos, parser_.needed())) {
    OutOfMemory();
    return;
  }
  if (!reader_.has_partial()) {
    partial_since_ms_ = 0;
  } else if (partial_since_ms_ == 0 || pos > region.begin) {
    partial_since_ms_ = worker_->now_ms();  // a new request began in this read
  }
  if (paused_ && reader_.kept_size() > kPausedReadLimit) {
    read_stalled_ = true;
    StopReading();
  }
  // Backpressure: a client far ahead of its replies is not read until they catch up.
  if (throttled_ || OverReplyBudget()) {
    throttled_ = true;
    StopReading();
  }
}

Request* ClientConn::NewRequest() {
  Request* r = worker_->requests().New(Request::Kind::kClient);
  r->client = this;
  if (tail_ != nullptr) {
    tail_->client_next = r;
  } else {
    head_ = r;
  }
  tail_ = r;
  ++inflight_;
  return r;
}

void ClientConn::DispatchParsed(Chunk* chunk, uint32_t offset) {
  const char* data = chunk->data() + offset;
  std::vector<std::string_view>& argv = worker_->argv_scratch();
  argv.clear();
  for (size_t i = 0; i < parser_.args().size(); ++i) argv.push_back(parser_.ArgView(data, i));
  Request* r = NewRequest();
  r->parsed_ns = uv_hrtime();
  r->silent = std::exchange(state_.skip_next_reply, false) || state_.replies_off;
  Add(worker_->stats().commands_processed);
  state_.last_command_ms = worker_->now_ms();
  ParsedRequest req{chunk,
                    data,
                    static_cast<uint32_t>(parser_.length()),
                    parser_.is_inline(),
                    parser_.args(),
                    std::span<const std::string_view>(argv.data(), argv.size())};
  handler_->Dispatch(this, r, req);
}

uv_buf_t KeepRequestBytes(Request* holder, const ParsedRequest& req) {
  if (req.is_inline) {
    AppendCommand(&holder->own, req.argv);
    return uv_buf_init(holder->own.data(), static_cast<unsigned>(holder->own.size()));
  }
  ++req.chunk->refs;
  holder->in = ChunkRef(req.chunk);
  return uv_buf_init(const_cast<char*>(req.data), req.length);
}

void AppendRequestBytes(std::string* out, const ParsedRequest& req) {
  if (req.is_inline) {
    AppendCommand(out, req.argv);
  } else {
    out->append(req.data, req.length);
  }
}

void CopyRequestBytes(Request* r, const ParsedRequest& req) {
  r->pieces.push_back(KeepRequestBytes(r, req));
}

void ClientConn::Refuse(std::string_view error) {
  // Written and closed at once rather than with the loop iteration's flush: in a burst of
  // connections past the limit, each refused one gives its descriptor back before the next
  // accept (else the burst itself runs the process out of descriptors). A new socket's send
  // buffer takes the short error whole; if not, it goes the usual way.
  std::string bytes;
  AppendError(&bytes, error);
  uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
  if (uv_try_write(stream(), &buf, 1) == static_cast<int>(bytes.size())) {
    no_more_requests_ = true;
    Close();
    return;
  }
  Request* r = NewRequest();
  AppendError(&r->reply_own, error);
  r->UseOwnReply();
  r->close_after = true;
  r->done = true;
  no_more_requests_ = true;
  OnReplyReady(r);
}

void ClientConn::ProtocolError() {
  Add(worker_->stats().protocol_errors);
  CountError();
  Log(kLogInfo, "client {} ({}): {}; closing", state_.id, state_.address, parser_.error());
  Request* r = NewRequest();
  r->reply_own = "-ERR ";
  r->reply_own.append(parser_.error());
  r->reply_own.append("\r\n");
  r->UseOwnReply();
  r->close_after = true;
  r->done = true;
  no_more_requests_ = true;
  StopReading();
  OnReplyReady(r);
}

void ClientConn::OnReplyReady(Request* r) {
  if (closed_) return;
  if (r->fenced) {
    Add(worker_->stats().fenced_writes);
    if (r->reply.starts_with("-FENCED ")) Add(worker_->stats().fenced_refused);
  }
  if (r->parsed_ns != 0 && pool_ != nullptr) {
    uint64_t elapsed = uv_hrtime() - std::exchange(r->parsed_ns, 0);
    pool_->counters().latency.Record(elapsed);
    if (r->command != 0 && r->command <= WorkerStats::kCommandRows) {
      WorkerStats& stats = worker_->stats();
      Add(stats.command_calls[r->command - 1]);
      Add(stats.command_usec[r->command - 1], elapsed / 1000);
      if (r->reply.starts_with('-')) Add(stats.command_failed[r->command - 1]);
    }
  }
  if (session_ != nullptr) session_->OnReplyReady(r);
  if (r->silent) r->reply = {};  // CLIENT REPLY OFF/SKIP: answered, but nothing is written
  queued_bytes_ += r->reply.size();
  auto size = static_cast<int64_t>(std::min<size_t>(r->reply.size(), UINT32_MAX));
  // The typical size rises at once to a larger reply and decays slowly: a client that turns
  // from small values to big ones must not keep the in-flight cap the small ones allowed.
  typical_reply_ =
      static_cast<uint32_t>(std::max(size, typical_reply_ + (size - int64_t{typical_reply_}) / 8));
  // The limit bounds the backlog behind the reply being written, not one reply by itself: a
  // value larger than the limit can still be read (Redis has no limit for normal clients).
  size_t streaming = std::max({overflow_bytes(), r->reply.size(),
                               head_ != nullptr && head_->done ? head_->reply.size() : size_t{0}});
  size_t backlog = queued_bytes_ + overflow_bytes() - streaming;
  if (backlog > worker_->options().client_output_limit) {
    Add(worker_->stats().output_limit_closes);
    Log(kLogNotice, "client {} ({}): {} bytes of replies not read; closing", state_.id,
        state_.address, queued_bytes_ + overflow_bytes());
    Close();
    return;
  }
  if (r == head_) worker_->MarkDirty(this);
  if (r->close_after) no_more_requests_ = true;
}

void ClientConn::Flush() {
  if (resume_pending_) {
    // Requests read while paused: dispatch them now (not from inside Resume(), which may run
    // while this client's own Process() is on the stack).
    resume_pending_ = false;
    if (reader_.has_partial()) Process(reader_.Kept());
    if (closed_) return;
  }
  while (!closed_ && !writing_ && head_ != nullptr && head_->done) {
    WriteBatch& batch = worker_->write_batch();
    batch.Clear();
    size_t replies = 0;
    for (Request* r = head_; r != nullptr && r->done; r = r->client_next) {
      if (!batch.HasRoomFor(1) || batch.bytes() >= kMaxBatchBytes) break;
      batch.Add(r->reply.data(), r->reply.size());
      ++replies;
    }
    // Every reply of the batch may be silent (CLIENT REPLY OFF): nothing to write then.
    int n = batch.iov_count() == 0 ? 0 : uv_try_write(stream(), batch.iov(), batch.iov_count());
    if (n < 0 && n != UV_EAGAIN) {
      Log(kLogInfo, "client {}: write: {}", state_.id, uv_strerror(n));
      Close();
      return;
    }
    size_t written = n > 0 ? static_cast<size_t>(n) : 0;
    Add(worker_->stats().net_output_bytes, written);
    size_t rest = batch.unwritten(written);
    bool by_reference = rest > kCopyUnwrittenMax;
    if (by_reference) {
      Overflow();
      batch.TakeUnwritten(written, &pending_write_->bytes, &pending_write_->iov);
    }
    bool close_after = false;
    // Replies written whole leave the queue. What the kernel did not take is copied once into
    // the pending write, so slots (and the chunks they pin) are released right away, unless
    // it is large: then the slots stay at the head until the write is done.
    for (size_t i = 0; i < replies; ++i) {
      Request* r = head_;
      size_t len = r->reply.size();
      if (written < len && by_reference) {
        pending_write_->replies = static_cast<uint32_t>(replies - i);
        close_after |= r->close_after;
        break;
      }
      head_ = r->client_next;
      if (head_ == nullptr) tail_ = nullptr;
      if (written >= len) {
        written -= len;
      } else {
        Overflow().append(r->reply.data() + written, len - written);
        written = 0;
      }
      queued_bytes_ -= len;
      --inflight_;
      close_after |= r->close_after;
      worker_->Release(r);
      if (close_after) break;  // nothing after QUIT or a protocol error is sent
    }
    if (by_reference || overflow_bytes() > 0) {
      writing_ = true;
      close_when_written_ = close_after;
      PendingWrite& w = *pending_write_;
      w.unwritten = rest;
      uv_buf_t one = uv_buf_init(w.bytes.data(), static_cast<unsigned>(w.bytes.size()));
      uv_buf_t* bufs = by_reference ? w.iov.data() : &one;
      auto count = static_cast<unsigned>(by_reference ? w.iov.size() : 1);
      int rc = uv_write(&w.req, stream(), bufs, count, OnWrite);
      if (rc < 0) {
        writing_ = false;
        Close();
      }
      return;
    }
    if (close_after) {
      Close();
      return;
    }
  }
  if (closed_ || writing_) return;
  if (throttled_ && UnderReplyResumeMark()) {
    // The replies caught up: requests kept unparsed go on (and a new batch of theirs may be
    // ready at once: MarkDirty brings this client back).
    throttled_ = false;
    if (reader_.has_partial()) Process(reader_.Kept());
    if (closed_) return;
  }
  if (head_ == nullptr && !throttled_ && (draining_ || no_more_requests_ || peer_shut_down_)) {
    Close();
    return;
  }
  if (!reading_ && !draining_ && !no_more_requests_ && !read_stalled_ && !peer_shut_down_ &&
      !throttled_) {
    StartReading();
  }
}

std::string& ClientConn::Overflow() {
  if (!pending_write_) {
    pending_write_ = std::make_unique<PendingWrite>();
    pending_write_->req.data = this;
  }
  return pending_write_->bytes;
}

void ClientConn::OnWrite(uv_write_t* req, int status) {
  auto* c = static_cast<ClientConn*>(req->data);
  if (c->closed_) return;  // cancelled by Close(); freed with the connection
  c->writing_ = false;
  Add(c->worker_->stats().net_output_bytes, c->pending_write_->unwritten);
  // Replies the write was made from (by reference) leave the queue now.
  for (uint32_t i = 0; i < c->pending_write_->replies && c->head_ != nullptr; ++i) {
    Request* r = c->head_;
    c->head_ = r->client_next;
    if (c->head_ == nullptr) c->tail_ = nullptr;
    c->queued_bytes_ -= r->reply.size();
    --c->inflight_;
    c->worker_->Release(r);
  }
  c->pending_write_.reset();  // `req` goes with it: libuv is done with it
  if (status < 0 || c->close_when_written_) {
    c->Close();
    return;
  }
  c->Flush();
}

void ClientConn::Drain() {
  draining_ = true;
  StopReading();
  if (head_ == nullptr && !writing_) Close();
}

void ClientConn::Close() {
  if (closed_) return;
  closed_ = true;
  if (std::exchange(in_pool_counters_, false)) --pool_->counters().client_connections;
  worker_->ForgetDirty(this);
  StopReading();
  reader_.Clear();
  // Requests still with a backend become orphans: their replies are dropped on arrival.
  while (head_ != nullptr) {
    Request* r = head_;
    head_ = r->client_next;
    r->client_next = nullptr;
    if (r->done) {
      worker_->Release(r);
    } else {
      r->client = nullptr;
    }
  }
  tail_ = nullptr;
  inflight_ = 0;
  queued_bytes_ = 0;
  // Dedicated connections close now (a blocked command is cut off, subscriptions end); the
  // session object itself lives until the close callback, as its caller may be on the stack.
  if (session_ != nullptr) session_->Teardown();
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), OnClosed);
}

void ClientConn::OnClosed(uv_handle_t* h) {
  auto* c = static_cast<ClientConn*>(h->data);
  c->worker_->RemoveClient(c);
  Add(c->worker_->stats().connected_clients, int64_t{-1});
  if (c->pool_clients_ != nullptr) c->pool_clients_->fetch_sub(1, std::memory_order_relaxed);
  if (c->process_clients_ != nullptr) c->process_clients_->fetch_sub(1, std::memory_order_relaxed);
  delete c;
}

}  // namespace rl::proxy
