// The command table: generated rows (proxy/commands/command_table_gen.inc) joined with the hand-written
// routing decisions (proxy/commands/command_policy.inc) at compile time, checked by static_asserts, and
// indexed by a compile-time open-addressing hash for allocation-free, case-insensitive lookup.

#include "proxy/commands/command_table.h"

#include <algorithm>
#include <array>
#include <iterator>

#include "proxy/base/ascii.h"

namespace rl::proxy {
namespace {

// One row of the generated file: everything COMMAND says, nothing about routing.
struct GeneratedCommand {
  std::string_view name;
  int arity;
  uint32_t flags;
  KeyRule key_rule;
  int first_key;
  int last_key;
  int key_step;
  int rule_index;
};

constexpr GeneratedCommand kGenerated[] = {
#include "proxy/commands/command_table_gen.inc"
};

#include "proxy/commands/command_policy.inc"

constexpr size_t kCommandCount = std::size(kGenerated) + std::size(kExtensionCommands);

consteval int CountPolicies(std::string_view name) {
  int n = 0;
  for (const CommandPolicy& p : kCommandPolicy) n += p.name == name;
  return n;
}

consteval bool IsGenerated(std::string_view name) {
  for (const GeneratedCommand& g : kGenerated) {
    if (g.name == name) return true;
  }
  return false;
}

consteval std::array<CommandInfo, kCommandCount> BuildTable() {
  std::array<CommandInfo, kCommandCount> table{};
  size_t n = 0;
  for (const GeneratedCommand& g : kGenerated) {
    CommandPolicy policy{g.name, Route::kRefused, Merge::kNone, "no decision"};
    for (const CommandPolicy& p : kCommandPolicy) {
      if (p.name == g.name) policy = p;
    }
    table[n++] = {g.name,       g.arity,      g.flags | policy.flags, g.key_rule,
                  g.first_key,  g.last_key,   g.key_step,     g.rule_index,
                  policy.route, policy.merge, policy.handler, policy.reason};
  }
  for (const CommandInfo& e : kExtensionCommands) table[n++] = e;
  std::sort(table.begin(), table.end(),
            [](const CommandInfo& a, const CommandInfo& b) { return a.name < b.name; });
  return table;
}

constexpr std::array<CommandInfo, kCommandCount> kTable = BuildTable();

// The first inconsistency in the table, as text, or empty. A static_assert below shows it in
// the compiler's message (as the template argument of TableCheck), so a missing or wrong
// decision names its command.
struct Problem {
  char text[160] = {};
};

consteval Problem MakeProblem(std::string_view what, std::string_view name) {
  Problem p;
  size_t n = 0;
  for (std::string_view part : {what, std::string_view(": "), name}) {
    for (char c : part) {
      if (n + 1 < sizeof(p.text)) p.text[n++] = c;
    }
  }
  return p;
}

consteval Problem FindProblem() {
  for (const GeneratedCommand& g : kGenerated) {
    int n = CountPolicies(g.name);
    if (n == 0) return MakeProblem("no decision in proxy/commands/command_policy.inc for", g.name);
    if (n > 1) return MakeProblem("several decisions in proxy/commands/command_policy.inc for", g.name);
  }
  for (const CommandPolicy& p : kCommandPolicy) {
    if (!IsGenerated(p.name)) return MakeProblem("decision for a command Redis lacks", p.name);
  }
  for (const CommandInfo& e : kExtensionCommands) {
    if (IsGenerated(e.name)) return MakeProblem("extension now generated; remove it", e.name);
    if (!(e.flags & kNotInRedis)) return MakeProblem("extension lacks kNotInRedis", e.name);
  }
  for (size_t i = 0; i < kTable.size(); ++i) {
    const CommandInfo& c = kTable[i];
    if (i > 0 && kTable[i - 1].name == c.name) return MakeProblem("duplicate row", c.name);
    const bool one_key =
        c.key_rule == KeyRule::kRange && c.first_key > 0 && c.last_key == c.first_key;
    const bool merges = c.route == Route::kSplitMerge || c.route == Route::kBroadcast ||
                        c.route == Route::kAdminBroadcast;
    if ((c.merge != Merge::kNone) != merges) return MakeProblem("merge mismatch", c.name);
    if (c.merge == Merge::kScanCursor) return MakeProblem("kScanCursor is not a policy", c.name);
    const bool refusable = c.route == Route::kRefused || c.route == Route::kSpecial ||
                           c.route == Route::kAdminBroadcast;
    if (!HandlerFits(c.handler, c.route)) {
      return MakeProblem(
          RouteHasHandlers(c.route)
              ? "no handler of its route's family (see Handler)"
              : "a handler goes with kLocal, kTransaction, kPubsub and kBlocking only",
          c.name);
    }
    if (refusable == c.reason.empty()) {
      return MakeProblem("a reason goes with kRefused, kSpecial and kAdminBroadcast only", c.name);
    }
    switch (c.route) {
      case Route::kForwardByKey:
        if (!one_key) return MakeProblem("Forward() needs exactly one key", c.name);
        break;
      case Route::kSplitMerge:
        if (c.key_rule != KeyRule::kRange || c.last_key != -1) {
          return MakeProblem("Split() needs keys up to the last argument", c.name);
        }
        break;
      case Route::kColocated:
        if (c.key_rule == KeyRule::kNone || one_key) {
          return MakeProblem("Colocated() needs a multi-key command", c.name);
        }
        break;
      case Route::kLocal:
      case Route::kBroadcast:
      case Route::kAdminBroadcast:
      case Route::kAnyServer:
      case Route::kScan:
      case Route::kLock:  // FENCED's keys are its inner command's, found by its handler
        if (c.key_rule != KeyRule::kNone) return MakeProblem("a keyed command", c.name);
        break;
      case Route::kSpecial:
      case Route::kRefused:
      case Route::kTransaction:
      case Route::kBlocking:
      case Route::kPubsub:
        break;
    }
    // A container is Container(), unless ringleader answers it bare itself (COMMAND).
    if ((c.flags & kHasSubcommands) && c.route != Route::kLocal &&
        c.reason != "unknown subcommand") {
      return MakeProblem("a container needs Container()", c.name);
    }
  }
  return {};
}

template <Problem kProblem>
struct TableCheck {
  static_assert(kProblem.text[0] == 0, "command table problem: see TableCheck<Problem{...}>");
  static constexpr bool kOk = true;
};
static_assert(TableCheck<FindProblem()>::kOk);

// --- Lookup: FNV-1a over the lower-cased name ("container|sub" for subcommands), open
// addressing with linear probing over a table at most half full.

constexpr uint32_t kFnvOffset = 2166136261u;
constexpr uint32_t kFnvPrime = 16777619u;
constexpr uint32_t HashStep(uint32_t h, char c) {
  return (h ^ static_cast<uint8_t>(AsciiLower(c))) * kFnvPrime;
}

constexpr size_t kSlotCount = 1024;
static_assert(kSlotCount >= 2 * kCommandCount && (kSlotCount & (kSlotCount - 1)) == 0);
static_assert(kCommandCount < UINT16_MAX);

struct HashIndex {
  std::array<uint16_t, kSlotCount> slots{};  // table index + 1; 0 = empty
  std::array<uint32_t, kCommandCount> hashes{};
  size_t max_name_length = 0;  // longest top-level name
  size_t max_sub_length = 0;   // longest subcommand name
};

consteval HashIndex BuildIndex() {
  HashIndex index;
  for (size_t i = 0; i < kTable.size(); ++i) {
    std::string_view name = kTable[i].name;
    uint32_t h = kFnvOffset;
    for (char c : name) h = HashStep(h, c);
    index.hashes[i] = h;
    size_t slot = h & (kSlotCount - 1);
    while (index.slots[slot] != 0) slot = (slot + 1) & (kSlotCount - 1);
    index.slots[slot] = static_cast<uint16_t>(i + 1);
    size_t bar = name.find('|');
    if (bar == std::string_view::npos) {
      index.max_name_length = std::max(index.max_name_length, name.size());
    } else {
      index.max_sub_length = std::max(index.max_sub_length, name.size() - bar - 1);
    }
  }
  return index;
}

constexpr HashIndex kIndex = BuildIndex();

// The row named `name`, or `name|sub` when sub is non-empty. REQUIRES: name has no '|'.
const CommandInfo* Lookup(std::string_view name, std::string_view sub) {
  uint32_t h = kFnvOffset;
  for (char c : name) h = HashStep(h, c);
  size_t length = name.size();
  if (!sub.empty()) {
    h = HashStep(h, '|');
    for (char c : sub) h = HashStep(h, c);
    length += 1 + sub.size();
  }
  for (size_t slot = h & (kSlotCount - 1);; slot = (slot + 1) & (kSlotCount - 1)) {
    uint16_t entry = kIndex.slots[slot];
    if (entry == 0) return nullptr;
    const CommandInfo& row = kTable[entry - 1];
    if (kIndex.hashes[entry - 1] != h || row.name.size() != length) continue;
    if (!EqualsIgnoreCase(name, row.name.substr(0, name.size()))) continue;
    if (sub.empty() ||
        (row.name[name.size()] == '|' && EqualsIgnoreCase(sub, row.name.substr(name.size() + 1)))) {
      return &row;
    }
  }
}

constexpr CommandFlagName kFlagNames[] = {
    {kWrite, "write"},
    {kReadonly, "readonly"},
    {kAdmin, "admin"},
    {kPubsub, "pubsub"},
    {kNoscript, "noscript"},
    {kBlocking, "blocking"},
    {kLoading, "loading"},
    {kStale, "stale"},
    {kFast, "fast"},
    {kMovableKeys, "movablekeys"},
    {kDenyoom, "denyoom"},
    {kSkipMonitor, "skip_monitor"},
    {kSkipSlowlog, "skip_slowlog"},
    {kAsking, "asking"},
    {kNoAuth, "no_auth"},
    {kMayReplicate, "may_replicate"},
    {kNoMandatoryKeys, "no_mandatory_keys"},
    {kNoAsyncLoading, "no_async_loading"},
    {kNoMulti, "no_multi"},
    {kAllowBusy, "allow_busy"},
    {kModule, "module"},
};

}  // namespace

const CommandInfo* FindCommand(std::string_view name, std::string_view subcommand) {
  if (name.empty() || name.size() > kIndex.max_name_length ||
      name.find('|') != std::string_view::npos) {
    return nullptr;
  }
  const CommandInfo* command = Lookup(name, {});
  if (command == nullptr || !(command->flags & kHasSubcommands) || subcommand.empty() ||
      subcommand.size() > kIndex.max_sub_length) {
    return command;
  }
  const CommandInfo* sub = Lookup(name, subcommand);
  return sub != nullptr ? sub : command;
}

std::span<const CommandInfo> AllCommands() { return kTable; }

std::span<const CommandFlagName> RedisFlagNames() { return kFlagNames; }

}  // namespace rl::proxy
