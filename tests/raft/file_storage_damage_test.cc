// FileStorage on damaged directories: torn tails are repaired, any other damage refuses to start
// with a message naming the file and the offset, a failed fsync is fatal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "raft/file_storage.h"
#include "raft/segment.h"
#include "tests/raft/storage_test_util.h"
#include "tests/support/temp_dir.h"

namespace rl::raft {
namespace {

using testing::MakeEntries;
using testing::MakeSnapshot;
using testing::ReadBytes;
using testing::WriteBytes;

class FileStorageDamageTest : public ::testing::Test {
 protected:
  std::unique_ptr<FileStorage> Open(uint64_t segment_bytes = 64 << 20) {
    return std::make_unique<FileStorage>(dir_, FileStorageOptions{.segment_bytes = segment_bytes},
                                         testing::NoSyncFs());
  }
  // Writes entries 1..n, one record each, and syncs. Returns the file offset of every record.
  std::vector<uint64_t> WriteLog(Index n, uint64_t segment_bytes = 64 << 20) {
    auto s = Open(segment_bytes);
    EXPECT_TRUE(s->Load());
    for (Index i = 1; i <= n; ++i) EXPECT_TRUE(s->Append(MakeEntries(i, 1, 1)));
    EXPECT_TRUE(s->Sync());
    paths_ = s->SegmentPaths();
    auto scan =
        ScanSegment(ReadBytes(paths_.back()),
                    *ParseSegmentName(std::filesystem::path(paths_.back()).filename().string()),
                    true, paths_.back());
    EXPECT_TRUE(scan);
    return scan ? scan->offsets : std::vector<uint64_t>{};
  }
  StorageResult<DurableState> Load() { return Open(256)->Load(); }

  rl::testing::TempDir tmp_;
  std::string dir_ = tmp_.File("raft");
  std::vector<std::string> paths_;  // segment paths after WriteLog
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_F(FileStorageDamageTest, TornTailAtEveryByteOffsetOfTheLastRecordIsTruncated) {
  auto offsets = WriteLog(5);
  const std::string seg = paths_.back();
  const std::string original = ReadBytes(seg);
  const uint64_t last = offsets.back();
  for (uint64_t cut = last; cut < original.size(); ++cut) {
    SCOPED_TRACE(::testing::Message()
                 << "file cut at " << cut << " (last record at " << last << ")");
    WriteBytes(seg, original.substr(0, cut));
    {
      auto s = Open();
      auto state = s->Load();
      ASSERT_TRUE(state) << state.error().message;
      EXPECT_EQ(state->entries, MakeEntries(1, 4, 1));  // the previous records are intact
      if (cut == last) {
        EXPECT_TRUE(state->warnings.empty());  // a clean end: no damage at all
      } else {
        ASSERT_EQ(state->warnings.size(), 1u);
        EXPECT_TRUE(Contains(state->warnings[0], seg)) << state->warnings[0];
        EXPECT_TRUE(Contains(state->warnings[0], "offset " + std::to_string(last)))
            << state->warnings[0];
      }
      EXPECT_EQ(ReadBytes(seg).size(), last);  // the torn bytes are gone from the file
      // The log continues where the damage was cut off.
      ASSERT_TRUE(s->Append(MakeEntries(5, 1, 2)));
      ASSERT_TRUE(s->Sync());
    }
    auto again = Open()->Load();
    ASSERT_TRUE(again) << again.error().message;
    auto want = MakeEntries(1, 4, 1);
    want.push_back(MakeEntries(5, 1, 2)[0]);
    EXPECT_EQ(again->entries, want);
    EXPECT_TRUE(again->warnings.empty());
  }
}

TEST_F(FileStorageDamageTest, BadCrcOnTheRecordThatEndsTheLastSegmentIsATornTail) {
  auto offsets = WriteLog(5);
  std::string bytes = ReadBytes(paths_.back());
  for (uint64_t pos = offsets.back() + kRecordHeaderBytes; pos < bytes.size(); ++pos) {
    std::string bad = bytes;
    bad[pos] ^= 0x04;
    WriteBytes(paths_.back(), bad);
    auto state = Load();
    ASSERT_TRUE(state) << "flip at " << pos << ": " << state.error().message;
    EXPECT_EQ(state->entries, MakeEntries(1, 4, 1));
    ASSERT_EQ(state->warnings.size(), 1u);
    EXPECT_TRUE(Contains(state->warnings[0], "bad CRC")) << state->warnings[0];
    WriteBytes(paths_.back(), bytes);
  }
}

TEST_F(FileStorageDamageTest, ZeroFilledTailIsTruncated) {
  WriteLog(5);
  std::string bytes = ReadBytes(paths_.back());
  WriteBytes(paths_.back(), bytes + std::string(4096, '\0'));
  auto state = Load();
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->entries, MakeEntries(1, 5, 1));
  EXPECT_EQ(state->warnings.size(), 1u);
  EXPECT_EQ(ReadBytes(paths_.back()), bytes);
}

TEST_F(FileStorageDamageTest, PartialRecordFollowedByZerosIsTruncated) {
  auto offsets = WriteLog(5);
  std::string bytes = ReadBytes(paths_.back());
  // Half of the last record reached the disk, the file system padded the rest with zeros.
  uint64_t half = offsets.back() + (bytes.size() - offsets.back()) / 2;
  WriteBytes(paths_.back(), bytes.substr(0, half) + std::string(bytes.size() - half + 100, '\0'));
  auto state = Load();
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->entries, MakeEntries(1, 4, 1));
}

TEST_F(FileStorageDamageTest, BitFlipInAMiddleRecordRefusesToStart) {
  auto offsets = WriteLog(5);
  std::string bytes = ReadBytes(paths_.back());
  const uint64_t third = offsets[2];
  // Every byte of the third record: header CRC, length, type, payload CRC, payload.
  for (uint64_t pos = third; pos < offsets[3]; ++pos) {
    std::string bad = bytes;
    bad[pos] ^= 0x20;
    WriteBytes(paths_.back(), bad);
    auto state = Load();
    ASSERT_FALSE(state) << "flip at " << pos << " was not detected";
    EXPECT_EQ(state.error().code, StorageError::Code::kCorruption);
    EXPECT_TRUE(
        Contains(state.error().message, paths_.back() + " at offset " + std::to_string(third)))
        << state.error().message;
  }
  WriteBytes(paths_.back(), bytes);
  EXPECT_TRUE(Load());
}

TEST_F(FileStorageDamageTest, BitFlipInTheLastRecordHeaderRefusesToStart) {
  // A damaged header followed by its payload is not what a crash leaves behind.
  auto offsets = WriteLog(5);
  std::string bytes = ReadBytes(paths_.back());
  bytes[offsets.back() + 5] ^= 0x01;  // the length
  WriteBytes(paths_.back(), bytes);
  auto state = Load();
  ASSERT_FALSE(state);
  EXPECT_TRUE(Contains(state.error().message, "bad record header CRC")) << state.error().message;
}

TEST_F(FileStorageDamageTest, DamageInAClosedSegmentRefusesToStart) {
  WriteLog(60, /*segment_bytes=*/256);
  ASSERT_GE(paths_.size(), 3u);
  const std::string closed = paths_[1];
  const std::string original = ReadBytes(closed);
  // A flipped byte in its last record: at the end of that file, but the file is not the last.
  std::string bad = original;
  bad[bad.size() - 1] ^= 0x01;
  WriteBytes(closed, bad);
  auto state = Load();
  ASSERT_FALSE(state);
  EXPECT_TRUE(Contains(state.error().message, closed + " at offset")) << state.error().message;
  // Cut short: also corruption, never "torn", in a closed segment.
  WriteBytes(closed, original.substr(0, original.size() - 3));
  state = Load();
  ASSERT_FALSE(state);
  EXPECT_TRUE(Contains(state.error().message, closed)) << state.error().message;
  EXPECT_TRUE(Contains(state.error().message, "extends past the end")) << state.error().message;
  // Emptied.
  WriteBytes(closed, "");
  state = Load();
  ASSERT_FALSE(state);
  EXPECT_TRUE(Contains(state.error().message, "no header")) << state.error().message;
  WriteBytes(closed, original);
  EXPECT_TRUE(Load());
}

TEST_F(FileStorageDamageTest, MissingSegmentRefusesToStart) {
  WriteLog(60, 256);
  ASSERT_GE(paths_.size(), 4u);
  std::filesystem::remove(paths_[2]);
  auto state = Load();
  ASSERT_FALSE(state);
  EXPECT_EQ(state.error().code, StorageError::Code::kCorruption);
  EXPECT_TRUE(Contains(state.error().message, "gap in the log")) << state.error().message;
  EXPECT_TRUE(Contains(state.error().message, paths_[1])) << state.error().message;
  EXPECT_TRUE(Contains(state.error().message, paths_[3])) << state.error().message;
}

TEST_F(FileStorageDamageTest, GapBetweenTheSnapshotAndTheLogRefusesToStart) {
  WriteLog(60, 256);
  {
    auto s = Open(256);
    ASSERT_TRUE(s->Load());
    ASSERT_TRUE(s->SaveSnapshot(MakeSnapshot(5, 1)));
    paths_ = s->SegmentPaths();
  }
  ASSERT_LE(*ParseSegmentName(std::filesystem::path(paths_[0]).filename().string()), 6u);
  std::filesystem::remove(paths_[0]);  // the segment holding index 6
  auto state = Load();
  ASSERT_FALSE(state);
  EXPECT_TRUE(Contains(state.error().message, "gap between the snapshot")) << state.error().message;
  EXPECT_TRUE(Contains(state.error().message, paths_[1])) << state.error().message;
}

TEST_F(FileStorageDamageTest, LogStartingAfterIndexOneWithoutSnapshotRefusesToStart) {
  WriteLog(60, 256);
  std::filesystem::remove(paths_[0]);
  auto state = Load();
  ASSERT_FALSE(state);
  EXPECT_TRUE(Contains(state.error().message, "gap between the snapshot")) << state.error().message;
}

TEST_F(FileStorageDamageTest, DamagedHardStateOrSnapshotRefusesToStart) {
  WriteLog(5);
  {
    auto s = Open();
    ASSERT_TRUE(s->Load());
    ASSERT_TRUE(s->SaveHardState({.term = 3, .vote = 1, .commit = 2}));
    ASSERT_TRUE(s->SaveSnapshot(MakeSnapshot(2, 1)));
    ASSERT_TRUE(s->Sync());
  }
  for (const char* name : {FileStorage::kHardStateFile, FileStorage::kSnapshotFile}) {
    const std::string path = dir_ + "/" + name;
    std::string bytes = ReadBytes(path);
    std::string bad = bytes;
    bad[bad.size() - 2] ^= 0x40;
    WriteBytes(path, bad);
    auto state = Load();
    ASSERT_FALSE(state) << name;
    EXPECT_TRUE(Contains(state.error().message, path)) << state.error().message;
    WriteBytes(path, bytes);
  }
  EXPECT_TRUE(Load());
}

// The crash the atomic write guards against, on the real file system: the new hard state was
// written to the temp file (maybe not completely) but not renamed over the old one.
TEST_F(FileStorageDamageTest, CrashBetweenTempWriteAndRenameLeavesTheOldHardState) {
  const HardState old_state{.term = 4, .vote = 2, .commit = 3};
  {
    auto s = Open();
    ASSERT_TRUE(s->Load());
    ASSERT_TRUE(s->Append(MakeEntries(1, 5, 4)));
    ASSERT_TRUE(s->SaveHardState(old_state));
    ASSERT_TRUE(s->Sync());
  }
  const std::string tmp = dir_ + "/" + FileStorage::kHardStateFile + ".tmp";
  std::string next = EncodeHardStateFile({.term = 5, .vote = 3, .commit = 4});
  for (size_t written : {size_t{0}, next.size() / 2, next.size()}) {
    WriteBytes(tmp, next.substr(0, written));
    auto state = Load();
    ASSERT_TRUE(state) << state.error().message;
    EXPECT_EQ(state->hard_state, old_state);
    ASSERT_EQ(state->warnings.size(), 1u);
    EXPECT_TRUE(Contains(state->warnings[0], tmp));
    EXPECT_FALSE(std::filesystem::exists(tmp));
  }
}

TEST_F(FileStorageDamageTest, FsyncFailureIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The fsync is injected: it fails with EIO the way a dying disk's does.
  bool fail = false;
  PosixFs failing_fs([&fail](int fd) {
    if (!fail) return ::fsync(fd);
    errno = EIO;
    return -1;
  });
  FileStorage s(dir_, {}, &failing_fs);
  ASSERT_TRUE(s.Load());
  ASSERT_TRUE(s.Append(MakeEntries(1, 3, 1)));
  fail = true;
  EXPECT_DEATH((void)s.Sync(), "FATAL: raft storage: fsync .*raft.*Input/output error");
  // Also when the fsync is one of a snapshot's atomic write.
  EXPECT_DEATH((void)s.SaveSnapshot(MakeSnapshot(2, 1)), "FATAL: .*fsync");
}

}  // namespace
}  // namespace rl::raft
