// Ring::LookupHash on ketama rings (which uses a bucket index) against the definition: the
// first continuum point >= hash by binary search over point_values(), wrapping to point 0.
// Checked at every point value and its neighbours, at bucket boundaries, at the ends of the
// circle, and at seeded random hashes, for rings from 1 to 1,000 servers (the largest has
// crowded buckets). Ring::LookupMany against Lookup, key by key, for every hash function,
// distribution and hash tag on seeded random keys. Prints its seeds.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ring/ring.h"
#include "tests/support/test_seed.h"

namespace rl::ring {
namespace {

uint32_t Reference(const Ring& ring, uint32_t hash) {
  std::span<const uint32_t> values = ring.point_values();
  size_t i =
      static_cast<size_t>(std::lower_bound(values.begin(), values.end(), hash) - values.begin());
  if (i == values.size()) i = 0;
  return ring.point_members()[i];
}

Ring KetamaRing(int servers, std::mt19937& rng) {
  std::vector<Member> members;
  for (int i = 0; i < servers; ++i) {
    members.push_back({"10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":6379",
                       1 + static_cast<uint32_t>(rng() % 4)});
  }
  return Ring::Build(std::move(members), {HashKind::kFnv1a_64, Distribution::kKetama, ""});
}

TEST(RingLookupTest, BucketIndexGivesTheFirstPointAtOrAboveTheHash) {
  const uint32_t seed = rl::testing::TestSeed();
  std::mt19937 rng(seed);
  for (int servers : {1, 2, 3, 16, 128, 1000}) {
    SCOPED_TRACE("servers " + std::to_string(servers) + ", " + rl::testing::SeedNote());
    const Ring ring = KetamaRing(servers, rng);
    ASSERT_FALSE(ring.point_values().empty());
    std::vector<uint32_t> hashes = {0, 1, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu};
    for (uint32_t v : ring.point_values()) {
      hashes.insert(hashes.end(), {v - 1, v, v + 1});
    }
    for (int bits = 1; bits <= 16; ++bits) {  // every possible bucket width's boundaries
      for (int k = 0; k < 64; ++k) {
        const uint32_t start = static_cast<uint32_t>(rng()) >> (32 - bits) << (32 - bits);
        hashes.insert(hashes.end(), {start - 1, start, start + 1});
      }
    }
    for (int k = 0; k < 20000; ++k) hashes.push_back(static_cast<uint32_t>(rng()));
    for (uint32_t h : hashes) {
      ASSERT_EQ(ring.LookupHash(h), Reference(ring, h)) << "hash " << h;
    }
  }
}

// A key of 0 to 40 bytes, some of them >= 0x80 (sign-extended by several hashes) or tag bytes.
std::string RandomKey(std::mt19937& rng) {
  static constexpr char kAlphabet[] = "abcxyz:{}_0123456789\x80\xff";
  std::string key(rng() % 41, '\0');
  for (char& c : key) {
    c = (rng() % 8 == 0) ? static_cast<char>(rng()) : kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  }
  return key;
}

TEST(RingLookupTest, LookupManyAgreesWithLookupKeyByKey) {
  const uint32_t seed = rl::testing::TestSeed();
  std::mt19937 rng(seed);
  for (int h = 0; h < kHashKindCount; ++h) {
    for (Distribution d : {Distribution::kKetama, Distribution::kModula, Distribution::kRandom}) {
      for (const char* tag : {"", "{}", "::"}) {
        for (int servers : {1, 3, 7}) {
          std::vector<Member> members;
          for (int i = 0; i < servers; ++i) {
            members.push_back({"10.2.0." + std::to_string(i) + ":6379", 1 + uint32_t(rng() % 3)});
          }
          const Ring ring = Ring::Build(std::move(members), {static_cast<HashKind>(h), d, tag});
          SCOPED_TRACE(std::string(HashKindName(static_cast<HashKind>(h))) + " " +
                       std::string(DistributionName(d)) + " tag '" + tag + "' servers " +
                       std::to_string(servers) + ", " + rl::testing::SeedNote());
          for (int round = 0; round < 40; ++round) {
            // Every count from 0 to 13 covers whole groups of four and each kind of tail; keys
            // of one length (as redis-benchmark sends) and of mixed lengths.
            const size_t count = static_cast<size_t>(round % 14);
            std::vector<std::string> keys;
            const bool same_length = round % 2 == 0;
            for (size_t k = 0; k < count; ++k) {
              if (same_length && k > 0) {
                std::string key(keys[0].size(), '\0');
                for (char& c : key) c = static_cast<char>(rng());
                keys.push_back(std::move(key));
              } else {
                keys.push_back(RandomKey(rng));
              }
            }
            std::vector<std::string_view> views(keys.begin(), keys.end());
            std::vector<uint32_t> owners(count, 0xdeadbeef);
            ring.LookupMany(views, owners);
            for (size_t k = 0; k < count; ++k) {
              ASSERT_EQ(owners[k], ring.Lookup(keys[k])) << "key " << k << " of " << count;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace rl::ring
