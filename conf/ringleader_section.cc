#include "conf/ringleader_section.h"

#include <array>
#include <chrono>
#include <climits>
#include <optional>
#include <string>

#include "conf/cluster_section.h"
#include "conf/locks_section.h"
#include "conf/values.h"
#include "fmt/format.h"

namespace rl::conf {
namespace {

using Kind = YamlNode::Kind;
using std::chrono::milliseconds;

constexpr std::string_view kOwner = "section 'ringleader'";

// One key of the section: its name, its range and where its value goes. Every key is a number
// today; a key of another kind gets its own row type when it comes.
struct NumberKey {
  std::string_view name;
  int min;
  int max;
  void (*store)(RingleaderSettings&, int);
};

// Redis's floors for its two limits (config.c: proto-max-bulk-len and client-query-buffer-limit
// are at least 1mb). The ceiling of every key is ParseNumber's, INT_MAX: far below the 4 GiB
// that the request parser's 32-bit offsets allow.
constexpr int kOneMiB = 1024 * 1024;

constexpr NumberKey kKeys[] = {
    {"client_output_limit", 1, INT_MAX,
     [](RingleaderSettings& s, int n) { s.client_output_limit = static_cast<uint64_t>(n); }},
    // 1 would never resume: a paused client is read again below half the limit (client_conn.cc).
    {"client_max_inflight", 2, INT_MAX,
     [](RingleaderSettings& s, int n) { s.client_max_inflight = static_cast<uint32_t>(n); }},
    {"client_memory_limit_mb", 0, INT_MAX,
     [](RingleaderSettings& s, int n) { s.client_memory_limit_mb = static_cast<uint64_t>(n); }},
    {"shutdown_grace", 0, INT_MAX,
     [](RingleaderSettings& s, int n) { s.shutdown_grace = milliseconds(n); }},
    {"reconnect_backoff_min", 1, INT_MAX,
     [](RingleaderSettings& s, int n) { s.reconnect_backoff_min = milliseconds(n); }},
    {"reconnect_backoff_max", 1, INT_MAX,
     [](RingleaderSettings& s, int n) { s.reconnect_backoff_max = milliseconds(n); }},
    {"proto_max_bulk_len", kOneMiB, INT_MAX,
     [](RingleaderSettings& s, int n) { s.proto_max_bulk_len = static_cast<uint64_t>(n); }},
    // Below a thousand arguments ordinary multi-key commands (MSET, a batch DEL) would be refused.
    {"proto_max_multibulk_len", 1024, INT_MAX,
     [](RingleaderSettings& s, int n) { s.proto_max_multibulk_len = static_cast<uint32_t>(n); }},
    {"client_query_buffer_limit", kOneMiB, INT_MAX,
     [](RingleaderSettings& s, int n) { s.client_query_buffer_limit = static_cast<uint64_t>(n); }},
    {"migration_keys_per_second", 0, INT_MAX,
     [](RingleaderSettings& s, int n) { s.migration_keys_per_second = static_cast<uint64_t>(n); }},
    {"migration_bytes_per_second", 0, INT_MAX,
     [](RingleaderSettings& s, int n) { s.migration_bytes_per_second = static_cast<uint64_t>(n); }},
};

// The mapping-valued keys, besides the numbers.
constexpr std::string_view kClusterKey = "cluster";
constexpr std::string_view kLocksKey = "locks";
constexpr std::string_view kHttpListenKey = "http_listen";

constexpr auto kKeyNames = [] {
  std::array<std::string_view, std::size(kKeys) + 3> names;
  for (size_t i = 0; i < std::size(kKeys); ++i) names[i] = kKeys[i].name;
  names[std::size(kKeys)] = kClusterKey;
  names[std::size(kKeys) + 1] = kLocksKey;
  names[std::size(kKeys) + 2] = kHttpListenKey;
  return names;
}();

// reconnect_backoff_min <= reconnect_backoff_max, whichever of them the file sets (the other
// keeps its default). `min_at` / `max_at`: the values as written, or null when absent.
void CheckBackoff(Checker& checker, const RingleaderSettings& s, const YamlNode* min_at,
                  const YamlNode* max_at) {
  const int64_t min = s.reconnect_backoff_min.count();
  const int64_t max = s.reconnect_backoff_max.count();
  if (min <= max) return;
  if (max_at != nullptr) {
    checker.Add(*max_at, fmt::format("{}: reconnect_backoff_max ({}) must be at least "
                                     "reconnect_backoff_min ({}{})",
                                     kOwner, max, min, min_at != nullptr ? "" : ", the default"));
  } else if (min_at != nullptr) {
    checker.Add(*min_at, fmt::format("{}: reconnect_backoff_min ({}) must be at most "
                                     "reconnect_backoff_max ({}, the default): set "
                                     "reconnect_backoff_max too",
                                     kOwner, min, max));
  }
}

}  // namespace

bool LooksLikePool(const YamlNode& value) {
  if (value.kind != Kind::kMapping) return false;
  for (const auto& [key, unused] : value.entries) {
    if (key.kind == Kind::kScalar && (key.value == "listen" || key.value == "servers")) return true;
  }
  return false;
}

RingleaderSettings ReadRingleaderSection(Checker& checker, const YamlNode& value) {
  RingleaderSettings settings;
  if (value.kind == Kind::kEmpty) return settings;
  if (value.kind != Kind::kMapping) {
    checker.Add(value, fmt::format("{} must be a mapping of ringleader's own settings, such as "
                                   "client_max_inflight: 16384",
                                   kOwner));
    return settings;
  }
  const YamlNode* backoff_min = nullptr;
  const YamlNode* backoff_max = nullptr;
  bool backoff_ok = true;
  checker.ForEachKey(kOwner, value, [&](const YamlNode& k, const YamlNode& v) {
    if (k.value == kClusterKey) {
      settings.cluster = ReadClusterSection(checker, k, v);
      return;
    }
    if (k.value == kLocksKey) {
      settings.locks = ReadLocksSection(checker, k, v);
      return;
    }
    if (k.value == kHttpListenKey) {
      const std::string* text = checker.Scalar(kOwner, k, v);
      if (text == nullptr) return;
      auto address = ParseListen(*text);
      if (!address || address->kind != Address::Kind::kTcp) {
        checker.Add(v, fmt::format("{}: http_listen '{}' must be host:port", kOwner, *text));
        return;
      }
      settings.http_listen = *address;
      return;
    }
    for (const NumberKey& row : kKeys) {
      if (k.value != row.name) continue;
      std::optional<int> n = checker.Number(kOwner, k, v, row.min, row.max);
      if (n) row.store(settings, *n);
      if (row.name == "reconnect_backoff_min") backoff_min = &v;
      if (row.name == "reconnect_backoff_max") backoff_max = &v;
      if (!n && row.name.starts_with("reconnect_backoff_")) backoff_ok = false;
      return;
    }
    checker.UnknownKey(kOwner, k, kKeyNames);
  });
  if (backoff_ok) CheckBackoff(checker, settings, backoff_min, backoff_max);
  return settings;
}

}  // namespace rl::conf
