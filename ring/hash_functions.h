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

// FNV-1a (twemproxy's widening: signed bytes) over four keys at once, with the given 32-bit
// offset basis and prime: out[j] equals the one-key loop over keys[j]. The byte loop of FNV is a
// chain of dependent multiplies; running four independent chains side by side lets the CPU
// overlap them (about 4x the throughput of one key at a time for keys of similar length).
void HashFnv1aFour(const std::string_view keys[4], uint32_t basis, uint32_t prime, uint32_t out[4]);

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
