// Renders the command table as Markdown (proxy/commands/COMMANDS.md): which Redis commands ringleader
// serves and how. Used by the rl_command_doc tool and by a test that keeps COMMANDS.md current.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "proxy/commands/command_table.h"

namespace rl::proxy {

// "forwarded", "co-located", "split", ... (the "Served" column).
std::string_view RouteLabel(Route route);

// The command's name as a user types it: "GET", "CLIENT SETNAME".
std::string DisplayName(const CommandInfo& info);

// Where the keys are, in words: "argv[1]", "argv[1..] step 2", "numkeys at argv[2]", ...
std::string DescribeKeys(const CommandInfo& info);

// The whole of proxy/commands/COMMANDS.md.
std::string RenderCommandsMarkdown();

}  // namespace rl::proxy
