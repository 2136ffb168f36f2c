// The fenced-write script (see fence.h). It uses redis.pcall so that the write's own error (e.g.
// WRONGTYPE) comes back as it is; the mark is raised before the write runs, so a write that fails
// for its own reasons still leaves the mark at T (harmless: T was current).
// Thread safety: the script is built once (a function-local static).
#include "lock/fence.h"

#include <fmt/format.h>

namespace rl::lock {

std::string ShardMarkKey(std::string_view name) { return fmt::format("rl:fence:{{{}}}", name); }

const Script& FencedWriteScript() {
  static const std::string source =
      std::string(kTokenComparePrelude) +
      "local mark = redis.call('GET', KEYS[1]) or '0'\n"
      "if below(ARGV[1], mark) then\n"
      "  return redis.error_reply('FENCED stale token ' .. ARGV[1] .. ' < ' .. mark ..\n"
      "                           ' for lock ' .. ARGV[2])\n"
      "end\n"
      "if below(mark, ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end\n"
      "return redis.pcall(unpack(ARGV, 3))\n";
  static const Script script{"fenced-write", source, ScriptSha1(source)};
  return script;
}

namespace {

const Script& RaiseMarkScript() {
  static const std::string source = std::string(kTokenComparePrelude) +
                                    "local mark = redis.call('GET', KEYS[1]) or '0'\n"
                                    "if below(mark, ARGV[1]) then redis.call('SET', KEYS[1], "
                                    "ARGV[1]) end\n"
                                    "return 1\n";
  static const Script script{"raise-mark", source, ScriptSha1(source)};
  return script;
}

}  // namespace

void RaiseShardMark(proxy::RespClient& client, std::string_view name, uint64_t fence,
                    BoolDone done) {
  std::vector<std::string> keys{ShardMarkKey(name)};
  std::vector<std::string> args{std::to_string(fence)};
  RunScript(client, RaiseMarkScript(), keys, args,
            [&client, done = std::move(done)](proxy::RespResult r) mutable {
              if (!r) {
                return done(std::unexpected(
                    Error{Error::Code::kMaster,
                          fmt::format("data server {}: {}: {}", client.address(),
                                      proxy::CodeName(r.error().code), r.error().message)}));
              }
              if (r->type != proxy::RespReply::Type::kInteger || r->integer != 1) {
                return done(std::unexpected(
                    Error{Error::Code::kBadReply,
                          fmt::format("data server {} answered {} to the fence mark script",
                                      client.address(), r->ToString())}));
              }
              done(true);
            });
}

std::vector<std::string> FencedWriteArgv(bool by_sha, std::string_view name, uint64_t token,
                                         std::span<const std::string> command,
                                         std::span<const std::string> keys) {
  const Script& s = FencedWriteScript();
  std::vector<std::string> argv;
  argv.reserve(5 + keys.size() + command.size());
  argv.emplace_back(by_sha ? "EVALSHA" : "EVAL");
  argv.emplace_back(by_sha ? s.sha1 : std::string(s.source));
  argv.push_back(std::to_string(1 + keys.size()));
  argv.push_back(ShardMarkKey(name));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.push_back(std::to_string(token));
  argv.emplace_back(name);
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

void FencedWrite(proxy::RespClient& client, std::string_view name, uint64_t token,
                 std::span<const std::string> command, std::span<const std::string> keys,
                 proxy::RespCallback done) {
  std::vector<std::string> all_keys{ShardMarkKey(name)};
  all_keys.insert(all_keys.end(), keys.begin(), keys.end());
  std::vector<std::string> args{std::to_string(token), std::string(name)};
  args.insert(args.end(), command.begin(), command.end());
  RunScript(client, FencedWriteScript(), all_keys, args, std::move(done));
}

}  // namespace rl::lock
