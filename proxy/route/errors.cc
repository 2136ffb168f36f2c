#include "proxy/route/errors.h"

#include "fmt/format.h"
#include "proxy/resp/reply_writer.h"

namespace rl::proxy {

std::string CrossSlotError(std::string_view detail) {
  std::string out;
  AppendError(&out,
              fmt::format("CROSSSLOT Keys in request don't hash to the same server{}", detail));
  return out;
}

std::string NoServerError(std::string_view pool) {
  std::string out;
  AppendError(&out, fmt::format("ERR no server available in pool '{}'", pool));
  return out;
}

std::string BackendError(std::string_view label, std::string_view text) {
  std::string out;
  AppendError(&out, fmt::format("ERR backend {}: {}", label, text));
  return out;
}

std::string ForwardedBackendError(std::string_view label, std::string_view error_reply) {
  std::string_view text = error_reply;
  if (text.starts_with('-')) text.remove_prefix(1);
  if (text.ends_with("\r\n")) text.remove_suffix(2);
  return BackendError(label, text);
}

}  // namespace rl::proxy
