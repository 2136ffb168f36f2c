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

namespace {

// FNV-1a with a 32-bit state over four keys side by side (see HashFnv1a_64Four).
void Fnv1aFour(const std::string_view keys[4], uint32_t basis, uint32_t prime, uint32_t out[4]) {
  uint32_t h0 = basis, h1 = basis, h2 = basis, h3 = basis;
  const char* k0 = keys[0].data();
  const char* k1 = keys[1].data();
  const char* k2 = keys[2].data();
  const char* k3 = keys[3].data();
  size_t common = keys[0].size();
  for (int j = 1; j < 4; ++j) common = keys[j].size() < common ? keys[j].size() : common;
  for (size_t i = 0; i < common; ++i) {
    h0 = (h0 ^ SignExtend(k0[i])) * prime;
    h1 = (h1 ^ SignExtend(k1[i])) * prime;
    h2 = (h2 ^ SignExtend(k2[i])) * prime;
    h3 = (h3 ^ SignExtend(k3[i])) * prime;
  }
  uint32_t h[4] = {h0, h1, h2, h3};
  for (int j = 0; j < 4; ++j) {
    for (size_t i = common; i < keys[j].size(); ++i) {
      h[j] = (h[j] ^ SignExtend(keys[j][i])) * prime;
    }
    out[j] = h[j];
  }
}

}  // namespace

void HashFnv1a_64Four(const std::string_view keys[4], uint32_t out[4]) {
  Fnv1aFour(keys, static_cast<uint32_t>(kFnv64Init), static_cast<uint32_t>(kFnv64Prime), out);
}

void HashFnv1a_32Four(const std::string_view keys[4], uint32_t out[4]) {
  Fnv1aFour(keys, kFnv32Init, kFnv32Prime, out);
}

}  // namespace rl::ring::internal
