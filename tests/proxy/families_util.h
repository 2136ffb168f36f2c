// Helpers shared by the tests of the per-client command families (transactions, blocking
// commands, pub/sub): raw exchanges, a redis-server restarted
// on the port the proxy expects. Thread safety: test thread only.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/proxy/proxy_fixture.h"

namespace rl::testing {

// Sends `requests` (each one RESP command) on `c` and reads one reply per request.
inline std::vector<std::string> Exchange(
    RawConn& c, const std::vector<std::vector<std::string>>& requests,
    std::chrono::milliseconds bound = std::chrono::seconds(5)) {
  std::string bytes;
  for (const auto& r : requests) bytes += Resp(r);
  c.Send(bytes);
  std::vector<std::string> replies;
  for (size_t i = 0; i < requests.size(); ++i) replies.push_back(c.ReadReply(bound));
  return replies;
}

// One field of a redis-server's INFO (a number), or -1.
inline long long RedisInfo(RedisClient& c, const std::string& field) {
  auto reply = c.Command({"INFO"});
  if (!reply || reply->type != REDIS_REPLY_STRING) return -1;
  std::string info(reply->str, reply->len);
  size_t at = info.find("\n" + field + ":");
  if (at == std::string::npos) at = info.find(field + ":") == 0 ? 0 : std::string::npos;
  if (at == std::string::npos) return -1;
  return std::atoll(info.c_str() + info.find(':', at) + 1);
}

}  // namespace rl::testing
