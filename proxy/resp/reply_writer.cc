#include "proxy/resp/reply_writer.h"

#include <charconv>

namespace rl::proxy {

namespace {

void AppendLine(std::string* out, char type, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  (void)ec;  // 24 bytes always hold an int64
  out->push_back(type);
  out->append(buf, end);
  out->append("\r\n", 2);
}

}  // namespace

void AppendStatus(std::string* out, std::string_view text) {
  out->push_back('+');
  out->append(text);
  out->append("\r\n", 2);
}

void AppendError(std::string* out, std::string_view text) {
  out->push_back('-');
  size_t start = out->size();
  out->append(text);
  for (size_t i = start; i < out->size(); ++i) {
    if ((*out)[i] == '\r' || (*out)[i] == '\n') (*out)[i] = ' ';
  }
  out->append("\r\n", 2);
}

void AppendInteger(std::string* out, int64_t value) { AppendLine(out, ':', value); }

void AppendBulk(std::string* out, std::string_view value) {
  AppendLine(out, '$', static_cast<int64_t>(value.size()));
  out->append(value);
  out->append("\r\n", 2);
}

void AppendNullBulk(std::string* out) { out->append("$-1\r\n", 5); }

void AppendNullArray(std::string* out) { out->append("*-1\r\n", 5); }

void AppendArrayHeader(std::string* out, int64_t count) { AppendLine(out, '*', count); }

void AppendCommand(std::string* out, std::span<const std::string_view> argv) {
  AppendArrayHeader(out, static_cast<int64_t>(argv.size()));
  for (std::string_view arg : argv) AppendBulk(out, arg);
}

}  // namespace rl::proxy
