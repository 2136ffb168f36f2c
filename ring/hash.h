// twemproxy's key hash functions, bit-exact with nutcracker 0.5.0 (quirks included).
// Pure functions; used by ring::Ring and by anything that must place keys as nutcracker does.
// Thread safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace rl::ring {

// In twemproxy's order (nc_hashkit.h HASH_CODEC).
enum class HashKind : uint8_t {
  kOneAtATime,
  kMd5,
  kCrc16,
  kCrc32,
  kCrc32a,
  kFnv1_64,
  kFnv1a_64,
  kFnv1_32,
  kFnv1a_32,
  kHsieh,
  kMurmur,
  kJenkins,
};

inline constexpr int kHashKindCount = 12;

// The name used in nutcracker YAML ("fnv1a_64", "one_at_a_time", ...); nullopt if unknown.
// Matching is exact and case-sensitive, as in nutcracker.
std::optional<HashKind> ParseHashKind(std::string_view name);
std::string_view HashKindName(HashKind kind);

// Hashes `key` exactly as twemproxy's hash function of that kind does on x86-64, where `char`
// is signed. The quirks this preserves on purpose (see ring/README.md):
//   - one_at_a_time, fnv1_32, fnv1a_32, fnv1_64, fnv1a_64 and hsieh's 3-byte tail widen each
//     byte as a *signed* char, so bytes >= 0x80 are sign-extended before mixing;
//   - fnv1a_64 keeps a 32-bit state (the 64-bit offset basis and prime truncated to 32 bits);
//     fnv1_64 keeps a 64-bit state and returns its low 32 bits;
//   - crc32 is libmemcached's: bits 16..30 of the CRC-32 (a 15-bit value); crc32a is CRC-32;
//   - crc16 is CRC-16/XMODEM whose 32-bit state is never masked to 16 bits, so its upper bits
//     accumulate the shifted-out history;
//   - jenkins is lookup3's hashlittle with initval 13; murmur is MurmurHash2 seeded with
//     0xdeadbeef * length; md5 is the first 4 digest bytes, little-endian.
// Note: the distributions never call this for an empty key (twemproxy uses hash 0 instead).
uint32_t Hash(HashKind kind, std::string_view key);

}  // namespace rl::ring
