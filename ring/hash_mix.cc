// twemproxy's mixing key hashes: one_at_a_time, md5, hsieh, murmur (MurmurHash2) and jenkins
// (lookup3 hashlittle). Multi-byte reads are little-endian, as on the x86-64 nutcracker.
#include <bit>

#include "ring/hash_functions.h"
#include "ring/md5.h"

namespace rl::ring::internal {
namespace {

inline uint32_t Load16(const char* p) { return Unsigned(p[0]) | Unsigned(p[1]) << 8; }
inline uint32_t Load32(const char* p) { return Load16(p) | Load16(p + 2) << 16; }

}  // namespace

uint32_t HashOneAtATime(std::string_view key) {
  uint32_t value = 0;
  for (char c : key) {
    value += SignExtend(c);
    value += value << 10;
    value ^= value >> 6;
  }
  value += value << 3;
  value ^= value >> 11;
  value += value << 15;
  return value;
}

uint32_t HashMd5(std::string_view key) {
  const Md5Digest d = Md5(key);
  return uint32_t{d[0]} | uint32_t{d[1]} << 8 | uint32_t{d[2]} << 16 | uint32_t{d[3]} << 24;
}

uint32_t HashHsieh(std::string_view key) {
  if (key.empty()) return 0;
  const char* p = key.data();
  uint32_t hash = 0;
  for (size_t blocks = key.size() / 4; blocks > 0; --blocks, p += 4) {
    hash += Load16(p);
    const uint32_t tmp = (Load16(p + 2) << 11) ^ hash;
    hash = (hash << 16) ^ tmp;
    hash += hash >> 11;
  }
  switch (key.size() % 4) {
    case 3:
      hash += Load16(p);
      hash ^= hash << 16;
      hash ^= SignExtend(p[2]) << 18;  // the one signed read in hsieh
      hash += hash >> 11;
      break;
    case 2:
      hash += Load16(p);
      hash ^= hash << 11;
      hash += hash >> 17;
      break;
    case 1:
      hash += Unsigned(p[0]);
      hash ^= hash << 10;
      hash += hash >> 1;
      break;
    default:
      break;
  }
  hash ^= hash << 3;
  hash += hash >> 5;
  hash ^= hash << 4;
  hash += hash >> 17;
  hash ^= hash << 25;
  hash += hash >> 6;
  return hash;
}

uint32_t HashMurmur(std::string_view key) {
  constexpr uint32_t kM = 0x5bd1e995;
  const auto length = static_cast<uint32_t>(key.size());
  uint32_t h = (0xdeadbeefu * length) ^ length;
  const char* p = key.data();
  size_t rest = key.size();
  for (; rest >= 4; rest -= 4, p += 4) {
    uint32_t k = Load32(p);
    k *= kM;
    k ^= k >> 24;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  switch (rest) {
    case 3:
      h ^= Unsigned(p[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= Unsigned(p[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= Unsigned(p[0]);
      h *= kM;
      break;
    default:
      break;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return h;
}

// twemproxy reads the key in 4-, 2- or 1-byte units depending on its alignment; on a
// little-endian machine all three paths compute the same value, so the byte path is enough.
uint32_t HashJenkins(std::string_view key) {
  uint32_t a, b, c;
  a = b = c = 0xdeadbeefu + static_cast<uint32_t>(key.size()) + 13u;
  const char* k = key.data();
  size_t length = key.size();
  auto mix = [&] {
    a -= c, a ^= std::rotl(c, 4), c += b;
    b -= a, b ^= std::rotl(a, 6), a += c;
    c -= b, c ^= std::rotl(b, 8), b += a;
    a -= c, a ^= std::rotl(c, 16), c += b;
    b -= a, b ^= std::rotl(a, 19), a += c;
    c -= b, c ^= std::rotl(b, 4), b += a;
  };
  for (; length > 12; length -= 12, k += 12) {
    a += Load32(k);
    b += Load32(k + 4);
    c += Load32(k + 8);
    mix();
  }
  if (length == 0) return c;  // no final mixing for an empty last block
  // Last 1..12 bytes, little-endian into a, b, c.
  uint32_t words[3] = {0, 0, 0};
  for (size_t i = 0; i < length; ++i) words[i / 4] |= Unsigned(k[i]) << (8 * (i % 4));
  a += words[0];
  b += words[1];
  c += words[2];
  c ^= b, c -= std::rotl(b, 14);
  a ^= c, a -= std::rotl(c, 11);
  b ^= a, b -= std::rotl(a, 25);
  c ^= b, c -= std::rotl(b, 16);
  a ^= c, a -= std::rotl(c, 4);
  b ^= a, b -= std::rotl(a, 14);
  c ^= b, c -= std::rotl(b, 24);
  return c;
}

}  // namespace rl::ring::internal
