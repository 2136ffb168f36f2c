#include "proxy/io/address.h"

#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include "fmt/format.h"

namespace rl::proxy {

bool ResolvedAddress::SameAs(const ResolvedAddress& other) const {
  if (is_unix != other.is_unix) return false;
  if (is_unix) return path == other.path;
  if (tcp.ss_family != other.tcp.ss_family) return false;
  if (tcp.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(tcp);
    const auto& b = reinterpret_cast<const sockaddr_in&>(other.tcp);
    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
  }
  if (tcp.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(tcp);
    const auto& b = reinterpret_cast<const sockaddr_in6&>(other.tcp);
    return a.sin6_port == b.sin6_port &&
           std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof(a.sin6_addr)) == 0 &&
           a.sin6_scope_id == b.sin6_scope_id;
  }
  return std::memcmp(&tcp, &other.tcp, sizeof(tcp)) == 0;
}

std::expected<ResolvedAddress, std::string> Resolve(const conf::Address& address) {
  ResolvedAddress out;
  out.text = address.ToString();
  if (address.kind == conf::Address::Kind::kUnix) {
    out.is_unix = true;
    out.path = address.path;
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  std::string port = std::to_string(address.port);
  int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    if (result != nullptr) freeaddrinfo(result);
    return std::unexpected(fmt::format("cannot resolve '{}': {}", address.host, gai_strerror(rc)));
  }
  std::memcpy(&out.tcp, result->ai_addr, result->ai_addrlen);
  freeaddrinfo(result);
  return out;
}

}  // namespace rl::proxy
