// ringleader's entry point: parse the command line (proxy/host/cli.h), answer -V / -t / --where,
// send --reload, and otherwise serve the configured pools (proxy/host/server.h) until SIGTERM or
// SIGINT.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "proxy/host/cli.h"
#include "proxy/host/process_settings.h"
#include "proxy/host/reload_client.h"
#include "proxy/host/server.h"

int main(int argc, char** argv) {
  auto options = rl::proxy::ParseCommandLine(argc, argv, std::cout, std::cerr);
  if (!options) return options.error();
  if (auto status = rl::proxy::RunCommand(*options, std::cin, std::cout, std::cerr)) return *status;
  if (options->reload) return rl::proxy::SendReload(options->conf_file, std::cout, std::cerr);
  auto config = rl::proxy::LoadConfig(options->conf_file, std::cerr);
  if (!config) return 1;

  rl::proxy::ServeOptions serve;
  serve.log_level = options->verbosity;
  serve.log_file = options->log_file;
  serve.pid_file = options->pid_file;
  // The file's ringleader: section, with the command line's flags winning over it.
  serve.proxy = rl::proxy::ProcessProxyOptions(config->ringleader, *options);
  // -d as nutcracker does it: detach after the configuration is known to be good. The working
  // directory is kept so that relative -o/-p paths mean what they meant on the command line.
  if (options->daemonize && daemon(/*nochdir=*/1, /*noclose=*/0) != 0) {
    std::perror("ringleader: daemon");
    return 1;
  }
  return rl::proxy::Serve(*config, serve);
}
