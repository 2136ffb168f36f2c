// twemproxy's key hash functions, bit-exact with nutcracker 0.5.0 (quirks included).
// Pure functions; used by ring::Ring and by anything that must place keys as nutcracker does.
// Thread safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace rl::ring {

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

// The name used in nutcracker YAML ("fnv1a_64", "one_at_a_time", ...); nullopt if unknown.
std::optional<HashKind> ParseHashKind(std::string_view name);
std::string_view HashKindName(HashKind kind);

// Hashes `key` exactly as twemproxy's hash function of that kind does.
uint32_t Hash(HashKind kind, std::string_view key);

}  // namespace rl::ring
