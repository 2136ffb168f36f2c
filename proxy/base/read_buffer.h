// Where one connection's reads land. While no partial message is pending, a connection reads
// into its worker's shared chunk, so idle connections hold no buffer and a burst of small
// requests from thousands of clients shares a few chunks. A partial message left at the end of a
// read moves (one copy of the tail) to a private chunk that later reads extend until it completes.
// Used by ClientConn and ServerConn. Thread safety: owned by one worker thread.
#pragma once

#include <uv.h>

#include <cstdint>

#include "proxy/base/chunk.h"

namespace rl::proxy {

// The worker's shared read chunk.
class SharedReadChunk {
 public:
  static constexpr size_t kChunkSize = 64 * 1024;
  static constexpr size_t kMinSpace = 16 * 1024;

  // The chunk to read into, with at least kMinSpace free bytes after `used`.
  Chunk* Get(ChunkPool& pool);
  void Reset() { chunk_.Reset(); }

 private:
  ChunkRef chunk_;
};

class ReadBuffer {
 public:
  // Bytes read and not yet consumed: [begin, end) of `chunk`. The first byte is the start of
  // the message the parser is working on.
  struct Region {
    Chunk* chunk = nullptr;
    uint32_t begin = 0;
    uint32_t end = 0;
    const char* data() const { return chunk->data() + begin; }
    uint32_t size() const { return end - begin; }
  };

  // Where the next read may write (for uv_alloc_cb). `needed` is the parser's lower bound on
  // the pending message's size (0 if none): a private chunk is grown to hold it at once.
  // An empty buffer when memory is exhausted (libuv then reports UV_ENOBUFS to the read).
  uv_buf_t Prepare(SharedReadChunk& shared, ChunkPool& pool, size_t needed);
  // Accounts `n` > 0 bytes read into the last Prepare()'s buffer. Returns what to parse.
  Region Commit(size_t n);
  // After parsing `region`: bytes before `parsed_to` were consumed (complete messages); the rest
  // is a partial message kept for the next read. Returns false when memory for it is
  // exhausted (the partial message is lost: the caller closes the connection).
  [[nodiscard]] bool Keep(ChunkPool& pool, const Region& region, uint32_t parsed_to, size_t needed);
  // Drops any partial message.
  void Clear() { private_.Reset(); }

  bool has_partial() const { return static_cast<bool>(private_); }
  // The bytes kept by Keep() (a paused client's unparsed requests). REQUIRES: has_partial().
  Region Kept() const { return Region{private_.get(), begin_, end_}; }
  uint32_t kept_size() const { return private_ ? end_ - begin_ : 0; }
  // Bytes of the private buffer (what this connection's partial message costs).
  size_t memory() const { return private_ ? private_->capacity : 0; }

 private:
  ChunkRef private_;  // holds a partial message at [begin_, end_)
  uint32_t begin_ = 0;
  uint32_t end_ = 0;
  Chunk* read_chunk_ = nullptr;  // the chunk handed out by the last Prepare()
  uint32_t read_offset_ = 0;
};

}  // namespace rl::proxy
