#include "conf/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fmt/format.h"

namespace rl::conf {

std::string Address::ToString() const {
  if (kind == Kind::kUnix) return path;
  return fmt::format("{}:{}", host, port);
}

bool Address::SameEndpoint(const Address& other) const {
  if (kind != other.kind) return false;
  if (kind == Kind::kUnix) return path == other.path;
  return host == other.host && port == other.port;
}

ring::RingOptions Pool::RingOptions() const {
  ring::RingOptions options;
  options.hash = hash;
  options.distribution = distribution;
  options.hash_tag = hash_tag;
  return options;
}

std::vector<ring::Member> Pool::RingMembers() const {
  std::vector<ring::Member> members;
  members.reserve(servers.size());
  for (const Server& server : servers) {
    members.push_back(ring::Member{server.identity, server.weight});
  }
  return members;
}

std::string Error::ToString() const {
  if (line == 0) return fmt::format("{}: {}", file, message);
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

std::expected<Config, std::vector<Error>> Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(std::vector<Error>{
        Error{path, 0, 0, fmt::format("cannot open configuration file: {}", strerror(errno))}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return std::unexpected(std::vector<Error>{
        Error{path, 0, 0, fmt::format("cannot read configuration file: {}", strerror(errno))}});
  }
  return Parse(text.str(), path);
}

}  // namespace rl::conf
