// Gathers the byte ranges of one writev: ranges up to kCopyMax bytes are copied into a staging
// area, adjacent copies forming one iovec, and larger ranges are sent by reference. The kernel
// pays per iovec (import, per-segment copy setup), so forty 30-byte requests or a 100-key MGET's
// keys go faster as one copied segment than as many, while values stay zero-copy.
// One per worker, reused by every ClientConn::Flush and ServerConn::Flush (never held across
// calls). Thread safety: owned by one worker thread.
#pragma once

#include <uv.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace rl::proxy {

class WriteBatch {
 public:
  static constexpr size_t kCopyMax = 512;
  static constexpr size_t kStagingSize = 64 * 1024;
  // Linux's IOV_MAX.
  static constexpr size_t kMaxIov = 1024;

  WriteBatch() : staging_(new char[kStagingSize]) { iov_.reserve(kMaxIov); }

  void Clear() {
    iov_.clear();
    staged_ = 0;
    bytes_ = 0;
    last_staged_ = false;
  }
  // Whether `pieces` more ranges surely fit (each adds at most one iovec).
  bool HasRoomFor(size_t pieces) const { return iov_.size() + pieces <= kMaxIov; }
  // Appends `len` bytes at `data`. REQUIRES: HasRoomFor(1).
  void Add(const char* data, size_t len);

  uv_buf_t* iov() { return iov_.data(); }
  unsigned iov_count() const { return static_cast<unsigned>(iov_.size()); }
  bool empty() const { return iov_.empty(); }
  size_t bytes() const { return bytes_; }
  // After a write took the first `written` bytes of the batch: appends the rest to `out`.
  void AppendUnwritten(size_t written, std::string* out) const;
  // The same for a large remainder, without copying its large ranges: staged ranges (the
  // staging area is reused by the next batch) are copied into `copies`, the rest are referred
  // to, and `iov` receives the ranges to write in order. REQUIRES: the referred bytes outlive
  // the write (the caller keeps the requests or replies they belong to).
  void TakeUnwritten(size_t written, std::string* copies, std::vector<uv_buf_t>* iov) const;
  // The bytes of the batch a write of `written` bytes left.
  size_t unwritten(size_t written) const { return written >= bytes_ ? 0 : bytes_ - written; }

 private:
  std::vector<uv_buf_t> iov_;
  std::unique_ptr<char[]> staging_;
  size_t staged_ = 0;         // bytes of staging_ in use
  bool last_staged_ = false;  // iov_.back() points into staging_
  size_t bytes_ = 0;
};

}  // namespace rl::proxy
