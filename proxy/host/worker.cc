#include "proxy/host/worker.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "fmt/format.h"
#include "proxy/base/log.h"
#include "proxy/commands/command_table.h"
#include "proxy/io/client_conn.h"
#include "proxy/io/server_conn.h"
#include "proxy/route/merge.h"
#include "proxy/route/pool_router.h"

namespace rl::proxy {

Worker::Worker(int index, SharedState* shared)
    : index_(index), shared_(shared), chunks_(64u << 20, &shared->buffered_bytes) {}

void Worker::EnforceMemoryBudget() {
  const size_t budget = options().client_memory_limit;
  if (budget == 0) return;
  // What eviction frees is counted here at once: a closed client's queued replies are released
  // only when their writes complete, and the loop must not evict more clients for them.
  int64_t projected = shared_->buffered_bytes.load(std::memory_order_relaxed);
  if (projected <= static_cast<int64_t>(budget)) return;
  // As Redis's maxmemory-clients: the largest consumers go first, until the process is back
  // under the budget. A worker evicts among its own clients only; one holding less than a
  // small share of the budget is never evicted for memory that others hold.
  const size_t floor = std::max<size_t>(1u << 20, budget / 64);
  while (projected > static_cast<int64_t>(budget)) {
    ClientConn* largest = nullptr;
    size_t most = floor;
    for (ClientConn* c = client_list_; c != nullptr; c = c->next) {
      if (c->closed()) continue;
      if (size_t usage = c->MemoryUsage(); usage >= most) {
        most = usage;
        largest = c;
      }
    }
    if (largest == nullptr) return;
    largest->Evict(
        fmt::format("the largest client ({} bytes) while clients hold {} bytes, over "
                    "client_memory_limit ({} bytes)",
                    most, projected, budget));
    projected -= static_cast<int64_t>(most);
  }
}

std::vector<PoolSample> Worker::SampleStats() const {
  std::vector<PoolSample> samples;
  for (const auto& pool : pools_) samples.push_back(pool->Sample());
  return samples;
}

Worker::~Worker() {
  if (!loop_initialized_) return;
  pools_.clear();
  mailbox_.Close();
  check_.Close();
  prepare_.Close();
  grace_timer_.Close();
  // Let the close callbacks run (they free the handles), then release the loop.
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop_) != 0) {
    std::fprintf(stderr, "ringleader: worker %d: loop still has handles at exit\n", index_);
  }
}

std::expected<void, std::string> Worker::Init(std::vector<PoolSetup> pools) {
  int rc = uv_loop_init(&loop_);
  if (rc < 0) return std::unexpected(fmt::format("uv_loop_init: {}", uv_strerror(rc)));
  loop_initialized_ = true;
  loop_.data = this;
  if ((rc = mailbox_.Open(&loop_)) < 0) {
    return std::unexpected(fmt::format("worker mailbox: {}", uv_strerror(rc)));
  }
  check_.Init([&](uv_check_t* c) { return uv_check_init(&loop_, c); }, this);
  uv_check_start(check_.get(), OnFlush);
  prepare_.Init([&](uv_prepare_t* p) { return uv_prepare_init(&loop_, p); }, this);
  uv_prepare_start(prepare_.get(), OnPrepare);
  for (PoolSetup& setup : pools) {
    pools_.push_back(std::make_unique<PoolRouter>(this, std::move(setup)));
    if (auto ok = pools_.back()->Init(); !ok) return ok;
  }
  return {};
}

void Worker::Start(std::function<void()> finished) {
  thread_ = std::thread([this, finished = std::move(finished)] {
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (finished) finished();
  });
}

void Worker::Stop() {
  mailbox_.Post([this] { BeginDrain(); });
}

PoolRouter* Worker::FindPool(std::string_view name) {
  for (auto& pool : pools_) {
    if (pool->conf().name == name) return pool.get();
  }
  return nullptr;
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::BeginDrain() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& pool : pools_) pool->StopListening();
  // Clients finish what they sent (no new requests are read), then close.
  for (ClientConn* c = client_list_; c != nullptr;) {
    ClientConn* next = c->next;
    c->Drain();
    c = next;
  }
  grace_timer_.Init([&](uv_timer_t* t) { return uv_timer_init(&loop_, t); }, this);
  uv_timer_start(grace_timer_.get(), OnGraceTimer,
                 static_cast<uint64_t>(options().shutdown_grace.count()), 0);
  MaybeFinish(false);
}

void Worker::OnGraceTimer(uv_timer_t* t) {
  auto* w = static_cast<Worker*>(t->data);
  Log(kLogNotice, "worker {}: {} clients still busy after the shutdown grace period; closing",
      w->index_, w->clients_);
  w->MaybeFinish(true);
}

void Worker::MaybeFinish(bool force) {
  if (!stopping_ || finished_) return;
  if (force) {
    for (ClientConn* c = client_list_; c != nullptr;) {
      ClientConn* next = c->next;
      c->Close();
      c = next;
    }
  } else if (client_list_ != nullptr) {
    return;
  }
  finished_ = true;
  // Closing backends fails whatever they still hold (orphans by now) and lets the loop end.
  for (auto& pool : pools_) pool->Shutdown();
  mailbox_.Close();
  check_.Close();
  prepare_.Close();
  grace_timer_.Close();
  sweep_timer_.Close();
}

void Worker::EnsureClientSweep() {
  if (sweep_timer_ || finished_) return;
  sweep_timer_.Init([&](uv_timer_t* t) { return uv_timer_init(&loop_, t); }, this);
  uv_timer_start(sweep_timer_.get(), OnClientSweep, kClientSweepMs, kClientSweepMs);
}

void Worker::OnClientSweep(uv_timer_t* h) {
  auto* w = static_cast<Worker*>(h->data);
  uint64_t now = w->now_ms();
  for (ClientConn* c = w->client_list_; c != nullptr;) {
    ClientConn* next = c->next;  // CloseIfTimedOut may close c (it stays listed until closed)
    c->CloseIfTimedOut(now);
    c = next;
  }
}

void Worker::MarkDirty(ClientConn* c) {
  if (c->in_dirty_list) return;
  c->in_dirty_list = true;
  dirty_clients_.push_back(c);
}

void Worker::MarkDirty(ServerConn* s) {
  if (s->in_dirty_list) return;
  s->in_dirty_list = true;
  dirty_servers_.push_back(s);
}

void Worker::ForgetDirty(ClientConn* c) {
  if (!c->in_dirty_list) return;
  c->in_dirty_list = false;
  auto it = std::find(dirty_clients_.begin(), dirty_clients_.end(), c);
  if (it != dirty_clients_.end()) *it = nullptr;
}

void Worker::ForgetDirty(ServerConn* s) {
  if (!s->in_dirty_list) return;
  s->in_dirty_list = false;
  auto it = std::find(dirty_servers_.begin(), dirty_servers_.end(), s);
  if (it != dirty_servers_.end()) *it = nullptr;
}

void Worker::AddClient(ClientConn* c) {
  c->prev = nullptr;
  c->next = client_list_;
  if (client_list_ != nullptr) client_list_->prev = c;
  client_list_ = c;
  ++clients_;
}

void Worker::RemoveClient(ClientConn* c) {
  if (c->prev != nullptr) {
    c->prev->next = c->next;
  } else {
    client_list_ = c->next;
  }
  if (c->next != nullptr) c->next->prev = c->prev;
  --clients_;
  if (stopping_) MaybeFinish(false);
}

void Worker::OnFlush(uv_check_t* h) { static_cast<Worker*>(h->data)->FlushAll(); }
void Worker::OnPrepare(uv_prepare_t* h) { static_cast<Worker*>(h->data)->FlushAll(); }

void Worker::FlushAll() {
  // Servers first: requests read in this iteration go out before we wait for I/O again.
  // Flushing can fail a connection, which completes requests and dirties clients, so loop.
  while (!dirty_servers_.empty() || !dirty_clients_.empty()) {
    for (size_t i = 0; i < dirty_servers_.size(); ++i) {
      ServerConn* s = dirty_servers_[i];
      if (s == nullptr) continue;
      s->in_dirty_list = false;
      dirty_servers_[i] = nullptr;
      s->Flush();
    }
    dirty_servers_.clear();
    for (size_t i = 0; i < dirty_clients_.size(); ++i) {
      ClientConn* c = dirty_clients_[i];
      if (c == nullptr) continue;
      c->in_dirty_list = false;
      dirty_clients_[i] = nullptr;
      c->Flush();
    }
    dirty_clients_.clear();
  }
}

void Worker::Complete(Request* r) {
  switch (r->kind) {
    case Request::Kind::kFragment: {
      Request* parent = r->parent;
      if (--parent->pending > 0) return;
      if (parent->client != nullptr) {
        if (static_cast<Merge>(parent->merge) == Merge::kScanCursor &&
            parent->client->pool()->ContinueScan(parent->client, parent)) {
          return;
        }
        MergeFragments(parent, &chunks_);
      }
      parent->done = true;
      Complete(parent);
      return;
    }
    case Request::Kind::kClient:
      if (r->client != nullptr) {
        r->client->OnReplyReady(r);
      } else {
        Release(r);  // its client went away
      }
      return;
    case Request::Kind::kInternal:
    case Request::Kind::kLate:
      Release(r);
      return;
    case Request::Kind::kOwned: {
      // Answered (or failed: per-client state treats a lost connection itself). A client
      // request waiting for owned commands is ready when the last one is.
      Request* waiting = r->parent;
      if (waiting != nullptr && r->reply_is_error && !waiting->reply_is_error) {
        // A subscription whose server connection failed before confirming it: the client
        // gets the error, never a confirmation of what does not listen.
        waiting->SetOwnReply(r->reply_own);
        waiting->reply_is_error = true;
      }
      Release(r);
      if (waiting != nullptr && --waiting->pending == 0) {
        waiting->done = true;
        Complete(waiting);
      }
      return;
    }
  }
}

}  // namespace rl::proxy
