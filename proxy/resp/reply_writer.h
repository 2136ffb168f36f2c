// Appends RESP2 to a byte string: replies ringleader makes itself (local commands, errors,
// merged replies) and commands it makes or re-encodes. Forwarded bytes never pass through here.
// Thread safety: free functions over caller-owned strings.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace rl::proxy {

// "+text\r\n". REQUIRES: text has no CR or LF.
void AppendStatus(std::string* out, std::string_view text);
// "-text\r\n" with CR and LF in `text` replaced by spaces, as Redis does.
void AppendError(std::string* out, std::string_view text);
void AppendInteger(std::string* out, int64_t value);
void AppendBulk(std::string* out, std::string_view value);
void AppendNullBulk(std::string* out);
void AppendNullArray(std::string* out);
void AppendArrayHeader(std::string* out, int64_t count);
// argv as one RESP multibulk command ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n").
void AppendCommand(std::string* out, std::span<const std::string_view> argv);

}  // namespace rl::proxy
