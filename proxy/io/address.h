// A socket address resolved from a configured one (conf/ does no name resolution). Resolution
// happens when a topology snapshot is built (route/topology.h) and when listeners are opened, so
// a server whose DNS name moved is found at its new address by the next snapshot.
// Thread safety: Resolve blocks (getaddrinfo); call it off the data path (control loop, start).
#pragma once

#include <sys/socket.h>

#include <expected>
#include <string>

#include "conf/config.h"

namespace rl::proxy {

struct ResolvedAddress {
  bool is_unix = false;
  sockaddr_storage tcp{};
  std::string path;  // unix
  std::string text;  // as configured, for messages

  // Same socket address (family, address and port; or path).
  bool SameAs(const ResolvedAddress& other) const;
};

// On success the first address getaddrinfo gives for a TCP address (a unix path as it is); on
// failure "cannot resolve 'HOST': reason".
std::expected<ResolvedAddress, std::string> Resolve(const conf::Address& address);

}  // namespace rl::proxy
