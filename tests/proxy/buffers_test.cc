// ChunkPool (size classes, reuse, references) and ReadBuffer (shared chunk while nothing is
// pending, a private chunk for a partial message, growth to an announced size).
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "proxy/base/chunk.h"
#include "proxy/base/read_buffer.h"

namespace rl::proxy {
namespace {

TEST(ChunkPoolTest, SizeClassesAndReuse) {
  ChunkPool pool;
  Chunk* first;
  {
    ChunkRef a = pool.Get(100);
    EXPECT_EQ(a->capacity, ChunkPool::kMinCapacity);
    ChunkRef b = pool.Get(5000);
    EXPECT_EQ(b->capacity, 8192u);
    ChunkRef big = pool.Get(3u << 20);  // beyond the largest class: its own allocation
    EXPECT_EQ(big->capacity, 3u << 20);
    first = a.get();
    EXPECT_EQ(pool.live_chunks(), 3u);
  }
  EXPECT_EQ(pool.live_chunks(), 0u);
  EXPECT_EQ(pool.free_bytes(), 4096u + 8192u);  // the oversized one was freed, not pooled
  ChunkRef again = pool.Get(1);
  EXPECT_EQ(again.get(), first);  // reused from the free list
}

TEST(ChunkPoolTest, SharedReferencesKeepTheChunk) {
  ChunkPool pool;
  ChunkRef a = pool.Get(10);
  ChunkRef b = a.Share();
  EXPECT_EQ(a->refs, 2u);
  a.Reset();
  EXPECT_EQ(pool.live_chunks(), 1u);
  b.Reset();
  EXPECT_EQ(pool.live_chunks(), 0u);
}

TEST(ChunkPoolTest, FreeListIsBounded) {
  ChunkPool pool(/*max_free_bytes=*/8192);
  { ChunkRef a = pool.Get(4096), b = pool.Get(4096), c = pool.Get(4096); }
  EXPECT_EQ(pool.free_bytes(), 8192u);
}

// Simulates a read of `bytes` through `reader`.
ReadBuffer::Region Read(ReadBuffer& reader, SharedReadChunk& shared, ChunkPool& pool,
                        const std::string& bytes, size_t needed = 0) {
  uv_buf_t buf = reader.Prepare(shared, pool, needed);
  EXPECT_GE(buf.len, bytes.size());
  std::memcpy(buf.base, bytes.data(), bytes.size());
  return reader.Commit(bytes.size());
}

TEST(ReadBufferTest, CompleteMessagesStayInTheSharedChunk) {
  ChunkPool pool;
  SharedReadChunk shared;
  ReadBuffer a, b;
  auto ra = Read(a, shared, pool, "PING\r\n");
  ASSERT_TRUE(a.Keep(pool, ra, ra.end, 0));
  ++ra.chunk->refs;
  ChunkRef request(ra.chunk);  // a request still points at "PING\r\n"
  auto rb = Read(b, shared, pool, "PONG\r\n");
  ASSERT_TRUE(b.Keep(pool, rb, rb.end, 0));
  EXPECT_EQ(ra.chunk, rb.chunk);  // two connections, one chunk
  EXPECT_EQ(rb.begin, ra.end);
  EXPECT_FALSE(a.has_partial());
  EXPECT_EQ(pool.live_chunks(), 1u);
  // Once nothing points into the chunk, reads start again from its beginning.
  request.Reset();
  auto rc = Read(a, shared, pool, "X");
  EXPECT_EQ(rc.chunk, ra.chunk);
  EXPECT_EQ(rc.begin, 0u);
}

TEST(ReadBufferTest, PartialMessageMovesToAPrivateChunkAndContinues) {
  ChunkPool pool;
  SharedReadChunk shared;
  ReadBuffer reader;
  auto r1 = Read(reader, shared, pool, "PING\r\nGE");
  ASSERT_TRUE(reader.Keep(pool, r1, r1.begin + 6, 0));  // "PING\r\n" parsed, "GE" pending
  ASSERT_TRUE(reader.has_partial());
  auto r2 = Read(reader, shared, pool, "T k\r\n");
  EXPECT_NE(r2.chunk, r1.chunk);
  EXPECT_EQ(std::string(r2.data(), r2.size()), "GET k\r\n");
  ASSERT_TRUE(reader.Keep(pool, r2, r2.end, 0));
  EXPECT_FALSE(reader.has_partial());  // back to the shared chunk
  auto r3 = Read(reader, shared, pool, "X");
  EXPECT_EQ(r3.chunk, r1.chunk);
}

TEST(ReadBufferTest, AnnouncedSizeIsAllocatedAtOnce) {
  ChunkPool pool;
  SharedReadChunk shared;
  ReadBuffer reader;
  std::string head = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n";
  auto r1 = Read(reader, shared, pool, head);
  size_t needed = head.size() + 1000000 + 2;
  ASSERT_TRUE(reader.Keep(pool, r1, r1.begin, needed));
  uv_buf_t buf = reader.Prepare(shared, pool, needed);
  EXPECT_GE(buf.len + head.size(), needed);
  std::string body(1000000, 'v');
  body += "\r\n";
  std::memcpy(buf.base, body.data(), body.size());
  auto r2 = reader.Commit(body.size());
  EXPECT_EQ(r2.size(), needed);
  EXPECT_EQ(std::string(r2.data(), head.size()), head);
}

TEST(ReadBufferTest, GrowsWhenTheMessageOutgrowsItsChunk) {
  ChunkPool pool;
  SharedReadChunk shared;
  ReadBuffer reader;
  std::string all;
  ReadBuffer::Region r = Read(reader, shared, pool, "*");
  all = "*";
  ASSERT_TRUE(reader.Keep(pool, r, r.begin, 0));
  for (int i = 0; i < 100; ++i) {
    std::string piece(3000, static_cast<char>('a' + i % 26));
    uv_buf_t buf = reader.Prepare(shared, pool, 0);
    ASSERT_GE(buf.len, piece.size());
    std::memcpy(buf.base, piece.data(), piece.size());
    r = reader.Commit(piece.size());
    all += piece;
    ASSERT_EQ(std::string(r.data(), r.size()), all);
    ASSERT_TRUE(reader.Keep(pool, r, r.begin, 0));
  }
}

}  // namespace
}  // namespace rl::proxy
