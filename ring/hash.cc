// Hash-kind names and the dispatch from HashKind to the functions in hash_*.cc.
#include "ring/hash.h"

#include <array>
#include <cstdlib>

#include "ring/hash_functions.h"

namespace rl::ring {
namespace {

// Indexed by HashKind; the spelling nutcracker's YAML uses.
constexpr std::array<std::string_view, kHashKindCount> kHashNames = {
    "one_at_a_time", "md5",     "crc16",    "crc32", "crc32a", "fnv1_64",
    "fnv1a_64",      "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins",
};

}  // namespace

std::optional<HashKind> ParseHashKind(std::string_view name) {
  for (size_t i = 0; i < kHashNames.size(); ++i) {
    if (kHashNames[i] == name) return static_cast<HashKind>(i);
  }
  return std::nullopt;
}

std::string_view HashKindName(HashKind kind) {
  const auto i = static_cast<size_t>(kind);
  if (i >= kHashNames.size()) std::abort();
  return kHashNames[i];
}

uint32_t Hash(HashKind kind, std::string_view key) {
  switch (kind) {
    case HashKind::kOneAtATime:
      return internal::HashOneAtATime(key);
    case HashKind::kMd5:
      return internal::HashMd5(key);
    case HashKind::kCrc16:
      return internal::HashCrc16(key);
    case HashKind::kCrc32:
      return internal::HashCrc32(key);
    case HashKind::kCrc32a:
      return internal::HashCrc32a(key);
    case HashKind::kFnv1_64:
      return internal::HashFnv1_64(key);
    case HashKind::kFnv1a_64:
      return internal::HashFnv1a_64(key);
    case HashKind::kFnv1_32:
      return internal::HashFnv1_32(key);
    case HashKind::kFnv1a_32:
      return internal::HashFnv1a_32(key);
    case HashKind::kHsieh:
      return internal::HashHsieh(key);
    case HashKind::kMurmur:
      return internal::HashMurmur(key);
    case HashKind::kJenkins:
      return internal::HashJenkins(key);
  }
  std::abort();  // not a HashKind value
}

}  // namespace rl::ring
