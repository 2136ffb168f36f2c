// twemproxy's FNV key hashes. Every byte is widened as a signed char (see SignExtend), and
// "fnv1a_64" is really a 32-bit FNV-1a with the 64-bit constants truncated to 32 bits.
#include "ring/hash_functions.h"

namespace rl::ring::internal {
namespace {

constexpr uint64_t kFnv64Init = 0xcbf29ce484222325ull;
constexpr uint64_t kFnv64Prime = 0x100000001b3ull;
constexpr uint32_t kFnv32Init = 2166136261u;
constexpr uint32_t kFnv32Prime = 16777619u;

}  // namespace

uint32_t HashFnv1_64(std::string_view key) {
  uint64_t hash = kFnv64Init;
  for (char c : key) {
    hash *= kFnv64Prime;
    hash ^= SignExtend64(c);
  }
  return static_cast<uint32_t>(hash);
}

uint32_t HashFnv1a_64(std::string_view key) {
  uint32_t hash = static_cast<uint32_t>(kFnv64Init);
  for (char c : key) {
    hash ^= SignExtend(c);
    hash *= static_cast<uint32_t>(kFnv64Prime);
  }
  return hash;
}

uint32_t HashFnv1_32(std::string_view key) {
  uint32_t hash = kFnv32Init;
  for (char c : key) {
    hash *= kFnv32Prime;
    hash ^= SignExtend(c);
  }
  return hash;
}

uint32_t HashFnv1a_32(std::string_view key) {
  uint32_t hash = kFnv32Init;
  for (char c : key) {
    hash ^= SignExtend(c);
    hash *= kFnv32Prime;
  }
  return hash;
}

}  // namespace rl::ring::internal
