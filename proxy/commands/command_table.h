// The Redis 7.0 command table as ringleader sees it: for every command (and container
// subcommand such as OBJECT ENCODING), its arity, flags, where its keys are and how ringleader
// serves it. Arity, flags and key positions are generated from a real redis-server's COMMAND
// output by scripts/gen_command_table (proxy/commands/command_table_gen.inc); the routing decisions
// are hand-written in proxy/commands/command_policy.inc. A live test compares the table with the
// installed redis-server. Thread safety: the table is immutable static data; every function is
// pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace rl::proxy {

// How ringleader serves a command.
enum class Route : uint8_t {
  kForwardByKey,  // exactly one key: sent to the server that owns it
  kColocated,     // its keys must all map to one server, else -CROSSSLOT; with no keys at all
                  // (EVAL/FCALL with numkeys 0) any one server will do
  kSplitMerge,    // multi-key command split by server and merged (MGET, MSET, DEL, ...): `merge`
  kLocal,         // answered by ringleader itself (PING, ECHO, HELLO, INFO, COMMAND, ...)
  kBroadcast,     // sent to every server, replies combined by `merge` (DBSIZE, SCRIPT LOAD, ...)
  kAnyServer,     // no keys, and every server gives the pool's answer: sent to any one server
                  // (TIME, LOLWUT, FUNCTION LIST, the HELP subcommands, ...)
  // SCAN: walks every server in turn under a cursor of ringleader's own that names the server
  // and that server's cursor (proxy/route/scan.h).
  kScan,
  // kBroadcast, but only when the pool sets `admin_commands: true` (FLUSHDB, FLUSHALL);
  // otherwise refused with `reason`.
  kAdminBroadcast,
  kSpecial,      // needs per-client state (MULTI, SUBSCRIBE, blocking, ...): a later issue;
                 // until then refused with `reason`
  kRefused,      // not supported: `reason` says why, shown to the client
  kTransaction,  // MULTI/EXEC/DISCARD/WATCH/UNWATCH: queued by ringleader, run on the server
                 // that owns the keys (proxy/session/transaction.h)
  kBlocking,     // may block: run on a server connection of the client's own, keys on one
                 // server (proxy/session/blocking.h)
  kPubsub,       // PUBLISH and subscriptions, kept per client (proxy/session/pubsub.h)
  kLock,         // ringleader's lock service: LOCK.* on the control loop's coordinator, FENCED
                 // writes on the key's server (proxy/session/lock_commands.h)
};

// How the replies of a kSplitMerge, kBroadcast or kAdminBroadcast command become one reply.
// kNone otherwise.
enum class Merge : uint8_t {
  kNone,
  kKeyOrder,     // MGET: one array element per key, put back in the client's key order
  kSumIntegers,  // DEL, UNLINK, EXISTS, TOUCH, DBSIZE: the integer replies added up
  kAllOk,        // MSET, FLUSHDB, SCRIPT FLUSH, ...: +OK if every server said OK, else an error
  kAllEqual,     // SCRIPT LOAD, FUNCTION LOAD: every server must give the same reply
  kAndArrays,    // SCRIPT EXISTS: element-wise, 1 only where every server says 1
  // SCRIPT KILL, FUNCTION KILL: +OK if any server succeeded, else an error other than NOTBUSY
  // if any, else NOTBUSY as Redis words it. Each server is sent it on a connection of its own:
  // a running script holds the shared one.
  kAnySuccess,
  // KEYS: the servers' arrays one after another, in server order.
  kConcatArrays,
  // RANDOMKEY: one of the non-nil replies, picked at random; nil if all are nil.
  kRandomNonNil,
  // SCAN's one fragment (set by proxy/route/scan.cc, never in the table): the server's cursor
  // rewritten into ringleader's.
  kScanCursor,
  kUnionArrays,  // PUBSUB CHANNELS: the elements of every array, each once, in server order
  kSumPairs,     // PUBSUB NUMSUB: [name, count, ...] from every server, the counts added up
  // INFO's fragments (set by proxy/session/info.cc, never in the table): every server's INFO
  // combined with the proxy's fields (proxy/route/info_merge.h); a failed server is named, not
  // an error of the whole.
  kInfo,
};

// Which handler of its family serves a row whose route has handlers (kLocal, kTransaction,
// kPubsub, kBlocking); kNone for every other route. Set next to the route in
// proxy/commands/command_policy.inc; each family dispatches with a switch on it, never on the
// name. HandlerRoute says which route each handler belongs to, and the build fails on a row
// whose handler is missing or belongs to another family. proxy/commands/README.md says how to
// add one.
enum class Handler : uint8_t {
  kNone,
  // Route::kLocal: proxy/session/local_commands.cc.
  kPing,
  kEcho,
  kQuit,
  kSelect,
  kAuth,
  kHello,
  kReset,
  kReadonly,  // READONLY, READWRITE: +OK
  kClientId,
  kClientGetname,
  kClientSetname,
  kClientSetinfo,
  kClientReply,  // CLIENT REPLY ON|OFF|SKIP
  kClientInfo,
  kInfo,
  kConfigGet,
  kCommand,
  kCommandCount,
  kCommandDocs,
  kCommandInfo,
  kCommandList,     // with FILTERBY a server answers: Redis's own filter is exact
  kCommandGetkeys,  // a server answers: Redis's own answer is exact and cheap
  kRingleader,      // RINGLEADER STATUS|CLUSTER|FAULT: proxy/session/admin_commands.cc
  // Route::kTransaction: proxy/session/transaction.cc.
  kMulti,
  kExec,
  kDiscard,
  kWatch,
  kUnwatch,
  // Route::kPubsub: proxy/session/pubsub.cc.
  kPublish,
  kSubscribe,
  kPsubscribe,
  kSsubscribe,
  kUnsubscribe,
  kPunsubscribe,
  kSunsubscribe,
  // Route::kBlocking: proxy/session/blocking.cc, named by where the timeout is.
  kBlockLastArgSeconds,   // BLPOP key... timeout: the last argument, in seconds
  kBlockFirstArgSeconds,  // BLMPOP/BZMPOP timeout numkeys ...: argv[1], in seconds
  kBlockOptionMs,         // XREAD/XREADGROUP: the BLOCK option, in milliseconds; without it
                          // an ordinary read
  kWait,                  // WAIT numreplicas timeout: argv[2], in milliseconds, on the server
                          // the client last wrote to
  // Route::kLock: proxy/session/lock_commands.cc.
  kLockAcquire,
  kLockExtend,
  kLockRelease,
  kLockInfo,
  kLockCheck,
  kLockForceRelease,  // admin: only in a pool with admin_commands: true
  kLockFence,         // LOCK.FENCE name token | LOCK.FENCE OFF: binds the connection's writes
  kFenced,            // FENCED name token command...: one fenced write
};

// Whether rows of `route` are served by a Handler (and so must name one).
constexpr bool RouteHasHandlers(Route route) {
  return route == Route::kLocal || route == Route::kTransaction || route == Route::kPubsub ||
         route == Route::kBlocking || route == Route::kLock;
}

// The route whose family serves `handler`; none for kNone.
constexpr std::optional<Route> HandlerRoute(Handler handler) {
  switch (handler) {
    case Handler::kNone:
      return std::nullopt;
    case Handler::kPing:
    case Handler::kEcho:
    case Handler::kQuit:
    case Handler::kSelect:
    case Handler::kAuth:
    case Handler::kHello:
    case Handler::kReset:
    case Handler::kReadonly:
    case Handler::kClientId:
    case Handler::kClientGetname:
    case Handler::kClientSetname:
    case Handler::kClientSetinfo:
    case Handler::kClientReply:
    case Handler::kClientInfo:
    case Handler::kInfo:
    case Handler::kConfigGet:
    case Handler::kCommand:
    case Handler::kCommandCount:
    case Handler::kCommandDocs:
    case Handler::kCommandInfo:
    case Handler::kCommandList:
    case Handler::kCommandGetkeys:
    case Handler::kRingleader:
      return Route::kLocal;
    case Handler::kMulti:
    case Handler::kExec:
    case Handler::kDiscard:
    case Handler::kWatch:
    case Handler::kUnwatch:
      return Route::kTransaction;
    case Handler::kPublish:
    case Handler::kSubscribe:
    case Handler::kPsubscribe:
    case Handler::kSsubscribe:
    case Handler::kUnsubscribe:
    case Handler::kPunsubscribe:
    case Handler::kSunsubscribe:
      return Route::kPubsub;
    case Handler::kBlockLastArgSeconds:
    case Handler::kBlockFirstArgSeconds:
    case Handler::kBlockOptionMs:
    case Handler::kWait:
      return Route::kBlocking;
    case Handler::kLockAcquire:
    case Handler::kLockExtend:
    case Handler::kLockRelease:
    case Handler::kLockInfo:
    case Handler::kLockCheck:
    case Handler::kLockForceRelease:
    case Handler::kLockFence:
    case Handler::kFenced:
      return Route::kLock;
  }
  return std::nullopt;
}

// Whether a row of `route` may have `handler`: one of its family's when the route has
// handlers, else kNone.
constexpr bool HandlerFits(Handler handler, Route route) {
  return RouteHasHandlers(route) ? HandlerRoute(handler) == route : handler == Handler::kNone;
}

// Where the keys are, in argv indexes (argv[0] is the command name; for a subcommand entry
// argv[1] is the subcommand). first_key/last_key/key_step are always COMMAND's legacy fields
// (first, last, step; last < 0 counts from the end); rule_index parametrises the other rules.
enum class KeyRule : uint8_t {
  kNone,             // no keys
  kRange,            // first_key..last_key by key_step (MSET: step 2, values between keys)
  kNumkeys,          // the legacy range (ZUNIONSTORE's destination; empty for EVAL), then
                     // argv[rule_index] = N and N keys after it (EVAL, ZUNIONSTORE, LMPOP, ...)
  kKeywordThenRest,  // XREAD/XREADGROUP: after the first STREAMS at or after rule_index, the
                     // first half of the remaining arguments (the second half are IDs)
  kMigrate,          // MIGRATE: argv[3], or when it is "" the arguments after KEYS (searched
                     // from rule_index, skipping AUTH/AUTH2 arguments)
  kSort,             // SORT: argv[1] plus the argument after the last STORE (options parsed
                     // from rule_index as SORT parses them, skipping BY/GET/LIMIT arguments)
  kGeoradius,        // GEORADIUS[BYMEMBER]: argv[1] plus the argument after every STORE and
                     // STOREDIST at or after rule_index (a superset: Redis writes the last)
};

enum CommandFlag : uint32_t {
  // Redis's own flags, as COMMAND lists them.
  kWrite = 1u << 0,
  kReadonly = 1u << 1,
  kAdmin = 1u << 2,
  kPubsub = 1u << 3,
  kNoscript = 1u << 4,
  kBlocking = 1u << 5,
  kLoading = 1u << 6,
  kStale = 1u << 7,
  kFast = 1u << 8,
  kMovableKeys = 1u << 9,
  kDenyoom = 1u << 10,
  kSkipMonitor = 1u << 11,
  kSkipSlowlog = 1u << 12,
  kAsking = 1u << 13,
  kNoAuth = 1u << 14,
  kMayReplicate = 1u << 15,
  kNoMandatoryKeys = 1u << 16,
  kNoAsyncLoading = 1u << 17,
  kNoMulti = 1u << 18,
  kAllowBusy = 1u << 19,
  kModule = 1u << 20,
  kRedisFlagsMask = (1u << 21) - 1,
  // ringleader's own.
  kHasSubcommands = 1u << 24,  // a container (CLIENT, CONFIG, ...): look up argv[1] too
  kChannelKeys = 1u << 25,     // the "keys" are shard channels (SPUBLISH, SSUBSCRIBE): Redis
                               // places them like keys but COMMAND GETKEYS does not list them
  kNotInRedis = 1u << 26,      // served by ringleader but absent from Redis 7.0 (CLIENT SETINFO)
  kPatternKeys = 1u << 27,     // BY/GET patterns name more keys (SORT, SORT_RO): run only when
                               // every key they can name is on the sorted key's server
};

// Redis's name of each of its flags (COMMAND's third field), for COMMAND replies and tests.
struct CommandFlagName {
  CommandFlag flag;
  std::string_view name;
};
std::span<const CommandFlagName> RedisFlagNames();

struct CommandInfo {
  std::string_view name;  // lower case, e.g. "get", or "object|encoding" for subcommands
  int arity;              // Redis arity: n exact, -n at least n (counting the name; for a
                          // subcommand counting the container's name too)
  uint32_t flags;         // CommandFlag bits
  KeyRule key_rule;
  int first_key;   // COMMAND's legacy first key (0: none fixed)
  int last_key;    // COMMAND's legacy last key (< 0 counts from the end)
  int key_step;    // COMMAND's legacy step (MSET: 2)
  int rule_index;  // kNumkeys: index of numkeys; kKeywordThenRest, kMigrate, kSort,
                   // kGeoradius: first index searched for the keyword; else 0
  Route route;
  Merge merge;              // kSplitMerge, kBroadcast and kAdminBroadcast only
  Handler handler;          // kLocal, kTransaction, kPubsub and kBlocking only
  std::string_view reason;  // kRefused and kSpecial: why, for the client. A clause to put
                            // after "'MONITOR' is not supported by ringleader: ".
                            // kAdminBroadcast: why it is refused without admin_commands.
                            // Containers (kHasSubcommands) are kRefused with reason
                            // "unknown subcommand": reply as Redis does to one.
};

// Finds a command by name, case-insensitively, with no allocation. For a container command
// (CONFIG, CLIENT, OBJECT, XINFO, ...) pass the subcommand (argv[1]) too to get its own entry;
// with an empty or unknown subcommand the container's entry is returned. The subcommand is
// ignored for other commands, so callers may always pass argv[1]. nullptr if unknown.
// A result with kHasSubcommands while argv has 2+ arguments means the subcommand is unknown
// (reply "ERR unknown subcommand '<sub>'. Try <NAME> HELP."), COMMAND included.
const CommandInfo* FindCommand(std::string_view name, std::string_view subcommand = {});

// Whether a request of `argc` arguments (name included) satisfies info's arity.
constexpr bool ArityOk(const CommandInfo& info, size_t argc) {
  return info.arity >= 0 ? argc == static_cast<size_t>(info.arity)
                         : argc >= static_cast<size_t>(-info.arity);
}

// Why ExtractKeys could not find the keys. In every case Redis itself rejects the request.
enum class KeyError : uint8_t {
  kNone,
  kWrongArgCount,      // arity not satisfied, or MSET-style key/value pairs incomplete
  kNotAnInteger,       // numkeys is not an integer
  kNegativeNumkeys,    // numkeys < 0
  kNumkeysTooLarge,    // numkeys > the arguments that follow it
  kUnbalancedStreams,  // XREAD: nothing, or an odd count, after STREAMS
  kSyntax,             // XREAD without STREAMS; MIGRATE ... KEYS with a non-empty argv[3]
  kOutputTooSmall,     // `out` has fewer slots than keys (size it to argv.size())
};

// The Redis error text for `error` (no leading '-' or trailing CRLF), e.g. "ERR value is not an
// integer or out of range". kWrongArgCount gives a generic text: callers that know the name
// should send Redis's "ERR wrong number of arguments for '<name>' command" instead.
std::string_view KeyErrorMessage(KeyError error);

// Writes to `out` the argv indexes of the keys of a request (argv includes the name, and the
// subcommand for a subcommand entry), in ascending order. Returns how many, or -1 when the
// request is malformed for key extraction and sets *error (if given) to why. Never allocates.
// REQUIRES: argv.size() >= 1.
int ExtractKeys(const CommandInfo& info, std::span<const std::string_view> argv,
                std::span<uint32_t> out, KeyError* error = nullptr);

// Every entry of the table, in byte order of name (for COMMAND COUNT, documentation, tests).
std::span<const CommandInfo> AllCommands();

}  // namespace rl::proxy
