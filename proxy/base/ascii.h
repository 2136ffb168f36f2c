// ASCII case folding, the one copy in the tree. Redis matches command names and argument
// keywords (STREAMS, BLOCK, lib-name, INFO sections) case-insensitively over ASCII only, with
// no locale; so does ringleader, with these. Header-only and constexpr: the command table's
// compile-time index folds with them too. Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace rl::proxy {

constexpr char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
constexpr char AsciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

// Whether `text` (any case: a client's argument) equals `lower` ignoring ASCII case.
// REQUIRES: `lower` has no upper-case letter (a keyword such as "streams", or a command
// table name). Only `text` is folded: this runs on every request's command name.
constexpr bool EqualsIgnoreCase(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (AsciiLower(text[i]) != lower[i]) return false;
  }
  return true;
}

// s in upper case (for error texts that name a command as the client spelled it).
inline std::string AsciiUppercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiUpper(c);
  return out;
}

}  // namespace rl::proxy
