// ringleader_test_server: a stand-in for the ringleader binary until proxy/main.cc calls
// rl::proxy::Serve (the lead wires that). Flags: -c FILE [-v N] [-o LOG] [-p PIDFILE]
// [--output-limit BYTES] [--shutdown-grace MS] [--client-password POOL=PASS].
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "conf/config.h"
#include "proxy/server.h"

int main(int argc, char** argv) {
  std::string conf_file;
  rl::proxy::ServeOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "-c") {
      conf_file = value;
    } else if (flag == "-v") {
      options.log_level = std::atoi(value.c_str());
    } else if (flag == "-o") {
      options.log_file = value;
    } else if (flag == "-p") {
      options.pid_file = value;
    } else if (flag == "--output-limit") {
      options.proxy.client_output_limit = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--shutdown-grace") {
      options.proxy.shutdown_grace = std::chrono::milliseconds(std::atoll(value.c_str()));
    } else if (flag == "--client-password") {
      size_t eq = value.find('=');
      options.proxy.client_passwords.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  auto config = rl::conf::Load(conf_file);
  if (!config) {
    for (const auto& e : config.error()) std::cerr << e.ToString() << "\n";
    return 1;
  }
  return rl::proxy::Serve(*config, options);
}
