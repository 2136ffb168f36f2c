// Unit tests of placement rules: server identity, ketama point counts, hash tags, the empty key,
// one-server pools, modula slots, random picks, the continuum's shape, and small Diff cases.
#include "ring/ring.h"

#include <algorithm>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rl::ring {
namespace {

std::vector<Member> Members(std::initializer_list<std::pair<const char*, uint32_t>> list) {
  std::vector<Member> out;
  for (const auto& [id, w] : list) out.push_back({id, w});
  return out;
}

Ring Ketama(std::vector<Member> members, HashKind hash = HashKind::kFnv1a_64,
            std::string tag = "") {
  return Ring::Build(std::move(members), {hash, Distribution::kKetama, std::move(tag)});
}

TEST(ServerIdentityTest, TwemproxyRules) {
  EXPECT_EQ(ServerIdentity("cache-1", "127.0.0.1", 6379), "cache-1");
  EXPECT_EQ(ServerIdentity("", "127.0.0.1", 6379), "127.0.0.1:6379");
  EXPECT_EQ(ServerIdentity("", "127.0.0.1", 11211), "127.0.0.1");  // libmemcached rule
  EXPECT_EQ(ServerIdentity("named", "127.0.0.1", 11211), "named");
  EXPECT_EQ(ServerIdentity("", "redis.example", 6380), "redis.example:6380");
  EXPECT_EQ(ServerIdentity("", "/var/run/redis.sock", 0), "/var/run/redis.sock:");
  EXPECT_EQ(ServerIdentity("s", "/var/run/redis.sock", 0), "s");
  EXPECT_EQ(ServerIdentityFromText("", "10.0.0.1", "06379"), "10.0.0.1:06379");
  EXPECT_EQ(ServerIdentityFromText("", "10.0.0.1", "011211"), "10.0.0.1");
  EXPECT_EQ(ServerIdentityFromText("", "10.0.0.1", "6379"), "10.0.0.1:6379");
}

TEST(DistributionTest, Names) {
  EXPECT_EQ(ParseDistribution("ketama"), Distribution::kKetama);
  EXPECT_EQ(ParseDistribution("modula"), Distribution::kModula);
  EXPECT_EQ(ParseDistribution("random"), Distribution::kRandom);
  EXPECT_FALSE(ParseDistribution("Ketama").has_value());
  for (auto d : {Distribution::kKetama, Distribution::kModula, Distribution::kRandom}) {
    EXPECT_EQ(ParseDistribution(DistributionName(d)), d);
  }
}

TEST(KetamaPointsTest, EqualWeightsGet160ExceptWhereFloatRoundsDown) {
  EXPECT_EQ(KetamaPointsPerServer(1, 1, 1), 160u);
  EXPECT_EQ(KetamaPointsPerServer(1, 3, 3), 160u);
  EXPECT_EQ(KetamaPointsPerServer(7, 28, 4), 160u);
  // In single precision (1/25) * 160 / 4 * 25 is just below 40: twemproxy gives 156 points.
  EXPECT_EQ(KetamaPointsPerServer(1, 25, 25), 156u);
  EXPECT_EQ(KetamaPointsPerServer(1, 100, 100), 156u);
}

TEST(KetamaPointsTest, UnequalWeights) {
  EXPECT_EQ(KetamaPointsPerServer(1, 6, 3), 80u);
  EXPECT_EQ(KetamaPointsPerServer(2, 6, 3), 160u);
  EXPECT_EQ(KetamaPointsPerServer(3, 6, 3), 240u);
  EXPECT_EQ(KetamaPointsPerServer(1, 1001, 2), 0u);  // too light to get a single point
  EXPECT_EQ(KetamaPointsPerServer(1000, 1001, 2), 316u);
  // Weights 1, 2, 4, 8, 10 (total 25): all but 10 round down in float (exact: 32, 64, 128, 256,
  // 320).
  EXPECT_EQ(KetamaPointsPerServer(1, 25, 5), 28u);
  EXPECT_EQ(KetamaPointsPerServer(2, 25, 5), 60u);
  EXPECT_EQ(KetamaPointsPerServer(4, 25, 5), 124u);
  EXPECT_EQ(KetamaPointsPerServer(8, 25, 5), 252u);
  EXPECT_EQ(KetamaPointsPerServer(10, 25, 5), 320u);
}

TEST(KetamaRingTest, ContinuumShape) {
  Ring ring = Ketama(Members({{"a", 1}, {"b", 2}, {"c", 3}}));
  ASSERT_EQ(ring.point_values().size(), 80u + 160u + 240u);
  EXPECT_TRUE(std::is_sorted(ring.point_values().begin(), ring.point_values().end()));
  size_t counts[3] = {};
  for (uint32_t m : ring.point_members()) ++counts[m];
  EXPECT_EQ(counts[0], 80u);
  EXPECT_EQ(counts[1], 160u);
  EXPECT_EQ(counts[2], 240u);
}

TEST(KetamaRingTest, LowerBoundWithWrapAround) {
  Ring ring = Ketama(Members({{"a", 1}, {"b", 1}, {"c", 1}}));
  const auto v = ring.point_values();
  const auto m = ring.point_members();
  EXPECT_EQ(ring.LookupHash(0), m[0]);
  EXPECT_EQ(ring.LookupHash(v[0]), m[0]);
  EXPECT_EQ(ring.LookupHash(v[0] + 1), m[1]);
  EXPECT_EQ(ring.LookupHash(v[10]), m[10]);
  EXPECT_EQ(ring.LookupHash(v.back()), m.back());
  if (v.back() != 0xffffffffu) {
    EXPECT_EQ(ring.LookupHash(v.back() + 1), m[0]);
  }
  EXPECT_EQ(ring.LookupHash(0xffffffffu), v.back() == 0xffffffffu ? m.back() : m[0]);
}

TEST(KetamaRingTest, PointsAreMd5OfIdentityDashIndex) {
  // A one-member ring: its 160 points are the 4 little-endian words of MD5("solo-0") ...
  // MD5("solo-39"). MD5("solo-0") is checked through the md5 key hash (its first word).
  Ring ring = Ketama(Members({{"solo", 1}}));
  ASSERT_EQ(ring.point_values().size(), 160u);
  const uint32_t first_word = Hash(HashKind::kMd5, "solo-0");
  EXPECT_TRUE(
      std::binary_search(ring.point_values().begin(), ring.point_values().end(), first_word));
  // Reordering members does not change a member's points (only identities are hashed).
  Ring ab = Ketama(Members({{"a", 1}, {"b", 1}}));
  Ring ba = Ketama(Members({{"b", 1}, {"a", 1}}));
  for (size_t i = 0; i < ab.point_values().size(); ++i) {
    EXPECT_EQ(ab.point_values()[i], ba.point_values()[i]);
    EXPECT_EQ(ab.members()[ab.point_members()[i]].identity,
              ba.members()[ba.point_members()[i]].identity);
  }
}

TEST(KetamaRingTest, LongIdentitiesAreCutAt272Bytes) {
  // "identity-i" is hashed only up to 272 bytes (nutcracker 0.5.0's buffer).
  auto distinct = [](const Ring& r) {
    return std::set<uint32_t>(r.point_values().begin(), r.point_values().end()).size();
  };
  // 269 + "-10" = 272 bytes: every digest distinct.
  EXPECT_EQ(distinct(Ketama(Members({{std::string(269, 'L').c_str(), 1}}))), 160u);
  // 270: "-10".."-39" are cut to "-1", so only groups 0..9 are distinct.
  EXPECT_EQ(distinct(Ketama(Members({{std::string(270, 'L').c_str(), 1}}))), 40u);
  // 300: every group is cut to the same 272 bytes.
  EXPECT_EQ(distinct(Ketama(Members({{std::string(300, 'L').c_str(), 1}}))), 4u);
}

TEST(HashTagTest, TwemproxyRules) {
  Ring ring = Ketama(Members({{"a", 1}, {"b", 1}}), HashKind::kFnv1a_64, "{}");
  EXPECT_EQ(ring.HashedPart("user:{42}:name"), "42");
  EXPECT_EQ(ring.HashedPart("{42}"), "42");
  EXPECT_EQ(ring.HashedPart("a{b}c{d}"), "b");                 // first tag wins
  EXPECT_EQ(ring.HashedPart("a{{b}}"), "{b");                  // first '{', then the first '}'
  EXPECT_EQ(ring.HashedPart("user:{}:name"), "user:{}:name");  // empty tag: whole key
  EXPECT_EQ(ring.HashedPart("no-tag"), "no-tag");
  EXPECT_EQ(ring.HashedPart("open{only"), "open{only");
  EXPECT_EQ(ring.HashedPart("}close{"), "}close{");  // no '}' after the '{'
  EXPECT_EQ(ring.HashedPart("a}b{c}d"), "c");
  EXPECT_EQ(ring.HashedPart("{}{x}"), "{}{x}");  // first '{' is followed by '}' at once
  EXPECT_EQ(ring.HashedPart(""), "");
  EXPECT_EQ(ring.Lookup("x{tag}y"), ring.Lookup("tag"));
  EXPECT_EQ(ring.KeyHash("x{tag}y"), Hash(HashKind::kFnv1a_64, "tag"));

  Ring same_char = Ketama(Members({{"a", 1}, {"b", 1}}), HashKind::kMurmur, "$$");
  EXPECT_EQ(same_char.HashedPart("a$bc$d$"), "bc");
  EXPECT_EQ(same_char.HashedPart("a$$b"), "a$$b");

  Ring untagged = Ketama(Members({{"a", 1}, {"b", 1}}));
  EXPECT_EQ(untagged.HashedPart("user:{42}:name"), "user:{42}:name");
}

TEST(EmptyKeyTest, HashesToZero) {
  Ring ketama = Ketama(Members({{"a", 1}, {"b", 1}, {"c", 1}}), HashKind::kJenkins);
  EXPECT_EQ(ketama.KeyHash(""), 0u);  // jenkins("") itself would be 0xdeadbeef + 13
  EXPECT_EQ(ketama.Lookup(""), ketama.point_members()[0]);
  Ring modula =
      Ring::Build(Members({{"a", 2}, {"b", 1}}), {HashKind::kJenkins, Distribution::kModula, ""});
  EXPECT_EQ(modula.Lookup(""), 0u);
}

TEST(OneServerTest, EverythingGoesToIt) {
  for (auto d : {Distribution::kKetama, Distribution::kModula, Distribution::kRandom}) {
    Ring ring = Ring::Build(Members({{"only", 5}}), {HashKind::kMd5, d, "{}"});
    for (const char* key : {"", "a", "b{c}d", "\xff\xfe"}) EXPECT_EQ(ring.Lookup(key), 0u);
    EXPECT_EQ(ring.PickRandom(12345), 0u);
  }
}

TEST(ModulaTest, OneSlotPerUnitOfWeightInMemberOrder) {
  Ring ring = Ring::Build(Members({{"a", 2}, {"b", 1}, {"c", 3}}),
                          {HashKind::kFnv1a_64, Distribution::kModula, ""});
  EXPECT_TRUE(ring.point_values().empty());
  const uint32_t expected[6] = {0, 0, 1, 2, 2, 2};
  for (uint32_t h = 0; h < 60; ++h) EXPECT_EQ(ring.LookupHash(h), expected[h % 6]) << h;
  EXPECT_EQ(ring.LookupHash(0xffffffffu), expected[0xffffffffu % 6]);
  EXPECT_EQ(ring.Lookup("apple"), expected[Hash(HashKind::kFnv1a_64, "apple") % 6]);
}

TEST(ServerOrderTest, TwemproxySortsByLengthThenBytes) {
  EXPECT_TRUE(TwemproxyLess("b", "aa"));  // shorter first
  EXPECT_TRUE(TwemproxyLess("a", "b"));
  EXPECT_FALSE(TwemproxyLess("b", "a"));
  EXPECT_FALSE(TwemproxyLess("a", "a"));
  EXPECT_TRUE(TwemproxyLess("9.0.0.1:6379", "10.0.0.1:6379"));
  EXPECT_TRUE(TwemproxyLess("a", "\x80"));                                      // unsigned bytes
  EXPECT_FALSE(TwemproxyLess(std::string("a\0x", 3), std::string("a\0y", 3)));  // strncmp
}

TEST(ServerOrderTest, ModulaSlotsFollowTwemproxyOrderNotConfigOrder) {
  Ring ring = Ring::Build(Members({{"bb", 1}, {"a", 1}, {"ccc", 1}, {"b", 1}}),
                          {HashKind::kFnv1a_64, Distribution::kModula, ""});
  const uint32_t order[4] = {1, 3, 0, 2};  // "a", "b", "bb", "ccc"
  ASSERT_EQ(ring.twemproxy_order().size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ring.twemproxy_order()[i], order[i]);
  for (uint32_t h = 0; h < 40; ++h) EXPECT_EQ(ring.LookupHash(h), order[h % 4]) << h;
  EXPECT_EQ(ring.PickRandom(1), 3u);
  // Reordering the configuration moves no key, and Diff knows it.
  Ring reordered = Ring::Build(Members({{"ccc", 1}, {"b", 1}, {"a", 1}, {"bb", 1}}),
                               {HashKind::kFnv1a_64, Distribution::kModula, ""});
  for (const char* key : {"x", "y", "apple", "user:1", ""}) {
    EXPECT_EQ(ring.members()[ring.Lookup(key)].identity,
              reordered.members()[reordered.Lookup(key)].identity);
  }
  EXPECT_TRUE(Diff(ring, reordered).empty());
}

TEST(RandomTest, WeightsIgnored) {
  Ring ring = Ring::Build(Members({{"a", 5}, {"b", 1}, {"c", 1}}),
                          {HashKind::kFnv1a_64, Distribution::kRandom, ""});
  for (uint32_t draw = 0; draw < 30; ++draw) EXPECT_EQ(ring.PickRandom(draw), draw % 3);
  EXPECT_EQ(ring.Lookup("apple"), Hash(HashKind::kFnv1a_64, "apple") % 3);
}

TEST(MovedRangeTest, Contains) {
  const MovedRange plain{10, 20, 0, 1};
  EXPECT_FALSE(plain.Contains(10));
  EXPECT_TRUE(plain.Contains(11));
  EXPECT_TRUE(plain.Contains(20));
  EXPECT_FALSE(plain.Contains(21));
  const MovedRange wrap{0xfffffff0u, 5, 0, 1};
  EXPECT_TRUE(wrap.Contains(0xffffffffu));
  EXPECT_TRUE(wrap.Contains(0));
  EXPECT_TRUE(wrap.Contains(5));
  EXPECT_FALSE(wrap.Contains(6));
  EXPECT_FALSE(wrap.Contains(0xfffffff0u));
  const MovedRange full{7, 7, kAnyMember, kAnyMember};
  EXPECT_TRUE(full.full_circle());
  EXPECT_TRUE(full.Contains(7));
  EXPECT_TRUE(full.Contains(0));
}

TEST(DiffTest, IdenticalRingsHaveNoMovedRanges) {
  Ring a = Ketama(Members({{"a", 1}, {"b", 2}}));
  Ring b = Ketama(Members({{"a", 1}, {"b", 2}}));
  EXPECT_TRUE(Diff(a, b).empty());
  Ring m1 = Ring::Build(Members({{"a", 1}, {"b", 2}}), {HashKind::kMd5, Distribution::kModula, ""});
  Ring m2 = Ring::Build(Members({{"a", 1}, {"b", 2}}), {HashKind::kMd5, Distribution::kModula, ""});
  EXPECT_TRUE(Diff(m1, m2).empty());
}

TEST(DiffTest, ReplacingTheOnlyServerMovesTheWholeCircle) {
  Ring a = Ketama(Members({{"a", 1}}));
  Ring b = Ketama(Members({{"b", 1}}));
  const auto moved = Diff(a, b);
  // Every arc between consecutive points of the union changes owner; merged, that is one arc.
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_TRUE(moved[0].full_circle());
  EXPECT_EQ(moved[0].old_member, 0u);
  EXPECT_EQ(moved[0].new_member, 0u);
}

TEST(DiffTest, ModulaChangeIsTheWholeCircle) {
  Ring a = Ring::Build(Members({{"a", 1}, {"b", 1}}), {HashKind::kMd5, Distribution::kModula, ""});
  Ring b = Ring::Build(Members({{"a", 1}, {"b", 1}, {"c", 1}}),
                       {HashKind::kMd5, Distribution::kModula, ""});
  const auto moved = Diff(a, b);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_TRUE(moved[0].full_circle());
  EXPECT_EQ(moved[0].old_member, kAnyMember);
  // Changing the hash function of a ketama ring moves every key too.
  const auto rehash = Diff(Ketama(Members({{"a", 1}, {"b", 1}}), HashKind::kMd5),
                           Ketama(Members({{"a", 1}, {"b", 1}}), HashKind::kMurmur));
  ASSERT_EQ(rehash.size(), 1u);
  EXPECT_TRUE(rehash[0].full_circle());
}

TEST(DiffTest, EmptyRings) {
  Ring empty = Ring::Build({}, {});
  Ring some = Ketama(Members({{"a", 1}}));
  EXPECT_TRUE(Diff(empty, some).empty());
  EXPECT_TRUE(Diff(some, empty).empty());
}

TEST(RingDeathTest, BrokenRequirementsAbort) {
  EXPECT_DEATH(Ring::Build(Members({{"a", 0}}), {}), "weight");
  EXPECT_DEATH(Ring::Build(Members({{"a", 1}}), {HashKind::kMd5, Distribution::kKetama, "{"}),
               "hash_tag");
  EXPECT_DEATH(Ring::Build(Members({{"a", 0xffffffffu}, {"b", 1}}), {}), "total weight");
  EXPECT_DEATH(Ring::Build({}, {}).Lookup("x"), "empty ring");
}

// Make is Build for input from the network: the same checks, as errors, and duplicates too.
TEST(RingMakeTest, MalformedInputIsAnErrorNotAnAbort) {
  auto zero = Ring::Make(Members({{"a", 1}, {"b", 0}}), {});
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error(), "member 'b' has weight 0");
  auto tag = Ring::Make(Members({{"a", 1}}), {HashKind::kMd5, Distribution::kKetama, "{"});
  ASSERT_FALSE(tag.has_value());
  EXPECT_THAT(tag.error(), testing::HasSubstr("hash_tag"));
  auto heavy = Ring::Make(Members({{"a", 0xffffffffu}, {"b", 1}}), {});
  ASSERT_FALSE(heavy.has_value());
  EXPECT_THAT(heavy.error(), testing::HasSubstr("total weight"));
  auto dup = Ring::Make(Members({{"a", 1}, {"b", 1}, {"a", 2}}), {});
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error(), "two members share the identity 'a'");
}

TEST(RingMakeTest, ValidInputGivesTheRingBuildGives) {
  auto made = Ring::Make(Members({{"a", 1}, {"b", 3}, {"c", 2}}), {});
  ASSERT_TRUE(made.has_value());
  Ring built = Ketama(Members({{"a", 1}, {"b", 3}, {"c", 2}}));
  for (int i = 0; i < 1000; ++i) {
    std::string key = "key:" + std::to_string(i);
    EXPECT_EQ(made->Lookup(key), built.Lookup(key)) << key;
  }
}

}  // namespace
}  // namespace rl::ring
