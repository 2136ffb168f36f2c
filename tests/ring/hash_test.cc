// Vectors for every twemproxy hash function. The "apple" values are nutcracker 0.5.0's own; the
// table below was produced by an independent Python transcription of twemproxy's C code (signed
// char widening included), and the placements are checked against the real nutcracker by
// nutcracker_diff_test.
#include "ring/hash.h"

#include <string>

#include "gtest/gtest.h"

namespace rl::ring {
namespace {

constexpr HashKind kAll[kHashKindCount] = {
    HashKind::kOneAtATime, HashKind::kMd5,     HashKind::kCrc16,    HashKind::kCrc32,
    HashKind::kCrc32a,     HashKind::kFnv1_64, HashKind::kFnv1a_64, HashKind::kFnv1_32,
    HashKind::kFnv1a_32,   HashKind::kHsieh,   HashKind::kMurmur,   HashKind::kJenkins,
};

TEST(HashTest, AppleVectorsFromNutcracker) {
  const std::pair<HashKind, uint32_t> expected[] = {
      {HashKind::kOneAtATime, 2297466611u}, {HashKind::kMd5, 3195025439u},
      {HashKind::kCrc16, 3662830516u},      {HashKind::kCrc32, 10542u},
      {HashKind::kCrc32a, 2838417488u},     {HashKind::kFnv1_32, 67176023u},
      {HashKind::kFnv1a_32, 280767167u},    {HashKind::kFnv1_64, 473199127u},
      {HashKind::kFnv1a_64, 1488911807u},   {HashKind::kHsieh, 3738850110u},
      {HashKind::kJenkins, 1442444624u},    {HashKind::kMurmur, 4142305122u},
  };
  for (const auto& [kind, value] : expected) {
    EXPECT_EQ(Hash(kind, "apple"), value) << HashKindName(kind);
  }
}

std::string LongKey() {
  std::string key;
  for (int i = 0; i < 1000; ++i) key.push_back(static_cast<char>((i * 37 + 11) % 256));
  return key;
}

struct Vector {
  std::string key;
  uint32_t values[kHashKindCount];  // in kAll order
};

// Empty key, single bytes on both sides of 0x80 (sign extension), 3-byte tails (hsieh's signed
// read), UTF-8, NUL bytes, multi-block lengths for jenkins (13, 24) and a 1000-byte key.
const Vector kVectors[] = {
    {std::string("", 0),
     {0, 3649838548, 0, 0, 0, 2216829733, 2216829733, 2166136261, 2166136261, 0, 0, 3735928572}},
    {std::string("a", 1),
     {3392050242, 3111502092, 31879, 26807, 3904355907, 2248259518, 2248273036, 84696446,
      3826002220, 2472816263, 1262581116, 3768813200}},
    {std::string("\x80"
                 "",
                 1),
     {3273477671, 2128427405, 37256, 16314, 1069182125, 2046707807, 2046684255, 4210270879,
      83079839, 3606367026, 2421514821, 2976898632}},
    {std::string("\xff"
                 "",
                 1),
     {2925896852, 3561969920, 7920, 32512, 4278190080, 2046707744, 2046707310, 4210270944,
      4193493326, 44489640, 3679652508, 3784723880}},
    {std::string("ab\x90"
                 "",
                 3),
     {3057299815, 2766876765, 2087994026, 4496, 294707812, 2488291896, 4206800334, 3160658104,
      3904379822, 1764086348, 2712688730, 2798896945}},
    {std::string("ab\xc3"
                 "\xa9"
                 "",
                 4),
     {251940285, 1513370108, 1948827049, 9808, 2790313973, 4219729016, 4008181222, 2212372056,
      2884937126, 3317600486, 1656188359, 2675088223}},
    {std::string("\x00"
                 "\x01"
                 "\x7f"
                 "\x80"
                 "\xfe"
                 "\xff"
                 "",
                 6),
     {2554440543, 1512689606, 3197577646, 31222, 4193648871, 3814005672, 2509430754, 2569611048,
      483315586, 1251363041, 1797842705, 4072717214}},
    {std::string("123456789", 9),
     {3328923845, 2498230565, 2257596867, 19444, 3421780262, 737744598, 600231420, 605325334,
      3146166556, 3841726064, 3077965456, 427260662}},
    {std::string("hello, world!", 13),
     {1395890823, 3518683962, 2085640118, 22680, 1486392595, 4124678534, 1216506004, 3605494790,
      2316077684, 2808023792, 1625384509, 2759591254}},
    {std::string("abcdefghijklmnopqrstuvwx", 24),
     {1559112504, 3481538060, 742594872, 8579, 562261492, 640824341, 1628417501, 2650752053,
      926968317, 2620511772, 672236882, 192687062}},
    {LongKey(),
     {2232903169, 3783969731, 1718832796, 17296, 3281017373, 2130012653, 2108544677, 1508767949,
      1894725765, 4044664356, 3553019823, 2310194757}},
    {std::string("user:{1000}:profile", 19),
     {1387150650, 3361405912, 2318828182, 26965, 3914662034, 1733972498, 1915158000, 1018191762,
      2373142608, 3756693338, 3071604734, 2045486552}},
};

TEST(HashTest, TableOfVectors) {
  for (const Vector& v : kVectors) {
    for (int i = 0; i < kHashKindCount; ++i) {
      EXPECT_EQ(Hash(kAll[i], v.key), v.values[i])
          << HashKindName(kAll[i]) << " of a " << v.key.size() << "-byte key";
    }
  }
}

TEST(HashTest, StandardAlgorithmsWhereTwemproxyIsStandard) {
  // crc32a is plain CRC-32; crc16's low 16 bits are CRC-16/XMODEM; fnv1a_32 and fnv1_32 agree
  // with FNV on ASCII (bytes below 0x80 are not affected by the sign extension).
  EXPECT_EQ(Hash(HashKind::kCrc32a, "123456789"), 0xcbf43926u);
  EXPECT_EQ(Hash(HashKind::kCrc16, "123456789") & 0xffff, 0x31c3u);
  EXPECT_NE(Hash(HashKind::kCrc16, "123456789") >> 16, 0u) << "crc16's state must stay unmasked";
  EXPECT_EQ(Hash(HashKind::kFnv1a_32, "a"), 0xe40c292cu);
  EXPECT_EQ(Hash(HashKind::kFnv1_32, "a"), 0x050c5d7eu);
  EXPECT_EQ(Hash(HashKind::kCrc32, "123456789"), (0xcbf43926u >> 16) & 0x7fff);
}

TEST(HashTest, SignExtensionQuirk) {
  // Standard FNV-1a-32 of the byte 0x80 would be (0x811c9dc5 ^ 0x80) * 16777619; twemproxy
  // xors 0xffffff80 instead.
  const uint32_t standard = (0x811c9dc5u ^ 0x80u) * 16777619u;
  const uint32_t twemproxy = (0x811c9dc5u ^ 0xffffff80u) * 16777619u;
  EXPECT_NE(standard, twemproxy);
  EXPECT_EQ(Hash(HashKind::kFnv1a_32, "\x80"), twemproxy);
  // fnv1a_64 is FNV-1a with a 32-bit state and the 64-bit constants truncated.
  EXPECT_EQ(Hash(HashKind::kFnv1a_64, "\x80"), (0x84222325u ^ 0xffffff80u) * 0x1b3u);
}

TEST(HashTest, Crc32IsFifteenBits) {
  for (int i = 0; i < 2000; ++i) {
    EXPECT_LT(Hash(HashKind::kCrc32, "key:" + std::to_string(i)), 32768u);
  }
}

TEST(HashTest, NamesRoundTrip) {
  for (HashKind kind : kAll) {
    const auto parsed = ParseHashKind(HashKindName(kind));
    ASSERT_TRUE(parsed.has_value()) << HashKindName(kind);
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(ParseHashKind("fnv1a_64"), HashKind::kFnv1a_64);
  EXPECT_EQ(ParseHashKind("one_at_a_time"), HashKind::kOneAtATime);
  EXPECT_FALSE(ParseHashKind("FNV1A_64").has_value());
  EXPECT_FALSE(ParseHashKind("").has_value());
  EXPECT_FALSE(ParseHashKind("sha1").has_value());
}

}  // namespace
}  // namespace rl::ring
