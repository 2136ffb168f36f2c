// SCAN's cursor: encoding round trips, Redis's "invalid cursor" cases, and the rewriting of a
// server's reply into the cursor the client sees.
#include "proxy/route/scan.h"

#include <string>

#include "gtest/gtest.h"
#include "proxy/commands/command_table.h"
#include "proxy/route/merge.h"

namespace rl::proxy {
namespace {

TEST(ScanCursorTest, EncodesServerInTheLowBits) {
  EXPECT_EQ(EncodeScanCursor({0, 0}), 0u);
  EXPECT_EQ(EncodeScanCursor({2, 0}), 2u);
  EXPECT_EQ(EncodeScanCursor({2, 5}), 5u * 4096 + 2);
  EXPECT_EQ(EncodeScanCursor({kScanMaxServers - 1, kScanMaxServerCursor}), UINT64_MAX);
  for (ScanPosition p : {ScanPosition{0, 0}, ScanPosition{1, 0}, ScanPosition{2, 12345},
                         ScanPosition{4095, kScanMaxServerCursor}}) {
    EXPECT_EQ(DecodeScanCursor(std::to_string(EncodeScanCursor(p)), 4096), p);
  }
}

TEST(ScanCursorTest, InvalidCursors) {
  EXPECT_EQ(DecodeScanCursor("0", 1), (ScanPosition{0, 0}));
  EXPECT_EQ(DecodeScanCursor("18446744073709551615", 4096),
            (ScanPosition{4095, kScanMaxServerCursor}));
  for (const char* bad : {"", "x", "1x", "-1", "+1", " 1", "1 ", "0x10", "18446744073709551616",
                          "99999999999999999999", "000000000000000000001"}) {
    EXPECT_FALSE(DecodeScanCursor(bad, 4096).has_value()) << bad;
  }
  // A server index past the pool's servers.
  EXPECT_FALSE(DecodeScanCursor("3", 3).has_value());
  EXPECT_FALSE(DecodeScanCursor(std::to_string(EncodeScanCursor({5, 7})), 3).has_value());
  EXPECT_TRUE(DecodeScanCursor(std::to_string(EncodeScanCursor({2, 7})), 3).has_value());
}

class ScanReplyTest : public ::testing::Test {
 protected:
  std::string Rewrite(uint32_t server, uint32_t next, const std::string& reply,
                      bool ringleader_error = false) {
    Request* parent = pool_.New(Request::Kind::kClient);
    parent->merge = static_cast<uint8_t>(Merge::kScanCursor);
    parent->merge_arg = ScanMergeArg(server, next);
    Request* f = pool_.New(Request::Kind::kFragment);
    f->parent = parent;
    f->SetOwnReply(reply);
    f->reply_is_error = ringleader_error;
    f->backend_label = &label_;
    f->done = true;
    parent->fragments.push_back(f);
    MergeFragments(parent);
    std::string out(parent->reply);
    pool_.Free(parent);
    return out;
  }
  void TearDown() override { EXPECT_EQ(pool_.live(), 0u); }
  RequestPool pool_;
  const std::string label_ = "r2 (127.0.0.1:2)";
};

TEST_F(ScanReplyTest, RewritesTheCursor) {
  const std::string keys = "*2\r\n$1\r\na\r\n$1\r\nb\r\n";
  // Mid-server: the server's cursor rides above the index.
  EXPECT_EQ(Rewrite(1, 2, "*2\r\n$2\r\n10\r\n" + keys), "*2\r\n$5\r\n40961\r\n" + keys);
  // The server is done: on to the next one, from its start.
  EXPECT_EQ(Rewrite(1, 2, "*2\r\n$1\r\n0\r\n" + keys), "*2\r\n$1\r\n2\r\n" + keys);
  // The last server is done: the walk is over.
  EXPECT_EQ(Rewrite(2, kScanNoNext, "*2\r\n$1\r\n0\r\n*0\r\n"), "*2\r\n$1\r\n0\r\n*0\r\n");
}

TEST_F(ScanReplyTest, ErrorsAndOddReplies) {
  // Redis's own complaint about the options, as it said it.
  EXPECT_EQ(Rewrite(0, 1, "-ERR syntax error\r\n"), "-ERR syntax error\r\n");
  // ringleader's own failure already names the server.
  EXPECT_EQ(Rewrite(0, 1, "-ERR backend r2 (127.0.0.1:2): Connection refused\r\n", true),
            "-ERR backend r2 (127.0.0.1:2): Connection refused\r\n");
  EXPECT_EQ(Rewrite(0, 1, "+OK\r\n"),
            "-ERR backend r2 (127.0.0.1:2): unexpected reply to SCAN\r\n");
  EXPECT_EQ(Rewrite(0, 1, "*1\r\n$1\r\n0\r\n"),
            "-ERR backend r2 (127.0.0.1:2): unexpected reply to SCAN\r\n");
  EXPECT_EQ(Rewrite(0, 1, "*2\r\n$2\r\n1x\r\n*0\r\n").substr(0, 45),
            "-ERR backend r2 (127.0.0.1:2): SCAN cursor '1");
  // 2^52 does not fit beside the server index.
  EXPECT_TRUE(Rewrite(0, 1, "*2\r\n$16\r\n4503599627370496\r\n*0\r\n").find("too large") !=
              std::string::npos);
}

}  // namespace
}  // namespace rl::proxy
