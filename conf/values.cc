#include "conf/values.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <limits>

#include "fmt/format.h"
#include "ring/ring.h"

namespace rl::conf {
namespace {

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A port as nutcracker's nc_valid_port accepts it: digits only, 1..65535.
std::optional<uint16_t> ParsePort(std::string_view text) {
  auto n = ParseNumber(text);
  if (!n || *n < 1 || *n > 65535) return std::nullopt;
  return static_cast<uint16_t>(*n);
}

std::string HostProblem(std::string_view host, std::string_view what) {
  if (host.empty()) return fmt::format("{} has no host", what);
  if (host.front() == '[') {
    return fmt::format(
        "{} has host '{}': write IPv6 addresses without brackets, as nutcracker does "
        "(e.g. ::1:6380)",
        what, host);
  }
  return fmt::format("{} has host '{}', which is not an IP address or a host name", what, host);
}

// sockaddr_un holds 108 bytes including the terminating NUL; nutcracker refuses longer paths.
constexpr size_t kMaxSocketPath = 107;

std::expected<Address, std::string> CheckSocketPath(Address address, std::string_view text) {
  if (address.path.size() > kMaxSocketPath) {
    return std::unexpected(
        fmt::format("listen '{}': a socket path is at most {} bytes", text, kMaxSocketPath));
  }
  return address;
}

}  // namespace

std::expected<int, std::string> ParseNumber(std::string_view text) {
  if (!AllDigits(text)) return std::unexpected("is not a number (only the digits 0-9)");
  int64_t value = 0;
  for (char c : text) {
    value = value * 10 + (c - '0');
    if (value > std::numeric_limits<int32_t>::max()) {
      return std::unexpected(
          fmt::format("is too large (at most {})", std::numeric_limits<int32_t>::max()));
    }
  }
  return static_cast<int>(value);
}

std::optional<bool> ParseBool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

bool IsValidHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  std::string copy(host);
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) return true;
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) return true;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::expected<Address, std::string> ParseListen(std::string_view text) {
  Address address;
  if (!text.empty() && text.front() == '/') {
    // "socket_path [permissions]": nutcracker splits at the last space and reads the rest with
    // strtol(base 8), accepting junk such as "0999" as 0; ringleader wants real octal.
    address.kind = Address::Kind::kUnix;
    size_t space = text.rfind(' ');
    if (space == std::string_view::npos) {
      address.path = std::string(text);
      return CheckSocketPath(std::move(address), text);
    }
    std::string_view perm = text.substr(space + 1);
    address.path = std::string(text.substr(0, space));
    uint32_t mode = 0;
    bool octal = !perm.empty() && perm.size() <= 4;
    for (char c : perm) {
      if (c < '0' || c > '7') octal = false;
      mode = mode * 8 + static_cast<uint32_t>(c - '0');
    }
    if (!octal || mode > 0777) {
      return std::unexpected(fmt::format(
          "listen '{}': permissions '{}' must be an octal mode of at most 0777 (e.g. 0666)", text,
          perm));
    }
    if (address.path.find(' ') != std::string::npos) {
      return std::unexpected(
          fmt::format("listen '{}': a socket path with spaces is ambiguous", text));
    }
    address.permissions = mode;
    return CheckSocketPath(std::move(address), text);
  }

  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::unexpected(
        fmt::format("listen '{}' must be host:port or /path/to/socket [permissions]", text));
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  auto port = ParsePort(port_text);
  if (!port) {
    return std::unexpected(
        fmt::format("listen '{}': port '{}' must be a number from 1 to 65535", text, port_text));
  }
  if (host.empty()) {
    return std::unexpected(
        fmt::format("listen '{}' has no host (write 0.0.0.0:{} to listen on every interface)", text,
                    port_text));
  }
  if (!IsValidHost(host))
    return std::unexpected(HostProblem(host, fmt::format("listen '{}'", text)));
  address.host = std::string(host);
  address.port = *port;
  return address;
}

std::expected<Server, std::string> ParseServer(std::string_view text) {
  const std::string_view kFormat =
      "must be host:port:weight [name] or /path/to/socket:weight [name]";
  Server server;
  std::string_view rest = text;
  size_t space = rest.rfind(' ');
  bool named = space != std::string_view::npos;
  if (named) {
    server.name = std::string(rest.substr(space + 1));
    rest = rest.substr(0, space);
    if (server.name.empty()) {
      return std::unexpected(fmt::format("server '{}' has an empty name after the space", text));
    }
    if (rest.find(' ') != std::string_view::npos) {
      return std::unexpected(fmt::format("server '{}': a server name cannot contain spaces", text));
    }
  }

  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    return std::unexpected(fmt::format("server '{}' {}", text, kFormat));
  }
  std::string_view weight_text = rest.substr(colon + 1);
  rest = rest.substr(0, colon);
  auto weight = ParseNumber(weight_text);
  if (!weight) {
    return std::unexpected(
        fmt::format("server '{}': weight '{}' {}", text, weight_text, weight.error()));
  }
  if (*weight == 0) {
    return std::unexpected(fmt::format("server '{}': weight must be greater than 0", text));
  }
  server.weight = static_cast<uint32_t>(*weight);

  std::string_view port_text;
  if (!rest.empty() && rest.front() == '/') {
    // nutcracker looks for exactly one ':' in a socket entry, so a path cannot contain one.
    if (rest.find(':') != std::string_view::npos) {
      return std::unexpected(fmt::format("server '{}' {}", text, kFormat));
    }
    server.address.kind = Address::Kind::kUnix;
    server.address.path = std::string(rest);
  } else {
    colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      return std::unexpected(fmt::format("server '{}' {}", text, kFormat));
    }
    std::string_view host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    auto port = ParsePort(port_text);
    if (!port) {
      return std::unexpected(
          fmt::format("server '{}': port '{}' must be a number from 1 to 65535", text, port_text));
    }
    if (!IsValidHost(host)) {
      return std::unexpected(HostProblem(host, fmt::format("server '{}'", text)));
    }
    server.address.host = std::string(host);
    server.address.port = *port;
  }
  const std::string& where =
      server.address.kind == Address::Kind::kUnix ? server.address.path : server.address.host;
  server.identity = ring::ServerIdentityFromText(server.name, where, port_text);
  return server;
}

}  // namespace rl::conf
