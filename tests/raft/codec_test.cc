// Encodings round-trip, and decoding hostile bytes fails cleanly (run under ASan in CI).
#include "raft/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/raft/test_util.h"

namespace rl::raft {
namespace {

Message FullMessage() {
  Message m;
  m.type = MessageType::kSnap;
  m.from = 3;
  m.to = 0xffffffffffffffffULL;
  m.term = 7;
  m.log_term = 6;
  m.index = 1ULL << 40;
  m.commit = 99;
  m.entries = {test::E(100, 6, "abc"), test::E(101, 7, std::string("\0\xff", 2))};
  m.entries[1].type = EntryType::kConfChange;
  m.reject = true;
  m.leader_transfer = true;
  m.reject_hint = 12;
  m.context = 42;
  m.snapshot = Snapshot{{.index = 90, .term = 5, .conf = {{1, 2, 3}, {4}}}, "state"};
  return m;
}

TEST(CodecTest, MessageRoundTrips) {
  for (const Message& m :
       {Message{}, FullMessage(), Message{.type = MessageType::kHeartbeat, .from = 1, .to = 2}}) {
    std::string bytes = EncodeMessage(m);
    EXPECT_EQ(static_cast<uint8_t>(bytes[0]), kCodecVersion);
    auto back = DecodeMessage(bytes);
    ASSERT_TRUE(back.has_value()) << back.error();
    EXPECT_EQ(*back, m);
  }
}

TEST(CodecTest, EntryConfChangeAndMetaRoundTrip) {
  Entry e = test::E(5, 2, "payload");
  EXPECT_EQ(DecodeEntry(EncodeEntry(e)), e);
  for (uint8_t t = 1; t <= kMaxConfChangeType; ++t) {
    ConfChange c{static_cast<ConfChangeType>(t), 77};
    EXPECT_EQ(DecodeConfChange(EncodeConfChange(c)), c);
  }
  SnapshotMeta meta{.index = 9, .term = 3, .conf = {{1, 5}, {6}}};
  EXPECT_EQ(DecodeSnapshotMeta(EncodeSnapshotMeta(meta)), meta);
}

TEST(CodecTest, RejectsMalformedInput) {
  const std::string good = EncodeMessage(FullMessage());
  EXPECT_FALSE(DecodeMessage("").has_value());
  std::string bad_version = good;
  bad_version[0] = 2;
  EXPECT_FALSE(DecodeMessage(bad_version).has_value());
  std::string bad_type = good;
  bad_type[1] = 0;
  EXPECT_FALSE(DecodeMessage(bad_type).has_value());
  bad_type[1] = static_cast<char>(kMaxMessageType + 1);
  EXPECT_FALSE(DecodeMessage(bad_type).has_value());
  std::string bad_flags = good;
  bad_flags[2] = static_cast<char>(0x80);
  EXPECT_FALSE(DecodeMessage(bad_flags).has_value());
  EXPECT_FALSE(DecodeMessage(good + "x").has_value()) << "trailing bytes";
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeMessage(good.substr(0, n)).has_value()) << "truncated at " << n;
  }
  // A varint of 11 bytes, and one that overflows 64 bits.
  std::string header = {static_cast<char>(kCodecVersion), 1, 0};
  EXPECT_FALSE(DecodeMessage(header + std::string(11, '\x80')).has_value());
  EXPECT_FALSE(DecodeMessage(header + std::string(9, '\xff') + '\x02').has_value());
  // A huge entry count with nothing behind it must not allocate for it.
  std::string huge = header + std::string(8, '\0') + std::string(9, '\xff') + '\x01';
  EXPECT_FALSE(DecodeMessage(huge).has_value());
  EXPECT_FALSE(DecodeConfChange(std::string{static_cast<char>(kCodecVersion), 9, 1}).has_value());
  std::string bad_entry = EncodeEntry(test::E(1, 1));
  bad_entry[3] = 7;  // entry type
  EXPECT_FALSE(DecodeEntry(bad_entry).has_value());
}

TEST(CodecTest, RandomCorruptionNeverCrashes) {
  const uint64_t seed = 20240501;
  SCOPED_TRACE(seed);
  std::mt19937_64 rng(seed);
  const std::string good = EncodeMessage(FullMessage());
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    auto m = DecodeMessage(bytes);
    if (m) {
      ++decoded;
      EXPECT_EQ(DecodeMessage(EncodeMessage(*m)), m);  // whatever decodes is well-formed
    }
  }
  // Some corruptions hit data bytes and still decode; most structural ones do not.
  EXPECT_GT(decoded, 0);
  EXPECT_LT(decoded, 20000);
}

}  // namespace
}  // namespace rl::raft
