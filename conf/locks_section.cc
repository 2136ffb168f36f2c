#include "conf/locks_section.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <string>

#include "conf/values.h"
#include "fmt/format.h"

namespace rl::conf {
namespace {

using Kind = YamlNode::Kind;

constexpr std::string_view kOwner = "section 'ringleader': locks";

constexpr std::array<std::string_view, 5> kKeyNames = {"masters", "pool", "data_dir",
                                                       "drift_factor", "request_timeout_ms"};

// A decimal fraction 0 <= f < 1 written with digits and one '.', e.g. "0.01" (no exponent, no
// sign: the same plain grammar as every other number of the file).
std::expected<double, std::string> ParseFraction(std::string_view text) {
  const bool plain =
      !text.empty() && text.find_first_not_of("0123456789.") == std::string_view::npos &&
      std::count(text.begin(), text.end(), '.') <= 1 && text.front() != '.' && text.back() != '.';
  if (!plain) return std::unexpected("is not a decimal number such as 0.01");
  double f = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), f);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::unexpected("is not a decimal number such as 0.01");
  }
  if (f >= 1) return std::unexpected("must be below 1 (a fraction of the lease)");
  return f;
}

// One `masters:` entry: host:port (a lock master is a TCP Redis server).
std::expected<Address, std::string> ParseMaster(std::string_view text) {
  auto address = ParseListen(text);
  if (!address) return std::unexpected(address.error());
  if (address->kind != Address::Kind::kTcp) return std::unexpected("must be host:port");
  return *address;
}

void ReadMasters(Checker& checker, const YamlNode& key, const YamlNode& value, LockSettings& out,
                 bool& ok) {
  std::set<std::string> seen;
  auto keep = [&](Address master, const YamlNode&) -> std::optional<std::string> {
    if (!seen.insert(master.ToString()).second) {
      return fmt::format("master {} is listed twice", master.ToString());
    }
    out.masters.push_back(std::move(master));
    return std::nullopt;
  };
  if (!checker.ScalarList(kOwner, key, value, "masters", "master", "host:port", ParseMaster,
                          keep)) {
    ok = false;
  }
}

}  // namespace

std::optional<LockSettings> ReadLocksSection(Checker& checker, const YamlNode& key,
                                             const YamlNode& value) {
  if (value.kind != Kind::kMapping) {
    checker.Add(value.kind == Kind::kEmpty ? key : value,
                fmt::format("{} must be a mapping (data_dir, and masters or pool)", kOwner));
    return std::nullopt;
  }
  LockSettings out;
  out.line = key.line;
  out.column = key.column;
  bool ok = true;
  bool have_data_dir = false;
  checker.ForEachKey(kOwner, value, [&](const YamlNode& k, const YamlNode& v) {
    const std::string_view name = k.value;
    if (name == "masters") {
      ReadMasters(checker, k, v, out, ok);
      return;
    }
    if (name == "request_timeout_ms") {
      std::optional<int> n = checker.Number(kOwner, k, v, 1, 600000);
      if (n) {
        out.request_timeout = std::chrono::milliseconds(*n);
      } else {
        ok = false;
      }
      return;
    }
    if (std::find(kKeyNames.begin(), kKeyNames.end(), name) == kKeyNames.end()) {
      checker.UnknownKey(kOwner, k, kKeyNames);
      ok = false;
      return;
    }
    const std::string* text = checker.Scalar(kOwner, k, v);
    if (name == "data_dir") have_data_dir = true;
    if (text == nullptr) {
      ok = false;
      return;
    }
    if (name == "data_dir") {
      out.data_dir = *text;
    } else if (name == "pool") {
      out.pool = *text;
      out.pool_line = v.line;
      out.pool_column = v.column;
    } else if (name == "drift_factor") {
      auto f = ParseFraction(*text);
      if (!f) {
        checker.Add(v, fmt::format("{}: drift_factor '{}' {}", kOwner, *text, f.error()));
        ok = false;
      } else {
        out.drift_factor = *f;
      }
    }
  });
  if (!have_data_dir) {
    checker.Add(
        key, fmt::format("{}: data_dir is required (the fencing-token file lives there)", kOwner));
    ok = false;
  }
  if (!out.masters.empty() && !out.pool.empty()) {
    checker.Add(out.pool_line, out.pool_column,
                fmt::format("{}: give masters or pool, not both", kOwner));
    ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

void ResolveLockMasters(Checker& checker, Config& config) {
  if (!config.ringleader.locks || config.pools.empty()) return;
  LockSettings& locks = *config.ringleader.locks;
  if (!locks.masters.empty()) return;
  const Pool* from = &config.pools.front();
  if (!locks.pool.empty()) {
    auto it = std::find_if(config.pools.begin(), config.pools.end(),
                           [&](const Pool& p) { return p.name == locks.pool; });
    if (it == config.pools.end()) {
      checker.Add(locks.pool_line, locks.pool_column,
                  fmt::format("{}: pool '{}' is not in this file", kOwner, locks.pool));
      return;
    }
    from = &*it;
  }
  for (const Server& server : from->servers) locks.masters.push_back(server.address);
  locks.password = from->redis_auth;
}

}  // namespace rl::conf
