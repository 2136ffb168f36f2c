#include "conf/cluster_section.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "conf/values.h"
#include "fmt/format.h"

namespace rl::conf {
namespace {

using Kind = YamlNode::Kind;
using std::chrono::milliseconds;

constexpr std::string_view kOwner = "section 'ringleader': cluster";
constexpr uint64_t kMaxNodeId = uint64_t{1} << 63;
constexpr size_t kMinSecret = 16;

constexpr std::array<std::string_view, 9> kKeyNames = {
    "node_id",      "peer_listen", "members",     "data_dir", "election_timeout_ms",
    "heartbeat_ms", "secret",      "secret_file", "join"};

// A node id: ASCII digits only, 1..2^63 (Raft ids are non-zero; the top half is reserved).
std::expected<uint64_t, std::string> ParseNodeId(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::unexpected("is not a number (only the digits 0-9)");
  }
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id > kMaxNodeId) {
    return std::unexpected(fmt::format("is too large (at most {})", kMaxNodeId));
  }
  if (id == 0) return std::unexpected("must be at least 1");
  return id;
}

// "host:port" for a TCP endpoint (a unix socket cannot be a peer address).
std::expected<Address, std::string> ParseTcp(std::string_view text) {
  auto address = ParseListen(text);
  if (!address) return std::unexpected(address.error());
  if (address->kind != Address::Kind::kTcp) {
    return std::unexpected("must be host:port (peers connect over TCP, not a unix socket)");
  }
  return *address;
}

// One `members:` entry, "id@host:port".
std::expected<ClusterMember, std::string> ParseMember(std::string_view text) {
  size_t at = text.find('@');
  if (at == std::string_view::npos) return std::unexpected("must be id@host:port");
  auto id = ParseNodeId(text.substr(0, at));
  if (!id) return std::unexpected(fmt::format("id '{}' {}", text.substr(0, at), id.error()));
  auto address = ParseTcp(text.substr(at + 1));
  if (!address) return std::unexpected(address.error());
  return ClusterMember{*id, *address};
}

void ReadMembers(Checker& checker, const YamlNode& key, const YamlNode& value, ClusterSettings& out,
                 bool& ok) {
  std::set<uint64_t> ids;
  std::set<std::string> addresses;
  auto keep = [&](ClusterMember member, const YamlNode&) -> std::optional<std::string> {
    if (!ids.insert(member.id).second) {
      return fmt::format("member id {} is listed twice", member.id);
    }
    if (!addresses.insert(member.address.ToString()).second) {
      return fmt::format("address {} is listed twice", member.address.ToString());
    }
    out.members.push_back(std::move(member));
    return std::nullopt;
  };
  if (!checker.ScalarList(kOwner, key, value, "members", "member", "id@host:port", ParseMember,
                          keep)) {
    ok = false;
  }
}

std::optional<std::string> ReadSecretFile(Checker& checker, const YamlNode& value,
                                          const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    checker.Add(value, fmt::format("{}: secret_file '{}' cannot be read", kOwner, path));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  // A trailing newline, as editors and `echo` leave it, is not part of the secret.
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

}  // namespace

std::optional<ClusterSettings> ReadClusterSection(Checker& checker, const YamlNode& key,
                                                  const YamlNode& value) {
  if (value.kind != Kind::kMapping) {
    checker.Add(value.kind == Kind::kEmpty ? key : value,
                fmt::format("{} must be a mapping (node_id, peer_listen, members, data_dir, "
                            "secret)",
                            kOwner));
    return std::nullopt;
  }
  ClusterSettings out;
  out.line = key.line;
  out.column = key.column;
  bool ok = true;
  const YamlNode* node_id_at = nullptr;
  const YamlNode* election_at = nullptr;
  const YamlNode* secret_at = nullptr;
  bool have_listen = false;
  bool have_members = false;
  bool have_secret = false;
  bool have_data_dir = false;
  checker.ForEachKey(kOwner, value, [&](const YamlNode& k, const YamlNode& v) {
    const std::string_view name = k.value;
    if (name == "members") {
      have_members = true;
      ReadMembers(checker, k, v, out, ok);
      return;
    }
    if (name == "election_timeout_ms" || name == "heartbeat_ms") {
      std::optional<int> n = checker.Number(kOwner, k, v, 1, 600000);
      if (!n) {
        ok = false;
      } else if (name == "heartbeat_ms") {
        out.heartbeat = milliseconds(*n);
      } else {
        out.election_timeout = milliseconds(*n);
        election_at = &v;
      }
      return;
    }
    if (name == "join") {
      std::optional<bool> join = checker.Bool(kOwner, k, v);
      if (!join)
        ok = false;
      else
        out.join = *join;
      return;
    }
    if (std::find(kKeyNames.begin(), kKeyNames.end(), name) == kKeyNames.end()) {
      checker.UnknownKey(kOwner, k, kKeyNames);
      ok = false;
      return;
    }
    const std::string* text = checker.Scalar(kOwner, k, v);
    if (name == "peer_listen") have_listen = true;
    if (name == "node_id") node_id_at = &v;
    if (name == "data_dir") have_data_dir = true;
    if (name == "secret" || name == "secret_file") {
      if (have_secret) {
        checker.Add(k, fmt::format("{}: give secret or secret_file, not both", kOwner));
        ok = false;
        return;
      }
      have_secret = true;
      secret_at = &v;
    }
    if (text == nullptr) {
      ok = false;
      return;
    }
    if (name == "node_id") {
      auto id = ParseNodeId(*text);
      if (!id) {
        checker.Add(v, fmt::format("{}: node_id '{}' {}", kOwner, *text, id.error()));
        ok = false;
      } else {
        out.node_id = *id;
      }
    } else if (name == "peer_listen") {
      auto address = ParseTcp(*text);
      if (!address) {
        checker.Add(v, fmt::format("{}: peer_listen '{}' {}", kOwner, *text, address.error()));
        ok = false;
      } else {
        out.peer_listen = *address;
      }
    } else if (name == "data_dir") {
      out.data_dir = *text;
    } else if (name == "secret") {
      out.secret = *text;
    } else if (name == "secret_file") {
      std::optional<std::string> secret = ReadSecretFile(checker, v, *text);
      if (secret)
        out.secret = *secret;
      else
        ok = false;
    }
  });
  // Missing keys: reported at the `cluster` key, one message each.
  auto missing = [&](bool present, std::string_view what) {
    if (present) return;
    checker.Add(key, fmt::format("{}: {} is required", kOwner, what));
    ok = false;
  };
  missing(node_id_at != nullptr, "node_id");
  missing(have_listen, "peer_listen");
  missing(have_members, "members");
  missing(have_data_dir, "data_dir");
  missing(have_secret, "secret (or secret_file)");
  // Every cross-key rule is checked, so one run reports them all.
  if (!ok) return std::nullopt;
  if (out.secret.size() < kMinSecret) {
    checker.Add(*secret_at, fmt::format("{}: the secret must be at least {} bytes (it has {})",
                                        kOwner, kMinSecret, out.secret.size()));
    ok = false;
  }
  if (out.election_timeout < 3 * out.heartbeat) {
    checker.Add(election_at != nullptr ? *election_at : key,
                fmt::format("{}: election_timeout_ms ({}) must be at least 3 * heartbeat_ms ({})",
                            kOwner, out.election_timeout.count(), out.heartbeat.count()));
    ok = false;
  }
  const ClusterMember* self = nullptr;
  for (const ClusterMember& m : out.members) {
    if (m.id == out.node_id) self = &m;
  }
  if (self == nullptr) {
    checker.Add(*node_id_at,
                fmt::format("{}: node_id {} is not among members", kOwner, out.node_id));
    ok = false;
  } else if (!self->address.SameEndpoint(out.peer_listen)) {
    checker.Add(*node_id_at,
                fmt::format("{}: members lists node {} at {}, but peer_listen is {}", kOwner,
                            out.node_id, self->address.ToString(), out.peer_listen.ToString()));
    ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace rl::conf
