// Appends RESP2 replies to a byte string: for replies ringleader makes itself (local commands,
// errors, merged replies). Forwarded replies never pass through here.
// Thread safety: free functions over caller-owned strings.
#pragma once

#include <cstdint>
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

}  // namespace rl::proxy
