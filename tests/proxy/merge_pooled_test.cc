// MergeFragments with a ChunkPool (as workers call it): a key-order merge lands, byte for byte as
// without one, in a pooled chunk the parent holds until it is freed; a malformed fragment still
// gives the error; other merge kinds are unaffected by the pool.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/commands/command_table.h"
#include "proxy/route/merge.h"

namespace rl::proxy {
namespace {

class MergePooledTest : public ::testing::Test {
 protected:
  Request* Parent(Merge merge, const std::vector<std::string>& replies,
                  std::vector<uint32_t> key_fragment) {
    Request* parent = requests_.New(Request::Kind::kClient);
    parent->merge = static_cast<uint8_t>(merge);
    parent->key_fragment = std::move(key_fragment);
    for (const std::string& reply : replies) {
      Request* f = requests_.New(Request::Kind::kFragment);
      f->parent = parent;
      f->SetOwnReply(reply);
      f->backend_label = &label_;
      f->done = true;
      parent->fragments.push_back(f);
    }
    return parent;
  }
  ChunkPool chunks_;  // declared first: outlives the requests' chunk references
  RequestPool requests_;
  const std::string label_ = "r1 (127.0.0.1:1)";
};

TEST_F(MergePooledTest, KeyOrderInAChunkMatchesTheUnpooledMerge) {
  const std::vector<std::string> replies = {
      "*2\r\n$2\r\nv0\r\n$-1\r\n", "*2\r\n$2\r\nv1\r\n$5\r\nv4xyz\r\n", "*1\r\n$0\r\n\r\n"};
  const std::vector<uint32_t> order = {0, 1, 2, 0, 1};
  Request* plain = Parent(Merge::kKeyOrder, replies, order);
  MergeFragments(plain);
  Request* pooled = Parent(Merge::kKeyOrder, replies, order);
  MergeFragments(pooled, &chunks_);
  EXPECT_EQ(pooled->reply, "*5\r\n$2\r\nv0\r\n$2\r\nv1\r\n$0\r\n\r\n$-1\r\n$5\r\nv4xyz\r\n");
  EXPECT_EQ(pooled->reply, plain->reply);
  ASSERT_TRUE(pooled->reply_chunk);
  EXPECT_EQ(pooled->reply.data(), pooled->reply_chunk->data());
  EXPECT_EQ(chunks_.live_chunks(), 1u);
  requests_.Free(pooled);
  EXPECT_EQ(chunks_.live_chunks(), 0u);  // back in the pool with its slot
  requests_.Free(plain);
  EXPECT_EQ(requests_.live(), 0u);
}

TEST_F(MergePooledTest, WrongCountIsStillAnError) {
  Request* p = Parent(Merge::kKeyOrder, {"*1\r\n$1\r\na\r\n", "*1\r\n$1\r\nb\r\n"}, {0, 1, 1});
  MergeFragments(p, &chunks_);
  EXPECT_EQ(p->reply, "-ERR backend r1 (127.0.0.1:1): unexpected reply to a split command\r\n");
  requests_.Free(p);
  EXPECT_EQ(chunks_.live_chunks(), 0u);
}

TEST_F(MergePooledTest, OtherMergesIgnoreThePool) {
  Request* p = Parent(Merge::kSumIntegers, {":2\r\n", ":5\r\n"}, {0, 1});
  MergeFragments(p, &chunks_);
  EXPECT_EQ(p->reply, ":7\r\n");
  EXPECT_EQ(chunks_.live_chunks(), 0u);
  requests_.Free(p);
}

}  // namespace
}  // namespace rl::proxy
