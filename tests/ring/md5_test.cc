// The hand-written MD5: RFC 1321's test suite, every padding boundary, and random inputs
// compared with OpenSSL's MD5 (seeded; the seed is printed).
#include "ring/md5.h"

#include <openssl/evp.h>

#include <cstdio>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/test_seed.h"

namespace rl::ring {
namespace {

std::string Hex(const Md5Digest& d) {
  std::string out;
  char buf[3];
  for (uint8_t b : d) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

Md5Digest OpenSslMd5(const std::string& data) {
  Md5Digest out{};
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_md5(), nullptr), 1);
  EXPECT_EQ(len, 16u);
  return out;
}

TEST(Md5Test, Rfc1321Suite) {
  EXPECT_EQ(Hex(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Hex(Md5("a")), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(Hex(Md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Hex(Md5("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(Hex(Md5("abcdefghijklmnopqrstuvwxyz")), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(Hex(Md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(Hex(Md5("1234567890123456789012345678901234567890"
                    "1234567890123456789012345678901234567890")),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5Test, EveryLengthAroundBlockBoundariesMatchesOpenSsl) {
  std::string data;
  for (int len = 0; len <= 200; ++len) {
    EXPECT_EQ(Hex(Md5(data)), Hex(OpenSslMd5(data))) << "length " << len;
    data.push_back(static_cast<char>(len * 7 + 0x80));
  }
}

TEST(Md5Test, RandomInputsMatchOpenSsl) {
  const uint32_t seed = rl::testing::TestSeed();
  SCOPED_TRACE(rl::testing::SeedNote());
  std::mt19937 rng(seed);
  for (int i = 0; i < 500; ++i) {
    std::string data(rng() % 3000, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    ASSERT_EQ(Hex(Md5(data)), Hex(OpenSslMd5(data))) << "input " << i;
  }
}

}  // namespace
}  // namespace rl::ring
