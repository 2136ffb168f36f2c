// MergeFragments: every merge kind, key order restored, and one error naming the backend.
#include "proxy/route/merge.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/commands/command_table.h"

namespace rl::proxy {
namespace {

class MergeTest : public ::testing::Test {
 protected:
  // A parent with one fragment per reply; fragment i answered `replies[i]` from backend i.
  Request* Parent(Merge merge, const std::vector<std::string>& replies,
                  std::vector<uint32_t> key_fragment = {}) {
    Request* parent = pool_.New(Request::Kind::kClient);
    parent->merge = static_cast<uint8_t>(merge);
    parent->key_fragment = std::move(key_fragment);
    for (size_t i = 0; i < replies.size(); ++i) {
      Request* f = pool_.New(Request::Kind::kFragment);
      f->parent = parent;
      f->SetOwnReply(replies[i]);
      f->backend_label = &labels_[i];
      f->done = true;
      parent->fragments.push_back(f);
    }
    parents_.push_back(parent);
    return parent;
  }
  std::string Merged(Request* parent) {
    MergeFragments(parent);
    return std::string(parent->reply);
  }
  void TearDown() override {
    for (Request* p : parents_) pool_.Free(p);
    EXPECT_EQ(pool_.live(), 0u);
  }
  RequestPool pool_;
  std::vector<Request*> parents_;
  const std::string labels_[3] = {"r1 (127.0.0.1:1)", "r2 (127.0.0.1:2)", "r3 (127.0.0.1:3)"};
};

TEST_F(MergeTest, KeyOrderRestoresTheClientsOrder) {
  // Keys k0..k4: k0,k3 on fragment 0; k1,k4 on fragment 1; k2 on fragment 2.
  Request* p =
      Parent(Merge::kKeyOrder,
             {"*2\r\n$2\r\nv0\r\n$-1\r\n", "*2\r\n$2\r\nv1\r\n$2\r\nv4\r\n", "*1\r\n$0\r\n\r\n"},
             {0, 1, 2, 0, 1});
  EXPECT_EQ(Merged(p), "*5\r\n$2\r\nv0\r\n$2\r\nv1\r\n$0\r\n\r\n$-1\r\n$2\r\nv4\r\n");
}

TEST_F(MergeTest, KeyOrderRejectsAWrongCount) {
  Request* p = Parent(Merge::kKeyOrder, {"*1\r\n$1\r\na\r\n", "*1\r\n$1\r\nb\r\n"}, {0, 1, 1});
  EXPECT_EQ(Merged(p), "-ERR backend r2 (127.0.0.1:2): unexpected reply to a split command\r\n");
}

TEST_F(MergeTest, SumsIntegers) {
  EXPECT_EQ(Merged(Parent(Merge::kSumIntegers, {":2\r\n", ":0\r\n", ":5\r\n"})), ":7\r\n");
}

TEST_F(MergeTest, AllOk) {
  EXPECT_EQ(Merged(Parent(Merge::kAllOk, {"+OK\r\n", "+OK\r\n"})), "+OK\r\n");
}

TEST_F(MergeTest, OneErrorNamingTheBackend) {
  // A Redis error from one server.
  EXPECT_EQ(Merged(Parent(Merge::kAllOk, {"+OK\r\n", "-OOM command not allowed\r\n"})),
            "-ERR backend r2 (127.0.0.1:2): OOM command not allowed\r\n");
  // ringleader's own failure (already naming the backend) wins as is.
  Request* p = Parent(Merge::kSumIntegers, {":1\r\n", ":1\r\n", ":1\r\n"});
  p->fragments[2]->SetOwnReply("-ERR backend r3 (127.0.0.1:3): Connection refused\r\n");
  p->fragments[2]->reply_is_error = true;
  EXPECT_EQ(Merged(p), "-ERR backend r3 (127.0.0.1:3): Connection refused\r\n");
}

TEST_F(MergeTest, AllEqualAndAndArraysAndAnySuccess) {
  EXPECT_EQ(Merged(Parent(Merge::kAllEqual, {"$3\r\nabc\r\n", "$3\r\nabc\r\n"})), "$3\r\nabc\r\n");
  EXPECT_TRUE(Merged(Parent(Merge::kAllEqual, {"$3\r\nabc\r\n", "$3\r\nabd\r\n"}))
                  .starts_with("-ERR backends r1 (127.0.0.1:1) and r2 (127.0.0.1:2) gave"));
  EXPECT_EQ(
      Merged(Parent(Merge::kAndArrays, {"*3\r\n:1\r\n:1\r\n:0\r\n", "*3\r\n:1\r\n:0\r\n:0\r\n"})),
      "*3\r\n:1\r\n:0\r\n:0\r\n");
  EXPECT_EQ(Merged(Parent(Merge::kAnySuccess, {"-NOTBUSY No scripts\r\n", "+OK\r\n"})), "+OK\r\n");
  // No script anywhere: Redis's NOTBUSY as one Redis says it.
  EXPECT_EQ(Merged(Parent(Merge::kAnySuccess, {"-NOTBUSY No scripts\r\n", "-NOTBUSY x\r\n"})),
            "-NOTBUSY No scripts\r\n");
  // A more telling error wins over NOTBUSY, naming its server.
  EXPECT_EQ(Merged(Parent(Merge::kAnySuccess,
                          {"-NOTBUSY No scripts\r\n", "-UNKILLABLE Sorry\r\n", "-NOTBUSY x\r\n"})),
            "-ERR backend r2 (127.0.0.1:2): UNKILLABLE Sorry\r\n");
  Request* p = Parent(Merge::kAnySuccess, {"-NOTBUSY No scripts\r\n", ""});
  p->fragments[1]->SetOwnReply("-ERR backend r2 (127.0.0.1:2): Connection refused\r\n");
  p->fragments[1]->reply_is_error = true;
  EXPECT_EQ(Merged(p), "-ERR backend r2 (127.0.0.1:2): Connection refused\r\n");
}

TEST_F(MergeTest, ConcatArraysInServerOrder) {
  EXPECT_EQ(Merged(Parent(Merge::kConcatArrays,
                          {"*2\r\n$1\r\na\r\n$1\r\nb\r\n", "*0\r\n", "*1\r\n$2\r\ncc\r\n"})),
            "*3\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\ncc\r\n");
  EXPECT_EQ(Merged(Parent(Merge::kConcatArrays, {"*0\r\n", "*0\r\n"})), "*0\r\n");
  EXPECT_EQ(Merged(Parent(Merge::kConcatArrays, {"*0\r\n", ":1\r\n"})),
            "-ERR backend r2 (127.0.0.1:2): unexpected reply to a split command\r\n");
}

TEST_F(MergeTest, RandomNonNilPicksAServerWithKeys) {
  EXPECT_EQ(Merged(Parent(Merge::kRandomNonNil, {"$-1\r\n", "$-1\r\n"})), "$-1\r\n");
  EXPECT_EQ(Merged(Parent(Merge::kRandomNonNil, {"$-1\r\n", "$1\r\nb\r\n", "$-1\r\n"})),
            "$1\r\nb\r\n");
  // Both servers with keys get picked (200 draws: each is missed with probability 2^-200).
  bool seen_a = false, seen_c = false;
  for (int i = 0; i < 200; ++i) {
    std::string r = Merged(Parent(Merge::kRandomNonNil, {"$1\r\na\r\n", "$-1\r\n", "$1\r\nc\r\n"}));
    seen_a = seen_a || r == "$1\r\na\r\n";
    seen_c = seen_c || r == "$1\r\nc\r\n";
    ASSERT_TRUE(r == "$1\r\na\r\n" || r == "$1\r\nc\r\n") << r;
  }
  EXPECT_TRUE(seen_a && seen_c);
}

}  // namespace
}  // namespace rl::proxy
