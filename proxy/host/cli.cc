#include "proxy/host/cli.h"

#include <netdb.h>
#include <sys/socket.h>

#include "CLI/CLI.hpp"
#include "fmt/format.h"
#include "ring/ring.h"

#ifndef RL_VERSION
#error "RL_VERSION must be defined by the build (the CMake project version)"
#endif

namespace rl::proxy {
namespace {

constexpr const char* kDescription =
    "ringleader: a Redis proxy that reads nutcracker (twemproxy) configuration files and places "
    "every key on the same server as nutcracker.";

// nutcracker resolves listen hosts while it reads its configuration (nc_resolve), so `-t`
// rejects a host that does not resolve; ringleader's -t does the same. conf/ stays free of I/O,
// hence this check lives here.
std::vector<conf::Error> CheckListenHosts(const conf::Config& config) {
  std::vector<conf::Error> errors;
  for (const conf::Pool& pool : config.pools) {
    if (pool.listen.kind != conf::Address::Kind::kTcp) continue;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* result = nullptr;
    std::string port = std::to_string(pool.listen.port);
    int rc = getaddrinfo(pool.listen.host.c_str(), port.c_str(), &hints, &result);
    if (rc != 0) {
      errors.push_back(conf::Error{config.path, pool.listen_line, pool.listen_column,
                                   fmt::format("pool '{}': listen host '{}' does not resolve: {}",
                                               pool.name, pool.listen.host, gai_strerror(rc))});
      continue;
    }
    freeaddrinfo(result);
  }
  return errors;
}

}  // namespace

std::expected<CliOptions, int> ParseCommandLine(int argc, const char* const* argv,
                                                std::ostream& out, std::ostream& err) {
  CliOptions options;
  CLI::App app(kDescription, "ringleader");
  app.get_formatter()->column_width(30);
  // A flag given twice keeps its last value, as with nutcracker's getopt loop (scripts append
  // overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("-t,--test-conf", options.test_conf,
               "test the configuration file for errors and exit");
  app.add_flag("-V,--version", options.version, "show version and exit");
  app.add_flag("-d,--daemonize", options.daemonize, "run as a daemon");
  app.add_option("-c,--conf-file", options.conf_file, "configuration file")
      ->type_name("FILE")
      ->capture_default_str();
  app.add_option("-v,--verbose", options.verbosity, "logging level, 0..11")
      ->type_name("N")
      ->check(CLI::Range(0, 11).description(""))
      ->capture_default_str();
  app.add_option("-o,--output", options.log_file, "log file (default: stderr)")->type_name("FILE");
  app.add_option("-p,--pid-file", options.pid_file, "pid file (default: none)")->type_name("FILE");
  // nutcracker's stats port. Unlike nutcracker it is served only when -s is given: a default
  // listener on 0.0.0.0:22222 would expose counters, and clash between two processes.
  app.add_option("-s,--stats-port", options.stats_port,
                 "serve nutcracker's stats JSON on PORT (only when given; nutcracker always "
                 "serves it, on 22222 by default)")
      ->type_name("PORT");
  app.add_option("-a,--stats-addr", options.stats_addr, "stats address (with -s)")
      ->type_name("ADDR")
      ->capture_default_str();
  app.add_option("-i,--stats-interval", options.stats_interval_ms,
                 "how often the stats are gathered, in msec (with -s)")
      ->type_name("MS")
      ->check(CLI::PositiveNumber.description(""))
      ->capture_default_str();
  app.add_option("-m,--mbuf-size", options.mbuf_size,
                 "accepted for nutcracker compatibility and ignored")
      ->type_name("N");
  // --where is a flag and the keys are the positional arguments, so that "--" can end the
  // options before keys that begin with '-'.
  app.add_flag("--where", options.where,
               "print, for each KEY and pool, the server that owns it, and exit; the KEY '-' "
               "reads keys from standard input, one per line; put keys that begin with '-' "
               "after '--'");
  app.add_option("KEY", options.where_keys, "a key to place (with --where)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--client-output-limit", options.client_output_limit,
                 "close a client whose unread replies exceed BYTES; wins over the file's "
                 "ringleader: client_output_limit (default 256 MiB)")
      ->type_name("BYTES")
      ->check(CLI::PositiveNumber.description(""));
  app.add_option("--shutdown-grace", options.shutdown_grace_ms,
                 "on SIGTERM/SIGINT, how long in-flight requests may take; wins over the "
                 "file's ringleader: shutdown_grace (default 5000)")
      ->type_name("MS")
      ->check(CLI::NonNegativeNumber.description(""));
  app.add_flag("--reload", options.reload,
               "send RINGLEADER RELOAD to the ringleader serving the -c FILE (at its first "
               "pool's listen address), print the reply and exit (non-zero on an error)");
  app.footer(
      "Without -t, -V, --where or --reload, ringleader serves the pools of the configuration "
      "file.\n"
      "\n"
      "SIGNALS\n"
      "  SIGHUP           reopen the log file (-o), for logrotate; the configuration is\n"
      "                   re-read only by RINGLEADER RELOAD (or --reload)\n"
      "  SIGTERM, SIGINT  stop accepting, finish the in-flight requests (shutdown_grace), exit 0\n"
      "  SIGTTIN, SIGTTOU raise, lower the logging level by one\n"
      "\n"
      "EXIT STATUS\n"
      "  0 on a clean stop or a valid -t; 1 on a configuration error, a failed start (a port\n"
      "  in use, a data directory that is not this node's) or a fatal cluster error.\n"
      "\n"
      "FILES\n"
      "  /etc/ringleader/ringleader.yml     the configuration (cmake --install puts an\n"
      "                                     example there when none exists)\n"
      "  /lib/systemd/system/ringleader.service, /etc/logrotate.d/ringleader\n"
      "\n"
      "EXAMPLES\n"
      "  ringleader -t -c nutcracker.yml             check a nutcracker file\n"
      "  ringleader -c nutcracker.yml -s 22222       serve it, with nutcracker's stats port\n"
      "  ringleader -c nutcracker.yml --where user:1 the server that owns user:1, per pool\n"
      "  ringleader -c nutcracker.yml --reload       apply an edited file to the running proxy\n"
      "\n"
      "See README.md and conf/README.md for the configuration, the cluster and the locks.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // -h is a ParseError too (exit 0); every real error exits 1, as nutcracker's do.
    return std::unexpected(app.exit(e, out, err) == 0 ? 0 : 1);
  }
  if (!options.where_keys.empty() && !options.where) {
    err << "ringleader: unexpected argument '" << options.where_keys.front()
        << "' (keys are placed with --where)\n";
    return std::unexpected(1);
  }
  if (options.where && options.where_keys.empty()) {
    err << "ringleader: --where needs at least one KEY ('-' reads them from standard input)\n";
    return std::unexpected(1);
  }
  for (const char* flag : {"-a", "-i"}) {
    if (app.count(flag) > 0 && !options.stats_port) {
      err << "ringleader: " << flag
          << " has no effect without -s (ringleader serves the stats port only when -s is "
             "given)\n";
    }
  }
  if (options.mbuf_size) {
    err << "ringleader: -m/--mbuf-size is accepted for nutcracker compatibility and ignored "
           "(ringleader sizes its buffers itself)\n";
  }
  return options;
}

std::optional<conf::Config> LoadConfig(const std::string& path, std::ostream& err) {
  auto config = conf::Load(path);
  std::vector<conf::Error> errors = config ? CheckListenHosts(*config) : config.error();
  if (errors.empty()) return std::move(*config);
  for (const conf::Error& error : errors) err << error.ToString() << "\n";
  return std::nullopt;
}

std::vector<std::string> WhereLines(const conf::Config& config,
                                    const std::vector<std::string>& keys) {
  std::vector<ring::Ring> rings;
  rings.reserve(config.pools.size());
  for (const conf::Pool& pool : config.pools) {
    rings.push_back(ring::Ring::Build(pool.RingMembers(), pool.RingOptions()));
  }
  std::vector<std::string> lines;
  for (const std::string& key : keys) {
    for (size_t i = 0; i < config.pools.size(); ++i) {
      const conf::Pool& pool = config.pools[i];
      if (pool.distribution == ring::Distribution::kRandom) {
        lines.push_back(fmt::format("{}\t{}\t(random)\t(placement is random: any of {} servers)",
                                    key, pool.name, pool.servers.size()));
        continue;
      }
      const conf::Server& server = pool.servers[rings[i].Lookup(key)];
      lines.push_back(fmt::format("{}\t{}\t{}\t{}", key, pool.name, server.identity,
                                  server.address.ToString()));
    }
  }
  return lines;
}

std::optional<int> RunCommand(const CliOptions& options, std::istream& in, std::ostream& out,
                              std::ostream& err) {
  if (options.version) {
    out << "This is ringleader-" << RL_VERSION << "\n";
    return 0;
  }
  if (!options.test_conf && !options.where) return std::nullopt;

  auto config = LoadConfig(options.conf_file, err);
  if (options.test_conf) {
    if (!config) {
      err << "ringleader: configuration file '" << options.conf_file << "' syntax is invalid\n";
      return 1;
    }
    out << "ringleader: configuration file '" << options.conf_file << "' syntax is ok\n";
    if (!options.where) return 0;
  }
  if (!config) return 1;
  // "-" stands for the keys on standard input, one per line (a key with a newline cannot be
  // asked about this way; one ending in '\r' can, so only '\n' ends a line).
  std::vector<std::string> keys;
  for (const std::string& key : options.where_keys) {
    if (key != "-") {
      keys.push_back(key);
      continue;
    }
    for (std::string line; std::getline(in, line);) keys.push_back(std::move(line));
  }
  for (const std::string& line : WhereLines(*config, keys)) out << line << "\n";
  return 0;
}

}  // namespace rl::proxy
