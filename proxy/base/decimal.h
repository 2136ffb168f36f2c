// Redis's integer parser (util.c string2ll), the one copy in the tree: what Redis rejects as "not
// an integer" (a '+', spaces, leading zeros, overflow) ringleader rejects too, wherever it reads
// a number from a client or a server. Header-only and constexpr (the command table's key
// extraction uses it, and that library links nothing). Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace rl::proxy {

// A strict decimal integer: an optional '-', then "0" alone or digits without a leading zero,
// nothing else, within int64. Returns false (leaving *value alone) when `s` is not one.
constexpr bool ParseStrictInt(std::string_view s, int64_t* value) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    *value = 0;
    return true;
  }
  size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative) ++i;
  if (i == s.size() || s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const auto digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
  }
  const uint64_t limit =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
  if (v > limit) return false;
  *value = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

}  // namespace rl::proxy
