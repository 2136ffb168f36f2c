// The lock masters' Lua scripts and their typed calls (see scripts.h and lock/README.md).
// Tokens travel as canonical decimal strings (no sign, no leading zero) and the scripts compare
// them as strings, length first, so that no token is rounded through a Lua double.
// Thread safety: the script table is built once (a function-local static) and never changes.
#include "lock/scripts.h"

#include <fmt/format.h>
#include <openssl/sha.h>

#include <array>
#include <utility>

#include "proxy/base/decimal.h"

namespace rl::lock {
namespace {

using proxy::RespReply;
using proxy::RespResult;

// Shared Lua prelude: below(a, b) is a < b for canonical decimal strings; split(v) splits a
// holder value "TOKEN OWNER" (an OWNER may contain spaces; a TOKEN cannot).
#define RL_LOCK_PRELUDE                                                              \
  "local function below(a, b)\n"                                                     \
  "  if #a ~= #b then return #a < #b end\n"                                          \
  "  return a < b\n"                                                                 \
  "end\n"                                                                            \
  "local function split(v)\n"                                                        \
  "  local sp = string.find(v, ' ', 1, true)\n"                                      \
  "  if not sp then return redis.error_reply('ERR lock holder value corrupt') end\n" \
  "  return string.sub(v, 1, sp - 1), string.sub(v, sp + 1)\n"                       \
  "end\n"

// KEYS: holder, fence. ARGV: owner, token, ttl ms, reentrant ("1"/"0").
// Reply: {1, token held} granted | {0, holder token, holder owner, pttl} | {-1, mark} stale.
constexpr std::string_view kAcquire = RL_LOCK_PRELUDE
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur then\n"
    "  local tok, own = split(cur)\n"
    "  if own == ARGV[1] and (tok == ARGV[2] or ARGV[4] == '1') then\n"
    "    redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "    return {1, tok}\n"
    "  end\n"
    "  return {0, tok, own, redis.call('PTTL', KEYS[1])}\n"
    "end\n"
    "local mark = redis.call('GET', KEYS[2]) or '0'\n"
    "if not below(mark, ARGV[2]) then return {-1, mark} end\n"
    "redis.call('SET', KEYS[1], ARGV[2] .. ' ' .. ARGV[1], 'PX', ARGV[3])\n"
    "redis.call('SET', KEYS[2], ARGV[2])\n"
    "return {1, ARGV[2]}\n";

// KEYS: holder. ARGV: owner, token. Reply: 1 deleted | 0 not the holder.
constexpr std::string_view kRelease =
    "if redis.call('GET', KEYS[1]) == ARGV[2] .. ' ' .. ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

// KEYS: holder. ARGV: owner, token, ttl ms. Reply: 1 extended | 0 not the holder.
constexpr std::string_view kExtend =
    "if redis.call('GET', KEYS[1]) == ARGV[2] .. ' ' .. ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "end\n"
    "return 0\n";

// KEYS: holder, fence. Reply: {mark} free | {mark, pttl, token, owner} held.
constexpr std::string_view kInfo = RL_LOCK_PRELUDE
    "local mark = redis.call('GET', KEYS[2]) or '0'\n"
    "local cur = redis.call('GET', KEYS[1])\n"
    "if not cur then return {mark} end\n"
    "local tok, own = split(cur)\n"
    "return {mark, redis.call('PTTL', KEYS[1]), tok, own}\n";

// KEYS: holder, fence. ARGV: fence token. Reply: 1 a holder was deleted | 0 none.
constexpr std::string_view kForceRelease = RL_LOCK_PRELUDE
    "local had = redis.call('DEL', KEYS[1])\n"
    "local mark = redis.call('GET', KEYS[2]) or '0'\n"
    "if below(mark, ARGV[1]) then redis.call('SET', KEYS[2], ARGV[1]) end\n"
    "return had\n";

#undef RL_LOCK_PRELUDE

}  // namespace

const std::string_view kTokenComparePrelude =
    "local function below(a, b)\n"
    "  if #a ~= #b then return #a < #b end\n"
    "  return a < b\n"
    "end\n";

std::string ScriptSha1(std::string_view text) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest;
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  std::string hex;
  for (unsigned char c : digest) hex += fmt::format("{:02x}", c);
  return hex;
}

namespace {

Error MasterError(const proxy::RespClient& client, const proxy::RespError& e) {
  return Error{Error::Code::kMaster, fmt::format("lock master {}: {}: {}", client.address(),
                                                 CodeName(e.code), e.message)};
}

Error BadReply(std::string_view script, const RespReply& reply) {
  return Error{Error::Code::kBadReply,
               fmt::format("lock script {} answered {}", script, reply.ToString())};
}

// A token as the scripts return it: a canonical non-negative decimal within int64.
bool ParseToken(const RespReply& r, uint64_t* token) {
  int64_t v = 0;
  if (r.type == RespReply::Type::kInteger) {
    v = r.integer;
  } else if (r.type != RespReply::Type::kBulk || !proxy::ParseStrictInt(r.str, &v)) {
    return false;
  }
  if (v < 0) return false;
  *token = static_cast<uint64_t>(v);
  return true;
}

// Runs script `id` on name's keys and hands `parse` the reply; transport failures and error
// replies become Errors here, so parse sees only a non-error reply.
template <typename T, typename Parse, typename Done>
void Call(proxy::RespClient& client, ScriptId id, std::string_view name, bool with_fence,
          std::vector<std::string> args, Parse parse, Done done) {
  std::vector<std::string> keys{HolderKey(name)};
  if (with_fence) keys.push_back(FenceKey(name));
  const Script& script = GetScript(id);
  RunScript(
      client, script, keys, args,
      [&client, &script, parse = std::move(parse), done = std::move(done)](RespResult r) mutable {
        if (!r) return done(std::unexpected(MasterError(client, r.error())));
        if (r->is_error()) return done(std::unexpected(BadReply(script.name, *r)));
        std::expected<T, Error> value = parse(*r);
        if (!value) value = std::unexpected(BadReply(script.name, *r));
        done(std::move(value));
      });
}

std::expected<bool, Error> ParseFlag(const RespReply& r) {
  if (r.type != RespReply::Type::kInteger || (r.integer != 0 && r.integer != 1)) {
    return std::unexpected(Error{});
  }
  return r.integer == 1;
}

}  // namespace

std::string HolderKey(std::string_view name) { return fmt::format("{}{{{}}}", kKeyPrefix, name); }
std::string FenceKey(std::string_view name) {
  return fmt::format("{}{{{}}}:fence", kKeyPrefix, name);
}

const Script& GetScript(ScriptId id) {
  static const std::array<Script, 5> scripts = [] {
    std::array<Script, 5> s{Script{"acquire", kAcquire, ""}, Script{"release", kRelease, ""},
                            Script{"extend", kExtend, ""}, Script{"info", kInfo, ""},
                            Script{"forcerelease", kForceRelease, ""}};
    for (Script& one : s) one.sha1 = ScriptSha1(one.source);
    return s;
  }();
  return scripts[static_cast<size_t>(id)];
}

void RunScript(proxy::RespClient& client, const Script& script, std::span<const std::string> keys,
               std::span<const std::string> args, proxy::RespCallback done) {
  // argv: EVALSHA|EVAL, sha|source, numkeys, keys..., args... (the second slot swapped on retry).
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.emplace_back("EVALSHA");
  argv.emplace_back(script.sha1);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string_view> views(argv.begin(), argv.end());
  client.Send(views, [&client, &script, argv = std::move(argv),
                      done = std::move(done)](RespResult r) mutable {
    if (!r || !r->is_error() || !r->str.starts_with("NOSCRIPT") || client.closed()) {
      return done(std::move(r));
    }
    argv[0] = "EVAL";
    argv[1] = script.source;
    std::vector<std::string_view> views(argv.begin(), argv.end());
    client.Send(views, std::move(done));
  });
}

void Acquire(proxy::RespClient& client, std::string_view name, std::string_view owner,
             uint64_t token, uint64_t ttl_ms, bool reentrant, AcquireDone done) {
  auto parse = [](const RespReply& r) -> std::expected<AcquireReply, Error> {
    if (r.type != RespReply::Type::kArray || r.elements.size() < 2 ||
        r.elements[0].type != RespReply::Type::kInteger) {
      return std::unexpected(Error{});
    }
    AcquireReply out;
    if (!ParseToken(r.elements[1], &out.token)) return std::unexpected(Error{});
    switch (r.elements[0].integer) {
      case 1:
        out.outcome = AcquireReply::Outcome::kGranted;
        return out;
      case -1:
        out.outcome = AcquireReply::Outcome::kStale;
        return out;
      case 0:
        if (r.elements.size() != 4 || r.elements[2].type != RespReply::Type::kBulk ||
            r.elements[3].type != RespReply::Type::kInteger) {
          break;
        }
        out.outcome = AcquireReply::Outcome::kHeld;
        out.owner = r.elements[2].str;
        out.lease_ms = r.elements[3].integer;
        return out;
    }
    return std::unexpected(Error{});
  };
  Call<AcquireReply>(
      client, ScriptId::kAcquire, name, true,
      {std::string(owner), std::to_string(token), std::to_string(ttl_ms), reentrant ? "1" : "0"},
      parse, std::move(done));
}

void Release(proxy::RespClient& client, std::string_view name, std::string_view owner,
             uint64_t token, BoolDone done) {
  Call<bool>(client, ScriptId::kRelease, name, false, {std::string(owner), std::to_string(token)},
             ParseFlag, std::move(done));
}

void Extend(proxy::RespClient& client, std::string_view name, std::string_view owner,
            uint64_t token, uint64_t ttl_ms, BoolDone done) {
  Call<bool>(client, ScriptId::kExtend, name, false,
             {std::string(owner), std::to_string(token), std::to_string(ttl_ms)}, ParseFlag,
             std::move(done));
}

void Info(proxy::RespClient& client, std::string_view name, InfoDone done) {
  auto parse = [](const RespReply& r) -> std::expected<InfoReply, Error> {
    InfoReply out;
    if (r.type != RespReply::Type::kArray || (r.elements.size() != 1 && r.elements.size() != 4) ||
        !ParseToken(r.elements[0], &out.high_water)) {
      return std::unexpected(Error{});
    }
    if (r.elements.size() == 4) {
      InfoReply::Holder h;
      if (r.elements[1].type != RespReply::Type::kInteger || !ParseToken(r.elements[2], &h.token) ||
          r.elements[3].type != RespReply::Type::kBulk) {
        return std::unexpected(Error{});
      }
      h.pttl_ms = r.elements[1].integer;
      h.owner = r.elements[3].str;
      out.holder = std::move(h);
    }
    return out;
  };
  Call<InfoReply>(client, ScriptId::kInfo, name, true, {}, parse, std::move(done));
}

void ForceRelease(proxy::RespClient& client, std::string_view name, uint64_t fence, BoolDone done) {
  Call<bool>(client, ScriptId::kForceRelease, name, true, {std::to_string(fence)}, ParseFlag,
             std::move(done));
}

}  // namespace rl::lock
