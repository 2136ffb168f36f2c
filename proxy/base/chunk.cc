#include "proxy/base/chunk.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace rl::proxy {

namespace {

Chunk* Allocate(size_t capacity) {
  void* memory = std::malloc(sizeof(Chunk) + capacity);
  if (memory == nullptr) {
    std::fprintf(stderr, "ringleader: out of memory allocating a %zu-byte buffer\n", capacity);
    std::abort();
  }
  return static_cast<Chunk*>(memory);
}

}  // namespace

ChunkPool::~ChunkPool() {
  for (Chunk*& head : free_) {
    while (head != nullptr) {
      Chunk* next = head->next_free;
      std::free(head);
      head = next;
    }
  }
}

ChunkRef ChunkPool::Get(size_t min_capacity) {
  Chunk* chunk;
  if (min_capacity > kMaxPooled) {
    chunk = Allocate(min_capacity);
    chunk->capacity = static_cast<uint32_t>(min_capacity);
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
      chunk->capacity = static_cast<uint32_t>(capacity);
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

void ChunkPool::Recycle(Chunk* chunk) {
  --live_;
  if (chunk->size_class < 0 || free_bytes_ + chunk->capacity > max_free_bytes_) {
    std::free(chunk);
    return;
  }
  chunk->next_free = free_[chunk->size_class];
  free_[chunk->size_class] = chunk;
  free_bytes_ += chunk->capacity;
}

}  // namespace rl::proxy
