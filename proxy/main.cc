// ringleader's entry point: parse the command line (proxy/cli.h), answer -V / -t / --where, and
// otherwise serve the configured pools.
#include <iostream>

#include "proxy/cli.h"

int main(int argc, char** argv) {
  auto options = rl::proxy::ParseCommandLine(argc, argv, std::cout, std::cerr);
  if (!options) return options.error();
  if (auto status = rl::proxy::RunCommand(*options, std::cout, std::cerr)) return *status;
  auto config = rl::proxy::LoadConfig(options->conf_file, std::cerr);
  if (!config) return 1;
  std::cerr << "ringleader: serving arrives with issue 3\n";
  return 1;
}
