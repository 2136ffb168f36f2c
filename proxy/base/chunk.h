// Reference-counted byte chunks from a per-worker pool: what connections read into, and what
// parsed requests and scanned replies point into, so forwarded bytes are never copied.
// A chunk returns to its pool's free list when its last reference goes; steady-state traffic
// allocates nothing. Thread safety: a pool and its chunks belong to one worker thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace rl::proxy {

class ChunkPool;

struct Chunk {
  ChunkPool* pool;
  uint32_t refs;
  uint32_t capacity;
  uint32_t used;       // bytes written so far (the worker's shared read chunk fills up)
  int32_t size_class;  // index of the pool's free list; -1 for an oversized chunk
  Chunk* next_free;    // free-list link while pooled
  char* data() { return reinterpret_cast<char*>(this + 1); }
};
static_assert(sizeof(Chunk) % 8 == 0);

// An owning reference to a chunk. Move-only; Share() makes another reference.
class ChunkRef {
 public:
  ChunkRef() = default;
  explicit ChunkRef(Chunk* chunk) : chunk_(chunk) {}  // adopts one reference
  ChunkRef(ChunkRef&& other) noexcept : chunk_(std::exchange(other.chunk_, nullptr)) {}
  ChunkRef& operator=(ChunkRef&& other) noexcept {
    if (this != &other) {
      Reset();
      chunk_ = std::exchange(other.chunk_, nullptr);
    }
    return *this;
  }
  ChunkRef(const ChunkRef&) = delete;
  ChunkRef& operator=(const ChunkRef&) = delete;
  ~ChunkRef() { Reset(); }

  ChunkRef Share() const {
    ++chunk_->refs;
    return ChunkRef(chunk_);
  }
  void Reset();

  Chunk* get() const { return chunk_; }
  // Gives up the reference without releasing it (ChunkPool::Grow moved the chunk).
  [[nodiscard]] Chunk* Release() { return std::exchange(chunk_, nullptr); }
  Chunk* operator->() const { return chunk_; }
  explicit operator bool() const { return chunk_ != nullptr; }

 private:
  Chunk* chunk_ = nullptr;
};

class ChunkPool {
 public:
  // Pooled capacities are powers of two from kMinCapacity to kMaxPooled; larger requests get a
  // chunk of their own that is freed, not pooled, when released.
  static constexpr size_t kMinCapacity = 4096;
  static constexpr size_t kMaxPooled = 1u << 20;
  static constexpr int kClasses = 9;  // 4 KiB .. 1 MiB

  // `process_bytes` (optional) sums the bytes every pool of the process holds (the memory
  // budget reads it; see Worker::EnforceMemoryBudget).
  explicit ChunkPool(size_t max_free_bytes = 64u << 20,
                     std::atomic<int64_t>* process_bytes = nullptr)
      : max_free_bytes_(max_free_bytes), process_bytes_(process_bytes) {}
  ~ChunkPool();  // frees the free lists. REQUIRES: no chunk of this pool is still referenced.
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;

  // A chunk with capacity >= min_capacity, used = 0, one reference; empty when memory is
  // exhausted (the caller fails the connection it was for, not the process).
  ChunkRef Get(size_t min_capacity);
  // Grows `ref`'s chunk in place or by moving it (realloc: large blocks move by remapping
  // their pages, not by copying them), keeping its bytes. Returns false, leaving it as it was,
  // when memory is exhausted. REQUIRES: ref holds the only reference.
  bool Grow(ChunkRef& ref, size_t capacity);

  // Called by ChunkRef when the last reference goes.
  void Recycle(Chunk* chunk);

  size_t live_chunks() const { return live_; }
  size_t free_bytes() const { return free_bytes_; }
  // Bytes allocated for chunks (live and pooled).
  size_t allocated_bytes() const { return allocated_; }

 private:
  Chunk* Allocate(size_t capacity);
  void Deallocate(Chunk* chunk);

  Chunk* free_[kClasses] = {};
  size_t free_bytes_ = 0;
  size_t max_free_bytes_;
  size_t live_ = 0;
  size_t allocated_ = 0;
  std::atomic<int64_t>* process_bytes_;
};

inline void ChunkRef::Reset() {
  if (chunk_ != nullptr) {
    if (--chunk_->refs == 0) chunk_->pool->Recycle(chunk_);
    chunk_ = nullptr;
  }
}

}  // namespace rl::proxy
