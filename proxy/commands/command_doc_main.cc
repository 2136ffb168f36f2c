// rl_command_doc: prints proxy/commands/COMMANDS.md (the command table as Markdown) to stdout.
//   build/proxy/commands/rl_command_doc > proxy/commands/COMMANDS.md

#include <cstdio>

#include "proxy/commands/command_doc.h"

int main() {
  const std::string md = rl::proxy::RenderCommandsMarkdown();
  return std::fwrite(md.data(), 1, md.size(), stdout) == md.size() ? 0 : 1;
}
