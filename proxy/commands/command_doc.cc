// Markdown for proxy/commands/COMMANDS.md, rendered from the command table so the documentation
// cannot disagree with what the proxy does.

#include "proxy/commands/command_doc.h"

#include <array>

#include "proxy/base/ascii.h"

namespace rl::proxy {
namespace {

constexpr Route kRoutes[] = {
    Route::kForwardByKey, Route::kColocated, Route::kSplitMerge,  Route::kLocal,
    Route::kBroadcast,    Route::kAnyServer, Route::kScan,        Route::kAdminBroadcast,
    Route::kSpecial,      Route::kRefused,   Route::kTransaction, Route::kBlocking,
    Route::kPubsub,       Route::kLock};

std::string_view RouteMeaning(Route route) {
  switch (route) {
    case Route::kForwardByKey:
      return "sent to the server that owns its key";
    case Route::kColocated:
      return "served when all its keys live on one server, else `-CROSSSLOT`; with no keys "
             "(EVAL with numkeys 0) the first server in configuration order";
    case Route::kSplitMerge:
      return "split by server, the replies merged back in the client's key order";
    case Route::kLocal:
      return "answered by ringleader itself";
    case Route::kBroadcast:
      return "sent to every server, the replies combined";
    case Route::kAnyServer:
      return "sent to one server: every server gives the same answer";
    case Route::kScan:
      return "walks every server in turn; the cursor is that server's cursor times 4096 plus "
             "the server's index in the configuration";
    case Route::kAdminBroadcast:
      return "broadcast, only in a pool with `admin_commands: true`; refused otherwise";
    case Route::kSpecial:
      return "needs per-client state; refused until a later release";
    case Route::kRefused:
      return "refused with the reason shown";
    case Route::kTransaction:
      return "queued by ringleader and run on the server that owns the transaction's keys; WATCH "
             "holds a server connection reserved for the client until EXEC, DISCARD or UNWATCH";
    case Route::kBlocking:
      return "run on a server connection of the client's own, so it blocks only that client; "
             "keys on one server, else `-CROSSSLOT`";
    case Route::kPubsub:
      return "subscriptions kept per client on subscriber connections of its own: a channel on "
             "the server its name hashes to, a pattern on every server";
    case Route::kLock:
      return "ringleader's lock service (`ringleader: locks:`, lock/README.md): LOCK.* run on "
             "the lock masters, FENCED writes on the server of their key";
  }
  return "";
}

std::string_view MergeLabel(Merge merge) {
  switch (merge) {
    case Merge::kNone:
      return "";
    case Merge::kKeyOrder:
      return "replies in key order";
    case Merge::kSumIntegers:
      return "counts summed";
    case Merge::kAllOk:
      return "OK when every server says OK";
    case Merge::kAllEqual:
      return "every server must give the same reply";
    case Merge::kAndArrays:
      return "1 only where every server says 1";
    case Merge::kAnySuccess:
      return "OK when any server succeeds; each server on a connection of its own";
    case Merge::kConcatArrays:
      return "arrays concatenated in server order";
    case Merge::kRandomNonNil:
      return "a random server's reply among the non-nil ones";
    case Merge::kScanCursor:
    case Merge::kInfo:
      return "";
    case Merge::kUnionArrays:
      return "arrays joined, each element once";
    case Merge::kSumPairs:
      return "counts of each name summed";
  }
  return "";
}

std::string Arg(int index) { return "argv[" + std::to_string(index) + "]"; }

std::string DescribeRange(const CommandInfo& info) {
  if (info.first_key <= 0) return "";
  if (info.last_key == info.first_key) return Arg(info.first_key);
  std::string text = "argv[" + std::to_string(info.first_key) + "..";
  if (info.last_key >= 0) {
    text += std::to_string(info.last_key);
  } else if (info.last_key < -1) {
    text += std::to_string(info.last_key);
  }
  text += "]";
  if (info.key_step > 1) text += " step " + std::to_string(info.key_step);
  return text;
}

}  // namespace

std::string_view RouteLabel(Route route) {
  switch (route) {
    case Route::kForwardByKey:
      return "forwarded";
    case Route::kColocated:
      return "co-located";
    case Route::kSplitMerge:
      return "split";
    case Route::kLocal:
      return "local";
    case Route::kBroadcast:
      return "broadcast";
    case Route::kAnyServer:
      return "any server";
    case Route::kScan:
      return "scan";
    case Route::kAdminBroadcast:
      return "admin broadcast";
    case Route::kSpecial:
      return "later";
    case Route::kRefused:
      return "refused";
    case Route::kTransaction:
      return "transaction";
    case Route::kBlocking:
      return "blocking";
    case Route::kPubsub:
      return "pub/sub";
    case Route::kLock:
      return "lock";
  }
  return "";
}

std::string DisplayName(const CommandInfo& info) {
  std::string name(info.name);
  for (char& c : name) {
    c = c == '|' ? ' ' : AsciiUpper(c);
  }
  return name;
}

std::string DescribeKeys(const CommandInfo& info) {
  const std::string range = DescribeRange(info);
  const std::string plus = range.empty() ? "" : range + " + ";
  switch (info.key_rule) {
    case KeyRule::kNone:
      return "";
    case KeyRule::kRange:
      return range;
    case KeyRule::kNumkeys:
      return plus + "numkeys at " + Arg(info.rule_index);
    case KeyRule::kKeywordThenRest:
      return "first half after STREAMS";
    case KeyRule::kMigrate:
      return Arg(info.first_key) + ", or all after KEYS";
    case KeyRule::kSort:
      return plus + "STORE destination";
    case KeyRule::kGeoradius:
      return plus + "STORE/STOREDIST destinations";
  }
  return "";
}

std::string RenderCommandsMarkdown() {
  std::array<int, std::size(kRoutes)> counts{};
  for (const CommandInfo& c : AllCommands()) ++counts[static_cast<size_t>(c.route)];

  std::string md =
      "# Redis commands through ringleader\n\n"
      "<!-- Generated from proxy/commands/command_policy.inc and "
      "proxy/commands/command_table_gen.inc; do not\n"
      "     edit. Regenerate: build/proxy/commands/rl_command_doc > proxy/commands/COMMANDS.md "
      "-->\n\n"
      "How ringleader serves each Redis 7.0 command and subcommand (" +
      std::to_string(AllCommands().size()) +
      " in all).\nKeys are argument indexes: argv[0] is the command's name, and for a "
      "subcommand argv[1]\nis the subcommand.\n\n"
      "| Served | Count | Meaning |\n|---|---|---|\n";
  for (Route route : kRoutes) {
    md += "| " + std::string(RouteLabel(route)) + " | " +
          std::to_string(counts[static_cast<size_t>(route)]) + " | " +
          std::string(RouteMeaning(route)) + " |\n";
  }
  md += "\n| Command | Served | Keys | Notes |\n|---|---|---|---|\n";
  for (const CommandInfo& c : AllCommands()) {
    std::string notes(c.merge != Merge::kNone ? MergeLabel(c.merge) : c.reason);
    if (c.flags & kNotInRedis) {
      notes = c.name.starts_with("ringleader")
                  ? "ringleader's own administration (proxy/session/admin_commands.h)"
              : c.route == Route::kLock ? "ringleader's own (lock/README.md)"
                                        : "not in Redis 7.0; answered for newer clients";
    }
    if (c.flags & kPatternKeys) {
      notes =
          "a BY/GET pattern with `*` must hold, before the `*`, a hash tag placed on the "
          "sorted key's server (or the pool have one server), else `-CROSSSLOT`";
    }
    md += "| `" + DisplayName(c) + "` | " + std::string(RouteLabel(c.route)) + " | " +
          DescribeKeys(c) + " | " + notes + " |\n";
  }
  return md;
}

}  // namespace rl::proxy
