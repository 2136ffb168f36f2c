#include "proxy/base/read_buffer.h"

#include <algorithm>
#include <cstring>

namespace rl::proxy {

Chunk* SharedReadChunk::Get(ChunkPool& pool) {
  if (chunk_ && chunk_->refs == 1) {
    // Nothing points into the chunk any more: start again from its beginning, which keeps the
    // same memory hot in the cache under steady traffic.
    chunk_->used = 0;
  }
  if (!chunk_ || chunk_->capacity - chunk_->used < kMinSpace) chunk_ = pool.Get(kChunkSize);
  return chunk_.get();  // nullptr: out of memory
}

uv_buf_t ReadBuffer::Prepare(SharedReadChunk& shared, ChunkPool& pool, size_t needed) {
  if (!private_) {
    read_chunk_ = shared.Get(pool);
    if (read_chunk_ == nullptr) return uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS
    read_offset_ = read_chunk_->used;
    return uv_buf_init(read_chunk_->data() + read_offset_, read_chunk_->capacity - read_offset_);
  }
  // Private: make room for the rest of the pending message (at least a minimum read).
  constexpr size_t kMinRead = 4096;
  // A size announced by the peer is trusted up to kTrustedSize (one exact allocation, no
  // copies for common large values); beyond it the buffer grows with the bytes that actually
  // arrive, so a header alone cannot make the proxy allocate hundreds of megabytes.
  constexpr size_t kTrustedSize = 16u << 20;
  size_t pending = end_ - begin_;
  if (needed > kTrustedSize) needed = std::max(kTrustedSize, pending * 2);
  size_t want = std::max(needed, pending + kMinRead);
  if (private_->capacity - begin_ < want || private_->capacity - end_ < kMinRead) {
    size_t grown = std::max(want, static_cast<size_t>(private_->capacity) * 2);
    if (private_->refs == 1) {
      // Only we use the chunk: slide the pending bytes to its start, and grow it where it is
      // (a large block's pages are remapped, not copied: a 512 MB value is held once).
      std::memmove(private_->data(), private_->data() + begin_, pending);
      if (private_->capacity < want && !pool.Grow(private_, grown)) return uv_buf_init(nullptr, 0);
    } else {
      ChunkRef bigger = pool.Get(grown);
      if (!bigger) return uv_buf_init(nullptr, 0);
      std::memcpy(bigger->data(), private_->data() + begin_, pending);
      private_ = std::move(bigger);
    }
    begin_ = 0;
    end_ = static_cast<uint32_t>(pending);
  }
  read_chunk_ = private_.get();
  read_offset_ = end_;
  return uv_buf_init(private_->data() + end_, private_->capacity - end_);
}

ReadBuffer::Region ReadBuffer::Commit(size_t n) {
  if (private_) {
    end_ += static_cast<uint32_t>(n);
    return Region{private_.get(), begin_, end_};
  }
  read_chunk_->used = read_offset_ + static_cast<uint32_t>(n);
  return Region{read_chunk_, read_offset_, read_chunk_->used};
}

bool ReadBuffer::Keep(ChunkPool& pool, const Region& region, uint32_t parsed_to, size_t needed) {
  if (private_) {
    begin_ = parsed_to;
    if (begin_ == end_) private_.Reset();  // back to the shared chunk
    return true;
  }
  size_t tail = region.end - parsed_to;
  if (tail == 0) return true;
  constexpr size_t kMinPrivate = 4096;
  constexpr size_t kTrustedSize = 16u << 20;  // as in Prepare()
  private_ = pool.Get(std::max({std::min(needed, kTrustedSize), tail * 2, kMinPrivate}));
  if (!private_) return false;
  std::memcpy(private_->data(), region.chunk->data() + parsed_to, tail);
  begin_ = 0;
  end_ = static_cast<uint32_t>(tail);
  return true;
}

}  // namespace rl::proxy
