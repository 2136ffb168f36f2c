// CRC-32C (Castagnoli), the checksum on every record raft/ storage writes. Hand-written,
// table-driven (slicing-by-8), no hardware instructions, so every build and platform agrees.
// Used by raft/segment.cc. Thread safety: pure functions, reentrant.
#pragma once

#include <cstdint>
#include <string_view>

namespace rl::raft {

// Returns the CRC-32C of `data` continued from `crc`, the CRC of the bytes before it (0 for
// none): Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, std::string_view data);

// Returns the CRC-32C of `data` (standard parameters: reflected, init and xorout 0xFFFFFFFF;
// Crc32c("123456789") == 0xE3069283).
inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data); }

}  // namespace rl::raft
