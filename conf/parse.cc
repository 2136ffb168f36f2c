// Parse(): the YAML tree (yaml_tree.h) checked, with a Checker (checker.h), against nutcracker's
// pool keys and rules, every problem collected with its place. The reserved top-level key
// `ringleader:` is ringleader's own section (ringleader_section.h), not a pool. Cross-pool rules
// (pool names, listen addresses) run last.

#include <cstdint>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include "conf/checker.h"
#include "conf/config.h"
#include "conf/locks_section.h"
#include "conf/ringleader_section.h"
#include "conf/values.h"
#include "conf/yaml_tree.h"
#include "fmt/format.h"

namespace rl::conf {
namespace {

using Kind = YamlNode::Kind;

// Every key a pool may hold: nutcracker 0.5.0's, reuseport (later twemproxy), and ringleader's.
constexpr std::string_view kPoolKeys[] = {
    "listen",         "hash",      "hash_tag",           "distribution",
    "timeout",        "backlog",   "preconnect",         "redis",
    "redis_auth",     "redis_db",  "server_connections", "auto_eject_hosts",
    "tcpkeepalive",   "reuseport", "client_connections", "server_retry_timeout",
    "servers",        "workers",   "client_auth",        "server_failure_limit",
    "admin_commands", "client_timeout",
};

constexpr int kMaxWorkers = 1024;

std::string HashNames() {
  std::string out;
  for (int i = 0; i < ring::kHashKindCount; ++i) {
    if (i > 0) out += ", ";
    out += ring::HashKindName(static_cast<ring::HashKind>(i));
  }
  return out;
}

// The pools of a file: the top level and each pool's keys, read with a Checker.
class PoolReader {
 public:
  explicit PoolReader(Checker& checker) : checker_(checker) {}

  // The pools in file order; the `ringleader:` section, if any, goes to *settings.
  std::vector<Pool> Root(const YamlNode& root, RingleaderSettings* settings);

 private:
  void Add(int line, int column, std::string message) {
    checker_.Add(line, column, std::move(message));
  }
  void Add(const YamlNode& at, std::string message) { checker_.Add(at, std::move(message)); }
  std::optional<Pool> OnePool(const YamlNode& key, const YamlNode& value);
  void Key(Pool& pool, const std::string& owner, const YamlNode& key, const YamlNode& value);
  void Servers(Pool& pool, const YamlNode& key, const YamlNode& value);

  Checker& checker_;
};

std::vector<Pool> PoolReader::Root(const YamlNode& root, RingleaderSettings* settings) {
  std::vector<Pool> pools;
  if (root.kind == Kind::kEmpty) {
    Add(1, 1, "no pools: the file holds no YAML mapping of pool names to pools");
    return pools;
  }
  if (root.kind != Kind::kMapping) {
    Add(root, "the top level must map pool names to pools (\"name:\" then indented keys)");
    return pools;
  }
  std::map<std::string, int> names;  // pool name (or the section's) -> line
  size_t pool_entries = 0;           // entries meant as pools, good or bad
  for (const auto& [key, value] : root.entries) {
    if (key.kind != Kind::kScalar || key.value.empty()) {
      Add(key, "a pool name must be a non-empty plain name");
      ++pool_entries;
      continue;
    }
    const bool section = key.value == kRingleaderSection;
    auto [it, fresh] = names.emplace(key.value, key.line);
    if (!fresh) {
      Add(key,
          section
              ? fmt::format("duplicate section '{}' (first at line {})", key.value, it->second)
              : fmt::format("duplicate pool name '{}' (first at line {})", key.value, it->second));
      continue;
    }
    if (section && LooksLikePool(value)) {
      // The one nutcracker file ringleader cannot read as written. Renaming the pool is safe:
      // a pool's name places no key (only its servers' identities do).
      Add(key, fmt::format("a pool cannot be named '{}': the name is reserved for ringleader's "
                           "own settings (rename the pool; its keys stay on the same servers)",
                           kRingleaderSection));
      ++pool_entries;
      continue;
    }
    if (section) {
      *settings = ReadRingleaderSection(checker_, value);
      continue;
    }
    if (!LooksLikePool(value) && (value.kind == Kind::kMapping || value.kind == Kind::kEmpty) &&
        EditDistance(key.value, kRingleaderSection) <= 2) {
      // Neither a pool (no listen:, no servers:) nor the section: a misspelt section name.
      Add(key, fmt::format("unknown top-level key '{}': not a pool (no listen: or servers:) "
                           "and not ringleader's section (did you mean '{}'?)",
                           key.value, kRingleaderSection));
      continue;
    }
    ++pool_entries;
    if (auto pool = OnePool(key, value)) pools.push_back(std::move(*pool));
  }
  if (pool_entries == 0) {
    Add(1, 1,
        "no pools: the file holds only ringleader's section; add a pool (a name, then "
        "indented listen: and servers:)");
  }

  // nutcracker compares listen strings as written; ringleader compares endpoints, so
  // "/tmp/x.sock" and "/tmp/x.sock 0600" (or ports 6380 and 06380) collide too.
  for (size_t i = 0; i < pools.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (pools[i].listen_line == 0 || pools[j].listen_line == 0) continue;
      if (!pools[i].listen.SameEndpoint(pools[j].listen)) continue;
      Add(pools[i].listen_line, pools[i].listen_column,
          fmt::format("pool '{}': listen address {} is already used by pool '{}' (line {})",
                      pools[i].name, pools[i].listen.ToString(), pools[j].name,
                      pools[j].listen_line));
      break;
    }
  }
  return pools;
}

std::optional<Pool> PoolReader::OnePool(const YamlNode& key, const YamlNode& value) {
  Pool pool;
  pool.name = key.value;
  pool.line = key.line;
  pool.column = key.column;
  if (value.kind != Kind::kMapping) {
    Add(value.kind == Kind::kEmpty ? key : value,
        fmt::format("pool '{}' must be a mapping of keys such as listen: and servers:", pool.name));
    return std::nullopt;
  }
  const std::string owner = fmt::format("pool '{}'", pool.name);
  bool has_listen = false;
  bool has_servers = false;
  checker_.ForEachKey(owner, value, [&](const YamlNode& k, const YamlNode& v) {
    has_listen |= k.value == "listen";
    has_servers |= k.value == "servers";
    Key(pool, owner, k, v);
  });
  if (!has_listen) {
    Add(key, fmt::format("pool '{}' has no listen: address", pool.name));
  }
  if (!has_servers) Add(key, fmt::format("pool '{}' has no servers:", pool.name));
  return pool;
}

void PoolReader::Key(Pool& pool, const std::string& owner, const YamlNode& key,
                     const YamlNode& value) {
  const std::string& name = key.value;
  if (name == "listen") {
    const std::string* text = checker_.Scalar(owner, key, value);
    if (!text) return;
    auto address = ParseListen(*text);
    if (!address) {
      Add(value, fmt::format("pool '{}': {}", pool.name, address.error()));
      return;
    }
    pool.listen = std::move(*address);
    pool.listen_line = value.line;
    pool.listen_column = value.column;
  } else if (name == "hash") {
    const std::string* text = checker_.Scalar(owner, key, value);
    if (!text) return;
    auto hash = ring::ParseHashKind(*text);
    if (!hash) {
      Add(value,
          fmt::format("pool '{}': unknown hash '{}' (one of: {})", pool.name, *text, HashNames()));
      return;
    }
    pool.hash = *hash;
  } else if (name == "distribution") {
    const std::string* text = checker_.Scalar(owner, key, value);
    if (!text) return;
    auto distribution = ring::ParseDistribution(*text);
    if (!distribution) {
      Add(value, fmt::format("pool '{}': unknown distribution '{}' (one of: ketama, modula, "
                             "random)",
                             pool.name, *text));
      return;
    }
    pool.distribution = *distribution;
  } else if (name == "hash_tag") {
    const std::string* text = checker_.Scalar(owner, key, value);
    if (!text) return;
    if (text->size() != 2) {
      Add(value, fmt::format("pool '{}': hash_tag '{}' must be exactly two characters, such as "
                             "\"{{}}\"",
                             pool.name, *text));
      return;
    }
    pool.hash_tag = *text;
  } else if (name == "timeout") {
    if (auto n = checker_.Number(owner, key, value, 0)) {
      if (*n > 0) pool.timeout = std::chrono::milliseconds(*n);
    }
  } else if (name == "backlog") {
    if (auto n = checker_.Number(owner, key, value, 0)) pool.backlog = *n;
  } else if (name == "client_connections") {
    if (auto n = checker_.Number(owner, key, value, 0))
      pool.client_connections = static_cast<uint32_t>(*n);
  } else if (name == "redis_db") {
    if (auto n = checker_.Number(owner, key, value, 0)) pool.redis_db = *n;
  } else if (name == "server_connections") {
    if (auto n = checker_.Number(owner, key, value, 1)) pool.server_connections = *n;
  } else if (name == "server_retry_timeout") {
    if (auto n = checker_.Number(owner, key, value, 0)) {
      pool.server_retry_timeout = std::chrono::milliseconds(*n);
    }
  } else if (name == "server_failure_limit") {
    if (auto n = checker_.Number(owner, key, value, 0)) pool.server_failure_limit = *n;
  } else if (name == "workers") {
    if (auto n = checker_.Number(owner, key, value, 1, kMaxWorkers)) pool.workers = *n;
  } else if (name == "redis") {
    if (auto b = checker_.Bool(owner, key, value)) {
      if (!*b) {
        Add(value, fmt::format("pool '{}': redis: false asks for a memcache pool, but ringleader "
                               "serves Redis only (set redis: true or remove the key)",
                               pool.name));
      }
    }
  } else if (name == "preconnect") {
    if (auto b = checker_.Bool(owner, key, value)) pool.preconnect = *b;
  } else if (name == "auto_eject_hosts") {
    if (auto b = checker_.Bool(owner, key, value)) pool.auto_eject_hosts = *b;
  } else if (name == "tcpkeepalive") {
    if (auto b = checker_.Bool(owner, key, value)) pool.tcpkeepalive = *b;
  } else if (name == "reuseport") {
    if (auto b = checker_.Bool(owner, key, value)) pool.reuseport = *b;
  } else if (name == "client_timeout") {
    if (auto n = checker_.Number(owner, key, value, 0)) {
      if (*n > 0) pool.client_timeout = std::chrono::milliseconds(*n);
    }
  } else if (name == "admin_commands") {
    if (auto b = checker_.Bool(owner, key, value)) pool.admin_commands = *b;
  } else if (name == "redis_auth") {
    if (const std::string* text = checker_.Scalar(owner, key, value)) pool.redis_auth = *text;
  } else if (name == "client_auth") {
    if (const std::string* text = checker_.Scalar(owner, key, value)) pool.client_auth = *text;
  } else if (name == "servers") {
    Servers(pool, key, value);
  } else {
    checker_.UnknownKey(owner, key, kPoolKeys);
  }
}

void PoolReader::Servers(Pool& pool, const YamlNode& key, const YamlNode& value) {
  if (value.kind == Kind::kEmpty) {
    Add(key,
        fmt::format("pool '{}': servers: needs at least one '- host:port:weight' line", pool.name));
    return;
  }
  if (value.kind != Kind::kSequence) {
    Add(value, fmt::format("pool '{}': servers: must be a list of '- host:port:weight [name]' "
                           "lines",
                           pool.name));
    return;
  }
  if (value.items.empty()) {
    Add(value, fmt::format("pool '{}': servers: needs at least one server", pool.name));
    return;
  }
  std::map<std::string, int> identities;  // ring identity -> line
  uint64_t total_weight = 0;
  for (const YamlNode& item : value.items) {
    if (item.kind != Kind::kScalar) {
      Add(item, fmt::format("pool '{}': a server must be one 'host:port:weight [name]' value",
                            pool.name));
      continue;
    }
    auto server = ParseServer(item.value);
    if (!server) {
      Add(item, fmt::format("pool '{}': {}", pool.name, server.error()));
      continue;
    }
    server->line = item.line;
    server->column = item.column;
    auto [it, fresh] = identities.emplace(server->identity, item.line);
    if (!fresh) {
      if (!server->name.empty()) {
        Add(item, fmt::format("pool '{}': duplicate server name '{}' (first at line {})", pool.name,
                              server->name, it->second));
      } else {
        Add(item, fmt::format("pool '{}': duplicate server {}: its ring identity '{}' is "
                              "already used at line {}",
                              pool.name, server->address.ToString(), server->identity, it->second));
      }
      continue;
    }
    total_weight += server->weight;
    pool.servers.push_back(std::move(*server));
  }
  // The ring sums the weights in 32 bits, as twemproxy does.
  if (total_weight > std::numeric_limits<uint32_t>::max()) {
    Add(value, fmt::format("pool '{}': the server weights add up to {}, more than {}", pool.name,
                           total_weight, std::numeric_limits<uint32_t>::max()));
  }
}

}  // namespace

std::expected<Config, std::vector<Error>> Parse(const std::string& text, const std::string& path) {
  YamlTree tree = ReadYamlTree(text);
  Checker checker(path);
  if (!tree.errors.empty()) {
    // The tree may be partial or hold placeholders; checking its keys would add noise.
    for (auto& problem : tree.errors) {
      checker.Add(problem.line, problem.column, std::move(problem.message));
    }
    return std::unexpected(checker.TakeErrors());
  }
  Config config;
  config.path = path;
  config.pools = PoolReader(checker).Root(tree.root, &config.ringleader);
  ResolveLockMasters(checker, config);
  if (!checker.ok()) return std::unexpected(checker.TakeErrors());
  return config;
}

}  // namespace rl::conf
