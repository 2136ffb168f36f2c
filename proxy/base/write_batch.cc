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

void WriteBatch::TakeUnwritten(size_t written, std::string* copies,
                               std::vector<uv_buf_t>* iov) const {
  iov->clear();
  copies->clear();
  copies->reserve(staged_);  // no reallocation below: the iovecs point into it
  for (const uv_buf_t& b : iov_) {
    if (written >= b.len) {
      written -= b.len;
      continue;
    }
    const char* from = b.base + written;
    size_t len = b.len - written;
    written = 0;
    bool staged = from >= staging_.get() && from < staging_.get() + kStagingSize;
    if (staged) {
      char* to = copies->data() + copies->size();
      copies->append(from, len);
      iov->push_back(uv_buf_init(to, static_cast<unsigned>(len)));
    } else {
      iov->push_back(uv_buf_init(const_cast<char*>(from), static_cast<unsigned>(len)));
    }
  }
}

}  // namespace rl::proxy
