// The engine's Backend over RespClient connections and its Clock over uv timers (see
// resp_backend.h). Every step that must be atomic on a server is one Lua script with its keys
// declared; everything else is one plain command.
#include "proxy/migration/resp_backend.h"

#include <fmt/format.h>
#include <openssl/sha.h>

#include <array>
#include <charconv>
#include <utility>

namespace rl::migration {

using proxy::RespClient;
using proxy::RespClientOptions;
using proxy::RespError;
using proxy::RespReply;

struct LuaScript {
  explicit LuaScript(std::string_view text) : source(text) {
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(source.data()), source.size(), digest.data());
    for (unsigned char c : digest) sha1 += fmt::format("{:02x}", c);
  }
  std::string source;
  std::string sha1;
};

namespace {

// KEYS[1] = the key; ARGV = the command. 0 when the key is absent (the command did not run),
// else {reply}, or the command's error as the script's error.
const char kRunIfExists[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local r = redis.pcall(unpack(ARGV))
if type(r) == 'table' and r.err then return r end
return {r}
)lua";

// KEYS = the scanned keys: per key its type, element count and MEMORY USAGE.
const char kScanInfo[] = R"lua(
local out = {}
for _, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k)['ok']
  local n = 1
  if t == 'hash' then n = redis.call('HLEN', k)
  elseif t == 'set' then n = redis.call('SCARD', k)
  elseif t == 'zset' then n = redis.call('ZCARD', k)
  elseif t == 'list' then n = redis.call('LLEN', k) end
  local m = 0
  if t ~= 'none' then m = redis.call('MEMORY', 'USAGE', k) or 0 end
  out[#out + 1] = t
  out[#out + 1] = n
  out[#out + 1] = m
end
return out
)lua";

// KEYS[1] = marker, KEYS[2] = key: -1 in flight, else DEL's count.
const char kGatedDelete[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
return redis.call('DEL', KEYS[2])
)lua";

// KEYS[1] = key, KEYS[2] = marker, ARGV[1] = token.
const char kMarkInFlight[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
return 1
)lua";

// KEYS[1] = key; ARGV = command, cursor, count. 0 when absent, else the command's reply.
const char kReadChunk[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == 'LRANGE' then
  local from = tonumber(ARGV[2])
  return redis.call('LRANGE', KEYS[1], from, from + tonumber(ARGV[3]) - 1)
end
return redis.call(ARGV[1], KEYS[1], ARGV[2], 'COUNT', ARGV[3])
)lua";

// KEYS[1] = staging, KEYS[2] = key, ARGV[1] = pttl: 1 key exists, 2 no staging, 0 installed.
const char kInstallStaged[] = R"lua(
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 2 end
redis.call('RENAME', KEYS[1], KEYS[2])
local pttl = tonumber(ARGV[1])
if pttl >= 0 then redis.call('PEXPIRE', KEYS[2], pttl) end
return 0
)lua";

// KEYS[1] = marker, KEYS[2] = key, ARGV[1] = token, ARGV[2] = '1' to delete the key.
const char kFinishInFlight[] = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] == '1' then redis.call('DEL', KEYS[2]) end
return 1
)lua";

const LuaScript& Scripts(int which);

Error FromRespError(const RespError& e) {
  ErrorKind kind =
      e.code == RespError::Code::kTimeout ? ErrorKind::kTimeout : ErrorKind::kConnection;
  return Error{kind, fmt::format("{}: {}", proxy::CodeName(e.code), e.message)};
}

Error ServerError(const RespReply& r, std::string_view op) {
  return Error{ErrorKind::kServer, fmt::format("{}: {}", op, r.ToString())};
}

bool ParseUint(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

KeyType TypeOf(std::string_view t) {
  if (t == "string") return KeyType::kString;
  if (t == "hash") return KeyType::kHash;
  if (t == "set") return KeyType::kSet;
  if (t == "zset") return KeyType::kZset;
  if (t == "list") return KeyType::kList;
  if (t == "none") return KeyType::kNone;
  return KeyType::kOther;
}

// An integer reply or a server error.
template <class T, class F>
void OnInteger(Result<RespReply> r, std::string_view op, const Callback<T>& done, F map) {
  if (!r) return done(std::unexpected(r.error()));
  if (r->type != RespReply::Type::kInteger) return done(std::unexpected(ServerError(*r, op)));
  done(map(r->integer));
}

}  // namespace

namespace {
enum ScriptId { kSRunIfExists, kSScanInfo, kSGatedDelete, kSMark, kSRead, kSInstall, kSFinish };
const LuaScript& Scripts(int which) {
  static const std::array<LuaScript, 7> scripts = {
      LuaScript(kRunIfExists),   LuaScript(kScanInfo),  LuaScript(kGatedDelete),
      LuaScript(kMarkInFlight),  LuaScript(kReadChunk), LuaScript(kInstallStaged),
      LuaScript(kFinishInFlight)};
  return scripts[which];
}
}  // namespace

namespace {

// RESP2 bytes of a parsed reply (the connections speak RESP2), for Reply::raw.
void Encode(const RespReply& r, std::string* out) {
  switch (r.type) {
    case RespReply::Type::kStatus:
      *out += fmt::format("+{}\r\n", r.str);
      return;
    case RespReply::Type::kError:
      *out += fmt::format("-{}\r\n", r.str);
      return;
    case RespReply::Type::kInteger:
    case RespReply::Type::kBoolean:
      *out += fmt::format(":{}\r\n", r.integer);
      return;
    case RespReply::Type::kNil:
      *out += "$-1\r\n";
      return;
    case RespReply::Type::kArray:
    case RespReply::Type::kMap:
    case RespReply::Type::kSet:
    case RespReply::Type::kPush:
      *out += fmt::format("*{}\r\n", r.elements.size());
      for (const RespReply& e : r.elements) Encode(e, out);
      return;
    default:
      *out += fmt::format("${}\r\n", r.str.size());
      *out += r.str;
      *out += "\r\n";
      return;
  }
}

Reply Convert(const RespReply& r) {
  switch (r.type) {
    case RespReply::Type::kNil:
      return Reply::Nil();
    case RespReply::Type::kStatus:
      return Reply::Status(r.str);
    case RespReply::Type::kError:
      return Reply::Err(r.str);
    case RespReply::Type::kInteger:
    case RespReply::Type::kBoolean:
      return Reply::Integer(r.integer);
    case RespReply::Type::kArray:
    case RespReply::Type::kMap:
    case RespReply::Type::kSet:
    case RespReply::Type::kPush: {
      Reply out;
      out.kind = Reply::Kind::kArray;
      for (const RespReply& e : r.elements) {
        if (e.type == RespReply::Type::kInteger) {
          out.elements.push_back(std::to_string(e.integer));
        } else if (!e.elements.empty()) {
          Reply inner = Convert(e);
          for (std::string& s : inner.elements) out.elements.push_back(std::move(s));
        } else {
          out.elements.push_back(e.str);
        }
      }
      return out;
    }
    default:
      return Reply::String(r.str);
  }
}

}  // namespace

Reply ToReply(const RespReply& r) {
  Reply out = Convert(r);
  Encode(r, &out.raw);
  return out;
}

RespBackend::RespBackend(uv_loop_t* loop, std::vector<ServerAddress> servers,
                         RespBackendOptions options)
    : loop_(loop), options_(options), alive_(std::make_shared<bool>(true)) {
  for (ServerAddress& s : servers) servers_[s.id] = std::move(s);
}

RespBackend::~RespBackend() { *alive_ = false; }

void RespBackend::SetServer(ServerAddress server) {
  auto it = servers_.find(server.id);
  if (it != servers_.end() && (it->second.host != server.host || it->second.port != server.port ||
                               it->second.password != server.password)) {
    clients_.erase(server.id);
  }
  servers_[server.id] = std::move(server);
}

RespClient* RespBackend::ClientFor(ServerId server) {
  auto it = clients_.find(server);
  if (it != clients_.end()) return it->second.get();
  auto addr = servers_.find(server);
  if (addr == servers_.end()) return nullptr;
  RespClientOptions o;
  o.host = addr->second.host;
  o.port = addr->second.port;
  o.password = addr->second.password;
  o.connect_timeout = options_.connect_timeout;
  o.request_timeout = options_.request_timeout;
  o.reconnect_min = std::chrono::milliseconds(10);
  o.reconnect_max = std::chrono::milliseconds(500);
  return clients_.emplace(server, RespClient::Create(loop_, std::move(o))).first->second.get();
}

void RespBackend::Later(std::function<void()> fn) {
  auto* t = new uv_timer_t;
  t->data = new std::function<void()>(std::move(fn));
  uv_timer_init(loop_, t);
  uv_timer_start(
      t,
      [](uv_timer_t* h) {
        auto* f = static_cast<std::function<void()>*>(h->data);
        (*f)();
        delete f;
        uv_close(reinterpret_cast<uv_handle_t*>(h),
                 [](uv_handle_t* c) { delete reinterpret_cast<uv_timer_t*>(c); });
      },
      0, 0);
}

void RespBackend::Send(ServerId server, std::vector<std::string> argv, RawDone done) {
  RespClient* client = ClientFor(server);
  if (client == nullptr) {
    return Later([done = std::move(done), server] {
      done(std::unexpected(
          Error{ErrorKind::kConnection, fmt::format("no address for server {}", server)}));
    });
  }
  std::vector<std::string_view> views(argv.begin(), argv.end());
  client->Send(views, [done = std::move(done)](proxy::RespResult r) {
    if (!r) return done(std::unexpected(FromRespError(r.error())));
    done(std::move(*r));
  });
}

void RespBackend::Eval(ServerId server, const LuaScript& script, std::vector<std::string> keys,
                       std::vector<std::string> args, RawDone done) {
  auto argv = [keys, args](std::string head, std::string body) {
    std::vector<std::string> v = {std::move(head), std::move(body), std::to_string(keys.size())};
    v.insert(v.end(), keys.begin(), keys.end());
    v.insert(v.end(), args.begin(), args.end());
    return v;
  };
  std::shared_ptr<bool> alive = alive_;
  Send(server, argv("EVALSHA", script.sha1),
       [this, alive, server, &script, argv, done = std::move(done)](Result<RespReply> r) mutable {
         if (r && r->is_error() && r->str.starts_with("NOSCRIPT") && *alive) {
           return Send(server, argv("EVAL", script.source), std::move(done));
         }
         done(std::move(r));
       });
}

void RespBackend::Scan(ServerId server, uint64_t cursor, uint32_t count, Callback<ScanPage> done) {
  std::shared_ptr<bool> alive = alive_;
  Send(server, {"SCAN", std::to_string(cursor), "COUNT", std::to_string(count)},
       [this, alive, server, done](Result<RespReply> r) {
         if (!r) return done(std::unexpected(r.error()));
         ScanPage page;
         if (r->type != RespReply::Type::kArray || r->elements.size() != 2 ||
             !ParseUint(r->elements[0].str, &page.next_cursor)) {
           return done(std::unexpected(ServerError(*r, "SCAN")));
         }
         std::vector<std::string> keys;
         for (RespReply& k : r->elements[1].elements) keys.push_back(std::move(k.str));
         if (keys.empty() || !*alive) return done(page);
         Eval(server, Scripts(kSScanInfo), keys, {},
              [keys, page, done](Result<RespReply> info) mutable {
                if (!info) return done(std::unexpected(info.error()));
                if (info->type != RespReply::Type::kArray ||
                    info->elements.size() != keys.size() * 3) {
                  return done(std::unexpected(ServerError(*info, "scan info")));
                }
                for (size_t i = 0; i < keys.size(); ++i) {
                  KeyType type = TypeOf(info->elements[3 * i].str);
                  if (type == KeyType::kNone) continue;  // expired or deleted since SCAN
                  ScannedKey k;
                  k.key = std::move(keys[i]);
                  k.type = type;
                  k.elements = static_cast<uint64_t>(info->elements[3 * i + 1].integer);
                  k.bytes = static_cast<uint64_t>(info->elements[3 * i + 2].integer);
                  page.keys.push_back(std::move(k));
                }
                done(std::move(page));
              });
       });
}

void RespBackend::Migrate(ServerId from, ServerId to, std::vector<std::string> keys, bool replace,
                          Callback<MigrateOutcome> done) {
  auto target = servers_.find(to);
  if (target == servers_.end()) {
    return Later([done, to] {
      done(std::unexpected(
          Error{ErrorKind::kConnection, fmt::format("no address for server {}", to)}));
    });
  }
  std::vector<std::string> argv = {"MIGRATE",
                                   target->second.host,
                                   std::to_string(target->second.port),
                                   "",
                                   "0",
                                   std::to_string(options_.migrate_timeout_ms)};
  if (replace) argv.push_back("REPLACE");
  if (!target->second.password.empty()) {
    argv.push_back("AUTH");
    argv.push_back(target->second.password);
  }
  argv.push_back("KEYS");
  argv.insert(argv.end(), keys.begin(), keys.end());
  Send(from, std::move(argv), [done](Result<RespReply> r) {
    if (!r) return done(std::unexpected(r.error()));
    if (r->IsString("OK")) return done(MigrateOutcome::kOk);
    if (r->IsString("NOKEY")) return done(MigrateOutcome::kNoKey);
    // Redis wraps the target's answer: "ERR Target instance replied with error: BUSYKEY ...".
    if (r->is_error() && r->str.find("BUSYKEY") != std::string::npos) {
      return done(MigrateOutcome::kBusyKey);
    }
    if (r->is_error()) return done(MigrateOutcome::kIoErr);
    done(std::unexpected(ServerError(*r, "MIGRATE")));
  });
}

void RespBackend::RunIfExists(ServerId server, std::string key, Command command,
                              Callback<std::optional<Reply>> done) {
  Eval(server, Scripts(kSRunIfExists), {key}, std::move(command.argv), [done](Result<RespReply> r) {
    if (!r) return done(std::unexpected(r.error()));
    if (r->type == RespReply::Type::kInteger) return done(std::nullopt);
    if (r->type == RespReply::Type::kArray && r->elements.size() == 1) {
      return done(ToReply(r->elements[0]));
    }
    done(ToReply(*r));  // the command's error
  });
}

void RespBackend::Run(ServerId server, Command command, Callback<Reply> done) {
  Send(server, std::move(command.argv), [done](Result<RespReply> r) {
    if (!r) return done(std::unexpected(r.error()));
    done(ToReply(*r));
  });
}

void RespBackend::CheckGate(ServerId server, std::string key, Callback<GateOutcome> done) {
  Send(server, {"EXISTS", MarkerKey(key)}, [done](Result<RespReply> r) {
    OnInteger<GateOutcome>(std::move(r), "EXISTS", done, [](int64_t n) {
      return n > 0 ? GateOutcome::kInFlight : GateOutcome::kDone;
    });
  });
}

void RespBackend::GatedDelete(ServerId server, std::string key, Callback<GateOutcome> done) {
  Eval(server, Scripts(kSGatedDelete), {MarkerKey(key), key}, {}, [done](Result<RespReply> r) {
    OnInteger<GateOutcome>(std::move(r), "gated delete", done, [](int64_t n) {
      if (n < 0) return GateOutcome::kInFlight;
      return n > 0 ? GateOutcome::kDone : GateOutcome::kAbsent;
    });
  });
}

void RespBackend::Delete(ServerId server, std::string key, Callback<bool> done) {
  Send(server, {"UNLINK", std::move(key)}, [done](Result<RespReply> r) {
    OnInteger<bool>(std::move(r), "UNLINK", done, [](int64_t n) { return n > 0; });
  });
}

void RespBackend::Exists(ServerId server, std::string key, Callback<bool> done) {
  Send(server, {"EXISTS", std::move(key)}, [done](Result<RespReply> r) {
    OnInteger<bool>(std::move(r), "EXISTS", done, [](int64_t n) { return n > 0; });
  });
}

void RespBackend::MarkInFlight(ServerId server, std::string key, std::string token,
                               Callback<bool> done) {
  std::string marker = MarkerKey(key);
  Eval(server, Scripts(kSMark), {std::move(key), std::move(marker)}, {std::move(token)},
       [done](Result<RespReply> r) {
         OnInteger<bool>(std::move(r), "mark in flight", done, [](int64_t n) { return n > 0; });
       });
}

void RespBackend::GetMarker(ServerId server, std::string key,
                            Callback<std::optional<std::string>> done) {
  Send(server, {"GET", MarkerKey(key)}, [done](Result<RespReply> r) {
    if (!r) return done(std::unexpected(r.error()));
    if (r->is_nil()) return done(std::nullopt);
    if (r->type != RespReply::Type::kBulk) return done(std::unexpected(ServerError(*r, "GET")));
    done(std::move(r->str));
  });
}

void RespBackend::ReadChunk(ServerId server, std::string key, KeyType type, uint64_t cursor,
                            uint32_t count, Callback<Chunk> done) {
  const char* command = type == KeyType::kHash   ? "HSCAN"
                        : type == KeyType::kSet  ? "SSCAN"
                        : type == KeyType::kZset ? "ZSCAN"
                                                 : "LRANGE";
  bool list = type == KeyType::kList;
  Eval(server, Scripts(kSRead), {std::move(key)},
       {command, std::to_string(cursor), std::to_string(count)},
       [done, list, cursor, count](Result<RespReply> r) {
         if (!r) return done(std::unexpected(r.error()));
         Chunk chunk;
         if (r->type == RespReply::Type::kInteger) {
           chunk.key_exists = false;
           return done(std::move(chunk));
         }
         if (r->type != RespReply::Type::kArray) {
           return done(std::unexpected(ServerError(*r, "read chunk")));
         }
         std::vector<RespReply>* elements = &r->elements;
         if (list) {
           chunk.next_cursor = r->elements.size() == count ? cursor + count : 0;
         } else {
           if (r->elements.size() != 2 || !ParseUint(r->elements[0].str, &chunk.next_cursor)) {
             return done(std::unexpected(ServerError(*r, "read chunk")));
           }
           elements = &r->elements[1].elements;
         }
         for (RespReply& e : *elements) chunk.elements.push_back(std::move(e.str));
         done(std::move(chunk));
       });
}

void RespBackend::AppendChunk(ServerId server, std::string staging, KeyType type,
                              std::vector<std::string> elements, Callback<Done> done) {
  if (elements.empty()) return Later([done] { done(Done{}); });
  std::vector<std::string> argv;
  switch (type) {
    case KeyType::kHash:
      argv = {"HSET", staging};
      argv.insert(argv.end(), elements.begin(), elements.end());
      break;
    case KeyType::kSet:
      argv = {"SADD", staging};
      argv.insert(argv.end(), elements.begin(), elements.end());
      break;
    case KeyType::kZset:  // ZSCAN gives member, score; ZADD takes score, member
      argv = {"ZADD", staging};
      for (size_t i = 0; i + 1 < elements.size(); i += 2) {
        argv.push_back(elements[i + 1]);
        argv.push_back(elements[i]);
      }
      break;
    default:
      argv = {"RPUSH", staging};
      argv.insert(argv.end(), elements.begin(), elements.end());
      break;
  }
  Send(server, std::move(argv), [done](Result<RespReply> r) {
    if (!r) return done(std::unexpected(r.error()));
    if (r->is_error()) return done(std::unexpected(ServerError(*r, "append chunk")));
    done(Done{});
  });
}

void RespBackend::Pttl(ServerId server, std::string key, Callback<int64_t> done) {
  Send(server, {"PTTL", std::move(key)}, [done](Result<RespReply> r) {
    OnInteger<int64_t>(std::move(r), "PTTL", done, [](int64_t n) { return n; });
  });
}

void RespBackend::InstallStaged(ServerId server, std::string staging, std::string key, int64_t pttl,
                                Callback<InstallOutcome> done) {
  Eval(server, Scripts(kSInstall), {std::move(staging), std::move(key)}, {std::to_string(pttl)},
       [done](Result<RespReply> r) {
         OnInteger<InstallOutcome>(std::move(r), "install", done, [](int64_t n) {
           if (n == 1) return InstallOutcome::kKeyExists;
           if (n == 2) return InstallOutcome::kNoStaging;
           return InstallOutcome::kInstalled;
         });
       });
}

void RespBackend::FinishInFlight(ServerId server, std::string key, std::string token,
                                 bool delete_key, Callback<bool> done) {
  std::string marker = MarkerKey(key);
  Eval(server, Scripts(kSFinish), {std::move(marker), std::move(key)},
       {std::move(token), delete_key ? "1" : "0"}, [done](Result<RespReply> r) {
         OnInteger<bool>(std::move(r), "finish in flight", done, [](int64_t n) { return n > 0; });
       });
}

struct UvClock::Timer {
  uv_timer_t handle;
  std::function<void()> fn;
  UvClock* clock;
};

UvClock::UvClock(uv_loop_t* loop) : loop_(loop) {}

UvClock::~UvClock() {
  for (auto& [raw, timer] : timers_) {
    uv_timer_stop(&timer->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer.release()->handle),
             [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
  }
}

uint64_t UvClock::NowMs() const { return uv_now(loop_); }

void UvClock::After(uint64_t delay_ms, std::function<void()> fn) {
  auto timer = std::make_unique<Timer>();
  Timer* t = timer.get();
  t->fn = std::move(fn);
  t->clock = this;
  t->handle.data = t;
  uv_timer_init(loop_, &t->handle);
  timers_.emplace(t, std::move(timer));
  uv_timer_start(
      &t->handle,
      [](uv_timer_t* h) {
        auto* t = static_cast<Timer*>(h->data);
        std::unique_ptr<Timer> owned = std::move(t->clock->timers_[t]);
        t->clock->timers_.erase(t);
        std::function<void()> fn = std::move(t->fn);
        uv_close(reinterpret_cast<uv_handle_t*>(&owned.release()->handle),
                 [](uv_handle_t* c) { delete static_cast<Timer*>(c->data); });
        fn();
      },
      delay_ms, 0);
}

}  // namespace rl::migration
