// twemproxy's server identity rule (nc_conf.c conf_add_server) and the distribution names.
#include <charconv>

#include "ring/ring.h"

namespace rl::ring {
namespace {

// libmemcached's default port; twemproxy leaves it out of the identity.
constexpr uint16_t kKetamaDefaultPort = 11211;

}  // namespace

std::string ServerIdentity(std::string_view name, std::string_view host, uint16_t port) {
  if (!name.empty() || (!host.empty() && host.front() == '/')) {
    return ServerIdentityFromText(name, host, "");
  }
  return ServerIdentityFromText(name, host, std::to_string(port));
}

std::string ServerIdentityFromText(std::string_view name, std::string_view host,
                                   std::string_view port_text) {
  if (!name.empty()) return std::string(name);
  std::string identity(host);
  // A unix socket has no port: twemproxy still takes one byte past the address, the ':'.
  if (!host.empty() && host.front() == '/') return identity + ":";
  unsigned value = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  const bool is_default = ec == std::errc() && end == port_text.data() + port_text.size() &&
                          value == kKetamaDefaultPort;
  if (is_default) return identity;
  identity += ':';
  identity += port_text;
  return identity;
}

std::optional<Distribution> ParseDistribution(std::string_view name) {
  if (name == "ketama") return Distribution::kKetama;
  if (name == "modula") return Distribution::kModula;
  if (name == "random") return Distribution::kRandom;
  return std::nullopt;
}

std::string_view DistributionName(Distribution d) {
  switch (d) {
    case Distribution::kKetama:
      return "ketama";
    case Distribution::kModula:
      return "modula";
    case Distribution::kRandom:
      return "random";
  }
  return "?";
}

}  // namespace rl::ring
