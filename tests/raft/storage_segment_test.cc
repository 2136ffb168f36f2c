// CRC-32C and the on-disk record formats of raft/ storage (raft/crc32c.h, raft/segment.h).
#include <gtest/gtest.h>

#include <string>

#include "raft/crc32c.h"
#include "raft/segment.h"
#include "tests/raft/storage_test_util.h"

namespace rl::raft {
namespace {

using testing::MakeEntries;
using testing::MakeSnapshot;

TEST(StorageCrc32c, KnownVectors) {
  // RFC 3720 (iSCSI) appendix B.4 and the usual check value.
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string up, down;
  for (int i = 0; i < 32; ++i) {
    up.push_back(static_cast<char>(i));
    down.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(down), 0x113FDB5Cu);
}

TEST(StorageCrc32c, ExtendEqualsWholeAtEverySplit) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 37 + 11));
  const uint32_t whole = Crc32c(data);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    std::string_view v(data);
    ASSERT_EQ(Crc32cExtend(Crc32c(v.substr(0, cut)), v.substr(cut)), whole) << "cut " << cut;
  }
}

TEST(StorageSegment, NamesSortByIndexAndRoundTrip) {
  EXPECT_EQ(SegmentName(42), "00000000000000000042.log");
  EXPECT_EQ(ParseSegmentName(SegmentName(42)), 42u);
  EXPECT_EQ(ParseSegmentName(SegmentName(UINT64_MAX)), UINT64_MAX);
  EXPECT_LT(SegmentName(9), SegmentName(10));
  EXPECT_EQ(ParseSegmentName("hardstate"), std::nullopt);
  EXPECT_EQ(ParseSegmentName("0000000000000000004x.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentName("99999999999999999999.log"), std::nullopt);  // > UINT64_MAX
}

TEST(StorageSegment, ScanReadsBackEntriesAndOffsets) {
  std::string bytes;
  AppendSegmentHeader(&bytes, 5);
  auto entries = MakeEntries(5, 4, 2);
  std::vector<uint64_t> offsets;
  for (const Entry& e : entries) {
    offsets.push_back(bytes.size());
    AppendEntryRecord(&bytes, e);
  }
  auto scan = ScanSegment(bytes, 5, /*last=*/false, "seg");
  ASSERT_TRUE(scan) << scan.error().message;
  EXPECT_TRUE(scan->has_header);
  EXPECT_EQ(scan->entries, entries);
  EXPECT_EQ(scan->offsets, offsets);
  EXPECT_EQ(scan->valid_bytes, bytes.size());
  EXPECT_TRUE(scan->torn.empty());
}

TEST(StorageSegment, HeaderMustMatchTheFileName) {
  std::string bytes;
  AppendSegmentHeader(&bytes, 5);
  auto scan = ScanSegment(bytes, 6, true, "seg");
  ASSERT_FALSE(scan);
  EXPECT_EQ(scan.error().code, StorageError::Code::kCorruption);
  EXPECT_NE(scan.error().message.find("header says first index 5, file name says 6"),
            std::string::npos)
      << scan.error().message;
}

TEST(StorageSegment, EntryIndicesMustFollowEachOther) {
  std::string bytes;
  AppendSegmentHeader(&bytes, 1);
  AppendEntryRecord(&bytes, MakeEntries(1, 1, 1)[0]);
  AppendEntryRecord(&bytes, MakeEntries(3, 1, 1)[0]);
  auto scan = ScanSegment(bytes, 1, true, "seg");
  ASSERT_FALSE(scan);
  EXPECT_NE(scan.error().message.find("entry index 3, expected 2"), std::string::npos);
}

TEST(StorageSegment, HardStateFileRoundTripsAndDetectsDamage) {
  HardState hs{.term = 7, .vote = 3, .commit = 99};
  std::string bytes = EncodeHardStateFile(hs);
  auto back = DecodeHardStateFile(bytes, "hs");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, hs);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x10;
    EXPECT_FALSE(DecodeHardStateFile(bad, "hs")) << "flip at " << i;
  }
  EXPECT_FALSE(DecodeHardStateFile(bytes.substr(0, bytes.size() - 1), "hs"));
  EXPECT_FALSE(DecodeHardStateFile("", "hs"));
}

TEST(StorageSegment, SnapshotFileRoundTripsAndDetectsDamage) {
  Snapshot snap = MakeSnapshot(120, 6, std::string(1000, 'z'));
  std::string bytes = EncodeSnapshotFile(snap);
  auto back = DecodeSnapshotFile(bytes, "snap");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, snap);
  for (size_t i = 0; i < 40; ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x01;
    EXPECT_FALSE(DecodeSnapshotFile(bad, "snap")) << "flip at " << i;
  }
  EXPECT_FALSE(DecodeSnapshotFile(bytes + "x", "snap"));
}

}  // namespace
}  // namespace rl::raft
