// The twelve twemproxy key hash functions, one entry point each. Internal to ring/: callers use
// rl::ring::Hash(kind, key) from ring/hash.h. Split by family into hash_crc.cc, hash_fnv.cc and
// hash_mix.cc. Thread safety: pure functions, reentrant.
#pragma once

#include <cstdint>
#include <string_view>

namespace rl::ring::internal {

uint32_t HashOneAtATime(std::string_view key);
uint32_t HashMd5(std::string_view key);
uint32_t HashCrc16(std::string_view key);
uint32_t HashCrc32(std::string_view key);
uint32_t HashCrc32a(std::string_view key);
uint32_t HashFnv1_64(std::string_view key);
uint32_t HashFnv1a_64(std::string_view key);
uint32_t HashFnv1_32(std::string_view key);
uint32_t HashFnv1a_32(std::string_view key);
uint32_t HashHsieh(std::string_view key);
uint32_t HashMurmur(std::string_view key);
uint32_t HashJenkins(std::string_view key);

// HashFnv1a_64 and HashFnv1a_32 of four keys at once: out[j] is the one-key function of
// keys[j]. FNV's byte loop is a chain of dependent multiplies; four independent chains side by
// side let the CPU overlap them (Ring::LookupMany, for multi-key commands).
void HashFnv1a_64Four(const std::string_view keys[4], uint32_t out[4]);
void HashFnv1a_32Four(const std::string_view keys[4], uint32_t out[4]);

// A key byte widened the way twemproxy widens `char` on x86-64: as a signed char, so 0x80..0xff
// become 0xffffff80..0xffffffff. This is the "sign extension" quirk of several functions.
inline uint32_t SignExtend(char c) {
  return static_cast<uint32_t>(static_cast<int32_t>(static_cast<signed char>(c)));
}
inline uint64_t SignExtend64(char c) {
  return static_cast<uint64_t>(static_cast<int64_t>(static_cast<signed char>(c)));
}
inline uint32_t Unsigned(char c) { return static_cast<unsigned char>(c); }

}  // namespace rl::ring::internal
