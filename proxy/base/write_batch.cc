#include "proxy/base/write_batch.h"

#include <cstring>

namespace rl::proxy {

void WriteBatch::Add(const char* data, size_t len) {
  if (len == 0) return;
  bytes_ += len;
  if (len <= kCopyMax && staged_ + len <= kStagingSize) {
    char* to = staging_.get() + staged_;
    std::memcpy(to, data, len);
    staged_ += len;
    if (last_staged_) {
      iov_.back().len += static_cast<unsigned>(len);  // staging is filled in order
    } else {
      iov_.push_back(uv_buf_init(to, static_cast<unsigned>(len)));
      last_staged_ = true;
    }
    return;
  }
  iov_.push_back(uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len)));
  last_staged_ = false;
}

void WriteBatch::AppendUnwritten(size_t written, std::string* out) const {
  for (const uv_buf_t& b : iov_) {
    if (written >= b.len) {
      written -= b.len;
    } else {
      out->append(b.base + written, b.len - written);
      written = 0;
    }
  }
}

}  // namespace rl::proxy
