// The reply bytes of proxy/commands/command_replies_gen.inc, looked up by name. Not on the request fast
// path (COMMAND is rare), so a binary search over the sorted rows is enough.

#include "proxy/commands/command_replies.h"

#include <algorithm>
#include <cstdint>

namespace rl::proxy {
namespace {

struct CommandReply {
  std::string_view name;
  std::string_view info;
  std::string_view docs;
};

// sizeof keeps the literals binary-safe (no strlen).
constexpr CommandReply kReplies[] = {
#define RL_COMMAND_REPLY(name, info, docs) \
  {name, std::string_view(info, sizeof(info) - 1), std::string_view(docs, sizeof(docs) - 1)},
#include "proxy/commands/command_replies_gen.inc"
#undef RL_COMMAND_REPLY
};

// A subcommand's entries are byte ranges inside its container's entries.
struct SubcommandReply {
  std::string_view name;
  uint32_t info_offset;
  uint32_t info_length;
  uint32_t docs_offset;
  uint32_t docs_length;
};

constexpr SubcommandReply kSubcommandReplies[] = {
#define RL_SUBCOMMAND_REPLY(name, info_offset, info_length, docs_offset, docs_length) \
  {name, info_offset, info_length, docs_offset, docs_length},
#include "proxy/commands/command_replies_gen.inc"
#undef RL_SUBCOMMAND_REPLY
};

constexpr auto kByName = [](const auto& row, std::string_view name) { return row.name < name; };

static_assert(std::ranges::is_sorted(kReplies, {}, &CommandReply::name));
static_assert(std::ranges::is_sorted(kSubcommandReplies, {}, &SubcommandReply::name));

const CommandReply* FindReply(std::string_view name) {
  const CommandReply* it =
      std::lower_bound(std::begin(kReplies), std::end(kReplies), name, kByName);
  return it != std::end(kReplies) && it->name == name ? it : nullptr;
}

// {info, docs} for a name, or empty views.
std::pair<std::string_view, std::string_view> Find(std::string_view name) {
  const size_t bar = name.find('|');
  if (bar == std::string_view::npos) {
    const CommandReply* top = FindReply(name);
    if (top == nullptr) return {};
    return {top->info, top->docs};
  }
  const CommandReply* top = FindReply(name.substr(0, bar));
  const SubcommandReply* sub =
      std::lower_bound(std::begin(kSubcommandReplies), std::end(kSubcommandReplies), name, kByName);
  if (top == nullptr || sub == std::end(kSubcommandReplies) || sub->name != name) return {};
  return {top->info.substr(sub->info_offset, sub->info_length),
          top->docs.substr(sub->docs_offset, sub->docs_length)};
}

}  // namespace

std::string_view CommandInfoReply(const CommandInfo& info) { return Find(info.name).first; }

std::string_view CommandDocsReply(const CommandInfo& info) { return Find(info.name).second; }

}  // namespace rl::proxy
