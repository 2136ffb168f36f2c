// MD5 (RFC 1321), written here so that ring/ stays free of external libraries; used by the
// `md5` key hash and by the ketama continuum (four points per digest).
// Thread safety: pure function, reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace rl::ring {

using Md5Digest = std::array<uint8_t, 16>;

// Returns the MD5 digest of `data`.
Md5Digest Md5(std::string_view data);

}  // namespace rl::ring
