#include "proxy/base/chunk.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <new>

namespace rl::proxy {

Chunk* ChunkPool::Allocate(size_t capacity) {
  auto* chunk = static_cast<Chunk*>(std::malloc(sizeof(Chunk) + capacity));
  if (chunk == nullptr) return nullptr;
  chunk->capacity = static_cast<uint32_t>(capacity);
  allocated_ += capacity;
  if (process_bytes_ != nullptr) {
    process_bytes_->fetch_add(static_cast<int64_t>(capacity), std::memory_order_relaxed);
  }
  return chunk;
}

void ChunkPool::Deallocate(Chunk* chunk) {
  allocated_ -= chunk->capacity;
  if (process_bytes_ != nullptr) {
    process_bytes_->fetch_sub(static_cast<int64_t>(chunk->capacity), std::memory_order_relaxed);
  }
  std::free(chunk);
}

ChunkPool::~ChunkPool() {
  for (Chunk*& head : free_) {
    while (head != nullptr) {
      Chunk* next = head->next_free;
      Deallocate(head);
      head = next;
    }
  }
}

ChunkRef ChunkPool::Get(size_t min_capacity) {
  Chunk* chunk;
  if (min_capacity > kMaxPooled) {
    chunk = Allocate(min_capacity);
    if (chunk == nullptr) return ChunkRef();
    chunk->size_class = -1;
  } else {
    size_t capacity = std::bit_ceil(std::max(min_capacity, kMinCapacity));
    int size_class = std::countr_zero(capacity) - std::countr_zero(kMinCapacity);
    chunk = free_[size_class];
    if (chunk != nullptr) {
      free_[size_class] = chunk->next_free;
      free_bytes_ -= capacity;
    } else {
      chunk = Allocate(capacity);
      if (chunk == nullptr) return ChunkRef();
      chunk->size_class = size_class;
    }
  }
  chunk->pool = this;
  chunk->refs = 1;
  chunk->used = 0;
  chunk->next_free = nullptr;
  ++live_;
  return ChunkRef(chunk);
}

bool ChunkPool::Grow(ChunkRef& ref, size_t capacity) {
  Chunk* old = ref.get();
  if (capacity <= old->capacity) return true;
  uint32_t old_capacity = old->capacity;
  auto* grown = static_cast<Chunk*>(std::realloc(old, sizeof(Chunk) + capacity));
  if (grown == nullptr) return false;
  (void)ref.Release();  // `old` is gone; the reference now names `grown`
  grown->capacity = static_cast<uint32_t>(capacity);
  grown->size_class = -1;  // no longer a pooled size: freed when released
  size_t added = capacity - old_capacity;
  allocated_ += added;
  if (process_bytes_ != nullptr) {
    process_bytes_->fetch_add(static_cast<int64_t>(added), std::memory_order_relaxed);
  }
  ref = ChunkRef(grown);
  return true;
}

void ChunkPool::Recycle(Chunk* chunk) {
  --live_;
  if (chunk->size_class < 0 || free_bytes_ + chunk->capacity > max_free_bytes_) {
    Deallocate(chunk);
    return;
  }
  chunk->next_free = free_[chunk->size_class];
  free_[chunk->size_class] = chunk;
  free_bytes_ += chunk->capacity;
}

}  // namespace rl::proxy
