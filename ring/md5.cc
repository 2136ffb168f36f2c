// MD5 per RFC 1321. Blocks are read straight from the input; only the padded tail (one or two
// blocks) is copied to the stack, so hashing a key allocates nothing.
#include "ring/md5.h"

#include <bit>
#include <cstring>

namespace rl::ring {
namespace {

// floor(abs(sin(i + 1)) * 2^32), RFC 1321 section 3.4, written out so no libm is involved.
constexpr uint32_t kSine[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

struct State {
  uint32_t a = 0x67452301, b = 0xefcdab89, c = 0x98badcfe, d = 0x10325476;
};

inline uint32_t LoadLe32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// The four auxiliary functions of RFC 1321 section 3.4 (F and G in their xor forms).
struct RoundF {
  static uint32_t Mix(uint32_t x, uint32_t y, uint32_t z) { return z ^ (x & (y ^ z)); }
};
struct RoundG {
  static uint32_t Mix(uint32_t x, uint32_t y, uint32_t z) { return y ^ (z & (x ^ y)); }
};
struct RoundH {
  static uint32_t Mix(uint32_t x, uint32_t y, uint32_t z) { return x ^ y ^ z; }
};
struct RoundI {
  static uint32_t Mix(uint32_t x, uint32_t y, uint32_t z) { return y ^ (x | ~z); }
};

// One step: a = b + ((a + Mix(b, c, d) + m + t) <<< s).
template <typename R, int kS>
inline void Step(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t m, uint32_t t) {
  a = b + std::rotl(a + R::Mix(b, c, d) + m + t, kS);
}

// Sixteen steps of one round: step i uses message word (first + i * stride) % 16 and rotates
// by shifts[i % 4], with the roles of a, b, c, d rotating every step.
template <typename R, int kFirst, int kStride, int kS0, int kS1, int kS2, int kS3>
inline void Round(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, const uint32_t* m,
                  const uint32_t* t) {
  for (int i = 0; i < 16; i += 4) {
    Step<R, kS0>(a, b, c, d, m[(kFirst + i * kStride) % 16], t[i]);
    Step<R, kS1>(d, a, b, c, m[(kFirst + (i + 1) * kStride) % 16], t[i + 1]);
    Step<R, kS2>(c, d, a, b, m[(kFirst + (i + 2) * kStride) % 16], t[i + 2]);
    Step<R, kS3>(b, c, d, a, m[(kFirst + (i + 3) * kStride) % 16], t[i + 3]);
  }
}

void ProcessBlock(State& s, const uint8_t* block) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = LoadLe32(block + 4 * i);
  uint32_t a = s.a, b = s.b, c = s.c, d = s.d;
  Round<RoundF, 0, 1, 7, 12, 17, 22>(a, b, c, d, m, kSine);
  Round<RoundG, 1, 5, 5, 9, 14, 20>(a, b, c, d, m, kSine + 16);
  Round<RoundH, 5, 3, 4, 11, 16, 23>(a, b, c, d, m, kSine + 32);
  Round<RoundI, 0, 7, 6, 10, 15, 21>(a, b, c, d, m, kSine + 48);
  s.a += a;
  s.b += b;
  s.c += c;
  s.d += d;
}

void StoreLe32(uint32_t v, uint8_t* p) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

Md5Digest Md5(std::string_view data) {
  State s;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t full = data.size() / 64 * 64;
  for (size_t off = 0; off < full; off += 64) ProcessBlock(s, p + off);

  // Tail: the remaining bytes, 0x80, zeros, then the bit length (little-endian, mod 2^64).
  uint8_t tail[128] = {};
  const size_t rest = data.size() - full;
  if (rest > 0) std::memcpy(tail, p + full, rest);
  tail[rest] = 0x80;
  const size_t tail_len = rest < 56 ? 64 : 128;
  const uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  StoreLe32(static_cast<uint32_t>(bits), tail + tail_len - 8);
  StoreLe32(static_cast<uint32_t>(bits >> 32), tail + tail_len - 4);
  ProcessBlock(s, tail);
  if (tail_len == 128) ProcessBlock(s, tail + 64);

  Md5Digest out;
  StoreLe32(s.a, out.data());
  StoreLe32(s.b, out.data() + 4);
  StoreLe32(s.c, out.data() + 8);
  StoreLe32(s.d, out.data() + 12);
  return out;
}

}  // namespace rl::ring
