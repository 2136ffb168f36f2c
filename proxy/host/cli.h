// ringleader's command line: nutcracker's flags, so init scripts keep working after the binary is
// swapped, plus ringleader's own --where. Used by proxy/host/main.cc (and its tests).
// Thread safety: call from main()'s thread; nothing here is shared.
#pragma once

#include <cstdint>
#include <expected>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "conf/config.h"

namespace rl::proxy {

// Like upstream twemproxy's conf/nutcracker.yml: relative to the working directory. Packaged
// installs pass -c explicitly, as they do for nutcracker.
inline constexpr const char* kDefaultConfFile = "conf/ringleader.yml";

struct CliOptions {
  std::string conf_file = kDefaultConfFile;     // -c, --conf-file
  bool test_conf = false;                       // -t, --test-conf: check the file and exit
  bool version = false;                         // -V, --version
  bool daemonize = false;                       // -d, --daemonize
  int verbosity = 5;                            // -v, --verbose N (0..11, nutcracker's scale)
  std::string log_file;                         // -o, --output; empty = stderr
  std::string pid_file;                         // -p, --pid-file; empty = none
  std::optional<uint16_t> stats_port;           // -s, --stats-port; none: no stats port
  std::string stats_addr = "0.0.0.0";           // -a, --stats-addr
  int stats_interval_ms = 30000;                // -i, --stats-interval
  std::optional<int> mbuf_size;                 // -m, --mbuf-size: accepted and ignored
  bool where = false;                           // --where KEY...: print each key's server, exit
  std::vector<std::string> where_keys;          // its keys ("-": read keys from standard input)
  std::optional<uint64_t> client_output_limit;  // --client-output-limit BYTES
  std::optional<int64_t> shutdown_grace_ms;     // --shutdown-grace MS
  bool reload = false;  // --reload: send RINGLEADER RELOAD to the process serving -c FILE
};

// Parses the command line. On success returns the options. When parsing itself finishes the
// program (-h printed the usage to `out`, or a bad flag printed an error to `err`), returns the
// exit status instead.
std::expected<CliOptions, int> ParseCommandLine(int argc, const char* const* argv,
                                                std::ostream& out, std::ostream& err);

// Carries out the options that end the program before serving: -V, -t and --where. Returns the
// exit status, or nullopt when the options ask to serve.
// --where's key "-" reads keys from `in`, one per line.
std::optional<int> RunCommand(const CliOptions& options, std::istream& in, std::ostream& out,
                              std::ostream& err);

// Loads and validates `path`, and, as nutcracker does, resolves every TCP listen host. On
// failure prints every error ("FILE:LINE:COL: message") to `err` and returns nullopt.
std::optional<conf::Config> LoadConfig(const std::string& path, std::ostream& err);

// --where: for each key and each pool, "KEY\tPOOL\tSERVER-NAME\tHOST:PORT", where SERVER-NAME
// is the server's ring identity (its name, or twemproxy's host:port rule). A pool with the
// random distribution has no fixed owner: its line says so instead of naming a server.
std::vector<std::string> WhereLines(const conf::Config& config,
                                    const std::vector<std::string>& keys);

}  // namespace rl::proxy
