// twemproxy's CRC-based key hashes: crc16 (XMODEM polynomial, unmasked 32-bit state), crc32
// (libmemcached's 15-bit variant) and crc32a (plain CRC-32). Tables are generated at compile
// time from the polynomials rather than written out.
#include <array>

#include "ring/hash_functions.h"

namespace rl::ring::internal {
namespace {

// CRC-32 (IEEE 802.3), reflected polynomial.
constexpr std::array<uint32_t, 256> MakeCrc32Table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    table[i] = crc;
  }
  return table;
}

// CRC-16/XMODEM (CCITT polynomial 0x1021, not reflected), the table twemproxy 0.5.0 uses.
constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = static_cast<uint16_t>(crc);
  }
  return table;
}

constexpr auto kCrc32Table = MakeCrc32Table();
constexpr auto kCrc16Table = MakeCrc16Table();
static_assert(kCrc32Table[1] == 0x77073096 && kCrc32Table[255] == 0x2d02ef8d);
static_assert(kCrc16Table[1] == 0x1021 && kCrc16Table[255] == 0x1ef0);

uint32_t Crc32(std::string_view key) {
  uint32_t crc = 0xffffffffu;
  for (char c : key) crc = (crc >> 8) ^ kCrc32Table[(crc ^ Unsigned(c)) & 0xff];
  return ~crc;
}

}  // namespace

uint32_t HashCrc16(std::string_view key) {
  // twemproxy keeps the state in a uint32_t and never masks it: the low 16 bits are the
  // XMODEM CRC, the high 16 bits keep the bytes shifted out. The index only uses bits 8..15,
  // so the sign of the key byte cannot leak in.
  uint32_t crc = 0;
  for (char c : key) crc = (crc << 8) ^ kCrc16Table[((crc >> 8) ^ Unsigned(c)) & 0xff];
  return crc;
}

uint32_t HashCrc32(std::string_view key) {
  // libmemcached compatibility: bits 16..30 of the CRC-32, i.e. a value below 32768.
  return (Crc32(key) >> 16) & 0x7fff;
}

uint32_t HashCrc32a(std::string_view key) { return Crc32(key); }

}  // namespace rl::ring::internal
