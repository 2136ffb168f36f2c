// Names of the migration engine's own keys (see backend.h).
#include "proxy/migration/backend.h"

#include <string>

namespace rl::migration {
namespace {
constexpr std::string_view kMarkerTag = "__rl_mig:inflight:";
constexpr std::string_view kStagingTag = "__rl_mig:stage:";
}  // namespace

std::string MarkerKey(std::string_view key) { return std::string(kMarkerTag).append(key); }

std::string StagingKey(std::string_view token, std::string_view key) {
  return std::string(kStagingTag).append(token).append(":").append(key);
}

bool IsInternalKey(std::string_view key) { return key.starts_with(kInternalPrefix); }

std::optional<std::string> KeyOfMarker(std::string_view key) {
  if (!key.starts_with(kMarkerTag)) return std::nullopt;
  return std::string(key.substr(kMarkerTag.size()));
}

}  // namespace rl::migration
