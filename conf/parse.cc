// Parse(): the YAML tree (yaml_tree.h) checked against nutcracker's pool keys and rules, every
// problem collected with its place. Cross-pool rules (pool names, listen addresses) run last.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include "conf/config.h"
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
    "admin_commands",
};

constexpr int kMaxWorkers = 1024;

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string HashNames() {
  std::string out;
  for (int i = 0; i < ring::kHashKindCount; ++i) {
    if (i > 0) out += ", ";
    out += ring::HashKindName(static_cast<ring::HashKind>(i));
  }
  return out;
}

class Checker {
 public:
  explicit Checker(const std::string& path) : path_(path) {}

  void Add(int line, int column, std::string message) {
    errors_.push_back(Error{path_, line, column, std::move(message)});
  }
  void Add(const YamlNode& at, std::string message) { Add(at.line, at.column, std::move(message)); }

  std::vector<Error> TakeErrors() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const Error& a, const Error& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(errors_);
  }
  bool ok() const { return errors_.empty(); }

  std::vector<Pool> Root(const YamlNode& root);

 private:
  std::optional<Pool> OnePool(const YamlNode& key, const YamlNode& value);
  void Key(Pool& pool, const YamlNode& key, const YamlNode& value);
  const std::string* Scalar(const Pool& pool, const YamlNode& key, const YamlNode& value);
  std::optional<int> Number(const Pool& pool, const YamlNode& key, const YamlNode& value, int min);
  std::optional<bool> Bool(const Pool& pool, const YamlNode& key, const YamlNode& value);
  void Servers(Pool& pool, const YamlNode& key, const YamlNode& value);

  const std::string& path_;
  std::vector<Error> errors_;
};

std::vector<Pool> Checker::Root(const YamlNode& root) {
  std::vector<Pool> pools;
  if (root.kind == Kind::kEmpty) {
    Add(1, 1, "no pools: the file holds no YAML mapping of pool names to pools");
    return pools;
  }
  if (root.kind != Kind::kMapping) {
    Add(root, "the top level must map pool names to pools (\"name:\" then indented keys)");
    return pools;
  }
  std::map<std::string, int> names;  // pool name -> line
  for (const auto& [key, value] : root.entries) {
    if (key.kind != Kind::kScalar || key.value.empty()) {
      Add(key, "a pool name must be a non-empty plain name");
      continue;
    }
    auto [it, fresh] = names.emplace(key.value, key.line);
    if (!fresh) {
      Add(key, fmt::format("duplicate pool name '{}' (first at line {})", key.value, it->second));
      continue;
    }
    if (auto pool = OnePool(key, value)) pools.push_back(std::move(*pool));
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

std::optional<Pool> Checker::OnePool(const YamlNode& key, const YamlNode& value) {
  Pool pool;
  pool.name = key.value;
  pool.line = key.line;
  pool.column = key.column;
  if (value.kind != Kind::kMapping) {
    Add(value.kind == Kind::kEmpty ? key : value,
        fmt::format("pool '{}' must be a mapping of keys such as listen: and servers:", pool.name));
    return std::nullopt;
  }
  std::map<std::string, int> seen;  // key -> line
  bool has_servers = false;
  for (const auto& [k, v] : value.entries) {
    if (k.kind != Kind::kScalar) {
      Add(k, fmt::format("pool '{}': a key must be a plain name", pool.name));
      continue;
    }
    auto [it, fresh] = seen.emplace(k.value, k.line);
    if (!fresh) {
      Add(k, fmt::format("pool '{}': duplicate key '{}' (first at line {})", pool.name, k.value,
                         it->second));
      continue;
    }
    if (k.value == "servers") has_servers = true;
    Key(pool, k, v);
  }
  if (!seen.contains("listen")) {
    Add(key, fmt::format("pool '{}' has no listen: address", pool.name));
  }
  if (!has_servers) Add(key, fmt::format("pool '{}' has no servers:", pool.name));
  return pool;
}

const std::string* Checker::Scalar(const Pool& pool, const YamlNode& key, const YamlNode& value) {
  switch (value.kind) {
    case Kind::kScalar:
      return &value.value;
    case Kind::kEmpty:
      Add(key, fmt::format("pool '{}': {} needs a value", pool.name, key.value));
      return nullptr;
    case Kind::kSequence:
    case Kind::kMapping:
      Add(value, fmt::format("pool '{}': {} must be a single value, not a {}", pool.name, key.value,
                             value.kind == Kind::kSequence ? "list" : "mapping"));
      return nullptr;
  }
  return nullptr;
}

std::optional<int> Checker::Number(const Pool& pool, const YamlNode& key, const YamlNode& value,
                                   int min) {
  const std::string* text = Scalar(pool, key, value);
  if (!text) return std::nullopt;
  auto n = ParseNumber(*text);
  if (!n) {
    Add(value, fmt::format("pool '{}': {} '{}' {}", pool.name, key.value, *text, n.error()));
    return std::nullopt;
  }
  if (*n < min) {
    Add(value, fmt::format("pool '{}': {} must be at least {}", pool.name, key.value, min));
    return std::nullopt;
  }
  return *n;
}

std::optional<bool> Checker::Bool(const Pool& pool, const YamlNode& key, const YamlNode& value) {
  const std::string* text = Scalar(pool, key, value);
  if (!text) return std::nullopt;
  auto b = ParseBool(*text);
  if (!b) {
    Add(value,
        fmt::format("pool '{}': {} must be true or false, not '{}'", pool.name, key.value, *text));
  }
  return b;
}

void Checker::Key(Pool& pool, const YamlNode& key, const YamlNode& value) {
  const std::string& name = key.value;
  if (name == "listen") {
    const std::string* text = Scalar(pool, key, value);
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
    const std::string* text = Scalar(pool, key, value);
    if (!text) return;
    auto hash = ring::ParseHashKind(*text);
    if (!hash) {
      Add(value,
          fmt::format("pool '{}': unknown hash '{}' (one of: {})", pool.name, *text, HashNames()));
      return;
    }
    pool.hash = *hash;
  } else if (name == "distribution") {
    const std::string* text = Scalar(pool, key, value);
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
    const std::string* text = Scalar(pool, key, value);
    if (!text) return;
    if (text->size() != 2) {
      Add(value, fmt::format("pool '{}': hash_tag '{}' must be exactly two characters, such as "
                             "\"{{}}\"",
                             pool.name, *text));
      return;
    }
    pool.hash_tag = *text;
  } else if (name == "timeout") {
    if (auto n = Number(pool, key, value, 0)) {
      if (*n > 0) pool.timeout = std::chrono::milliseconds(*n);
    }
  } else if (name == "backlog") {
    if (auto n = Number(pool, key, value, 0)) pool.backlog = *n;
  } else if (name == "client_connections") {
    if (auto n = Number(pool, key, value, 0)) pool.client_connections = static_cast<uint32_t>(*n);
  } else if (name == "redis_db") {
    if (auto n = Number(pool, key, value, 0)) pool.redis_db = *n;
  } else if (name == "server_connections") {
    if (auto n = Number(pool, key, value, 1)) pool.server_connections = *n;
  } else if (name == "server_retry_timeout") {
    if (auto n = Number(pool, key, value, 0)) {
      pool.server_retry_timeout = std::chrono::milliseconds(*n);
    }
  } else if (name == "server_failure_limit") {
    if (auto n = Number(pool, key, value, 0)) pool.server_failure_limit = *n;
  } else if (name == "workers") {
    if (auto n = Number(pool, key, value, 1)) {
      if (*n > kMaxWorkers) {
        Add(value, fmt::format("pool '{}': workers must be at most {}", pool.name, kMaxWorkers));
      } else {
        pool.workers = *n;
      }
    }
  } else if (name == "redis") {
    if (auto b = Bool(pool, key, value)) {
      if (!*b) {
        Add(value, fmt::format("pool '{}': redis: false asks for a memcache pool, but ringleader "
                               "serves Redis only (set redis: true or remove the key)",
                               pool.name));
      }
    }
  } else if (name == "preconnect") {
    if (auto b = Bool(pool, key, value)) pool.preconnect = *b;
  } else if (name == "auto_eject_hosts") {
    if (auto b = Bool(pool, key, value)) pool.auto_eject_hosts = *b;
  } else if (name == "tcpkeepalive") {
    if (auto b = Bool(pool, key, value)) pool.tcpkeepalive = *b;
  } else if (name == "reuseport") {
    if (auto b = Bool(pool, key, value)) pool.reuseport = *b;
  } else if (name == "admin_commands") {
    if (auto b = Bool(pool, key, value)) pool.admin_commands = *b;
  } else if (name == "redis_auth") {
    if (const std::string* text = Scalar(pool, key, value)) pool.redis_auth = *text;
  } else if (name == "client_auth") {
    if (const std::string* text = Scalar(pool, key, value)) pool.client_auth = *text;
  } else if (name == "servers") {
    Servers(pool, key, value);
  } else {
    std::string hint;
    for (std::string_view known : kPoolKeys) {
      if (EditDistance(name, known) <= 2) {
        hint = fmt::format(" (did you mean '{}'?)", known);
        break;
      }
    }
    Add(key, fmt::format("pool '{}': unknown key '{}'{}", pool.name, name, hint));
  }
}

void Checker::Servers(Pool& pool, const YamlNode& key, const YamlNode& value) {
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
  config.pools = checker.Root(tree.root);
  if (!checker.ok()) return std::unexpected(checker.TakeErrors());
  return config;
}

}  // namespace rl::conf
