#include "proxy/route/pool_router.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "fmt/format.h"
#include "proxy/base/ascii.h"
#include "proxy/base/log.h"
#include "proxy/commands/command_table.h"
#include "proxy/io/client_conn.h"
#include "proxy/io/listener.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/backend.h"
#include "proxy/route/errors.h"
#include "proxy/session/client_session.h"
#include "proxy/session/local_commands.h"
#include "proxy/session/lock_commands.h"
#include "proxy/session/pubsub_hub.h"

namespace rl::proxy {

PoolRouter::PoolRouter(Worker* worker, PoolSetup setup)
    : worker_(worker), setup_(std::move(setup)) {}

PoolRouter::~PoolRouter() {
  StopListening();
  Shutdown();
}

std::expected<void, std::string> PoolRouter::Init() {
  topology_ = std::move(setup_.topology);
  const conf::Pool& pool = conf();
  backends_.resize(topology_->id_limit());
  for (const TopologyServer& server : topology_->servers()) {
    backends_[server.id] = std::make_unique<Backend>(worker_, this, server);
  }
  random_.seed(std::random_device{}());
  if (pool.client_timeout) worker_->EnsureClientSweep();
  RebuildRing();
  if (setup_.listen_fd >= 0) {
    int fd = std::exchange(setup_.listen_fd, -1);
    auto listener = Listener::Start(
        worker_->loop(), fd, setup_.listen_unix, pool.backlog, fmt::format("pool '{}'", pool.name),
        [this](uv_stream_t* server, bool is_unix) {
          ClientConn::Accept(worker_, this, this, server, is_unix,
                             {.needs_auth = !client_password().empty(),
                              .unix_path = conf().listen.path,
                              .tcpkeepalive = conf().tcpkeepalive,
                              .pool_clients = setup_.clients.get(),
                              .max_clients = conf().client_connections,
                              .process_clients = &worker_->shared().clients,
                              .max_process_clients = worker_->shared().max_clients});
        });
    if (!listener) {
      return std::unexpected(
          fmt::format("pool '{}': {}: {}", pool.name, pool.listen.ToString(), listener.error()));
    }
    listener_ = *listener;
  }
  if (pool.preconnect) {
    for (auto& b : backends_) {
      if (b != nullptr) b->Preconnect();
    }
  }
  return {};
}

void PoolRouter::StopListening() {
  if (listener_ != nullptr) std::exchange(listener_, nullptr)->Close();
}

PubsubHub* PoolRouter::pubsub_hub() {
  if (pubsub_hub_ == nullptr) pubsub_hub_ = std::make_unique<PubsubHub>(this);
  return pubsub_hub_.get();
}

void PoolRouter::Shutdown() {
  if (migration_ != nullptr) migration_->Shutdown();
  if (pubsub_hub_ != nullptr) pubsub_hub_->CloseAll();
  for (auto& b : backends_) {
    if (b != nullptr) b->Shutdown();
  }
  for (auto& b : retired_) b->Shutdown();
  retry_timer_.Close();
}

void PoolRouter::Apply(std::shared_ptr<const Topology> topology) {
  std::shared_ptr<const Topology> old = std::exchange(topology_, std::move(topology));
  if (conf().client_timeout) worker_->EnsureClientSweep();
  if (backends_.size() < topology_->id_limit()) backends_.resize(topology_->id_limit());
  for (const TopologyServer& server : topology_->servers()) {
    std::unique_ptr<Backend>& b = backends_[server.id];
    if (b != nullptr) {
      b->Update(server);
      continue;
    }
    b = std::make_unique<Backend>(worker_, this, server);
    if (conf().preconnect && !worker_->stopping()) b->Preconnect();
  }
  for (const TopologyServer& server : old->servers()) {
    if (topology_->Find(server.id) != nullptr) continue;
    std::unique_ptr<Backend> gone = std::move(backends_[server.id]);
    gone->Retire();
    retired_.push_back(std::move(gone));
  }
  RebuildRing();
  Log(kLogNotice, "pool '{}': worker {} routes by epoch {} ({} servers)", conf().name,
      worker_->index(), topology_->epoch(), topology_->servers().size());
}

void PoolRouter::SetMigration(std::shared_ptr<const MigrationRoute> route,
                              std::shared_ptr<void> ack) {
  if (migration_ == nullptr) migration_ = std::make_unique<MigrationPath>(this);
  migration_->Set(std::move(route), std::move(ack));
  Log(kLogNotice, "pool '{}': worker {} routes by {}", conf().name, worker_->index(),
      migration_->active() ? "the migration rules" : fmt::format("epoch {}", epoch()));
}

void PoolRouter::RebuildRing() {
  ring_server_.clear();
  uint64_t next_retry = 0;
  bool any_ejected = false;
  for (const TopologyServer& server : topology_->servers()) {
    Backend& b = *backends_[server.id];
    if (b.ejected() && b.retry_at_ms() <= worker_->now_ms()) b.Readmit();
    if (b.ejected()) {
      any_ejected = true;
      next_retry = next_retry == 0 ? b.retry_at_ms() : std::min(next_retry, b.retry_at_ms());
      continue;
    }
    ring_server_.push_back(server.id);
  }
  if (!any_ejected) {
    ejected_ring_.reset();
    ring_ = &topology_->ring();
  } else {
    // twemproxy rebuilds its continuum over the live servers, so the overlay is a ring built
    // from the snapshot's live members (bit-exact with nutcracker while servers are ejected).
    std::vector<ring::Member> members;
    for (ServerId id : ring_server_) {
      const TopologyServer& server = *topology_->Find(id);
      members.push_back(ring::Member{server.conf.identity, server.conf.weight});
    }
    ejected_ring_ = ring::Ring::Build(std::move(members), conf().RingOptions());
    ring_ = &*ejected_ring_;
  }
  if (next_retry != 0) {
    if (!retry_timer_) {
      retry_timer_.Init([&](uv_timer_t* t) { return uv_timer_init(worker_->loop(), t); }, this);
    }
    uint64_t now = worker_->now_ms();
    uv_timer_start(retry_timer_.get(), OnRetryTimer, next_retry > now ? next_retry - now : 0, 0);
  }
}

void PoolRouter::OnRetryTimer(uv_timer_t* t) {
  auto* p = static_cast<PoolRouter*>(t->data);
  uv_update_time(p->worker_->loop());
  p->RebuildRing();  // readmits the servers whose server_retry_timeout passed
}

Backend* PoolRouter::BackendFor(std::string_view key) {
  if (ring_server_.empty()) return nullptr;
  if (random_placement()) return backends_[ring_server_[ring_->PickRandom(random_())]].get();
  return backends_[ring_server_[ring_->Lookup(key)]].get();
}

Backend* PoolRouter::ChannelBackend(std::string_view channel) {
  if (ring_server_.empty()) return nullptr;
  return backends_[ring_server_[ring_->Lookup(channel)]].get();
}

bool PoolRouter::PlaceKeys(std::span<const std::string_view> argv, std::span<const uint32_t> keys,
                           std::vector<ServerId>* owners) {
  owners->resize(keys.size());
  if (keys.size() == 1) {
    (*owners)[0] = ring_->Lookup(argv[keys[0]]);
  } else {
    key_view_scratch_.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) key_view_scratch_[i] = argv[keys[i]];
    ring_->LookupMany(key_view_scratch_, *owners);  // hashes several keys at once
  }
  bool one_server = true;
  for (ServerId& owner : *owners) {
    owner = ring_server_[owner];  // ring member -> server id
    one_server = one_server && owner == (*owners)[0];
  }
  return one_server;
}

Backend* PoolRouter::AnyBackend() {
  if (ring_server_.empty()) return nullptr;
  return backends_[ring_server_.front()].get();
}

Backend* PoolRouter::BackendById(ServerId id) {
  return id < backends_.size() ? backends_[id].get() : nullptr;
}

namespace {

std::string Upper(std::string_view s) { return AsciiUppercase(s); }

// printf's "%.Ns" of a C string: stops at a NUL byte too.
std::string_view CString(std::string_view s, size_t max) {
  size_t nul = s.find('\0');
  if (nul != std::string_view::npos) s = s.substr(0, nul);
  return s.substr(0, std::min(max, s.size()));
}

// Redis 7.0's exact text for an unknown command.
std::string UnknownCommand(std::span<const std::string_view> argv) {
  std::string args;
  for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
    std::string_view arg = CString(argv[i], 128 - args.size());
    args += "'";
    args.append(arg);
    args += "' ";
  }
  std::string out;
  AppendError(&out, fmt::format("ERR unknown command '{}', with args beginning with: {}",
                                CString(argv[0], 128), args));
  return out;
}

}  // namespace

void PoolRouter::Reply(ClientConn* client, Request* r, std::string_view bytes) {
  r->SetOwnReply(bytes);
  r->done = true;
  client->OnReplyReady(r);
}

void PoolRouter::Reject(ClientConn* client, Request* r, std::string_view bytes) {
  if (ClientSession* session = client->session(); session != nullptr) session->OnRejected();
  Reply(client, r, bytes);
}

void PoolRouter::Dispatch(ClientConn* client, Request* r, const ParsedRequest& req) {
  std::span<const std::string_view> argv = req.argv;
  r->epoch = topology_->epoch();
  const CommandInfo* info = FindCommand(argv[0], argv.size() > 1 ? argv[1] : std::string_view{});
  std::string error;
  if (info == nullptr) {
    Reject(client, r, UnknownCommand(argv));
    return;
  }
  if ((info->flags & kHasSubcommands) != 0 && argv.size() > 1) {
    AppendError(&error, fmt::format("ERR unknown subcommand '{}'. Try {} HELP.",
                                    CString(argv[1], 128), Upper(argv[0])));
    Reject(client, r, error);
    return;
  }
  if (!ArityOk(*info, argv.size())) {
    AppendError(&error, fmt::format("ERR wrong number of arguments for '{}' command", info->name));
    Reject(client, r, error);
    return;
  }
  r->command = static_cast<uint16_t>(info - AllCommands().data() + 1);  // INFO commandstats
  if (!client->state().authenticated && (info->flags & kNoAuth) == 0) {
    Reject(client, r, "-NOAUTH Authentication required.\r\n");
    return;
  }
  // A client in MULTI or subscribed: its session decides (client_session.h).
  if (ClientSession* session = client->session();
      session != nullptr && session->Intercepts(*info)) {
    session->Dispatch(r, req, *info);
    return;
  }
  // LOCK.FENCE bound: writes go fenced (a null check for every other client).
  if (client->state().fence != nullptr && RunFenceBound(this, client, r, req, *info)) return;
  switch (info->route) {
    case Route::kLocal:
      // Redis's own answer is exact and cheap for these: let a server give it.
      if (info->handler == Handler::kCommandGetkeys ||
          (info->handler == Handler::kCommandList && argv.size() > 2)) {
        Forward(client, r, req, AnyBackend());
        return;
      }
      RunLocalCommand(this, client, r, *info, argv);
      return;
    case Route::kRefused:
    case Route::kSpecial: {
      std::string name = Upper(argv[0]);
      if (info->name.find('|') != std::string_view::npos) {
        // Two appends, not `" " + Upper(...)`: g++ 12 -O3 warns falsely (-Wrestrict) on that.
        name += ' ';
        name += Upper(argv[1]);
      }
      AppendError(&error,
                  fmt::format("ERR '{}' is not supported by ringleader: {}", name, info->reason));
      Reply(client, r, error);
      return;
    }
    case Route::kAnyServer:
      Forward(client, r, req, AnyBackend());
      return;
    case Route::kBroadcast:
      Broadcast(client, r, req, *info);
      return;
    case Route::kAdminBroadcast:
      if (!conf().admin_commands) {
        AppendError(&error, fmt::format("ERR '{}' is not allowed in pool '{}': {}", Upper(argv[0]),
                                        conf().name, info->reason));
        Reply(client, r, error);
        return;
      }
      Broadcast(client, r, req, *info);
      return;
    case Route::kScan:
      Scan(client, r, req);
      return;
    case Route::kLock:
      RunLockCommand(this, client, r, req, *info);
      return;
    case Route::kTransaction:
    case Route::kBlocking:
      if (migration_ != nullptr && migration_->active()) {
        key_scratch_.resize(argv.size());
        int n = info->route == Route::kBlocking ? ExtractKeys(*info, argv, key_scratch_) : 0;
        std::span<const uint32_t> keys(key_scratch_.data(), static_cast<size_t>(std::max(n, 0)));
        if (std::string refusal = migration_->SessionRefusal(*info, argv, keys); !refusal.empty()) {
          Reject(client, r, refusal);
          return;
        }
      }
      client->EnsureSession()->Dispatch(r, req, *info);
      return;
    case Route::kPubsub:
      client->EnsureSession()->Dispatch(r, req, *info);
      return;
    case Route::kForwardByKey:
    case Route::kColocated:
    case Route::kSplitMerge:
      break;
  }
  key_scratch_.resize(argv.size());
  int nkeys = ExtractKeys(*info, argv, key_scratch_);
  if (nkeys <= 0) {
    // No key, or arguments Redis itself rejects: any server gives the right answer.
    Forward(client, r, req, AnyBackend());
    return;
  }
  std::span<const uint32_t> keys(key_scratch_.data(), static_cast<size_t>(nkeys));
  if (ring_server_.empty()) {
    Forward(client, r, req, nullptr);
    return;
  }
  if (random_placement()) {
    // One draw for the whole request: nutcracker draws per key fragment, but a random pool
    // gives keys no home, so one server doing the command natively is as valid and cheaper.
    Backend* backend = BackendFor(argv[keys[0]]);
    if ((info->flags & kPatternKeys) != 0) {
      if (std::string refusal = PatternKeysRefusal(argv, backend->id()); !refusal.empty()) {
        Reply(client, r, refusal);
        return;
      }
    }
    if ((info->flags & kWrite) != 0) client->state().last_write_server = backend->id();  // WAIT
    Forward(client, r, req, backend);
    return;
  }
  // A ring change under way: a request whose keys move runs the migration rules.
  if (migration_ != nullptr && migration_->active() &&
      migration_->Take(client, r, *info, argv, keys)) {
    return;
  }
  // The owner of every key, looked up once (Split reuses them).
  // Only the first key decides where kForwardByKey goes; every key counts for the others.
  const bool one_server =
      PlaceKeys(argv, info->route == Route::kForwardByKey ? keys.first(1) : keys, &owner_scratch_);
  if ((info->flags & kPatternKeys) != 0) {
    if (std::string refusal = PatternKeysRefusal(argv, owner_scratch_[0]); !refusal.empty()) {
      Reply(client, r, refusal);
      return;
    }
  }
  if ((info->flags & kWrite) != 0) client->state().last_write_server = owner_scratch_[0];  // WAIT
  if (info->route == Route::kForwardByKey || one_server) {
    // One server does the whole command natively.
    Forward(client, r, req, backends_[owner_scratch_[0]].get());
  } else if (info->route == Route::kColocated || info->merge == Merge::kNone) {
    Reply(client, r, CrossSlotError());
  } else {
    Split(client, r, req, *info, keys);
  }
}

std::string PoolRouter::PatternKeysRefusal(std::span<const std::string_view> argv, ServerId owner) {
  if (ring_server_.size() <= 1) return {};  // one server holds every key
  const std::string& tag = ring_->options().hash_tag;
  // Whether every key `pattern` names is on `owner` (Redis's lookupKeyByPattern: the first '*'
  // is replaced by the element; "->field" after it reads a hash field of the key before it).
  auto stays = [&](std::string_view pattern) {
    if (pattern == "#") return true;
    const size_t star = pattern.find('*');
    if (star == std::string_view::npos) return true;  // names no key
    if (random_placement() || tag.size() != 2) return false;
    // The substituted key's hash tag is fixed only when the first tag[0] and the first tag[1]
    // after it, with something between them, lie before the '*' (HashedPart's rule).
    const std::string_view prefix = pattern.substr(0, star);
    const size_t open = prefix.find(tag[0]);
    if (open == std::string_view::npos) return false;
    const size_t close = prefix.find(tag[1], open + 1);
    if (close == std::string_view::npos || close - open <= 1) return false;
    return ring_server_[ring_->Lookup(prefix)] == owner;
  };
  // SORT's own argument loop: LIMIT takes two, BY/GET/STORE one, the rest none.
  for (size_t i = 2; i < argv.size(); ++i) {
    const size_t left = argv.size() - i - 1;
    if (EqualsIgnoreCase(argv[i], "limit") && left >= 2) {
      i += 2;
    } else if (EqualsIgnoreCase(argv[i], "store") && left >= 1) {
      ++i;
    } else if ((EqualsIgnoreCase(argv[i], "by") || EqualsIgnoreCase(argv[i], "get")) && left >= 1) {
      std::string_view option = argv[i], pattern = argv[++i];
      if (!stays(pattern)) {
        return CrossSlotError(fmt::format(
            ": {}'s {} pattern '{}' names keys that may live on another server than '{}' (give "
            "the pattern the key's hash tag before its '*'{})",
            Upper(argv[0]), Upper(option), CString(pattern, 128), CString(argv[1], 128),
            tag.size() == 2 ? "" : "; this pool has no hash_tag"));
      }
    }
  }
  return {};
}

void PoolRouter::Forward(ClientConn* client, Request* r, const ParsedRequest& req,
                         Backend* backend) {
  if (backend == nullptr) {
    r->reply_own = NoServerError(conf().name);
    r->UseOwnReply();
    r->done = true;
    client->OnReplyReady(r);
    return;
  }
  CopyRequestBytes(r, req);
  backend->Send(r, client->state().id);
}

void PoolRouter::Split(ClientConn* client, Request* r, const ParsedRequest& req,
                       const CommandInfo& info, std::span<const uint32_t> keys) {
  std::span<const std::string_view> argv = req.argv;
  std::span<const ArgSpan> spans = req.spans;
  size_t step = static_cast<size_t>(std::max(1, info.key_step));
  // Group the keys by owner (owner_scratch_, from Dispatch), in the client's key order.
  backend_scratch_.assign(backends_.size(), UINT32_MAX);  // server id -> fragment index
  count_scratch_.clear();                                 // fragment -> keys
  bytes_scratch_.clear();
  r->merge = static_cast<uint8_t>(info.merge);
  worker_->requests().PrepareSplit(r);
  r->key_fragment.resize(keys.size());
  std::vector<Backend*>& targets = target_scratch_;  // fragment -> backend
  targets.clear();
  for (size_t i = 0; i < keys.size(); ++i) {
    uint32_t owner = owner_scratch_[i];
    if (backend_scratch_[owner] == UINT32_MAX) {
      backend_scratch_[owner] = static_cast<uint32_t>(targets.size());
      targets.push_back(backends_[owner].get());
      count_scratch_.push_back(0);
      bytes_scratch_.push_back(0);
    }
    uint32_t f = backend_scratch_[owner];
    r->key_fragment[i] = f;
    ++count_scratch_[f];
    bytes_scratch_[f] += spans[keys[i] + step - 1].end() - spans[keys[i]].header;
  }
  for (size_t f = 0; f < targets.size(); ++f) {
    Request* frag = worker_->requests().New(Request::Kind::kFragment);
    frag->parent = r;
    r->fragments.push_back(frag);
  }
  if (req.is_inline) {
    // Inline requests were unquoted into the parser's storage: encode each fragment whole.
    std::vector<std::string_view>& fragment_argv = argv_scratch_;
    for (size_t f = 0; f < targets.size(); ++f) {
      Request* frag = r->fragments[f];
      fragment_argv.assign(1, argv[0]);
      for (size_t i = 0; i < keys.size(); ++i) {
        if (r->key_fragment[i] != f) continue;
        for (size_t s = 0; s < step; ++s) fragment_argv.push_back(argv[keys[i] + s]);
      }
      AppendCommand(&frag->own, fragment_argv);
      frag->pieces.push_back(
          uv_buf_init(frag->own.data(), static_cast<unsigned>(frag->own.size())));
    }
    SendFragments(client, r, targets);
    return;
  }
  // "*N\r\n" is new; the command name and every key (with its values) are the client's own
  // bytes. Fragments of up to kCopyFragment bytes are copied, one after the other, into one
  // pooled chunk that the parent holds (one memcpy per key beats gathering dozens of 20-byte
  // pieces in the kernel, and a pooled chunk allocates nothing once warm); a larger fragment
  // (big MSET values) references the client's bytes, adjacent arguments merged into one piece.
  constexpr size_t kCopyFragment = 16 * 1024;
  const char* name_begin = req.data + spans[0].header;
  const size_t name_size = spans[0].end() - spans[0].header;
  // Writes fragment f's "*N\r\n" at `out` (24 bytes of room); returns its size.
  auto format_header = [&](size_t f, char* out) {
    out[0] = '*';
    char* end = std::to_chars(out + 1, out + 21, 1 + count_scratch_[f] * step).ptr;
    end[0] = '\r';
    end[1] = '\n';
    return static_cast<size_t>(end + 2 - out);
  };
  cursor_scratch_.assign(targets.size(), 0);
  size_t copied = 0;
  for (size_t f = 0; f < targets.size(); ++f) {
    char header[24];
    if (bytes_scratch_[f] <= kCopyFragment) {
      copied += format_header(f, header) + name_size + bytes_scratch_[f];
    }
  }
  ChunkRef copy;
  if (copied > 0) copy = worker_->chunks().Get(copied);
  if (copied > 0 && !copy) {
    // Memory is exhausted: this request fails, the process goes on (its fragments, not sent
    // yet, are freed with it).
    r->SetOwnReply("-ERR out of memory splitting the command\r\n");
    r->done = true;
    client->OnReplyReady(r);
    return;
  }
  size_t offset = 0;
  for (size_t f = 0; f < targets.size(); ++f) {
    Request* frag = r->fragments[f];
    if (bytes_scratch_[f] > kCopyFragment) {
      ++req.chunk->refs;
      frag->in = ChunkRef(req.chunk);
      AppendArrayHeader(&frag->own, static_cast<int64_t>(1 + count_scratch_[f] * step));
      frag->pieces.push_back(
          uv_buf_init(frag->own.data(), static_cast<unsigned>(frag->own.size())));
      frag->pieces.push_back(
          uv_buf_init(const_cast<char*>(name_begin), static_cast<unsigned>(name_size)));
      continue;
    }
    char* to = copy->data() + offset;
    size_t header_size = format_header(f, to);
    std::memcpy(to + header_size, name_begin, name_size);
    size_t size = header_size + name_size + bytes_scratch_[f];
    frag->pieces.push_back(uv_buf_init(to, static_cast<unsigned>(size)));
    cursor_scratch_[f] = offset + header_size + name_size;
    offset += size;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    uint32_t f = r->key_fragment[i];
    const char* begin = req.data + spans[keys[i]].header;
    const char* end = req.data + spans[keys[i] + step - 1].end();
    if (bytes_scratch_[f] <= kCopyFragment) {
      std::memcpy(copy->data() + cursor_scratch_[f], begin, static_cast<size_t>(end - begin));
      cursor_scratch_[f] += static_cast<size_t>(end - begin);
      continue;
    }
    uv_buf_t& last = r->fragments[f]->pieces.back();
    if (last.base + last.len == begin) {
      last.len += static_cast<unsigned>(end - begin);
    } else {
      r->fragments[f]->pieces.push_back(
          uv_buf_init(const_cast<char*>(begin), static_cast<unsigned>(end - begin)));
    }
  }
  r->in = std::move(copy);
  SendFragments(client, r, targets);
}

PoolSample PoolRouter::Sample() const {
  PoolSample s;
  s.name = conf().name;
  s.counters = counters_;
  for (const TopologyServer& server : topology_->servers()) {
    if (server.id < backends_.size() && backends_[server.id] != nullptr) {
      s.servers.push_back(backends_[server.id]->Sample());
    }
  }
  return s;
}

void PoolRouter::SendFragments(ClientConn* client, Request* r, std::vector<Backend*>& targets) {
  // Sending can fail a fragment at once (and even eject a server, which rebuilds the ring), so
  // work from a copy of the targets and with `pending` set for all of them first.
  uint64_t affinity = client->state().id;
  size_t n = targets.size();
  counters_.fragments += n;
  r->pending = static_cast<uint32_t>(n);
  send_scratch_.assign(targets.begin(), targets.end());
  fragment_scratch_.assign(r->fragments.begin(), r->fragments.end());
  // SCRIPT KILL and FUNCTION KILL must not queue behind the script they are meant to stop,
  // which holds one of the shared connections: they get connections of their own.
  const bool alone = static_cast<Merge>(r->merge) == Merge::kAnySuccess;
  for (size_t f = 0; f < n; ++f) {
    if (alone) {
      send_scratch_[f]->SendAlone(fragment_scratch_[f]);
    } else {
      send_scratch_[f]->Send(fragment_scratch_[f], affinity);
    }
  }
}

void PoolRouter::Broadcast(ClientConn* client, Request* r, const ParsedRequest& req,
                           const CommandInfo& info) {
  if (ring_server_.empty()) {
    Forward(client, r, req, nullptr);
    return;
  }
  r->merge = static_cast<uint8_t>(info.merge);
  worker_->requests().PrepareSplit(r);
  uv_buf_t whole = KeepRequestBytes(r, req);
  std::vector<Backend*>& targets = target_scratch_;
  targets.clear();
  for (ServerId index : ring_server_) {
    Request* frag = worker_->requests().New(Request::Kind::kFragment);
    frag->parent = r;
    frag->pieces.push_back(whole);
    r->fragments.push_back(frag);
    targets.push_back(backends_[index].get());
  }
  SendFragments(client, r, targets);
}

}  // namespace rl::proxy
