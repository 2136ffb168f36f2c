// The Redis 7.0 command table as ringleader sees it: for every command (and container
// subcommand such as OBJECT ENCODING), where its keys are and how ringleader serves it.
// Key positions are generated from a real redis-server's COMMAND output by
// scripts/gen_command_table and checked in; tests compare them with the installed server.
// Thread safety: the table is immutable static data.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace rl::proxy {

// How ringleader serves a command.
enum class Route : uint8_t {
  kForwardByKey,  // one key (or none needed): send to the server that owns the first key
  kColocated,     // several keys that must all map to one server, else -CROSSSLOT
  kSplitMerge,    // multi-key command split by server and merged (MGET, MSET, DEL, ...)
  kLocal,         // answered by ringleader itself (PING, ECHO, HELLO, INFO, COMMAND, ...)
  kBroadcast,     // sent to every server, replies combined (DBSIZE, SCRIPT LOAD, ...)
  kSpecial,       // needs per-client state (MULTI, SUBSCRIBE, blocking, SCAN, ...): issue 6
  kRefused,       // not supported: CommandInfo::reason says why
};

// Where the keys are, in argv indexes (argv[0] is the command name; for a subcommand entry
// argv[1] is the subcommand).
enum class KeyRule : uint8_t {
  kNone,       // no keys
  kRange,      // first..last step (last < 0 counts from the end, as in COMMAND's output)
  kNumkeys,    // argv[numkeys_index] = N, then N keys from numkeys_index + 1 (EVAL, ZUNIONSTORE, ...)
  kKeywordThenRest,  // keys follow a keyword, half of the rest (XREAD/XREADGROUP STREAMS)
  kMigrate,    // MIGRATE: argv[3], or the KEYS list when argv[3] is ""
  kSort,       // SORT/SORT_RO: argv[1], plus STORE destination
  kGeoradius,  // GEORADIUS[BYMEMBER]: argv[1], plus STORE/STOREDIST destination
};

struct CommandInfo {
  std::string_view name;        // lower case, e.g. "get", or "object|encoding" for subcommands
  int arity;                    // Redis arity: n exact, -n at least n (counting the name)
  uint32_t flags;               // CommandFlag bits
  KeyRule key_rule;
  int first_key;                // kRange: first; kNumkeys: index of numkeys
  int last_key;                 // kRange
  int key_step;                 // kRange (and keys-with-values such as MSET: step 2)
  Route route;
  std::string_view reason;      // kRefused: why, shown to the client
};

enum CommandFlag : uint32_t {
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
};

// Finds a command by name, case-insensitively, with no allocation. For a container command
// (CONFIG, CLIENT, OBJECT, XINFO, ...) pass the subcommand too to get its own entry; with an
// empty or unknown subcommand the container's entry is returned. nullptr if unknown.
const CommandInfo* FindCommand(std::string_view name, std::string_view subcommand = {});

// Appends to `out` the argv indexes of the keys of a request (argv includes the name).
// Returns the number written, or -1 when the arguments are malformed for key extraction
// (e.g. a numkeys that is not a number or exceeds the arguments). REQUIRES: argv.size() >= 1.
int ExtractKeys(const CommandInfo& info, std::span<const std::string_view> argv,
                std::span<uint32_t> out);

// Every entry of the table, in name order (for COMMAND COUNT, documentation and tests).
std::span<const CommandInfo> AllCommands();

}  // namespace rl::proxy
